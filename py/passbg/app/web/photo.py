"""The page's photo calls: start-up, segment and composite a photo, change its background, and hand the
results (JPEG, cut-out PNG, quality overlay, alpha for the parity test) to the page."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np

from passbg.app.web import decoding
from passbg.app.web.engine import ensure_session, find_region, infer
from passbg.app.web.state import (
    failure,
    fetch_text,
    model_info,
    now,
    python_heap_bytes,
    report_progress,
    state,
)
from passbg.core import pipeline
from passbg.core.backgrounds import default_background, presets, resolve_background
from passbg.core.models import ModelSpec, parse_manifest
from passbg.errors import PassbgError
from passbg.quality import report as quality_mod
from passbg.quality.checks import default_config


async def init(base_url: str, threads: int, engine: str = "", manifest_text: str = "") -> str:
    """Load the ORT bridge and the model manifest; return what the page needs to build its menus.

    ``engine`` names the channel of the page's onnxruntime worker (static/app/ort-worker.mjs), which
    has been loading the default model since the page opened; empty: ORT runs in this worker.
    """
    from pyodide.code import run_js

    state.base_url = base_url
    t0 = now()
    state.bridge = await run_js(f"import({json.dumps(base_url + 'static/app/ort-bridge.mjs')})")
    info = await state.bridge.init(base_url, int(threads), engine)
    state.threads = int(info.threads)
    state.isolated = bool(info.isolated)
    if not manifest_text:  # the page fetches it once and passes it; fetched here only when it could not
        manifest_text = await fetch_text(base_url + "static/models/manifest.json")
    state.manifest = parse_manifest(json.loads(manifest_text), root=None)
    return json.dumps(
        {
            "models": [model_info(spec) for spec in state.manifest.models.values()],
            "default_model": state.manifest.default,
            "backgrounds": [
                {"id": bg.id, "label": bg.title, "hex": bg.hex} for bg in presets().values()
            ],
            "default_background": default_background().id,
            "quality_threshold": float(default_config()["cloud_below"]),
            "threads": state.threads,
            "isolated": state.isolated,
            "init_ms": round(now() - t0, 1),
        }
    )


def _zoom_box(alpha: np.ndarray) -> dict[str, int]:
    """Where to look at 200 %: a box on the top of the head, where hair meets the background.

    alpha: float32 (H, W) in [0, 1]. Returns {x, y, width, height} in pixels of the result.
    """
    height, width = alpha.shape
    rows = np.flatnonzero((alpha > 0.5).any(axis=1))
    box_w, box_h = max(16, width // 4), max(16, height // 6)
    if rows.size == 0:
        return {"x": (width - box_w) // 2, "y": 0, "width": box_w, "height": box_h}
    top = int(rows[0])
    band = alpha[top : top + max(2, height // 20)] > 0.5
    cols = np.flatnonzero(band.any(axis=0))
    centre = int(cols.mean()) if cols.size else width // 2
    x = min(max(0, centre - box_w // 2), width - box_w)
    y = min(max(0, top - box_h // 3), height - box_h)
    return {"x": x, "y": y, "width": box_w, "height": box_h}


def score_result(result: pipeline.Result) -> dict[str, Any] | None:
    """The result's score and failed checks' reasons; None (and a console trace) if the checks fail,
    so a problem in the checks never costs the user their result."""
    try:
        state.report = quality_mod.assess(result)
        state.quality = quality_mod.summary(state.report)
    except Exception:  # noqa: BLE001 - see docstring
        import traceback

        traceback.print_exc()
        state.report = state.quality = None
    return state.quality


def quality_overlay() -> Any:
    """Where the last result's failed checks found problems: an RGBA PNG at the result's size
    (transparent where nothing was found), as a Uint8Array; None when there is no report."""
    from pyodide.ffi import to_js

    from passbg.core.encode import encode_png

    if state.report is None or state.last is None:
        return None
    height, width = state.last.alpha.shape
    return to_js(encode_png(quality_mod.overlay(state.report, (width, height))))


def model_meta(model_id: str) -> dict[str, Any]:
    """What the page shows about the model that made a result (a cloud endpoint is named by its host)."""
    if model_id.startswith("cloud:"):
        host = model_id.removeprefix("cloud:")
        return {"id": model_id, "title": f"the cloud endpoint {host}", "bytes": 0,
                "licence": {"name": "chosen by the endpoint's operator"}, "source": host}
    return model_info(state.manifest.get(model_id))


def result_meta(
    result: pipeline.Result, spec: ModelSpec | dict[str, Any], extra: dict[str, float], quality: Any = False
) -> str:
    """JSON metadata of a result for the page; `quality` when the caller has already scored it."""
    t0 = now()
    if quality is False:
        quality = score_result(result)
    else:
        state.quality = quality
    timings = {k: round(float(v), 1) for k, v in {**result.timings, **extra, "checks": now() - t0}.items()}
    image = result.image
    return json.dumps(
        {
            "model": spec if isinstance(spec, dict) else model_info(spec),
            "quality": quality,
            "timings": timings,
            "width": int(result.composite.shape[1]),
            "height": int(result.composite.shape[0]),
            "background": result.background.hex,
            "zoom": _zoom_box(result.alpha),
            "notes": list(getattr(image, "notes", []) or []),
            "threads": state.threads,
            "isolated": state.isolated,
            "python_heap": python_heap_bytes(),
        }
    )


async def process(photo: Any, model_id: str, background: str, whole_photo: bool = False) -> str:
    """Segment and composite one photo. ``photo`` is a Uint8Array of the file's bytes (decoded by
    Pyodide's Pillow, or by the browser for HEIC, AVIF and colour profiles: passbg.app.web.decoding).
    The face detector runs first and only the region it gives is segmented (passbg.passport.region, as
    the CLI does); ``whole_photo`` keeps the whole-frame path.

    Returns JSON metadata; the images are fetched with :func:`result_bytes`. Errors come back as
    JSON ``{"error": message}`` in plain words, never as a traceback.
    """
    try:
        if state.manifest is None:
            raise PassbgError("The app is still starting; try again in a moment.")
        spec = state.manifest.get(model_id)
        t_start = now()
        load_ms = await ensure_session(spec)
        report_progress("decoding")
        data = photo.to_bytes() if hasattr(photo, "to_bytes") else bytes(photo)
        prepared = await decoding.prepare(data, photo, spec, state.base_url)
        forget_last()  # a new, readable photo: the old result's arrays need not share the memory peak
        if not whole_photo:
            image, timings = prepared.image, prepared.timings
            with pipeline.Stopwatch(timings, "region"):
                choice = await find_region(image.rgb)
            if choice.region is None:
                image = dataclasses.replace(image, notes=image.notes + (choice.note,))
            prepared = pipeline.prepare_image(image, spec, region=choice.region, timings=timings)
        report_progress("segmenting", model=spec.id)
        raw, bridge_ms = await infer(spec, prepared.tensor)
        report_progress("compositing")
        result = pipeline.finish(prepared, raw, background, inference_ms=bridge_ms["inference"])
        store(result)
        extra = {"model_load": load_ms, "total": now() - t_start, **bridge_ms}
        return result_meta(result, spec, extra)
    except PassbgError as err:
        return json.dumps({"error": str(err)})
    except MemoryError:
        return json.dumps({"error": "This photo is too large for the memory available; try a smaller photo."})
    except Exception as err:  # noqa: BLE001 - the page must get words, not a traceback
        return failure(err, "Something went wrong while processing the photo")


async def recomposite(background: str) -> str:
    """Put the last photo on another background without running the model again."""
    try:
        last = state.last
        if last is None or state.manifest is None:
            raise PassbgError("Choose a photo first.")
        t0 = now()
        bg = resolve_background(background)
        timings = {k: v for k, v in last.timings.items() if k not in ("composite", "encode")}
        result = dataclasses.replace(last, background=bg, composite=last.on_background(bg), timings=timings)
        store(result)
        return result_meta(result, model_meta(last.model_id), {"total": now() - t0})
    except PassbgError as err:
        return json.dumps({"error": str(err)})


def forget_last() -> None:
    """Drop the last result's arrays (the photo's working size) and what was derived from them; its
    encoded files stay until the new result replaces them."""
    state.last, state.report, state.quality, state.cloud_image = None, None, None, None


def store(result: pipeline.Result) -> None:
    # Only the JPEG the page shows is encoded now; the cut-out PNG (the slow one) when it is downloaded.
    state.last = result
    state.files = {"composite": result.jpeg()}


def result_bytes(kind: str) -> Any:
    """The encoded result image (``composite`` JPEG or ``cutout`` PNG, or the decoded photo as an
    ``original`` JPEG) as a Uint8Array."""
    from pyodide.ffi import to_js

    if kind == "cutout" and "cutout" not in state.files and state.last is not None:
        state.files["cutout"] = state.last.cutout_png()
    if kind == "original" and "original" not in state.files and state.last is not None:
        # the decoded photo, for a page that cannot show the file itself (HEIC in Chromium)
        from passbg.core.encode import encode_jpeg

        state.files["original"] = encode_jpeg(state.last.image.rgb, quality=90)
    if kind not in state.files:
        raise PassbgError("That image belonged to the previous photo; wait for the new result.")
    return to_js(state.files[kind])


def alpha_bytes() -> Any:
    """The last alpha matte as float32 little-endian bytes, row by row (for the parity test)."""
    from pyodide.ffi import to_js

    if state.last is None:
        return None
    return to_js(np.ascontiguousarray(state.last.alpha, dtype="<f4").tobytes())
