"""Foreground colour estimation and compositing.

Where alpha is between 0 and 1 (hair, soft edges) the photo's pixel is a mix of the person's colour F and
the OLD background B: I = a*F + (1 - a)*B. Compositing I itself over a new background keeps that old
colour as a fringe. `estimate_foreground` recovers F first (colour decontamination), using the two-pass
blur-fusion approximation of Forte & Pitie (2021, "Approximate fast foreground colour estimation"):
local means of F and B are taken from blurred, alpha-weighted images, and the residual of the compositing
equation is given back to F in proportion to alpha. A large radius fills F far into the background, a
small one refines it near the edge. Box blurs use cumulative sums, so the cost does not depend on radius.
"""

from __future__ import annotations

import numpy as np

# Blur radii in pixels, large then small. The published pair is (90, 6); two more, finer passes halve
# the colour error in soft edges on the synthetic tests (tests/test_composite.py), at twice the cost.
FUSION_RADII = (90, 12, 6, 3)
_EPS = 1e-5


def box_mean(x: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r+1) x (2r+1) window, clipped at the borders (divides by the pixels actually inside).

    x: float32 (H, W) or (H, W, C). Returns a new float32 array of the same shape.
    """
    out = _box_mean_axis(x, radius, 0)
    return _box_mean_axis(out, radius, 1)


def _box_mean_axis(x: np.ndarray, radius: int, axis: int) -> np.ndarray:
    n = x.shape[axis]
    # S[k] = sum of x[:k] along the axis (S[0] = 0). Padding S by `radius` copies of its first and last
    # value gives P[k] = S[clip(k - radius, 0, n)], so every window sum is a difference of two slices:
    # sum(x[i - r : i + r + 1]) = P[i + 2r + 1] - P[i]. Slices are much faster than index gathers.
    pad = [(0, 0)] * x.ndim
    pad[axis] = (radius + 1, radius)
    padded = np.pad(np.cumsum(x, axis=axis, dtype=np.float32), pad, mode="edge")
    _slice(padded, axis, 0, radius + 1)[...] = 0.0
    out = _slice(padded, axis, 2 * radius + 1, 2 * radius + 1 + n) - _slice(padded, axis, 0, n)
    idx = np.arange(n)
    count = np.minimum(idx + radius + 1, n) - np.maximum(idx - radius, 0)
    count_shape = [1] * x.ndim
    count_shape[axis] = n
    out *= (1.0 / count).astype(np.float32).reshape(count_shape)
    return out


def _slice(a: np.ndarray, axis: int, start: int, stop: int) -> np.ndarray:
    index = [slice(None)] * a.ndim
    index[axis] = slice(start, stop)
    return a[tuple(index)]


def _to_unit_float(rgb: np.ndarray) -> np.ndarray:
    if rgb.dtype == np.uint8:
        return rgb.astype(np.float32) * np.float32(1.0 / 255.0)
    return np.asarray(rgb, dtype=np.float32)


def _blur_fusion(
    image: np.ndarray, alpha: np.ndarray, fg: np.ndarray, bg_weighted: np.ndarray, radius: int
) -> np.ndarray:
    """One blur-fusion step. image, fg: float32 (H, W, 3); bg_weighted = B*(1-a). Returns the new F."""
    a = alpha[..., None]
    # One blur over the 7 stacked channels [a, F*a, B*(1-a)] is cheaper than three separate blurs.
    blurred = box_mean(np.concatenate([a, fg * a, bg_weighted], axis=-1), radius)
    blurred_a = blurred[..., :1]
    blurred_f = blurred[..., 1:4] / (blurred_a + _EPS)
    blurred_b = blurred[..., 4:7] / ((1.0 - blurred_a) + _EPS)
    # F = blur(F) + a * (I - a*blur(F) - (1-a)*blur(B)), built in place in `new_f`.
    new_f = image - a * blurred_f
    new_f -= (1.0 - a) * blurred_b
    new_f *= a
    new_f += blurred_f
    np.clip(new_f, 0.0, 1.0, out=new_f)
    return new_f


def estimate_foreground(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Foreground colours without the old background's contribution.

    rgb: uint8 (H, W, 3) or float (H, W, 3) in [0, 1]; alpha: float (H, W) in [0, 1].
    Returns float32 (H, W, 3) in [0, 1]. Where alpha == 1 the result equals the photo exactly; where
    alpha == 0 it is an extrapolation of nearby foreground colours (harmless: it gets zero weight).

    One change from the published method: between passes the background term is not the previous
    pass's blurred B but the compositing equation solved for it, B*(1-a) = I - a*F. Where the photo
    shows background it is then the actual pixel, so a busy backdrop (a flag behind the hair) is
    subtracted with its local detail instead of its 90-px average: on the synthetic busy-backdrop test
    that halves the edge error, at no cost.
    """
    image = _to_unit_float(rgb)
    alpha = np.asarray(alpha, dtype=np.float32)
    if image.shape[:2] != alpha.shape or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"shapes do not match: rgb {image.shape}, alpha {alpha.shape}")
    a = alpha[..., None]
    fg = image
    bg_weighted = image * (1.0 - a)
    for radius in FUSION_RADII:
        fg = _blur_fusion(image, alpha, fg, bg_weighted, radius)
        bg_weighted = image - a * fg
        np.maximum(bg_weighted, 0.0, out=bg_weighted)
    opaque = alpha >= 1.0
    fg[opaque] = image[opaque]  # exact, not merely within float rounding
    return fg


def composite(fg: np.ndarray, alpha: np.ndarray, bg_rgb: tuple[int, int, int]) -> np.ndarray:
    """fg float32 (H, W, 3) in [0, 1], alpha float32 (H, W) in [0, 1], bg (r, g, b) 0..255
    -> uint8 (H, W, 3): a*F + (1 - a)*bg, rounded. alpha == 0 gives bg exactly."""
    bg = np.asarray(bg_rgb, dtype=np.float32).reshape(1, 1, 3)
    out = fg * np.float32(255.0)
    out -= bg
    out *= alpha[..., None]
    out += bg
    np.rint(out, out=out)
    np.clip(out, 0, 255, out=out)
    return out.astype(np.uint8)


def cutout_rgba(fg: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """fg float32 (H, W, 3) in [0, 1], alpha float32 (H, W) in [0, 1] -> uint8 (H, W, 4) RGBA with
    straight (not premultiplied) alpha: the RGB is the decontaminated foreground colour everywhere."""
    height, width = alpha.shape
    out = np.empty((height, width, 4), dtype=np.uint8)
    out[..., :3] = np.clip(np.rint(fg * np.float32(255.0)), 0, 255)
    out[..., 3] = np.clip(np.rint(alpha * np.float32(255.0)), 0, 255)
    return out
