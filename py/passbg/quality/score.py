"""The combined 0-100 quality score of a list of check results.

The product prod(1 - weight * badness) over the checks ranks results; the score is that product in
percent. A refit (passbg_dev.eval --calibrate) also writes a 'scale' that maps the product onto the
page's 0..100 instead: fitted so that a score below cloud_below is where the upload is worth offering
and the "good" verdict is where most good results sit, which a refit's weights would otherwise move.
The map is increasing, so it changes no ranking.

A person small in the frame (a phone photo of someone in a room: passbg.quality.scene.outline_view) is
scored with checks.json's 'small_in_frame' weights and scale when it has them (for_framing): there the
checks read differently (fewer pixels on the hair) and the second opinion, which segments the person's
region at the model's full size, gains the most, so the offer is calibrated on such photos apart.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from passbg.quality.config import CheckResult, Config, QualityReport, default_config


def badness(result: CheckResult, config: Config | None = None) -> float:
    """0 (fully good) .. 1 (fully bad), linear between the check's 'ok' and 'bad' values."""
    cfg = config or default_config()
    c = cfg["checks"].get(result.id)
    if c is None:
        return 0.0 if result.passed else 1.0
    return _badness(result.value, c)


def for_framing(config: Config | None = None, small_in_frame: bool = False) -> Config:
    """The config a result is scored with: `config` itself, or for a person small in the frame a copy
    with checks.json's 'small_in_frame' block applied ({"weights": {check id: weight}, "scale": [...]};
    either may be missing) when there is one."""
    cfg = config or default_config()
    block = cfg.get("small_in_frame") if small_in_frame else None
    if not block:
        return cfg
    checks = {cid: dict(c) for cid, c in cfg["checks"].items()}
    for cid, weight in (block.get("weights") or {}).items():
        checks[cid]["weight"] = float(weight)
    out = {**cfg, "checks": checks}
    if block.get("scale"):
        out["scale"] = block["scale"]
    return out


def product(values: Mapping[str, float], config: Config | None = None) -> float:
    """prod(1 - weight * badness), 0..1, of check values by id (as stored by the evaluation); ids that
    checks.json does not list count for nothing."""
    cfg = config or default_config()
    total = 1.0
    for cid, value in values.items():
        c = cfg["checks"].get(cid)
        if c is not None:
            total *= 1.0 - float(c["weight"]) * _badness(value, c)
    return max(total, 0.0)


def scaled(raw: float, config: Config | None = None) -> int:
    """The 0..100 score shown for a product `raw` in 0..1: linear between checks.json's 'scale' points
    ([product, score] pairs, both increasing; without them 100 * raw), rounded half up."""
    points = (config or default_config()).get("scale") or [[0.0, 0.0], [1.0, 100.0]]
    xs, ys = zip(*points, strict=True)
    return int(math.floor(float(np.interp(raw, xs, ys)) + 0.5))


def score(
    results: list[CheckResult], config: Config | None = None, small_in_frame: bool = False
) -> QualityReport:
    """Combine check results into a 0..100 score: the product of (1 - weight * badness), scaled (with the
    'small_in_frame' weights and scale for a person small in the frame: for_framing)."""
    cfg = for_framing(config, small_in_frame)
    total = 1.0
    impact = []
    for r in results:
        w = float(cfg["checks"].get(r.id, {"weight": 1.0})["weight"])
        b = badness(r, cfg)
        total *= 1.0 - w * b
        impact.append((w * b, r))
    value = scaled(max(total, 0.0), cfg)
    reasons = [r.reason for imp, r in sorted(impact, key=lambda t: -t[0]) if not r.passed and imp > 0]
    return QualityReport(value, list(results), reasons, value < float(cfg["cloud_below"]), small_in_frame)


def value_badness(value: float | np.ndarray, check: Mapping) -> np.ndarray:
    """float64 badness 0 (at or beyond the check's 'ok') .. 1 (at or beyond its 'bad'), linear between,
    of one value or an array of them (the same shape back; NaN stays NaN). The one place the formula
    lives: the score and the evaluation's refits both ask it."""
    ok, bad = float(check["ok"]), float(check["bad"])
    return np.clip((np.asarray(value, dtype=np.float64) - ok) / (bad - ok), 0.0, 1.0)


def _badness(value: float, check: Mapping) -> float:
    return float(value_badness(value, check))
