"""More model pixels where it matters: the head and shoulders at the model's full input size.

The model sees the whole frame squeezed to 1024 x 1024. In a phone photo the person fills a third of the
frame or less, so the hair outline gets a few hundred of those pixels. A second pass on a box around the
head and shoulders (found by the face models, passbg.passport.face) gives that outline the whole input;
its probability replaces the whole frame's inside the box, blended over a margin wherever the box edge
lies inside the photo, so no seam shows where the body leaves the box.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from passbg.core.matte import resize_alpha
from passbg.passport.face import FaceLandmarks

# The box in units of the eye-to-chin distance L, around the eye midpoint: hair needs room above (the
# crown is ~1.2 L above the eyes, big hair more), shoulders below the chin, both shoulders at the sides.
ABOVE_EYES = 2.6
BELOW_CHIN = 2.2
HALF_WIDTH = 2.8
# A box covering most of the frame adds no model pixels worth a second inference: skipped.
MAX_AREA_SHARE = 0.55
# The blend margin at box edges inside the photo, as a share of the box's shorter side.
FEATHER = 0.06


@dataclass(frozen=True)
class Box:
    """Pixel box [top, bottom) x [left, right) in the photo."""

    top: int
    bottom: int
    left: int
    right: int

    @property
    def hw(self) -> tuple[int, int]:
        return self.bottom - self.top, self.right - self.left


def head_and_shoulders(face: FaceLandmarks, hw: tuple[int, int]) -> Box | None:
    """The head-and-shoulders box for a face in a photo of size hw, clipped to the photo; None when it
    would cover more than MAX_AREA_SHARE of the photo (the whole frame is then as good)."""
    height, width = hw
    ex, ey = face.eye_mid
    length = max(float(np.hypot(face.chin[0] - ex, face.chin[1] - ey)), 1.0)
    top = int(max(0, np.floor(ey - ABOVE_EYES * length)))
    bottom = int(min(height, np.ceil(face.chin[1] + BELOW_CHIN * length)))
    left = int(max(0, np.floor(ex - HALF_WIDTH * length)))
    right = int(min(width, np.ceil(ex + HALF_WIDTH * length)))
    if bottom - top < 32 or right - left < 32:
        return None
    if (bottom - top) * (right - left) > MAX_AREA_SHARE * height * width:
        return None
    return Box(top, bottom, left, right)


def silhouette_box(prob: np.ndarray, margin: float = 0.08) -> Box | None:
    """When no face is found (the short-range face detector misses faces below ~8 % of the frame, just
    where a second pass matters most): the box around the whole frame's silhouette (prob >= 0.5), from
    its top down to at most 1.3 times its width (head and shoulders, not the whole body), widened by
    `margin` of its size; None for no silhouette or one covering most of the frame."""
    height, width = prob.shape
    person = prob >= 0.5
    rows, cols = np.nonzero(person.any(axis=1))[0], np.nonzero(person.any(axis=0))[0]
    if rows.size == 0:
        return None
    top, bottom, left, right = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    bottom = min(bottom, top + int(1.3 * (right - left)) + 1)
    pad_y, pad_x = int(margin * (bottom - top)), int(margin * (right - left))
    box = Box(max(0, top - pad_y), min(height, bottom + pad_y),
              max(0, left - pad_x), min(width, right + pad_x))
    bh, bw = box.hw
    if bh < 32 or bw < 32 or bh * bw > MAX_AREA_SHARE * height * width:
        return None
    return box


def _ramp(n: int, feather: int, start_open: bool, end_open: bool) -> np.ndarray:
    """float32 (n,): 1 inside, falling linearly to 0 over `feather` px at an end inside the photo."""
    w = np.ones(n, np.float32)
    if feather <= 0:
        return w
    r = np.minimum(np.arange(n, dtype=np.float32) + 0.5, feather) / feather
    if start_open:
        w = np.minimum(w, r)
    if end_open:
        w = np.minimum(w, r[::-1])
    return w


def fuse(whole: np.ndarray, region: np.ndarray, box: Box) -> np.ndarray:
    """whole float32 (H, W) at photo size, region float32 (h, w) at any size -> float32 (H, W): the
    region's probability (resized to the box) inside the box, blended into `whole` near inner edges."""
    height, width = whole.shape
    bh, bw = box.hw
    inside = resize_alpha(region, (bh, bw))
    feather = max(1, int(FEATHER * min(bh, bw)))
    wy = _ramp(bh, feather, box.top > 0, box.bottom < height)
    wx = _ramp(bw, feather, box.left > 0, box.right < width)
    weight = wy[:, None] * wx[None, :]
    out = whole.copy()
    view = out[box.top : box.bottom, box.left : box.right]
    view += weight * (inside - view)
    return out
