"""A second opinion from a cloud endpoint: what is uploaded, how the answer is read, which result wins.

The endpoint speaks rembg's HTTP API (POST /api/remove, multipart field `file`, PNG back; `om=true`
asks for the bare mask). Only a mask comes back into the pipeline: the foreground colours and the
composite are computed here, on the full-size local photo, by the same `pipeline.finish` as a local
result, and scored by the same checks, so the two scores are comparable.

Pure functions of arrays and bytes (numpy + Pillow); the browser side lives in `passbg.app.web`.
"""

from __future__ import annotations

import dataclasses
import io
from typing import Any

import numpy as np
from PIL import Image

from passbg.core import pipeline
from passbg.core.backgrounds import Background
from passbg.core.decode import DecodedImage
from passbg.core.encode import encode_jpeg
from passbg.core.models import ModelSpec, OutputSpec
from passbg.errors import PassbgError
from passbg.numeric.sizes import fit_long_side
from passbg.quality import report as quality_mod

# Enough pixels for the server to segment the head-and-shoulders region at its model's full 1024²
# even when the person fills a third of a phone photo. Measured (passbg_dev.eval_server --photos 4,
# 2026-12-05): at 1024 the server lost to the local region path on 89 % of loosely framed composites
# (the upload had fewer hair pixels than the page itself used); at 2560 it won on 92 % of them (mean
# SAD 0.92 against the local 1.30). Tight portraits below this size are sent at their own size.
UPLOAD_LONG_SIDE = 2560
UPLOAD_JPEG_QUALITY = 92
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class EndpointError(PassbgError):
    """The endpoint's answer cannot be used (not a PNG, wrong size, broken). The local result stays."""


def upload_size(hw: tuple[int, int], long_side: int = UPLOAD_LONG_SIDE) -> tuple[int, int]:
    """(height, width) of the upload: the photo's size scaled down (never up) to `long_side`."""
    return fit_long_side(hw, long_side)


def upload_jpeg(rgb: np.ndarray, long_side: int = UPLOAD_LONG_SIDE) -> bytes:
    """The bytes sent to the endpoint: uint8 (H, W, 3) sRGB pixels, downscaled, as a fresh JPEG.

    Encoded from decoded pixels, so nothing of the original file travels: no EXIF (camera, time,
    GPS position), no ICC profile, no comments, no thumbnail.
    """
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected uint8 (H, W, 3), got {rgb.dtype} {rgb.shape}")
    height, width = upload_size(rgb.shape[:2], long_side)
    if (height, width) != rgb.shape[:2]:
        rgb = np.asarray(Image.fromarray(rgb).resize((width, height), Image.LANCZOS))
    return encode_jpeg(rgb, quality=UPLOAD_JPEG_QUALITY)


def read_mask(data: bytes, expected_hw: tuple[int, int]) -> np.ndarray:
    """The endpoint's PNG -> mask float32 (h, w) in [0, 1] with 1 = person, (h, w) = expected_hw.

    Accepts a bare mask (rembg's om=true: greyscale, 8 or 16 bit) or a cut-out (RGBA / LA / palette with
    transparency: its alpha channel). Raises EndpointError in plain words for anything else.
    """
    if not data.startswith(PNG_SIGNATURE):
        what = "an empty answer" if not data else "something that is not a PNG image"
        raise EndpointError(f"The endpoint sent back {what}; its answer was not used.")
    try:
        im = Image.open(io.BytesIO(data), formats=["PNG"])
        width, height = im.size
        if (height, width) != tuple(expected_hw):
            raise EndpointError(
                f"The endpoint sent back a {width}×{height} image for a {expected_hw[1]}×{expected_hw[0]}"
                " photo; its answer was not used."
            )
        im.load()
    except EndpointError:
        raise
    except (OSError, ValueError, SyntaxError) as err:
        raise EndpointError(
            f"The endpoint's PNG is broken or incomplete ({err}); its answer was not used."
        ) from err
    if im.mode == "P":
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA"):
        return np.asarray(im.getchannel("A"), dtype=np.float32) / np.float32(255.0)
    if im.mode in ("I;16", "I;16B", "I"):
        a = np.asarray(im, dtype=np.float32)
        return np.clip(a / np.float32(65535.0), 0.0, 1.0)
    return np.asarray(im.convert("L"), dtype=np.float32) / np.float32(255.0)


def mask_spec(local: ModelSpec, endpoint: str) -> ModelSpec:
    """A spec for a mask that is already in [0, 1]: the local model's spec with plain clipping, named
    after the endpoint, so `pipeline.finish` treats it like any model output."""
    return dataclasses.replace(local, id=f"cloud:{endpoint}", output=OutputSpec(index=0, postprocess="clip"))


def finish_with_mask(
    image: DecodedImage, mask: np.ndarray, spec: ModelSpec, background: Background
) -> pipeline.Result:
    """The endpoint's mask (float32 (h, w) in [0, 1], any size) -> a Result at the photo's working size,
    through the same upsampling, foreground estimation and compositing as a local result."""
    prepared = pipeline.Prepared(image=image, spec=spec, tensor=np.empty((1, 3, 0, 0), np.float32))
    return pipeline.finish(prepared, mask, background)


def quality(result: pipeline.Result, config: dict[str, Any] | None = None) -> dict[str, Any]:
    """The result's quality as plain data (passbg.quality.report.summary): score, reasons, threshold,
    checks."""
    return quality_mod.summary(quality_mod.assess(result, config), config)


def pick(local_score: int, cloud_score: int) -> str:
    """'cloud' when the endpoint's result scores strictly higher, else 'local' (a tie keeps the photo
    that never left the device)."""
    return "cloud" if cloud_score > local_score else "local"
