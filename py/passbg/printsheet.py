"""Print sheets: as many copies of one photo as fit on 10x15 cm, 4x6 in or A4, at 300 dpi, with cut marks.

Rounding (documented because print shops measure): a length of L mm is round_half_up(L / 25.4 * dpi)
pixels, so a 35x45 mm photo at 300 dpi is 413x531 px and a 10x15 cm sheet is 1181x1772 px. The PDF page
is the exact sheet size in points (mm / 25.4 * 72); the sheet image is drawn at exactly 300 dpi from
the top-left corner, so its last pixel may end up to 1/600 in short of the page edge (blank paper).
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass
from importlib import resources

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from passbg.errors import InputError

DPI = 300
_CONFIG = json.loads(resources.files("passbg").joinpath("data/sheets.json").read_text(encoding="utf-8"))


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


def encode_jpeg(sheet: np.ndarray, quality: int = 95) -> bytes:
    """Sheet uint8 (H, W, 3) -> JPEG bytes tagged with 300 dpi."""
    buf = io.BytesIO()
    Image.fromarray(sheet).save(buf, "JPEG", quality=quality, dpi=(DPI, DPI), subsampling=0)
    return buf.getvalue()


def encode_pdf(sheet: np.ndarray, lay: SheetLayout, quality: int = 95) -> bytes:
    """One-page PDF: MediaBox = the exact sheet size in points, the sheet JPEG drawn at exactly 300 dpi."""
    jpeg = encode_jpeg(sheet, quality)
    h, w = sheet.shape[:2]
    page_w, page_h = (v / 25.4 * 72 for v in lay.sheet_mm)
    img_w, img_h = w * 72 / DPI, h * 72 / DPI
    content = f"q {img_w:.4f} 0 0 {img_h:.4f} 0 {page_h - img_h:.4f} cm /Im0 Do Q".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {page_w:.4f} {page_h:.4f}] "
         f"/Resources << /XObject << /Im0 4 0 R >> >> /Contents 5 0 R >>").encode("ascii"),
        (f"<< /Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace /DeviceRGB "
         f"/BitsPerComponent 8 /Filter /DCTDecode /Length {len(jpeg)} >>\nstream\n").encode("ascii")
        + jpeg + b"\nendstream",
        f"<< /Length {len(content)} >>\nstream\n".encode("ascii") + content + b"\nendstream",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{i} 0 obj\n".encode("ascii") + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode("ascii"))
    for off in offsets:
        out.write(f"{off:010d} 00000 n \n".encode("ascii"))
    trailer = f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    out.write(trailer.encode("ascii"))
    return out.getvalue()
