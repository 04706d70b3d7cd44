"""Print sheets: as many copies of one photo as fit on 10x15 cm, 4x6 in or A4, at 300 dpi, with cut marks.

Rounding (documented because print shops measure): a length of L mm is round_half_up(L / 25.4 * dpi)
pixels, so a 35x45 mm photo at 300 dpi is 413x531 px and a 10x15 cm sheet is 1181x1772 px. The PDF page
is the exact sheet size in points (mm / 25.4 * 72); the sheet image is drawn at exactly 300 dpi from
the top-left corner, so its last pixel may end up to 1/600 in short of the page edge (blank paper).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from passbg._shared.datafiles import read_json
from passbg.core.encode import encode_jpeg, encode_pdf
from passbg.errors import InputError

DPI = 300
_CONFIG = read_json("sheets.json")


def mm_to_px(mm: float, dpi: int = DPI) -> int:
    """Millimetres -> whole pixels, half up (35 mm -> 413 px, 45 mm -> 531 px at 300 dpi)."""
    return int(math.floor(mm / 25.4 * dpi + 0.5))


@dataclass(frozen=True)
class SheetLayout:
    sheet_id: str
    sheet_mm: tuple[float, float]  # width, height as laid out (turned when landscape)
    sheet_px: tuple[int, int]
    photo_px: tuple[int, int]
    positions: tuple[tuple[int, int], ...]  # top-left corner of each copy, pixels
    landscape: bool
    caption: str

    @property
    def copies(self) -> int:
        return len(self.positions)


def sheet_ids() -> tuple[str, ...]:
    return tuple(s["id"] for s in _CONFIG["sheets"])


def sheet_choices() -> tuple[str, ...]:
    """The name shown to users for each sheet (its first alias, else its id): '10x15', '4x6', 'a4'."""
    return tuple((s.get("aliases") or [s["id"]])[0] for s in _CONFIG["sheets"])


def sheet_menu() -> list[dict[str, str]]:
    """[{id: the name users give, label: what a picker shows}] for every sheet."""
    return [{"id": c, "label": s["label"]} for c, s in zip(sheet_choices(), _CONFIG["sheets"], strict=True)]


def sheet_id(name: str) -> str:
    """A sheet's id or alias (any case: '10x15', '4x6', '4x6in', 'a4') -> its sheets.json id; InputError
    for anything else, naming the choices."""
    wanted = name.strip().lower()
    for sheet in _CONFIG["sheets"]:
        if wanted == sheet["id"].lower() or wanted in (a.lower() for a in sheet.get("aliases", ())):
            return sheet["id"]
    *first, last = sheet_choices()
    raise InputError(f"Unknown print sheet '{name}'. Choose {', '.join(first)} or {last}.")


def _grid(avail_w: int, avail_h: int, pw: int, ph: int, gutter: int) -> tuple[int, int]:
    cols = max(0, (avail_w + gutter) // (pw + gutter))
    rows = max(0, (avail_h + gutter) // (ph + gutter))
    return cols, rows


def layout(sheet_id: str, photo_mm: tuple[float, float], caption: str = "") -> SheetLayout:
    """Place as many copies of a photo_mm (width, height) photo as fit, trying both sheet orientations;
    the grid is centred in the area above the caption strip."""
    sheet = next((s for s in _CONFIG["sheets"] if s["id"] == sheet_id), None)
    if sheet is None:
        raise InputError(f"Unknown sheet '{sheet_id}'. Choose one of: {', '.join(sheet_ids())}.")
    pw, ph = mm_to_px(photo_mm[0]), mm_to_px(photo_mm[1])
    margin, gutter = mm_to_px(_CONFIG["margin_mm"]), mm_to_px(_CONFIG["gutter_mm"])
    caption_px = mm_to_px(_CONFIG["caption_mm"])
    best = None
    for landscape in (False, True):
        wmm, hmm = sheet["width_mm"], sheet["height_mm"]
        if landscape:
            wmm, hmm = hmm, wmm
        sw, sh = mm_to_px(wmm), mm_to_px(hmm)
        cols, rows = _grid(sw - 2 * margin, sh - 2 * margin - caption_px, pw, ph, gutter)
        if best is None or cols * rows > best[0]:
            best = (cols * rows, cols, rows, landscape, (wmm, hmm), (sw, sh))
    n, cols, rows, landscape, smm, (sw, sh) = best
    if n == 0:
        raise InputError(f"A {photo_mm[0]:g}x{photo_mm[1]:g} mm photo does not fit on {sheet['name']}.")
    grid_w, grid_h = cols * pw + (cols - 1) * gutter, rows * ph + (rows - 1) * gutter
    left = (sw - grid_w) // 2
    top = margin + (sh - 2 * margin - caption_px - grid_h) // 2
    positions = tuple((left + c * (pw + gutter), top + r * (ph + gutter))
                      for r in range(rows) for c in range(cols))
    text = caption or f"{photo_mm[0]:g} x {photo_mm[1]:g} mm - print at 100 % ({DPI} dpi), no scaling"
    return SheetLayout(sheet_id, smm, (sw, sh), (pw, ph), positions, landscape, text)


def fits(sheet_id: str, photo_mm: tuple[float, float]) -> bool:
    """Whether at least one copy of a photo_mm (width, height) photo fits on the sheet."""
    try:
        layout(sheet_id, photo_mm)
    except InputError:
        return False
    return True


def render_sheet(photo: np.ndarray, lay: SheetLayout) -> np.ndarray:
    """photo uint8 (ph, pw, 3) exactly lay.photo_px in size -> sheet uint8 (H, W, 3) on white.

    Cut marks are thin grey ticks in the gutters at each photo corner; they never touch the photo."""
    if photo.shape[1::-1] != lay.photo_px:
        raise InputError(f"The photo is {photo.shape[1]}x{photo.shape[0]} px but the sheet expects "
                         f"{lay.photo_px[0]}x{lay.photo_px[1]} px.")
    sheet = Image.new("RGB", lay.sheet_px, (255, 255, 255))
    tile = Image.fromarray(np.ascontiguousarray(photo[..., :3]))
    draw = ImageDraw.Draw(sheet)
    pw, ph = lay.photo_px
    tick = mm_to_px(_CONFIG["cut_mark_mm"])
    gap = 2  # px between a tick and the photo edge so a slightly off cut does not show it
    for x, y in lay.positions:
        sheet.paste(tile, (x, y))
        for cx in (x - 1, x + pw):
            for cy, d in ((y, -1), (y + ph - 1, 1)):
                draw.line([(cx, cy + d * gap), (cx, cy + d * (gap + tick))], fill=(150, 150, 150))
        for cy in (y - 1, y + ph):
            for cx, d in ((x, -1), (x + pw - 1, 1)):
                draw.line([(cx + d * gap, cy), (cx + d * (gap + tick), cy)], fill=(150, 150, 150))
    _caption(sheet, lay.caption)
    return np.asarray(sheet)


def _caption(sheet: Image.Image, text: str) -> None:
    # Pillow's built-in bitmap font needs no font file (also in Pyodide); drawn small and enlarged 3x
    # with nearest-neighbour, it reads as ~2.5 mm text at 300 dpi.
    font = ImageFont.load_default()
    probe = ImageDraw.Draw(Image.new("L", (1, 1))).textbbox((0, 0), text, font=font)
    small = Image.new("L", (probe[2] + 2, probe[3] + 2), 255)
    ImageDraw.Draw(small).text((1, 1), text, fill=90, font=font)
    big = small.resize((small.width * 3, small.height * 3), Image.NEAREST)
    w, h = sheet.size
    margin = mm_to_px(_CONFIG["margin_mm"])
    # Only the glyphs are drawn (through a mask), so the caption can never cover a photo or a cut mark.
    ink = big.point(lambda v: 255 if v < 255 else 0)
    sheet.paste((90, 90, 90), ((w - big.width) // 2, h - margin - big.height), ink)


def encode_sheet_jpeg(sheet: np.ndarray, quality: int = 95) -> bytes:
    """Sheet uint8 (H, W, 3) -> JPEG bytes tagged with the sheets' dpi."""
    return encode_jpeg(sheet, quality=quality, dpi=DPI, optimize=False)


def encode_sheet_pdf(sheet: np.ndarray, lay: SheetLayout, quality: int = 95) -> bytes:
    """One-page PDF of the sheet's exact paper size, the sheet drawn at exactly DPI."""
    return encode_pdf(sheet, lay.sheet_mm, dpi=DPI, quality=quality)
