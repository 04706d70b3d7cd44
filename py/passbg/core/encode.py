"""Encoders: the one place that turns result arrays into file bytes (JPEG, PNG, a one-page PDF).

Every writer in passbg (the result, the cut-out, the mask the server sends, the digital file, the print
sheets) asks this module, so options that matter for parity and file size are decided here once.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

__all__ = ["JPEG_QUALITY", "encode_jpeg", "encode_pdf", "encode_png"]

JPEG_QUALITY = 95


def encode_jpeg(
    rgb: np.ndarray,
    *,
    quality: int = JPEG_QUALITY,
    dpi: int | None = None,
    subsampling: int = 0,
    optimize: bool = True,
) -> bytes:
    """uint8 (H, W, 3) sRGB -> JPEG bytes: no EXIF, no ICC profile (an untagged JPEG is read as sRGB, and
    the bytes stay identical across runtimes). subsampling 0 = 4:4:4 (keeps hair edges crisp; the
    default), 2 = 4:2:0 (smaller files, for size-limited uploads)."""
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected uint8 (H, W, 3), got {rgb.dtype} {rgb.shape}")
    options: dict = {"quality": quality, "subsampling": subsampling, "optimize": optimize}
    if dpi:
        options["dpi"] = (dpi, dpi)
    image = Image.fromarray(np.ascontiguousarray(rgb), "RGB")
    buf = io.BytesIO()
    try:
        image.save(buf, "JPEG", **options)
    except OSError:
        if not optimize:
            raise
        # Pillow sizes its one-shot buffer for optimized JPEGs at 1 byte per pixel; very noisy pixels
        # at 4:4:4 need more ("broken data stream"). The streaming, unoptimized encoder has no such cap.
        buf = io.BytesIO()
        image.save(buf, "JPEG", **{**options, "optimize": False})
    return buf.getvalue()


def encode_png(pixels: np.ndarray, *, dpi: int | None = None) -> bytes:
    """uint8 (H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA with straight alpha -> PNG bytes."""
    if pixels.dtype != np.uint8 or not (pixels.ndim == 2 or (pixels.ndim == 3 and pixels.shape[2] in (3, 4))):
        raise ValueError(f"expected uint8 (H, W) or (H, W, 3|4), got {pixels.dtype} {pixels.shape}")
    options: dict = {"compress_level": 6}
    if dpi:
        options["dpi"] = (dpi, dpi)
    mode = "L" if pixels.ndim == 2 else "RGBA" if pixels.shape[2] == 4 else "RGB"
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels), mode).save(buf, "PNG", **options)
    return buf.getvalue()


def encode_pdf(
    rgb: np.ndarray, page_mm: tuple[float, float], *, dpi: int, quality: int = JPEG_QUALITY
) -> bytes:
    """uint8 (H, W, 3) -> a one-page PDF whose MediaBox is page_mm (width, height) exactly, the image
    drawn from the top-left corner at exactly `dpi` (so it prints at 100 % with no scaling)."""
    jpeg = encode_jpeg(rgb, quality=quality, dpi=dpi, optimize=False)
    h, w = rgb.shape[:2]
    page_w, page_h = (v / 25.4 * 72 for v in page_mm)
    img_w, img_h = w * 72 / dpi, h * 72 / dpi
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
