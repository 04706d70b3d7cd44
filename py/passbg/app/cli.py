"""Command line: `passbg IN -o OUT --background light-grey` (also `python -m passbg`).

IN is a photo or a folder of photos. Exit status: 0 all done, 2 bad input or arguments (in a batch: at
least one photo failed, the others were still written), 1 environment problem (missing model or
onnxruntime: nothing can be done until it is fixed), 3 an unexpected failure (a bug; still reported
in one line: never a traceback unless PASSBG_DEBUG=1), 130 interrupted. Notes about a result (more than
one person, a small person, the working size) go to stderr as `passbg: note: ...`.

Every file is written whole or not at all (passbg._shared.atomic), so a file under its final name is a
finished one: running a folder again skips the photos whose outputs all exist and redoes the others.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from passbg import __version__
from passbg._shared import atomic
from passbg.core.backgrounds import presets, resolve_background
from passbg.core.decode import DEFAULT_MAX_SIDE
from passbg.core.encode import encode_png
from passbg.core.models import Manifest, ModelSpec, default_models_dir, load_manifest
from passbg.core.pipeline import STAGES, Result, process
from passbg.errors import InputError, SetupError
from passbg.passport import sheets

EXIT_OK, EXIT_SETUP, EXIT_INPUT, EXIT_BUG, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def build_parser() -> argparse.ArgumentParser:
    names = ", ".join(presets())
    parser = argparse.ArgumentParser(
        prog="passbg",
        description="Replace the background of portrait photos with a plain colour, on this computer.",
        epilog="Each file is written to a hidden temporary file and renamed when complete, so an "
        "interrupted run (Ctrl-C, a kill, a full disk) leaves the previous file or none, never half a "
        "photo. Running the same folder again skips every photo whose output files all exist and redoes "
        "exactly the missing ones (--overwrite redoes all); a single photo is always redone.",
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
    parser.add_argument(
        "--whole-photo",
        action="store_true",
        help="segment the whole photo instead of the part around the person that the face detector finds "
        "(head and shoulders, or the preset's frame with room to adjust it); slower, and salient objects "
        "beside the person may be kept",
    )
    parser.add_argument("--quality", type=int, default=95, help="JPEG quality (default 95)")
    parser.add_argument("--list-models", action="store_true", help="list the available models and exit")
    parser.add_argument("--timings", action="store_true", help="print the time of each stage in ms")
    parser.add_argument(
        "--overwrite", action="store_true", help="in a folder run, redo photos whose outputs already exist"
    )
    _add_passport_arguments(parser)
    parser.add_argument("--version", action="version", version=f"passbg {__version__}")
    return parser


def main(argv: list[str] | None = None) -> int:
    # A polite kill (SIGTERM, a closed terminal's SIGHUP) ends like Ctrl-C, so the file being written
    # is removed instead of left behind as a hidden temporary file.
    previous = {sig: signal.getsignal(sig) for sig in _TERMINATION_SIGNALS}
    for sig in previous:
        signal.signal(sig, _raise_interrupt)
    try:
        return _main(argv)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


_TERMINATION_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        manifest = load_manifest(args.models_dir) if args.models_dir else load_manifest()
        if args.list_models:
            _list_models(manifest)
            return EXIT_OK
        if args.list_presets:
            _list_presets()
            return EXIT_OK
        if args.input is None:
            parser.error("give a photo or a folder (or --list-models, --list-presets)")
        if args.model is not None and args.model not in manifest.models:
            raise InputError(f"Unknown model '{args.model}'. Available models: {', '.join(manifest.ids())}.")
        spec = manifest.get(args.model)
        args.manifest = manifest
        _check_options(args)
        _prepare_passport(args, manifest)
        if args.input.is_dir():
            return _run_batch(args, spec)
        return _run_single(args, spec)
    except SetupError as err:
        _error(str(err))
        return EXIT_SETUP
    except InputError as err:
        _error(str(err))
        return EXIT_INPUT
    except MemoryError:
        _error("Not enough memory for this photo. Close other programs or use a smaller photo (--max-side).")
        return EXIT_INPUT
    except KeyboardInterrupt:
        _error("interrupted; no file was left half-written. Run the same command again to finish.")
        return EXIT_INTERRUPTED
    except Exception as err:  # noqa: BLE001 - a bug must still end in words, not a traceback
        if os.environ.get("PASSBG_DEBUG"):
            raise
        _error(
            f"Something unexpected went wrong ({type(err).__name__}: {err}). Your photo was not changed. "
            "Please report this with the photo's format and size; PASSBG_DEBUG=1 shows the details."
        )
        return EXIT_BUG


def _note(result: Result) -> None:
    """The result's remarks (more than one person, working size, ...) on stderr, one per line."""
    for note in result.notes:
        print(f"passbg: note: {note}", file=sys.stderr)


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
    from passbg.core.backend_ort import OrtBackend

    result = _process_file(src, OrtBackend(), spec, args)
    _write(result, out, fmt, args)
    print(f"{src} -> {out}")
    _note(result)
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
    from passbg.core.backend_ort import OrtBackend

    backend = OrtBackend()
    failed: list[str] = []
    done_before = 0
    for photo in photos:
        target = out_dir / f"{photo.stem}.{fmt}"
        if not args.overwrite and all(path.is_file() for path in _outputs(target, args)):
            done_before += 1  # a file under its final name is whole (atomic writes): nothing to redo
            print(f"{photo.name}: already done ({target} exists), skipped")
            continue
        try:
            result = _process_file(photo, backend, spec, args)
            _write(result, target, fmt, args)
        except InputError as err:
            failed.append(photo.name)
            print(f"skipped {photo.name}: {err}", file=sys.stderr)
            continue
        print(f"{photo.name} -> {target}")
        _note(result)
        if args.timings:
            _print_timings(result)
    ignored = len(files) - len(photos)
    earlier = f" ({done_before} by an earlier run; --overwrite redoes them)" if done_before else ""
    summary = f"{len(photos) - len(failed)} of {len(photos)} photos done{earlier}, {len(failed)} failed"
    if ignored:
        summary += f", {ignored} non-image files ignored"
    print(summary + ".")
    return EXIT_INPUT if failed else EXIT_OK


def _process_file(path: Path, backend: object, spec: ModelSpec, args: argparse.Namespace) -> Result:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise InputError(f"Cannot read {path}: {err.strerror or err}.") from None
    if args.whole_photo:
        return process(data, backend, spec, args.background, max_side=args.max_side)  # type: ignore[arg-type]
    return _process_region(data, backend, spec, args)


def _process_region(data: bytes, backend: Any, spec: ModelSpec, args: argparse.Namespace) -> Result:
    """Face detector first, then the region it gives (passbg.passport.region); the whole photo, with a
    note, when there is no sure face or no face detector."""
    from passbg.core import pipeline
    from passbg.passport.region import find_region

    timings: dict[str, float] = {}
    image = pipeline.decode(data, timings, max_side=args.max_side)
    with pipeline.Stopwatch(timings, "region"):
        try:
            det = args.manifest.helper("face-detector")
        except SetupError:
            det = None
        if det is None:
            region, note = None, "The face detector is not installed, so the whole photo was cut out."
        else:
            session = backend.session(det)

            def feed(t: np.ndarray) -> list[np.ndarray]:
                return session.run(None, {det.input.name: np.ascontiguousarray(t, np.float32)})

            choice = find_region(image.rgb, feed, getattr(args, "preset_obj", None))
            region, note = choice.region, choice.note
    if region is None:
        image = replace(image, notes=image.notes + (note,))
    prepared = pipeline.prepare_image(image, spec, region=region, timings=timings)
    start = time.perf_counter()
    raw = backend.run(spec, prepared.tensor)
    return pipeline.finish(prepared, raw, args.background, inference_ms=(time.perf_counter() - start) * 1000)


def _write(result: Result, out: Path, fmt: str, args: argparse.Namespace) -> None:
    if args.preset:
        _write_passport(result, out, args)
        return
    payload = result.png() if fmt == "png" else result.jpeg(quality=args.quality)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_bytes(out, payload)
        if args.cutout:
            atomic.write_bytes(_cutout_path(out), result.cutout_png())
    except OSError as err:
        raise InputError(f"Cannot write {out}: {err.strerror or err}.") from None


def _cutout_path(out: Path) -> Path:
    return out.with_name(f"{out.stem}-cutout.png")


def _digital_path(out: Path) -> Path:
    return out.with_name(f"{out.stem}-digital.jpg")


def _sheet_path(out: Path, sheet: str, ext: str) -> Path:
    return out.with_name(f"{out.stem}-sheet-{sheet}.{ext}")


def _outputs(out: Path, args: argparse.Namespace) -> list[Path]:
    """Every file a photo's run writes for the result path `out`, the result first."""
    if not args.preset:
        return [out, _cutout_path(out)] if args.cutout else [out]
    paths = [out]
    if args.digital:
        paths.append(_digital_path(out))
    for name in args.print_sheet or []:
        sid = sheets.sheet_id(name)
        paths += [_sheet_path(out, sid, "jpg"), *([_sheet_path(out, sid, "pdf")] if args.pdf else [])]
    return paths


def _print_timings(result: Result) -> None:
    parts = [f"{stage} {result.timings[stage]:.0f}" for stage in STAGES if stage in result.timings]
    total = sum(result.timings.values())
    print(f"  ms: {', '.join(parts)}; total {total:.0f} (model {result.model_id})")


# --- country presets: crop, digital file, print sheets (passbg.passport) ----------------------------------


def _add_passport_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group(
        "passport photo for a country preset",
        "With --preset the output is the photo cropped to the preset's print size at 300 dpi.",
    )
    g.add_argument("--preset", help="country/document preset id, e.g. us-passport (see --list-presets)")
    g.add_argument("--list-presets", action="store_true", help="list the country presets and exit")
    g.add_argument("--digital", action="store_true", help="also write NAME-digital.jpg at the preset's "
                   "pixel size, under its kB limit")
    g.add_argument("--print-sheet", action="append", metavar="|".join(sheets.sheet_choices()),
                   help="also write a print sheet NAME-sheet-SIZE.jpg, as many copies as fit (repeatable)")
    g.add_argument("--pdf", action="store_true", help="write the print sheets as PDF too")
    g.add_argument("--check-original", action="store_true",
                   help="crop and check the unaltered photo (no background replacement): for authorities "
                   "that forbid editing, does your real background already pass?")
    g.add_argument("--dx-mm", type=float, default=0.0, help="move the person right on the print (mm)")
    g.add_argument("--dy-mm", type=float, default=0.0, help="move the person down on the print (mm)")
    g.add_argument("--zoom", type=float, default=1.0, help="make the head bigger (>1) or smaller (<1)")
    c = parser.add_argument_group(
        "passport photo for your own document (instead of --preset)",
        "A driving licence, a badge or a visa of a country without a preset: give its sizes. The background "
        "is -b as usual. passbg does not know that authority's rule on replacing the background: check it.",
    )
    c.add_argument("--size", metavar="WxH", help="print size in mm, width x height, e.g. 25x30")
    c.add_argument("--head-mm", metavar="MIN-MAX", help="head height, chin to crown, in mm, e.g. 18-22")
    c.add_argument("--head-share", metavar="MIN-MAX", help="head height as a share of the photo height, "
                   "e.g. 0.6-0.7")
    c.add_argument("--eye-line-mm", metavar="MIN-MAX", help="eye line above the bottom edge in mm (optional)")
    c.add_argument("--pixels", metavar="WxH", help="pixel size of the digital file, e.g. 300x360 (optional)")
    c.add_argument("--max-kb", metavar="KB", help="largest digital file in kB, e.g. 100 (optional)")


def _prepare_passport(args: argparse.Namespace, manifest: Manifest) -> None:
    """Validate the preset options and attach the preset and a face finder to args; print the preset's
    warning before anything is written."""
    from passbg.passport import custom
    from passbg.passport import photo as passport
    from passbg.passport.presets import load_presets

    wants = args.digital or args.print_sheet or args.pdf or args.check_original
    own = ("head_mm", "head_share", "eye_line_mm", "pixels", "max_kb")
    described = [f"--{k.replace('_', '-')}" for k in own if getattr(args, k)]
    if args.size and args.preset:
        raise InputError("Give either --preset (a listed document) or --size (your own document), not both.")
    if described and not args.size:
        raise InputError(f"{', '.join(described)} describe your own document: also give its --size in mm, "
                         "e.g. --size 25x30.")
    if not args.preset and not args.size:
        if wants:
            raise InputError("--digital, --print-sheet, --pdf and --check-original need --preset or --size.")
        return
    catalogue = load_presets()
    if args.size:
        fields = custom.fields_from_cli(args.size, args.head_mm, args.head_share, args.eye_line_mm,
                                        args.pixels, args.max_kb, args.background)
        args.preset_obj = custom.custom_preset(fields, catalogue.defaults)
        args.preset = args.preset_obj.id  # from here on a custom document is handled as any preset
    else:
        args.preset_obj = catalogue.get(args.preset)
    args.preset_defaults = catalogue.defaults
    for name in args.print_sheet or []:
        sheets.sheet_id(name)
    if args.pdf and not args.print_sheet:
        *first, last = sheets.sheet_choices()
        raise InputError(
            f"--pdf writes the print sheets as PDF: also give --print-sheet {', '.join(first)} or {last}."
        )
    if args.zoom <= 0:
        raise InputError("--zoom must be a positive number.")
    if args.digital and args.preset_obj.digital is None:
        raise InputError(f"{args.preset_obj.name} has no digital upload; use --print-sheet instead.")
    message = passport.warning(args.preset_obj)
    if message or not args.preset_obj.has_layout or args.preset_obj.id == custom.CUSTOM_ID:
        print(f"passbg: warning for {args.preset_obj.name}: {args.preset_obj.user_message}", file=sys.stderr)
        if message and not args.check_original:
            print("passbg: --check-original crops and checks your unaltered photo instead.", file=sys.stderr)
    if not args.preset_obj.has_layout:
        raise InputError(f"{args.preset_obj.name} has no photo layout to crop to.")
    args.find_face = passport.ort_face_finder(manifest)


def _write_passport(result: Result, out: Path, args: argparse.Namespace) -> None:
    from passbg.passport import crop
    from passbg.passport import photo as passport

    rgb = result.image.rgb
    landmarks = args.find_face(rgb)
    if args.check_original:
        source, fill, mode = rgb, passport.original_background_colour(rgb, result.alpha), "original"
    else:
        source, fill, mode = result.composite, result.background.rgb, "replaced"
    job = passport.Passport(
        args.preset_obj, args.preset_defaults, source, result.alpha, landmarks, fill, mode,
        crop.Adjustment(args.zoom, args.dx_mm, args.dy_mm),
    )
    if out.suffix.lower() == ".png":
        first = encode_png(job.print_photo, dpi=sheets.DPI)
    else:
        first = sheets.encode_sheet_jpeg(job.print_photo)
    files: dict[Path, bytes] = {out: first}
    notes = []
    if args.digital:
        dig = job.digital_file()
        files[_digital_path(out)] = dig.data
        w, h = dig.size_px
        notes.append(f"digital file {w}x{h} px, JPEG quality {dig.quality}: {dig.message}")
    for name in args.print_sheet or []:
        sid = sheets.sheet_id(name)
        lay, sheet = job.sheet(name)
        files[_sheet_path(out, sid, "jpg")] = sheets.encode_sheet_jpeg(sheet)
        if args.pdf:
            files[_sheet_path(out, sid, "pdf")] = sheets.encode_sheet_pdf(sheet, lay)
        notes.append(f"sheet {sid}: {lay.copies} copies, {lay.sheet_px[0]}x{lay.sheet_px[1]} px at 300 dpi")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        for path, data in files.items():
            atomic.write_bytes(path, data)
    except OSError as err:
        raise InputError(f"Cannot write {out}: {err.strerror or err}.") from None
    label = "your unaltered photo" if mode == "original" else "the new background"
    print(f"  {args.preset_obj.name}, {label}: score {job.report.score}/100")
    for c in job.checks:
        print(f"    [{'ok' if c.passed else '!!'}] {c.reason}")
    for note in notes:
        print(f"  {note}")
    for path in list(files)[1:]:
        print(f"  wrote {path}")


def _list_presets() -> None:
    from passbg.passport.presets import load_presets

    for p in load_presets().presets:
        size = f"{p.width_mm:g}x{p.height_mm:g} mm" if p.has_layout else "no photo layout"
        flag = {"no": "replacing the background NOT allowed", "no-self-made": "NO self-made photos"}
        rule = flag.get(p.replacement_allowed, "replacing: " + p.replacement_allowed)
        print(f"{p.id:14} {p.name}; {size}; {rule}")
