"""Country photo presets: load `data/presets.json`, validate it, expose typed records.

Adding a country is a data-only change: append an entry to presets.json; `load_presets` validates every
entry and names the preset and field of any mistake. Lengths are millimetres; ranges are inclusive
(min, max) pairs where either end may be None (not published).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from passbg._shared.datafiles import read_text
from passbg.core.backgrounds import presets as background_presets
from passbg.errors import InputError, SetupError

REPLACEMENT_VALUES = ("yes", "no", "not-addressed", "no-self-made")
CONFIDENCE_VALUES = ("official", "secondary")
_ID_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_HEX_RE = re.compile(r"^#[0-9A-Fa-f]{6}$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

Range = tuple[float | None, float | None]


@dataclass(frozen=True)
class Measure:
    """A published range in mm, e.g. the eye line from the bottom edge."""

    low: float
    high: float
    confidence: str

    @property
    def middle(self) -> float:
        return (self.low + self.high) / 2


@dataclass(frozen=True)
class DigitalSpec:
    """Rules for the uploaded file; any range end may be None."""

    format: str
    width_px: Range | None
    height_px: Range | None
    kb: Range | None
    square: bool
    confidence: str


@dataclass(frozen=True)
class Colour:
    name: str
    hex: str

    @property
    def rgb(self) -> tuple[int, int, int]:
        h = self.hex.lstrip("#")
        return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


@dataclass(frozen=True)
class Source:
    url: str
    title: str
    confidence: str
    read: str | None = None  # ISO date the rule was recorded from this source; None for the starting set


@dataclass(frozen=True)
class Preset:
    id: str
    name: str
    document: str
    country: str  # what the page's picker groups and searches by
    background_wording: str
    colours: tuple[Colour, ...]
    background_presets: tuple[str, ...]
    width_mm: float | None
    height_mm: float | None
    head_mm: Measure | None  # chin to crown; converted from a share of the height when so published
    head_from_share: bool
    eye_line_mm: Measure | None  # eye line measured up from the bottom edge
    top_margin_mm: Measure | None  # crown to the top edge
    digital: DigitalSpec | None
    replacement_allowed: str
    replacement_rule: str
    user_message: str
    sources: tuple[Source, ...]
    notes: str

    @property
    def forbids_replacement(self) -> bool:
        """True when the authority does not accept a replaced background from the applicant."""
        return self.replacement_allowed in ("no", "no-self-made")

    @property
    def has_layout(self) -> bool:
        """False for presets (e.g. Sweden) where no photo can be made at all."""
        return self.width_mm is not None and self.head_mm is not None


@dataclass(frozen=True)
class PresetCatalogue:
    presets: tuple[Preset, ...]
    defaults: dict[str, float]

    def get(self, preset_id: str) -> Preset:
        for p in self.presets:
            if p.id == preset_id:
                return p
        known = ", ".join(p.id for p in self.presets)
        raise InputError(f"There is no photo preset called '{preset_id}'. Known presets: {known}.")

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(p.id for p in self.presets)


# ---- validation -------------------------------------------------------------------------------------

_TOP_KEYS = {"schema_version", "about", "defaults", "presets"}
_DEFAULT_KEYS = {"head_centre_share_of_free_space_above", "crown_to_eye_share_of_head", "print_dpi"}
_PRESET_KEYS = {
    "id", "country", "name", "document", "background", "print", "head", "eye_line_from_bottom_mm",
    "top_margin_mm", "digital", "replacement", "sources", "notes",
}
_BACKGROUND_KEYS = {"wording", "colours", "background_presets", "confidence"}
_PRINT_KEYS = {"width_mm", "height_mm", "width_mm_max", "height_mm_max"}
_HEAD_KEYS = {"height_mm", "height_share", "measured", "confidence"}
_MEASURE_KEYS = {"range", "confidence"}
_DIGITAL_KEYS = {"format", "width_px", "height_px", "kb", "square", "confidence"}
_REPLACEMENT_KEYS = {"allowed", "rule", "user_message"}
_SOURCE_KEYS = {"url", "title", "confidence", "read"}
_SOURCE_REQUIRED = {"url", "title", "confidence"}


def _fail(where: str, what: str) -> SetupError:
    # A broken preset file is an installation/data problem, not the user's photo.
    return SetupError(f"Preset data error at {where}: {what}")


def _obj(value: Any, where: str, keys: set[str], required: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(where, "expected an object")
    unknown = set(value) - keys
    if unknown:
        raise _fail(where, f"unknown field(s) {sorted(unknown)}; allowed: {sorted(keys)}")
    missing = required - set(value)
    if missing:
        raise _fail(where, f"missing field(s) {sorted(missing)}")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(where, "expected non-empty text")
    return value


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise _fail(where, f"expected a positive number, got {value!r}")
    return float(value)


def _range(value: Any, where: str, *, both: bool) -> Range:
    if not isinstance(value, list) or len(value) != 2:
        raise _fail(where, f"expected [min, max], got {value!r}")
    low = None if value[0] is None else _number(value[0], where)
    high = None if value[1] is None else _number(value[1], where)
    if both and (low is None or high is None):
        raise _fail(where, "both ends of this range are needed")
    if low is None and high is None:
        raise _fail(where, "a range needs at least one end; use null for the whole field instead")
    if low is not None and high is not None and low > high:
        raise _fail(where, f"min {low} is larger than max {high}")
    return low, high


def _confidence(value: Any, where: str) -> str:
    if value not in CONFIDENCE_VALUES:
        raise _fail(where, f"confidence must be one of {CONFIDENCE_VALUES}, got {value!r}")
    return value


def _measure(value: Any, where: str) -> Measure | None:
    if value is None:
        return None
    v = _obj(value, where, _MEASURE_KEYS, _MEASURE_KEYS)
    low, high = _range(v["range"], where + ".range", both=True)
    return Measure(low, high, _confidence(v["confidence"], where + ".confidence"))  # type: ignore[arg-type]


def layout_problems(height_mm: float, head: Measure, eye_line: Measure | None, top_margin: Measure | None,
                    crown_to_eye_share: float) -> list[str]:
    """Why no head can meet these rules on a photo height_mm high, in plain sentences ([] = possible).

    The eyes sit crown_to_eye_share of the head height below the crown (presets.json `defaults`), so an
    eye line is only reachable when, for some head in the range, the chin stays above the bottom edge
    and the crown below the top edge. Shared by the preset file's validator and custom documents."""
    out = []
    if head.high >= height_mm:
        out.append(f"A head up to {head.high:g} mm tall does not fit a {height_mm:g} mm high photo: "
                   "the head range must end below the photo height.")
        return out
    if top_margin is not None and top_margin.low + head.low > height_mm:
        out.append(f"The space above the head ({top_margin.low:g} mm) and the head ({head.low:g} mm) "
                   f"together are taller than the {height_mm:g} mm photo.")
    if eye_line is not None:
        # eye line e from the bottom: chin at e - (1 - s) h >= 0, crown at e + s h <= height; the smallest
        # head leaves the most room, so test it
        s, h = crown_to_eye_share, head.low
        lowest, highest = max(eye_line.low, (1 - s) * h), min(eye_line.high, height_mm - s * h)
        if lowest > highest + 1e-9:
            span = f"{eye_line.low:g}" + (f"-{eye_line.high:g}" if eye_line.high != eye_line.low else "")
            out.append(f"An eye line {span} mm above the bottom edge cannot lie "
                       f"inside a head of {head.low:g}-{head.high:g} mm on a {height_mm:g} mm photo: "
                       "the chin or the top of the head would leave the photo.")
    return out


def _preset(raw: Any, i: int, crown_to_eye_share: float) -> Preset:
    where = f"presets[{i}]"
    p = _obj(raw, where, _PRESET_KEYS, _PRESET_KEYS)
    pid = _text(p["id"], where + ".id")
    if not _ID_RE.match(pid):
        raise _fail(where + ".id", f"'{pid}' must be lower-case letters, digits and dashes")
    where = f"preset '{pid}'"

    bg = _obj(p["background"], where + ".background", _BACKGROUND_KEYS, _BACKGROUND_KEYS)
    colours = []
    for j, c in enumerate(bg["colours"] if isinstance(bg["colours"], list) else [None]):
        c = _obj(c, f"{where}.background.colours[{j}]", {"name", "hex"}, {"name", "hex"})
        if not isinstance(c["hex"], str) or not _HEX_RE.match(c["hex"]):
            raise _fail(f"{where}.background.colours[{j}].hex", f"expected #RRGGBB, got {c['hex']!r}")
        colours.append(Colour(_text(c["name"], f"{where}.background.colours[{j}].name"), c["hex"].upper()))
    if not isinstance(bg["background_presets"], list):
        raise _fail(where + ".background.background_presets", "expected a list of background preset ids")
    bg_ids = tuple(_text(b, where + ".background.background_presets") for b in bg["background_presets"])

    width = height = None
    if p["print"] is not None:
        pr = _obj(p["print"], where + ".print", _PRINT_KEYS, {"width_mm", "height_mm"})
        width = _number(pr["width_mm"], where + ".print.width_mm")
        height = _number(pr["height_mm"], where + ".print.height_mm")
        for key, base in (("width_mm_max", width), ("height_mm_max", height)):
            if key in pr and _number(pr[key], f"{where}.print.{key}") < base:
                raise _fail(f"{where}.print.{key}", "the maximum is smaller than the size used")

    head = None
    from_share = False
    if p["head"] is not None:
        if height is None:
            raise _fail(where + ".head", "a head rule needs a print size")
        h = _obj(p["head"], where + ".head", _HEAD_KEYS, {"measured", "confidence"})
        if ("height_mm" in h) == ("height_share" in h):
            raise _fail(where + ".head", "give exactly one of height_mm or height_share")
        conf = _confidence(h["confidence"], where + ".head.confidence")
        _text(h["measured"], where + ".head.measured")
        if "height_mm" in h:
            low, high = _range(h["height_mm"], where + ".head.height_mm", both=True)
        else:
            low, high = _range(h["height_share"], where + ".head.height_share", both=True)
            if high > 1:  # type: ignore[operator]
                raise _fail(where + ".head.height_share", "a share must be at most 1")
            # rounded so 0.7 * 45 reads 31.5, not 31.499999999999996
            low, high = round(low * height, 4), round(high * height, 4)  # type: ignore[operator]
            from_share = True
        head = Measure(low, high, conf)  # type: ignore[arg-type]
    elif width is not None:
        raise _fail(where + ".head", "a preset with a print size needs a head rule")

    eye = _measure(p["eye_line_from_bottom_mm"], where + ".eye_line_from_bottom_mm")
    top = _measure(p["top_margin_mm"], where + ".top_margin_mm")
    for name, m in (("eye_line_from_bottom_mm", eye), ("top_margin_mm", top)):
        if m is not None and (height is None or m.high >= height):
            raise _fail(f"{where}.{name}", "range does not fit inside the photo height")
    if head is not None:
        problems = layout_problems(height, head, eye, top, crown_to_eye_share)  # type: ignore[arg-type]
        if problems:
            raise _fail(where + ".head", " ".join(problems))

    digital = None
    if p["digital"] is not None:
        d = _obj(p["digital"], where + ".digital", _DIGITAL_KEYS, {"format", "confidence"})
        if d["format"] not in ("jpeg",):
            raise _fail(where + ".digital.format", "only 'jpeg' is supported")
        ranges = {}
        for key in ("width_px", "height_px", "kb"):
            val = d.get(key)
            ranges[key] = None if val is None else _range(val, f"{where}.digital.{key}", both=False)
        digital = DigitalSpec(
            format=d["format"], width_px=ranges["width_px"], height_px=ranges["height_px"], kb=ranges["kb"],
            square=bool(d.get("square", False)), confidence=_confidence(d["confidence"], where + ".digital"),
        )

    rep = _obj(p["replacement"], where + ".replacement", _REPLACEMENT_KEYS, _REPLACEMENT_KEYS)
    if rep["allowed"] not in REPLACEMENT_VALUES:
        raise _fail(where + ".replacement.allowed",
                    f"must be one of {REPLACEMENT_VALUES}, got {rep['allowed']!r}")

    if not isinstance(p["sources"], list) or not p["sources"]:
        raise _fail(where + ".sources", "at least one source is needed")
    sources = []
    for j, s in enumerate(p["sources"]):
        s = _obj(s, f"{where}.sources[{j}]", _SOURCE_KEYS, _SOURCE_REQUIRED)
        url = _text(s["url"], f"{where}.sources[{j}].url")
        if not url.startswith("https://"):
            raise _fail(f"{where}.sources[{j}].url", "must be an https:// address")
        read = s.get("read")
        if read is not None and not (isinstance(read, str) and _DATE_RE.match(read)):
            raise _fail(f"{where}.sources[{j}].read", f"expected a date YYYY-MM-DD, got {read!r}")
        sources.append(Source(url, _text(s["title"], f"{where}.sources[{j}].title"),
                              _confidence(s["confidence"], f"{where}.sources[{j}].confidence"), read))

    return Preset(
        id=pid, name=_text(p["name"], where + ".name"), document=_text(p["document"], where + ".document"),
        country=_text(p["country"], where + ".country"),
        background_wording=_text(bg["wording"], where + ".background.wording"), colours=tuple(colours),
        background_presets=bg_ids, width_mm=width, height_mm=height, head_mm=head, head_from_share=from_share,
        eye_line_mm=eye, top_margin_mm=top, digital=digital, replacement_allowed=rep["allowed"],
        replacement_rule=_text(rep["rule"], where + ".replacement.rule"),
        user_message=_text(rep["user_message"], where + ".replacement.user_message"),
        sources=tuple(sources), notes=p["notes"] if isinstance(p["notes"], str) else "",
    )


def parse_presets(data: Any) -> PresetCatalogue:
    """Validate parsed presets.json content; raises SetupError naming the preset and field at fault."""
    top = _obj(data, "top level", _TOP_KEYS, {"schema_version", "defaults", "presets"})
    if top["schema_version"] != 1:
        raise _fail("schema_version", f"this version of passbg reads schema 1, not {top['schema_version']!r}")
    defaults_raw = _obj(top["defaults"], "defaults", _DEFAULT_KEYS, _DEFAULT_KEYS)
    defaults = {k: _number(v, f"defaults.{k}") for k, v in defaults_raw.items()}
    if not isinstance(top["presets"], list) or not top["presets"]:
        raise _fail("presets", "expected a non-empty list")
    share = defaults["crown_to_eye_share_of_head"]
    presets = tuple(_preset(raw, i, share) for i, raw in enumerate(top["presets"]))
    known_backgrounds = _background_ids()
    for p in presets:
        unknown = [b for b in p.background_presets if b not in known_backgrounds]
        if unknown:
            raise _fail(f"preset '{p.id}'.background.background_presets",
                        f"{unknown} are not in backgrounds.json ({sorted(known_backgrounds)})")
    seen: set[str] = set()
    for p in presets:
        if p.id in seen:
            raise _fail(f"preset '{p.id}'", "this id is used twice")
        seen.add(p.id)
    return PresetCatalogue(presets, defaults)


def _background_ids() -> set[str]:
    return set(background_presets())

def load_presets(text: str | None = None) -> PresetCatalogue:
    """Load the bundled presets (or the given JSON text) and validate every entry."""
    if text is None:
        text = read_text("presets.json")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SetupError(f"The preset file is not valid JSON (line {exc.lineno}): {exc.msg}.") from exc
    return parse_presets(data)
