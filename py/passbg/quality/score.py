"""The combined 0-100 quality score of a list of check results."""

from __future__ import annotations

import numpy as np

from passbg.quality.config import CheckResult, Config, QualityReport, default_config


def badness(result: CheckResult, config: Config | None = None) -> float:
    """0 (fully good) .. 1 (fully bad), linear between the check's 'ok' and 'bad' values."""
    cfg = config or default_config()
    c = cfg["checks"].get(result.id)
    if c is None:
        return 0.0 if result.passed else 1.0
    ok, bad = float(c["ok"]), float(c["bad"])
    return float(np.clip((result.value - ok) / (bad - ok), 0.0, 1.0))


def score(results: list[CheckResult], config: Config | None = None) -> QualityReport:
    """Combine check results into a 0..100 score: 100 * prod(1 - weight * badness)."""
    cfg = config or default_config()
    total = 1.0
    impact = []
    for r in results:
        w = float(cfg["checks"].get(r.id, {"weight": 1.0})["weight"])
        b = badness(r, cfg)
        total *= 1.0 - w * b
        impact.append((w * b, r))
    value = int(round(100.0 * max(total, 0.0)))
    reasons = [r.reason for imp, r in sorted(impact, key=lambda t: -t[0]) if not r.passed and imp > 0]
    return QualityReport(value, list(results), reasons, value < float(cfg["cloud_below"]))
