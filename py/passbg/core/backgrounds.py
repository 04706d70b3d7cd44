"""Background presets (data in data/backgrounds.json) and parsing of user colour choices."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from passbg._shared.datafiles import read_json
from passbg.errors import InputError

_HEX = re.compile(r"#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


@dataclass(frozen=True)
class Background:
    id: str
    title: str
    rgb: tuple[int, int, int]

    @property
    def hex(self) -> str:
        return "#{:02X}{:02X}{:02X}".format(*self.rgb)


@cache
def presets() -> dict[str, Background]:
    """The named backgrounds from data/backgrounds.json, in file order."""
    entries = read_json("backgrounds.json")["backgrounds"]
    return {e["id"]: Background(e["id"], e["title"], parse_hex(e["hex"])) for e in entries}


def default_background() -> Background:
    return presets()[read_json("backgrounds.json")["default"]]


def parse_hex(text: str) -> tuple[int, int, int]:
    """'#d9d9d9', 'd9d9d9' or '#ddd' -> (217, 217, 217). Raises InputError otherwise."""
    match = _HEX.fullmatch(text.strip())
    if not match:
        raise InputError(f"'{text}' is not a colour. Write it as #RRGGBB, for example #D9D9D9.")
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def resolve_background(choice: str | tuple[int, int, int] | Background) -> Background:
    """A preset id ('light-grey', any case, '_' or ' ' for '-'), a hex colour, an (r, g, b) tuple or a
    Background -> Background. Raises InputError naming the valid choices."""
    if isinstance(choice, Background):
        return choice
    if isinstance(choice, tuple):
        if len(choice) != 3 or not all(isinstance(v, int) and 0 <= v <= 255 for v in choice):
            raise InputError(f"A background colour needs three whole numbers 0-255, got {choice}.")
        r, g, b = choice
        return Background(f"#{r:02X}{g:02X}{b:02X}", "Custom colour", (r, g, b))
    key = str(choice).strip().lower().replace("_", "-").replace(" ", "-")
    named = presets()
    if key in named:
        return named[key]
    if _HEX.fullmatch(key):
        rgb = parse_hex(key)
        return Background("#{:02X}{:02X}{:02X}".format(*rgb), "Custom colour", rgb)
    names = ", ".join(named)
    raise InputError(f"Unknown background '{choice}'. Use one of: {names}, or a colour such as #D9D9D9.")
