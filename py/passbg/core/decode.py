"""Decode photo bytes into an sRGB uint8 array at a bounded working size.

Everything Pillow reads is accepted (JPEG, PNG, WebP, TIFF, BMP, GIF, ...), and HEIC/HEIF and AVIF where
their plugins are installed (passbg.core.plugins: CPython yes, Pyodide no). The result is always
RGB uint8 (H, W, 3) in sRGB, upright (EXIF orientation applied), and no larger than `max_side` on its
longest side. What was done to get there is recorded in `DecodedImage` so callers can tell the user.

Decisions worth knowing:
- Transparency: an alpha channel that is fully opaque is dropped silently. Otherwise the colour is
  composited over white (what any viewer shows on a white page; the RGB hidden under transparent
  pixels is often black or left-over junk, and the model must not see it), and the input alpha is kept
  in `DecodedImage.alpha` so the pipeline can keep those regions transparent: a region the user already
  removed is not the person.
- 16-bit greyscale is scaled to 8 bits (Pillow's own conversion would clip, not scale).
- ICC profiles are converted to sRGB with Pillow's ImageCms when it is available. Pyodide's Pillow may
  lack it; then the profile is ignored and a note says so (colours may be slightly off, never broken).
- Large JPEGs are decoded at a reduced scale with `Image.draft` (the DCT does the shrinking for free);
  the caller's bytes are never modified.
- HEIC/HEIF: libheif applies the file's rotation and mirroring (irot/imir) while decoding, which is what
  the HEIF standard makes authoritative; pillow-heif then sets the EXIF orientation to 1 and keeps the
  original value in `info["original_orientation"]`, which is what `DecodedImage.orientation` records.
- Pixels decoded elsewhere (the browser) enter through `from_pixels`, which applies the same alpha
  handling and working-size bound as `decode_image`.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, UnidentifiedImageError

from passbg.core import containers, plugins
from passbg.errors import InputError

_READABLE_CONTAINERS = plugins.readable()  # registers the HEIC/AVIF plugins with Pillow where installed

try:  # ImageCms needs Pillow built with littlecms; Pyodide's build may not have it.
    from PIL import ImageCms

    # Pyodide's Pillow 10.2 imports ImageCms but defers the missing littlecms module's ImportError
    # to first use, so probe it once here.
    ImageCms.createProfile("sRGB")
except ImportError:  # pragma: no cover - depends on the Pillow build
    ImageCms = None

DEFAULT_MAX_SIDE = 2560
# Refuse images above this many pixels before decoding them: a photo from any current camera is
# below it, while a "decompression bomb" (tiny file, huge declared size) would exhaust memory.
MAX_PIXELS = 100_000_000

# EXIF orientation tag value -> Pillow transpose that makes the image upright.
_ORIENTATION_FIX = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_EXIF_ORIENTATION = 0x0112
_WHITE = {"L": 255, "RGB": (255, 255, 255)}
_HINT = "Use a photo saved as JPEG, PNG or WebP."
# Formats Pillow recognises without a magic number: arbitrary bytes can pass as one, so a failure to
# decode them means "not an image" rather than "a damaged image".
_WEAK_SIGNATURE_FORMATS = {"TGA"}
# Formats that may hold an animation. (MPO, several stills of one shot, is not one: its first image is
# the photo.)
_ANIMATED_FORMATS = {"GIF", "PNG", "WEBP"}


@dataclass(frozen=True)
class DecodedImage:
    """A decoded photo.

    rgb: uint8 (H, W, 3), sRGB, upright, at working size.
    alpha: uint8 (H, W) input transparency at working size (255 = opaque), or None if the file had none.
    original_size: (width, height) of the full-resolution upright photo.
    scale: working width / original width (1.0 when the photo was not shrunk).
    """

    rgb: np.ndarray
    alpha: np.ndarray | None
    original_size: tuple[int, int]
    scale: float
    format: str
    orientation: int = 1
    colour: str = "untagged"  # "untagged", "srgb", "converted", "ignored"
    notes: tuple[str, ...] = ()
    source: bytes = field(default=b"", repr=False)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) at working size."""
        return self.rgb.shape[1], self.rgb.shape[0]


def decode_image(data: bytes, *, max_side: int = DEFAULT_MAX_SIDE) -> DecodedImage:
    """Decode `data` (the bytes of an image file) into a `DecodedImage`.

    Raises InputError with a message naming the problem and what to do about it.
    """
    if max_side < 16:
        raise ValueError(f"max_side must be at least 16, got {max_side}")
    data = bytes(data)
    container = _refuse_obvious_non_images(data)
    im = _open(data, container)
    fmt = _format_name(im.format, container)
    width, height = im.size
    if width * height > MAX_PIXELS:
        raise InputError(
            f"The image is {width} x {height} pixels ({width * height / 1e6:.0f} megapixels); passbg "
            f"accepts up to {MAX_PIXELS / 1e6:.0f} megapixels. "
            "Reduce its size in a photo editor and try again."
        )
    if width == 0 or height == 0:
        raise InputError(f"The {fmt} file declares an empty image (0 pixels). {_HINT}")

    target_scale = min(1.0, max_side / max(width, height))
    if fmt == "JPEG" and target_scale < 1.0:
        # Ask the JPEG decoder for the smallest power-of-two reduction that is still >= the target.
        im.draft(None, (max(1, int(width * target_scale)), max(1, int(height * target_scale))))
    _load(im, fmt)

    notes: list[str] = []
    if fmt in _ANIMATED_FORMATS and _is_animated(im):
        notes.append(f"This {fmt} is an animation; its first frame was used.")
    orientation = _read_orientation(im)
    icc = im.info.get("icc_profile") or None
    if orientation in _ORIENTATION_FIX:
        im = im.transpose(_ORIENTATION_FIX[orientation])
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    # libheif has already turned a HEIF upright (and reset the EXIF tag): record what the file said.
    orientation = _valid_orientation(im.info.get("original_orientation")) or orientation

    im = _normalise_mode(im)
    im, alpha_im = _flatten_alpha(im, notes)

    target = (max(1, round(width * target_scale)), max(1, round(height * target_scale)))
    if im.size != target:
        im = im.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)
        if alpha_im is not None:
            alpha_im = alpha_im.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)
        notes.append(f"Working at {target[0]} x {target[1]} (original {width} x {height}).")

    im, colour = _to_srgb(im, icc, notes)
    rgb = np.array(im, dtype=np.uint8)  # np.array copies: writable and C-contiguous
    alpha = None if alpha_im is None else np.array(alpha_im, dtype=np.uint8)
    return DecodedImage(
        rgb=rgb,
        alpha=alpha,
        original_size=(width, height),
        scale=target[0] / width,
        format=fmt,
        orientation=orientation,
        colour=colour,
        notes=tuple(notes),
        source=data,
    )


def from_pixels(
    rgba: np.ndarray,
    *,
    format: str,
    original_size: tuple[int, int],
    orientation: int = 1,
    colour: str = "converted",
    notes: tuple[str, ...] = (),
    max_side: int = DEFAULT_MAX_SIDE,
    source: bytes = b"",
) -> DecodedImage:
    """A `DecodedImage` from pixels decoded elsewhere (the browser): same alpha handling and working-size
    bound as `decode_image`.

    rgba: uint8 (H, W, 4) straight alpha, sRGB, upright, at most the working size or larger (then shrunk
    here). original_size: (width, height) of the full upright photo, before any shrinking by the caller.
    notes: what the caller did that the user should know.
    """
    if rgba.dtype != np.uint8 or rgba.ndim != 3 or rgba.shape[2] != 4:
        raise ValueError(f"rgba must be uint8 (H, W, 4), got {rgba.dtype} {rgba.shape}")
    all_notes = list(notes)
    im, alpha_im = _flatten_alpha(Image.fromarray(rgba, "RGBA"), all_notes)
    width, height = original_size
    scale = min(1.0, max_side / max(im.size))
    if scale < 1.0:
        target = (max(1, round(im.size[0] * scale)), max(1, round(im.size[1] * scale)))
        im = im.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)
        if alpha_im is not None:
            alpha_im = alpha_im.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)
    if im.size != (width, height):
        all_notes.append(f"Working at {im.size[0]} x {im.size[1]} (original {width} x {height}).")
    return DecodedImage(
        rgb=np.array(im.convert("RGB"), dtype=np.uint8),
        alpha=None if alpha_im is None else np.array(alpha_im, dtype=np.uint8),
        original_size=(width, height),
        scale=im.size[0] / width,
        format=format,
        orientation=orientation,
        colour=colour,
        notes=tuple(all_notes),
        source=source,
    )


@dataclass(frozen=True)
class Handoff:
    """Why a photo is better decoded by another decoder than this Pillow, and what is known about it.

    reason: "HEIC" / "AVIF" (no plugin here) or "profile" (a colour profile and no littlecms here).
    icc: the file's ICC profile if any. orientation: its EXIF orientation or HEIF rotation (1..8).
    """

    reason: str
    format: str
    icc: bytes | None = None
    orientation: int = 1


def handoff(data: bytes) -> Handoff | None:
    """What a runtime whose Pillow lacks the phone plugins or colour management (Pyodide) should hand to
    another decoder (the browser), or None when `decode_image` reads the file exactly as CPython does.
    Reads only the file's headers; never raises (an unreadable file is decode_image's to explain)."""
    head = bytes(data[:1024])
    container = _iso_bmff_format(head)
    if container is not None:
        if container in _READABLE_CONTAINERS:
            return None
        facts = containers.heif_facts(bytes(data))
        return Handoff(container, container, facts.icc, facts.orientation)
    if ImageCms is not None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            im = Image.open(io.BytesIO(bytes(data)))  # lazy: headers only
            icc = im.info.get("icc_profile") or None
            fmt = im.format or "image"
            orientation = _read_orientation(im)
    except Exception:  # noqa: BLE001 - see docstring
        return None
    if icc is None or containers.is_srgb_profile(icc):
        return None
    return Handoff("profile", fmt, icc, orientation)


def damaged_message(fmt: str, reason: str) -> str:
    """The message for a HEIC or AVIF file its decoder refused: which format, why, what to do."""
    return _damaged(fmt, reason)


def _refuse_obvious_non_images(data: bytes) -> str | None:
    """Give a specific message for inputs people commonly pick by mistake, and for phone formats no
    decoder here reads. Returns the ISO-BMFF container ("HEIC", "AVIF") or None."""
    if not data:
        raise InputError(f"The file is empty (0 bytes). {_HINT}")
    head = data[:1024]
    if head.startswith(b"%PDF"):
        raise InputError(f"This is a PDF document, not a photo. Export the page as an image first. {_HINT}")
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"<") and b"<svg" in head.lower():
        raise InputError(f"This is an SVG drawing, not a photo. {_HINT}")
    container = _iso_bmff_format(head)
    if container is not None and container not in _READABLE_CONTAINERS:
        # CPython always has the plugins (runtime dependencies); Pyodide has none, and the page decodes
        # these files itself before Python sees them, so this is the last resort when that failed.
        raise InputError(f"{_CONTAINER_WORDS[container]}, which no decoder here can read. "
                         f"{_CONTAINER_HINT[container]}")
    return container


# How each phone format is named to the user, and what to do when it cannot be read.
_CONTAINER_WORDS = {"HEIC": "This is a HEIC/HEIF photo (the iPhone default)", "AVIF": "This is an AVIF image"}
_CONTAINER_HINT = {
    "HEIC": "Export it as JPEG (on iPhone: Settings > Camera > Formats > Most Compatible) and choose that "
    "file.",
    "AVIF": "Save or export it as JPEG or PNG (most photo viewers: File > Export or Save as) and choose "
    "that file.",
}
_PILLOW_FORMAT_NAMES = {"HEIF": "HEIC"}  # pillow-heif calls every HEIF file "HEIF"; people know "HEIC"


def _format_name(pillow_format: str | None, container: str | None) -> str:
    """The format's name for messages and DecodedImage.format (JPEG, PNG, HEIC, AVIF, ...)."""
    name = pillow_format or container or "image"
    return _PILLOW_FORMAT_NAMES.get(name, name)


# ISO base media file brands (the 'ftyp' box): AVIF first, since AVIF files also list the generic
# HEIF brands mif1/msf1.
_AVIF_BRANDS = {b"avif", b"avis"}
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"}


def _iso_bmff_format(head: bytes) -> str | None:
    """'AVIF', 'HEIC' or None from the ftyp box at the start of an ISO-BMFF file (major + compatible)."""
    if head[4:8] != b"ftyp" or len(head) < 16:
        return None
    size = min(int.from_bytes(head[0:4], "big"), len(head))
    brands = {head[8:12]} | {head[i : i + 4] for i in range(16, size - 3, 4)}
    if brands & _AVIF_BRANDS:
        return "AVIF"
    if brands & _HEIF_BRANDS:
        return "HEIC"
    return None


def _looks_like_text(data: bytes) -> bool:
    sample = data[:4096]
    if b"\x00" in sample:
        return False
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as err:
        # A multi-byte character cut at the sample's end is still text.
        return err.start >= len(sample) - 3
    return True


def _open(data: bytes, container: str | None = None) -> Image.Image:
    try:
        with warnings.catch_warnings():
            # Our own MAX_PIXELS check follows; Pillow's warning would only be noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        limit = 2 * (Image.MAX_IMAGE_PIXELS or MAX_PIXELS)
        raise InputError(
            f"The image declares a size of more than {limit / 1e6:.0f} megapixels, far beyond any camera "
            "photo, and was refused before decoding to protect memory. If it is a real photo, reduce its "
            "size in a photo editor and try again."
        ) from None
    except UnidentifiedImageError:
        if container is not None:  # the plugin's signature check failed on a file that says it is one
            raise InputError(_damaged(container, "its structure cannot be read")) from None
        if _looks_like_text(data):
            raise InputError(f"This is a text file, not a photo. {_HINT}") from None
        raise InputError(f"This file is not an image format passbg can read. {_HINT}") from None
    except (OSError, SyntaxError, ValueError, RuntimeError) as err:
        if container is not None:  # libheif/libavif report a cut-off file while opening it
            raise InputError(_damaged(container, str(err))) from None
        raise InputError(f"The image file is damaged and cannot be opened ({err}). {_HINT}") from None


def _damaged(container: str, reason: str) -> str:
    """The message for a HEIC/AVIF file its decoder refuses: which format, why, what to do."""
    return (
        f"The {container} file is damaged or incomplete ({reason}); it may have been cut off while copying "
        f"or downloading. Copy it from the phone again, or {_CONTAINER_HINT[container][0].lower()}"
        f"{_CONTAINER_HINT[container][1:]}"
    )


def _load(im: Image.Image, fmt: str) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im.load()
    except (OSError, SyntaxError, ValueError, EOFError, RuntimeError) as err:
        if fmt in _WEAK_SIGNATURE_FORMATS:
            raise InputError(f"This file is not an image format passbg can read. {_HINT}") from None
        if fmt in _CONTAINER_HINT:
            raise InputError(_damaged(fmt, str(err))) from None
        raise InputError(
            f"The {fmt} file is damaged or incomplete ({err}); it may have been cut off while copying or "
            "downloading. Save or download it again."
        ) from None
    except MemoryError:
        raise InputError(
            "The image is too large to decode in the available memory. Use a smaller photo."
        ) from None


def _is_animated(im: Image.Image) -> bool:
    try:
        animated = bool(getattr(im, "is_animated", False))
        im.seek(0)  # checking may have moved to frame 1
    except (OSError, EOFError, ValueError):
        return False
    return animated


def _read_orientation(im: Image.Image) -> int:
    try:
        value = im.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception:  # noqa: BLE001 - malformed EXIF must not stop decoding; upright is the safe guess
        return 1
    return _valid_orientation(value) or 1


def _valid_orientation(value: object) -> int | None:
    """An EXIF orientation 1..8, or None for anything else (missing, malformed)."""
    return value if isinstance(value, int) and 1 <= value <= 8 else None


def _normalise_mode(im: Image.Image) -> Image.Image:
    """Any Pillow mode -> one of L, LA, RGB, RGBA, CMYK (8 bits per channel)."""
    mode = im.mode
    if mode in ("L", "LA", "RGB", "RGBA", "CMYK"):
        return im
    if mode == "P":
        return im.convert("RGBA" if "transparency" in im.info else "RGB")
    if mode in ("PA", "RGBa"):
        return im.convert("RGBA")
    if mode == "La":
        return im.convert("LA")
    if mode == "1":
        return im.convert("L")
    if mode.startswith("I") or mode == "F":
        return _high_bit_depth_to_l(im)
    return im.convert("RGB")  # YCbCr, LAB, HSV, RGBX: Pillow's own conversion


def _high_bit_depth_to_l(im: Image.Image) -> Image.Image:
    """16-bit or 32-bit greyscale -> 8-bit L by scaling, not clipping.

    Modes I;16* hold 0..65535. Mode I (how Pillow opens 16-bit PNG) and F may hold either range, so the
    data decides: values above 255 mean a 16-bit range, and F values within 0..1 mean a unit range.
    """
    values = np.asarray(im).astype(np.float32)
    if im.mode.startswith("I;16"):
        top = 65535.0
    elif im.mode == "F" and values.size and float(values.max()) <= 1.0:
        top = 1.0
    else:
        top = 65535.0 if values.size and float(values.max()) > 255 else 255.0
    values *= 255.0 / top
    return Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8), "L")


def _flatten_alpha(im: Image.Image, notes: list[str]) -> tuple[Image.Image, Image.Image | None]:
    """Split off the alpha channel; composite the colour over white if anything is transparent."""
    if im.mode not in ("LA", "RGBA"):
        return im, None
    alpha = im.getchannel("A")
    colour_mode = im.mode[:-1]
    if alpha.getextrema() == (255, 255):
        return im.convert(colour_mode), None
    flat = Image.new(colour_mode, im.size, _WHITE[colour_mode])
    flat.paste(im.convert(colour_mode), mask=alpha)
    notes.append("The photo has transparent areas: they were filled with white and stay transparent.")
    return flat, alpha


def _to_srgb(im: Image.Image, icc: bytes | None, notes: list[str]) -> tuple[Image.Image, str]:
    """Convert L/RGB/CMYK with an optional ICC profile to sRGB RGB. Returns (image, colour note)."""
    if icc is None:
        return im.convert("RGB"), "untagged"
    if ImageCms is None:
        notes.append("The photo's colour profile was ignored (no colour management here); colours may shift.")
        return im.convert("RGB"), "ignored"
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if im.mode == "RGB" and _is_srgb(source):
            return im, "srgb"
        srgb = ImageCms.createProfile("sRGB")
        converted = ImageCms.profileToProfile(
            im, source, srgb, renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC, outputMode="RGB"
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as err:
        notes.append(f"The photo's colour profile could not be used ({err}); colours may shift.")
        return im.convert("RGB"), "ignored"
    return converted, "converted"


def _is_srgb(profile: ImageCms.ImageCmsProfile) -> bool:
    try:
        description = ImageCms.getProfileDescription(profile)
    except ImageCms.PyCMSError:
        return False
    return "srgb" in description.lower().replace(" ", "")
