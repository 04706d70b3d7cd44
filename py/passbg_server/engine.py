"""The model work behind /api/remove: photo bytes in, PNG (cut-out or mask) out, at the photo's size.

Synchronous and thread-safe (onnxruntime sessions may be run from several threads); the ASGI app calls
it from a small thread pool. Nothing touches the disk except reading the model file once.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image

from passbg.core import pipeline
from passbg.core.backend_ort import OrtBackend
from passbg.core.composite import cutout_rgba
from passbg.core.decode import decode_image
from passbg.core.encode import encode_png
from passbg.core.foreground import estimate_foreground
from passbg.core.models import Manifest, ModelSpec
from passbg.errors import InputError
from passbg_server.pipeline import ServerPipeline

# The largest models first: the endpoint exists to give a better second opinion than the page's.
PREFERRED_MODELS = ("rmbg-1.4", "isnet-fp16")
NO_DOWNSCALE = 1 << 15  # decode at full size: the answer must match the photo pixel for pixel


class TooLarge(InputError):
    """The photo has more pixels than the server accepts."""


def choose_model(manifest: Manifest, wanted: str | None) -> ModelSpec:
    """`wanted`, or the largest model installed (rmbg-1.4, else isnet-fp16, else the manifest default)."""
    if wanted:
        return manifest.get(wanted)
    for model_id in PREFERRED_MODELS:
        if model_id in manifest.models and manifest.models[model_id].path.is_file():
            return manifest.models[model_id]
    return manifest.get(manifest.default)


def image_pixels(data: bytes) -> int | None:
    """width * height from the image header (nothing decoded), or None if the header is unreadable."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            width, height = Image.open(io.BytesIO(data)).size
    except Exception:  # noqa: BLE001 - decode_image gives the plain-words message for bad files
        return None
    return width * height


@dataclass
class Engine:
    spec: ModelSpec
    backend: OrtBackend
    max_pixels: int
    pipeline: ServerPipeline | None = None  # None: the page's own pipeline (whole frame, one pass)

    def __post_init__(self) -> None:
        if self.pipeline is None:
            self.pipeline = ServerPipeline(self.spec, self.backend, steps=())

    def warm_up(self) -> None:
        """Open the model session (and compile the matting kernels) now, so the first request is not
        the slow one."""
        assert self.pipeline is not None
        self.pipeline.warm_up()

    def info(self) -> dict[str, object]:
        """Which model and pipeline answer (GET /api/info, the X-Passbg-Pipeline header)."""
        assert self.pipeline is not None
        return self.pipeline.info()

    def remove(self, data: bytes, *, mask_only: bool) -> bytes:
        """Photo file bytes -> PNG at the photo's (upright) size: the mask (greyscale, 255 = person) when
        mask_only, else the RGBA cut-out with decontaminated edge colours. Raises InputError."""
        pixels = image_pixels(data)
        if pixels is not None and pixels > self.max_pixels:
            raise TooLarge(
                f"The photo has {pixels / 1e6:.1f} megapixels; this server accepts up to "
                f"{self.max_pixels / 1e6:.1f}. Send a smaller photo."
            )
        assert self.pipeline is not None
        image = decode_image(data, max_side=NO_DOWNSCALE)
        pipeline.check_usable(image)
        alpha = self.pipeline.alpha(image.rgb, image.alpha)
        if mask_only:
            return encode_png(np.clip(np.rint(alpha * 255.0), 0, 255).astype(np.uint8))
        # The cut-out's colours: the page's blur-fusion estimate, which works in strips (bounded memory
        # on a 24 MP photo, where pymatting's multilevel estimate holds several full-size planes).
        return encode_png(cutout_rgba(estimate_foreground(image.rgb, alpha), alpha))
