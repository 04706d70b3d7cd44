"""Print sheets: exact geometry at 300 dpi, exact PDF page size, the sheet names users may give."""

import io
import re

import numpy as np
import pytest
from PIL import Image

from passbg.errors import InputError
from passbg.passport import sheets as printsheet
from passbg.passport.presets import load_presets

CAT = load_presets()


@pytest.mark.parametrize("mm, px", [(35, 413), (45, 531), (51, 602), (50, 591), (70, 827), (100, 1181),
                                    (150, 1772), (101.6, 1200), (152.4, 1800), (210, 2480), (297, 3508)])
def test_millimetres_round_half_up_at_300_dpi(mm, px):
    assert printsheet.mm_to_px(mm) == px


def _photo(w, h, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("sheet, mm, copies", [("10x15", (35, 45), 8), ("4x6in", (35, 45), 8),
                                               ("a4", (35, 45), 30), ("10x15", (51, 51), 2),
                                               ("a4", (50, 70), 12)])
def test_sheet_holds_copies_pixel_exact_and_untouched(sheet, mm, copies):
    lay = printsheet.layout(sheet, mm)
    assert lay.copies == copies
    pw, ph = lay.photo_px
    photo = _photo(pw, ph)
    out = printsheet.render_sheet(photo, lay)
    assert out.shape[1::-1] == lay.sheet_px
    for x, y in lay.positions:
        assert np.array_equal(out[y:y + ph, x:x + pw], photo)  # every copy intact: marks and caption outside
        assert x >= 0 and y >= 0 and x + pw <= lay.sheet_px[0] and y + ph <= lay.sheet_px[1]
    # copies never overlap
    boxes = [(x, y, x + pw, y + ph) for x, y in lay.positions]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]


def test_sheet_turns_when_that_fits_more():
    lay = printsheet.layout("10x15", (35, 45))
    assert lay.landscape and lay.sheet_px == (1772, 1181)


def test_cut_marks_are_drawn_next_to_the_corners():
    lay = printsheet.layout("10x15", (35, 45))
    out = printsheet.render_sheet(np.full(lay.photo_px[::-1] + (3,), 255, np.uint8), lay)
    x, y = lay.positions[0]
    assert out[y - 5:y - 1, x - 1].max() < 200  # vertical tick above the top-left corner


def test_jpeg_carries_300_dpi():
    lay = printsheet.layout("4x6in", (35, 45))
    data = printsheet.encode_sheet_jpeg(printsheet.render_sheet(_photo(*lay.photo_px), lay))
    im = Image.open(io.BytesIO(data))
    assert im.size == (1800, 1200) and round(im.info["dpi"][0]) == 300


@pytest.mark.parametrize("sheet, page_mm", [("10x15", (150, 100)), ("a4", (210, 297))])
def test_pdf_page_is_the_exact_sheet_and_the_image_is_at_300_dpi(sheet, page_mm):
    lay = printsheet.layout(sheet, (35, 45))
    pdf = printsheet.encode_sheet_pdf(printsheet.render_sheet(_photo(*lay.photo_px), lay), lay)
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    box = [float(v) for v in re.search(rb"/MediaBox \[([^\]]+)\]", pdf).group(1).split()]
    assert box[2] / 72 * 25.4 == pytest.approx(page_mm[0], abs=1e-3)
    assert box[3] / 72 * 25.4 == pytest.approx(page_mm[1], abs=1e-3)
    scale_w = float(re.search(rb"q ([\d.]+) 0 0", pdf).group(1))
    assert scale_w == pytest.approx(lay.sheet_px[0] * 72 / 300, abs=1e-3)
    # xref offsets point at the objects
    xref = int(re.search(rb"startxref\n(\d+)", pdf).group(1))
    offsets = [int(m) for m in re.findall(rb"(\d{10}) 00000 n", pdf[xref:])]
    assert len(offsets) == 5
    assert all(pdf[o:].startswith(f"{i + 1} 0 obj".encode()) for i, o in enumerate(offsets))


def test_a_photo_too_big_for_the_sheet_is_refused():
    with pytest.raises(InputError, match="does not fit"):
        printsheet.layout("10x15", (120, 160))


def test_unknown_sheet_is_refused():
    with pytest.raises(InputError, match="a4"):
        printsheet.layout("letter", (35, 45))


@pytest.mark.parametrize(
    "name, sid", [("10x15", "10x15"), ("4x6", "4x6in"), ("4X6IN", "4x6in"), (" a4 ", "a4")]
)
def test_sheet_names_and_aliases_resolve_to_the_sheets_json_id(name, sid):
    assert printsheet.sheet_id(name) == sid


def test_an_unknown_sheet_name_is_refused_naming_the_choices():
    with pytest.raises(InputError, match="Choose 10x15, 4x6 or a4"):
        printsheet.sheet_id("letter")


def test_the_menu_lists_every_sheet_once_with_its_label():
    menu = printsheet.sheet_menu()
    assert [m["id"] for m in menu] == list(printsheet.sheet_choices()) == ["10x15", "4x6", "a4"]
    assert all(m["label"] for m in menu)
    assert {printsheet.sheet_id(m["id"]) for m in menu} == set(printsheet.sheet_ids())
