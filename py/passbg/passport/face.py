"""Face geometry for the crop: eyes from a face detector, chin from a face-mesh model (numpy + Pillow only).

The models are MediaPipe's short-range face detector (BlazeFace, 128x128 input, 896 anchors) and face mesh
(192x192 input, 468 points), converted from TFLite to ONNX at build time (docs/presets.md). This module
only prepares input tensors and decodes outputs; running a model is the caller's job (`run` callables:
onnxruntime in CPython, onnxruntime-web in the browser), so the core stays free of runtimes.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass

import numpy as np
from PIL import Image

from passbg._shared.steps import drive
from passbg.errors import InputError

DETECTOR_SIZE = 128
MESH_SIZE = 192
MIN_SCORE = 0.5
# Layers of the short-range detector: (stride, anchors per cell); layers sharing a stride share a grid.
_LAYERS = ((8, 2), (16, 6))
# Face-mesh point indices (MediaPipe's canonical topology).
_CHIN = 152
_FOREHEAD = 10
_RIGHT_EYE = (33, 133)  # subject's right eye: outer and inner corner (image left)
_LEFT_EYE = (362, 263)
_MESH_ROI_SCALE = 1.5  # the mesh model expects the detector box enlarged 1.5x

Run = Callable[[np.ndarray], list[np.ndarray]]


@dataclass(frozen=True)
class Detection:
    """One face in image pixels. keypoints (6, 2) x, y: right eye, left eye, nose, mouth, right ear, left ear
    (right/left of the subject, so the right eye is on the image's left)."""

    score: float
    box: tuple[float, float, float, float]  # x0, y0, x1, y1
    keypoints: np.ndarray


@dataclass(frozen=True)
class FaceLandmarks:
    """What the crop needs, in image pixels (x, y). `source` says how it was obtained:
    'face-model' (detector + mesh) or 'silhouette-estimate' (from the alpha only, see crop.py)."""

    right_eye: tuple[float, float]
    left_eye: tuple[float, float]
    chin: tuple[float, float]
    source: str

    @property
    def eye_mid(self) -> tuple[float, float]:
        return ((self.right_eye[0] + self.left_eye[0]) / 2, (self.right_eye[1] + self.left_eye[1]) / 2)

    @property
    def eye_distance(self) -> float:
        return float(np.hypot(self.left_eye[0] - self.right_eye[0], self.left_eye[1] - self.right_eye[1]))


def detector_anchors() -> np.ndarray:
    """Anchor centres (896, 2) in [0, 1], in the order of the detector's outputs."""
    centres = []
    for stride, per_cell in _LAYERS:
        grid = DETECTOR_SIZE // stride
        ys, xs = np.mgrid[0:grid, 0:grid]
        cell = np.stack([(xs + 0.5) / grid, (ys + 0.5) / grid], axis=-1).reshape(-1, 1, 2)
        centres.append(np.repeat(cell, per_cell, axis=1).reshape(-1, 2))
    return np.concatenate(centres).astype(np.float32)


@dataclass(frozen=True)
class _Letterbox:
    scale: float  # detector pixels per image pixel
    pad_x: float
    pad_y: float


def detector_input(rgb: np.ndarray) -> tuple[np.ndarray, _Letterbox]:
    """uint8 (H, W, 3) -> float32 (1, 3, 128, 128) in [-1, 1], the photo letterboxed (aspect kept)."""
    h, w = rgb.shape[:2]
    scale = DETECTOR_SIZE / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    small = np.asarray(Image.fromarray(rgb).resize((nw, nh), Image.BILINEAR), np.float32)
    canvas = np.zeros((DETECTOR_SIZE, DETECTOR_SIZE, 3), np.float32)
    px, py = (DETECTOR_SIZE - nw) // 2, (DETECTOR_SIZE - nh) // 2
    canvas[py:py + nh, px:px + nw] = small / 127.5 - 1.0
    return canvas.transpose(2, 0, 1)[None].copy(), _Letterbox(scale, px, py)


def decode_detections(regressors: np.ndarray, scores: np.ndarray, box: _Letterbox,
                      min_score: float = MIN_SCORE) -> list[Detection]:
    """Detector outputs (1, 896, 16) and (1, 896, 1) -> faces in image pixels, best first.

    Overlapping candidates of one face are merged, weighted by score (as MediaPipe's weighted NMS does)."""
    raw = regressors.reshape(-1, 16).astype(np.float64)
    prob = 1.0 / (1.0 + np.exp(-np.clip(scores.reshape(-1).astype(np.float64), -80, 80)))
    anchors = detector_anchors().astype(np.float64)
    pts = raw.reshape(-1, 8, 2) / DETECTOR_SIZE
    pts[:, 0] += anchors  # box centre
    pts[:, 2:] += anchors[:, None]  # keypoints; pts[:, 1] is the box size
    centre, size = pts[:, 0], pts[:, 1]
    boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=1)

    keep = np.flatnonzero(prob >= min_score)
    keep = keep[np.argsort(-prob[keep])]
    faces = []
    while keep.size:
        best = keep[0]
        iou = _iou(boxes[best], boxes[keep])
        group = keep[iou > 0.3]
        wts = prob[group][:, None]
        merged_box = (boxes[group] * wts).sum(0) / wts.sum()
        merged_kp = (pts[group, 2:] * wts[:, :, None]).sum(0) / wts.sum()
        faces.append(Detection(
            score=float(prob[best]),
            box=tuple(float(v) for v in _to_image(merged_box.reshape(2, 2), box).reshape(-1)),
            keypoints=_to_image(merged_kp, box),
        ))
        keep = keep[iou <= 0.3]
    return faces


def _to_image(points01: np.ndarray, box: _Letterbox) -> np.ndarray:
    """(N, 2) detector-normalised points -> image pixels."""
    return (points01 * DETECTOR_SIZE - (box.pad_x, box.pad_y)) / box.scale


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    x0, y0 = np.maximum(a[0], b[:, 0]), np.maximum(a[1], b[:, 1])
    x1, y1 = np.minimum(a[2], b[:, 2]), np.minimum(a[3], b[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = lambda r: (r[..., 2] - r[..., 0]) * (r[..., 3] - r[..., 1])  # noqa: E731
    return inter / np.maximum(area(a) + area(b) - inter, 1e-12)


def mesh_roi(face: Detection) -> tuple[float, float, float]:
    """Square region (centre x, centre y, side) in image pixels that the mesh model expects."""
    x0, y0, x1, y1 = face.box
    side = max(x1 - x0, y1 - y0) * _MESH_ROI_SCALE
    return (x0 + x1) / 2, (y0 + y1) / 2, side


def mesh_input(rgb: np.ndarray, roi: tuple[float, float, float]) -> np.ndarray:
    """uint8 (H, W, 3) -> float32 (1, 3, 192, 192) in [0, 1]: the ROI, black where it leaves the photo.

    Upright only: passport photos are frontal, so the roll correction MediaPipe applies is skipped."""
    cx, cy, side = roi
    box = (round(cx - side / 2), round(cy - side / 2), round(cx + side / 2), round(cy + side / 2))
    crop = Image.fromarray(rgb).crop(box).resize((MESH_SIZE, MESH_SIZE), Image.BILINEAR)
    return (np.asarray(crop, np.float32) / 255.0).transpose(2, 0, 1)[None].copy()


def decode_mesh(raw: np.ndarray, roi: tuple[float, float, float]) -> np.ndarray:
    """Mesh output (1404 values) -> (468, 2) x, y in image pixels."""
    cx, cy, side = roi
    pts = raw.reshape(-1, 3)[:, :2].astype(np.float64)
    x0, y0 = round(cx - side / 2), round(cy - side / 2)
    return pts * ((round(cx + side / 2) - x0) / MESH_SIZE) + (x0, y0)


def landmarks_from(face: Detection, mesh: np.ndarray) -> FaceLandmarks:
    """Eyes from the detector keypoints, chin from the mesh."""
    return FaceLandmarks(
        right_eye=(float(face.keypoints[0, 0]), float(face.keypoints[0, 1])),
        left_eye=(float(face.keypoints[1, 0]), float(face.keypoints[1, 1])),
        chin=(float(mesh[_CHIN, 0]), float(mesh[_CHIN, 1])),
        source="face-model",
    )


FaceSteps = Generator[tuple[str, np.ndarray], list[np.ndarray], FaceLandmarks]


def face_steps(rgb: np.ndarray) -> FaceSteps:
    """The face sequence, written once for both runtimes: a generator that yields (model kind, tensor)
    for each model call it needs and is sent that model's outputs back; it returns the FaceLandmarks of
    the one face of a portrait rgb uint8 (H, W, 3), in image pixels. Raises InputError with no face.

    "face-detector": tensor (1,3,128,128) -> [regressors (1,896,16), scores (1,896,1)];
    "face-landmarks": tensor (1,3,192,192) -> [points (1,1404,...), presence (1,1,...)].
    Drivers: find_face (synchronous, CPython) and passbg.app.web.engine.find_face (awaits the browser)."""
    tensor, box = detector_input(rgb)
    outs = yield "face-detector", tensor
    regressors, scores = sorted(outs, key=lambda a: a.size, reverse=True)[:2]
    faces = decode_detections(regressors, scores, box)
    if not faces:
        raise InputError("No face was found in the photo. Use a photo that shows your face from the front.")
    face = faces[0]
    roi = mesh_roi(face)
    mesh_outs = yield "face-landmarks", mesh_input(rgb, roi)
    points = max(mesh_outs, key=lambda a: a.size)
    return landmarks_from(face, decode_mesh(points, roi))


def find_face(rgb: np.ndarray, run_detector: Run, run_mesh: Run) -> FaceLandmarks:
    """face_steps driven synchronously: run_detector / run_mesh take a tensor and return the model's
    outputs (shapes in face_steps)."""
    runners = {"face-detector": run_detector, "face-landmarks": run_mesh}
    return drive(face_steps(rgb), lambda kind, tensor: runners[kind](tensor))
