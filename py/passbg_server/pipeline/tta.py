"""Test-time augmentation: the model's probability for a picture, fused with that of its mirror image.

A portrait is close to mirror-symmetric in what the model has learnt, but its mistakes are not: the
outline jitters differently in each orientation, and averaging the two probabilities *before* the levels
(passbg.core.matte.level_curve) smooths that jitter, where averaging after the levels would only average
two already-snapped masks.

Where the two runs disagree about a whole area, though, the mean is a solid object made half
transparent: IS-Net on the mirrored picture sometimes drops a jacket, a shoulder or a hat brim that the
first run keeps (usc_W000808's brim, usc_H001094's jacket, usc_A000055's shoulder: a mean of ~0.5, which
the levels turn into a see-through patch). A person is not see-through, so a strong disagreement keeps
the larger of the two (the area either run found as part of the person); the blend between the mean and
that maximum is smooth in the size of the disagreement, so no seam appears where it starts.
"""

from __future__ import annotations

import numpy as np

from passbg.core.backend import Backend
from passbg.core.matte import normalise
from passbg.core.models import ModelSpec
from passbg.core.preprocess import to_tensor


def probability(backend: Backend, spec: ModelSpec, rgb: np.ndarray, *, flip: bool) -> np.ndarray:
    """rgb uint8 (H, W, 3) -> float32 (h, w) in [0, 1] at the model's resolution: the normalised model
    output, fused with the mirrored output of the mirrored picture when `flip` (fuse_mirrored)."""
    tensor = to_tensor(rgb, spec)
    prob = normalise(backend.run(spec, tensor), spec.output.postprocess)
    if flip:
        mirrored_out = backend.run(spec, np.ascontiguousarray(tensor[..., ::-1]))
        mirrored = normalise(mirrored_out, spec.output.postprocess)
        prob = fuse_mirrored(prob, mirrored[:, ::-1])
    return np.ascontiguousarray(prob, dtype=np.float32)


# |p - q| at which the fusion starts moving from the mean toward the maximum, and where it has arrived.
# Where both runs find the same person, |p - q| is below 0.2-0.3 on 99.9 % of pixels (usc_N000189,
# usc_W000797, usc_G000600 at 1024x1024); where one drops an area, most of it differs by > 0.6.
DISAGREE_FROM, DISAGREE_TO = 0.3, 0.6


def fuse_mirrored(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Two probabilities of the same picture (float32 (h, w) in [0, 1]; q already mirrored back) ->
    float32 (h, w) in [0, 1]: their mean where they roughly agree, their maximum where one run finds
    an area of the person the other misses, smoothly between."""
    gap = np.abs(p - q)
    w = np.clip((gap - DISAGREE_FROM) / (DISAGREE_TO - DISAGREE_FROM), 0.0, 1.0)
    mean = (p + q) * np.float32(0.5)
    return (mean + w * (np.maximum(p, q) - mean)).astype(np.float32)
