"""Encode result arrays as file bytes."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

JPEG_QUALITY = 95


def encode_jpeg(rgb: np.ndarray, *, quality: int = JPEG_QUALITY, dpi: int | None = None) -> bytes:
    """uint8 (H, W, 3) sRGB -> JPEG bytes: no chroma subsampling (4:4:4 keeps hair edges crisp), no EXIF,
    no ICC profile (an untagged JPEG is read as sRGB, and the bytes stay identical across runtimes)."""
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected uint8 (H, W, 3), got {rgb.dtype} {rgb.shape}")
    options: dict = {"quality": quality, "subsampling": 0, "optimize": True}
    if dpi:
        options["dpi"] = (dpi, dpi)
    buf = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buf, "JPEG", **options)
    return buf.getvalue()


def encode_png(pixels: np.ndarray, *, dpi: int | None = None) -> bytes:
    """uint8 (H, W, 3) RGB or (H, W, 4) RGBA with straight alpha -> PNG bytes."""
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
        raise ValueError(f"expected uint8 (H, W, 3|4), got {pixels.dtype} {pixels.shape}")
    options: dict = {"compress_level": 6}
    if dpi:
        options["dpi"] = (dpi, dpi)
    buf = io.BytesIO()
    Image.fromarray(pixels, "RGBA" if pixels.shape[2] == 4 else "RGB").save(buf, "PNG", **options)
    return buf.getvalue()
