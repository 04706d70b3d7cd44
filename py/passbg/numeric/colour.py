"""Colour conversions used by the quality checks: sRGB -> linear -> CIE Lab (D65), and CIEDE2000.

All functions are vectorised over leading axes and take float arrays; nothing here allocates more
than a few temporaries the size of the input.
"""

from __future__ import annotations

import numpy as np

# sRGB primaries to XYZ (D65), IEC 61966-2-1.
_RGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ],
    dtype=np.float32,
)
_WHITE_D65 = np.array([0.95047, 1.0, 1.08883], dtype=np.float32)
# Rec. 709 luma weights of linear RGB (the Y row above, as OFIQ writes them).
LUMA_709 = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)


def srgb_to_linear(rgb: np.ndarray) -> np.ndarray:
    """sRGB-encoded values in [0, 1] (any shape) -> linear light in [0, 1], float32."""
    c = np.asarray(rgb, dtype=np.float32)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4).astype(np.float32)


def srgb_u8_to_linear(rgb: np.ndarray) -> np.ndarray:
    """uint8 sRGB (any shape) -> linear light float32 in [0, 1], through a 256-entry table (fast)."""
    table = srgb_to_linear(np.arange(256, dtype=np.float32) / 255.0)
    return table[np.asarray(rgb, dtype=np.uint8)]


def _lab_f(t: np.ndarray) -> np.ndarray:
    delta = 6.0 / 29.0
    return np.where(t > delta**3, np.cbrt(t), t / (3 * delta**2) + 4.0 / 29.0)


def linear_to_lab(lin: np.ndarray) -> np.ndarray:
    """Linear RGB (..., 3) in [0, 1] -> CIE Lab (..., 3) float32, D65 white, L in [0, 100]."""
    xyz = np.asarray(lin, dtype=np.float32) @ _RGB_TO_XYZ.T
    f = _lab_f(xyz / _WHITE_D65)
    lab = np.empty_like(f)
    lab[..., 0] = 116.0 * f[..., 1] - 16.0
    lab[..., 1] = 500.0 * (f[..., 0] - f[..., 1])
    lab[..., 2] = 200.0 * (f[..., 1] - f[..., 2])
    return lab


def srgb_u8_to_lab(rgb: np.ndarray) -> np.ndarray:
    """uint8 sRGB (..., 3) -> CIE Lab (..., 3) float32."""
    return linear_to_lab(srgb_u8_to_linear(rgb))


def srgb_float_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB-encoded float (..., 3) in [0, 1] -> CIE Lab (..., 3) float32."""
    return linear_to_lab(srgb_to_linear(np.clip(rgb, 0.0, 1.0)))


def lightness_from_linear(lin: np.ndarray) -> np.ndarray:
    """Linear RGB (..., 3) -> CIE L* (...) float32; cheaper than a full Lab conversion."""
    y = np.asarray(lin, dtype=np.float32) @ _RGB_TO_XYZ[1]
    return (116.0 * _lab_f(y) - 16.0).astype(np.float32)


def ciede2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference (kL = kC = kH = 1) between Lab arrays broadcastable to (..., 3).

    Follows Sharma, Wu and Dalal (2005), including their conventions for hue angles of
    achromatic colours and for the mean hue when the hues are more than 180 degrees apart.
    Returns float64 (...).
    """
    lab1 = np.asarray(lab1, dtype=np.float64)
    lab2 = np.asarray(lab2, dtype=np.float64)
    l1, a1, b1 = lab1[..., 0], lab1[..., 1], lab1[..., 2]
    l2, a2, b2 = lab2[..., 0], lab2[..., 1], lab2[..., 2]

    c_mean = 0.5 * (np.hypot(a1, b1) + np.hypot(a2, b2))
    c7 = c_mean**7
    g = 0.5 * (1.0 - np.sqrt(c7 / (c7 + 25.0**7)))
    a1p = (1.0 + g) * a1
    a2p = (1.0 + g) * a2
    c1p = np.hypot(a1p, b1)
    c2p = np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360.0
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360.0
    h1p = np.where(c1p == 0, 0.0, h1p)
    h2p = np.where(c2p == 0, 0.0, h2p)

    dlp = l2 - l1
    dcp = c2p - c1p
    dh = h2p - h1p
    dh = np.where(dh > 180.0, dh - 360.0, np.where(dh < -180.0, dh + 360.0, dh))
    chroma_product = c1p * c2p
    dh = np.where(chroma_product == 0, 0.0, dh)
    dhp = 2.0 * np.sqrt(chroma_product) * np.sin(np.radians(dh) / 2.0)

    lp_mean = 0.5 * (l1 + l2)
    cp_mean = 0.5 * (c1p + c2p)
    h_sum = h1p + h2p
    h_far = np.abs(h1p - h2p) > 180.0
    hp_mean = np.where(h_far, np.where(h_sum < 360.0, h_sum + 360.0, h_sum - 360.0), h_sum) / 2.0
    hp_mean = np.where(chroma_product == 0, h_sum, hp_mean)

    t = (
        1.0
        - 0.17 * np.cos(np.radians(hp_mean - 30.0))
        + 0.24 * np.cos(np.radians(2.0 * hp_mean))
        + 0.32 * np.cos(np.radians(3.0 * hp_mean + 6.0))
        - 0.20 * np.cos(np.radians(4.0 * hp_mean - 63.0))
    )
    d_theta = 30.0 * np.exp(-(((hp_mean - 275.0) / 25.0) ** 2))
    cp7 = cp_mean**7
    r_c = 2.0 * np.sqrt(cp7 / (cp7 + 25.0**7))
    l50 = (lp_mean - 50.0) ** 2
    s_l = 1.0 + 0.015 * l50 / np.sqrt(20.0 + l50)
    s_c = 1.0 + 0.045 * cp_mean
    s_h = 1.0 + 0.015 * cp_mean * t
    r_t = -np.sin(np.radians(2.0 * d_theta)) * r_c

    tl = dlp / s_l
    tc = dcp / s_c
    th = dhp / s_h
    return np.sqrt(tl * tl + tc * tc + th * th + r_t * tc * th)
