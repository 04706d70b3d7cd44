"""Box filters: the clipped-window mean, window sums along one axis, and the weighted mean, each
against its brute-force definition."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from passbg.numeric.boxfilter import box_mean, box_sum_axis, weighted_box_mean


@settings(max_examples=60, deadline=None)
@given(
    x=arrays(
        np.float32, st.tuples(st.integers(1, 12), st.integers(1, 12)), elements=st.floats(0, 1, width=32)
    ),
    radius=st.integers(0, 15),
)
def test_box_mean_is_the_mean_over_the_clipped_window(x, radius):
    got = box_mean(x, radius)
    height, width = x.shape
    for y in range(height):
        for x0 in range(width):
            window = x[max(0, y - radius) : y + radius + 1, max(0, x0 - radius) : x0 + radius + 1]
            assert got[y, x0] == pytest.approx(float(window.mean()), abs=1e-5)


def test_box_mean_handles_colour_channels_independently():
    rng = np.random.default_rng(1)
    image = rng.random((20, 30, 3), dtype=np.float32)
    got = box_mean(image, 3)
    for c in range(3):
        assert np.allclose(got[..., c], box_mean(np.ascontiguousarray(image[..., c]), 3), atol=1e-6)


@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize("dtype", [bool, np.int32, np.float32])
def test_window_sum_along_an_axis_is_zero_padded(axis, dtype):
    rng = np.random.default_rng(7)
    a = (rng.random((13, 17)) * 5).astype(dtype)
    r = 3
    got = box_sum_axis(a, r, axis)
    pad = np.pad(a.astype(np.float64), [(r, r) if k == axis else (0, 0) for k in range(2)])
    n = a.shape[axis]
    sums = [np.take(pad, range(i, i + 2 * r + 1), axis=axis).sum(axis=axis) for i in range(n)]
    want = np.stack(sums, axis=axis)
    assert got.dtype == (np.int32 if dtype is not np.float32 else np.float32)
    assert np.allclose(got, want, atol=1e-4)


def test_weighted_mean_ignores_zero_weight_pixels_and_reports_the_weight_sum():
    values = np.arange(25, dtype=np.float32).reshape(5, 5)
    weights = np.zeros((5, 5), np.float32)
    weights[2, 2] = 1.0
    weights[0, 0] = 3.0
    mean, wsum = weighted_box_mean(values, weights, 1)
    assert mean[1, 1] == pytest.approx((3 * 0 + 1 * 12) / 4)
    assert wsum[1, 1] == pytest.approx(4.0)
    assert mean[4, 4] == 0.0 and wsum[4, 4] == 0.0  # no weight in the window: 0, not NaN
    rgb = np.stack([values, 2 * values, values + 1], axis=-1)
    mean3, _ = weighted_box_mean(rgb, weights, 1)
    assert mean3[2, 2] == pytest.approx([12.0, 24.0, 13.0])
