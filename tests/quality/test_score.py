"""The score: a product of the checks' badness, mapped onto the page's 0..100 scale by checks.json."""

from __future__ import annotations

import numpy as np
import pytest

from passbg.quality import score
from passbg.quality.config import CheckResult, default_config

CFG = default_config()


def _cfg(points):
    return {**CFG, "scale": points}


def test_the_scale_is_linear_between_its_points_and_rounds_half_up():
    cfg = _cfg([[0.0, 0.0], [0.05, 43.5], [0.2, 90.0], [1.0, 100.0]])
    assert score.scaled(0.0, cfg) == 0 and score.scaled(1.0, cfg) == 100
    assert score.scaled(0.2, cfg) == 90 and score.scaled(0.6, cfg) == 95
    # The product mapped to 43.5 is the lowest that scores 44; anything below it scores 43 or less.
    assert score.scaled(0.05, cfg) == 44 and score.scaled(0.0499, cfg) == 43


def test_without_a_scale_the_score_is_the_product_in_percent():
    cfg = {k: v for k, v in CFG.items() if k != "scale"}
    assert score.scaled(0.5, cfg) == 50 and score.scaled(0.966, cfg) == 97 and score.scaled(1.0, cfg) == 100


def test_a_shipped_scale_increases_from_0_to_100():
    points = np.array(CFG.get("scale") or [[0.0, 0.0], [1.0, 100.0]], dtype=float)
    assert points[0].tolist() == [0.0, 0.0] and points[-1].tolist() == [1.0, 100.0]
    assert np.all(np.diff(points, axis=0) > 0)


def _result(cid: str, value: float) -> CheckResult:
    return CheckResult(cid, value, 0.0, True, "")


def test_the_score_of_results_is_the_scaled_product_of_their_values():
    c = CFG["checks"]["halo_delta_e"]
    halfway = (c["ok"] + c["bad"]) / 2
    results = [_result("halo_delta_e", halfway), _result("holes", CFG["checks"]["holes"]["ok"])]
    raw = score.product({r.id: r.value for r in results})
    assert raw == pytest.approx(1 - c["weight"] / 2)
    report = score.score(results)
    assert report.score == score.scaled(raw)
    assert report.second_opinion == (report.score < CFG["cloud_below"])


def test_a_check_that_checks_json_does_not_list_costs_nothing_by_value_and_everything_when_failed():
    assert score.product({"no_such_check": 1e9}) == 1.0
    failed = CheckResult("no_such_check", 1.0, 0.0, False, "Something is wrong.")
    assert score.score([failed]).score == 0 and score.score([failed]).reasons == ["Something is wrong."]
