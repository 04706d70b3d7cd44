"""Compositing: exact background, untouched interior, and no fringe of the OLD background at soft edges.

The synthetic scenes are built with the compositing equation I = a*F + (1 - a)*B_old, so the ideal
result over a new background T is known exactly: a*F + (1 - a)*T.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from passbg.core import foreground as composite_module
from passbg.core.composite import composite, cutout_rgba
from passbg.core.foreground import estimate_foreground

WHITE = (255, 255, 255)
LIGHT_GREY = (217, 217, 217)


def soft_disc_alpha(height: int, width: int, radius: float, ramp: float) -> np.ndarray:
    """1 inside a disc, falling linearly to 0 over `ramp` pixels: a soft edge like hair. float32 (H, W)."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    dist = np.hypot(yy - height / 2, xx - width / 2)
    return np.clip((radius + ramp / 2 - dist) / ramp, 0, 1).astype(np.float32)


def skin_foreground(height: int, width: int) -> np.ndarray:
    """Smoothly varying warm colours, float32 (H, W, 3) in [0, 1]."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    r = 0.78 + 0.1 * np.sin(xx / 23)
    g = 0.55 + 0.1 * np.cos(yy / 31)
    b = 0.42 + 0.05 * np.sin((xx + yy) / 17)
    return np.stack([r, g, b], axis=-1).astype(np.float32)


def scene(old_bg: np.ndarray, ramp: float = 8.0, size: int = 240):
    """(photo uint8, alpha, true F) with the person composited over old_bg (float (H, W, 3) or colour)."""
    alpha = soft_disc_alpha(size, size, size * 0.3, ramp)
    fg = skin_foreground(size, size)
    bg = np.broadcast_to(np.asarray(old_bg, dtype=np.float32), fg.shape)
    photo = alpha[..., None] * fg + (1 - alpha[..., None]) * bg
    return np.rint(photo * 255).astype(np.uint8), alpha, fg


def ideal(fg: np.ndarray, alpha: np.ndarray, target) -> np.ndarray:
    t = np.asarray(target, dtype=np.float32) / 255
    return (alpha[..., None] * fg + (1 - alpha[..., None]) * t) * 255


def outside_band(alpha: np.ndarray, near: float = 1, far: float = 4) -> np.ndarray:
    """Pixels 1-4 px outside the a = 0.5 contour of the soft disc (where hair wisps would be)."""
    height, width = alpha.shape
    yy, xx = np.mgrid[0:height, 0:width]
    dist = np.hypot(yy - height / 2, xx - width / 2)
    contour = dist[alpha >= 0.5].max()
    return (dist > contour + near) & (dist <= contour + far) & (alpha > 0)


@pytest.mark.parametrize(
    "old_bg", [(0.0, 1.0, 0.0), (1.0, 0.0, 1.0), (0.05, 0.05, 0.05), (0.0, 0.3, 1.0)], ids=str
)
def test_no_fringe_of_the_old_background(old_bg):
    photo, alpha, fg = scene(np.array(old_bg))
    band = outside_band(alpha)
    assert band.sum() > 500
    out = composite(estimate_foreground(photo, alpha), alpha, WHITE).astype(np.float32)
    naive = composite(photo.astype(np.float32) / 255, alpha, WHITE).astype(np.float32)
    want = ideal(fg, alpha, WHITE)
    error = np.abs(out - want)[band]
    naive_error = np.abs(naive - want)[band]
    # The band is a mix of the person's colour and the NEW background, within JPEG-invisible error...
    assert error.mean() < 2.0 and np.percentile(error, 99) < 6.0, (error.mean(), np.percentile(error, 99))
    # ...while compositing the raw photo would leave a clearly visible cast of the old colour.
    assert naive_error.mean() > 5 * error.mean()


def test_no_fringe_over_a_busy_old_background():
    # An out-of-focus flag-like backdrop: saturated red and blue bands a few dozen pixels wide.
    size = 240
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    wave = 0.5 + 0.5 * np.sin((xx + 0.5 * yy) / 9)
    old_bg = np.stack([wave, 0.15 * np.ones_like(wave), 1 - wave], axis=-1)
    photo, alpha, fg = scene(old_bg, size=size)
    band = outside_band(alpha)
    want = ideal(fg, alpha, LIGHT_GREY)
    out = composite(estimate_foreground(photo, alpha), alpha, LIGHT_GREY).astype(np.float32)
    naive = composite(photo.astype(np.float32) / 255, alpha, LIGHT_GREY).astype(np.float32)
    error, naive_error = np.abs(out - want)[band], np.abs(naive - want)[band]
    assert error.mean() < 3.0 and np.percentile(error, 95) < 8.0, (error.mean(), np.percentile(error, 95))
    assert naive_error.mean() > 3 * error.mean()


def test_background_is_exactly_the_target_and_interior_exactly_the_photo():
    photo, alpha, _ = scene(np.array([0.0, 1.0, 0.0]))
    out = composite(estimate_foreground(photo, alpha), alpha, LIGHT_GREY)
    assert (out[alpha == 0] == LIGHT_GREY).all()
    assert (out[alpha == 1] == photo[alpha == 1]).all()


def test_estimated_foreground_is_float32_in_unit_range_and_exact_where_opaque():
    photo, alpha, _ = scene(np.array([1.0, 0.0, 1.0]))
    fg = estimate_foreground(photo, alpha)
    assert fg.dtype == np.float32 and fg.shape == photo.shape
    assert fg.min() >= 0 and fg.max() <= 1
    assert np.array_equal(np.rint(fg[alpha == 1] * 255).astype(np.uint8), photo[alpha == 1])


def test_estimated_foreground_recovers_true_colour_in_the_soft_edge():
    photo, alpha, fg = scene(np.array([0.0, 1.0, 0.0]))
    soft = (alpha > 0.2) & (alpha < 0.8)
    error = np.abs(estimate_foreground(photo, alpha) - fg)[soft] * 255
    assert np.median(error) < 3.5, np.median(error)


def test_shapes_must_match():
    with pytest.raises(ValueError, match="shapes"):
        estimate_foreground(np.zeros((10, 10, 3), np.uint8), np.zeros((10, 11), np.float32))


@settings(max_examples=40, deadline=None)
@given(
    alpha=arrays(np.float32, (9, 7), elements=st.sampled_from([0.0, 1.0])),
    fg=arrays(np.float32, (9, 7, 3), elements=st.floats(0, 1, width=32)),
    target=st.tuples(*[st.integers(0, 255)] * 3),
)
def test_composite_is_exact_for_binary_alpha(alpha, fg, target):
    out = composite(fg, alpha, target)
    assert out.dtype == np.uint8 and out.shape == fg.shape
    assert (out[alpha == 0] == target).all()
    assert (out[alpha == 1] == np.rint(fg[alpha == 1] * 255)).all()


@settings(max_examples=40, deadline=None)
@given(
    alpha=arrays(np.float32, (6, 5), elements=st.floats(0, 1, width=32)),
    fg=arrays(np.float32, (6, 5, 3), elements=st.floats(0, 1, width=32)),
)
def test_cutout_has_straight_alpha(alpha, fg):
    rgba = cutout_rgba(fg, alpha)
    assert rgba.dtype == np.uint8 and rgba.shape == (6, 5, 4)
    # Straight alpha: colour channels hold the foreground colour itself, not colour x alpha.
    assert np.array_equal(rgba[..., :3], np.rint(fg * 255).astype(np.uint8))
    assert np.array_equal(rgba[..., 3], np.rint(alpha * 255).astype(np.uint8))


def test_foreground_in_strips_equals_the_whole_photo_at_once(monkeypatch):
    # Strips carry enough rows of context that their seams cannot show: 17-row strips (seams everywhere,
    # a partial last strip) give what one strip over the whole photo gives, up to float rounding.
    photo, alpha, _ = scene(np.array([0.0, 0.3, 1.0]), size=120)
    monkeypatch.setattr(composite_module, "_STRIP_ROWS", 10_000)
    whole = estimate_foreground(photo, alpha)
    monkeypatch.setattr(composite_module, "_STRIP_ROWS", 17)
    strips = estimate_foreground(photo, alpha)
    assert np.abs(strips - whole).max() < 1e-4


def test_first_pass_on_block_means_gives_the_colours_of_the_full_resolution_pass(monkeypatch):
    photo, alpha, _ = scene(np.array([1.0, 0.0, 1.0]))
    soft = (alpha > 0.05) & (alpha < 0.95)
    coarse = estimate_foreground(photo, alpha)
    radius, block = composite_module.FUSION_PASSES[0]
    assert block > 1
    monkeypatch.setattr(composite_module, "FUSION_PASSES", ((radius, 1), *composite_module.FUSION_PASSES[1:]))
    full = estimate_foreground(photo, alpha)
    error = np.abs(coarse - full)[soft] * 255
    assert error.max() < 1.0, error.max()


def _small_person_in_a_busy_room() -> tuple[np.ndarray, np.ndarray]:
    """(photo uint8 (600, 700, 3), alpha float32): a soft disc in the lower middle of a noisy room."""
    rng = np.random.default_rng(3)
    room = rng.random((600, 700, 3), dtype=np.float32)
    photo, alpha_small, _ = scene(np.array([0.5, 0.5, 0.5]), size=160)
    alpha = np.zeros((600, 700), np.float32)
    alpha[430:590, 283:443] = alpha_small
    person = np.pad(photo, ((430, 10), (283, 257), (0, 0))) / 255
    picture = alpha[..., None] * person + (1 - alpha[..., None]) * room
    return np.rint(picture * 255).astype(np.uint8), alpha


def test_the_support_holds_every_pixel_with_alpha_and_gives_their_colours_exactly():
    photo, alpha = _small_person_in_a_busy_room()
    within = (3, 201, 699, 600)  # a region box, its corner off the 4 x 4 block grid
    x0, y0, x1, y1 = composite_module.support(alpha, within)
    assert (x0 - within[0]) % 4 == 0 and (y0 - within[1]) % 4 == 0
    assert (x1 - x0) * (y1 - y0) < 0.4 * (within[2] - within[0]) * (within[3] - within[1])
    assert np.count_nonzero(alpha[y0:y1, x0:x1]) == np.count_nonzero(alpha)
    whole = estimate_foreground(photo[201:600, 3:699], alpha[201:600, 3:699])
    part = estimate_foreground(photo[y0:y1, x0:x1], alpha[y0:y1, x0:x1])
    seen = alpha[y0:y1, x0:x1] > 0
    assert np.abs(part - whole[y0 - 201 : y1 - 201, x0 - 3 : x1 - 3])[seen].max() < 1e-6


def test_the_support_of_an_empty_matte_is_the_whole_box():
    assert composite_module.support(np.zeros((50, 60), np.float32), (5, 6, 40, 50)) == (5, 6, 40, 50)


def test_a_small_person_in_a_large_frame_is_composited_as_by_the_formula_everywhere():
    photo, alpha = _small_person_in_a_busy_room()
    fg = photo.astype(np.float32) / 255
    out = composite(fg, alpha, LIGHT_GREY)
    by_formula = np.rint(alpha[..., None] * fg * 255 + (1 - alpha[..., None]) * np.float32(LIGHT_GREY))
    assert np.abs(out.astype(np.float32) - by_formula).max() <= 1  # float32 rounding at .5 only
    assert (out[alpha == 0] == LIGHT_GREY).all()
    assert (composite(fg, np.zeros_like(alpha), WHITE) == WHITE).all()
