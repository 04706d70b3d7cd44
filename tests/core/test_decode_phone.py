"""Phone photos in CPython: HEIC/HEIF (pillow-heif), AVIF (pillow-avif-plugin), EXIF/HEIF rotation and
ICC profiles converted to sRGB with ImageCms. Every file is made here (tests/phone_photos.py)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageCms

from passbg.core import plugins
from passbg.core.decode import decode_image
from passbg.errors import InputError
from phone_photos import avif, icc_profile, iphone_heic, reference_to_srgb, tagged_jpeg

PERSON = "usc_B001285.jpg"  # 675 x 825


@pytest.fixture(scope="module")
def person(portraits_dir) -> Image.Image:
    with Image.open(portraits_dir / "images" / PERSON) as im:
        return im.convert("RGB")


def test_cpython_reads_heic_and_avif():
    assert plugins.readable() == {"HEIC", "AVIF"}
    extensions = Image.registered_extensions()
    assert extensions.get(".heic") and extensions.get(".avif")  # the CLI's folder scan finds them


@pytest.mark.parametrize("space", ["display-p3", "adobe-rgb"])
def test_the_built_profiles_are_what_imagecms_converts_by_the_textbook(space):
    """The test profiles are real ICC profiles: ImageCms reads them, and its conversion of every level
    of each channel and random colours matches linearise -> XYZ -> sRGB within 1 of 255."""
    profile = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile(space)))
    assert "test" in ImageCms.getProfileDescription(profile)
    levels = np.arange(256, dtype=np.uint8)
    ramps = np.stack([np.stack([levels if c == k else np.zeros(256, np.uint8) for c in range(3)], -1)
                      for k in range(3)])
    noise = np.random.default_rng(1).integers(0, 256, (3, 256, 3), dtype=np.uint8)
    pixels = np.concatenate([ramps, noise])
    png = io.BytesIO()
    Image.fromarray(pixels).save(png, "PNG", icc_profile=icc_profile(space))
    decoded = decode_image(png.getvalue())
    assert decoded.colour == "converted"
    assert np.abs(decoded.rgb - reference_to_srgb(pixels, space)).max() <= 1.0


def test_iphone_heic_is_upright_in_srgb_with_what_was_done_recorded(person):
    data = iphone_heic(person)  # stored sideways, EXIF/irot 6, Display P3
    decoded = decode_image(data)
    assert decoded.format == "HEIC"
    assert decoded.size == decoded.original_size == person.size  # upright: 675 x 825, not 825 x 675
    assert decoded.orientation == 6
    assert decoded.colour == "converted"
    assert not any("ignored" in note for note in decoded.notes)
    # The P3 values were converted: the result is the textbook conversion of the upright photo, up to the
    # HEVC coding error; reading the same pixels as sRGB (no conversion) is visibly further away.
    expected = reference_to_srgb(np.asarray(person), "display-p3")
    error = np.abs(decoded.rgb - expected).mean()
    unconverted = np.abs(np.asarray(person, dtype=np.float64) - expected).mean()
    assert error < 2.5 and unconverted > 2 * error, (error, unconverted)


def test_avif_decodes_upright_and_an_adobe_rgb_profile_is_converted(person):
    plain = decode_image(avif(person))
    assert plain.format == "AVIF" and plain.size == person.size and plain.colour == "untagged"
    assert np.abs(plain.rgb - np.asarray(person, dtype=np.float64)).mean() < 2.5
    tagged = decode_image(avif(person, space="adobe-rgb"))
    assert tagged.colour == "converted"
    expected = reference_to_srgb(np.asarray(person), "adobe-rgb")
    assert np.abs(tagged.rgb - expected).mean() < 2.5


def test_p3_jpeg_is_converted_not_ignored(person):
    decoded = decode_image(tagged_jpeg(person, "display-p3"))
    assert decoded.colour == "converted" and decoded.notes == ()
    expected = reference_to_srgb(np.asarray(person), "display-p3")
    error = np.abs(decoded.rgb - expected).mean()  # JPEG's 4:2:0 chroma error, ~1.6
    assert error < 2.5 and np.abs(np.asarray(person, dtype=np.float64) - expected).mean() > 2 * error


def test_a_large_heic_is_bounded_to_the_working_size(person):
    big = person.resize((2700, 3300), Image.Resampling.BICUBIC)
    decoded = decode_image(iphone_heic(big, orientation=1, quality=50), max_side=1000)
    assert decoded.original_size == (2700, 3300)
    assert max(decoded.size) == 1000
    assert any("Working at" in note for note in decoded.notes)


@pytest.mark.parametrize("make", [iphone_heic, avif], ids=["heic", "avif"])
def test_a_cut_off_phone_photo_names_its_format_and_what_to_do(person, make):
    data = make(person)
    fmt = "HEIC" if make is iphone_heic else "AVIF"
    for cut in (len(data) // 2, len(data) - 200):
        with pytest.raises(InputError) as info:
            decode_image(data[:cut])
        words = str(info.value)
        assert fmt in words and "damaged" in words and "JPEG" in words, words


def test_without_a_decoder_the_refusal_names_the_format_and_what_to_do(monkeypatch, person):
    """Pyodide has neither plugin: this is the message the page falls back to if its own decoders fail."""
    import passbg.core.decode as decode

    monkeypatch.setattr(decode, "_READABLE_CONTAINERS", frozenset())
    with pytest.raises(InputError, match="HEIC/HEIF photo .*no decoder here.*Export it as JPEG"):
        decode_image(iphone_heic(person))
    with pytest.raises(InputError, match="AVIF image, which no decoder here.*JPEG or PNG"):
        decode_image(avif(person))
