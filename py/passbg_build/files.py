"""Files: sha256 (with a memo so warm builds only stat files), the pins in build/pins.json, atomic
writes and copies, JSON reading with one-line errors, removal of outputs no longer built.

Atomic writes are passbg._shared.atomic, the project's one writer (standard library only, so the
build may import it before any venv exists; tests/_shared/test_atomic.py checks that)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

from passbg._shared import atomic

from .report import BuildError, Report

BIG_FILE = 256 * 1024  # files at least this big are hard-linked into site/ rather than copied


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
        atomic.write_text(self.path, json.dumps(live, indent=0, sort_keys=True))


def sha256_file(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


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
        atomic.write_text(self.path, json.dumps(doc, indent=2) + "\n")
        return len(files), changed


def tmp_path(dest: Path) -> Path:
    """A temporary name beside dest for a file another program writes (renamed into place after)."""
    return atomic.part_name(dest)


def write_bytes_atomic(dest: Path, data: bytes) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_bytes(dest, data)


def write_text_atomic(dest: Path, text: str) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(dest, text)


def copy_atomic(src: Path, dest: Path, link: bool = False) -> None:
    """Put src's content at dest (hard link when link and possible, else copy), replacing atomically."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if link:
        tmp = tmp_path(dest)
        try:
            os.link(src, tmp)  # a second name for a complete file: nothing can be half-written
        except OSError:
            pass
        else:
            os.replace(tmp, dest)
            return
    atomic.copy_file(src, dest)


def read_json(path: Path, what: str) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise BuildError(f"{what} not found at {path}") from None
    except ValueError as e:
        raise BuildError(f"{what} at {path} is not valid JSON ({e})") from None


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
