"""Faint specks far from the person, removed from the matte.

On a phone-like photo (a person in a room) the model sometimes answers a small, salient object with a
faint ghost: a door knob at alpha 0.2, a few stray pixels in a corner. Such a speck is too faint for the
"leftover objects" check to flag (passbg.quality.scene counts objects at alpha >= 0.5), yet it shows on
the new background as a smudge, and its pixels stretch the area the foreground colours are estimated
over (passbg.core.pipeline.finish works only where alpha > 0). A speck is recognisable in the matte
alone: an 8-connected area of alpha > 0 that never reaches `peak` (so it is not an object the user is
told about) and with no part of any other component reaching `peak` within `near` of it (so it is not a
hair wisp that came loose from the head: those lie close to the hair they left).

Measured on the room photo of usc_C000537 (passbg_dev.bench.room_photos): the knob's ghost (962 px, peak
0.20, ~200 px from the head) and an 8-px corner speck go; the person's matte is untouched. Detached
hair in the evaluation's composites lies within a few pixels of the head, far inside `near`.
"""

from __future__ import annotations

import numpy as np

from passbg.numeric.labels import label

PEAK = 0.5  # a component reaching this is an object (flagged by the checks) or the person: kept
NEAR_SHARE = 0.03  # a faint component this close (share of the matte's long side) to one that is kept stays
_BLOCK = 4  # components are found on block maxima: speed (see drop_faint_specks)


def drop_faint_specks(alpha: np.ndarray, *, peak: float = PEAK, near_share: float = NEAR_SHARE) -> np.ndarray:
    """alpha float32 (H, W) in [0, 1] with its faint, far-away specks set to 0.

    A speck is an 8-connected component of alpha > 0 whose maximum is below `peak` and whose bounding
    box, widened by near_share * max(H, W) px on every side, holds no pixel of a component that reaches
    `peak`. Returns a new float32 array of the same shape (alpha itself is not changed); with nothing
    reaching `peak` (no person) nothing is dropped.

    The components are found on _BLOCK x _BLOCK maxima (a sixteenth of the pixels): a block is in a
    component when any of its pixels is > 0 and reaches `peak` when any pixel does, so specks within a
    block of the person join it (kept, as they would be for being near) and a dropped block holds only
    faint pixels far from every kept one.
    """
    alpha = np.asarray(alpha, dtype=np.float32)
    out = alpha.copy()
    coarse = _block_max(alpha, _BLOCK)
    comps = label(coarse > 0, 8)
    if comps.count < 2:
        return out
    strong = np.zeros(comps.count + 1, dtype=bool)
    strong[np.unique(comps.labels[coarse >= peak])] = True
    strong[0] = False  # label 0 is where alpha is 0
    if not strong.any():
        return out
    near = int(np.ceil(near_share * max(alpha.shape) / _BLOCK))
    h, w = coarse.shape
    for i in np.nonzero(~strong[1:])[0] + 1:  # the faint ones: a few, each looked at in its own box
        y0, x0, y1, x1 = (int(v) for v in comps.bboxes[i])
        around = comps.labels[max(0, y0 - near) : min(h, y1 + near), max(0, x0 - near) : min(w, x1 + near)]
        if not strong[around].any():
            blocks = np.repeat(np.repeat(comps.labels[y0:y1, x0:x1] == i, _BLOCK, 0), _BLOCK, 1)
            rows, cols = slice(y0 * _BLOCK, y1 * _BLOCK), slice(x0 * _BLOCK, x1 * _BLOCK)
            part = out[rows, cols]
            part[blocks[: part.shape[0], : part.shape[1]]] = 0.0
    return out


def _block_max(a: np.ndarray, block: int) -> np.ndarray:
    """float32 (H, W) -> float32 (ceil(H / block), ceil(W / block)): each block's maximum (partial blocks
    at the bottom and right take the maximum of what they hold; alpha is >= 0, so zero padding is
    neutral)."""
    h, w = a.shape
    ph, pw = -h % block, -w % block
    if ph or pw:
        a = np.pad(a, ((0, ph), (0, pw)))
    return a.reshape(a.shape[0] // block, block, a.shape[1] // block, block).max(axis=(1, 3))
