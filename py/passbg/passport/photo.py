"""A passport photo for a country preset: segmented photo + face landmarks -> crop -> print photo, digital
file and print sheets, with the crop checks (and, in "check my original photo" mode, the background checks
on the unaltered photo) folded into one score.

Two modes, because several authorities (USA, UK, Australia, ...) forbid altering the photo:
- "replaced": crop the composite (the photo on its new background);
- "original": crop the unaltered photo, and check whether its real background already passes.

The core stays runtime-free: landmarks come from `passbg.passport.face.find_face` with CPython onnxruntime
(`ort_face_finder`) or, in the browser, from `passbg.app.web` awaiting onnxruntime-web.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from passbg.core.models import Manifest
from passbg.errors import InputError
from passbg.passport import crop, digital, sheets
from passbg.passport.face import FaceLandmarks, find_face
from passbg.passport.presets import Preset
from passbg.quality import checks as qc

MODES = ("replaced", "original")
# The crop checks that decide whether the photo is usable; `frame_inside_photo` is advice (the missing
# strip is filled with the background colour), so it is reported but does not lower the score.
SCORED_CROP_CHECKS = ("head_height", "eye_line", "top_margin", "crown_visible")


def warning(preset: Preset) -> str | None:
    """The message to show before any download when the authority does not accept a replaced background
    or any self-made photo; None when replacing is allowed or not addressed."""
    return preset.user_message if preset.forbids_replacement else None


def ort_face_finder(manifest: Manifest, threads: int | None = None) -> Callable[[np.ndarray], FaceLandmarks]:
    """rgb uint8 (H, W, 3) -> FaceLandmarks, running the manifest's face models with CPython onnxruntime."""
    from passbg.core.backend_ort import OrtBackend

    backend = OrtBackend(threads)
    det, mesh = manifest.helper("face-detector"), manifest.helper("face-landmarks")

    def runner(spec):
        def run(tensor: np.ndarray) -> list[np.ndarray]:
            feed = {spec.input.name: np.ascontiguousarray(tensor, np.float32)}
            return backend.session(spec).run(None, feed)

        return run

    run_det, run_mesh = runner(det), runner(mesh)
    return lambda rgb: find_face(rgb, run_det, run_mesh)


def original_background_colour(rgb: np.ndarray, alpha: np.ndarray) -> tuple[int, int, int]:
    """Median colour of the clearly-background pixels (alpha < 0.05) of rgb uint8 (H, W, 3); mid grey
    when the person fills the photo. Used to pad an unaltered photo that is framed too tightly."""
    bg = rgb[alpha < 0.05]
    if bg.shape[0] < 16:
        return (128, 128, 128)
    med = np.median(bg.reshape(-1, 3), axis=0)
    return int(med[0]), int(med[1]), int(med[2])


@dataclass(frozen=True)
class Passport:
    """One photo prepared for one preset. source: the image to crop, uint8 (H, W, 3) (the composite, or
    the unaltered photo in "original" mode); alpha float32 (H, W) in [0, 1]; landmarks in the same pixels;
    fill: the colour for any strip the frame needs beyond the photo."""

    preset: Preset
    defaults: dict[str, float]
    source: np.ndarray
    alpha: np.ndarray
    landmarks: FaceLandmarks
    fill: tuple[int, int, int]
    mode: str = "replaced"
    adjustment: crop.Adjustment = field(default_factory=crop.Adjustment)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InputError(f"Unknown mode '{self.mode}'; use one of {', '.join(MODES)}.")
        if not self.preset.has_layout:
            raise InputError(f"{self.preset.name}: {self.preset.user_message}")

    @property
    def warning(self) -> str | None:
        return warning(self.preset)

    @cached_property
    def plan(self) -> crop.CropPlan:
        return crop.plan_crop(self.alpha, self.landmarks, self.preset, self.defaults, self.adjustment)

    @cached_property
    def crop_checks(self) -> list[qc.CheckResult]:
        return crop.check_crop(self.plan, self.preset)

    @cached_property
    def background_checks(self) -> list[qc.CheckResult]:
        """In "original" mode: is the real background plain and of an allowed colour? (Empty otherwise:
        the replaced background is checked by passbg.quality.checks on the composite.)"""
        if self.mode != "original":
            return []
        cfg = qc.default_config()
        best = None
        for colour in self.preset.colours:  # judged against the closest allowed colour
            scene = qc.make_scene(self.source, self.alpha, self.source, colour.rgb, None, cfg)
            result = qc.check_background_colour(scene, cfg)
            if best is None or result.value < best[0].value:
                best = (result, scene, colour)
        if best is None:
            return []
        result, scene, colour = best
        # The checks' own sentences speak of a replaced background; here the background is the real one.
        uniform = qc.check_background_uniformity(scene, cfg)
        return [
            replace(result, reason=(
                f"Your background is close to {colour.name} ({colour.hex}), as the rule asks "
                f"({self.preset.background_wording})." if result.passed else
                f"Your background is not close enough to an allowed colour "
                f"({self.preset.background_wording}; nearest: {colour.name} {colour.hex}).")),
            replace(uniform, reason=(
                "Your background is plain." if uniform.passed else
                f"Your background is not plain enough (OFIQ-style uniformity score {uniform.value:.0f}): "
                "texture, objects or uneven light show behind you.")),
            qc.check_cast_shadow(scene, cfg),
        ]

    @property
    def checks(self) -> list[qc.CheckResult]:
        return self.crop_checks + self.background_checks

    @cached_property
    def report(self) -> qc.QualityReport:
        scored = [c for c in self.crop_checks if c.id in SCORED_CROP_CHECKS] + self.background_checks
        return qc.score(scored)

    @property
    def crop_ok(self) -> bool:
        """Head height, eye line and top margin all inside the preset's ranges."""
        return all(c.passed for c in self.crop_checks if c.id in SCORED_CROP_CHECKS)

    @cached_property
    def print_photo(self) -> np.ndarray:
        """The crop at the print size, 300 dpi: uint8 (mm_to_px(height), mm_to_px(width), 3)."""
        size = (sheets.mm_to_px(self.preset.width_mm), sheets.mm_to_px(self.preset.height_mm))
        return crop.render_crop(self.source, self.plan, size, self.fill)

    def preview(self, long_side: int = 360) -> np.ndarray:
        """A small copy of the print photo for the page, uint8 (h, w, 3), long side long_side px."""
        from PIL import Image

        img = Image.fromarray(self.print_photo)
        scale = long_side / max(img.size)
        return np.asarray(img.resize((round(img.width * scale), round(img.height * scale)), Image.BILINEAR))

    def digital_file(self) -> digital.DigitalFile:
        """The upload file at the preset's pixels, the best JPEG quality within its kB limits. When the
        pixel aspect differs from the print's (India), the frame is re-cut at that aspect."""
        if self.preset.digital is None:
            raise InputError(f"{self.preset.name} has no digital upload; use the print sheet instead.")
        size = digital.target_size(self.preset)
        width_mm = digital.frame_width_mm(self.preset)
        plan = self.plan
        if abs(width_mm - self.preset.width_mm) > 0.01:
            plan = crop.plan_crop(self.alpha, self.landmarks, self.preset, self.defaults, self.adjustment,
                                  frame_width_mm=width_mm)
        rgb = crop.render_crop(self.source, plan, size, self.fill)
        return digital.best_jpeg(rgb, self.preset.digital.kb)

    def sheet(self, name: str) -> tuple[sheets.SheetLayout, np.ndarray]:
        """The print sheet `name` (10x15, 4x6, a4) with as many copies as fit: (layout, uint8 image)."""
        lay = sheets.layout(sheets.sheet_id(name), (self.preset.width_mm, self.preset.height_mm),
                                caption=self._caption())
        return lay, sheets.render_sheet(self.print_photo, lay)

    def sheet_jpeg(self, name: str) -> bytes:
        return sheets.encode_sheet_jpeg(self.sheet(name)[1])

    def sheet_pdf(self, name: str) -> bytes:
        lay, image = self.sheet(name)
        return sheets.encode_sheet_pdf(image, lay)

    def _caption(self) -> str:
        w, h = self.preset.width_mm, self.preset.height_mm
        # ASCII only: the caption is drawn with Pillow's built-in bitmap font.
        name = self.preset.id.encode("ascii", "replace").decode()
        return f"{name} {w:g} x {h:g} mm - print at 100 % ({sheets.DPI} dpi), no scaling"


def summary(p: Passport) -> dict:
    """What the page and the CLI show: preset rule, plan numbers (mm), checks, score. JSON-ready."""
    pr, plan = p.preset, p.plan
    return {
        "preset": preset_info(pr),
        "mode": p.mode,
        "warning": p.warning,
        "plan": {
            "box": [round(v, 2) for v in plan.box],
            "source_size": [int(p.source.shape[1]), int(p.source.shape[0])],
            "px_per_mm": round(plan.px_per_mm, 4),
            "head_mm": round(plan.head_mm, 2),
            "eye_line_mm": round(plan.eye_line_mm, 2),
            "top_margin_mm": round(plan.top_margin_mm, 2),
            "padding_mm": {k: round(v, 2) for k, v in plan.padding_mm.items()},
            "adjustment": {"scale": p.adjustment.scale, "dx_mm": p.adjustment.dx_mm,
                           "dy_mm": p.adjustment.dy_mm},
        },
        "checks": [{"id": c.id, "passed": bool(c.passed), "value": float(c.value), "reason": c.reason}
                   for c in p.checks],
        "crop_ok": p.crop_ok,
        "score": p.report.score,
        "reasons": p.report.reasons,
    }


def preset_info(pr: Preset) -> dict:
    """A preset as the page's menu and warning need it. JSON-ready."""
    info = {
        "id": pr.id, "name": pr.name, "document": pr.document, "country": pr.country,
        "replacement": pr.replacement_allowed, "forbids": pr.forbids_replacement,
        "rule": pr.replacement_rule, "user_message": pr.user_message,
        "has_layout": pr.has_layout, "background": pr.background_wording,
        "background_presets": list(pr.background_presets),
        "sources": [{"url": s.url, "title": s.title} for s in pr.sources],
    }
    if pr.has_layout:
        info["print_mm"] = [pr.width_mm, pr.height_mm]
        info["head_mm"] = [pr.head_mm.low, pr.head_mm.high]
        if pr.digital is not None:
            info["digital_px"] = list(digital.target_size(pr))
            info["digital_kb"] = list(pr.digital.kb) if pr.digital.kb else None
    return info
