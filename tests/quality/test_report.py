"""The quality report as the page gets it: score, verdict and its words, each check with its title and
family from checks.json; the overlay paints a failed check's region in its family's colour."""

from __future__ import annotations

import json

import numpy as np

from passbg.quality import report
from passbg.quality.config import CheckResult, QualityReport, default_config, describe, verdict

CFG = default_config()


def report_with(results: list[CheckResult], score: int = 40) -> QualityReport:
    reasons = [r.reason for r in results if not r.passed]
    return QualityReport(score, results, reasons, score < CFG["cloud_below"])


def test_summary_is_json_ready_and_names_every_check_in_plain_words():
    where = np.zeros((10, 10), bool)
    where[2:4, 2:4] = True
    results = [CheckResult("holes", 3.0, 1.0, False, "A hole.", where),
               CheckResult("stair_steps", 0.1, 0.6, True, "Smooth.")]
    s = report.summary(report_with(results))
    json.dumps(s)  # plain data only
    assert (s["score"], s["verdict"], s["verdict_words"]) == (40, *verdict(40))
    assert s["threshold"] == float(CFG["cloud_below"])
    holes, steps = s["checks"]
    assert holes == {"id": "holes", "title": describe("holes")["title"], "family": "inside", "passed": False,
                     "value": 3.0, "threshold": 1.0, "reason": "A hole.", "located": True}
    assert steps["title"] == "Stair-step edges" and steps["located"] is False


def test_infinite_values_become_null():
    s = report.summary(report_with([CheckResult("holes", float("inf"), 1.0, False, "x")]))
    assert s["checks"][0]["value"] is None


def test_overlay_paints_failed_checks_in_their_family_colour_scaled_to_the_result():
    where = np.zeros((10, 20), bool)
    where[0:5, 0:10] = True  # the top-left quarter at the check's working resolution
    edge = CheckResult("halo_old_background", 1.0, 0.08, False, "Halo.", where)
    frame = CheckResult("touches_sides", 1.0, 0.5, False, "Sides.", np.flipud(np.fliplr(where)))
    fine = CheckResult("holes", 0.0, 1.0, True, "Fine.", where)
    out = report.overlay(report_with([edge, frame, fine]), (40, 20))
    assert out.shape == (20, 40, 4) and out.dtype == np.uint8
    assert list(out[2, 2]) == CFG["families"]["edge"]["overlay"]
    assert list(out[18, 38]) == CFG["families"]["framing"]["overlay"]
    assert out[2, 38, 3] == 0 and out[18, 2, 3] == 0  # nothing found there: transparent


def test_a_high_score_with_a_failed_check_does_not_claim_no_problems():
    failed = CheckResult("halo_delta_e", 14.0, 12.0, False, "A fringe.")
    passed = CheckResult("holes", 0.0, 1.0, True, "Fine.")
    with_one = report.summary(report_with([failed, passed], score=95))
    clean = report.summary(report_with([passed], score=95))
    assert with_one["verdict"] == clean["verdict"] == "good"
    assert clean["verdict_words"] == "No visible problems found."
    assert "no visible problems" not in with_one["verdict_words"].lower()
    assert "marked below" in with_one["verdict_words"]
