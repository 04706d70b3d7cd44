"""How many people the alpha matte shows, and whether any: plain-words notes for the user.

The segmentation models find "the subject", not people as such, so the evidence is the matte's shape:
- No person: almost nothing is confidently foreground. On a landscape the models answer with a faint,
  fuzzy haze (alpha well below 1); a real person, however small, has an opaque core.
- Several people: heads are the peaks of the silhouette's top edge. Seen column by column, the first
  foreground row traces the outline from above; two people side by side give two peaks separated by a
  valley (their shoulders), even where the shoulders touch and the matte is one connected region. A peak
  counts as a head only when it is prominent (the valley to any higher peak, or to the frame's side, is
  deep) and wide, so hair strands and ears never count.
- Small person: the silhouette's height is a small part of the picture.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from passbg.errors import InputError

# Work on a coarse copy of the matte: the decisions are about shapes many pixels across.
_WORK_SIDE = 256
SOLID = 0.9  # alpha above this is "confidently the subject"
MIN_SOLID_FRACTION = 0.002  # below this share of the picture, nobody is there
HEAD_PROMINENCE = 0.12  # a head rises at least this share of the silhouette's height above its valleys
HEAD_MIN_WIDTH = 0.04  # ... and is at least this share of the picture wide halfway down that rise
SMALL_PERSON = 0.3  # a silhouette shorter than this share of the picture height is "small"

NO_PERSON = (
    "No person was found in this photo. Use a photo of one person, head and shoulders, facing the camera "
    "against a plain wall."
)
SEVERAL_PEOPLE = (
    "More than one person found; passport photos need exactly one. Crop the photo to one person and "
    "try again."
)
SMALL = (
    "The person is small in the picture; passport photos need the head and shoulders to fill most of "
    "it. Crop closer or take the photo nearer."
)


@dataclass(frozen=True)
class Subjects:
    """What the matte shows. solid_fraction: share of the picture with alpha > SOLID; heads: peaks of the
    top outline (0 when nobody); height_fraction: silhouette height / picture height."""

    solid_fraction: float
    heads: int
    height_fraction: float

    @property
    def found(self) -> bool:
        return self.solid_fraction >= MIN_SOLID_FRACTION

    def notes(self) -> list[str]:
        """Warnings for a matte where someone was found (see `require_person` for the refusal)."""
        notes = []
        if self.heads > 1:
            notes.append(SEVERAL_PEOPLE)
        if self.height_fraction < SMALL_PERSON:
            notes.append(SMALL)
        return notes


def analyse(alpha: np.ndarray) -> Subjects:
    """alpha float (H, W) in [0, 1] -> Subjects. Cheap: works on a copy at most 256 px on its long side."""
    alpha = np.asarray(alpha, dtype=np.float32)
    if alpha.ndim != 2 or alpha.size == 0:
        raise ValueError(f"alpha must be a non-empty (H, W) array, got shape {alpha.shape}")
    step = max(1, -(-max(alpha.shape) // _WORK_SIDE))  # ceil: the coarse copy fits _WORK_SIDE
    coarse = alpha[::step, ::step]
    solid = coarse > SOLID
    solid_fraction = float(solid.mean())
    mask = coarse > 0.5
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0 or solid_fraction < MIN_SOLID_FRACTION:
        return Subjects(solid_fraction, 0, 0.0)
    height = mask.shape[0]
    height_fraction = (rows[-1] - rows[0] + 1) / height
    return Subjects(solid_fraction, count_heads(mask), float(height_fraction))


def count_heads(mask: np.ndarray) -> int:
    """Prominent, wide peaks of the top outline of a (H, W) bool mask (0 for an empty mask)."""
    height, width = mask.shape
    top = np.where(mask.any(axis=0), mask.argmax(axis=0), height).astype(np.float32)
    if not (top < height).any():
        return 0
    # Smooth over ~3 % of the width so a hair strand or a gap between strands is no peak or valley.
    radius = max(1, width // 64)
    padded = np.pad(top, radius, mode="edge")
    kernel = np.ones(2 * radius + 1, dtype=np.float32) / (2 * radius + 1)
    top = np.convolve(padded, kernel, mode="valid")
    # Elevation: higher = nearer the top of the picture; the frame's sides count as ground level.
    elevation = np.rint(np.concatenate([[0.0], height - top, [0.0]]))  # whole rows: no float ties
    rise = float(elevation.max())
    heads = 0
    for i in _plateau_peaks(elevation):
        prominence, left, right = _prominence(elevation, i)
        if prominence < HEAD_PROMINENCE * rise:
            continue
        if (right - left) >= HEAD_MIN_WIDTH * width:
            heads += 1
    return heads


def _plateau_peaks(e: np.ndarray) -> list[int]:
    """Indices of local maxima of a 1-D profile (the middle of each flat top)."""
    peaks = []
    n = e.size
    i = 1
    while i < n - 1:
        if e[i] > e[i - 1]:
            j = i
            while j + 1 < n - 1 and e[j + 1] == e[i]:
                j += 1
            if e[j + 1] < e[i]:
                peaks.append((i + j) // 2)
            i = j + 1
        else:
            i += 1
    return peaks


def _prominence(e: np.ndarray, i: int) -> tuple[float, int, int]:
    """Topographic prominence of the peak at i, and the span [left, right) where the profile stays above
    the peak's height minus half its prominence (its width at half prominence)."""
    peak = e[i]
    bases = []
    plateau = (i, i)  # the flat top containing i: ties are judged from its ends
    while plateau[0] > 0 and e[plateau[0] - 1] == peak:
        plateau = (plateau[0] - 1, plateau[1])
    while plateau[1] < e.size - 1 and e[plateau[1] + 1] == peak:
        plateau = (plateau[0], plateau[1] + 1)
    for direction, start in ((-1, plateau[0]), (1, plateau[1])):
        j, lowest = start, peak
        while 0 <= j + direction < e.size:
            j += direction
            # Ties go to the left peak: of two equally high tops only the first may claim the full
            # rise, the second gets the depth of the valley between them (nearly 0 on a flat head).
            if e[j] > peak or (direction < 0 and e[j] == peak):
                break
            lowest = min(lowest, e[j])
        bases.append(lowest)
    prominence = float(peak - max(bases))
    half = peak - prominence / 2
    left = i
    while left > 0 and e[left - 1] >= half:
        left -= 1
    right = i
    while right < e.size - 1 and e[right + 1] >= half:
        right += 1
    return prominence, left, right + 1


def require_person(subjects: Subjects) -> None:
    """Raise InputError (in plain words) when nobody was found."""
    if not subjects.found:
        raise InputError(NO_PERSON)
