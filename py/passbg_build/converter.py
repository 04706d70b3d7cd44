"""The build-only converter venv (<cache>/convert-venv; never .venv or the site) and what runs in it:
MediaPipe TFLite face models converted to ONNX by build/convert_face.py (docs/presets.md), and the
models and wasm-friendly variants derived by build/derive_model.py."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .fetch import run, wheel_member
from .files import copy_atomic, sha256_bytes, sha256_file, tmp_path, write_bytes_atomic, write_text_atomic
from .layout import Context
from .report import BuildError

# The converters and the libraries whose versions shape their output (onnxruntime's quantizer writes the
# 8-bit model); only ever installed in a build-only venv under the cache, never in .venv or the site.
FACE_CONVERTER = ["tflite2onnx==0.4.1", "tflite==2.18.0", "onnx==1.23.2", "onnxruntime==1.32.0"]


def face_converter_python(ctx: Context) -> Path:
    """The python of <cache>/convert-venv with FACE_CONVERTER installed (created on first use)."""
    venv = ctx.layout.cache / "convert-venv"
    python = venv / "bin" / "python"
    stamp = venv / ".passbg-requirements"
    want = " ".join(FACE_CONVERTER)
    if python.is_file() and stamp.is_file() and stamp.read_text().strip() == want:
        return python
    ctx.report.info(f"creating the converter venv {venv} ({want})")
    fix = "check that PyPI is reachable, delete the folder and run python build.py again"
    run([sys.executable, "-m", "venv", "--clear", str(venv)], "creating the converter venv", fix)
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off", "-q"]
    run([*pip, *FACE_CONVERTER], "pip install " + want, fix)
    write_text_atomic(stamp, want + "\n")
    return python


def convert_tflite_member(ctx: Context, model: dict, dest: Path) -> tuple[str, int, bool]:
    """A TFLite file from a PyPI wheel, verified, converted to ONNX, canonicalised and verified again.

    The converted file is kept in <cache>/models, so other output folders reuse it without converting."""
    fetch, R = model["fetch"], ctx.report
    key = ctx.rel(dest)
    pin = ctx.pins.get(key) or {}
    cached = ctx.layout.cache / "models" / model["file"]
    current = cached.is_file() and pin and ctx.memo.sha256(cached) == pin.get("sha256")
    if ctx.pins.record or not current:
        data, wheel = wheel_member(ctx, fetch["requirement"], fetch["member"])
        source_key = f"sources/{fetch['requirement'].replace('==', '-')}/{fetch['member']}"
        ctx.pins.check(source_key, sha256_bytes(data), len(data), f"{fetch['member']} from {wheel.name}")
        work = ctx.layout.cache / "convert"
        src = work / Path(fetch["member"]).name
        write_bytes_atomic(src, data)
        python = face_converter_python(ctx)
        R.info(f"converting {src.name} to ONNX with {FACE_CONVERTER[0]}")
        out = tmp_path(cached)
        cached.parent.mkdir(parents=True, exist_ok=True)
        try:
            run(
                [str(python), str(ctx.layout.repo / "build" / "convert_face.py"), str(src), str(out)],
                f"converting {src.name}",
                f"delete {work.parent / 'convert-venv'} and run python build.py again",
            )
            os.replace(out, cached)
        finally:
            out.unlink(missing_ok=True)
        ctx.memo.forget(cached)
    sha, size = ctx.memo.sha256(cached), cached.stat().st_size
    try:
        ctx.pins.check(key, sha, size, f"{model['file']} converted with {' '.join(FACE_CONVERTER)}")
    except BuildError:
        cached.unlink()  # so the next build converts again instead of reusing a wrong file
        raise
    if dest.is_file() and ctx.memo.sha256(dest) == sha:
        return sha, size, False
    copy_atomic(cached, dest)
    return sha, size, True


def step_model_variants(ctx: Context, present: list[dict], keep: set[Path]) -> dict:
    """Build each present model's `wasm_variant` with build/derive_model.py (onnx, in the converter venv).

    Returns {model file: {file, recipe, sha256, bytes}} for static/models/variants.json, which the
    browser's ORT bridge reads to fetch the faster file (falling back to the original without it)."""
    L, R = ctx.layout, ctx.report
    keep.add(L.models / "variants.json")
    variants: dict[str, dict] = {}
    for model in present:
        variant = model.get("wasm_variant")
        if not variant:
            continue
        dest = L.models / variant["file"]
        keep.add(dest)
        key = ctx.rel(dest)
        pin = ctx.pins.get(key)
        current = not ctx.pins.record and pin and dest.is_file() and ctx.memo.sha256(dest) == pin["sha256"]
        if not current:
            python = face_converter_python(ctx)
            R.info(f"{model['id']}: deriving {dest.name} ({variant['recipe']})")
            out = tmp_path(dest)
            try:
                run(
                    [str(python), str(L.repo / "build" / "derive_model.py"), variant["recipe"],
                     str(L.models / model["file"]), str(out)],
                    f"deriving {dest.name}",
                    f"delete {out} and run python build.py again",
                )
                ctx.pins.check(key, sha256_file(out), out.stat().st_size, f"derived {dest.name}")
                os.replace(out, dest)
            finally:
                out.unlink(missing_ok=True)
            ctx.memo.forget(dest)
            R.wrote(key)
        variants[model["file"]] = {
            "file": variant["file"],
            "recipe": variant["recipe"],
            "sha256": ctx.memo.sha256(dest),
            "bytes": dest.stat().st_size,
        }
    return variants
