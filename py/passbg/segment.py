"""Segmentation: the backend protocol and the model-output -> alpha step shared by all backends."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from passbg import matte
from passbg.models import ModelSpec


class Backend(Protocol):
    """Runs a model. CPython: passbg.backend_ort.OrtBackend. Browser: passbg.web (async, same shapes)."""

    def run(self, spec: ModelSpec, tensor: np.ndarray) -> np.ndarray:
        """tensor float32 (1, 3, h, w) from passbg.preprocess.to_tensor -> raw output float32 (h, w)."""
        ...


def postprocess(raw: np.ndarray, out_hw: tuple[int, int], spec: ModelSpec) -> np.ndarray:
    """Raw model output (anything squeezing to (h, w)) -> alpha float32 (H, W) in [0, 1], H, W = out_hw.

    Steps: the spec's normalisation (clip / minmax), levels that make the opaque interior exactly 1 and
    the background exactly 0 while keeping the model's edge profile (matte.level_curve; a manifest
    override [low, high] is a plain linear stretch), then a smooth bicubic resize to the photo's size.
    """
    alpha = matte.normalise(raw, spec.output.postprocess)
    if spec.output.levels:
        alpha = matte.level_stretch(alpha, *spec.output.levels)
    else:
        alpha = matte.level_curve(alpha, matte.DEFAULT_LEVELS)
    return matte.resize_alpha(alpha, out_hw)
