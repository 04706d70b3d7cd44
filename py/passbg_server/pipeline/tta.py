"""Test-time augmentation: the model's probability for a picture, averaged over a horizontal flip.

A portrait is close to mirror-symmetric in what the model has learnt, but its mistakes are not: a stray
wisp or a bite out of a shoulder seen in one orientation is often absent in the other. Averaging the two
probabilities *before* the levels (passbg.core.matte.level_curve) halves such one-sided errors, where
averaging after the levels would only average two already-snapped masks.
"""

from __future__ import annotations

import numpy as np

from passbg.core.backend import Backend
from passbg.core.matte import normalise
from passbg.core.models import ModelSpec
from passbg.core.preprocess import to_tensor


def probability(backend: Backend, spec: ModelSpec, rgb: np.ndarray, *, flip: bool) -> np.ndarray:
    """rgb uint8 (H, W, 3) -> float32 (h, w) in [0, 1] at the model's resolution: the normalised model
    output, averaged with the mirrored output of the mirrored picture when `flip`."""
    tensor = to_tensor(rgb, spec)
    prob = normalise(backend.run(spec, tensor), spec.output.postprocess)
    if flip:
        mirrored_out = backend.run(spec, np.ascontiguousarray(tensor[..., ::-1]))
        mirrored = normalise(mirrored_out, spec.output.postprocess)
        prob = (prob + mirrored[:, ::-1]) * np.float32(0.5)
    return np.ascontiguousarray(prob, dtype=np.float32)
