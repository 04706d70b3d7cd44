"""OFIQ's background uniformity as passbg computes it: the score mapping, the Scharr gradient, the
anchored 4x4 erosion, and flat against noisy backgrounds."""

from __future__ import annotations

import numpy as np
import pytest

from passbg.quality.ofiq import background_uniformity, erode_4x4, scharr_magnitude, uniformity_score


@pytest.mark.parametrize("raw, score", [(0, 100), (10, 95), (50, 76), (100, 55), (1000, 0)])
def test_ofiq_score_mapping(raw, score):
    assert uniformity_score(raw) == score


def test_scharr_gives_32_on_a_unit_ramp_like_opencv():
    ramp = np.tile(np.arange(20, dtype=np.float32), (10, 1))
    assert scharr_magnitude(ramp)[2:-2, 2:-2] == pytest.approx(np.full((6, 16), 32.0))
    assert scharr_magnitude(np.full((5, 5), 7.0)).max() == 0


def test_erode_4x4_removes_pixels_within_the_anchored_window():
    m = np.ones((10, 10), bool)
    m[5, 5] = False
    eroded = erode_4x4(m)
    assert not eroded[4:8, 4:8].any()
    assert eroded[3, :].all() and eroded[8, :].all() and eroded[:, 3].all() and eroded[:, 8].all()


def test_background_uniformity_of_flat_and_noisy_backgrounds():
    flat = np.full((400, 300, 3), 230, np.uint8)
    bg = np.ones((400, 300), bool)
    assert background_uniformity(flat, bg) == (0.0, 100)
    rng = np.random.default_rng(0)
    noisy = rng.integers(0, 256, (400, 300, 3)).astype(np.uint8)
    raw, score = background_uniformity(noisy, bg)
    assert raw > 100 and score < 55
