"""Phone-style test photos made at test time, never downloaded: ICC colour profiles (Display P3, Adobe
RGB), a P3-tagged JPEG, an iPhone-style HEIC (P3, stored sideways with an EXIF rotation) and an AVIF.

Pillow 10.2's ImageCms can only *create* sRGB, LAB and XYZ profiles, so the RGB profiles are written here
as ICC v4 matrix/TRC profiles (the kind cameras and phones embed) and then read back with ImageCms by the
tests, which also check ImageCms' conversion against the textbook matrix maths (`reference_to_srgb`).
Importing this module registers the HEIC and AVIF writers with Pillow (passbg.core.plugins).
"""

from __future__ import annotations

import io
import struct

import numpy as np
from PIL import Image

from passbg.core import plugins

plugins.readable()

# CIE xy of the primaries and white point (D65 for all three).
PRIMARIES = {
    "srgb": ((0.640, 0.330), (0.300, 0.600), (0.150, 0.060)),
    "display-p3": ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060)),
    "adobe-rgb": ((0.640, 0.330), (0.210, 0.710), (0.150, 0.060)),
}
D65 = (0.3127, 0.3290)
D50_XYZ = (0.9642, 1.0, 0.8249)
# ICC 'para' curves: type 3 is the sRGB curve (Display P3 uses it too), type 0 a pure gamma.
SRGB_CURVE = (3, (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045))
ADOBE_CURVE = (0, (563 / 256,))
CURVES = {"srgb": SRGB_CURVE, "display-p3": SRGB_CURVE, "adobe-rgb": ADOBE_CURVE}
TITLES = {"srgb": "sRGB (test)", "display-p3": "Display P3 (passbg test)",
          "adobe-rgb": "Adobe RGB (passbg test)"}
_BRADFORD = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])


def _xyz(xy: tuple[float, float]) -> np.ndarray:
    x, y = xy
    return np.array([x / y, 1.0, (1 - x - y) / y])


def rgb_to_xyz(space: str) -> np.ndarray:
    """3x3 matrix: linear RGB of `space` -> CIE XYZ (D65, Y of white = 1)."""
    columns = np.stack([_xyz(p) for p in PRIMARIES[space]], axis=1)
    return columns * np.linalg.solve(columns, _xyz(D65))


def _d65_to_d50() -> np.ndarray:
    src, dst = _BRADFORD @ _xyz(D65), _BRADFORD @ np.array(D50_XYZ)
    return np.linalg.inv(_BRADFORD) @ np.diag(dst / src) @ _BRADFORD


def _s15(values) -> bytes:
    return b"".join(struct.pack(">i", round(float(v) * 65536)) for v in values)


def _pad(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def _mluc(text: str) -> bytes:
    """An ICC v4 multiLocalizedUnicodeType holding `text` in en-US."""
    data = text.encode("utf-16-be")
    record = b"enUS" + struct.pack(">II", len(data), 28)
    return b"mluc" + b"\0" * 4 + struct.pack(">II", 1, 12) + record + data


def icc_profile(space: str) -> bytes:
    """An ICC v4.3 display profile (matrix/TRC, D50 PCS) for 'display-p3', 'adobe-rgb' or 'srgb'."""
    to_d50 = _d65_to_d50() @ rgb_to_xyz(space)  # colourants adapted to the D50 PCS, as ICC v4 wants
    kind, params = CURVES[space]
    curve = b"para" + b"\0" * 4 + struct.pack(">HH", kind, 0) + _s15(params)
    desc, cprt = _mluc(TITLES[space]), _mluc("public domain")
    tags: list[tuple[bytes, bytes]] = [
        (b"desc", desc),
        (b"cprt", cprt),
        (b"wtpt", b"XYZ " + b"\0" * 4 + _s15(D50_XYZ)),
        (b"rXYZ", b"XYZ " + b"\0" * 4 + _s15(to_d50[:, 0])),
        (b"gXYZ", b"XYZ " + b"\0" * 4 + _s15(to_d50[:, 1])),
        (b"bXYZ", b"XYZ " + b"\0" * 4 + _s15(to_d50[:, 2])),
        (b"rTRC", curve),
    ]
    table_size = 4 + 12 * (len(tags) + 2)  # gTRC and bTRC share rTRC's data
    offset = 128 + table_size
    entries, blobs, trc_at = [], [], 0
    for sig, data in tags:
        if sig == b"rTRC":
            trc_at = offset
        entries.append(struct.pack(">4sII", sig, offset, len(data)))
        blobs.append(_pad(data))
        offset += len(blobs[-1])
    entries += [struct.pack(">4sII", sig, trc_at, len(curve)) for sig in (b"gTRC", b"bTRC")]
    body = struct.pack(">I", len(entries)) + b"".join(entries) + b"".join(blobs)
    size = 128 + len(body)
    header = (
        struct.pack(">I", size) + b"\0" * 4 + struct.pack(">I", 0x04300000) + b"mntrRGB XYZ "
        + struct.pack(">6H", 2026, 1, 1, 0, 0, 0) + b"acsp" + b"\0" * 24
        + struct.pack(">I", 0) + _s15(D50_XYZ) + b"\0" * 4 + b"\0" * 16 + b"\0" * 28
    )
    assert len(header) == 128
    return header + body


def _decode_curve(values: np.ndarray, space: str) -> np.ndarray:
    kind, params = CURVES[space]
    if kind == 0:
        return values ** params[0]
    g, a, b, c, d = params
    return np.where(values >= d, (a * values + b) ** g, c * values)


def reference_to_srgb(rgb: np.ndarray, space: str) -> np.ndarray:
    """uint8 (..., 3) encoded in `space` -> float64 (..., 3) sRGB in 0..255, clipped (the textbook path:
    linearise, to XYZ, to linear sRGB, encode). What a colour-managed decoder must produce."""
    linear = _decode_curve(rgb.astype(np.float64) / 255.0, space)
    srgb_linear = np.clip(linear @ (np.linalg.inv(rgb_to_xyz("srgb")) @ rgb_to_xyz(space)).T, 0.0, 1.0)
    low, high = 12.92 * srgb_linear, 1.055 * srgb_linear ** (1 / 2.4) - 0.055
    encoded = np.where(srgb_linear <= 0.0031308, low, high)
    return encoded * 255.0


def tagged_jpeg(im: Image.Image, space: str = "display-p3", *, quality: int = 95, **options) -> bytes:
    """`im`'s pixel values saved as a JPEG that says they are in `space` (no conversion: the file's
    colours are what they would be if a phone had shot them in that space)."""
    buf = io.BytesIO()
    im.convert("RGB").save(buf, "JPEG", quality=quality, icc_profile=icc_profile(space), **options)
    return buf.getvalue()


def iphone_heic(upright: Image.Image, *, orientation: int = 6, quality: int = 90) -> bytes:
    """An iPhone-style HEIC: Display P3 profile, pixels stored as the sensor saw them (for orientation 6,
    turned 90 degrees anticlockwise) with the EXIF orientation that turns them upright. pillow-heif
    writes the orientation as the HEIF rotation (irot) and keeps it in the EXIF, as iPhones do."""
    stored = upright.convert("RGB")
    if orientation == 6:
        stored = stored.transpose(Image.Transpose.ROTATE_90)
    elif orientation != 1:
        raise ValueError("only orientations 1 and 6 are made here")
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "Apple"
    buf = io.BytesIO()
    stored.save(buf, "HEIF", quality=quality, icc_profile=icc_profile("display-p3"), exif=exif.tobytes())
    return buf.getvalue()


def avif(im: Image.Image, *, space: str | None = None, quality: int = 90, speed: int = 8) -> bytes:
    """An AVIF of `im` (4:2:0, 8 bits), tagged with `space`'s ICC profile when given."""
    buf = io.BytesIO()
    options = {"icc_profile": icc_profile(space)} if space else {}
    im.convert("RGB").save(buf, "AVIF", quality=quality, speed=speed, **options)
    return buf.getvalue()
