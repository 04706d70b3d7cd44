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

from passbg import cloud, pipeline
from passbg import quality as quality_mod
from passbg.backgrounds import default_background, presets, resolve_background
from passbg.checks import default_config
from passbg.errors import InputError, PassbgError, SetupError
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
    quality: dict[str, Any] | None = None  # the last result's quality (passbg.quality.summary)
    report: Any = None  # the last result's passbg.checks.QualityReport (for the overlay)
    cloud_image: Any = None  # the decoded photo the last cloud upload was made from


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


async def init(base_url: str, threads: int, engine: str = "") -> str:
    """Load the ORT bridge and the model manifest; return what the page needs to build its menus.

    ``engine`` names the channel of the page's onnxruntime worker (static/app/ort-worker.mjs), which
    has been loading the default model since the page opened; empty: ORT runs in this worker.
    """
    from pyodide.code import run_js

    _state.base_url = base_url
    t0 = _now()
    _state.bridge = await run_js(f"import({json.dumps(base_url + 'static/app/ort-bridge.mjs')})")
    info = await _state.bridge.init(base_url, int(threads), engine)
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
            "quality_threshold": float(default_config()["cloud_below"]),
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
    # One segmentation model open at a time: onnxruntime-web's wasm memory never shrinks, so a second
    # session (IS-Net's weights alone are 176 MB in fp32) would stay on top of the first for good.
    # Switching back costs opening it again from the browser's copy (~1 s).
    for other in _state.manifest.models.values():
        if other.id != spec.id and _state.bridge.hasSession(other.id):
            await _state.bridge.releaseSession(other.id)

    def on_progress(done: int, total: int) -> None:
        # (-1, -1): downloaded and verified, now being opened
        if done < 0:
            _report("opening-model", model=spec.id)
        else:
            _report("loading-model", model=spec.id, done=int(done), total=int(total))

    proxy = create_proxy(on_progress)
    try:
        # Shares the download or session the ORT worker started for the default model at page load.
        url = _state.base_url + "static/models/" + spec.file
        await _state.bridge.openModel(spec.id, url, spec.bytes, spec.sha256, spec.output.index, proxy)
    except Exception as err:  # noqa: BLE001 - a JS error from the bridge: say what it means
        message = str(err)
        _raise_if_engine_gone(message)
        if "session:" not in message:
            raise SetupError(_model_problem(spec, message)) from None
        raise SetupError(
            f"The model {spec.title} could not be opened ({_first_line(message.split('session:', 1)[1])}). "
            "Choose another model, or reload the page."
        ) from None
    finally:
        proxy.destroy()
    return _now() - t0


ENGINE_GONE = (
    "The photo engine stopped — the browser may have run out of memory. Your photo is still here: "
    "reload the page to try again, or use a smaller photo."
)


def _raise_if_engine_gone(message: str) -> None:
    """The bridge says 'engine:' when the onnxruntime worker died (see ort-bridge.mjs)."""
    if "engine:" in message:
        raise PassbgError(ENGINE_GONE) from None


def _failure(err: Exception, words: str) -> str:
    """The page's JSON for an exception nothing expected: the words for a dead onnxruntime worker when
    that is what it was, else `words` and the exception's type (the traceback goes to the console)."""
    if "engine:" in str(err):
        return json.dumps({"error": ENGINE_GONE})
    import traceback

    traceback.print_exc()
    return json.dumps({"error": f"{words} ({type(err).__name__})."})


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:200] if text.strip() else "no details"


def _model_problem(spec: ModelSpec, message: str) -> str:
    """Plain words for the bridge's model download errors (prefixed 'checksum:', 'http N:', 'network:')."""
    if "checksum:" in message:
        return (
            f"The model file for {spec.title} arrived damaged (its checksum does not match), so it was not "
            "used. Reload the page to download it again; if this keeps happening, the site's copy is "
            "broken: choose another model, or rebuild the site with `python build.py`."
        )
    if "http " in message:
        return (
            f"The model file for {spec.title} is missing on this site ({_first_line(message).split(':')[0]}"
            "). Choose another model, or rebuild the site with `python build.py`."
        )
    return (
        f"The model for {spec.title} could not be downloaded ({_first_line(message)}). Check your "
        "connection and try again."
    )


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


def _quality(result: pipeline.Result) -> dict[str, Any] | None:
    """The result's score and failed checks' reasons; None (and a console trace) if the checks fail,
    so a problem in the checks never costs the user their result."""
    try:
        _state.report = quality_mod.assess(result)
        _state.quality = quality_mod.summary(_state.report)
    except Exception:  # noqa: BLE001 - see docstring
        import traceback

        traceback.print_exc()
        _state.report = _state.quality = None
    return _state.quality


def quality_overlay() -> Any:
    """Where the last result's failed checks found problems: an RGBA PNG at the result's size
    (transparent where nothing was found), as a Uint8Array; None when there is no report."""
    from pyodide.ffi import to_js

    from passbg.encode import encode_png

    if _state.report is None or _state.last is None:
        return None
    height, width = _state.last.alpha.shape
    return to_js(encode_png(quality_mod.overlay(_state.report, (width, height))))


def _model_meta(model_id: str) -> dict[str, Any]:
    """What the page shows about the model that made a result (a cloud endpoint is named by its host)."""
    if model_id.startswith("cloud:"):
        host = model_id.removeprefix("cloud:")
        return {"id": model_id, "title": f"the cloud endpoint {host}", "bytes": 0,
                "licence": {"name": "chosen by the endpoint's operator"}, "source": host}
    return _model_info(_state.manifest.get(model_id))


def _result_meta(
    result: pipeline.Result, spec: ModelSpec | dict[str, Any], extra: dict[str, float], quality: Any = False
) -> str:
    """JSON metadata of a result for the page; `quality` when the caller has already scored it."""
    t0 = _now()
    if quality is False:
        quality = _quality(result)
    else:
        _state.quality = quality
    timings = {k: round(float(v), 1) for k, v in {**result.timings, **extra, "checks": _now() - t0}.items()}
    image = result.image
    return json.dumps(
        {
            "model": spec if isinstance(spec, dict) else _model_info(spec),
            "quality": quality,
            "timings": timings,
            "width": int(result.composite.shape[1]),
            "height": int(result.composite.shape[0]),
            "background": result.background.hex,
            "zoom": _zoom_box(result.alpha),
            "notes": list(getattr(image, "notes", []) or []),
            "threads": _state.threads,
            "isolated": _state.isolated,
            "python_heap": _python_heap_bytes(),
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
        _forget_last()  # a new, readable photo: the old result's arrays need not share the memory peak
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
        return _failure(err, "Something went wrong while processing the photo")


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
        return _result_meta(result, _model_meta(last.model_id), {"total": _now() - t0})
    except PassbgError as err:
        return json.dumps({"error": str(err)})


def _forget_last() -> None:
    """Drop the last result's arrays (the photo's working size) and what was derived from them; its
    encoded files stay until the new result replaces them."""
    _state.last, _state.report, _state.quality, _state.cloud_image = None, None, None, None


def _python_heap_bytes() -> int:
    """The size of Python's WebAssembly memory (it only ever grows, so this is its high-water mark);
    0 where it cannot be read."""
    try:
        import pyodide_js

        return int(pyodide_js._module.HEAPU8.length)
    except Exception:  # noqa: BLE001 - a diagnostic figure only
        return 0


def _store(result: pipeline.Result) -> None:
    # Only the JPEG the page shows is encoded now; the cut-out PNG (the slow one) when it is downloaded.
    _state.last = result
    _state.files = {"composite": result.jpeg()}


def result_bytes(kind: str) -> Any:
    """The encoded result image (``composite`` JPEG or ``cutout`` PNG) as a Uint8Array."""
    from pyodide.ffi import to_js

    if kind == "cutout" and "cutout" not in _state.files and _state.last is not None:
        _state.files["cutout"] = _state.last.cutout_png()
    if kind not in _state.files:
        raise PassbgError("That image belonged to the previous photo; wait for the new result.")
    return to_js(_state.files[kind])


def alpha_bytes() -> Any:
    """The last alpha matte as float32 little-endian bytes, row by row (for the parity test)."""
    from pyodide.ffi import to_js

    if _state.last is None:
        return None
    return to_js(np.ascontiguousarray(_state.last.alpha, dtype="<f4").tobytes())


# --- cloud second opinion (static/app/cloud.js does the upload; see passbg.cloud) ---------------------


def cloud_prepare() -> str:
    """Encode what would be uploaded for the last photo and describe it: JSON {width, height, bytes}.
    The bytes (a fresh JPEG of the decoded pixels: no EXIF, no GPS) come from :func:`cloud_upload_bytes`."""
    last = _state.last
    if last is None:
        return json.dumps({"error": "Choose a photo first."})
    _state.cloud_image = last.image
    data = cloud.upload_jpeg(last.image.rgb)
    _state.files["cloud-upload"] = data
    height, width = cloud.upload_size(last.image.rgb.shape[:2])
    return json.dumps({"width": width, "height": height, "bytes": len(data)})


def cloud_upload_bytes() -> Any:
    """The upload prepared by :func:`cloud_prepare`, as a Uint8Array."""
    from pyodide.ffi import to_js

    return to_js(_state.files["cloud-upload"])


def process_cloud(answer: Any, endpoint: str) -> str:
    """The endpoint's PNG (mask or cut-out, a Uint8Array) -> composite and checks exactly as for a local
    result; the better of the two is kept. Returns the kept result's meta plus ``cloud``: {endpoint,
    local, remote (quality dicts), used: "cloud" | "local"}; or {"error": words} (the local result stays)."""
    try:
        local, image = _state.last, _state.cloud_image
        if local is None or image is None or local.image is not image or _state.manifest is None:
            raise PassbgError("A different photo was chosen meanwhile; the endpoint's answer was not used.")
        data = answer.to_bytes() if hasattr(answer, "to_bytes") else bytes(answer)
        t0 = _now()
        mask = cloud.read_mask(data, cloud.upload_size(image.rgb.shape[:2]))
        spec = cloud.mask_spec(_state.manifest.get(_state.manifest.default), endpoint)
        try:
            remote = cloud.finish_with_mask(image, mask, spec, local.background)
        except InputError:
            raise cloud.EndpointError(
                "The endpoint found no person in the photo; its answer was not used."
            ) from None
        local_quality = _state.quality or _quality(local)
        local_report = _state.report
        remote_report = quality_mod.assess(remote)
        remote_quality = quality_mod.summary(remote_report)
        local_score = -1 if local_quality is None else local_quality["score"]
        used = cloud.pick(local_score, remote_quality["score"])
        _state.report = remote_report if used == "cloud" else local_report
        if used == "cloud":
            _store(remote)
        kept = remote if used == "cloud" else local
        kept_quality = remote_quality if used == "cloud" else local_quality
        extra = {"total": _now() - t0}
        meta = json.loads(_result_meta(kept, _model_meta(kept.model_id), extra, kept_quality))
        meta["cloud"] = {"endpoint": endpoint, "local": local_quality, "remote": remote_quality, "used": used}
        return json.dumps(meta)
    except PassbgError as err:
        return json.dumps({"error": str(err)})
    except Exception as err:  # noqa: BLE001 - the page must get words, not a traceback
        return _failure(err, "The endpoint's answer could not be used")


# --- country presets: crop, digital file, print sheets (static/app/presets.js; see passbg.passport) --------


@dataclass
class _PassportState:
    image: Any = None  # the decoded photo the landmarks belong to
    landmarks: Any = None  # passbg.face.FaceLandmarks of `image`
    face_ms: float = 0.0
    job: Any = None  # the last passbg.passport.Passport
    files: dict[str, bytes] = field(default_factory=dict)


_passport = _PassportState()


def presets_list() -> str:
    """The country presets for the page's menu (rule, warning, sizes) and the print sheet sizes. JSON."""
    from passbg import passport
    from passbg.presets import load_presets

    try:
        return json.dumps({
            "presets": [passport.preset_info(p) for p in load_presets().presets],
            "sheets": [{"id": k, "label": v} for k, v in (("10x15", "10 x 15 cm"), ("4x6", "4 x 6 in"),
                                                          ("a4", "A4"))],
        })
    except PassbgError as err:
        return json.dumps({"error": str(err)})


async def _helper_session(kind: str) -> ModelSpec:
    """Open a face model on onnxruntime-web (verified by sha256), quietly: the page's status line belongs
    to the main photo's progress."""
    spec = _state.manifest.helper(kind)
    if not _state.bridge.hasSession(spec.id):
        url = _state.base_url + "static/models/" + spec.file
        # Downloaded, verified and opened where onnxruntime runs: the bytes never cross to this worker.
        await _state.bridge.openModel(spec.id, url, spec.bytes, spec.sha256, 0, None)
    return spec


async def _run_all(spec: ModelSpec, tensor: np.ndarray) -> list[np.ndarray]:
    """Every output of a model for an NCHW float32 tensor, as float32 arrays of the model's shapes."""
    from pyodide.ffi import create_proxy, to_js

    tensor = np.ascontiguousarray(tensor, dtype=np.float32)
    proxy = create_proxy(tensor)
    buf = proxy.getBuffer("f32")
    try:
        out = await _state.bridge.runAll(spec.id, buf.data, to_js(list(tensor.shape)))
    finally:
        buf.release()
        proxy.destroy()
    arrays = []
    for item in out.outputs:
        dims = [int(d) for d in item.dims]
        arr = np.empty(int(np.prod(dims)), dtype=np.float32)
        item.data.assign_to(arr)
        arrays.append(arr.reshape(dims))
    return arrays


async def _find_face(rgb: np.ndarray) -> Any:
    """passbg.face.find_face with awaited onnxruntime-web calls in between (same steps, same numbers)."""
    from passbg import face
    from passbg.errors import InputError

    det, mesh = await _helper_session("face-detector"), await _helper_session("face-landmarks")
    tensor, box = face.detector_input(rgb)
    regressors, scores = sorted(await _run_all(det, tensor), key=lambda a: a.size, reverse=True)[:2]
    faces = face.decode_detections(regressors, scores, box)
    if not faces:
        raise InputError("No face was found in the photo. Use a photo that shows your face from the front.")
    roi = face.mesh_roi(faces[0])
    points = max(await _run_all(mesh, face.mesh_input(rgb, roi)), key=lambda a: a.size)
    return face.landmarks_from(faces[0], face.decode_mesh(points, roi))


async def passport(preset_id: str, mode: str, scale: float, dx_mm: float, dy_mm: float) -> str:
    """Crop the last result for a preset ("replaced": the new background; "original": the unaltered
    photo), with the page's zoom and drag on top. Returns JSON: passbg.passport.summary plus landmarks
    and timings; the preview JPEG comes from passport_bytes("preview"). Errors: {"error": words}."""
    from passbg import crop
    from passbg import passport as pp
    from passbg.encode import encode_jpeg
    from passbg.presets import load_presets

    try:
        last = _state.last
        if last is None or _state.manifest is None:
            raise PassbgError("Choose a photo first.")
        t0 = _now()
        if _passport.image is not last.image:
            _passport.landmarks = await _find_face(last.image.rgb)
            _passport.image = last.image
            _passport.face_ms = _now() - t0
        catalogue = load_presets()
        preset = catalogue.get(preset_id)
        rgb = last.image.rgb
        if mode == "original":
            source, fill = rgb, pp.original_background_colour(rgb, last.alpha)
        else:
            source, fill = last.composite, last.background.rgb
        job = pp.Passport(preset, catalogue.defaults, source, last.alpha, _passport.landmarks, fill, mode,
                          crop.Adjustment(float(scale), float(dx_mm), float(dy_mm)))
        meta = pp.summary(job)
        _passport.job = job
        _passport.files = {"preview": encode_jpeg(job.preview(), quality=90)}
        lm = _passport.landmarks
        meta["landmarks"] = {"right_eye": list(lm.right_eye), "left_eye": list(lm.left_eye),
                             "chin": list(lm.chin), "source": lm.source}
        meta["print_px"] = [int(job.print_photo.shape[1]), int(job.print_photo.shape[0])]
        meta["timings"] = {"face": round(_passport.face_ms, 1), "total": round(_now() - t0, 1)}
        return json.dumps(meta)
    except PassbgError as err:
        return json.dumps({"error": str(err)})
    except Exception as err:  # noqa: BLE001 - the page must get words, not a traceback
        return _failure(err, "The photo could not be cropped")


def passport_file(kind: str, sheet: str = "10x15") -> str:
    """Make a download of the last crop: kind "digital", "sheet-jpeg" or "sheet-pdf" (sheet 10x15, 4x6,
    a4). Returns JSON {name, mime, bytes, message, ...}; the file comes from passport_bytes("download")."""
    from passbg import passport as pp
    from passbg import printsheet

    try:
        job = _passport.job
        if job is None:
            raise PassbgError("Choose a photo and a country first.")
        stem = f"passbg-{job.preset.id}" + ("-original" if job.mode == "original" else "")
        if kind == "digital":
            f = job.digital_file()
            data, info = f.data, {"name": f"{stem}-digital.jpg", "mime": "image/jpeg", "message": f.message,
                                  "within_limits": f.within_limits, "size_px": list(f.size_px),
                                  "quality": f.quality}
        elif kind in ("sheet-jpeg", "sheet-pdf"):
            lay, image = job.sheet(sheet)
            sid = pp.sheet_id(sheet)
            pdf = kind == "sheet-pdf"
            data = printsheet.encode_pdf(image, lay) if pdf else printsheet.encode_jpeg(image)
            info = {"name": f"{stem}-sheet-{sid}.{'pdf' if pdf else 'jpg'}",
                    "mime": "application/pdf" if pdf else "image/jpeg", "copies": lay.copies,
                    "sheet_px": list(lay.sheet_px), "photo_px": list(lay.photo_px),
                    "positions": [list(p) for p in lay.positions], "sheet_mm": list(lay.sheet_mm),
                    "message": f"{lay.copies} copies on {lay.sheet_px[0]}x{lay.sheet_px[1]} px at 300 dpi."}
        else:
            raise PassbgError(f"Unknown download '{kind}'.")
        _passport.files["download"] = data
        return json.dumps({**info, "bytes": len(data)})
    except PassbgError as err:
        return json.dumps({"error": str(err)})


def passport_bytes(key: str) -> Any:
    """The crop preview ("preview") or the last download made by passport_file ("download")."""
    from pyodide.ffi import to_js

    return to_js(_passport.files[key])
