"""CPython model backend: onnxruntime on the CPU."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from passbg.core.models import ModelSpec
from passbg.errors import SetupError

_INSTALL_HINT = "Install it with `pip install onnxruntime` (or run `python build.py`, which sets up .venv)."


class OrtBackend:
    """Runs models with onnxruntime; one session per model file, created on first use and kept.

    threads: intra-op threads (default: all cores; onnxruntime's own default can pick fewer).
    """

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads or os.cpu_count() or 1
        self._sessions: dict[tuple[str, str], Any] = {}

    def session(self, spec: ModelSpec) -> Any:
        """The cached onnxruntime.InferenceSession for `spec` (created on first call)."""
        key = (spec.id, str(spec.path))
        if key not in self._sessions:
            self._sessions[key] = self._create(spec)
        return self._sessions[key]

    def _create(self, spec: ModelSpec) -> Any:
        try:
            import onnxruntime as ort
        except ImportError:
            raise SetupError(f"onnxruntime is not installed. {_INSTALL_HINT}") from None
        path = spec.path
        if not path.is_file():
            raise SetupError(f"The model file {path} is missing. Run `python build.py` to fetch the models.")
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
        except Exception as err:  # noqa: BLE001 - onnxruntime raises its own untyped errors for bad files
            raise SetupError(
                f"The model file {path} cannot be loaded ({err}). "
                "Run `python build.py` to rebuild the models."
            ) from None

    def run(self, spec: ModelSpec, tensor: np.ndarray) -> np.ndarray:
        """tensor float32 (1, 3, h, w) -> raw output float32 (h, w); only the mask output is fetched."""
        session = self.session(spec)
        outputs = session.get_outputs()
        if spec.output.index >= len(outputs):
            raise SetupError(f"The model '{spec.id}' has no output number {spec.output.index}.")
        # Naming just the one output stops onnxruntime copying the side outputs (IS-Net has 11 more).
        name = outputs[spec.output.index].name
        (raw,) = session.run([name], {spec.input.name: np.ascontiguousarray(tensor, dtype=np.float32)})
        return raw.reshape(raw.shape[-2:])
