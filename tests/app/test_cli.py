"""The command line: single photo, folder batch, and one-line errors with meaningful exit codes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from passbg.app.cli import main

REPO = Path(__file__).resolve().parents[2]
FAST = ["--model", "u2netp", "--max-side", "400"]


@pytest.fixture(scope="module")
def portrait(portraits_dir: Path) -> Path:
    return sorted((portraits_dir / "images").glob("*.jpg"))[0]


@pytest.fixture
def cli(models_dir: Path):
    """Run passbg.app.cli.main in-process with the built models."""

    def run(*args: str) -> int:
        return main([*map(str, args), "--models-dir", str(models_dir)])

    return run


def test_single_photo_to_jpeg_on_named_background(cli, portrait, tmp_path, capsys):
    out = tmp_path / "result.jpg"
    assert cli(portrait, "-o", out, "--background", "light-grey", "--timings", *FAST) == 0
    with Image.open(out) as im:
        assert im.format == "JPEG" and im.mode == "RGB"
        assert max(im.size) == 400
        assert "exif" not in im.info
        rgb = np.asarray(im)
    # Top corners are background: the light-grey preset (217), within JPEG error.
    assert np.abs(rgb[:20, :20].astype(int) - 217).max() <= 3
    printed = capsys.readouterr().out
    assert "inference" in printed and "foreground" in printed and "u2netp" in printed


def test_png_format_and_transparent_cutout(cli, portrait, tmp_path):
    out = tmp_path / "portrait.png"
    assert cli(portrait, "-o", out, "--cutout", *FAST) == 0
    with Image.open(out) as im:
        assert im.format == "PNG" and im.mode == "RGB"
    with Image.open(tmp_path / "portrait-cutout.png") as im:
        assert im.mode == "RGBA"
        alpha = np.asarray(im)[..., 3]
    assert alpha[0, 0] == 0 and alpha.max() == 255


def test_default_output_is_beside_the_photo(cli, portrait, tmp_path):
    photo = tmp_path / "me.jpg"
    shutil.copy(portrait, photo)
    assert cli(photo, *FAST) == 0
    assert (tmp_path / "me-passbg.jpg").is_file()


def test_batch_writes_every_good_photo_and_reports_the_bad_one(cli, portraits_dir, tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    for path in sorted((portraits_dir / "images").glob("*.jpg"))[:2]:
        shutil.copy(path, src / path.name)
    (src / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (src / "notes.txt").write_text("not a photo, and not an image suffix either")
    out = tmp_path / "out"
    code = cli(src, "-o", out, "--format", "png", *FAST)
    captured = capsys.readouterr()
    assert code == 2
    written = sorted(p.name for p in out.iterdir())
    assert len(written) == 2 and all(name.endswith(".png") for name in written)
    assert "broken.jpg" in captured.err and "2 of 3 photos done, 1 failed" in captured.out
    assert "1 non-image files ignored" in captured.out


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["{missing}"], 2, "does not exist"),
        (["{photo}", "--background", "purple"], 2, "Unknown background"),
        (["{photo}", "--model", "nope"], 2, "Unknown model"),
        (["{text}"], 2, "text file"),
        (["{photo}", "-o", "{photo}"], 2, "overwrite"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli, portrait, tmp_path, capsys, args, code, words):
    photo = tmp_path / "p.jpg"
    shutil.copy(portrait, photo)
    text = tmp_path / "letter.jpg"
    text.write_text("Dear Sir or Madam")
    names = {"missing": tmp_path / "nope.jpg", "photo": photo, "text": text}
    assert cli(*FAST, *[a.format(**names) for a in args]) == code
    err = capsys.readouterr().err.strip()
    assert words in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_missing_model_file_is_an_environment_error_that_says_how_to_fix_it(portrait, tmp_path, capsys):
    (tmp_path / "manifest.json").write_text(
        '{"models": [{"id": "gone", "file": "gone.onnx", "input": {"name": "x", "size": [8, 8],'
        ' "mean": [0, 0, 0], "std": [1, 1, 1]}, "output": {"index": 0}}]}'
    )
    assert main([str(portrait), "-o", str(tmp_path / "o.jpg"), "--models-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "python build.py" in err and len(err.strip().splitlines()) == 1


def test_missing_manifest_is_an_environment_error(portrait, tmp_path, capsys):
    assert main([str(portrait), "--models-dir", str(tmp_path / "empty")]) == 1
    assert "python build.py" in capsys.readouterr().err


def test_list_models(cli, manifest, capsys):
    assert cli("--list-models") == 0
    out = capsys.readouterr().out
    assert all(model_id in out for model_id in manifest.ids()) and "(default)" in out


def test_python_dash_m_entry_point(models_dir, portrait, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO / "py"), "PASSBG_MODELS_DIR": str(models_dir)}
    out = tmp_path / "x.jpg"
    done = subprocess.run(
        [sys.executable, "-m", "passbg", str(portrait), "-o", str(out), *FAST],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert out.is_file() and str(out) in done.stdout
