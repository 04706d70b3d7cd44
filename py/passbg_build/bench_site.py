"""Step 6: site-bench/, the page the benchmark (py/passbg_dev/bench.py) uses to time the peer library
(@imgly/background-removal) on the same model files; never part of the app."""

from __future__ import annotations

from pathlib import Path

from .files import BIG_FILE, copy_atomic, read_json, remove_stale, sha256_bytes, write_bytes_atomic
from .layout import Context
from .report import BuildError
from .site import same_content

PEER_PACKAGE = "@imgly/background-removal"
PEER_DATA_PACKAGE = "@imgly/background-removal-data"
# site-bench/vendor/<name> <- node_modules/<path>.  "cjs" files are CommonJS and get an ES-module wrapper:
# (exports the wrapper re-exports by name, the packages its require() calls need).
PEER_MODULES: list[tuple[str, str, str, list[str], dict[str, str]]] = [
    ("background-removal.mjs", "@imgly/background-removal/dist/index.mjs", "esm", [], {}),
    (
        "onnxruntime-web.mjs",
        "@imgly/background-removal/node_modules/onnxruntime-web/dist/esm/ort.min.js",
        "esm",
        [],
        {},
    ),
    ("zod.mjs", "zod/lib/index.mjs", "esm", [], {}),
    ("lodash.mjs", "lodash/lodash.js", "cjs", ["memoize"], {}),
    ("iota-array.mjs", "iota-array/iota.js", "cjs", [], {}),
    ("is-buffer.mjs", "is-buffer/index.js", "cjs", [], {}),
    (
        "ndarray.mjs",
        "ndarray/ndarray.js",
        "cjs",
        [],
        {"iota-array": "./iota-array.mjs", "is-buffer": "./is-buffer.mjs"},
    ),
]


def cjs_as_esm(source: str, named: list[str], requires: dict[str, str]) -> str:
    """An ES module that runs a CommonJS file with its own module/exports/require and re-exports them."""
    lines = [f'import dep{i} from "{url}";' for i, url in enumerate(requires.values())]
    table = ", ".join(f'"{name}": dep{i}' for i, name in enumerate(requires))
    lines += [
        "const module = { exports: {} };",
        f"const deps = {{{table}}};",
        "(function (module, exports, require) {",
        source,
        "}).call(globalThis, module, module.exports, (name) => deps[name]);",
        "export default module.exports;",
    ]
    lines += [f"export const {name} = module.exports.{name};" for name in named]
    return "\n".join(lines) + "\n"


def step_bench(ctx: Context) -> None:
    """site-bench/: the page the benchmark uses to time the peer library on the same model files."""
    L, R = ctx.layout, ctx.report
    R.step("Benchmark peer page into site-bench/")
    nm = L.node_modules
    if not (nm / PEER_PACKAGE / "package.json").is_file():
        R.info(f"{PEER_PACKAGE} is not in {nm}: peer benchmark page skipped")
        return
    out = L.out / "site-bench"
    want: dict[Path, bytes | Path] = {
        out / "index.html": L.repo / "bench" / "index.html",
        out / "peer.mjs": L.repo / "bench" / "peer.mjs",
    }
    for name, rel, kind, named, requires in PEER_MODULES:
        src = nm / rel
        if not src.is_file():
            raise BuildError(f"{src} is missing; run npm ci and build again")
        if kind == "esm":
            want[out / "vendor" / name] = src
        else:
            want[out / "vendor" / name] = cjs_as_esm(src.read_text(), named, requires).encode()
    # The model and wasm files exactly as the peer's own CDN would serve them: its dist/ folder.
    dist = nm / PEER_DATA_PACKAGE / "dist"
    resources = dist / "resources.json"
    want[out / "data" / "resources.json"] = resources
    for entry in read_json(resources, f"{PEER_DATA_PACKAGE} resources.json").values():
        for chunk in entry["chunks"]:
            want[out / "data" / chunk["hash"]] = dist / chunk["hash"]
    written = 0
    for dest, src in sorted(want.items()):
        key = ctx.rel(dest)
        if isinstance(src, bytes):
            sha, size = sha256_bytes(src), len(src)
        else:
            sha, size = ctx.memo.sha256(src), src.stat().st_size
        if dest.parent.name == "data" and dest.name != "resources.json":
            if sha != dest.name:  # chunks are named by their sha256
                raise BuildError(f"{src} is corrupted (its sha256 is not its name); run npm ci")
        elif dest.parent != out:  # the page itself is ours, in git; what comes from npm is pinned
            ctx.pins.check(key, sha, size, str(src) if isinstance(src, Path) else f"wrapped {key}")
        if ctx.pins.record:
            continue
        if isinstance(src, bytes):
            if dest.is_file() and dest.read_bytes() == src:
                continue
            write_bytes_atomic(dest, src)
        else:
            if same_content(ctx, src, dest):
                continue
            copy_atomic(src, dest, link=size >= BIG_FILE)
            ctx.memo.forget(dest)
        written += 1
    if not ctx.pins.record:
        remove_stale(out, set(want), R, "site-bench")
        state = f"wrote {written}" if written else "up to date"
        R.info(f"{len(want)} files: {state}")
