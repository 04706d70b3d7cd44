"""Background uniformity the way OFIQ (ISO/IEC 29794-5 reference code) measures it, approximately.

OFIQ aligns the face to 616x616 from five landmarks, crops 62 px left and right and 210 px at the
bottom, resizes that crop to 354x292 (width x height), takes the face-parsing background class,
erodes it with a 4x4 kernel, and averages the Scharr gradient magnitude of luminance
(Y = 0.2126 R + 0.7152 G + 0.0722 B of linearised sRGB, times 255) over it.

We have no face alignment in the core, so we approximate the crop by the whole photo resized to
OFIQ's working width (354 px, height by aspect ratio): a passport-style photo framed from the
shoulders up is at a comparable scale. The background mask comes from our alpha instead of face
parsing. The score mapping is OFIQ's exactly.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from passbg.numeric.colour import LUMA_709, srgb_u8_to_linear

OFIQ_WIDTH = 354

# 3x3 Scharr derivative kernel (OpenCV's cv::Scharr, unnormalised): smoothing [3, 10, 3] across,
# central difference [-1, 0, 1] along.
_SCHARR_SMOOTH = np.array([3.0, 10.0, 3.0], dtype=np.float32)


def uniformity_score(raw: float) -> int:
    """OFIQ mapping of the mean background gradient to 0..100: round(190 (1 - sigmoid((raw - 10) / 100)))."""
    s = 1.0 / (1.0 + np.exp(-(raw - 10.0) / 100.0))
    return int(np.clip(round(190.0 * (1.0 - s)), 0, 100))


def _reflect101(a: np.ndarray) -> np.ndarray:
    """Pad (H, W) by one pixel with OpenCV's default border (reflect without repeating the edge)."""
    return np.pad(a, 1, mode="reflect")


def scharr_magnitude(lum: np.ndarray) -> np.ndarray:
    """Scharr gradient magnitude of a (H, W) float image (H, W >= 2), float32 (H, W)."""
    p = _reflect101(np.asarray(lum, dtype=np.float32))
    dx = p[:, 2:] - p[:, :-2]  # (H + 2, W)
    dy = p[2:, :] - p[:-2, :]  # (H, W + 2)
    k0, k1, k2 = _SCHARR_SMOOTH
    gx = k0 * dx[:-2] + k1 * dx[1:-1] + k2 * dx[2:]
    gy = k0 * dy[:, :-2] + k1 * dy[:, 1:-1] + k2 * dy[:, 2:]
    return np.sqrt(gx * gx + gy * gy)


def erode_4x4(mask: np.ndarray) -> np.ndarray:
    """Erosion by a 4x4 kernel anchored like OpenCV's default (anchor at offset 2): a pixel stays if
    rows y-2..y+1 and columns x-2..x+1 are all in the mask (outside counts as in, OpenCV's default)."""
    m = np.pad(np.asarray(mask, dtype=bool), ((2, 1), (2, 1)), mode="constant", constant_values=True)
    c = np.cumsum(np.cumsum(m.astype(np.int32), axis=0), axis=1)
    c = np.pad(c, ((1, 0), (1, 0)))
    s = c[4:, 4:] - c[:-4, 4:] - c[4:, :-4] + c[:-4, :-4]
    return s == 16


def background_uniformity(rgb: np.ndarray, background: np.ndarray) -> tuple[float, int]:
    """OFIQ-style background uniformity of a photo.

    rgb: uint8 (H, W, 3) sRGB; background: bool (H, W), True where the pixel is background.
    Returns (raw mean gradient, score 0..100). With no background left after erosion the raw value is
    0 and the score 100 (nothing to judge), as OFIQ does for an empty mask.
    """
    h, w = background.shape
    new_w = OFIQ_WIDTH
    new_h = max(2, round(h * OFIQ_WIDTH / w))
    small = np.asarray(Image.fromarray(rgb).resize((new_w, new_h), Image.BILINEAR))
    mask_img = Image.fromarray(background.astype(np.uint8) * 255)
    mask = np.asarray(mask_img.resize((new_w, new_h), Image.NEAREST)) > 127
    lum = (srgb_u8_to_linear(small) @ LUMA_709) * 255.0
    grad = scharr_magnitude(lum)
    eroded = erode_4x4(mask)
    if not eroded.any():
        return 0.0, 100
    raw = float(grad[eroded].mean())
    return raw, uniformity_score(raw)
