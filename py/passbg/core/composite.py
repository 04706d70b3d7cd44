"""Compositing: the decontaminated foreground over a new background, and the transparent cut-out.

Shapes: fg float32 (H, W, 3) in [0, 1] (passbg.core.foreground.estimate_foreground); alpha float32 (H, W)
in [0, 1] with 1 = person.
"""

from __future__ import annotations

import numpy as np

from passbg.numeric.labels import bounding_box
from passbg.numeric.strips import row_strips

__all__ = ["composite", "cutout_rgba"]


# Rows per strip: the float32 temporaries are one strip's (a 2560-px-wide photo: 7.5 MB for 256 rows), not
# the whole photo's (a 12 MP phone photo at the working size: 59 MB each, two or three alive at once).
STRIP_ROWS = 256


def _store_rounded(dst: np.ndarray, values: np.ndarray) -> None:
    """values float32 (scratch, changed in place) rounded and clipped to 0..255 into uint8 dst (same
    shape); the cast of whole numbers in 0..255 is exact."""
    np.rint(values, out=values)
    np.clip(values, 0, 255, out=values)
    dst[...] = values


def composite(fg: np.ndarray, alpha: np.ndarray, bg_rgb: tuple[int, int, int]) -> np.ndarray:
    """fg float32 (H, W, 3) in [0, 1], alpha float32 (H, W) in [0, 1], bg (r, g, b) 0..255
    -> uint8 (H, W, 3): a*F + (1 - a)*bg, rounded. alpha == 0 gives bg exactly.

    The sum is computed only on the bounding box of alpha > 0; everything else is bg, as the sum would
    give. A person small in a room photo costs their own box, not the photo."""
    bg = np.asarray(bg_rgb, dtype=np.float32).reshape(1, 1, 3)
    height, width = alpha.shape
    result = np.empty((height, width, 3), dtype=np.uint8)
    result[...] = np.asarray(bg_rgb, dtype=np.uint8)
    box = bounding_box(alpha > 0)
    if box is None:
        return result
    left, first, right, end = box
    for top, bottom, _, _ in row_strips(end - first, STRIP_ROWS, 0):
        top, bottom = first + top, first + bottom
        out = fg[top:bottom, left:right] * np.float32(255.0)
        out -= bg
        out *= alpha[top:bottom, left:right, None]
        out += bg
        _store_rounded(result[top:bottom, left:right], out)
    return result


def cutout_rgba(fg: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """fg float32 (H, W, 3) in [0, 1], alpha float32 (H, W) in [0, 1] -> uint8 (H, W, 4) RGBA with
    straight (not premultiplied) alpha: the RGB is the decontaminated foreground colour everywhere."""
    height, width = alpha.shape
    out = np.empty((height, width, 4), dtype=np.uint8)
    for top, bottom, _, _ in row_strips(height, STRIP_ROWS, 0):
        _store_rounded(out[top:bottom, :, :3], fg[top:bottom] * np.float32(255.0))
        _store_rounded(out[top:bottom, :, 3], alpha[top:bottom] * np.float32(255.0))
    return out
