"""Phone photos through the real CLI: an iPhone-style HEIC (Display P3, stored sideways with EXIF
rotation 6) and an AVIF give an upright passport-style result, alone and in a folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from passbg.app.cli import main
from phone_photos import avif, iphone_heic

FAST = ["--model", "u2netp", "--max-side", "400"]


@pytest.fixture(scope="module")
def phone_files(portraits_dir: Path, tmp_path_factory) -> dict[str, Path]:
    with Image.open(portraits_dir / "images" / "usc_B001285.jpg") as im:
        person = im.convert("RGB")
    folder = tmp_path_factory.mktemp("phone")
    files = {"heic": folder / "IMG_0001.HEIC", "avif": folder / "photo.avif"}
    files["heic"].write_bytes(iphone_heic(person))
    files["avif"].write_bytes(avif(person))
    return files


@pytest.mark.parametrize("kind", ["heic", "avif"])
def test_a_phone_photo_gives_an_upright_result(models_dir, phone_files, tmp_path, kind, capsys):
    out = tmp_path / "result.jpg"
    code = main([str(phone_files[kind]), "-o", str(out), "--background", "light-grey",
                 "--models-dir", str(models_dir), *FAST])
    assert code == 0, capsys.readouterr()
    with Image.open(out) as im:
        assert im.size == (327, 400)  # upright 675 x 825 at --max-side 400; sideways would be 400 x 327
        rgb = np.asarray(im)
    assert np.abs(rgb[:20, :20].astype(int) - 217).max() <= 3  # the light-grey background at the top


def test_a_folder_of_phone_photos_is_processed(models_dir, phone_files, tmp_path, capsys):
    out = tmp_path / "out"
    code = main([str(phone_files["heic"].parent), "-o", str(out), "--models-dir", str(models_dir), *FAST])
    assert code == 0, capsys.readouterr()
    assert sorted(p.name for p in out.iterdir()) == ["IMG_0001.jpg", "photo.jpg"]
