"""passbg._shared.atomic: a file under its final name is whole; the module is standard library only,
because passbg_build (run by `python build.py` before any venv exists) writes through it."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from passbg._shared import atomic

REPO = Path(__file__).resolve().parents[2]


def test_writes_replace_the_whole_file_and_leave_no_temporary_file(tmp_path):
    dest = tmp_path / "photo.jpg"
    atomic.write_bytes(dest, b"first")
    atomic.write_bytes(dest, b"second, longer")
    atomic.write_text(tmp_path / "note.txt", "naïve\n")
    assert dest.read_bytes() == b"second, longer"
    assert (tmp_path / "note.txt").read_bytes() == "naïve\n".encode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["note.txt", "photo.jpg"]


@pytest.mark.parametrize("interruption", [OSError("disk full"), KeyboardInterrupt()])
def test_a_failure_mid_write_keeps_the_old_file_and_removes_the_temporary_one(tmp_path, interruption):
    dest = tmp_path / "result.png"
    dest.write_bytes(b"the old result")
    with pytest.raises(type(interruption)):
        with atomic.replacing(dest) as f:
            f.write(b"half of the new")
            assert dest.read_bytes() == b"the old result"  # nothing visible before the block ends
            raise interruption
    assert dest.read_bytes() == b"the old result"
    assert [p.name for p in tmp_path.iterdir()] == ["result.png"]


def test_a_new_file_gets_the_umask_mode_and_a_replaced_one_keeps_its_mode(tmp_path):
    old_mask = os.umask(0o022)
    try:
        atomic.write_bytes(tmp_path / "new.jpg", b"x")
    finally:
        os.umask(old_mask)
    assert stat.S_IMODE((tmp_path / "new.jpg").stat().st_mode) == 0o644  # not mkstemp's 0600
    kept = tmp_path / "script.sh"
    kept.write_text("#!/bin/sh\n")
    kept.chmod(0o750)
    atomic.write_text(kept, "#!/bin/sh\necho hi\n")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o750


def test_copy_file(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(3 << 20))
    atomic.copy_file(src, tmp_path / "dest.bin")
    assert (tmp_path / "dest.bin").read_bytes() == src.read_bytes()


def test_the_module_imports_only_the_standard_library():
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); before = set(sys.modules); "
        "import passbg._shared.atomic; "
        "print(' '.join(sorted({m.split('.')[0] for m in set(sys.modules) - before}"
        " - set(sys.stdlib_module_names))))"
    )
    # -I -S: no site-packages, no environment, as for `python build.py` before the venv exists.
    done = subprocess.run([sys.executable, "-I", "-S", "-c", code, str(REPO / "py")], capture_output=True,
                          text=True, check=True)
    assert done.stdout.split() == ["passbg"]
