"""Turn a photo into a model's input tensor, exactly as the manifest says.

The resize is done by Pillow so that CPython and Pyodide (same Pillow 10.2.0) produce identical tensors.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from passbg.core.models import ModelSpec

RESAMPLING = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
    "box": Image.Resampling.BOX,
}


def to_tensor(rgb: np.ndarray, spec: ModelSpec, size: tuple[int, int] | None = None) -> np.ndarray:
    """rgb uint8 (H, W, 3) -> float32 (1, 3, h, w) with (w, h) = size, default spec.input.size (a size
    other than that only for a model whose graph takes any size: passbg.core.region.input_size).

    value = (pixel / divide_by - mean[c]) / std[c]; divide_by "image_max" uses the resized image's
    maximum (U2-Net's own preprocessing), so a dark photo is stretched to full range.
    """
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected uint8 (H, W, 3), got {rgb.dtype} {rgb.shape}")
    inp = spec.input
    resized = Image.fromarray(rgb, "RGB").resize(size or inp.size, RESAMPLING[inp.resize])
    hwc = np.asarray(resized)
    if inp.divide_by == "image_max":
        divide_by = float(max(int(hwc.max()), 1))
    else:
        divide_by = float(inp.divide_by)
    # Fold divide, subtract and scale into one multiply-add per channel, in CHW layout.
    chw = np.ascontiguousarray(np.transpose(hwc, (2, 0, 1)), dtype=np.float32)
    scale = np.array([1.0 / (divide_by * s) for s in inp.std], dtype=np.float32).reshape(3, 1, 1)
    offset = np.array([m / s for m, s in zip(inp.mean, inp.std, strict=True)], dtype=np.float32).reshape(
        3, 1, 1
    )
    chw *= scale
    chw -= offset
    return chw[np.newaxis]
