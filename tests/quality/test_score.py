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


@pytest.mark.parametrize("small_in_frame", [False, True])
def test_a_shipped_scale_increases_from_0_to_100(small_in_frame):
    cfg = score.for_framing(CFG, small_in_frame)
    points = np.array(cfg.get("scale") or [[0.0, 0.0], [1.0, 100.0]], dtype=float)
    assert points[0].tolist() == [0.0, 0.0] and points[-1].tolist() == [1.0, 100.0]
    assert np.all(np.diff(points, axis=0) > 0)


def test_the_shipped_weights_for_a_person_small_in_the_frame_name_listed_checks_within_the_weight_bounds():
    block = CFG["small_in_frame"]
    assert set(block["weights"]) <= set(CFG["checks"])
    assert all(0.03 <= w <= 0.8 for w in block["weights"].values())
    # A hint by design keeps its weight in any refit, so the block never names it.
    assert not {cid for cid, c in CFG["checks"].items() if c.get("fit") == "none"} & set(block["weights"])


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


def _with_small_block(weights: dict, scale: list) -> dict:
    return {**_NO_BLOCK, "small_in_frame": {"weights": weights, "scale": scale}}


_NO_BLOCK = {k: v for k, v in CFG.items() if k != "small_in_frame"}


def test_a_person_small_in_the_frame_is_scored_with_its_own_weights_and_scale_when_there_are_some():
    c = CFG["checks"]["halo_delta_e"]
    results = [_result("halo_delta_e", (c["ok"] + c["bad"]) / 2)]
    cfg = _with_small_block({"halo_delta_e": 0.8}, [[0.0, 0.0], [0.5, 43.5], [1.0, 100.0]])
    filling = score.score(results, cfg)
    small = score.score(results, cfg, small_in_frame=True)
    assert filling.score == score.score(results, _NO_BLOCK).score  # the block changes nothing else
    assert small.small_in_frame and not filling.small_in_frame
    # product 1 - 0.8 / 2 = 0.6 on the block's scale: 43.5 + 0.1 / 0.5 * 56.5 = 54.8
    assert small.score == 55
    assert score.for_framing(_NO_BLOCK, True) is _NO_BLOCK  # no block: one config for both
    assert score.for_framing(cfg, True)["checks"]["holes"] == CFG["checks"]["holes"]
