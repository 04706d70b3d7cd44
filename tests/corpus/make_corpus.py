"""Generate the corpus of bad and unusual inputs that passbg must survive (issue 7).

    python tests/corpus/make_corpus.py OUT_DIR

Writes one file per case into OUT_DIR plus `corpus.json`: for each case its file name, what it is, and
what the user must get (`expect`: "ok" = a result; "error" = a plain-words refusal). `says` lists words
the message (error) or the result's notes (ok) must contain. Nothing here is hand-collected: every file is
made from the shared portraits (../shared/data/portraits) or synthesised, deterministically (fixed seeds,
fixed encoder settings). HEIC and AVIF come from pillow-heif and pillow-avif-plugin, which passbg's
CPython side also reads them with (passbg.core.plugins); the page decodes them with the browser or
libheif-js (static/app/image-decode.mjs).
"""

from __future__ import annotations

import io
import json
import os
import struct
import sys
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[2]
PORTRAITS = Path(os.environ.get("PASSBG_PORTRAITS", REPO.parent / "shared" / "data" / "portraits")) / "images"
# Plain-background portraits with one person, the building blocks of the composed cases.
PERSON_A = "usc_B001285.jpg"  # 675x825, grey-white hair, plain backdrop
PERSON_B = "usc_A000370.jpg"  # 675x825, dark hair, plain backdrop
PERSON_C = "usc_S001159.jpg"  # 1280x1600, long dark hair, busy backdrop
VERSION = 3  # bump when a case changes, so cached corpora are rebuilt


@dataclass(frozen=True)
class Case:
    name: str
    file: str
    what: str
    expect: str  # "ok" or "error"
    says: tuple[str, ...] = ()  # words (any case) the message or the notes must contain
    browser: bool = False  # part of the lean subset run through the real page
    extra: dict = field(default_factory=dict)


_CASES: list[tuple[Case, Callable[[], bytes]]] = []


def case(name: str, file: str, what: str, expect: str, *says: str, browser: bool = False, **extra):
    def register(make: Callable[[], bytes]) -> Callable[[], bytes]:
        _CASES.append((Case(name, file, what, expect, says, browser, extra), make))
        return make

    return register


# --- helpers -------------------------------------------------------------------------------------
def portrait(name: str = PERSON_A) -> Image.Image:
    with Image.open(PORTRAITS / name) as im:
        return im.convert("RGB")


def encode(im: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **options)
    return buf.getvalue()


def jpeg(im: Image.Image, **options) -> bytes:
    return encode(im, "JPEG", quality=options.pop("quality", 90), **options)


def grain(im: Image.Image, sigma: float, seed: int) -> Image.Image:
    """Add camera-like noise so large JPEGs have realistic sizes (smooth upscales compress to nothing)."""
    rng = np.random.default_rng(seed)
    a = np.asarray(im, dtype=np.int16)
    noise = rng.normal(0.0, sigma, a.shape[:2] + (1,)).astype(np.int16)
    return Image.fromarray(np.clip(a + noise, 0, 255).astype(np.uint8))


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def landscape(width: int, height: int, seed: int) -> Image.Image:
    """A synthetic outdoor scene with no person: sky gradient, two hill lines, grassy ground, noise."""
    rng = np.random.default_rng(seed)
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    x = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    ones = np.ones((height, width), dtype=np.float32)
    sky = np.stack([(120 + 80 * y) * ones, (170 + 60 * y) * ones, 235 * ones], axis=-1)
    ground = np.stack([(70 + 30 * y) * ones, (120 + 40 * y) * ones, (50 + 10 * y) * ones], axis=-1)
    far = 0.55 + 0.05 * np.sin(6.0 * x + 1.0) + 0.03 * np.sin(17.0 * x)
    near = 0.68 + 0.04 * np.sin(4.0 * x + 2.0)
    img = np.where((y < far)[..., None], sky, np.where((y < near)[..., None], ground * 0.8 + 20, ground))
    img += rng.normal(0.0, 4.0, img.shape)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


# --- the cases -----------------------------------------------------------------------------------
@case("zero-bytes", "empty.jpg", "a file of 0 bytes", "error", "empty", browser=True)
def _empty() -> bytes:
    return b""


@case("truncated-jpeg", "truncated.jpg", "a JPEG cut off at 40 %", "error", "damaged", browser=True)
def _truncated_jpeg() -> bytes:
    data = jpeg(portrait())
    return data[: len(data) * 2 // 5]


@case("truncated-png", "truncated.png", "a PNG cut off at 40 %", "error", "damaged")
def _truncated_png() -> bytes:
    data = encode(portrait(), "PNG")
    return data[: len(data) * 2 // 5]


@case("text-as-jpg", "notes.jpg", "a text file renamed .jpg", "error", "text file")
def _text() -> bytes:
    return b"Passport application\nName: ...\nPlease attach a photo.\n" * 20


@case("pdf-as-jpg", "scan.jpg", "a PDF renamed .jpg", "error", "PDF", browser=True)
def _pdf() -> bytes:
    # A minimal well-formed one-page PDF (objects, xref, trailer), as a scanner would write.
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


@case("svg", "drawing.svg", "an SVG drawing", "error", "SVG")
def _svg() -> bytes:
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<svg xmlns="http://www.w3.org/2000/svg" width="300" height="400">'
        b'<circle cx="150" cy="130" r="80" fill="#c96"/><rect x="40" y="230" width="220" height="170"/>'
        b"</svg>\n"
    )


@case("animated-gif", "animated.gif", "an animated GIF of 3 frames", "ok", "first frame", browser=True)
def _gif() -> bytes:
    base = portrait()
    frames = [base] + [base.rotate(angle, fillcolor=(255, 255, 255)) for angle in (4, -4)]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=200, loop=0)


@case("webp", "photo.webp", "a WebP photo", "ok")
def _webp() -> bytes:
    return encode(portrait(), "WEBP", quality=85, method=4)


@case("avif", "photo.avif", "an AVIF photo", "ok")
def _avif() -> bytes:
    import pillow_avif  # noqa: F401 - registers the AVIF writer with Pillow

    return encode(portrait().resize((338, 412)), "AVIF", quality=60, speed=8)


@case("heic", "IMG_0001.heic", "an iPhone HEIC photo", "ok", browser=True)
def _heic() -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()
    return encode(portrait().resize((338, 412)), "HEIF", quality=60)


@case("heic-cut", "IMG_0002.heic", "a HEIC photo cut off while copying", "error", "HEIC", "damaged", "JPEG",
      browser=True)
def _heic_cut() -> bytes:
    data = _heic()
    return data[: len(data) // 2]


@case("heic-header-only", "IMG_0003.heic", "a HEIC file that is only its header", "error", "HEIC", "JPEG")
def _heic_header() -> bytes:
    return _iso_bmff_header(b"heic", [b"mif1", b"heic"])


def _iso_bmff_header(major: bytes, compatible: list[bytes]) -> bytes:
    """A minimal ISO-BMFF start: ftyp box (major brand, version, compatible brands) + empty meta box."""
    ftyp = b"ftyp" + major + b"\0\0\0\0" + b"".join(compatible)
    meta = b"meta" + b"\0\0\0\0"
    return struct.pack(">I", 4 + len(ftyp)) + ftyp + struct.pack(">I", 4 + len(meta)) + meta


@case("cmyk-jpeg", "cmyk.jpg", "a CMYK JPEG (print workflow)", "ok")
def _cmyk() -> bytes:
    return jpeg(portrait().convert("CMYK"))


@case("png-16bit", "deep.png", "a 16-bit-per-channel RGB PNG", "ok")
def _png16() -> bytes:
    # Pillow cannot write 48-bit PNG, so the file is assembled from chunks; rows are filter type 0.
    rgb = np.asarray(portrait().resize((338, 412)), dtype=np.uint16) * 257  # full 16-bit range
    height, width = rgb.shape[:2]
    rows = rgb.astype(">u2").reshape(height, width * 3).tobytes()
    stride = width * 6
    raw = b"".join(b"\0" + rows[i * stride : (i + 1) * stride] for i in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(raw, 9))
        + png_chunk(b"IEND", b"")
    )


@case("greyscale", "grey.jpg", "a greyscale JPEG", "ok")
def _grey() -> bytes:
    return jpeg(portrait().convert("L"))


@case(
    "palette-transparent", "screenshot.png", "a palette PNG whose background is transparent", "ok",
    "transparent",
)
def _palette_transparent() -> bytes:
    im = portrait().quantize(colors=255, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    im = im.copy()
    palette = im.getpalette() + [0, 0, 0] * (256 - len(im.getpalette()) // 3)
    im.putpalette(palette[: 255 * 3] + [0, 0, 0])
    # The top corners become transparent (index 255), as a screenshot of a cut-out would be.
    draw = ImageDraw.Draw(im)
    width, height = im.size
    draw.rectangle((0, 0, width // 6, height // 3), fill=255)
    draw.rectangle((width - width // 6, 0, width, height // 3), fill=255)
    return encode(im, "PNG", transparency=255)


def _orientation_case(orientation: int) -> Callable[[], bytes]:
    # How a camera stores the upright picture for each EXIF orientation (the inverse of the fix).
    stored_as = {
        2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90,
        7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_270,
    }

    def make() -> bytes:
        upright = portrait()
        stored = upright.transpose(stored_as[orientation]) if orientation in stored_as else upright
        exif = Image.Exif()
        exif[0x0112] = orientation
        return jpeg(stored, exif=exif.tobytes())

    return make


for _o in range(1, 9):
    case(
        f"exif-orientation-{_o}", f"orientation-{_o}.jpg", f"a JPEG stored with EXIF orientation {_o}", "ok",
        browser=_o == 6, upright_like="exif-orientation-1",
    )(_orientation_case(_o))


@case("decompression-bomb", "bomb.png", "a 100-byte PNG declaring 30000 x 30000 pixels", "error",
      "megapixels", browser=True)
def _bomb() -> bytes:
    ihdr = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1000)  # a sliver of real data; the header is what matters
    chunks = png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


@case("one-pixel", "dot.png", "a 1 x 1 pixel image", "error", "too small")
def _one_pixel() -> bytes:
    return encode(Image.new("RGB", (1, 1), (200, 150, 120)), "PNG")


@case("strip", "strip.png", "a 100 x 20000 pixel strip", "error", "strip")
def _strip() -> bytes:
    rng = np.random.default_rng(7)
    column = rng.integers(0, 256, (20000, 1, 3), dtype=np.uint8)
    return encode(Image.fromarray(np.repeat(column, 100, axis=1)), "PNG")


def _big_photo(width: int, height: int, seed: int) -> bytes:
    return jpeg(grain(portrait(PERSON_C).resize((width, height), Image.Resampling.BICUBIC), 3.0, seed),
                quality=88)


@case("24-megapixels", "24mp.jpg", "a 4000 x 6000 JPEG (24 MP camera)", "ok", "working at", browser=True)
def _24mp() -> bytes:
    return _big_photo(4000, 6000, 24)


@case("48-megapixels", "48mp.jpg", "a 6048 x 8064 JPEG (48 MP phone)", "ok", "working at", browser=True)
def _48mp() -> bytes:
    return _big_photo(6048, 8064, 48)


@case("48-megapixels-heic", "48mp.heic", "a 6048 x 8064 HEIC (48 MP iPhone)", "ok", "working at",
      browser=True)
def _48mp_heic() -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()
    big = grain(portrait(PERSON_C).resize((6048, 8064), Image.Resampling.BICUBIC), 3.0, 49)
    # x265's fastest preset: ~30 s to encode instead of ~3 min; the decoder's work is the same.
    return encode(big, "HEIF", quality=60, enc_params={"preset": "ultrafast"})


@case("no-person", "landscape.jpg", "a landscape with no person", "error", "no person", browser=True)
def _no_person() -> bytes:
    return jpeg(landscape(1600, 1200, 3))


@case("two-people", "two-people.jpg", "two portraits side by side", "ok", "more than one person",
      browser=True)
def _two_people() -> bytes:
    a, b = portrait(PERSON_A), portrait(PERSON_B)
    canvas = Image.new("RGB", (a.width + b.width, max(a.height, b.height)))
    canvas.paste(a, (0, 0))
    canvas.paste(b, (a.width, 0))
    return jpeg(canvas)


@case("three-people", "three-people.jpg", "three portraits side by side", "ok", "more than one person")
def _three_people() -> bytes:
    people = [portrait(n).resize((540, 660)) for n in (PERSON_A, PERSON_B, "usc_B001288.jpg")]
    canvas = Image.new("RGB", (540 * 3, 660))
    for i, p in enumerate(people):
        canvas.paste(p, (540 * i, 0))
    return jpeg(canvas)


@case("fills-frame", "close-up.jpg", "a close crop where the face fills the frame", "ok")
def _fills_frame() -> bytes:
    im = portrait(PERSON_A)
    width, height = im.size
    crop = im.crop((width // 5, height // 8, width * 4 // 5, height * 7 // 8))
    return jpeg(crop.resize((crop.width * 2, crop.height * 2), Image.Resampling.BICUBIC))


@case("tiny-person", "tiny-person.jpg", "a person 1/8 of the height of a big outdoor photo", "ok",
      "small")
def _tiny_person() -> bytes:
    scene = landscape(3000, 2000, 5)
    person = portrait(PERSON_A)
    person = person.resize((person.width * 250 // person.height, 250))
    scene.paste(person, (1400, 1500))
    return jpeg(scene)


# --- driver --------------------------------------------------------------------------------------
def cases() -> list[Case]:
    return [c for c, _ in _CASES]


def write_corpus(out_dir: Path) -> list[Case]:
    """Write every case into out_dir (created) and its index corpus.json; returns the cases."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for meta, make in _CASES:
        (out_dir / meta.file).write_bytes(make())
    index = {"version": VERSION, "cases": [asdict(c) for c in cases()]}
    (out_dir / "corpus.json").write_text(json.dumps(index, indent=1), encoding="utf-8")
    return cases()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: make_corpus.py OUT_DIR", file=sys.stderr)
        return 2
    out = Path(argv[0])
    for c in write_corpus(out):
        size = (out / c.file).stat().st_size
        print(f"{c.file:22} {size:>10} bytes  {c.what}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
