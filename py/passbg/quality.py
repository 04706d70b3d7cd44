"""A finished result's quality report, as plain data for the page and the server, and as an overlay
that shows where each failed check found its problem.

The checks themselves live in passbg.checks; this module only runs them on a pipeline.Result and
turns the report into JSON-ready data and pixels.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from passbg import checks, pipeline

# Overlay colour per check family (RGBA, straight alpha): edge problems red, holes and strays
# magenta, background problems amber, framing problems blue. Unknown ids fall back to red.
_OVERLAY_COLOURS = {
    "halo_old_background": (230, 30, 30, 150),
    "halo_delta_e": (230, 30, 30, 150),
    "stair_steps": (230, 30, 30, 150),
    "blocky_upsampling": (230, 30, 30, 150),
    "hair_helmet": (230, 30, 30, 150),
    "holes": (200, 0, 200, 160),
    "interior_transparency": (200, 0, 200, 160),
    "see_through_veil": (200, 0, 200, 160),
    "strays": (200, 0, 200, 160),
    "outline_without_edge": (200, 0, 200, 160),
    "blurred_outline": (230, 30, 30, 150),
    "background_uniformity": (240, 160, 0, 140),
    "background_colour": (240, 160, 0, 140),
    "cast_shadow": (240, 160, 0, 140),
    "cut_off_shoulders": (30, 90, 230, 140),
    "touches_sides": (30, 90, 230, 140),
}


def assess(result: pipeline.Result, config: checks.Config | None = None) -> checks.QualityReport:
    """Run every check on a result (timed under result.timings['checks'])."""
    with pipeline.Stopwatch(result.timings, "checks"):
        return checks.assess(
            result.image.rgb, result.alpha, result.composite, result.background.rgb, result.foreground, config
        )


def summary(report: checks.QualityReport, config: checks.Config | None = None) -> dict[str, Any]:
    """JSON-ready: {score 0..100, reasons (failed checks, worst first), threshold (the configured
    'second opinion below' score), checks: [{id, passed, value, threshold, reason, located}]}."""
    cfg = config or checks.default_config()
    return {
        "score": int(report.score),
        "reasons": list(report.reasons),
        "threshold": float(cfg["cloud_below"]),
        "checks": [
            {
                "id": r.id,
                "passed": bool(r.passed),
                "value": _finite(r.value),
                "threshold": _finite(r.threshold),
                "reason": r.reason,
                "located": r.where is not None and bool(np.any(r.where)),
            }
            for r in report.results
        ],
    }


def overlay(report: checks.QualityReport, size: tuple[int, int]) -> np.ndarray:
    """Where the failed checks found problems, as uint8 RGBA (height, width, 4) for size=(width, height).

    Each failed check's `where` mask (at the check's working resolution) is scaled to `size` and
    painted in its family's colour; everything else is transparent.
    """
    width, height = size
    out = np.zeros((height, width, 4), np.uint8)
    for r in report.results:
        if r.passed or r.where is None or not np.any(r.where):
            continue
        mask = Image.fromarray(np.asarray(r.where, dtype=bool).astype(np.uint8) * 255)
        mask = np.asarray(mask.resize((width, height), Image.NEAREST)) > 0
        out[mask] = _OVERLAY_COLOURS.get(r.id, (230, 30, 30, 150))
    return out


def _finite(value: float) -> float | None:
    value = float(value)
    return round(value, 4) if np.isfinite(value) else None
