"""The quality checks' configuration (data/checks.json) and the shapes of their answers.

checks.json is the one owner of the list of checks: for each check its title in plain words, its
family (which sets the overlay colour), pass/fail threshold, the values at which it counts as fully good
or bad, and its weight in the score; plus the verdict levels the page shows."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from passbg._shared.datafiles import read_text

Config = dict[str, Any]


@dataclass(frozen=True)
class CheckResult:
    """One check: the measured value, the threshold it is held to, pass/fail, a sentence for a person,
    and where in the image the problem is (bool mask at working resolution, or None)."""

    id: str
    value: float
    threshold: float
    passed: bool
    reason: str
    where: np.ndarray | None = None
    details: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class QualityReport:
    """score 0..100 (100 = nothing wrong found); reasons: sentences of the checks that pulled it down,
    worst first; second_opinion: True when the score is below the configured cloud threshold."""

    score: int
    results: list[CheckResult]
    reasons: list[str]
    second_opinion: bool
    small_in_frame: bool = False  # scored as a person small in the frame (score.for_framing)


@lru_cache(maxsize=1)
def default_config() -> Config:
    """The checks, thresholds, weights, titles and verdict levels shipped in data/checks.json."""
    return json.loads(read_text("checks.json"))


PERSON = "person"  # the one result when no person is found (no check can run)


def check_ids(config: Config | None = None) -> tuple[str, ...]:
    """The ids of the checks passbg runs, in the order the page lists them."""
    return tuple((config or default_config())["checks"])


def looks_at(cid: str, config: Config | None = None) -> str:
    """What check `cid` looks at: 'frame' (the whole photo) or 'outline' (the person's box when the
    person is small in the frame; passbg.quality.scene.outline_view)."""
    value = (config or default_config())["checks"][cid].get("looks_at", "outline")
    if value not in ("frame", "outline"):
        raise ValueError(f"checks.json: check {cid!r} looks_at {value!r}; it must be 'frame' or 'outline'")
    return value


def describe(cid: str, config: Config | None = None) -> dict[str, Any]:
    """{title, family, overlay (RGBA list)} of a check id; an unknown id gets its id as title and the
    edge family."""
    cfg = config or default_config()
    entry = cfg["checks"].get(cid) or (cfg["person_check"] if cid == PERSON else {})
    family = entry.get("family", "edge")
    return {"title": entry.get("title", cid), "family": family, "overlay": cfg["families"][family]["overlay"]}


def verdict(score: float, config: Config | None = None, failed: int = 0) -> tuple[str, str]:
    """(level 'good' | 'fair' | 'poor', the sentence for it) of a 0..100 score; with `failed` checks
    that did not pass, a level's 'words_if_failed' when it has them (a high score can still carry one
    small failed check, and "no problems found" above it would contradict the list)."""
    cfg = config or default_config()
    chosen = cfg["verdicts"][-1]
    for v in cfg["verdicts"]:
        floor = cfg[v["min_score"]] if isinstance(v["min_score"], str) else v["min_score"]
        if score >= float(floor):
            chosen = v
            break
    return chosen["level"], chosen.get("words_if_failed", chosen["words"]) if failed else chosen["words"]


def make_result(
    cfg: Config, cid: str, value: float, reason_bad: str, reason_ok: str, where=None, **details
) -> CheckResult:
    """The CheckResult of check `cid` measuring `value`: passed by its configured threshold and
    direction, with the sentence that fits and the `where` mask only when it failed."""
    c = cfg["checks"][cid]
    thr = float(c["threshold"])
    passed = bool(value <= thr) if c["direction"] == "max" else bool(value >= thr)
    return CheckResult(
        id=cid,
        value=float(value),
        threshold=thr,
        passed=passed,
        reason=reason_ok if passed else reason_bad,
        where=where if not passed else None,
        details={k: float(v) for k, v in details.items()},
    )
