"""Foreground colour estimation and compositing.

Where alpha is between 0 and 1 (hair, soft edges) the photo's pixel is a mix of the person's colour F and
the OLD background B: I = a*F + (1 - a)*B. Compositing I itself over a new background keeps that old
colour as a fringe. `estimate_foreground` recovers F first (colour decontamination), using the two-pass
blur-fusion approximation of Forte & Pitie (2021, "Approximate fast foreground colour estimation"):
local means of F and B are taken from blurred, alpha-weighted images, and the residual of the compositing
equation is given back to F in proportion to alpha. A large radius fills F far into the background, a
small one refines it near the edge.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from passbg.numeric.boxfilter import box_mean
from passbg.numeric.labels import bounding_box
from passbg.numeric.strips import row_strips

# Blur passes as (radius in pixels, block): large radius first. The published pair is (90, 6); two more,
# finer passes halve the colour error in soft edges on the synthetic tests (tests/core/test_composite.py).
# The first pass may have block b > 1: it blurs b x b block means with radius radius / b, brought back to
# full size bilinearly. Its 90-px window is so wide that the coarse grid gives the same local means (the
# finer passes that follow restore the detail), at a sixteenth of the work and memory.
FUSION_PASSES = ((90, 4), (12, 1), (6, 1), (3, 1))
FUSION_RADII = tuple(radius for radius, _ in FUSION_PASSES)
# Rows per strip: after the first pass, the passes run on horizontal strips with as many rows of context
# above and below as their radii add up to (all that reaches the strip's own rows, so the result is the
# same as on the whole photo), keeping every temporary array a strip, not a photo, in size.
_STRIP_ROWS = 512
_EPS = 1e-5
# How far a pixel's colour reaches into the result: the sum of the passes' radii, plus two of the first
# pass's blocks (its block means and the bilinear step back to full size each reach one block further).
REACH = sum(FUSION_RADII) + 2 * FUSION_PASSES[0][1]


def _unit_channel(rgb: np.ndarray, channel: int) -> np.ndarray:
    """One colour channel of rgb (uint8 or float in [0, 1]) as a new float32 (H, W) array in [0, 1]."""
    if rgb.dtype == np.uint8:
        out = rgb[..., channel].astype(np.float32)
        out *= np.float32(1.0 / 255.0)
        return out
    return np.array(rgb[..., channel], dtype=np.float32)


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

    Memory beyond input and output: the first pass's coarse grids and a strip's worth of planes (for a
    24-megapixel photo's working size, 1707 x 2560, about 60 MB instead of 600 MB for whole planes).
    """
    rgb = np.asarray(rgb)
    alpha = np.ascontiguousarray(alpha, dtype=np.float32)
    if rgb.shape[:2] != alpha.shape or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"shapes do not match: rgb {rgb.shape}, alpha {alpha.shape}")
    (radius, block), rest = FUSION_PASSES[0], FUSION_PASSES[1:]
    if any(b != 1 for _, b in rest):
        raise ValueError("only the first blur-fusion pass can work on block means")
    height, width = alpha.shape
    grids = _first_pass_grids(rgb, alpha, radius, block)
    context = sum(r for r, _ in rest) + (radius if grids is None else 0)  # what reaches a strip's rows
    out = np.empty((height, width, 3), dtype=np.float32)
    for top, bottom, low, high in row_strips(height, _STRIP_ROWS, context):
        a = alpha[low:high]
        images = [_unit_channel(rgb[low:high], c) for c in range(3)]
        if grids is None:  # a whole-resolution first pass: F starts as the photo
            fg = _fusion_pass(images, a, images, radius)
        else:
            fg = _coarse_fusion_pass(images, a, grids, (low, high), block)
        for r, _ in rest:
            fg = _fusion_pass(images, a, fg, r)
        opaque = a[top - low : bottom - low] >= 1.0
        for c in range(3):
            rows = fg[c][top - low : bottom - low]
            np.copyto(rows, images[c][top - low : bottom - low], where=opaque)  # exact, not within rounding
            out[top:bottom, :, c] = rows
    return out


def support(alpha: np.ndarray, within: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """The part of `within` (x0, y0, x1, y1; x1, y1 exclusive) that estimate_foreground needs to see for
    every pixel where alpha float (H, W) is above 0: the bounding box of those pixels widened by REACH,
    its offsets from within's corner whole blocks of the first pass (so the block means fall on the same
    pixels), clipped to `within`. Estimating on that box gives the same colours wherever alpha > 0 as on
    all of `within` (up to float rounding); elsewhere the colours get zero weight. `within` itself when
    alpha is 0 throughout it.

    A person small in a room photo fills a third of the width of the region around them; the estimate
    then costs a third as much.
    """
    x0, y0, x1, y1 = within
    box = bounding_box(alpha[y0:y1, x0:x1] > 0)
    if box is None:
        return within
    block = FUSION_PASSES[0][1]
    left, top = ((v - REACH) // block * block if v > REACH else 0 for v in box[:2])
    right, bottom = (v + REACH for v in box[2:])
    return x0 + left, y0 + top, min(x1, x0 + right), min(y1, y0 + bottom)


def _first_pass_grids(
    rgb: np.ndarray, alpha: np.ndarray, radius: int, block: int
) -> dict[str, list[Image.Image]] | None:
    """For a first pass on block x block means: the blurred coarse grids of a, I*a and I*(1-a) (F = I
    before the first pass), as float images for resizing; None for a first pass at full resolution."""
    if block <= 1:
        return None
    coarse_radius = max(1, round(radius / block))
    rows = _STRIP_ROWS - _STRIP_ROWS % block  # strips of whole blocks: the same means as the whole photo
    sums: dict[str, list[list[np.ndarray]]] = {"a": [[]], "fa": [[], [], []], "ba": [[], [], []]}
    for top in range(0, alpha.shape[0], rows):
        a = alpha[top : top + rows]
        sums["a"][0].append(_block_means(a, block))
        for c in range(3):
            image = _unit_channel(rgb[top : top + rows], c)
            f_times_a = image * a
            sums["fa"][c].append(_block_means(f_times_a, block))
            image -= f_times_a  # B*(1-a) = I - a*F
            sums["ba"][c].append(_block_means(image, block))
    return {
        key: [Image.fromarray(box_mean(np.concatenate(parts), coarse_radius), "F") for parts in planes]
        for key, planes in sums.items()
    }


def _block_means(x: np.ndarray, block: int) -> np.ndarray:
    """float32 (h, w) -> float32 (ceil(h / block), ceil(w / block)); partial blocks average what they hold."""
    return np.asarray(Image.fromarray(np.ascontiguousarray(x, dtype=np.float32), "F").reduce(block))


def _full_rows(grid: Image.Image, rows: tuple[int, int], width: int, block: int) -> np.ndarray:
    """Rows low..high of a coarse grid brought back to full resolution (bilinear, pixel centres aligned:
    full-resolution x is x / block on the grid). float32 (high - low, width), writable."""
    low, high = rows
    box = (0.0, low / block, width / block, high / block)
    return np.array(grid.resize((width, high - low), Image.Resampling.BILINEAR, box=box), dtype=np.float32)


def _coarse_fusion_pass(
    images: list[np.ndarray], a: np.ndarray, grids: dict[str, list[Image.Image]], rows: tuple[int, int],
    block: int,
) -> list[np.ndarray]:
    """The first pass for one strip, its blurs read from the coarse grids."""
    width = a.shape[1]
    inv_fa, inv_ba = _inverse_weights(_full_rows(grids["a"][0], rows, width, block))
    return [
        _fuse(image, a, _full_rows(grids["fa"][c], rows, width, block), inv_fa,
              _full_rows(grids["ba"][c], rows, width, block), inv_ba)
        for c, image in enumerate(images)
    ]


def _fusion_pass(
    images: list[np.ndarray], a: np.ndarray, fg: list[np.ndarray], radius: int
) -> list[np.ndarray]:
    """One pass at full resolution on whole arrays (a strip): images, fg: 3 float32 (h, W) planes."""
    inv_fa, inv_ba = _inverse_weights(box_mean(a, radius))
    out = []
    for image, f in zip(images, fg, strict=True):
        f_times_a = f * a
        b_times_ia = image - f_times_a  # B*(1-a) = I - a*F, the compositing equation
        np.maximum(b_times_ia, 0.0, out=b_times_ia)
        blur_fa = box_mean(f_times_a, radius)
        del f_times_a
        out.append(_fuse(image, a, blur_fa, inv_fa, box_mean(b_times_ia, radius), inv_ba))
    return out


def _inverse_weights(mean_a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """1 / blur(a) and 1 / blur(1 - a), guarded against 0. Reuses mean_a's memory."""
    inv_fa = np.float32(1.0) / (mean_a + np.float32(_EPS))
    np.subtract(np.float32(1.0 + _EPS), mean_a, out=mean_a)
    return inv_fa, np.reciprocal(mean_a, out=mean_a)


def _fuse(
    image: np.ndarray, a: np.ndarray, blur_fa: np.ndarray, inv_fa: np.ndarray, blur_ba: np.ndarray,
    inv_ba: np.ndarray,
) -> np.ndarray:
    """New F for one channel: blur(F) + a * (I - a*blur(F) - (1-a)*blur(B)), with blur(F) = box(F*a) /
    box(a) and blur(B) = box(B*(1-a)) / box(1-a). Consumes blur_fa and blur_ba (used as scratch)."""
    blur_fa *= inv_fa
    blur_ba *= inv_ba
    # With d = blur(B) - blur(F) the bracket is I - blur(F) - d + a*d.
    blur_ba -= blur_fa
    out = image - blur_fa
    out -= blur_ba
    blur_ba *= a
    out += blur_ba
    out *= a
    out += blur_fa
    np.clip(out, 0.0, 1.0, out=out)
    return out
