"""A finished result's quality report, as plain data for the page and the server, and as an overlay
that shows where each failed check found its problem.

The checks themselves live in passbg.quality.checks; this module only runs them on a pipeline.Result
and turns the report into JSON-ready data (with each check's title and family and the verdict, all from
data/checks.json, so the page repeats none of them) and pixels.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from passbg.core import pipeline
from passbg.quality import checks
from passbg.quality.config import describe, verdict


def assess(result: pipeline.Result, config: checks.Config | None = None) -> checks.QualityReport:
    """Run every check on a result (timed under result.timings['checks'])."""
    with pipeline.Stopwatch(result.timings, "checks"):
        return checks.assess(
            result.image.rgb, result.alpha, result.composite, result.background.rgb, result.foreground, config
        )


def summary(report: checks.QualityReport, config: checks.Config | None = None) -> dict[str, Any]:
    """JSON-ready: {score 0..100, verdict ('good' | 'fair' | 'poor'), verdict_words (its sentence),
    reasons (failed checks, worst first), threshold (the configured 'second opinion below' score),
    checks: [{id, title, family, passed, value, threshold, reason, located}]}."""
    cfg = config or checks.default_config()
    level, words = verdict(report.score, cfg, failed=sum(not r.passed for r in report.results))
    return {
        "score": int(report.score),
        "verdict": level,
        "verdict_words": words,
        "reasons": list(report.reasons),
        "threshold": float(cfg["cloud_below"]),
        "checks": [
            {
                "id": r.id,
                "title": describe(r.id, cfg)["title"],
                "family": describe(r.id, cfg)["family"],
                "passed": bool(r.passed),
                "value": _finite(r.value),
                "threshold": _finite(r.threshold),
                "reason": r.reason,
                "located": r.where is not None and bool(np.any(r.where)),
            }
            for r in report.results
        ],
    }


def overlay(
    report: checks.QualityReport, size: tuple[int, int], config: checks.Config | None = None
) -> np.ndarray:
    """Where the failed checks found problems, as uint8 RGBA (height, width, 4) for size=(width, height).

    Each failed check's `where` mask (at the check's working resolution) is scaled to `size` and
    painted in its family's colour (checks.json 'families'); everything else is transparent.
    """
    cfg = config or checks.default_config()
    width, height = size
    out = np.zeros((height, width, 4), np.uint8)
    for r in report.results:
        if r.passed or r.where is None or not np.any(r.where):
            continue
        mask = Image.fromarray(np.asarray(r.where, dtype=bool).astype(np.uint8) * 255)
        mask = np.asarray(mask.resize((width, height), Image.NEAREST)) > 0
        out[mask] = describe(r.id, cfg)["overlay"]
    return out


def _finite(value: float) -> float | None:
    value = float(value)
    return round(value, 4) if np.isfinite(value) else None
