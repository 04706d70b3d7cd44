"""`python -m passbg_dev.calibrate`: the activation ranges an 8-bit model is quantized with (issue 15).

    python -m passbg_dev.calibrate --model isnet-fp16 --out build/isnet-int8-calibration.json
    python build/derive_model.py int8 static/models/isnet-fp16.onnx /tmp/isnet-int8.onnx \
        build/isnet-int8-calibration.json
    python -m passbg_dev.calibrate --model isnet-fp16 --compare /tmp/isnet-int8.onnx

Runs the model (widened to fp32 first when its file is fp16: build/derive_model.py widen) on the shared
portraits, preprocessed exactly as the pipeline does (passbg.core.preprocess.to_tensor), at each
--long-side (any-size models; the region path feeds 768-1024, passbg/data/region.json) and records each
tensor's range with onnxruntime.quantization's calibrators: Percentile (default; the 99.99th percentile
of |x|, which ignores the rare extreme activations that stretch a MinMax range over too few uint8 steps)
or MinMax. One photo per collection round, so memory stays at one run's tensors (IS-Net at 1024: ~3 GB;
holding all photos' tensors at once, as one round would, runs a 24 GB machine out of memory by photo 12).
The table is what the build's `int8` recipe reads, so a user's build needs no photos and its output
can be pinned by sha256.

A developer tool: it needs the portraits (../shared/data/portraits) and onnxruntime with its
quantization package (the native extra).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from passbg.core import decode, preprocess, region
from passbg.core.models import ModelSpec, default_models_dir, load_manifest

REPO = Path(__file__).resolve().parents[2]
PORTRAITS = REPO.parent / "shared" / "data" / "portraits" / "images"


def derive_module():
    """build/derive_model.py as a module (it is a build script, not part of a package)."""
    spec = importlib.util.spec_from_file_location("derive_model", REPO / "build" / "derive_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fp32_model(spec: ModelSpec, work: Path) -> Path:
    """The model's file when it is fp32 already, else a widened copy in `work`."""
    import onnx

    derive = derive_module()
    model = onnx.load(str(spec.path))
    if not derive.has_fp16_weights(model):
        return spec.path
    derive.widen(model)
    out = work / f"{spec.id}-fp32.onnx"
    onnx.save(model, str(out))
    return out


def tensors(spec: ModelSpec, photos: list[Path], long_sides: list[int]) -> Iterator[np.ndarray]:
    """float32 (1, 3, h, w) model inputs, one per photo and long side."""
    for path in photos:
        rgb = decode.decode_image(path.read_bytes()).rgb
        for side in long_sides:
            whole = (0, 0, rgb.shape[1], rgb.shape[0])
            yield preprocess.to_tensor(rgb, spec, region.input_size(whole, spec, long_side=side))


METHODS = ("percentile", "minmax")


def calibrate(model_path: Path, input_name: str, inputs: Iterator[np.ndarray], out: Path,
              method: str = "percentile", percentile: float = 99.99) -> int:
    """Record the ranges of every tensor of the fp32 model over `inputs` into the JSON table `out`
    (written whole or not at all), by `method` (METHODS). Returns how many tensors have a range."""
    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, create_calibrator
    from onnxruntime.quantization.calibrate import save_tensors_data

    class One(CalibrationDataReader):
        """Hands the calibrator a single input per round."""

        def __init__(self, tensor: np.ndarray) -> None:
            self.tensor: np.ndarray | None = tensor

        def get_next(self) -> dict | None:
            tensor, self.tensor = self.tensor, None
            return None if tensor is None else {input_name: tensor}

    kind = {"percentile": CalibrationMethod.Percentile, "minmax": CalibrationMethod.MinMax}[method]
    with tempfile.TemporaryDirectory(prefix="passbg-calibrate-") as tmp:
        calibrator = create_calibrator(
            model_path, augmented_model_path=str(Path(tmp) / "augmented.onnx"), calibrate_method=kind,
            extra_options={"percentile": percentile},
        )
        for tensor in inputs:
            calibrator.collect_data(One(tensor))
        ranges = calibrator.compute_data()
    save_tensors_data(ranges, out)  # onnxruntime writes a temporary file and renames it
    return len(ranges.data)


def compare(spec: ModelSpec, other: Path, photos: list[Path], long_sides: list[int]) -> list[str]:
    """Lines comparing `other` (say the 8-bit file) with the model's own file on `photos`: |delta alpha|
    mean and p99 in 1/255 per long side, and native onnxruntime's median time for each (2 threads)."""
    import time

    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    sessions = [ort.InferenceSession(str(p), options, providers=["CPUExecutionProvider"])
                for p in (spec.path, other)]
    lines = []
    for side in long_sides:
        diffs, times = [], ([], [])
        for tensor in tensors(spec, photos, [side]):
            masks = []
            for session, t in zip(sessions, times, strict=True):
                start = time.perf_counter()
                out = session.run(None, {spec.input.name: tensor})[0]
                t.append(time.perf_counter() - start)
                masks.append(np.clip(out.squeeze(), 0, 1) * 255.0)
            diffs.append(np.abs(masks[0] - masks[1]))
        mean = float(np.mean([d.mean() for d in diffs]))
        p99 = float(np.mean([np.percentile(d, 99) for d in diffs]))
        worst = max(np.percentile(d, 99) for d in diffs)
        ms = [1000 * float(np.median(t)) for t in times]
        lines.append(f"long side {side}: |delta alpha| mean {mean:.3f}/255, p99 {p99:.2f}/255 "
                     f"(worst photo's p99 {worst:.2f}); native ms {ms[0]:.0f} -> {ms[1]:.0f}")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m passbg_dev.calibrate", description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="isnet-fp16", help="model id in the built manifest")
    ap.add_argument("--out", type=Path, help="the calibration table (JSON) to write")
    ap.add_argument("--compare", type=Path, metavar="ONNX",
                    help="instead: this file's masks against the model's on the portraits not calibrated on")
    ap.add_argument("--photos", type=int, default=0, help="how many portraits (0: all), evenly spaced")
    ap.add_argument("--long-side", default="768,1024", help="input long sides for any-size models")
    ap.add_argument("--portraits", type=Path, default=PORTRAITS)
    ap.add_argument("--method", choices=METHODS, default="percentile")
    ap.add_argument("--percentile", type=float, default=99.99, help="for --method percentile")
    args = ap.parse_args(argv)
    photos = sorted(args.portraits.glob("*.jpg"))
    if not photos:
        print(f"calibrate: no portraits in {args.portraits}", file=sys.stderr)
        return 2
    chosen = photos[:: max(1, len(photos) // args.photos)][: args.photos] if args.photos else photos
    spec = load_manifest(default_models_dir()).get(args.model)
    sides = [int(s) for s in args.long_side.split(",")]
    if args.compare:
        held_out = [p for p in photos if p not in chosen] or photos
        print(f"{args.compare.name} against {spec.file} on {len(held_out)} portraits not calibrated on:")
        print("\n".join(compare(spec, args.compare, held_out, sides)))
        return 0
    if args.out is None:
        ap.error("give --out (calibrate) or --compare (measure)")
    photos = chosen
    with tempfile.TemporaryDirectory(prefix="passbg-widen-") as work:
        model = fp32_model(spec, Path(work))
        n = calibrate(model, spec.input.name, tensors(spec, photos, sides), args.out,
                      args.method, args.percentile)
    print(f"calibrate: {n} tensor ranges ({args.method}) from {len(photos)} portraits at {sides} "
          f"-> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
