"""Alpha matte post-processing: raw model output -> a clean alpha in [0, 1] at photo resolution."""

from __future__ import annotations

import numpy as np
from PIL import Image

# Levels applied to the model's [0, 1] output, as a piecewise-linear curve through (0, 0), (z, 0), (i0, i0),
# (i1, i1), (o, 1), (1, 1) with DEFAULT_LEVELS = (z, i0, i1, o). Segmentation models leave the opaque
# interior a little below 1 and the background a little above 0, which shows as a faint see-through body
# or a grey veil over the new background; the ends of the curve snap those to exactly 1 and 0. Between
# i0 and i1 the curve is the identity, so the model's own edge profile (hair, soft shoulders) is kept:
# the earlier linear stretch (0.02, 0.90) steepened every edge by 14 %, which raised the gradient error
# above the raw model's on the evaluation composites (python -m passbg.eval). A model can override the
# levels in the manifest with [low, high], which means the plain linear stretch.
DEFAULT_LEVELS = (0.02, 0.05, 0.88, 0.93)


def normalise(raw: np.ndarray, method: str) -> np.ndarray:
    """Model output of any shape squeezing to (h, w) -> float32 (h, w) in [0, 1].

    "clip" clamps to [0, 1]; "minmax" maps the output's own min..max to 0..1 (U2-Net's convention).
    """
    a = np.asarray(raw, dtype=np.float32)
    a = a.reshape(a.shape[-2:]) if a.ndim > 2 else a
    if a.ndim != 2 or a.size == 0 or a.size != np.asarray(raw).size:
        raise ValueError(f"model output must squeeze to (h, w), got shape {np.shape(raw)}")
    if not np.isfinite(a).all():
        a = np.nan_to_num(a, nan=0.0, posinf=1.0, neginf=0.0)
    if method == "clip":
        return np.clip(a, 0.0, 1.0)
    if method == "minmax":
        low, high = float(a.min()), float(a.max())
        if high - low < 1e-6:  # a constant output carries no information: nothing is foreground
            return np.zeros_like(a)
        return ((a - low) * (1.0 / (high - low))).astype(np.float32)
    raise ValueError(f"unknown postprocess {method!r}")


def level_stretch(alpha: np.ndarray, low: float, high: float) -> np.ndarray:
    """float32 (h, w) in [0, 1] -> float32 (h, w): (alpha - low) / (high - low) clamped to [0, 1].
    Works in place."""
    alpha -= low
    alpha *= 1.0 / (high - low)
    np.clip(alpha, 0.0, 1.0, out=alpha)
    return alpha


def level_curve(alpha: np.ndarray, levels: tuple[float, float, float, float] = DEFAULT_LEVELS) -> np.ndarray:
    """float (h, w) in [0, 1] -> float32 (h, w) in [0, 1]: 0 up to z, the identity between i0 and i1,
    1 from o on, linear in between (levels = (z, i0, i1, o), 0 <= z < i0 <= i1 < o <= 1)."""
    z, i0, i1, o = levels
    out = np.interp(alpha, (0.0, z, i0, i1, o, 1.0), (0.0, 0.0, i0, i1, 1.0, 1.0))
    return out.astype(np.float32)


def resize_alpha(alpha: np.ndarray, out_hw: tuple[int, int]) -> np.ndarray:
    """float32 (h, w) -> float32 (H, W) in [0, 1], resized smoothly (bicubic on a float image, so
    no 8-bit quantisation and no stair steps), clamped after the bicubic overshoot."""
    height, width = out_hw
    if alpha.shape == (height, width):
        return alpha
    image = Image.fromarray(np.ascontiguousarray(alpha, dtype=np.float32), "F")
    out = np.array(image.resize((width, height), Image.Resampling.BICUBIC), dtype=np.float32)
    np.clip(out, 0.0, 1.0, out=out)
    return out
