"""A custom document (issue 19): the user's own size, head rule, eye line, pixels, kB limit and colour are
validated once in Python with plain sentences per form field, and the result is an ordinary preset that
goes through the same crop, digital file and print sheets. The CLI runs as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from passbg.errors import InputError
from passbg.passport import custom, sheets
from passbg.passport.presets import load_presets

REPO = Path(__file__).resolve().parents[2]
DEFAULTS = load_presets().defaults
LICENCE = {"width_mm": "25", "height_mm": "30", "head_min": "18", "head_max": "22", "head_unit": "mm",
           "eye_min": "15", "eye_max": "18", "width_px": "300", "height_px": "360", "max_kb": "100",
           "background": "#CFE2F3"}


def problems(**changes) -> dict[str, str]:
    with pytest.raises(custom.CustomDocumentError) as err:
        custom.custom_preset({**LICENCE, **changes}, DEFAULTS)
    return err.value.problems


def test_a_25x30_light_blue_document_becomes_a_preset():
    p = custom.custom_preset(LICENCE, DEFAULTS)
    assert (p.width_mm, p.height_mm) == (25, 30)
    assert (p.head_mm.low, p.head_mm.high) == (18, 22) and (p.eye_line_mm.low, p.eye_line_mm.high) == (15, 18)
    assert p.colours[0].hex == "#CFE2F3" and p.digital.kb == (None, 100)
    assert p.digital.width_px == (300, 300) and p.digital.height_px == (360, 360)
    # no replacement rule of its own: never "forbidden", never "allowed", and the user is told to check
    assert p.replacement_allowed == custom.CUSTOM_REPLACEMENT and not p.forbids_replacement
    assert "Check whether it accepts a replaced background" in p.user_message
    assert sheets.layout("10x15", (25, 30)).copies == 12


def test_decimal_comma_and_percent_of_the_height():
    p = custom.custom_preset({**LICENCE, "width_mm": "25,5", "head_min": "60", "head_max": "70",
                              "head_unit": "%", "eye_min": "", "eye_max": ""}, DEFAULTS)
    assert p.width_mm == 25.5 and (p.head_mm.low, p.head_mm.high) == (18, 21) and p.eye_line_mm is None


@pytest.mark.parametrize("changes, field, words", [
    ({"width_mm": "0"}, "width_mm", "must be more than 0 mm"),
    ({"height_mm": ""}, "height_mm", "Enter the photo height"),
    ({"height_mm": "thirty"}, "height_mm", "'thirty' is not a number"),
    ({"head_max": "32"}, "head_max", "does not fit a 30 mm high photo"),
    ({"head_min": "23"}, "head_min", "is larger than the largest"),
    ({"head_unit": "%", "head_min": "60", "head_max": "120"}, "head_max", "more than 100 %"),
    ({"background": "blurple"}, "background", "'blurple' is not a colour"),
    ({"background": ""}, "background", "Choose a background colour"),
    ({"eye_min": "2", "eye_max": "3"}, "eye_min", "cannot lie inside a head"),
    ({"height_px": ""}, "height_px", "both the pixel width and the pixel height"),
    ({"width_px": "300.5"}, "width_px", "whole number"),
    ({"max_kb": "0"}, "max_kb", "more than 0 kB"),
    ({"width_mm": "300", "height_mm": "400"}, "width_mm", "does not fit on any print sheet"),
])
def test_each_mistake_gets_a_plain_sentence_on_its_field(changes, field, words):
    found = problems(**changes)
    assert field in found and words in found[field], found


def test_every_problem_is_reported_at_once():
    found = problems(width_mm="0", head_max="40", background="nope")
    assert {"width_mm", "background"} <= found.keys()


def test_cli_fields_match_the_form():
    fields = custom.fields_from_cli("25x30", "18-22", None, "15-18", "300x360", "100", "#CFE2F3")
    assert custom.custom_preset(fields, DEFAULTS) == custom.custom_preset(LICENCE, DEFAULTS)
    share = custom.fields_from_cli("25x30", None, "0.6-0.7", None, None, None, "white")
    assert (share["head_min"], share["head_max"], share["head_unit"]) == ("60", "70", "%")
    for args, words in ((("25", "18-22", None), "--size must look like 25x30"),
                        (("25x30", None, None), "needs the head height"),
                        (("25x30", "18-22", "0.6-0.7"), "not both"),
                        (("25x30", None, "60-70"), "share of the photo height from 0 to 1")):
        with pytest.raises(InputError, match=words):
            custom.fields_from_cli(*args, None, None, None, "white")


def _run(models_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO / "py"), "PASSBG_MODELS_DIR": str(models_dir)}
    return subprocess.run([sys.executable, "-m", "passbg", *map(str, args)], env=env, capture_output=True,
                          text=True, timeout=300)


def test_cli_makes_the_custom_print_digital_file_and_sheet(models_dir, portraits_dir, tmp_path):
    out = tmp_path / "licence.jpg"
    done = _run(models_dir, portraits_dir / "images" / "usc_A000055.jpg", "-o", out, "-m", "u2netp",
                "--size", "25x30", "--head-mm", "18-22", "--eye-line-mm", "15-18", "--pixels", "300x360",
                "--max-kb", "100", "-b", "#CFE2F3", "--digital", "--print-sheet", "10x15", "--pdf")
    assert done.returncode == 0, done.stderr
    assert custom.USER_MESSAGE in done.stderr  # told to check the authority's rule, before any file
    assert "[ok] Head height (chin to crown) is" in done.stdout and "[ok] Eye line" in done.stdout
    with Image.open(out) as img:
        assert img.size == (sheets.mm_to_px(25), sheets.mm_to_px(30)) == (295, 354)
        corner = img.convert("RGB").getpixel((3, 3))
    assert all(abs(a - b) <= 4 for a, b in zip(corner, (0xCF, 0xE2, 0xF3), strict=True)), corner
    digital_file = tmp_path / "licence-digital.jpg"
    assert digital_file.stat().st_size <= 100_000
    with Image.open(digital_file) as img:
        assert img.size == (300, 360)
    with Image.open(tmp_path / "licence-sheet-10x15.jpg") as img:
        assert sorted(img.size) == [1181, 1772]
    assert (tmp_path / "licence-sheet-10x15.pdf").read_bytes().startswith(b"%PDF-")


@pytest.mark.parametrize("args, words", [
    (["--size", "25x30", "--head-mm", "18-32"], "does not fit a 30 mm high photo"),
    (["--size", "0x30", "--head-mm", "18-22"], "must be more than 0 mm"),
    (["--size", "25x30", "--head-mm", "18-22", "-b", "blurple"], "Unknown background 'blurple'"),
    (["--head-mm", "18-22"], "also give its --size"),
    (["--size", "25x30", "--head-mm", "18-22", "--preset", "icao"], "not both"),
])
def test_cli_refuses_an_impossible_document_in_words_and_writes_nothing(models_dir, portraits_dir, tmp_path,
                                                                         args, words):
    out = tmp_path / "x.jpg"
    done = _run(models_dir, portraits_dir / "images" / "usc_A000055.jpg", "-o", out, "-m", "u2netp", *args)
    assert done.returncode == 2 and words in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert not out.exists()


def test_cli_lists_at_least_26_presets_with_their_flags(models_dir):
    done = _run(models_dir, "--list-presets")
    lines = done.stdout.splitlines()
    assert done.returncode == 0 and len(lines) >= 26
    korea = next(line for line in lines if line.startswith("kr-passport"))
    assert "replacing the background NOT allowed" in korea
    assert all(any(flag in line for flag in ("NOT allowed", "NO self-made", "replacing:")) for line in lines)
