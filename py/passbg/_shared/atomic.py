"""Files written whole or not at all: the one atomic writer of the project (CLI outputs, build outputs,
developer-tool reports).

The bytes go to a hidden temporary file in the destination's folder (same file system, so the rename
is atomic), are flushed to the disk (fsync), and only then renamed over the destination. An
interrupted run (Ctrl-C, a kill, a full disk, a power cut) therefore leaves the previous file or no
file under the final name, never a partial one. On an exception (KeyboardInterrupt included) the
temporary file is removed; after a hard kill (SIGKILL) a hidden `.NAME.*.part` file may stay behind.

Standard library only: passbg_build imports this module before any venv exists (tests check it).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

PART_SUFFIX = ".part"


def part_name(dest: Path) -> Path:
    """A fresh hidden temporary name beside dest (random, so concurrent writers never share one)."""
    return dest.with_name(f".{dest.name}.{secrets.token_hex(4)}{PART_SUFFIX}")


@contextlib.contextmanager
def replacing(dest: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """`with replacing(path) as f: f.write(...)`: path holds exactly what was written once the block
    ends without an exception; until then, and if it raises, path is untouched."""
    dest = Path(dest)
    tmp, fd = _create_part(dest)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _sync_folder(dest.parent)


def write_bytes(dest: str | os.PathLike[str], data: bytes | bytearray | memoryview) -> None:
    """Path.write_bytes, atomically (see the module docstring)."""
    with replacing(dest) as f:
        f.write(data)


def write_text(dest: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> None:
    """Path.write_text, atomically, always with an explicit encoding (UTF-8 unless told)."""
    write_bytes(dest, text.encode(encoding))


def copy_file(src: str | os.PathLike[str], dest: str | os.PathLike[str]) -> None:
    """shutil.copyfile, atomically."""
    with open(src, "rb") as source, replacing(dest) as f:
        shutil.copyfileobj(source, f, 1 << 20)


def _create_part(dest: Path) -> tuple[Path, int]:
    """Create the temporary file exclusively. Mode 0o666 lets the umask decide, as for any new file
    (tempfile.mkstemp would make every output 0600); an existing destination keeps its permissions."""
    try:
        mode = stat.S_IMODE(os.stat(dest).st_mode)
    except OSError:
        mode = None
    while True:
        tmp = part_name(dest)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        except FileExistsError:
            continue
        break
    if mode is not None:
        with contextlib.suppress(OSError):
            os.chmod(tmp, mode)
    return tmp, fd


def _sync_folder(folder: Path) -> None:
    """fsync the folder so the rename itself survives a power cut. Best effort: some systems cannot
    open a folder (Windows) or fsync one; the file content is already on the disk either way."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
