"""Passport photos end to end in CPython: real segmentation (U2-Net-p) and the real face models on a few
portraits -> crop within the preset's ranges, exact print and sheet geometry, digital files within the
byte limits, the unaltered-photo mode, and the CLI (warnings first, files written, plain-words errors)."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from PIL import Image

from passbg.app import cli
from passbg.core import pipeline
from passbg.errors import InputError
from passbg.passport import crop, digital
from passbg.passport import photo as passport
from passbg.passport import sheets as printsheet
from passbg.passport.presets import load_presets

CAT = load_presets()
LAYOUT = [p for p in CAT.presets if p.has_layout]
FORBIDDING = [p for p in CAT.presets if p.forbids_replacement]
PHOTOS = ("usc_A000055.jpg", "usc_B001285.jpg", "usc_S001159.jpg")


@pytest.fixture(scope="module")
def segmented(manifest, ort_backend, portraits_dir):
    """name -> (pipeline.Result on white, FaceLandmarks) for PHOTOS."""
    if "u2netp" not in manifest.models:
        pytest.skip("u2netp is not built")
    finder = passport.ort_face_finder(manifest, threads=1)
    out = {}
    for name in PHOTOS:
        result = pipeline.process((portraits_dir / "images" / name).read_bytes(), ort_backend,
                                  manifest.get("u2netp"), "white")
        out[name] = (result, finder(result.image.rgb))
    return out


def job(segmented, name, preset, **kw) -> passport.Passport:
    result, lm = segmented[name]
    return passport.Passport(preset, CAT.defaults, result.composite, result.alpha, lm,
                             result.background.rgb, **kw)


@pytest.mark.parametrize("preset", LAYOUT, ids=lambda p: p.id)
def test_crop_puts_the_head_in_range_and_the_print_has_the_exact_size(segmented, preset):
    for name in PHOTOS:
        j = job(segmented, name, preset)
        assert j.crop_ok, (name, [c.reason for c in j.crop_checks if not c.passed])
        assert j.report.score == 100, (name, j.report.reasons)
        size = (printsheet.mm_to_px(preset.height_mm), printsheet.mm_to_px(preset.width_mm), 3)
        assert j.print_photo.shape == size


def test_zoom_beyond_the_rule_fails_the_head_check_and_lowers_the_score(segmented):
    uk = CAT.get("uk-passport")
    j = job(segmented, PHOTOS[0], uk, adjustment=crop.Adjustment(scale=1.25))
    head = next(c for c in j.crop_checks if c.id == "head_height")
    assert not head.passed and not j.crop_ok and j.report.score < 100
    assert head.reason in j.report.reasons


@pytest.mark.parametrize("preset", [p for p in LAYOUT if p.digital is not None], ids=lambda p: p.id)
def test_digital_file_has_the_preset_pixels_and_fits_the_byte_limits(segmented, preset):
    f = job(segmented, PHOTOS[2], preset).digital_file()
    assert f.within_limits, f.message
    with Image.open(io.BytesIO(f.data)) as img:
        assert img.size == digital.target_size(preset) == f.size_px
    low, high = preset.digital.kb or (None, None)
    assert low is None or len(f.data) >= low * 1024
    assert high is None or len(f.data) <= high * 1000


def test_a_preset_without_upload_refuses_a_digital_file(segmented):
    with pytest.raises(InputError, match="no digital upload"):
        job(segmented, PHOTOS[0], CAT.get("de-passport")).digital_file()


@pytest.mark.parametrize("sheet, size, copies", [("10x15", (1181, 1772), 8), ("4x6", (1200, 1800), 8),
                                                 ("a4", (2480, 3508), 30)])
def test_print_sheet_holds_exact_copies_of_the_print(segmented, sheet, size, copies):
    j = job(segmented, PHOTOS[1], CAT.get("uk-passport"))
    lay, image = j.sheet(sheet)
    assert sorted(image.shape[1::-1]) == sorted(size) and lay.copies == copies
    pw, ph = lay.photo_px
    for x, y in lay.positions:
        assert np.array_equal(image[y:y + ph, x:x + pw], j.print_photo)
    pdf = j.sheet_pdf(sheet)
    box = [float(v) for v in re.search(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf).groups()]
    assert box == pytest.approx([v / 25.4 * 72 for v in lay.sheet_mm], abs=1e-3)


def test_original_mode_crops_the_unaltered_photo_and_checks_its_real_background(segmented):
    result, lm = segmented[PHOTOS[0]]
    us = CAT.get("us-passport")
    fill = passport.original_background_colour(result.image.rgb, result.alpha)
    j = passport.Passport(us, CAT.defaults, result.image.rgb, result.alpha, lm, fill, "original")
    size = (printsheet.mm_to_px(51), printsheet.mm_to_px(51))
    assert np.array_equal(j.print_photo, crop.render_crop(result.image.rgb, j.plan, size, fill))
    ids = [c.id for c in j.checks]
    assert {"head_height", "eye_line", "background_colour", "background_uniformity", "cast_shadow"} <= {*ids}
    assert all("new background" not in c.reason for c in j.background_checks)
    replaced = job(segmented, PHOTOS[0], us)
    assert replaced.background_checks == [] and replaced.plan.box == j.plan.box


def test_warning_exactly_for_the_forbidding_presets():
    for p in CAT.presets:
        assert (passport.warning(p) is not None) == (p.replacement_allowed in ("no", "no-self-made"))
    assert {p.id for p in FORBIDDING} >= {"us-passport", "uk-passport", "au-passport", "de-passport"}


# --- the command line ------------------------------------------------------------------------------------


def test_cli_writes_the_print_photo_digital_file_and_sheets(portraits_dir, models_dir, tmp_path, capsys):
    src = portraits_dir / "images" / PHOTOS[0]
    out = tmp_path / "us.jpg"
    code = cli.main([str(src), "-o", str(out), "-m", "u2netp", "--models-dir", str(models_dir),
                     "--preset", "us-passport", "--digital", "--print-sheet", "4x6", "--pdf"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert CAT.get("us-passport").user_message in captured.err
    with Image.open(out) as img:
        assert img.size == (602, 602) and img.info["dpi"] == pytest.approx((300, 300))
    digital_file = tmp_path / "us-digital.jpg"
    assert digital_file.stat().st_size <= 240_000
    with Image.open(digital_file) as img:
        assert img.size == (600, 600)
    with Image.open(tmp_path / "us-sheet-4x6in.jpg") as img:
        assert sorted(img.size) == [1200, 1800]
    assert (tmp_path / "us-sheet-4x6in.pdf").read_bytes().startswith(b"%PDF-")
    assert "Head height" in captured.out and "score" in captured.out


@pytest.mark.parametrize("preset", FORBIDDING, ids=lambda p: p.id)
def test_cli_prints_the_warning_of_every_forbidding_preset_before_writing(preset, segmented, portraits_dir,
                                                                          models_dir, tmp_path, capsys):
    out = tmp_path / "photo.jpg"
    code = cli.main([str(portraits_dir / "images" / PHOTOS[1]), "-o", str(out), "-m", "u2netp",
                     "--models-dir", str(models_dir), "--preset", preset.id, "--check-original"])
    err = capsys.readouterr().err
    assert preset.user_message in err
    if preset.has_layout:
        assert code == 0 and out.is_file()
    else:  # Sweden: no layout at all, nothing written
        assert code == cli.EXIT_INPUT and not out.exists() and "no photo layout" in err


@pytest.mark.parametrize("args, message", [
    (["--pdf", "--preset", "uk-passport"], "--print-sheet"),
    (["--print-sheet", "5x7", "--preset", "uk-passport"], "Unknown print sheet"),
    (["--digital", "--preset", "de-passport"], "no digital upload"),
    (["--digital"], "need --preset"),
    (["--preset", "xx-passport"], "no photo preset called"),
])
def test_cli_refuses_bad_preset_options_in_plain_words(args, message, portraits_dir, models_dir, capsys):
    code = cli.main([str(portraits_dir / "images" / PHOTOS[0]), "--models-dir", str(models_dir), *args])
    err = capsys.readouterr().err
    assert code == cli.EXIT_INPUT and message in err and "Traceback" not in err
