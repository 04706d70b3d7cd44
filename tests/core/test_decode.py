"""decode_image: every photo becomes upright sRGB uint8 (H, W, 3) at a bounded size, or a plain InputError."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageCms

from passbg.core.decode import MAX_PIXELS, decode_image
from passbg.errors import InputError

RED, GREEN, BLUE, GREY = (220, 30, 30), (30, 200, 40), (30, 40, 210), (128, 128, 128)


def encode(im: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **options)
    return buf.getvalue()


def quadrant_image(width: int = 64, height: int = 48) -> Image.Image:
    """Upright test picture: red top-left, green top-right, blue bottom-left, grey bottom-right."""
    im = Image.new("RGB", (width, height), GREY)
    im.paste(RED, (0, 0, width // 2, height // 2))
    im.paste(GREEN, (width // 2, 0, width, height // 2))
    im.paste(BLUE, (0, height // 2, width // 2, height))
    return im


def quadrant_colours(rgb: np.ndarray) -> list[tuple[int, ...]]:
    """Mean colour at the centre of each quadrant: TL, TR, BL, BR."""
    h, w = rgb.shape[:2]
    points = [(h // 4, w // 4), (h // 4, 3 * w // 4), (3 * h // 4, w // 4), (3 * h // 4, 3 * w // 4)]
    return [
        tuple(int(v) for v in rgb[y - 2 : y + 3, x - 2 : x + 3].reshape(-1, 3).mean(0)) for y, x in points
    ]


def close(a, b, tol: int = 12) -> bool:
    return all(abs(int(x) - int(y)) <= tol for x, y in zip(a, b, strict=True))


# How a camera stores the upright picture for each EXIF orientation: the inverse of the fix.
STORED_AS = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_every_exif_orientation_comes_out_upright(orientation: int, fmt: str):
    upright = quadrant_image()
    stored = upright if STORED_AS[orientation] is None else upright.transpose(STORED_AS[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    options = {"quality": 95} if fmt == "JPEG" else {}
    decoded = decode_image(encode(stored, fmt, exif=exif.tobytes(), **options))
    assert decoded.rgb.shape == (48, 64, 3)
    assert decoded.original_size == (64, 48)
    assert decoded.orientation == orientation
    for got, want in zip(quadrant_colours(decoded.rgb), (RED, GREEN, BLUE, GREY), strict=True):
        assert close(got, want), (got, want)


def test_result_is_writable_contiguous_uint8_rgb():
    decoded = decode_image(encode(quadrant_image(), "PNG"))
    assert decoded.rgb.dtype == np.uint8 and decoded.rgb.flags.c_contiguous and decoded.rgb.flags.writeable
    assert decoded.scale == 1.0 and decoded.alpha is None and decoded.format == "PNG"


def test_webp_is_read():
    decoded = decode_image(encode(quadrant_image(), "WEBP", quality=95))
    assert decoded.format == "WEBP"
    assert close(quadrant_colours(decoded.rgb)[0], RED)


def test_greyscale_becomes_three_equal_channels():
    grey = Image.linear_gradient("L").resize((40, 30))
    decoded = decode_image(encode(grey, "JPEG", quality=95))
    assert decoded.rgb.shape == (30, 40, 3)
    assert (decoded.rgb[..., 0] == decoded.rgb[..., 1]).all() and (
        decoded.rgb[..., 1] == decoded.rgb[..., 2]
    ).all()


def test_cmyk_jpeg_becomes_rgb():
    red_in_cmyk = Image.new("CMYK", (32, 32), (0, 255, 255, 0))
    decoded = decode_image(encode(red_in_cmyk, "JPEG", quality=95))
    r, g, b = decoded.rgb[16, 16]
    assert r > 230 and g < 30 and b < 30


def test_16_bit_greyscale_is_scaled_not_clipped():
    values = np.array([[0, 16384, 32768, 65535]], dtype=np.uint16).repeat(4, axis=0)
    decoded = decode_image(encode(Image.fromarray(values, "I;16"), "PNG"))
    assert decoded.rgb[0, :, 0].tolist() == [0, 64, 128, 255]


def test_palette_with_transparency_is_flattened_on_white_and_keeps_its_alpha():
    im = Image.new("P", (20, 10), 0)
    im.putpalette([0, 0, 0, 200, 20, 20] + [0] * 762)
    im.paste(1, (10, 0, 20, 10))
    im.info["transparency"] = 0  # index 0 (black) is transparent
    decoded = decode_image(encode(im, "PNG", transparency=0))
    assert decoded.alpha is not None
    assert (decoded.alpha[:, :10] == 0).all() and (decoded.alpha[:, 10:] == 255).all()
    assert (decoded.rgb[:, :10] == 255).all(), "transparent pixels show white, not the hidden black"
    assert decoded.rgb[5, 15].tolist() == [200, 20, 20]
    assert any("transparent" in note for note in decoded.notes)


def test_semi_transparent_rgba_is_composited_over_white():
    rgba = np.zeros((8, 8, 4), dtype=np.uint8)
    rgba[..., 0] = 200  # red, hidden colour black elsewhere
    rgba[..., 3] = 128
    decoded = decode_image(encode(Image.fromarray(rgba, "RGBA"), "PNG"))
    expected = np.rint(np.array([200, 0, 0]) * 128 / 255 + 255 * (1 - 128 / 255))
    assert np.abs(decoded.rgb[4, 4].astype(int) - expected).max() <= 1
    assert (decoded.alpha == 128).all()


def test_fully_opaque_alpha_is_dropped():
    rgba = Image.new("RGBA", (8, 8), (10, 20, 30, 255))
    decoded = decode_image(encode(rgba, "PNG"))
    assert decoded.alpha is None and decoded.rgb[0, 0].tolist() == [10, 20, 30]


def test_greyscale_with_alpha():
    la = Image.new("LA", (8, 8), (0, 0))
    la.paste((100, 255), (0, 0, 4, 8))
    decoded = decode_image(encode(la, "PNG"))
    assert decoded.rgb[0, 0].tolist() == [100, 100, 100] and decoded.rgb[0, 7].tolist() == [255, 255, 255]
    assert decoded.alpha[0, 0] == 255 and decoded.alpha[0, 7] == 0


# --- ICC colour profiles -------------------------------------------------------------------------

# sRGB primaries and white adapted to the ICC D50 connection space (the values sRGB profiles carry).
SRGB_D50 = {"r": (0.4361, 0.2225, 0.0139), "g": (0.3851, 0.7169, 0.0971), "b": (0.1431, 0.0606, 0.7141)}
D50 = (0.9642, 1.0, 0.8249)


def icc_profile(colorants: dict[str, tuple[float, float, float]], gamma: float, name: str) -> bytes:
    """A minimal ICC v2 RGB display profile: a 3x3 matrix (colorants) and a pure gamma curve per channel."""

    def s15(v: float) -> bytes:
        return struct.pack(">i", round(v * 65536))

    def xyz(values) -> bytes:
        return b"XYZ " + b"\0" * 4 + b"".join(s15(v) for v in values)

    desc_text = name.encode("ascii") + b"\0"
    desc = b"desc" + b"\0" * 4 + struct.pack(">I", len(desc_text)) + desc_text + b"\0" * 4 + b"\0" * 4
    desc += b"\0" * 3 + b"\0" * 67
    curve = b"curv" + b"\0" * 4 + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"
    tags = [
        (b"desc", desc),
        (b"wtpt", xyz(D50)),
        (b"rXYZ", xyz(colorants["r"])),
        (b"gXYZ", xyz(colorants["g"])),
        (b"bXYZ", xyz(colorants["b"])),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
        (b"cprt", b"text" + b"\0" * 4 + b"public domain\0"),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, data in tags:
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data + b"\0" * (-len(data) % 4)
    size = offset + len(body)
    header = struct.pack(">I", size) + b"none" + bytes([2, 0x10, 0, 0]) + b"mntrRGB XYZ "
    header += (
        struct.pack(">6H", 2024, 1, 1, 0, 0, 0) + b"acsp" + b"\0" * 4 + b"\0" * 4 + b"\0" * 8 + b"\0" * 8
    )
    header += struct.pack(">I", 0) + b"".join(s15(v) for v in D50) + b"\0" * 4 + b"\0" * 16 + b"\0" * 28
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body


def test_hand_made_profile_is_valid_for_littlecms():
    profile = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile(SRGB_D50, 2.2, "test")))
    assert ImageCms.getProfileDescription(profile).strip() == "test"


def test_icc_profile_is_converted_to_srgb():
    # A profile whose red and green primaries are swapped: the stored value (220, 30, 30) MEANS green.
    swapped = {"r": SRGB_D50["g"], "g": SRGB_D50["r"], "b": SRGB_D50["b"]}
    data = encode(quadrant_image(), "PNG", icc_profile=icc_profile(swapped, 2.2, "swapped"))
    decoded = decode_image(data)
    assert decoded.colour == "converted"
    r, g, b = quadrant_colours(decoded.rgb)[0]
    assert g > 180 and r < 80, (r, g, b)


def test_profile_close_to_srgb_changes_colours_only_slightly():
    data = encode(quadrant_image(), "JPEG", quality=95, icc_profile=icc_profile(SRGB_D50, 2.2, "near sRGB"))
    decoded = decode_image(data)
    for got, want in zip(quadrant_colours(decoded.rgb), (RED, GREEN, BLUE, GREY), strict=True):
        assert close(got, want, tol=16), (got, want)


def test_srgb_tagged_photo_is_left_alone():
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    decoded = decode_image(encode(quadrant_image(), "PNG", icc_profile=srgb))
    assert decoded.colour == "srgb"
    assert decoded.rgb[0, 0].tolist() == list(RED)


def test_broken_profile_is_ignored_with_a_note():
    decoded = decode_image(encode(quadrant_image(), "PNG", icc_profile=b"not a profile at all"))
    assert decoded.colour == "ignored" and decoded.notes
    assert decoded.rgb[0, 0].tolist() == list(RED)


# --- size -----------------------------------------------------------------------------------------


def test_large_jpeg_is_decoded_at_bounded_working_size_and_original_size_is_recorded():
    big = quadrant_image(3000, 2000)
    data = encode(big, "JPEG", quality=90)
    decoded = decode_image(data, max_side=1000)
    assert decoded.rgb.shape == (667, 1000, 3)
    assert decoded.original_size == (3000, 2000)
    assert decoded.scale == pytest.approx(1000 / 3000)
    assert decoded.source == data
    assert close(quadrant_colours(decoded.rgb)[0], RED)


def test_large_rotated_png_is_bounded_on_its_upright_longest_side():
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(quadrant_image(1200, 600).transpose(Image.Transpose.ROTATE_90), "PNG", exif=exif.tobytes())
    decoded = decode_image(data, max_side=400)
    assert decoded.rgb.shape == (200, 400, 3) and decoded.original_size == (1200, 600)


def test_small_photo_is_not_enlarged():
    decoded = decode_image(encode(quadrant_image(64, 48), "PNG"), max_side=2560)
    assert decoded.rgb.shape == (48, 64, 3) and decoded.scale == 1.0


# --- refusals -------------------------------------------------------------------------------------


def png_declaring_size(width: int, height: int) -> bytes:
    """A tiny valid-looking PNG whose header claims width x height (a decompression bomb's signature)."""
    data = bytearray(encode(Image.new("L", (1, 1)), "PNG"))
    ihdr = 8  # after the signature: length(4) type(4) data(13) crc(4)
    data[ihdr + 8 : ihdr + 16] = struct.pack(">II", width, height)
    data[ihdr + 21 : ihdr + 25] = struct.pack(">I", zlib.crc32(bytes(data[ihdr + 4 : ihdr + 21])))
    return bytes(data)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"%PDF-1.7\n1 0 obj <<>> endobj\n", "PDF"),
        (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>', "SVG"),
        ("Dear passport office,\nplease find attached… ünïcödé\n".encode(), "text file"),
        (bytes(range(256)) * 8, "not an image format"),
        (b"\0\0\0\x18ftypheic\0\0\0\0mif1heic", "HEIC"),
    ],
)
def test_non_images_are_refused_with_a_plain_message(data: bytes, words: str):
    with pytest.raises(InputError, match=words) as info:
        decode_image(data)
    assert "JPEG" in str(info.value) or "HEIC" in words


def test_decompression_bomb_is_refused_before_decoding():
    side = int(MAX_PIXELS**0.5) + 100
    with pytest.raises(InputError, match="megapixels"):
        decode_image(png_declaring_size(side, side))


def test_absurd_bomb_is_refused_too():
    with pytest.raises(InputError, match="(?i)megapixels|enormous"):
        decode_image(png_declaring_size(100_000, 100_000))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_file_is_refused(fmt: str):
    rng = np.random.default_rng(0)
    noisy = Image.fromarray(rng.integers(0, 256, (200, 200, 3), dtype=np.uint8))
    data = encode(noisy, fmt)
    with pytest.raises(InputError, match="damaged|incomplete"):
        decode_image(data[: len(data) // 2])


def test_real_portrait_decodes(portraits_dir):
    path = sorted((portraits_dir / "images").glob("*.jpg"))[0]
    with Image.open(path) as im:
        size = im.size
    decoded = decode_image(path.read_bytes())
    assert decoded.original_size == size and decoded.rgb.shape[:2] == (size[1], size[0])
