"""onnxruntime-web from the page's Python worker (through static/app/ort-bridge.mjs): opening models with
progress and plain-word errors, running them with Python's buffers handed over without a copy, and the
face sequence (passbg.passport.face) driven asynchronously."""

from __future__ import annotations

from typing import Any

import numpy as np

from passbg._shared.steps import drive_async
from passbg.app.web.state import ENGINE_GONE, first_line, now, report_progress, state
from passbg.core.models import ModelSpec
from passbg.errors import PassbgError, SetupError


async def ensure_session(spec: ModelSpec) -> float:
    """Download (with progress), verify and open the model; returns ms spent (0 when warm)."""
    from pyodide.ffi import create_proxy

    if state.bridge.hasSession(spec.id):
        return 0.0
    t0 = now()
    # One segmentation model open at a time: onnxruntime-web's wasm memory never shrinks, so a second
    # session (IS-Net's weights alone are 176 MB in fp32) would stay on top of the first for good.
    # Switching back costs opening it again from the browser's copy (~1 s).
    for other in state.manifest.models.values():
        if other.id != spec.id and state.bridge.hasSession(other.id):
            await state.bridge.releaseSession(other.id)

    def on_progress(done: int, total: int) -> None:
        # (-1, -1): downloaded and verified, now being opened
        if done < 0:
            report_progress("opening-model", model=spec.id)
        else:
            report_progress("loading-model", model=spec.id, done=int(done), total=int(total))

    proxy = create_proxy(on_progress)
    try:
        # Shares the download or session the ORT worker started for the default model at page load.
        url = state.base_url + "static/models/" + spec.file
        await state.bridge.openModel(spec.id, url, spec.bytes, spec.sha256, spec.output.index, proxy)
    except Exception as err:  # noqa: BLE001 - a JS error from the bridge: say what it means
        message = str(err)
        raise_if_engine_gone(message)
        if "session:" not in message:
            raise SetupError(model_problem(spec, message)) from None
        raise SetupError(
            f"The model {spec.title} could not be opened ({first_line(message.split('session:', 1)[1])}). "
            "Choose another model, or reload the page."
        ) from None
    finally:
        proxy.destroy()
    return now() - t0


def raise_if_engine_gone(message: str) -> None:
    """The bridge says 'engine:' when the onnxruntime worker died (see ort-bridge.mjs)."""
    if "engine:" in message:
        raise PassbgError(ENGINE_GONE) from None


def model_problem(spec: ModelSpec, message: str) -> str:
    """Plain words for the bridge's model download errors (prefixed 'checksum:', 'http N:', 'network:')."""
    if "checksum:" in message:
        return (
            f"The model file for {spec.title} arrived damaged (its checksum does not match), so it was not "
            "used. Reload the page to download it again; if this keeps happening, the site's copy is "
            "broken: choose another model, or rebuild the site with `python build.py`."
        )
    if "http " in message:
        return (
            f"The model file for {spec.title} is missing on this site ({first_line(message).split(':')[0]}"
            "). Choose another model, or rebuild the site with `python build.py`."
        )
    return (
        f"The model for {spec.title} could not be downloaded ({first_line(message)}). Check your "
        "connection and try again."
    )


async def _call(method: str, spec: ModelSpec, tensor: np.ndarray) -> Any:
    """bridge.<method>(model id, tensor buffer, shape), handing Python's float32 buffer to the bridge
    without a copy (it is released as soon as the bridge has taken it)."""
    from pyodide.ffi import create_proxy, to_js

    tensor = np.ascontiguousarray(tensor, dtype=np.float32)
    proxy = create_proxy(tensor)
    buf = proxy.getBuffer("f32")
    try:
        return await getattr(state.bridge, method)(spec.id, buf.data, to_js(list(tensor.shape)))
    finally:
        buf.release()
        proxy.destroy()


def _array(item: Any) -> np.ndarray:
    """A bridge output {dims, data (Float32Array)} -> float32 array of shape dims."""
    dims = [int(d) for d in item.dims]
    arr = np.empty(int(np.prod(dims)), dtype=np.float32)
    item.data.assign_to(arr)
    return arr.reshape(dims)


async def infer(spec: ModelSpec, tensor: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
    """Run the segmentation model on an NCHW float32 tensor -> (raw (h, w) float32, timings in ms)."""
    t0 = now()
    out = await _call("run", spec, tensor)
    t1 = now()
    raw = _array(out)
    t2 = now()
    raw = raw.reshape(raw.shape[-2], raw.shape[-1])
    return raw, {
        "handoff": float(out.handoffMs),
        "inference": float(out.inferenceMs),
        "readback": t2 - t1,
        "bridge_total": t2 - t0,
    }


async def helper_session(kind: str) -> ModelSpec:
    """Open a face model on onnxruntime-web (verified by sha256), quietly: the page's status line belongs
    to the main photo's progress."""
    spec = state.manifest.helper(kind)
    if not state.bridge.hasSession(spec.id):
        url = state.base_url + "static/models/" + spec.file
        # Downloaded, verified and opened where onnxruntime runs: the bytes never cross to this worker.
        await state.bridge.openModel(spec.id, url, spec.bytes, spec.sha256, 0, None)
    return spec


async def run_all(spec: ModelSpec, tensor: np.ndarray) -> list[np.ndarray]:
    """Every output of a model for an NCHW float32 tensor, as float32 arrays of the model's shapes."""
    out = await _call("runAll", spec, tensor)
    return [_array(item) for item in out.outputs]


async def find_face(rgb: np.ndarray) -> Any:
    """passbg.passport.face.face_steps driven with awaited onnxruntime-web calls (the same steps and
    numbers as the CPython driver)."""
    from passbg.passport import face

    async def run(kind: str, tensor: np.ndarray) -> list[np.ndarray]:
        return await run_all(await helper_session(kind), tensor)

    return await drive_async(face.face_steps(rgb), run)


async def find_region(rgb: np.ndarray, preset: Any = None) -> Any:
    """passbg.passport.region.region_steps driven with awaited onnxruntime-web calls of the face detector
    (the same steps and numbers as the CPython driver); a Choice. No face detector installed: the whole
    photo, with a note."""
    from passbg.errors import SetupError
    from passbg.passport import region

    try:
        spec = await helper_session("face-detector")
    except SetupError:
        return region.Choice(None, "The face detector is not installed, so the whole photo was cut out.")
    return await drive_async(region.region_steps(rgb, preset), lambda _kind, tensor: run_all(spec, tensor))
