"""Command line: `passbg IN -o OUT --background light-grey` (also `python -m passbg`).

IN is a photo or a folder of photos. Exit status: 0 all done, 2 bad input or arguments (in a batch: at
least one photo failed, the others were still written), 1 environment problem (missing model or
onnxruntime: nothing can be done until it is fixed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image

from passbg import __version__
from passbg.backgrounds import presets, resolve_background
from passbg.decode import DEFAULT_MAX_SIDE
from passbg.errors import InputError, SetupError
from passbg.models import Manifest, ModelSpec, default_models_dir, load_manifest
from passbg.pipeline import STAGES, Result, process

EXIT_OK, EXIT_SETUP, EXIT_INPUT = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    names = ", ".join(presets())
    parser = argparse.ArgumentParser(
        prog="passbg",
        description="Replace the background of portrait photos with a plain colour, on this computer.",
    )
    parser.add_argument("input", nargs="?", type=Path, help="a photo, or a folder of photos")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        help="output file (single photo) or folder (batch). Default: NAME-passbg.jpg beside the photo, "
        "or the folder IN-passbg for a batch",
    )
    parser.add_argument("-b", "--background", default="white", help=f"{names}, or a colour like #D9D9D9")
    parser.add_argument("-m", "--model", help="model id (see --list-models; default: the manifest's default)")
    parser.add_argument(
        "--models-dir", type=Path, help=f"folder with manifest.json (default: {default_models_dir()})"
    )
    parser.add_argument(
        "--format", choices=("jpg", "png"), help="composite file format (default: from -o, else jpg)"
    )
    parser.add_argument(
        "--cutout", action="store_true", help="also write NAME-cutout.png with a transparent background"
    )
    parser.add_argument(
        "--max-side", type=int, default=DEFAULT_MAX_SIDE, help="longest side to work at, in pixels"
    )
    parser.add_argument("--quality", type=int, default=95, help="JPEG quality (default 95)")
    parser.add_argument("--list-models", action="store_true", help="list the available models and exit")
    parser.add_argument("--timings", action="store_true", help="print the time of each stage in ms")
    parser.add_argument("--version", action="version", version=f"passbg {__version__}")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        manifest = load_manifest(args.models_dir) if args.models_dir else load_manifest()
        if args.list_models:
            _list_models(manifest)
            return EXIT_OK
        if args.input is None:
            parser.error("give a photo or a folder (or --list-models)")
        if args.model is not None and args.model not in manifest.models:
            raise InputError(f"Unknown model '{args.model}'. Available models: {', '.join(manifest.ids())}.")
        spec = manifest.get(args.model)
        _check_options(args)
        if args.input.is_dir():
            return _run_batch(args, spec)
        return _run_single(args, spec)
    except SetupError as err:
        _error(str(err))
        return EXIT_SETUP
    except InputError as err:
        _error(str(err))
        return EXIT_INPUT


def _error(message: str) -> None:
    print(f"passbg: error: {message}", file=sys.stderr)


def _check_options(args: argparse.Namespace) -> None:
    resolve_background(args.background)
    if not 16 <= args.max_side <= 10000:
        raise InputError(f"--max-side must be between 16 and 10000, got {args.max_side}.")
    if not 1 <= args.quality <= 100:
        raise InputError(f"--quality must be between 1 and 100, got {args.quality}.")
    if not args.input.exists():
        raise InputError(f"{args.input} does not exist.")


def _list_models(manifest: Manifest) -> None:
    for spec in manifest.models.values():
        mark = " (default)" if spec.id == manifest.default else ""
        licence = spec.licence.get("name", "licence unknown")
        width, height = spec.input.size
        print(
            f"{spec.id:16} {spec.title}{mark}; input {width}x{height}, {spec.bytes / 1e6:.1f} MB, {licence}"
        )


def _image_suffixes() -> set[str]:
    Image.init()
    return {ext.lower() for ext in Image.registered_extensions()}


def _output_format(args: argparse.Namespace, out: Path | None) -> str:
    if args.format:
        return args.format
    if out is not None and out.suffix.lower() == ".png":
        return "png"
    return "jpg"


def _run_single(args: argparse.Namespace, spec: ModelSpec) -> int:
    src: Path = args.input
    out: Path | None = args.output
    if out is not None and out.is_dir():
        out = out / f"{src.stem}.{_output_format(args, None)}"
    fmt = _output_format(args, out)
    if out is None:
        out = src.with_name(f"{src.stem}-passbg.{fmt}")
    if out.resolve() == src.resolve():
        raise InputError(f"The output {out} would overwrite the input photo. Choose another name.")
    from passbg.backend_ort import OrtBackend

    result = _process_file(src, OrtBackend(), spec, args)
    _write(result, out, fmt, args)
    print(f"{src} -> {out}")
    if args.timings:
        _print_timings(result)
    return EXIT_OK


def _run_batch(args: argparse.Namespace, spec: ModelSpec) -> int:
    src: Path = args.input
    out_dir: Path = args.output or src.with_name(f"{src.name}-passbg")
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir} is a file; for a folder of photos, -o must name a folder.")
    if out_dir.resolve() == src.resolve():
        raise InputError("The output folder is the input folder; choose another so no photo is overwritten.")
    suffixes = _image_suffixes()
    files = sorted(p for p in src.iterdir() if p.is_file() and not p.name.startswith("."))
    photos = [p for p in files if p.suffix.lower() in suffixes]
    if not photos:
        raise InputError(f"No photos found in {src} (looked for files ending in .jpg, .png, .webp, ...).")
    out_dir.mkdir(parents=True, exist_ok=True)
    fmt = _output_format(args, None)
    from passbg.backend_ort import OrtBackend

    backend = OrtBackend()
    failed: list[str] = []
    for photo in photos:
        target = out_dir / f"{photo.stem}.{fmt}"
        try:
            result = _process_file(photo, backend, spec, args)
            _write(result, target, fmt, args)
        except InputError as err:
            failed.append(photo.name)
            print(f"skipped {photo.name}: {err}", file=sys.stderr)
            continue
        print(f"{photo.name} -> {target}")
        if args.timings:
            _print_timings(result)
    ignored = len(files) - len(photos)
    summary = f"{len(photos) - len(failed)} of {len(photos)} photos done, {len(failed)} failed"
    if ignored:
        summary += f", {ignored} non-image files ignored"
    print(summary + ".")
    return EXIT_INPUT if failed else EXIT_OK


def _process_file(path: Path, backend: object, spec: ModelSpec, args: argparse.Namespace) -> Result:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise InputError(f"Cannot read {path}: {err.strerror or err}.") from None
    return process(data, backend, spec, args.background, max_side=args.max_side)  # type: ignore[arg-type]


def _write(result: Result, out: Path, fmt: str, args: argparse.Namespace) -> None:
    payload = result.png() if fmt == "png" else result.jpeg(quality=args.quality)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(payload)
        if args.cutout:
            out.with_name(f"{out.stem}-cutout.png").write_bytes(result.cutout_png())
    except OSError as err:
        raise InputError(f"Cannot write {out}: {err.strerror or err}.") from None


def _print_timings(result: Result) -> None:
    parts = [f"{stage} {result.timings[stage]:.0f}" for stage in STAGES if stage in result.timings]
    total = sum(result.timings.values())
    print(f"  ms: {', '.join(parts)}; total {total:.0f} (model {result.model_id})")
