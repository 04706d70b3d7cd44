"""Step 5: the static site in site/: the page, static/app, static/icons, the built vendor and model
files (big ones hard-linked), py/passbg.zip (the Python package, nothing else), build-info.json, and
through offline.py precache.json and sw.js."""

from __future__ import annotations

import datetime as _dt
import io
import json
import os
import subprocess
import zipfile
from pathlib import Path

from .files import BIG_FILE, copy_atomic, remove_stale, write_bytes_atomic
from .layout import Context
from .offline import step_offline
from .pyodide import pyodide_lock
from .report import MiB


def package_zip(pkg: Path) -> bytes:
    """A deterministic zip of py/passbg (*.py anywhere, data/*.json) as passbg/... paths."""
    files = sorted(p for p in pkg.rglob("*.py") if "__pycache__" not in p.parts)
    files += sorted((pkg / "data").glob("*.json"))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for path in files:
            info = zipfile.ZipInfo("passbg/" + path.relative_to(pkg).as_posix(), (1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, path.read_bytes())
    return buf.getvalue()


def site_sources(ctx: Context) -> dict[str, Path]:
    """site-relative path -> source file, for every file copied or linked into site/."""
    L = ctx.layout
    wanted: dict[str, Path] = {}
    # sw.js is not copied: offline.step_offline writes it with the build id and the header tables.
    for name in ("index.html", "pyscript.toml", "manifest.webmanifest"):
        if (L.repo / name).is_file():
            wanted[name] = L.repo / name
    for base, root in (
        ("static/app", L.repo / "static" / "app"),
        ("static/icons", L.repo / "static" / "icons"),
        ("static/vendor", L.vendor),
        ("static/models", L.models),
    ):
        if not root.is_dir():
            continue
        for path in root.rglob("*"):
            # Dot files and folders stay out (models/.fetched holds a model as fetched, before derive).
            hidden = any(part.startswith(".") for part in path.relative_to(root).parts)
            if path.is_file() and not hidden and path.name != "README.md":
                if base == "static/icons" and path.suffix == ".py":
                    continue  # the script that draws the icons is not part of the site
                wanted[f"{base}/{path.relative_to(root).as_posix()}"] = path
    return wanted


def git_commit(repo: Path) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True)
    except OSError:
        return None
    return out.stdout.strip() or None


def same_content(ctx: Context, src: Path, dest: Path) -> bool:
    if not dest.is_file():
        return False
    if os.path.samefile(src, dest):
        return True
    if src.stat().st_size != dest.stat().st_size:
        return False
    if src.stat().st_size < BIG_FILE:
        return src.read_bytes() == dest.read_bytes()
    return ctx.memo.sha256(src) == ctx.memo.sha256(dest)


def step_site(ctx: Context) -> None:
    L, R = ctx.layout, ctx.report
    R.step("Static site into site/")
    for name in ("index.html", "pyscript.toml"):
        if not (L.repo / name).is_file():
            R.info(f"warning: {name} does not exist yet; the site has no working page without it")
    site = L.site
    site.mkdir(parents=True, exist_ok=True)
    sources = site_sources(ctx)
    written = 0
    for rel, src in sorted(sources.items()):
        dest = site / rel
        if same_content(ctx, src, dest):
            continue
        copy_atomic(src, dest, link=src.stat().st_size >= BIG_FILE)
        ctx.memo.forget(dest)
        R.wrote(f"site/{rel}")
        written += 1
    generated: dict[str, bytes] = {"py/passbg.zip": package_zip(L.repo / "py" / "passbg")}
    info = {
        "git_commit": git_commit(L.repo),
        "models": [m["id"] for m in ctx.models_present],
        "default_model": ctx.default_model,
        "pyodide": pyodide_lock(ctx).get("info", {}).get("version"),
    }
    info_path = site / "build-info.json"
    try:
        old = json.loads(info_path.read_text())
        old.pop("built_at", None)
    except (OSError, ValueError):
        old = None
    for rel, data in generated.items():
        dest = site / rel
        if not dest.is_file() or dest.read_bytes() != data:
            write_bytes_atomic(dest, data)
            R.wrote(f"site/{rel}")
            written += 1
    # build-info.json changes only when something it records changes, so a rebuild of an
    # unchanged tree rewrites nothing.
    if old != info:
        stamped = {"built_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"), **info}
        write_bytes_atomic(info_path, (json.dumps(stamped, indent=2) + "\n").encode())
        R.wrote("site/build-info.json")
        written += 1
    offline_files, offline_written = step_offline(ctx, site, [*sources, *generated])
    written += offline_written
    keep = {site / rel for rel in sources} | {site / rel for rel in generated} | {info_path}
    keep |= offline_files
    remove_stale(site, keep, R, "site")
    size = sum((site / rel).stat().st_size for rel in sources) / MiB
    names = [c.removeprefix("site/") for c in R.changed if c.startswith("site/")]
    shown = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
    state = f"wrote {written} ({shown})" if written else "up to date"
    R.info(f"{len(keep)} files, {size:.1f} MB: {state}")
