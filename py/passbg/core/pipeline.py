"""The whole job, split around the model call so the browser can await inference in between:

    prepared = prepare(data, spec)                 # decode + tensor (of a region: prepare_image)
    raw = backend.run(spec, prepared.tensor)       # the model (awaited in the browser)
    result = finish(prepared, raw, "light-grey")   # alpha, foreground colours, composite

`process` does all three with a synchronous backend. Timings are wall-clock milliseconds per stage.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np

from passbg.core import composite as comp
from passbg.core import foreground, islands, subjects
from passbg.core import region as rg
from passbg.core.backend import Backend
from passbg.core.backgrounds import Background, resolve_background
from passbg.core.decode import DEFAULT_MAX_SIDE, DecodedImage, decode_image, from_pixels
from passbg.core.encode import encode_jpeg, encode_png
from passbg.core.matte import photo_alpha
from passbg.core.models import ModelSpec
from passbg.core.preprocess import to_tensor
from passbg.errors import InputError

# Below this many pixels on the short side, or beyond this long:short ratio, a picture cannot hold a
# head-and-shoulders photo; refusing says so instead of a meaningless "no person found".
MIN_SIDE = 64
MAX_ASPECT = 6.0

STAGES = ("decode", "region", "preprocess", "inference", "upsample", "foreground", "composite", "encode")


class Stopwatch:
    """Adds elapsed milliseconds to timings[stage] (adds, so repeated encodes accumulate)."""

    def __init__(self, timings: dict[str, float], stage: str) -> None:
        self.timings, self.stage = timings, stage

    def __enter__(self) -> None:
        self.start = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        elapsed = (time.perf_counter() - self.start) * 1000.0
        self.timings[self.stage] = self.timings.get(self.stage, 0.0) + elapsed


@dataclass
class Prepared:
    """A decoded photo and its model input. tensor: float32 (1, 3, h, w) of the whole photo, or of
    `region` only (passbg.core.region; alpha is 0 outside it)."""

    image: DecodedImage
    spec: ModelSpec
    tensor: np.ndarray
    timings: dict[str, float] = field(default_factory=dict)
    region: rg.Region | None = None


@dataclass
class Result:
    """alpha: float32 (H, W) in [0, 1]; foreground: float32 (H, W, 3) in [0, 1]; composite: uint8
    (H, W, 3) over `background`. H, W = the working size of `image`. The cut-out and the encoded files
    are computed on first use."""

    image: DecodedImage
    model_id: str
    alpha: np.ndarray
    foreground: np.ndarray
    background: Background
    composite: np.ndarray
    timings: dict[str, float]

    @property
    def notes(self) -> tuple[str, ...]:
        """Plain-words remarks for the user: how the photo was read, and what the matte shows (e.g. more
        than one person). Kept on `image.notes`, where the page reads them."""
        return self.image.notes

    @cached_property
    def cutout(self) -> np.ndarray:
        """uint8 (H, W, 4) RGBA, straight alpha."""
        with Stopwatch(self.timings, "composite"):
            return comp.cutout_rgba(self.foreground, self.alpha)

    def on_background(self, background: str | tuple[int, int, int] | Background) -> np.ndarray:
        """The composite over another background, uint8 (H, W, 3), reusing alpha and foreground."""
        bg = resolve_background(background)
        with Stopwatch(self.timings, "composite"):
            return comp.composite(self.foreground, self.alpha, bg.rgb)

    def jpeg(self, *, quality: int = 95, dpi: int | None = None) -> bytes:
        """The composite as JPEG bytes."""
        with Stopwatch(self.timings, "encode"):
            return encode_jpeg(self.composite, quality=quality, dpi=dpi)

    def png(self, *, dpi: int | None = None) -> bytes:
        """The composite as PNG bytes."""
        with Stopwatch(self.timings, "encode"):
            return encode_png(self.composite, dpi=dpi)

    def cutout_png(self, *, dpi: int | None = None) -> bytes:
        """The transparent cut-out as PNG bytes."""
        cutout = self.cutout
        with Stopwatch(self.timings, "encode"):
            return encode_png(cutout, dpi=dpi)


def prepare(
    data: bytes, spec: ModelSpec, *, max_side: int = DEFAULT_MAX_SIDE, region: rg.Region | None = None
) -> Prepared:
    """Decode photo bytes and build the model's input tensor. Raises InputError for unusable photos."""
    timings: dict[str, float] = {}
    return prepare_image(decode(data, timings, max_side=max_side), spec, region=region, timings=timings)


def decode(data: bytes, timings: dict[str, float], *, max_side: int = DEFAULT_MAX_SIDE) -> DecodedImage:
    """Decode photo bytes (timed under "decode") and refuse unusable ones (InputError)."""
    with Stopwatch(timings, "decode"):
        image = decode_image(data, max_side=max_side)
    check_usable(image)
    return image


def prepare_image(
    image: DecodedImage,
    spec: ModelSpec,
    *,
    region: rg.Region | None = None,
    timings: dict[str, float] | None = None,
    long_side: int | None = None,
) -> Prepared:
    """The model input for a decoded photo: the whole frame at spec.input.size (region None, or a region
    that is the whole photo of a fixed-size model), else the region at passbg.core.region.input_size
    (long_side forces the input's long side there: the evaluation's curve)."""
    timings = {} if timings is None else timings
    hw = image.rgb.shape[:2]
    if region is not None and region.covers(hw) and not spec.input.any_size:
        region = None  # the same tensor as the whole-photo path
    with Stopwatch(timings, "preprocess"):
        if region is None:
            tensor = to_tensor(image.rgb, spec)
        else:
            tensor = to_tensor(np.ascontiguousarray(rg.crop(image.rgb, region.box)), spec,
                               rg.input_size(region.box, spec, long_side))  # fmt: skip
    return Prepared(image=image, spec=spec, tensor=tensor, timings=timings, region=region)


def prepare_pixels(
    rgba: np.ndarray, spec: ModelSpec, *, max_side: int = DEFAULT_MAX_SIDE, **facts: Any
) -> Prepared:
    """`prepare` for pixels decoded elsewhere (the page hands in what the browser decoded):
    rgba uint8 (H, W, 4) sRGB, upright, straight alpha; `facts` are passbg.core.decode.from_pixels'
    (format, original_size, orientation, colour, notes). The same working-size bound as for bytes."""
    timings: dict[str, float] = {}
    with Stopwatch(timings, "decode"):
        image = from_pixels(rgba, max_side=max_side, **facts)
    check_usable(image)
    with Stopwatch(timings, "preprocess"):
        tensor = to_tensor(image.rgb, spec)
    return Prepared(image=image, spec=spec, tensor=tensor, timings=timings)


def check_usable(image: DecodedImage) -> None:
    """Refuse pictures whose shape cannot hold a portrait, naming the shape. Raises InputError."""
    width, height = image.original_size
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise InputError(
            f"The picture is {width} x {height} pixels: a long narrow strip, not a photo of a person. "
            "Use a photo (about 3:4, portrait orientation) showing your head and shoulders."
        )
    if min(width, height) < MIN_SIDE:
        raise InputError(
            f"The picture is only {width} x {height} pixels, too small to show a person. "
            "Use the original photo from the camera (at least 600 x 600 pixels)."
        )


def matte(prepared: Prepared, raw: np.ndarray) -> np.ndarray:
    """Model output -> alpha float32 (H, W) in [0, 1] at the prepared photo's working size
    (passbg.core.matte.photo_alpha, which also drops faint specks far from the person; of the region
    only, then put in place with 0 around it)."""
    image = prepared.image
    if prepared.region is None:
        return photo_alpha(raw, image.rgb, prepared.spec, image.alpha)
    box, face = prepared.region.box, prepared.region.face
    part_alpha = None if image.alpha is None else np.ascontiguousarray(rg.crop(image.alpha, box))
    part = photo_alpha(raw, np.ascontiguousarray(rg.crop(image.rgb, box)), prepared.spec, part_alpha)
    if face is not None:  # below the face a half see-through island is clothing (passbg.core.islands)
        part = islands.fill_hedged_islands(part, face[3] - box[1])
    return rg.paste(part, box, image.rgb.shape[:2])


def region_notes(prepared: Prepared, alpha: np.ndarray) -> tuple[str, ...]:
    """Plain-words notes on a region: what it left out, and where the person seems to go on beyond it."""
    region, hw = prepared.region, prepared.image.rgb.shape[:2]
    if region is None or region.covers(hw):
        return ()
    x0, y0, x1, y1 = region.box
    share = (x1 - x0) * (y1 - y0) / float(hw[0] * hw[1])
    notes = [
        f"Only the part of the photo around the person was cut out ({share:.0%} of it"
        + (f"; {region.reason}" if region.reason else "")
        + '); the rest is left transparent. Tick "Whole photo" (--whole-photo on the '
        "command line) to cut out all of it."
    ]
    cut = rg.cut_edges(rg.crop(alpha, region.box), region.box, hw)
    if cut:
        notes.append(
            f'The person may reach beyond that part at the {" and ".join(cut)}: tick "Whole photo" '
            "if something is cut off."
        )
    return tuple(notes)


def finish(
    prepared: Prepared,
    raw: np.ndarray,
    background: str | tuple[int, int, int] | Background = "white",
    *,
    inference_ms: float | None = None,
) -> Result:
    """Model output -> alpha at photo size -> foreground colours -> composite over `background`.

    raw: the model's output (anything squeezing to (h, w)). inference_ms: how long the caller's model
    call took, recorded under "inference".
    """
    bg = resolve_background(background)  # fail on a bad colour before the expensive steps
    timings = dict(prepared.timings)
    if inference_ms is not None:
        timings["inference"] = inference_ms
    image = prepared.image
    with Stopwatch(timings, "upsample"):
        alpha = matte(prepared, raw)
        found = subjects.analyse(alpha)
    subjects.require_person(found)
    image = replace(image, notes=image.notes + tuple(found.notes()) + region_notes(prepared, alpha))
    with Stopwatch(timings, "foreground"):
        # only where alpha can be above 0 (and what reaches it): the colours elsewhere never show
        whole = (0, 0, alpha.shape[1], alpha.shape[0])
        box = foreground.support(alpha, whole if prepared.region is None else prepared.region.box)
        part = foreground.estimate_foreground(
            np.ascontiguousarray(rg.crop(image.rgb, box)), np.ascontiguousarray(rg.crop(alpha, box))
        )
        fg = part if box == whole else rg.paste(part, box, alpha.shape)
    with Stopwatch(timings, "composite"):
        out = comp.composite(fg, alpha, bg.rgb)
    return Result(
        image=image,
        model_id=prepared.spec.id,
        alpha=alpha,
        foreground=fg,
        background=bg,
        composite=out,
        timings=timings,
    )


def process(
    data: bytes,
    backend: Backend,
    spec: ModelSpec,
    background: str | tuple[int, int, int] | Background = "white",
    *,
    max_side: int = DEFAULT_MAX_SIDE,
    region: rg.Region | None = None,
) -> Result:
    """prepare -> backend.run -> finish, for synchronous backends (CPython)."""
    resolve_background(background)
    prepared = prepare(data, spec, max_side=max_side, region=region)
    start = time.perf_counter()
    raw = backend.run(spec, prepared.tensor)
    inference_ms = (time.perf_counter() - start) * 1000.0
    return finish(prepared, raw, background, inference_ms=inference_ms)
