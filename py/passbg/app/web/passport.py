"""The page's country presets (static/app/presets.js; see passbg.passport): the menu, the crop with the
page's zoom and drag, the digital file and the print sheets."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from passbg.app.web.engine import find_face
from passbg.app.web.state import failure, now, state
from passbg.errors import PassbgError


@dataclass
class _PassportState:
    image: Any = None  # the decoded photo the landmarks belong to
    landmarks: Any = None  # passbg.passport.face.FaceLandmarks of `image`
    face_ms: float = 0.0
    job: Any = None  # the last passbg.passport.photo.Passport
    files: dict[str, bytes] = field(default_factory=dict)
    recoloured: Any = None  # (result, hex, composite): the last result on a custom document's colour


_passport = _PassportState()


def presets_list() -> str:
    """The country presets for the page's menu (rule, warning, sizes) and the print sheet sizes. JSON."""
    from passbg.passport import custom, sheets
    from passbg.passport import photo as passport
    from passbg.passport.presets import load_presets

    try:
        return json.dumps({
            "presets": [passport.preset_info(p) for p in load_presets().presets],
            "sheets": sheets.sheet_menu(),
            "custom": {"rule": custom.CUSTOM_RULE, "user_message": custom.USER_MESSAGE},
        })
    except PassbgError as err:
        return json.dumps({"error": str(err)})


def custom_check(fields_json: str) -> str:
    """The page's custom-document form (its fields as JSON) -> {"preset": the menu's info for it} or
    {"problems": {field: sentence}}: the one validation, passbg.passport.custom, shared with the CLI."""
    from passbg.passport import custom
    from passbg.passport import photo as passport
    from passbg.passport.presets import load_presets

    try:
        fields = json.loads(fields_json or "{}")
        if not isinstance(fields, dict):
            raise ValueError(fields_json)
        preset = custom.custom_preset(fields, load_presets().defaults)
        return json.dumps({"preset": passport.preset_info(preset)})
    except custom.CustomDocumentError as err:
        return json.dumps({"problems": err.problems})
    except ValueError:
        return json.dumps({"problems": {"form": "The stored form could not be read; enter the sizes again."}})
    except PassbgError as err:
        return json.dumps({"error": str(err)})


def _custom_source(last: Any, hex_colour: str) -> Any:
    """The last result composited on a custom document's own colour (cached: each drag re-crops)."""
    cached = _passport.recoloured
    if cached is not None and cached[0] is last and cached[1] == hex_colour:
        return cached[2]
    composite = last.composite if last.background.hex == hex_colour else last.on_background(hex_colour)
    _passport.recoloured = (last, hex_colour, composite)
    return composite


async def passport(preset_id: str, mode: str, scale: float, dx_mm: float, dy_mm: float,
                   custom_json: str = "") -> str:
    """Crop the last result for a preset ("replaced": the new background; "original": the unaltered
    photo), with the page's zoom and drag on top. preset_id "custom" takes the custom-document form's
    fields (custom_json) and its own colour. Returns JSON: passbg.passport.photo.summary plus landmarks
    and timings; the preview JPEG comes from passport_bytes("preview"). Errors: {"error": words}."""
    from passbg.core.encode import encode_jpeg
    from passbg.passport import crop, custom
    from passbg.passport import photo as pp
    from passbg.passport.presets import load_presets

    try:
        last = state.last
        if last is None or state.manifest is None:
            raise PassbgError("Choose a photo first.")
        t0 = now()
        if _passport.image is not last.image:
            _passport.landmarks = await find_face(last.image.rgb)
            _passport.image = last.image
            _passport.face_ms = now() - t0
        catalogue = load_presets()
        if preset_id == custom.CUSTOM_ID:
            preset = custom.custom_preset(json.loads(custom_json or "{}"), catalogue.defaults)
        else:
            preset = catalogue.get(preset_id)
        rgb = last.image.rgb
        if mode == "original":
            source, fill = rgb, pp.original_background_colour(rgb, last.alpha)
        elif preset_id == custom.CUSTOM_ID:  # the document's own colour, whatever step 2 shows
            colour = preset.colours[0]
            source, fill = _custom_source(last, colour.hex), colour.rgb
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
        meta["timings"] = {"face": round(_passport.face_ms, 1), "total": round(now() - t0, 1)}
        return json.dumps(meta)
    except PassbgError as err:
        return json.dumps({"error": str(err)})
    except Exception as err:  # noqa: BLE001 - the page must get words, not a traceback
        return failure(err, "The photo could not be cropped")


def passport_file(kind: str, sheet: str = "10x15") -> str:
    """Make a download of the last crop: kind "digital", "sheet-jpeg" or "sheet-pdf" (sheet 10x15, 4x6,
    a4). Returns JSON {name, mime, bytes, message, ...}; the file comes from passport_bytes("download")."""
    from passbg.passport import sheets

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
            sid = sheets.sheet_id(sheet)
            pdf = kind == "sheet-pdf"
            data = sheets.encode_sheet_pdf(image, lay) if pdf else sheets.encode_sheet_jpeg(image)
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
