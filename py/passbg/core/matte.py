"""Model output -> alpha: the one place that turns a segmentation model's raw output into the photo's
alpha matte (normalise, levels, resize, edge refinement, the photo's own transparency). The pipeline,
the reference server and the evaluation all ask it."""

from __future__ import annotations

import numpy as np
from PIL import Image

from passbg.core.models import ModelSpec
from passbg.core.specks import drop_faint_specks
from passbg.numeric.boxfilter import box_mean
from passbg.numeric.labels import bounding_box
from passbg.numeric.strips import row_strips

# Levels applied to the model's [0, 1] output, as a piecewise-linear curve through (0, 0), (z, 0), (i0, i0),
# (i1, i1), (o, 1), (1, 1) with DEFAULT_LEVELS = (z, i0, i1, o). Segmentation models leave the opaque
# interior a little below 1 and the background a little above 0, which shows as a faint see-through body
# or a grey veil over the new background; the ends of the curve snap those to exactly 1 and 0. Between
# i0 and i1 the curve is the identity, so the model's own edge profile (hair, soft shoulders) is kept:
# the earlier linear stretch (0.02, 0.90) steepened every edge by 14 %, which raised the gradient error
# above the raw model's on the evaluation composites (python -m passbg_dev.eval). A model can override the
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


# Edge refinement: a guided filter (He, Sun & Tang 2010) with the photo's luma as the guide, radius in px
# and regularisation eps (in luma units squared, luma in [0, 1]). Where the model's soft edge and the photo
# agree locally (alpha is close to a linear function of the luma, as the compositing equation makes it over
# a plain background) the filter aligns the edge with the photo; where they do not (a textured backdrop,
# hair in front of hair-coloured wall) the model's alpha is kept. The blend weight is the local squared
# correlation of alpha and luma. On the evaluation composites this lowered the gradient error of IS-Net
# fp16 below the raw model's on the plain, gradient and textured backgrounds where the levels alone did not.
REFINE_RADIUS = 2
REFINE_EPS = 1e-3
_LUMA = np.array([0.299, 0.587, 0.114], np.float32) / np.float32(255.0)


# Rows per strip: the filter runs on horizontal strips (with 2 radius rows of context above and below, all
# that the nested box means need, so the result is the same as on the whole photo) to keep its dozen
# temporary planes small: at a 24-megapixel photo's working size they would be over 200 MB.
_STRIP_ROWS = 256


def refine_edges(
    alpha: np.ndarray, rgb: np.ndarray, radius: int = REFINE_RADIUS, eps: float = REFINE_EPS
) -> np.ndarray:
    """alpha float32 (H, W) in [0, 1], rgb uint8 (H, W, 3) -> float32 (H, W) in [0, 1].

    Pixels whose (2 radius + 1)^2 window is all 0 or all 1 keep their value exactly. So the filter runs
    only on the bounding box of the soft pixels (0 < alpha < 1) widened by 3 radius (radius to the pixels
    it may change, 2 radius more to the box means of box means that give their values), the same result
    as on the whole photo: for a person small in a room photo a fraction of it."""
    a = np.asarray(alpha, dtype=np.float32)
    box = bounding_box((a > 0) & (a < 1))
    out = a.copy()
    if box is None:
        return out
    reach = 3 * radius
    left, top = (max(0, v - reach) for v in box[:2])
    right, bottom = (v + reach for v in box[2:])
    part, guide = a[top:bottom, left:right], rgb[top:bottom, left:right]
    context = 2 * radius
    for first, last, low, high in row_strips(part.shape[0], _STRIP_ROWS, context):
        strip = _refine_strip(part[low:high], guide[low:high], radius, eps)
        out[top + first : top + last, left:right] = strip[first - low : last - low]
    return out


def _refine_strip(a: np.ndarray, rgb: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """refine_edges on whole arrays: a float32 (h, W), rgb uint8 (h, W, 3) -> float32 (h, W)."""
    guide = np.asarray(rgb, dtype=np.float32) @ _LUMA
    mean_i = box_mean(guide, radius)
    mean_a = box_mean(a, radius)
    cov = box_mean(guide * a, radius) - mean_i * mean_a
    var_i = box_mean(guide * guide, radius) - mean_i * mean_i
    var_a = box_mean(a * a, radius) - mean_a * mean_a
    slope = cov / (var_i + np.float32(eps))
    offset = mean_a - slope * mean_i
    filtered = box_mean(slope, radius) * guide + box_mean(offset, radius)
    floor = np.float32(1e-4)
    weight = box_mean(np.clip(cov * cov / ((var_i + floor) * (np.maximum(var_a, 0) + floor)), 0, 1), radius)
    out = a + weight * (filtered - a)
    np.clip(out, 0.0, 1.0, out=out)
    # Exactly opaque / exactly clear where nothing soft is near (float residue of the box sums otherwise).
    soft = box_mean(((a > 0) & (a < 1)).astype(np.float32), radius) > 0
    return np.where(soft, out, a).astype(np.float32)


def postprocess(raw: np.ndarray, out_hw: tuple[int, int], spec: ModelSpec) -> np.ndarray:
    """Raw model output (anything squeezing to (h, w)) -> alpha float32 (H, W) in [0, 1], H, W = out_hw.

    Steps: the spec's normalisation (clip / minmax), levels that make the opaque interior exactly 1 and
    the background exactly 0 while keeping the model's edge profile (level_curve; a manifest
    override [low, high] is a plain linear stretch), then a smooth bicubic resize to the photo's size.
    """
    alpha = normalise(raw, spec.output.postprocess)
    if spec.output.levels:
        alpha = level_stretch(alpha, *spec.output.levels)
    else:
        alpha = level_curve(alpha, DEFAULT_LEVELS)
    return resize_alpha(alpha, out_hw)


def photo_alpha(
    raw: np.ndarray, rgb: np.ndarray, spec: ModelSpec, transparency: np.ndarray | None = None
) -> np.ndarray:
    """Model output -> alpha float32 (H, W) in [0, 1] for the photo rgb uint8 (H, W, 3): postprocess
    (normalise, levels, resize), without faint specks far from the person (passbg.core.specks), soft
    edges aligned with the photo where they agree (refine_edges), and the photo's own transparency
    (uint8 (H, W) 0..255 or None; regions it marks transparent are not the person, see
    passbg.core.decode)."""
    alpha = postprocess(raw, rgb.shape[:2], spec)
    # Before the refinement, so that a speck's ghost does not stretch the area it works on.
    alpha = drop_faint_specks(alpha)
    alpha = refine_edges(alpha, rgb)
    if transparency is not None:
        alpha *= transparency.astype(np.float32) * np.float32(1.0 / 255.0)
    return alpha
