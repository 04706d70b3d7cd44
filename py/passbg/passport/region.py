"""Which part of a photo to segment, from the face detector alone (it is small: one 128x128 call, rarely a
few more): head and shoulders without a preset, the preset's crop frame plus the room its drag, zoom and
edge checks need with one. No face, or one the detector is unsure of: None, and the caller segments the
whole photo (saying so in a note).

Written once for both runtimes as a generator, like passbg.passport.face.face_steps: `region_steps`
yields ("face-detector", tensor) for each detector call and is sent the detector's outputs back; it
returns a Choice. Drivers: `find_region` (synchronous, CPython) and passbg.app.web.engine (awaits the
browser). Margins and thresholds live in data/region.json (documented there).

Detection passes: the whole photo letterboxed to 128 px; when no face scores well (a face that is small
in a phone photo of a person in a room is ~20 px there), overlapping tiles; then, around the best find,
a window of a few face widths, so the box the region is built on is measured at a useful scale.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass

import numpy as np

from passbg._shared.steps import drive
from passbg.core import region as rg
from passbg.passport import face
from passbg.passport.presets import Preset

Run = Callable[[np.ndarray], list[np.ndarray]]


@dataclass(frozen=True)
class Choice:
    """The region to segment (None: the whole photo) and a plain-words note on how it was chosen."""

    region: rg.Region | None
    note: str
    face_score: float = 0.0
    face_box: tuple[float, float, float, float] | None = None


RegionSteps = Generator[tuple[str, np.ndarray], list[np.ndarray], Choice]


def _detect(rgb: np.ndarray, window: tuple[int, int, int, int]) -> Generator[
    tuple[str, np.ndarray], list[np.ndarray], list[face.Detection]
]:  # fmt: skip
    """Faces in a window (x0, y0, x1, y1) of rgb uint8 (H, W, 3), in photo pixels, best first."""
    x0, y0, x1, y1 = window
    tensor, box = face.detector_input(np.ascontiguousarray(rgb[y0:y1, x0:x1]))
    outs = yield "face-detector", tensor
    regressors, scores = sorted(outs, key=lambda a: a.size, reverse=True)[:2]
    found = face.decode_detections(regressors, scores, box, min_score=0.3)
    return [
        face.Detection(
            score=f.score,
            box=(f.box[0] + x0, f.box[1] + y0, f.box[2] + x0, f.box[3] + y0),
            keypoints=f.keypoints + (x0, y0),
        )
        for f in found
    ]


def _tiles(hw: tuple[int, int], per_side: int, overlap: float) -> list[tuple[int, int, int, int]]:
    """Square windows (x0, y0, x1, y1) covering an (H, W) photo, per_side along the long side."""
    h, w = hw
    side = int(np.ceil(max(h, w) / (per_side - (per_side - 1) * overlap)))
    side = min(side, h, w) if min(h, w) >= side else min(h, w)
    out = []
    for y in np.linspace(0, h - side, max(1, round((h - side) / (side * (1 - overlap))) + 1)):
        for x in np.linspace(0, w - side, max(1, round((w - side) / (side * (1 - overlap))) + 1)):
            out.append((int(x), int(y), int(x) + side, int(y) + side))
    return out


def small_copy(rgb: np.ndarray, long_side: int) -> tuple[np.ndarray, float]:
    """(rgb subsampled by a whole factor so its long side is at most about long_side, that factor): the
    whole-photo and tile passes look at this copy. Every factor-th pixel, not a filter: handing a 24 MP
    photo to Pillow costs ~0.3 s for the copy alone, and the detector's own resize to 128 px smooths."""
    factor = max(1, int(max(rgb.shape[:2]) // long_side))
    if factor == 1:
        return rgb, 1.0
    return np.ascontiguousarray(rgb[::factor, ::factor]), float(factor)


def _scaled(f: face.Detection, k: float) -> face.Detection:
    return face.Detection(score=f.score, box=tuple(v * k for v in f.box), keypoints=f.keypoints * k)


def face_steps(rgb: np.ndarray) -> Generator[tuple[str, np.ndarray], list[np.ndarray], face.Detection | None]:
    """The best face of rgb uint8 (H, W, 3) in photo pixels, measured in a window around it; None when
    no candidate reaches the detector's 0.3 (see region.json "face" for what counts as sure)."""
    cfg = rg.config()["face"]
    h, w = rgb.shape[:2]
    small, k = small_copy(rgb, int(cfg["small_copy_long_side"]))
    sh, sw = small.shape[:2]
    found = yield from _detect(small, (0, 0, sw, sh))
    if not found or found[0].score < cfg["min_score"]:
        for tile in _tiles((sh, sw), int(cfg["tiles_per_side"]), float(cfg["tile_overlap"])):
            found += yield from _detect(small, tile)
    if not found:
        return None
    best = _scaled(max(found, key=lambda f: f.score), k)
    # Measure again in a window a few face widths wide around it: the face is then ~30 % of the
    # detector's input, where its box is accurate, instead of a few pixels of the whole photo.
    fx0, fy0, fx1, fy1 = best.box
    side = float(cfg["refine_window"]) * max(fx1 - fx0, fy1 - fy0)
    cx, cy = (fx0 + fx1) / 2, (fy0 + fy1) / 2
    window = rg.clip_box((cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2), (h, w))
    if (window[2] - window[0]) * (window[3] - window[1]) < 0.8 * h * w:
        part, kw = small_copy(rg.crop(rgb, window), 4 * face.DETECTOR_SIZE)
        again = yield from _detect(part, (0, 0, part.shape[1], part.shape[0]))
        moved = [_scaled(f, kw) for f in again]
        moved = [
            face.Detection(f.score, (f.box[0] + window[0], f.box[1] + window[1], f.box[2] + window[0],
                                     f.box[3] + window[1]), f.keypoints + window[:2])
            for f in moved
        ]  # fmt: skip
        near = [f for f in moved if _centre_inside(f.box, best.box)]
        if near:
            best = max(near, key=lambda f: f.score)
    return best


def _centre_inside(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    cx, cy = (a[0] + a[2]) / 2, (a[1] + a[3]) / 2
    return b[0] <= cx <= b[2] and b[1] <= cy <= b[3]


def head_and_shoulders(box: tuple[float, float, float, float], hw: tuple[int, int]) -> rg.Box:
    """The region without a preset, from a face box in photo pixels (margins: region.json)."""
    cfg = rg.config()["head_and_shoulders"]
    fw = max(box[2] - box[0], box[3] - box[1])
    cx = (box[0] + box[2]) / 2
    return rg.clip_box((cx - cfg["side"] * fw, box[1] - cfg["above"] * fw, cx + cfg["side"] * fw, hw[0]), hw)


def preset_frame(box: tuple[float, float, float, float], hw: tuple[int, int], preset: Preset) -> rg.Box:
    """The region with a preset: the crop frame estimated from the face box, enlarged for the smallest
    zoom and the drag margin (region.json "preset"), at least as wide as head_and_shoulders."""
    cfg = rg.config()["preset"]
    if not preset.has_layout or preset.head_mm is None or preset.width_mm is None or preset.height_mm is None:
        return head_and_shoulders(box, hw)
    head_px = cfg["head_per_face_box"] * (box[3] - box[1])
    ppm = head_px / preset.head_mm.middle / cfg["min_zoom"]
    fw_px, fh_px = preset.width_mm * ppm, preset.height_mm * ppm
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    grow = 1.0 + 2.0 * cfg["drag_margin"]
    fw_px, fh_px = fw_px * grow, fh_px * grow
    frame = (cx - fw_px / 2, cy - fh_px / 2, cx + fw_px / 2, cy + fh_px / 2)
    hs = head_and_shoulders(box, hw)
    return rg.clip_box((min(frame[0], hs[0]), min(frame[1], hs[1]), max(frame[2], hs[2]), frame[3]), hw)


def region_steps(rgb: np.ndarray, preset: Preset | None = None) -> RegionSteps:
    """The region of rgb uint8 (H, W, 3) to segment (see the module docstring)."""
    hw = rgb.shape[:2]
    best = yield from face_steps(rgb)
    min_score = float(rg.config()["face"]["min_score"])
    if best is None:
        return Choice(None, "No face was found, so the whole photo was cut out.")
    if best.score < min_score:
        return Choice(
            None,
            f"The face detector was unsure of the face ({best.score:.2f}), so the whole photo was cut out.",
            best.score,
            best.box,
        )
    if preset is not None:
        box, why = preset_frame(best.box, hw, preset), f"the {preset.name} photo frame and room to adjust it"
    else:
        box, why = head_and_shoulders(best.box, hw), "head and shoulders"
    return Choice(rg.Region(box, why, best.box), f"Cut out {why}, found from the face.", best.score, best.box)


def find_region(rgb: np.ndarray, run_detector: Run, preset: Preset | None = None) -> Choice:
    """region_steps driven synchronously: run_detector takes the detector tensor (1, 3, 128, 128) and
    returns its outputs [regressors (1, 896, 16), scores (1, 896, 1)] (any order)."""
    return drive(region_steps(rgb, preset), lambda _kind, tensor: run_detector(tensor))
