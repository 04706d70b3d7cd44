"""Half see-through islands in the matte below the face: clothing the model was unsure of, made opaque.

On a light shirt in front of a light backdrop (or a dark jacket on a dark one) the segmentation models
hedge: the shirt comes out at alpha 0.4-0.85, so the new background shows through it. Such an island
is recognisable by its shape in the matte: a connected area below `solid` that no pixel of real
background (alpha below `seen`) belongs to, enclosed by the opaque person and the photo's edges, and
lying below the face, where a passport photo has clothes. A gap that shows the real backdrop (between
an arm and the body, between curls of long hair) always holds some pixels near 0, so it keeps its
alpha, soft rim included; soft areas that reach the backdrop (a fading shoulder, hair strands) are
part of the backdrop's component and keep theirs too. The page (passbg.core.pipeline.matte, on a region
found from a face) and the reference server (its 'islands' step) both ask this module.

The thresholds come from the evaluation's 864 composites of the 48 portraits (tight and loose, the
page's default model; throwaway sweep of SEEN 0.1-0.4 and MIN_SHARE 0.0005/0.002, 2026-12-07): at these
values no result's SAD got worse and the tight mean fell from 2.58 to 2.44 (usc_N000189's shirt from
4.7-12.8 to 1.8-2.3, usc_L000578's from 4.0-6.0 to ~1); with a smaller MIN_SHARE the gaps between the
curls below usc_B000740's chin were filled, with a higher SEEN usc_J000032's shirt was not.
"""

from __future__ import annotations

import numpy as np

from passbg.numeric.labels import label

SOLID = 0.9  # at or above: the opaque person; an island is a connected area below this
SEEN = 0.1  # an island holding a pixel below this shows the real backdrop somewhere: not filled
MIN_SHARE = 0.002  # smaller islands are left alone: gaps between curls of long hair are that small


def fill_hedged_islands(
    alpha: np.ndarray,
    below_row: float,
    *,
    solid: float = SOLID,
    seen: float = SEEN,
    min_share: float = MIN_SHARE,
) -> np.ndarray:
    """alpha float32 (H, W) in [0, 1] with its half see-through islands below `below_row` set to 1.

    An island is an 8-connected area of alpha < solid whose every pixel is >= seen, at least min_share
    of H * W in size, whose mean row lies below below_row (the face's lower edge, in the matte's
    rows). Returns a new array (float32, same shape); `alpha` is not changed.
    """
    alpha = np.asarray(alpha, dtype=np.float32)
    out = alpha.copy()
    comps = label(alpha < solid, 8)
    if comps.count == 0:
        return out
    seen_in = np.zeros(comps.count + 1, dtype=bool)
    seen_in[np.unique(comps.labels[alpha < seen])] = True
    fill = ~seen_in & (comps.areas >= min_share * alpha.size)
    fill[0] = False  # label 0 is the opaque person itself
    rows = np.arange(alpha.shape[0], dtype=np.float64)
    for i in np.nonzero(fill)[0]:  # a few candidates at most: the mean row of each
        per_row = (comps.labels[comps.bboxes[i, 0] : comps.bboxes[i, 2]] == i).sum(axis=1)
        fill[i] = float(per_row @ rows[comps.bboxes[i, 0] : comps.bboxes[i, 2]]) / comps.areas[i] >= below_row
    out[fill[comps.labels]] = 1.0
    return out
