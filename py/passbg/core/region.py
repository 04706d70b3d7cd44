"""Segment a region of the photo instead of the whole frame: the box, the model input size it feeds, and
putting the region's alpha back into the full photo's geometry.

A region is a box (x0, y0, x1, y1) in working-resolution pixels (the decoded photo, passbg.core.decode),
integers, x1/y1 exclusive, inside the photo. Outside it alpha is 0 by construction; the cut-out and the
composite keep the photo's own size, so they still line up with the original. Who chooses the box is the
caller's business (the face detector: passbg.passport.region; the app layer orchestrates).

The input size is the region's size at the working resolution (a model never sees more pixels than the
output has), rounded to the model's stride and kept between the model's min and max long side from
data/region.json, aspect kept. Only a model whose graph takes any size (input.any_size) is fed such a
size; the others get their fixed `input.size`, squeezed, as the whole-photo path does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from passbg._shared.datafiles import read_text
from passbg.core.models import ModelSpec

Box = tuple[int, int, int, int]  # x0, y0, x1, y1; x1, y1 exclusive


@lru_cache(maxsize=1)
def config() -> dict[str, Any]:
    """data/region.json, parsed once."""
    return json.loads(read_text("region.json"))


@dataclass(frozen=True)
class Region:
    """Where the model looks: `box` in working pixels, and why (a plain-words reason for the notes);
    `face`, the face box (x0, y0, x1, y1, working pixels) it was found from, when it was."""

    box: Box
    reason: str = ""
    face: tuple[float, float, float, float] | None = None

    def covers(self, hw: tuple[int, int]) -> bool:
        """True when the box is the whole (H, W) photo."""
        return self.box == (0, 0, hw[1], hw[0])


def clip_box(box: tuple[float, float, float, float], hw: tuple[int, int]) -> Box:
    """A float box -> integer box inside an (H, W) photo (rounded outwards), at least 1 px each way."""
    h, w = hw
    x0 = int(np.clip(np.floor(box[0]), 0, w - 1))
    y0 = int(np.clip(np.floor(box[1]), 0, h - 1))
    x1 = int(np.clip(np.ceil(box[2]), x0 + 1, w))
    y1 = int(np.clip(np.ceil(box[3]), y0 + 1, h))
    return x0, y0, x1, y1


def input_size(box: Box, spec: ModelSpec, long_side: int | None = None) -> tuple[int, int]:
    """(width, height) of the model input for a region: spec.input.size for a fixed-size model; else the
    region's own size with its long side kept between the model's bounds (data/region.json; defaults
    stride*8 .. max(spec.input.size)), both sides rounded to the stride (at least one stride).
    long_side forces the long side (the evaluation's curve of quality against input size)."""
    if not spec.input.any_size:
        return spec.input.size
    w, h = box[2] - box[0], box[3] - box[1]
    bounds = config()["models"].get(spec.id, {})
    stride = spec.input.stride
    low = int(bounds.get("min_long_side", 8 * stride)) if long_side is None else long_side
    high = int(bounds.get("max_long_side", max(spec.input.size))) if long_side is None else long_side
    long_side = float(np.clip(max(w, h), low, high))
    scale = long_side / max(w, h)
    out_w = max(stride, int(round(w * scale / stride)) * stride)
    out_h = max(stride, int(round(h * scale / stride)) * stride)
    return out_w, out_h


def crop(a: np.ndarray, box: Box) -> np.ndarray:
    """The box of an (H, W, ...) array (a view)."""
    x0, y0, x1, y1 = box
    return a[y0:y1, x0:x1]


def paste(part: np.ndarray, box: Box, hw: tuple[int, int]) -> np.ndarray:
    """A region's array (h, w, ...) -> a zero (H, W, ...) array of the same dtype with it at the box."""
    out = np.zeros((hw[0], hw[1], *part.shape[2:]), dtype=part.dtype)
    x0, y0, x1, y1 = box
    out[y0:y1, x0:x1] = part
    return out


def cut_edges(alpha: np.ndarray, box: Box, hw: tuple[int, int], level: float = 0.5) -> list[str]:
    """Sides of the box ("left", "top", "right", "bottom") that lie inside the photo and where the
    region's alpha float (h, w) is still opaque (> level) on its outermost line: the person may go on
    beyond the region there."""
    h, w = hw
    x0, y0, x1, y1 = box
    sides = {
        "left": (x0 > 0, alpha[:, 0]),
        "top": (y0 > 0, alpha[0, :]),
        "right": (x1 < w, alpha[:, -1]),
        "bottom": (y1 < h, alpha[-1, :]),
    }
    return [name for name, (inside, line) in sides.items() if inside and float((line > level).mean()) > 0.02]
