"""What Pyodide hands to the browser's decoders (passbg.core.decode.handoff, read from the file's
structure alone) and the pixel entry point the browser's pixels come back through (from_pixels,
pipeline.prepare_pixels), which must give what decoding the bytes gives."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageCms

import passbg.core.decode as decode
from passbg.core import containers, pipeline
from phone_photos import avif, icc_profile, iphone_heic, tagged_jpeg


@pytest.fixture(scope="module")
def person(portraits_dir) -> Image.Image:
    with Image.open(portraits_dir / "images" / "usc_B001285.jpg") as im:
        return im.convert("RGB")


@pytest.fixture
def like_pyodide(monkeypatch):
    """This Pillow without the phone plugins and without littlecms, as in the browser."""
    monkeypatch.setattr(decode, "_READABLE_CONTAINERS", frozenset())
    monkeypatch.setattr(decode, "ImageCms", None)


def test_cpython_hands_nothing_over(person):
    for data in (iphone_heic(person), avif(person), tagged_jpeg(person, "display-p3")):
        assert decode.handoff(data) is None


def test_pyodide_hands_over_heic_with_its_profile_and_rotation(person, like_pyodide):
    how = decode.handoff(iphone_heic(person))
    assert (how.reason, how.format, how.orientation) == ("HEIC", "HEIC", 6)
    assert how.icc == icc_profile("display-p3")
    how = decode.handoff(avif(person, space="adobe-rgb"))
    assert (how.reason, how.format, how.orientation, how.icc) == ("AVIF", "AVIF", 1, icc_profile("adobe-rgb"))


def test_pyodide_hands_over_a_tagged_jpeg_but_keeps_srgb_and_untagged_ones(person, like_pyodide):
    exif = Image.Exif()
    exif[0x0112] = 8
    how = decode.handoff(tagged_jpeg(person, "adobe-rgb", exif=exif.tobytes()))
    assert (how.reason, how.format, how.orientation) == ("profile", "JPEG", 8)
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buf = io.BytesIO()
    person.save(buf, "JPEG", icc_profile=srgb)
    assert decode.handoff(buf.getvalue()) is None  # Pillow passes sRGB through as CPython does
    buf = io.BytesIO()
    person.save(buf, "PNG")
    assert decode.handoff(buf.getvalue()) is None
    assert decode.handoff(b"not an image at all") is None  # decode_image explains that one


def test_icc_descriptions_v2_and_v4():
    srgb_v2 = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    assert containers.is_srgb_profile(srgb_v2)
    assert containers.icc_description(icc_profile("display-p3")) == "Display P3 (passbg test)"
    assert not containers.is_srgb_profile(icc_profile("display-p3"))
    assert containers.icc_description(b"\0" * 20) == ""


def test_from_pixels_keeps_transparency_and_bounds_the_size():
    rgba = np.full((300, 200, 4), 255, np.uint8)
    rgba[:50, :, 3] = 0
    image = decode.from_pixels(rgba, format="AVIF", original_size=(400, 600), max_side=150)
    assert image.size == (100, 150) and image.original_size == (400, 600)
    assert image.alpha is not None and image.alpha[:20].max() == 0 and image.alpha[-20:].min() == 255
    assert any("transparent" in n for n in image.notes)
    assert any("Working at 100 x 150 (original 400 x 600)" in n for n in image.notes)
    opaque = decode.from_pixels(np.full((10, 8, 4), 255, np.uint8), format="HEIC", original_size=(8, 10))
    assert opaque.alpha is None and opaque.notes == () and opaque.scale == 1.0
    with pytest.raises(ValueError):
        decode.from_pixels(np.zeros((4, 4, 3), np.uint8), format="JPEG", original_size=(4, 4))


def test_the_pixel_entry_point_prepares_what_the_bytes_entry_point_does(person, manifest):
    """Same pixels in, same model input and working image out (the browser's path vs Pillow's)."""
    spec = manifest.get("u2netp")
    big = person.resize((2700, 3300))
    buf = io.BytesIO()
    big.save(buf, "PNG")
    from_bytes = pipeline.prepare(buf.getvalue(), spec, max_side=1000)
    rgba = np.dstack([np.asarray(big), np.full(big.size[::-1], 255, np.uint8)])
    from_px = pipeline.prepare_pixels(rgba, spec, max_side=1000, format="PNG", original_size=big.size)
    assert np.array_equal(from_px.image.rgb, from_bytes.image.rgb)
    assert np.array_equal(from_px.tensor, from_bytes.tensor)
    assert from_px.image.notes == from_bytes.image.notes
