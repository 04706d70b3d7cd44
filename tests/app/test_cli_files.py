"""The command line's files survive interruption: a file under its final name is always whole, and a
folder run again redoes exactly the photos whose outputs are missing.

The interruptions are real: a CLI process the kernel kills in the middle of writing its PNG (a file-size
limit with SIGXFSZ at its default action: the process dies inside write()), the same limit as a full disk
(EFBIG), and SIGTERM to a running batch.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from passbg.app.cli import main

REPO = Path(__file__).resolve().parents[2]
FAST = ["--model", "u2netp", "--max-side", "400"]
BIG_PHOTO = "usc_B000740.jpg"  # 800x1000: its PNG result is well over a megabyte
WRITE_LIMIT = 256 * 1024  # bytes any one file of the child may reach; the PNG result needs more

# Run the real CLI with a file-size limit. Python ignores SIGXFSZ (a write past the limit then fails with
# EFBIG, like a full disk); with `kill` the default action is restored, so the kernel kills the process
# in the middle of the write, as a power cut or `kill -9` would.
LIMITED_CLI = """
import resource, signal, sys
from passbg.app.cli import main
limit, mode, *argv = sys.argv[1:]
if mode == "kill":
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
resource.setrlimit(resource.RLIMIT_FSIZE, (int(limit), resource.RLIM_INFINITY))
sys.exit(main(argv))
"""


@pytest.fixture(scope="module")
def big_photo(portraits_dir: Path) -> Path:
    return portraits_dir / "images" / BIG_PHOTO


def child_env(models_dir: Path) -> dict[str, str]:
    # No .pyc writing: only the outputs should meet the file-size limit.
    return {**os.environ, "PYTHONPATH": str(REPO / "py"), "PASSBG_MODELS_DIR": str(models_dir),
            "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"}


def run_limited(mode: str, models_dir: Path, tmp: Path, *args: object) -> subprocess.CompletedProcess[str]:
    # A fresh HOME: onnxruntime keeps a growing telemetry database under ~/.cache, which the limit
    # would otherwise hit before the PNG.
    (tmp / "home").mkdir()
    return subprocess.run(
        [sys.executable, "-c", LIMITED_CLI, str(WRITE_LIMIT), mode, *map(str, args)],
        env={**child_env(models_dir), "HOME": str(tmp / "home")}, capture_output=True, text=True, timeout=180,
    )


def is_whole_image(path: Path) -> bool:
    try:
        with Image.open(path) as im:
            im.load()
        return True
    except (OSError, SyntaxError):
        return False


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


BIG_PNG = ["--model", "u2netp", "--max-side", "800"]


@pytest.mark.parametrize("before", ["no file", "an earlier result"])
def test_a_process_killed_while_writing_a_large_png_leaves_the_old_file_or_none(
    big_photo, models_dir, tmp_path, before
):
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "result.png"
    old = None
    if before == "an earlier result":
        Image.new("RGB", (40, 50), (10, 200, 30)).save(out)
        old = out.read_bytes()
    done = run_limited("kill", models_dir, tmp_path, big_photo, "-o", out, *BIG_PNG)
    assert done.returncode == -signal.SIGXFSZ, done.stderr  # killed by the kernel inside write()
    if old is None:
        assert not out.exists(), f"a {out.stat().st_size}-byte partial PNG was left as {out.name}"
    else:
        assert out.read_bytes() == old
    visible = [p.name for p in folder.iterdir() if not p.name.startswith(".")]
    assert visible == ([] if old is None else [out.name])
    # Without the limit the same command finishes and replaces what was there.
    subprocess.run([sys.executable, "-m", "passbg", str(big_photo), "-o", str(out), *BIG_PNG],
                   env=child_env(models_dir), check=True, capture_output=True, timeout=180)
    assert is_whole_image(out) and out.stat().st_size > WRITE_LIMIT


def test_a_full_disk_is_one_line_and_leaves_no_file_at_all(big_photo, models_dir, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    done = run_limited("efbig", models_dir, tmp_path, big_photo, "-o", folder / "result.png", "--cutout",
                       *BIG_PNG)
    assert done.returncode == 2
    err = done.stderr.strip()
    assert err.startswith("passbg: error: Cannot write") and "File too large" in err, err
    assert len(err.splitlines()) == 1
    assert list(folder.iterdir()) == []  # neither the result, nor its cut-out, nor a temporary file


def batch_folder(portraits_dir: Path, tmp_path: Path, count: int) -> Path:
    src = tmp_path / "in"
    src.mkdir()
    for path in sorted((portraits_dir / "images").glob("*.jpg"))[:count]:
        shutil.copy(path, src / path.name)
    return src


def test_sigterm_mid_batch_leaves_whole_files_and_a_rerun_does_exactly_the_rest(portraits_dir, models_dir,
                                                                                  tmp_path):
    src = batch_folder(portraits_dir, tmp_path, 5)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "passbg", str(src), "-o", str(out), "--format", "png", "--cutout", *FAST]
    proc = subprocess.Popen(cmd, env=child_env(models_dir), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    first = proc.stdout.readline()  # the first photo is done; the second one is being worked on
    assert " -> " in first, first + proc.stderr.read()
    proc.send_signal(signal.SIGTERM)
    rest, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "again" in err
    written = sorted(p.name for p in out.iterdir())
    assert leftovers(out) == []
    assert all(is_whole_image(out / name) for name in written)
    stems = [p.stem for p in src.iterdir()]
    done_stems = {s for s in stems if f"{s}.png" in written and f"{s}-cutout.png" in written}
    assert 1 <= len(done_stems) < 5
    again = subprocess.run(cmd, env=child_env(models_dir), capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    skipped = {line.split(":")[0] for line in again.stdout.splitlines() if "already done" in line}
    redone = {line.split(" -> ")[0] for line in again.stdout.splitlines() if " -> " in line}
    assert {Path(n).stem for n in skipped} == done_stems
    assert skipped | redone == {p.name for p in src.iterdir()} and not skipped & redone
    assert len(list(out.iterdir())) == 10 and all(is_whole_image(p) for p in out.iterdir())


def test_a_rerun_redoes_exactly_the_photos_with_a_missing_output(portraits_dir, models_dir, tmp_path, capsys):
    src = batch_folder(portraits_dir, tmp_path, 3)
    out = tmp_path / "out"
    args = [str(src), "-o", str(out), "--cutout", *FAST, "--models-dir", str(models_dir)]
    assert main(args) == 0
    names = sorted(p.name for p in src.iterdir())
    stems = [Path(n).stem for n in names]
    (out / f"{stems[0]}.jpg").unlink()  # the result of the first photo is gone
    (out / f"{stems[1]}-cutout.png").unlink()  # the cut-out of the second
    (out / f".{stems[2]}.jpg.0123abcd.part").write_bytes(b"left by a killed run")  # not an output
    kept = (out / f"{stems[2]}.jpg").stat().st_mtime_ns
    capsys.readouterr()
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert f"{names[0]} -> " in printed and f"{names[1]} -> " in printed
    assert f"{names[2]}: already done" in printed and f"{names[2]} -> " not in printed
    assert "3 of 3 photos done (1 by an earlier run" in printed
    assert (out / f"{stems[2]}.jpg").stat().st_mtime_ns == kept
    assert all((out / f"{s}.jpg").is_file() and (out / f"{s}-cutout.png").is_file() for s in stems)
    assert main([*args, "--overwrite"]) == 0
    assert "already done" not in capsys.readouterr().out
    assert (out / f"{stems[2]}.jpg").stat().st_mtime_ns != kept


def test_help_says_what_a_rerun_does(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "interrupted run" in text and "never half a photo" in text
    assert "Running the same folder again skips every photo whose output files all exist" in text
    assert "--overwrite" in text
