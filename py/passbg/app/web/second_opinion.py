"""The page's cloud second opinion (static/app/cloud.js does the upload; see passbg.app.cloud): what is
uploaded, and the endpoint's answer scored exactly like a local result, the better one kept."""

from __future__ import annotations

import json
from typing import Any

from passbg.app import cloud
from passbg.app.web.photo import model_meta, result_meta, score_result, store
from passbg.app.web.state import failure, now, state
from passbg.errors import InputError, PassbgError
from passbg.quality import report as quality_mod


def cloud_prepare() -> str:
    """Encode what would be uploaded for the last photo and describe it: JSON {width, height, bytes}.
    The bytes (a fresh JPEG of the decoded pixels: no EXIF, no GPS) come from :func:`cloud_upload_bytes`."""
    last = state.last
    if last is None:
        return json.dumps({"error": "Choose a photo first."})
    state.cloud_image = last.image
    data = cloud.upload_jpeg(last.image.rgb)
    state.files["cloud-upload"] = data
    height, width = cloud.upload_size(last.image.rgb.shape[:2])
    return json.dumps({"width": width, "height": height, "bytes": len(data)})


def cloud_upload_bytes() -> Any:
    """The upload prepared by :func:`cloud_prepare`, as a Uint8Array."""
    from pyodide.ffi import to_js

    return to_js(state.files["cloud-upload"])


def process_cloud(answer: Any, endpoint: str, source: str = "") -> str:
    """The endpoint's PNG (mask or cut-out, a Uint8Array) -> composite and checks exactly as for a local
    result; the better of the two is kept. `source`: what answered, as the endpoint named it (a passbg
    server's model and pipeline; empty for a plain rembg server). Returns the kept result's meta plus
    ``cloud``: {endpoint, source, local, remote (quality dicts), used: "cloud" | "local"}; or
    {"error": words} (the local result stays)."""
    try:
        local, image = state.last, state.cloud_image
        if local is None or image is None or local.image is not image or state.manifest is None:
            raise PassbgError("A different photo was chosen meanwhile; the endpoint's answer was not used.")
        data = answer.to_bytes() if hasattr(answer, "to_bytes") else bytes(answer)
        t0 = now()
        mask = cloud.read_mask(data, cloud.upload_size(image.rgb.shape[:2]))
        spec = cloud.mask_spec(state.manifest.get(state.manifest.default), endpoint)
        try:
            remote = cloud.finish_with_mask(image, mask, spec, local.background)
        except InputError:
            raise cloud.EndpointError(
                "The endpoint found no person in the photo; its answer was not used."
            ) from None
        local_quality = state.quality or score_result(local)
        local_report = state.report
        remote_report = quality_mod.assess(remote)
        remote_quality = quality_mod.summary(remote_report)
        local_score = -1 if local_quality is None else local_quality["score"]
        used = cloud.pick(local_score, remote_quality["score"])
        state.report = remote_report if used == "cloud" else local_report
        if used == "cloud":
            store(remote)
        kept = remote if used == "cloud" else local
        kept_quality = remote_quality if used == "cloud" else local_quality
        extra = {"total": now() - t0}
        meta = json.loads(result_meta(kept, model_meta(kept.model_id), extra, kept_quality))
        meta["cloud"] = {"endpoint": endpoint, "source": source, "local": local_quality,
                         "remote": remote_quality, "used": used}
        return json.dumps(meta)
    except PassbgError as err:
        return json.dumps({"error": str(err)})
    except Exception as err:  # noqa: BLE001 - the page must get words, not a traceback
        return failure(err, "The endpoint's answer could not be used")
