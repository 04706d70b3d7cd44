"""The 8-bit path of issue 15: build/derive_model.py widen and quantize, and the calibration table that
python -m passbg_dev.calibrate makes from the portraits."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from passbg.core import decode, preprocess, region
from passbg_dev import calibrate

REPO = Path(__file__).resolve().parents[2]
DERIVE = REPO / "build" / "derive_model.py"
PHOTO = "usc_S001159.jpg"  # long loose hair against a busy backdrop


def _mask(path: Path, name: str, tensor: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.clip(session.run(None, {name: tensor})[0].squeeze(), 0, 1) * 255.0


def _photo_tensor(spec, portraits_dir: Path) -> np.ndarray:
    """PHOTO as the model's input at long side 640, through the pipeline's own preprocessing."""
    rgb = decode.decode_image((portraits_dir / "images" / PHOTO).read_bytes()).rgb
    size = region.input_size((0, 0, rgb.shape[1], rgb.shape[0]), spec, long_side=640)
    return preprocess.to_tensor(rgb, spec, size)


def _derive(*args: object) -> None:
    subprocess.run([sys.executable, str(DERIVE), *map(str, args)], check=True, capture_output=True)


@pytest.mark.slow
def test_the_widened_isnet_is_fp32_without_casts_and_gives_the_fp16_mask(manifest, portraits_dir, tmp_path):
    import onnx

    spec = manifest.get("isnet-fp16")
    out = tmp_path / "isnet-fp32.onnx"
    _derive("widen", spec.path, out)
    model = onnx.load(str(out))
    assert not [n for n in model.graph.node if n.op_type == "Cast"]
    assert {i.data_type for i in model.graph.initializer} == {onnx.TensorProto.FLOAT}
    tensor = _photo_tensor(spec, portraits_dir)
    diff = np.abs(_mask(spec.path, spec.input.name, tensor) - _mask(out, spec.input.name, tensor))
    print(f"\nwidened vs fp16 at {tensor.shape[2:]}: mean {diff.mean():.4f}/255, max {diff.max():.3f}/255")
    assert diff.max() < 1.0


@pytest.mark.slow
def test_a_calibrated_8bit_isnet_is_reproducible_and_keeps_the_mask(manifest, portraits_dir, tmp_path):
    """Widen, calibrate (Percentile) on a few portraits, derive the 8-bit model twice: the same bytes (the
    build pins them), a quarter of the fp32 size, and the fp16 model's mask within a bound on a portrait
    not calibrated on."""
    spec = manifest.get("isnet-fp16")
    fp32 = tmp_path / "isnet-fp32.onnx"
    _derive("widen", spec.path, fp32)
    table = tmp_path / "isnet-calibration.json"
    photos = [p for p in sorted((portraits_dir / "images").glob("*.jpg"))[::17] if p.name != PHOTO]
    n = calibrate.calibrate(fp32, spec.input.name, calibrate.tensors(spec, photos, [640]), table)
    assert n > 300 and json.loads(table.read_text())["data"]
    outs = [tmp_path / "a.onnx", tmp_path / "b.onnx"]
    for out in outs:
        _derive("int8", spec.path, out, table)  # the build's recipe: widen, prune, quantize
    digests = {hashlib.sha256(p.read_bytes()).hexdigest() for p in outs}
    assert len(digests) == 1, "the same model and table must give the same bytes (the build pins them)"
    assert outs[0].stat().st_size < fp32.stat().st_size / 3
    tensor = _photo_tensor(spec, portraits_dir)
    diff = np.abs(_mask(spec.path, spec.input.name, tensor) - _mask(outs[0], spec.input.name, tensor))
    p99 = np.percentile(diff, 99)
    print(f"\nisnet 8-bit vs fp16 at {tensor.shape[2:]}: mean {diff.mean():.3f}/255, p99 {p99:.2f}/255")
    assert diff.mean() < 0.5 and p99 < 8
