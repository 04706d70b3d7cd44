"""The backend protocol: what runs a segmentation model. CPython: passbg.core.backend_ort.OrtBackend;
the browser: passbg.app.web (onnxruntime-web, async, same shapes). Model output -> alpha is in
passbg.core.matte."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from passbg.core.models import ModelSpec


class Backend(Protocol):
    """Runs a model: OrtBackend in CPython, onnxruntime-web from passbg.app.web in the browser."""

    def run(self, spec: ModelSpec, tensor: np.ndarray) -> np.ndarray:
        """tensor float32 (1, 3, h, w) from passbg.core.preprocess.to_tensor -> raw output float32 (h, w)."""
        ...
