"""Crop a portrait to a country preset: head height, eye line and top margin inside the published ranges.

Coordinates are image pixels (x right, y down), floats. The crown is measured on the alpha matte (topmost
row of the head with alpha > 0.5, in a column band around the face); the chin and eyes come from the face
model (`passbg.passport.face`). Landmarks from any other source (e.g. placed by hand) are labelled by their
`source`, and a plan built on them never passes the checks by itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from passbg.errors import InputError
from passbg.passport.face import FaceLandmarks
from passbg.passport.presets import Preset
from passbg.quality.checks import CheckResult

# Keep at least this much space above the crown when the eye-line rule alone would leave less (mm).
_MIN_TOP_MARGIN_MM = 2.0


@dataclass(frozen=True)
class Adjustment:
    """Manual changes on top of the automatic crop (the page's drag and zoom).
    scale > 1 makes the head bigger on the print; dx_mm / dy_mm move the person right / down on the print
    (as dragging the photo under a fixed frame does)."""

    scale: float = 1.0
    dx_mm: float = 0.0
    dy_mm: float = 0.0


@dataclass(frozen=True)
class CropPlan:
    """Where the photo frame lies in the source image and what it does to the head (mm on the print)."""

    preset_id: str
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in source pixels; may leave the image
    px_per_mm: float  # source pixels per millimetre of print
    head_mm: float
    eye_line_mm: float  # eye line above the bottom edge
    top_margin_mm: float  # crown below the top edge
    padding_mm: dict[str, float]  # how far the frame leaves the image on each side (0 = inside)
    landmarks_source: str
    crown_at_edge: bool  # the head touches the top of the source photo: the crown may be cut off
    adjustment: Adjustment

    @property
    def needs_padding(self) -> bool:
        return any(v > 0.05 for v in self.padding_mm.values())


def crown_row(alpha: np.ndarray, x0: float, x1: float) -> float:
    """alpha float (H, W) in [0, 1] -> row of the topmost pixel with alpha > 0.5 between columns x0..x1."""
    h, w = alpha.shape
    band = alpha[:, max(0, int(x0)):min(w, int(np.ceil(x1)))] > 0.5
    rows = np.flatnonzero(band.any(axis=1))
    if rows.size == 0:
        raise InputError("No person was found above the face; the cut-out looks empty.")
    return float(rows[0])


def plan_crop(alpha: np.ndarray, landmarks: FaceLandmarks, preset: Preset, defaults: dict[str, float],
              adjustment: Adjustment | None = None, frame_width_mm: float | None = None) -> CropPlan:
    """Automatic crop (aiming at the middle of each published range), then the manual adjustment on top.

    frame_width_mm overrides the print width for a digital file whose pixel aspect differs from the
    print's (the height and every vertical rule stay those of the print).

    alpha float (H, W) in [0, 1]; landmarks in the same pixel grid. Raises InputError for presets that
    make no photo (e.g. Sweden) and for a chin above the crown."""
    if not preset.has_layout:
        raise InputError(f"{preset.name}: {preset.user_message}")
    adj = adjustment or Adjustment()
    if adj.scale <= 0:
        raise InputError("The zoom must be a positive number.")
    h, w = alpha.shape
    eye_x, eye_y = landmarks.eye_mid
    half_band = max(landmarks.eye_distance, 0.05 * w)
    crown = crown_row(alpha, eye_x - half_band, eye_x + half_band)
    head_px = landmarks.chin[1] - crown
    if head_px <= 0:
        raise InputError("The chin was found above the top of the head; the face could not be measured.")

    width_mm, height_mm = frame_width_mm or preset.width_mm, preset.height_mm
    ppm = head_px / (preset.head_mm.middle * adj.scale)  # source px per print mm
    if preset.eye_line_mm is not None:
        y0 = eye_y - (height_mm - preset.eye_line_mm.middle) * ppm
        # A high eye line can push the crown out of the frame: lower the frame as far as the eye-line
        # range allows to keep some space above the head.
        shortfall = _MIN_TOP_MARGIN_MM - (crown - y0) / ppm
        room = preset.eye_line_mm.middle - preset.eye_line_mm.low
        y0 -= max(0.0, min(shortfall, room)) * ppm
    elif preset.top_margin_mm is not None:
        y0 = crown - preset.top_margin_mm.middle * ppm
    else:
        free = height_mm - preset.head_mm.middle * adj.scale
        y0 = crown - defaults["head_centre_share_of_free_space_above"] * free * ppm
    centre_x = (eye_x + landmarks.chin[0]) / 2  # between eyes and chin: robust to a slight head turn
    x0 = centre_x - width_mm / 2 * ppm - adj.dx_mm * ppm
    y0 = y0 - adj.dy_mm * ppm
    box = (x0, y0, x0 + width_mm * ppm, y0 + height_mm * ppm)
    return CropPlan(
        preset_id=preset.id, box=box, px_per_mm=ppm, head_mm=head_px / ppm,
        eye_line_mm=(box[3] - eye_y) / ppm, top_margin_mm=(crown - box[1]) / ppm,
        padding_mm={"left": max(0.0, -box[0]) / ppm, "top": max(0.0, -box[1]) / ppm,
                    "right": max(0.0, box[2] - w) / ppm, "bottom": max(0.0, box[3] - h) / ppm},
        landmarks_source=landmarks.source, crown_at_edge=crown <= 1, adjustment=adj,
    )


def _range_check(cid: str, value: float, low: float, high: float, what: str, estimate: bool) -> CheckResult:
    inside = low - 0.05 <= value <= high + 0.05  # 0.05 mm: below a print's dot pitch
    threshold = low if value < low else high
    if inside:
        reason = f"{what} is {value:.1f} mm, inside {low:g}-{high:g} mm."
    else:
        reason = f"{what} is {value:.1f} mm; it must be {low:g}-{high:g} mm."
    if estimate:
        reason += " (Estimated from the outline, without a face model: check it by eye.)"
    return CheckResult(cid, round(value, 2), threshold, inside and not estimate, reason,
                       details={"min": low, "max": high})


def check_crop(plan: CropPlan, preset: Preset) -> list[CheckResult]:
    """Head height, eye line, top margin and padding of a crop plan, as CheckResults.

    A plan built on a silhouette estimate never passes: its numbers are guesses."""
    est = plan.landmarks_source != "face-model"
    out = [_range_check("head_height", plan.head_mm, preset.head_mm.low, preset.head_mm.high,
                        "Head height (chin to crown)", est)]
    if preset.eye_line_mm is not None:
        out.append(_range_check("eye_line", plan.eye_line_mm, preset.eye_line_mm.low, preset.eye_line_mm.high,
                                "Eye line above the bottom edge", est))
    if preset.top_margin_mm is not None:
        out.append(_range_check("top_margin", plan.top_margin_mm, preset.top_margin_mm.low,
                                preset.top_margin_mm.high, "Space above the head", est))
    else:
        ok = plan.top_margin_mm > 0.5
        out.append(CheckResult("top_margin", round(plan.top_margin_mm, 2), 0.5, ok,
                               "There is space above the head." if ok else
                               "The top of the head is cut off or touches the top edge."))
    if plan.crown_at_edge:
        out.append(CheckResult("crown_visible", 0.0, 1.0, False,
                               "The head touches the top of your photo, so the top of the head may be cut "
                               "off and the head height cannot be measured. Use a photo with space above "
                               "the head."))
    pad = max(plan.padding_mm.values())
    sides = ", ".join(k for k, v in plan.padding_mm.items() if v > 0.05)
    out.append(CheckResult(
        "frame_inside_photo", round(pad, 2), 0.05, pad <= 0.05,
        "The photo frame lies inside your photo." if pad <= 0.05 else
        f"Your photo is too tight for this size: {pad:.1f} mm at the {sides} were filled with the "
        "background colour. A photo taken from a little further away avoids this.",
        details=dict(plan.padding_mm),
    ))
    return out


def render_crop(rgb: np.ndarray, plan: CropPlan, size_px: tuple[int, int],
                fill_rgb: tuple[int, int, int]) -> np.ndarray:
    """Cut the plan's frame out of rgb uint8 (H, W, 3) and resample it to size_px (width, height).

    Where the frame leaves the photo the area is filled with fill_rgb (the background colour)."""
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = plan.box
    pl, pt = max(0, int(np.ceil(-x0))), max(0, int(np.ceil(-y0)))
    pr, pb = max(0, int(np.ceil(x1 - w))), max(0, int(np.ceil(y1 - h)))
    img = Image.fromarray(np.ascontiguousarray(rgb[..., :3]))
    if pl or pt or pr or pb:
        canvas = Image.new("RGB", (w + pl + pr, h + pt + pb), tuple(int(c) for c in fill_rgb))
        canvas.paste(img, (pl, pt))
        img = canvas
    box = (x0 + pl, y0 + pt, x1 + pl, y1 + pt)
    return np.asarray(img.resize(size_px, Image.LANCZOS, box=box))
