"""A custom document: the user's own print size, head rule, eye line, background, pixels and kB limit.

For a driving licence, a badge or a visa of a country without a preset. The values arrive as text (the
page's form, kept in its localStorage, and the CLI's --size/--head-mm/... options both end up as the same
field mapping), are checked here once, and become an ordinary `Preset`, so the crop, the checks, the
digital file and the print sheets are exactly those of a country preset. Every problem is a plain
sentence keyed by the form field it belongs to, so the page can show it beside that field.

A custom document has no replacement rule of its own: passbg does not know the authority, so it says
that the user must check it (`CUSTOM_REPLACEMENT`, never a value a preset file may use).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from passbg.core.backgrounds import presets as background_presets
from passbg.core.backgrounds import resolve_background
from passbg.errors import InputError
from passbg.passport import sheets
from passbg.passport.presets import Colour, DigitalSpec, Measure, Preset, layout_problems

CUSTOM_ID = "custom"
CUSTOM_REPLACEMENT = "check-the-authority"
FIELDS = ("width_mm", "height_mm", "head_min", "head_max", "head_unit", "eye_min", "eye_max",
          "width_px", "height_px", "max_kb", "background")
HEAD_UNITS = ("mm", "%")
USER_MESSAGE = ("passbg does not know the rules of the authority you make this photo for. Check whether it "
                "accepts a replaced background (several passport offices do not) before you use this photo.")
CUSTOM_RULE = "Your own document: passbg has no rule recorded for it."
_MAX_PX = 6000  # beyond any upload form; keeps a typo from asking for a gigapixel file
_MIN_PX = 50


class CustomDocumentError(InputError):
    """The custom document's values cannot make a photo; `problems` maps each form field to a sentence."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__(" ".join(problems.values()))
        self.problems = problems


def _number(text: Any) -> float | None:
    """'25', '25.5', '25,5' (decimal comma) -> float; '' or None -> None; raises ValueError otherwise."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    if isinstance(text, bool):
        raise ValueError(text)
    if isinstance(text, int | float):
        value = float(text)
    else:
        value = float(str(text).strip().replace(",", "."))
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def _read(fields: Mapping[str, Any], key: str, what: str, problems: dict[str, str]) -> float | None:
    try:
        return _number(fields.get(key))
    except ValueError:
        problems[key] = f"'{fields.get(key)}' is not a number: enter {what}."
        return None


def _positive(value: float | None, key: str, what: str, problems: dict[str, str], unit: str) -> float | None:
    if value is not None and value <= 0:
        problems[key] = f"{what[0].upper()}{what[1:]} must be more than 0 {unit}."
        return None
    return value


def _pair(fields: Mapping[str, Any], low_key: str, high_key: str, what: str, unit: str,
          problems: dict[str, str]) -> tuple[float, float] | None:
    """A min-max pair where one given end means an exact value; None when both are empty."""
    low = _positive(_read(fields, low_key, f"the smallest {what} in {unit}", problems), low_key,
                    f"the smallest {what}", problems, unit)
    high = _positive(_read(fields, high_key, f"the largest {what} in {unit}", problems), high_key,
                     f"the largest {what}", problems, unit)
    if low_key in problems or high_key in problems:
        return None
    if low is None and high is None:
        return None
    low, high = (low if low is not None else high), (high if high is not None else low)
    if low > high:  # type: ignore[operator]
        problems[low_key] = (f"The smallest {what} ({low:g} {unit}) is larger than the largest "
                             f"({high:g} {unit}).")
        return None
    return low, high  # type: ignore[return-value]


def _background(value: Any, problems: dict[str, str]) -> Colour | None:
    text = "" if value is None else str(value).strip()
    if not text:
        problems["background"] = "Choose a background colour, for example #CFE2F3 (light blue)."
        return None
    try:
        bg = resolve_background(text)
    except InputError:
        names = ", ".join(background_presets())
        problems["background"] = (f"'{text}' is not a colour. Use a colour such as #CFE2F3, or one of: "
                                  f"{names}.")
        return None
    return Colour(bg.title.lower() if bg.title != "Custom colour" else "your colour", bg.hex)


def custom_preset(fields: Mapping[str, Any], defaults: Mapping[str, float]) -> Preset:
    """The form's (or the CLI's) values -> a Preset; CustomDocumentError listing every problem at once.

    fields: any of FIELDS as text or numbers (head_unit 'mm' or '%'); unknown keys are ignored, so an old
    page's stored form still loads. defaults: presets.json's `defaults` (the eye position in the head)."""
    problems: dict[str, str] = {}
    width = _positive(_read(fields, "width_mm", "the photo width in mm, e.g. 25", problems), "width_mm",
                      "the photo width", problems, "mm")
    height = _positive(_read(fields, "height_mm", "the photo height in mm, e.g. 30", problems), "height_mm",
                       "the photo height", problems, "mm")
    for key, value, what in (("width_mm", width, "width"), ("height_mm", height, "height")):
        if value is None and key not in problems:
            problems[key] = f"Enter the photo {what} in mm."
    if width and height and not any(sheets.fits(s, (width, height)) for s in sheets.sheet_ids()):
        problems["width_mm"] = (f"A {width:g}x{height:g} mm photo does not fit on any print sheet "
                                "(10x15 cm, 4x6 in or A4).")

    unit = str(fields.get("head_unit") or "mm").strip()
    if unit not in HEAD_UNITS:
        problems["head_unit"] = "The head height is given in mm or in % of the photo height."
    head = _pair(fields, "head_min", "head_max", "head height (chin to crown)", unit, problems)
    if head is None and "head_min" not in problems and "head_max" not in problems:
        problems["head_min"] = "Enter the head height (chin to crown) the authority asks for."
    if head is not None and unit == "%":
        if head[1] > 100:
            problems["head_max"] = "A head cannot be more than 100 % of the photo height."
            head = None
        elif height:
            head = (round(head[0] / 100 * height, 4), round(head[1] / 100 * height, 4))
        else:
            head = None
    eye = _pair(fields, "eye_min", "eye_max", "eye line (above the bottom edge)", "mm", problems)

    pixels = None
    px = {k: _read(fields, k, "a whole number of pixels", problems) for k in ("width_px", "height_px")}
    if not any(k in problems for k in px):
        for key, value in px.items():
            if value is not None and (value != int(value) or not _MIN_PX <= value <= _MAX_PX):
                problems[key] = f"The pixel size must be a whole number from {_MIN_PX} to {_MAX_PX}."
        if (px["width_px"] is None) != (px["height_px"] is None):
            missing = "height_px" if px["height_px"] is None else "width_px"
            problems[missing] = "Give both the pixel width and the pixel height, or neither."
        elif px["width_px"] is not None and not problems.keys() & px.keys():
            pixels = (int(px["width_px"]), int(px["height_px"]))  # type: ignore[arg-type]
    max_kb = _positive(_read(fields, "max_kb", "the file size limit in kB", problems), "max_kb",
                       "the file size limit", problems, "kB")
    colour = _background(fields.get("background"), problems)

    if height and head is not None and "head_max" not in problems:
        share = defaults["crown_to_eye_share_of_head"]
        eye_m = Measure(eye[0], eye[1], "secondary") if eye else None
        if eye and eye[1] >= height:
            problems["eye_max"] = f"The eye line ({eye[1]:g} mm up) must lie inside the {height:g} mm photo."
        for sentence in layout_problems(height, Measure(head[0], head[1], "secondary"), eye_m, None, share):
            problems["eye_min" if sentence.startswith("An eye line") else "head_max"] = sentence
    if problems:
        raise CustomDocumentError(problems)

    digital = DigitalSpec(
        format="jpeg",
        width_px=(pixels[0], pixels[0]) if pixels else None,
        height_px=(pixels[1], pixels[1]) if pixels else None,
        kb=(None, max_kb) if max_kb else None, square=False, confidence="secondary",
    )
    return Preset(
        id=CUSTOM_ID, name=f"Custom document ({width:g}x{height:g} mm)",
        document="A document not in the list, with the sizes you entered", country="Your own document",
        background_wording=f"{colour.hex}, as you entered it", colours=(colour,),  # type: ignore[union-attr]
        background_presets=(), width_mm=width, height_mm=height,
        head_mm=Measure(head[0], head[1], "secondary"), head_from_share=unit == "%",  # type: ignore[index]
        eye_line_mm=Measure(eye[0], eye[1], "secondary") if eye else None, top_margin_mm=None,
        digital=digital, replacement_allowed=CUSTOM_REPLACEMENT,
        replacement_rule=CUSTOM_RULE,
        user_message=USER_MESSAGE, sources=(), notes="",
    )


_SIZE_RE = re.compile(r"^\s*([0-9.,]+)\s*[x×*]\s*([0-9.,]+)\s*$", re.IGNORECASE)
_RANGE_RE = re.compile(r"^\s*([0-9.,]+)\s*(?:[-–]\s*([0-9.,]+))?\s*$")


def _split(text: str, pattern: re.Pattern[str], option: str, example: str) -> tuple[str, str]:
    m = pattern.match(text)
    if not m:
        raise InputError(f"{option} must look like {example}, got '{text}'.")
    return m.group(1), m.group(2) or m.group(1)


def fields_from_cli(size: str, head_mm: str | None, head_share: str | None, eye_line_mm: str | None,
                    pixels: str | None, max_kb: str | None, background: str) -> dict[str, str]:
    """The CLI's --size 25x30 --head-mm 18-22 (or --head-share 0.6-0.7) --eye-line-mm 15-18
    --pixels 300x360 --max-kb 100 -b COLOUR -> the same fields the page's form sends."""
    if head_mm and head_share:
        raise InputError("Give the head height in mm (--head-mm) or as a share (--head-share), not both.")
    if not head_mm and not head_share:
        raise InputError("A custom --size needs the head height: --head-mm 18-22 or --head-share 0.6-0.7.")
    w, h = _split(size, _SIZE_RE, "--size", "25x30 (width x height in mm)")
    fields = {"width_mm": w, "height_mm": h, "background": background}
    if head_mm:
        fields["head_min"], fields["head_max"] = _split(head_mm, _RANGE_RE, "--head-mm", "18-22 (mm)")
        fields["head_unit"] = "mm"
    else:
        low, high = _split(head_share or "", _RANGE_RE, "--head-share", "0.6-0.7 (share of the height)")
        try:
            shares = [float(v.replace(",", ".")) for v in (low, high)]
        except ValueError:
            raise InputError(f"--head-share must look like 0.6-0.7, got '{head_share}'.") from None
        if max(shares) > 1:
            raise InputError(f"--head-share is a share of the photo height from 0 to 1, e.g. 0.6-0.7, "
                             f"got '{head_share}'. For mm use --head-mm.")
        fields["head_min"], fields["head_max"] = (f"{v * 100:g}" for v in shares)
        fields["head_unit"] = "%"
    if eye_line_mm:
        fields["eye_min"], fields["eye_max"] = _split(eye_line_mm, _RANGE_RE, "--eye-line-mm", "15-18 (mm)")
    if pixels:
        fields["width_px"], fields["height_px"] = _split(pixels, _SIZE_RE, "--pixels", "300x360")
    if max_kb:
        fields["max_kb"] = max_kb
    return fields
