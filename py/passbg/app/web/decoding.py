"""The page's photo decoding: Pyodide's Pillow where it reads a file as CPython does, the browser where
it cannot (HEIC, AVIF, colour profiles: Pyodide's Pillow has no plugins and no littlecms).

passbg.core.decode.handoff says which; static/app/image-decode.mjs decodes with the browser
(createImageBitmap converts to sRGB and applies the orientation), or with libheif-js for HEIC the browser
cannot read, then converts the profile with the browser. It hands back sRGB RGBA at the working size
with what it did, which passbg.core.pipeline.prepare_pixels turns into the same Prepared as bytes give.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from passbg.core import pipeline
from passbg.core.decode import DEFAULT_MAX_SIDE, Handoff, damaged_message, handoff
from passbg.core.models import ModelSpec
from passbg.errors import InputError

_module: Any = None  # static/app/image-decode.mjs, imported on the first photo that needs it


async def _decoder(base_url: str) -> Any:
    global _module
    if _module is None:
        from pyodide.code import run_js

        _module = await run_js(f"import({json.dumps(base_url + 'static/app/image-decode.mjs')})")
    return _module


async def prepare(data: bytes, photo: Any, spec: ModelSpec, base_url: str) -> pipeline.Prepared:
    """Decode `data` (the file's bytes; `photo` the same as a JS Uint8Array) and build the model input.
    Raises InputError with plain words for files no decoder here can read."""
    how = handoff(data)
    if how is None:
        return pipeline.prepare(data, spec)
    module = await _decoder(base_url)
    try:
        from pyodide.ffi import to_js

        icc = to_js(how.icc) if how.icc else None
        out = await module.decodePhoto(photo, how.format, DEFAULT_MAX_SIDE, icc)
    except Exception as err:  # noqa: BLE001 - the browser's words for a file it could not decode
        return _fallback(data, spec, how, _js_message(err))
    rgba = np.frombuffer(out.rgba.to_bytes(), dtype=np.uint8).reshape(int(out.height), int(out.width), 4)
    notes = tuple(str(n) for n in out.notes) if out.notes else ()
    return pipeline.prepare_pixels(
        rgba,
        spec,
        format=how.format,
        original_size=(int(out.originalWidth), int(out.originalHeight)),
        orientation=how.orientation,
        colour=str(out.colour),
        notes=notes,
        source=data,
    )


def _fallback(data: bytes, spec: ModelSpec, how: Handoff, reason: str) -> pipeline.Prepared:
    """The browser could not decode the file: a HEIC/AVIF is damaged (say so), anything else goes to
    Pillow, which reads it with its profile ignored and a note saying so, or explains what is wrong."""
    if how.reason in ("HEIC", "AVIF"):
        raise InputError(damaged_message(how.format, reason))
    return pipeline.prepare(data, spec)


def _js_message(err: Exception) -> str:
    text = str(err).strip()
    for prefix in ("Error: ", "EncodingError: ", "InvalidStateError: ", "JsException: "):
        text = text.removeprefix(prefix)
    return text.splitlines()[0][:160] if text else "the decoder gave no reason"
