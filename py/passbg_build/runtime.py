"""Step 3: the runtime files into static/vendor/ (pyodide, pyscript, onnxruntime-web, libheif-js), each
checked against build/pins.json."""

from __future__ import annotations

import re
from pathlib import Path

from .files import copy_atomic, remove_stale
from .layout import Context
from .report import BuildError, MiB

# The Pyodide runtime files (node_modules/pyodide/...); its wheels come from step 2.
PYODIDE_FILES = [
    "pyodide.mjs",
    "pyodide.asm.js",
    "pyodide.asm.wasm",
    "python_stdlib.zip",
    "pyodide-lock.json",
]
PYSCRIPT_ENTRIES = ["core.js", "core.css"]
ORT_FILES = [
    "ort.wasm.min.mjs",
    "ort-wasm-simd-threaded.mjs",
    "ort-wasm-simd-threaded.wasm",
    # WebGPU (JSEP) build, for later
    "ort.webgpu.min.mjs",
    "ort-wasm-simd-threaded.jsep.mjs",
    "ort-wasm-simd-threaded.jsep.wasm",
]
# libheif-js (LGPL-3.0: libheif and its HEVC decoder libde265), for HEIC photos the browser cannot decode
# (Chromium): the ES-module build with its wasm inside, imported by static/app/image-decode.mjs only when
# such a photo arrives, and the licence texts it must travel with. 1.19.8 carries libheif 1.19, the
# version pillow-heif 0.22.0 decodes with in CPython, so page and CLI decode a HEIC alike.
LIBHEIF_FILES = {
    "libheif-wasm/libheif-bundle.mjs": "libheif-bundle.mjs",
    "libheif-wasm/LICENSE": "LICENSE.md",
}
JS_IMPORT = re.compile(r"""["'`]\./([A-Za-z0-9_.-]+\.(?:m?js|css))["'`]""")


def pyscript_files(dist: Path) -> list[str]:
    """core.js, core.css and every chunk they import, statically or dynamically, followed recursively."""
    todo, seen = list(PYSCRIPT_ENTRIES), set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = dist / name
        if not path.is_file():
            raise BuildError(f"@pyscript/core is missing {name}; run npm ci (delete node_modules first)")
        seen.add(name)
        todo.extend(JS_IMPORT.findall(path.read_text(encoding="utf-8", errors="replace")))
    return sorted(seen)


def runtime_sources(ctx: Context, wheels: dict[str, Path]) -> list[tuple[Path, Path]]:
    """(source, destination) for every runtime file of the site."""
    nm, vendor = ctx.layout.node_modules, ctx.layout.vendor
    pairs = [(nm / "pyodide" / f, vendor / "pyodide" / f) for f in PYODIDE_FILES]
    pairs += [(p, vendor / "pyodide" / p.name) for p in wheels.values()]
    dist = nm / "@pyscript" / "core" / "dist"
    pairs += [(dist / f, vendor / "pyscript" / f) for f in pyscript_files(dist)]
    pairs += [(nm / "onnxruntime-web" / "dist" / f, vendor / "ort" / f) for f in ORT_FILES]
    pairs += [(nm / "libheif-js" / f, vendor / "libheif" / name) for f, name in LIBHEIF_FILES.items()]
    return pairs


def step_runtime(ctx: Context, wheels: dict[str, Path]) -> None:
    """Copy every runtime file (pinned) into static/vendor/ and remove what is no longer part of it."""
    R = ctx.report
    R.step("Runtime files into static/vendor/ (pyodide, pyscript, ort, libheif)")
    pairs = runtime_sources(ctx, wheels)
    copied = 0
    for src, dest in pairs:
        if not src.is_file():
            raise BuildError(f"{src} is missing; run npm ci (delete node_modules first) and build again")
        key = ctx.rel(dest)
        sha = ctx.memo.sha256(src)
        ctx.pins.check(key, sha, src.stat().st_size, f"source file {src}")
        if dest.is_file() and ctx.memo.sha256(dest) == sha:
            continue
        copy_atomic(src, dest)
        ctx.memo.forget(dest)
        copied += 1
        R.wrote(key)
    if not ctx.pins.record:
        remove_stale(ctx.layout.vendor, {d for _, d in pairs}, R, "static/vendor")
    total = sum(s.stat().st_size for s, _ in pairs)
    state = f"copied {copied}" if copied else "up to date"
    R.info(f"{len(pairs)} files, {total / MiB:.1f} MB, all match build/pins.json: {state}")
