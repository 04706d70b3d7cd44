"""Backgrounds: the named presets of data/backgrounds.json, colours written as hex or RGB, and plain words
for anything else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from passbg.core.backgrounds import Background, default_background, parse_hex, presets, resolve_background
from passbg.errors import InputError

DATA = Path(__file__).resolve().parents[2] / "py" / "passbg" / "data" / "backgrounds.json"


def test_presets_are_the_data_file_in_its_order_and_the_default_is_one_of_them():
    data = json.loads(DATA.read_text())
    assert list(presets()) == [b["id"] for b in data["backgrounds"]]
    assert default_background().id == data["default"] == "white"
    assert presets()["white"].rgb == (255, 255, 255)


@pytest.mark.parametrize("name", ["light-grey", "Light Grey", "LIGHT_GREY", " light-grey "])
def test_a_preset_is_found_whatever_the_case_and_separator(name):
    assert resolve_background(name) is presets()["light-grey"]


@pytest.mark.parametrize("text, rgb", [("#d9d9d9", (217, 217, 217)), ("D9D9D9", (217, 217, 217)),
                                       ("#abc", (170, 187, 204))])
def test_hex_colours_are_read_in_long_and_short_form(text, rgb):
    assert parse_hex(text) == rgb
    bg = resolve_background(text)
    assert bg.rgb == rgb and bg.title == "Custom colour" and bg.hex == "#{:02X}{:02X}{:02X}".format(*rgb)


def test_rgb_tuples_and_backgrounds_pass_through():
    assert resolve_background((1, 2, 3)).rgb == (1, 2, 3)
    bg = Background("x", "X", (9, 9, 9))
    assert resolve_background(bg) is bg


@pytest.mark.parametrize(
    "choice, words",
    [("purple-ish", "Unknown background 'purple-ish'. Use one of: white"), ("#12345", "Unknown background"),
     ((300, 0, 0), "three whole numbers 0-255"), ((1, 2), "three whole numbers")],
)
def test_anything_else_is_refused_in_plain_words(choice, words):
    with pytest.raises(InputError, match=words.replace("(", r"\(")):
        resolve_background(choice)


def test_parse_hex_names_the_expected_form():
    with pytest.raises(InputError, match="not a colour. Write it as #RRGGBB"):
        parse_hex("blue")
