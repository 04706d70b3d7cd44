"""Real alpha matting of the uncertain band, with pymatting (closed-form or large-kernel matting).

The segmentation model is sure about most of the photo; its alpha is only uncertain in a band around the
outline (hair, soft shoulders). A trimap says so: certain person, certain background, and that band,
widened so that the solver sees the photo's own edge. The matting solver then finds the alpha that fits
the compositing equation locally (Levin et al. 2008's colour-line model) inside the band only, from the
photo's colours, which the model at 1024 x 1024 never saw at full detail.

Guards for big photos: the solver works on the band's bounding box only, scaled down so that it holds at
most MAX_PIXELS pixels (its sparse Laplacian is ~25 non-zeros per pixel), and the conjugate-gradient
solve stops after MAX_ITERATIONS; the solved alpha is scaled back and used inside the band only.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from passbg.core.matte import resize_alpha
from passbg.numeric.boxfilter import box_mean

SURE = 0.02  # alpha within SURE of 0 or 1 counts as certain
MAX_PIXELS = 1_000_000
MAX_ITERATIONS = 800
SOLVERS = ("cf", "lkm")


def band_radius(hw: tuple[int, int]) -> int:
    """How far the uncertain band reaches beyond the model's soft edge: ~0.4 % of the long side, >= 3 px."""
    return max(3, round(0.004 * max(hw)))


def trimap(alpha: np.ndarray, radius: int) -> np.ndarray:
    """alpha float32 (H, W) -> trimap float64 (H, W): 1 certain person, 0 certain background, 0.5 unknown
    (the soft pixels and everything within `radius` of a soft pixel or of the 0.5 contour)."""
    soft = (alpha > SURE) & (alpha < 1.0 - SURE)
    person = alpha >= 0.5
    contour = person ^ (box_mean(person.astype(np.float32), 1) > 0.5)  # both sides of the 0.5 line
    unknown = box_mean((soft | contour).astype(np.float32), radius) > 0
    out = np.where(person, 1.0, 0.0)
    out[unknown] = 0.5
    return out


def _bbox(mask: np.ndarray, margin: int) -> tuple[int, int, int, int] | None:
    rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    if rows.size == 0:
        return None
    h, w = mask.shape
    return (max(0, rows[0] - margin), min(h, rows[-1] + 1 + margin),
            max(0, cols[0] - margin), min(w, cols[-1] + 1 + margin))


def _resize_rgb(rgb: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    if rgb.shape[:2] == hw:
        return rgb
    return np.asarray(Image.fromarray(rgb).resize((hw[1], hw[0]), Image.Resampling.BOX))


def _resize_trimap(tri: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """Scaled so that a pixel is certain only if every photo pixel under it was certain (no false sure)."""
    if tri.shape == hw:
        return tri
    small = resize_alpha(tri.astype(np.float32), hw)
    out = np.full(hw, 0.5)
    out[small > 0.999] = 1.0
    out[small < 0.001] = 0.0
    return out


def solve(rgb: np.ndarray, alpha: np.ndarray, solver: str = "cf", max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """rgb uint8 (H, W, 3), alpha float32 (H, W) in [0, 1] -> float32 (H, W): alpha re-solved by
    pymatting inside the uncertain band (trimap), unchanged outside it."""
    import pymatting

    if solver not in SOLVERS:
        raise ValueError(f"unknown matting solver {solver!r}; choose from {SOLVERS}")
    radius = band_radius(alpha.shape)
    tri = trimap(alpha, radius)
    unknown = tri == 0.5
    box = _bbox(unknown, 4 * radius)
    if box is None:
        return alpha
    top, bottom, left, right = box
    crop_hw = (bottom - top, right - left)
    scale = min(1.0, float(np.sqrt(max_pixels / (crop_hw[0] * crop_hw[1]))))
    # Scaled down only, never up; not below 48 px a side where the crop has them (lkm's windows need 41).
    small_hw = tuple(min(n, max(48, round(n * scale))) for n in crop_hw)
    if solver == "lkm" and min(small_hw) < 41:
        solver = "cf"  # too narrow for the large kernel: closed-form has 3 x 3 windows
    image = _resize_rgb(rgb[top:bottom, left:right], small_hw).astype(np.float64) / 255.0
    small_tri = _resize_trimap(tri[top:bottom, left:right], small_hw)
    if not (small_tri == 0.5).any() or not (small_tri == 1.0).any():
        return alpha
    cg = {"maxiter": MAX_ITERATIONS}
    if solver == "cf":
        solved = pymatting.estimate_alpha_cf(image, small_tri, cg_kwargs=cg)
    else:
        solved = pymatting.estimate_alpha_lkm(image, small_tri, cg_kwargs=cg)
    solved = resize_alpha(np.clip(solved, 0.0, 1.0).astype(np.float32), crop_hw)
    out = alpha.copy()
    view = out[top:bottom, left:right]
    band = unknown[top:bottom, left:right]
    view[band] = solved[band]
    return out


def warm_up() -> None:
    """Compile pymatting's numba kernels now (several seconds on first use), not in the first request."""
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (48, 48, 3), dtype=np.uint8)
    alpha = np.zeros((48, 48), np.float32)
    alpha[12:36, 12:36] = 1.0
    alpha[12:36, 22:26] = 0.5
    for solver in SOLVERS:
        solve(rgb, alpha, solver)
