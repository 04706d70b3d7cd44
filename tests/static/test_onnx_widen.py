"""The page opens an fp16 model with its weights widened to fp32 (static/app/onnx-widen.mjs, run here
in Node): the mask is the fp16 model's, and a file it does not understand is left alone."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from passbg.core import decode, preprocess

REPO = Path(__file__).resolve().parents[2]
WIDEN = REPO / "static" / "app" / "onnx-widen.mjs"
PHOTO = "usc_S001159.jpg"  # long loose hair against a busy backdrop: the soft edges that matter

RUNNER = """
import { readFileSync, writeFileSync } from "node:fs";
const { widen } = await import(process.argv[1]);
const src = readFileSync(process.argv[2]);
const t0 = performance.now();
const out = widen(new Uint8Array(src.buffer, src.byteOffset, src.byteLength));
if (out) writeFileSync(process.argv[3], out);
console.log(JSON.stringify({ widened: out !== null, ms: performance.now() - t0 }));
"""


def widen(src: Path, dest: Path) -> dict:
    node = shutil.which("node")
    if not node:
        pytest.skip("node is not installed (python build.py needs it for npm)")
    done = subprocess.run(
        [node, "--input-type=module", "-e", RUNNER, "--", WIDEN.as_uri(), str(src), str(dest)],
        capture_output=True, text=True, timeout=120, check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def mask(path: Path, tensor: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (out,) = session.run(["output"], {session.get_inputs()[0].name: tensor})
    return out.squeeze().astype(np.float64)


def test_the_fp16_model_widened_in_the_browser_gives_the_same_mask(manifest, portraits_dir, tmp_path):
    spec = manifest.get("isnet-fp16")
    wide = tmp_path / "wide.onnx"
    report = widen(spec.path, wide)
    assert report["widened"]
    # every weight is now 4 bytes instead of 2: the file is close to twice the size
    assert wide.stat().st_size > 1.9 * spec.path.stat().st_size
    image = decode.decode_image((portraits_dir / "images" / PHOTO).read_bytes())
    tensor = preprocess.to_tensor(image.rgb, spec)
    diff = np.abs(mask(spec.path, tensor) - mask(wide, tensor)) * 255.0
    print(f"\nwidened in {report['ms']:.0f} ms; mask vs fp16: max {diff.max():.4f}/255, "
          f"mean {diff.mean():.6f}/255")
    # fp16 -> fp32 is exact; only fp16's rounding between layers goes: far below one grey level
    assert diff.max() < 0.5


def test_a_model_without_fp16_weights_is_opened_as_it_is(manifest, tmp_path):
    assert widen(manifest.get("u2netp").path, tmp_path / "out.onnx")["widened"] is False
    assert not (tmp_path / "out.onnx").exists()


def test_a_truncated_file_is_left_alone_instead_of_read_past_its_end(manifest, tmp_path):
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(manifest.get("isnet-fp16").path.read_bytes()[:1_000_003])
    assert widen(cut, tmp_path / "out.onnx")["widened"] is False
