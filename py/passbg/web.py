"""The browser side of passbg: the functions the page calls in its Python worker.

Runs only in Pyodide (imports ``js`` and ``pyodide`` lazily, so importing the package in CPython
never touches this module). Inference goes through onnxruntime-web via ``static/app/ort-bridge.mjs``
in the same worker; the numpy core does everything else, exactly as in CPython.

Everything returned to the page is plain data: JSON strings and byte arrays.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from passbg import pipeline
from passbg.backgrounds import default_background, presets, resolve_background
from passbg.errors import PassbgError
from passbg.models import Manifest, ModelSpec, parse_manifest


def _now() -> float:
    return time.perf_counter() * 1000.0


@dataclass
class _State:
    base_url: str = ""
    bridge: Any = None
    manifest: Manifest | None = None
    threads: int = 1
    isolated: bool = False
    progress: Any = None  # main-thread callback(json: str), set by the worker entry point
    # the last result, kept so a background change re-composites without a new inference
    last: pipeline.Result | None = None
    files: dict[str, bytes] = field(default_factory=dict)


_state = _State()


def _report(stage: str, **info: Any) -> None:
    if _state.progress is not None:
        _state.progress(json.dumps({"stage": stage, **info}))


async def _fetch_text(url: str) -> str:
    import js

    response = await js.fetch(url, js.Object.fromEntries([["cache", "no-cache"]]))
    if not response.ok:
        raise PassbgError(f"Could not load {url.rsplit('/', 1)[-1]} (HTTP {response.status}).")
    return await response.text()


def set_progress(callback: Any) -> None:
    """Register the page's progress callback (it takes one JSON string)."""
    _state.progress = callback


async def init(base_url: str, threads: int) -> str:
    """Load the ORT bridge and the model manifest; return what the page needs to build its menus."""
    from pyodide.code import run_js

    _state.base_url = base_url
    t0 = _now()
    _state.bridge = await run_js(f"import({json.dumps(base_url + 'static/app/ort-bridge.mjs')})")
    info = await _state.bridge.init(base_url, int(threads))
    _state.threads = int(info.threads)
    _state.isolated = bool(info.isolated)
    manifest_text = await _fetch_text(base_url + "static/models/manifest.json")
    _state.manifest = parse_manifest(json.loads(manifest_text), root=None)
    return json.dumps(
        {
            "models": [_model_info(spec) for spec in _state.manifest.models.values()],
            "default_model": _state.manifest.default,
            "backgrounds": [
                {"id": bg.id, "label": bg.title, "hex": bg.hex} for bg in presets().values()
            ],
            "default_background": default_background().id,
            "threads": _state.threads,
            "isolated": _state.isolated,
            "init_ms": round(_now() - t0, 1),
        }
    )


def _model_info(spec: ModelSpec) -> dict[str, Any]:
    return {
        "id": spec.id,
        "title": spec.title,
        "bytes": spec.bytes,
        "licence": spec.licence,
        "source": spec.source,
    }


async def _ensure_session(spec: ModelSpec) -> float:
    """Download (with progress), verify and open the model; returns ms spent (0 when warm)."""
    from pyodide.ffi import create_proxy

    if _state.bridge.hasSession(spec.id):
        return 0.0
    t0 = _now()

    def on_progress(done: int, total: int) -> None:
        _report("loading-model", model=spec.id, done=int(done), total=int(total))

    proxy = create_proxy(on_progress)
    try:
        url = _state.base_url + "static/models/" + spec.file
        data = await _state.bridge.fetchModel(url, spec.bytes, spec.sha256, proxy)
    finally:
        proxy.destroy()
    _report("opening-model", model=spec.id)
    await _state.bridge.createSession(spec.id, data, spec.output.index)
    return _now() - t0


async def _infer(spec: ModelSpec, tensor: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
    """Run the model on an NCHW float32 tensor, handing Python's buffer to ORT without a copy."""
    from pyodide.ffi import create_proxy, to_js

    tensor = np.ascontiguousarray(tensor, dtype=np.float32)
    t0 = _now()
    proxy = create_proxy(tensor)
    buf = proxy.getBuffer("f32")
    try:
        out = await _state.bridge.run(spec.id, buf.data, to_js(list(tensor.shape)))
    finally:
        buf.release()
        proxy.destroy()
    t1 = _now()
    dims = [int(d) for d in out.dims]
    raw = np.empty(int(np.prod(dims)), dtype=np.float32)
    out.data.assign_to(raw)
    t2 = _now()
    raw = raw.reshape(dims[-2], dims[-1])
    return raw, {
        "handoff": float(out.handoffMs),
        "inference": float(out.inferenceMs),
        "readback": t2 - t1,
        "bridge_total": t2 - t0,
    }


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


def _result_meta(result: pipeline.Result, spec: ModelSpec, extra: dict[str, float]) -> str:
    timings = {k: round(float(v), 1) for k, v in {**result.timings, **extra}.items()}
    image = result.image
    return json.dumps(
        {
            "model": _model_info(spec),
            "timings": timings,
            "width": int(result.composite.shape[1]),
            "height": int(result.composite.shape[0]),
            "background": result.background.hex,
            "zoom": _zoom_box(result.alpha),
            "notes": list(getattr(image, "notes", []) or []),
            "threads": _state.threads,
            "isolated": _state.isolated,
        }
    )


async def process(photo: Any, model_id: str, background: str) -> str:
    """Segment and composite one photo. ``photo`` is a Uint8Array of the file's bytes.

    Returns JSON metadata; the images are fetched with :func:`result_bytes`. Errors come back as
    JSON ``{"error": message}`` in plain words, never as a traceback.
    """
    try:
        if _state.manifest is None:
            raise PassbgError("The app is still starting; try again in a moment.")
        spec = _state.manifest.get(model_id)
        t_start = _now()
        load_ms = await _ensure_session(spec)
        _report("decoding")
        data = photo.to_bytes() if hasattr(photo, "to_bytes") else bytes(photo)
        prepared = pipeline.prepare(data, spec)
        _report("segmenting", model=spec.id)
        raw, bridge_ms = await _infer(spec, prepared.tensor)
        _report("compositing")
        result = pipeline.finish(prepared, raw, background, inference_ms=bridge_ms["inference"])
        _store(result)
        extra = {"model_load": load_ms, "total": _now() - t_start, **bridge_ms}
        return _result_meta(result, spec, extra)
    except PassbgError as err:
        return json.dumps({"error": str(err)})
    except MemoryError:
        return json.dumps({"error": "This photo is too large for the memory available; try a smaller photo."})
    except Exception as err:  # noqa: BLE001 - the page must get words, not a traceback
        import traceback

        traceback.print_exc()
        kind = type(err).__name__
        return json.dumps({"error": f"Something went wrong while processing the photo ({kind})."})


async def recomposite(background: str) -> str:
    """Put the last photo on another background without running the model again."""
    try:
        last = _state.last
        if last is None or _state.manifest is None:
            raise PassbgError("Choose a photo first.")
        t0 = _now()
        bg = resolve_background(background)
        timings = {k: v for k, v in last.timings.items() if k not in ("composite", "encode")}
        result = dataclasses.replace(last, background=bg, composite=last.on_background(bg), timings=timings)
        _store(result)
        return _result_meta(result, _state.manifest.get(last.model_id), {"total": _now() - t0})
    except PassbgError as err:
        return json.dumps({"error": str(err)})


def _store(result: pipeline.Result) -> None:
    _state.last = result
    _state.files = {"composite": result.jpeg(), "cutout": result.cutout_png()}


def result_bytes(kind: str) -> Any:
    """The encoded result image (``composite`` JPEG or ``cutout`` PNG) as a Uint8Array."""
    from pyodide.ffi import to_js

    return to_js(_state.files[kind])


def alpha_bytes() -> Any:
    """The last alpha matte as float32 little-endian bytes, row by row (for the parity test)."""
    from pyodide.ffi import to_js

    if _state.last is None:
        return None
    return to_js(np.ascontiguousarray(_state.last.alpha, dtype="<f4").tobytes())
