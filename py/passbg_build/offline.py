"""site/precache.json (every file the service worker stores, with its sha256) and site/sw.js: the
repository's sw.js with the build id, the isolation headers and the MIME types stamped in."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from . import headers
from .files import BIG_FILE, sha256_bytes, sha256_file, write_bytes_atomic
from .layout import Context
from .report import BuildError, MiB

# Fetched only when first used (models other than the default, the WebGPU build of onnxruntime-web):
# the service worker caches them then.  Everything else the site holds is stored at install.
FIRST_USE = re.compile(r"^static/models/.*\.onnx$|^static/vendor/ort/.*(jsep|webgpu)")
SW_BUILD_LINE = re.compile(r'^const BUILD = "[^"\n]*";$', re.M)
# The lines of sw.js that get http-headers.json's tables (the repository's copy holds `= {};`).
SW_TABLE_LINE = r"^const {name} = \{{[^\n]*\}};$"


def stamp_http_facts(template: str, facts: headers.HttpFacts) -> str:
    """sw.js with its ISOLATION and TYPES lines holding the tables of http-headers.json (the types by
    extension without its dot, as the worker looks them up)."""
    tables = {
        "ISOLATION": facts.isolation,
        "TYPES": {ending.removeprefix("."): mime for ending, mime in facts.types.items()},
    }
    for name, table in tables.items():
        line = f"const {name} = {json.dumps(table, separators=(', ', ': '))};"
        pattern = re.compile(SW_TABLE_LINE.format(name=name), re.M)
        template, found = pattern.subn(lambda _, line=line: line, template)
        if found != 1:
            raise BuildError(f"sw.js must hold exactly one line of the form: const {name} = {{}};")
    return template


def precache_entries(
    site: Path, paths: Iterable[str], default_file: str | None, sha256_of: Callable[[Path], str]
) -> list[dict]:
    """{path, sha256, bytes, when} for every site file the app may fetch; when is install or first-use."""
    entries = []
    for rel in sorted(set(paths)):
        path = site / rel
        lazy = FIRST_USE.search(rel) is not None and rel != f"static/models/{default_file}"
        entries.append(
            {
                "path": rel,
                "sha256": sha256_of(path),
                "bytes": path.stat().st_size,
                "when": "first-use" if lazy else "install",
            }
        )
    return entries


def offline_outputs(
    site: Path,
    paths: Iterable[str],
    template: str,
    default_model: str | None,
    default_file: str | None,
    sha256_of: Callable[[Path], str] = sha256_file,
) -> dict[str, bytes]:
    """The content of precache.json and sw.js (the template with the build id, the isolation headers
    and the MIME types) for the site's files.

    The build id is a hash of the precache list and the stamped service worker, so sw.js changes
    byte-wise exactly when some file of the app changes: that is how browsers notice a new build.
    """
    entries = precache_entries(site, paths, default_file, sha256_of)
    listing = json.dumps(entries, sort_keys=True, separators=(",", ":"))
    stamped = stamp_http_facts(template, headers.facts())
    build_id = sha256_bytes((listing + "\n" + stamped).encode())[:16]
    worker, found = SW_BUILD_LINE.subn(f'const BUILD = "{build_id}";', stamped)
    if found != 1:
        raise BuildError('sw.js must hold exactly one line of the form: const BUILD = "dev";')
    doc = {
        "about": "written by build.py: every file the service worker stores, with its sha256",
        "build": build_id,
        "default_model": default_model,
        "files": entries,
    }
    return {"precache.json": (json.dumps(doc, indent=1) + "\n").encode(), "sw.js": worker.encode()}


def step_offline(ctx: Context, site: Path, paths: Iterable[str]) -> tuple[set[Path], int]:
    """Write site/precache.json and site/sw.js; returns (their paths, how many were rewritten)."""
    template = ctx.layout.repo / "sw.js"
    if not template.is_file():
        return set(), 0
    default_file = next((m["file"] for m in ctx.models_present if m["id"] == ctx.default_model), None)

    def sha256_of(path: Path) -> str:
        return ctx.memo.sha256(path) if path.stat().st_size >= BIG_FILE else sha256_file(path)

    outputs = offline_outputs(
        site, paths, template.read_text(encoding="utf-8"), ctx.default_model, default_file, sha256_of
    )
    written = 0
    for name, data in outputs.items():
        dest = site / name
        if not dest.is_file() or dest.read_bytes() != data:
            write_bytes_atomic(dest, data)
            ctx.report.wrote(f"site/{name}")
            written += 1
    doc = json.loads(outputs["precache.json"])
    stored = sum(e["bytes"] for e in doc["files"] if e["when"] == "install")
    ctx.report.info(
        f"precache.json: build {doc['build']}, {len(doc['files'])} files, {stored / MiB:.1f} MB at install"
    )
    return {site / name for name in outputs}, written
