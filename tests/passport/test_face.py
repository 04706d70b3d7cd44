"""Face landmarks: anchor layout and decoding of the MediaPipe short-range detector, and on real portraits."""

import numpy as np
import pytest
from PIL import Image

from passbg.errors import InputError
from passbg.passport import face
from portrait_models import portrait_files, runner


def test_anchor_grid_matches_the_detector_output_layout():
    anchors = face.detector_anchors()
    assert anchors.shape == (896, 2)
    # first layer: 16x16 cells, 2 anchors each, row-major; then 8x8 cells with 6 anchors each
    assert np.allclose(anchors[0], anchors[1]) and np.allclose(anchors[0], (0.5 / 16, 0.5 / 16))
    assert np.allclose(anchors[2], (1.5 / 16, 0.5 / 16))
    assert np.allclose(anchors[512], (0.5 / 8, 0.5 / 8)) and np.allclose(anchors[517], anchors[512])
    assert np.allclose(anchors[-1], (7.5 / 8, 7.5 / 8))


def test_decoding_maps_a_detection_back_to_image_pixels():
    rgb = np.zeros((400, 200, 3), np.uint8)  # tall photo: letterboxed with side padding
    _, box = face.detector_input(rgb)
    regressors = np.zeros((1, 896, 16), np.float32)
    scores = np.full((1, 896, 1), -10, np.float32)
    i = 512 + (4 * 8 + 4) * 6  # an anchor of the 8x8 grid at cell (4, 4): centre (0.5625, 0.5625)
    scores[0, i] = 5.0
    regressors[0, i, 2:4] = (32, 48)  # box 32x48 detector px
    regressors[0, i, 4:6] = (-8, -6)  # right eye offset from the anchor, detector px
    faces = face.decode_detections(regressors, scores, box)
    assert len(faces) == 1
    s = 128 / 400  # detector px per image px; the 200 px width becomes 64 px, padded 32 px each side
    cx, cy = (0.5625 * 128 - 32) / s, 0.5625 * 128 / s
    x0, y0, x1, y1 = faces[0].box
    assert ((x0 + x1) / 2, (y0 + y1) / 2) == pytest.approx((cx, cy))
    assert (x1 - x0, y1 - y0) == pytest.approx((32 / s, 48 / s))
    assert tuple(faces[0].keypoints[0]) == pytest.approx((cx - 8 / s, cy - 6 / s))


def test_no_face_is_a_plain_words_error():
    rgb = np.zeros((100, 100, 3), np.uint8)
    no_face = lambda t: [np.zeros((1, 896, 16), np.float32), np.full((1, 896, 1), -20, np.float32)]  # noqa: E731
    with pytest.raises(InputError, match="No face"):
        face.find_face(rgb, no_face, no_face)


@pytest.mark.slow
def test_landmarks_on_the_portraits_are_anatomically_plausible():
    det, mesh = runner("face_detection_short_range.onnx"), runner("face_landmark.onnx")
    for f in portrait_files():
        rgb = np.asarray(Image.open(f).convert("RGB"))
        lm = face.find_face(rgb, det, mesh)
        h, w = rgb.shape[:2]
        (rx, ry), (lx, ly), (cx, cy) = lm.right_eye, lm.left_eye, lm.chin
        assert rx < lx, f.name  # subject's right eye on the image's left
        assert abs(ry - ly) < 0.2 * lm.eye_distance, f.name  # upright portraits: roll under ~11 degrees
        eye_to_chin = cy - lm.eye_mid[1]
        assert 1.2 < eye_to_chin / lm.eye_distance < 2.6, f.name
        assert abs(cx - lm.eye_mid[0]) < 0.5 * lm.eye_distance, f.name
        assert 0.05 * w < lm.eye_distance < 0.6 * w, f.name
