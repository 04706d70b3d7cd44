"""Shared helpers for tests on the real portraits: find the face and segmentation models, or skip."""

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

PORTRAITS = Path(os.environ.get(
    "PASSBG_PORTRAITS", Path(__file__).resolve().parents[2] / "shared/data/portraits"))
_MODEL_DIRS = [Path(p) for p in os.environ.get("PASSBG_MODEL_DIRS", "").split(os.pathsep) if p] + [
    Path(__file__).resolve().parents[1] / "static/models", Path("/tmp/passbg-models"), Path("/tmp/faceconv")]


def model_path(name: str) -> Path:
    for d in _MODEL_DIRS:
        if (d / name).is_file():
            return d / name
    pytest.skip(f"{name} not found in {[str(d) for d in _MODEL_DIRS]} (build the models first)")


def runner(name: str):
    ort = pytest.importorskip("onnxruntime")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    session = ort.InferenceSession(str(model_path(name)), opts, providers=["CPUExecutionProvider"])
    feed = session.get_inputs()[0].name
    return lambda tensor: session.run(None, {feed: np.ascontiguousarray(tensor, np.float32)})


def portrait_files() -> list[Path]:
    files = sorted((PORTRAITS / "images").glob("*.jpg"))
    if not files:
        pytest.skip(f"no portraits in {PORTRAITS}")
    return files


def u2netp_alpha(run, rgb: np.ndarray) -> np.ndarray:
    """U2-Net-p's own preprocessing: 320x320, divide by the image max, ImageNet mean/std; min-max output,
    bilinear to the photo: float32 (H, W) in [0, 1] for rgb uint8 (H, W, 3)."""
    x = np.asarray(Image.fromarray(rgb).resize((320, 320), Image.BILINEAR), np.float32) / max(rgb.max(), 1)
    x = (x - (0.485, 0.456, 0.406)) / (0.229, 0.224, 0.225)
    raw = run(x.transpose(2, 0, 1)[None].astype(np.float32))[0][0, 0]
    raw = (raw - raw.min()) / max(raw.max() - raw.min(), 1e-6)
    return np.asarray(Image.fromarray(raw).resize(rgb.shape[1::-1], Image.BILINEAR))
