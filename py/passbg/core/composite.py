"""Compositing: the decontaminated foreground over a new background, and the transparent cut-out.

Shapes: fg float32 (H, W, 3) in [0, 1] (passbg.core.foreground.estimate_foreground); alpha float32 (H, W)
in [0, 1] with 1 = person.
"""

from __future__ import annotations

import numpy as np

__all__ = ["composite", "cutout_rgba"]


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
