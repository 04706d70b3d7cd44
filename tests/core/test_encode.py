"""Encoders: what each writer puts in the file (mode, size, dpi, subsampling, no metadata), checked by
reading the bytes back with Pillow; and the one-page PDF's exact page size."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from PIL import Image

from passbg.core.encode import encode_jpeg, encode_pdf, encode_png


def photo(h: int = 48, w: int = 64) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    return np.stack([xx * 4 % 256, yy * 5 % 256, (xx + yy) * 2 % 256], -1).astype(np.uint8)


def test_jpeg_is_4_4_4_without_exif_or_profile_and_carries_the_dpi_asked_for():
    img = Image.open(io.BytesIO(encode_jpeg(photo(), dpi=300)))
    assert img.format == "JPEG" and img.size == (64, 48) and img.mode == "RGB"
    assert img.info["dpi"] == pytest.approx((300, 300))
    assert "exif" not in img.info and "icc_profile" not in img.info
    assert img.layer[0][1:3] == img.layer[1][1:3] == (1, 1)  # no chroma subsampling: 1x1 per channel


def test_jpeg_with_subsampling_2_is_4_2_0_and_smaller():
    rgb = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    full, sub = encode_jpeg(rgb, quality=90), encode_jpeg(rgb, quality=90, subsampling=2)
    assert Image.open(io.BytesIO(sub)).layer[0][1:3] == (2, 2)
    assert len(sub) < len(full)


def test_jpeg_pixels_are_close_to_the_array():
    rgb = photo()
    back = np.asarray(Image.open(io.BytesIO(encode_jpeg(rgb))), np.float32)
    assert np.abs(back - rgb).mean() < 2.0


@pytest.mark.parametrize("shape, mode", [((20, 30), "L"), ((20, 30, 3), "RGB"), ((20, 30, 4), "RGBA")])
def test_png_is_lossless_in_the_mode_of_the_array(shape, mode):
    px = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    img = Image.open(io.BytesIO(encode_png(px, dpi=150)))
    assert img.mode == mode
    assert np.array_equal(np.asarray(img), px)
    assert img.info["dpi"] == pytest.approx((150, 150), abs=0.05)  # PNG stores dots per metre


@pytest.mark.parametrize("bad", [np.zeros((4, 4, 3), np.float32), np.zeros((4, 4, 2), np.uint8)])
def test_wrong_arrays_are_refused_before_writing(bad):
    with pytest.raises(ValueError, match="expected uint8"):
        encode_png(bad)
    with pytest.raises(ValueError, match="expected uint8"):
        encode_jpeg(bad)


def test_pdf_page_has_the_exact_size_and_holds_the_image_at_the_dpi():
    rgb = photo(1181, 827)  # 70 x 100 mm at 300 dpi
    pdf = encode_pdf(rgb, (100.0, 150.0), dpi=300)
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    box = re.search(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf)
    assert (float(box.group(1)), float(box.group(2))) == pytest.approx((100 / 25.4 * 72, 150 / 25.4 * 72))
    draw = re.search(rb"q ([\d.]+) 0 0 ([\d.]+) 0 ([\d.]+) cm /Im0 Do Q", pdf)
    assert float(draw.group(1)) == pytest.approx(827 * 72 / 300)
    assert float(draw.group(2)) == pytest.approx(1181 * 72 / 300)
    xref = int(re.search(rb"startxref\n(\d+)", pdf).group(1))
    assert pdf[xref:].startswith(b"xref")


def test_a_jpeg_of_pure_noise_is_still_written_not_a_broken_stream_error():
    # Pillow's optimized encoder allots 1 byte per pixel; noise at quality 92, 4:4:4 needs more.
    noise = np.random.default_rng(0).integers(0, 256, (400, 300, 3), dtype=np.uint8)
    data = encode_jpeg(noise, quality=92)
    assert Image.open(io.BytesIO(data)).size == (300, 400)
