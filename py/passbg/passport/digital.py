"""Digital files for upload: the crop at the preset's pixel size, as the best JPEG within the byte limits.

kB limits are read on the safe side: an upper limit of N kB means N * 1000 bytes, a lower limit of N kB
means N * 1024 bytes, so the file passes whichever meaning the authority's upload form uses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from passbg.core.encode import encode_jpeg
from passbg.errors import InputError
from passbg.passport.presets import Preset

QUALITY_RANGE = (30, 95)  # below 30 faces block visibly; above 95 only the file grows
DEFAULT_LONG_SIDE = 600  # used when a preset states no pixel size


@dataclass(frozen=True)
class DigitalFile:
    data: bytes
    size_px: tuple[int, int]
    quality: int
    within_limits: bool
    message: str

    @property
    def bytes(self) -> int:
        return len(self.data)


def target_size(preset: Preset) -> tuple[int, int]:
    """(width, height) in pixels: the smallest size that meets the preset's minimums at the photo's aspect,
    clamped to its maximums; a preset with a fixed size gets exactly that size."""
    if not preset.has_layout:
        raise InputError(f"{preset.name}: {preset.user_message}")
    aspect = preset.width_mm / preset.height_mm
    d = preset.digital
    wr = d.width_px if d and d.width_px else (None, None)
    hr = d.height_px if d and d.height_px else (None, None)
    if wr[0] is not None and wr[0] == wr[1] and hr[0] is not None and hr[0] == hr[1]:
        return int(wr[0]), int(hr[0])
    if d and d.square:
        aspect = 1.0
    if wr[0] is None and hr[0] is None:
        h = DEFAULT_LONG_SIDE if aspect <= 1 else math.ceil(DEFAULT_LONG_SIDE / aspect)
    else:
        h = max(hr[0] or 0, math.ceil((wr[0] or 0) / aspect))
    if hr[1] is not None:
        h = min(h, int(hr[1]))
    if wr[1] is not None:
        h = min(h, int(wr[1] / aspect))
    return round(h * aspect), int(h)


def _encode(rgb: np.ndarray, quality: int, subsampling: int = 2) -> bytes:
    # 4:2:0 by default: authorities' kB limits are tight and the digital file is viewed small
    return encode_jpeg(rgb, quality=quality, dpi=300, subsampling=subsampling)


def best_jpeg(rgb: np.ndarray, kb: tuple[float | None, float | None] | None) -> DigitalFile:
    """rgb uint8 (H, W, 3) -> the highest-quality JPEG whose size lies within kb = (min, max) kB.

    Binary search on quality in QUALITY_RANGE (file size grows with quality). When even the lowest quality
    is too big, or the highest too small, the closest file is returned with within_limits False."""
    img = np.ascontiguousarray(rgb[..., :3])
    size = (img.shape[1], img.shape[0])
    low_b = None if not kb or kb[0] is None else int(kb[0] * 1024)
    high_b = None if not kb or kb[1] is None else int(kb[1] * 1000)
    lo, hi = QUALITY_RANGE
    best = _encode(img, hi)
    if high_b is None or len(best) <= high_b:
        quality = hi
    else:
        best, quality = None, None
        while lo <= hi:  # highest quality whose file fits under high_b
            mid = (lo + hi) // 2
            data = _encode(img, mid)
            if len(data) <= high_b:
                best, quality, lo = data, mid, mid + 1
            else:
                hi = mid - 1
        if best is None:
            data = _encode(img, QUALITY_RANGE[0])
            return DigitalFile(data, size, QUALITY_RANGE[0], False,
                               f"Even at the lowest sensible quality the file is {len(data) / 1000:.0f} kB, "
                               f"more than the {kb[1]:g} kB allowed. Use a smaller pixel size.")
    if low_b is not None and len(best) < low_b:
        # Too small: spend bytes on colour detail (no chroma subsampling, top quality) before giving up.
        data = _encode(img, 100, subsampling=0)
        if len(data) >= low_b and (high_b is None or len(data) <= high_b):
            return DigitalFile(data, size, 100, True, _fits(len(data), kb))
        return DigitalFile(best, size, quality, False,
                           f"The file is {len(best) / 1024:.0f} kB, less than the {kb[0]:g} kB required. "
                           "Use a larger pixel size.")
    return DigitalFile(best, size, quality, True, _fits(len(best), kb))


def _fits(n: int, kb: tuple[float | None, float | None] | None) -> str:
    if not kb:
        return f"The file is {n / 1000:.0f} kB."
    lo = f"{kb[0]:g}" if kb[0] is not None else "0"
    hi = f"{kb[1]:g}" if kb[1] is not None else "any"
    return f"The file is {n / 1000:.0f} kB, within {lo}-{hi} kB."


def frame_width_mm(preset: Preset) -> float:
    """Width in print mm of the frame to crop for the digital file: the print height at the pixel aspect."""
    w, h = target_size(preset)
    return preset.height_mm * w / h


def digital_file(rgb: np.ndarray, preset: Preset) -> DigitalFile:
    """A cropped photo uint8 (H, W, 3) at print aspect -> the upload file for the preset.

    When the preset's pixel aspect differs from the print's (e.g. India 630x810 px for a 2x2 in print),
    crop with `plan_crop(..., frame_width_mm=frame_width_mm(preset))` so nothing is stretched."""
    size = target_size(preset)
    img = Image.fromarray(np.ascontiguousarray(rgb[..., :3]))
    if img.size != size:
        img = img.resize(size, Image.LANCZOS)
    kb = preset.digital.kb if preset.digital else None
    return best_jpeg(np.asarray(img), kb)
