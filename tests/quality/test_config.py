"""checks.json is the one list of checks: every configured check has a function and every function a
configuration entry, each names a title and a known family, and the verdict levels cover every score."""

from __future__ import annotations

import pytest

from passbg.quality import checks
from passbg.quality.config import PERSON, check_ids, default_config, describe, verdict

CFG = default_config()


def test_every_configured_check_has_a_function_named_after_it_and_no_function_is_left_out():
    for cid in check_ids():
        assert checks.check_function(cid).__name__ == f"check_{cid}"
    assert set(checks._FUNCTIONS) == set(check_ids())


def test_an_id_without_a_function_is_named_in_the_error():
    with pytest.raises(KeyError, match="no_such_check"):
        checks.check_function("no_such_check")


@pytest.mark.parametrize("cid", [*CFG["checks"], PERSON])
def test_every_check_has_a_title_and_a_family_with_an_overlay_colour(cid):
    d = describe(cid)
    assert d["title"] and d["title"] != cid
    assert d["family"] in CFG["families"]
    assert len(d["overlay"]) == 4 and all(0 <= v <= 255 for v in d["overlay"])


def test_an_unknown_id_is_described_by_its_id():
    edge = CFG["families"]["edge"]["overlay"]
    assert describe("mystery") == {"title": "mystery", "family": "edge", "overlay": edge}


@pytest.mark.parametrize(
    "score, level", [(100, "good"), (90, "good"), (89, "fair"), (CFG["cloud_below"], "fair"),
                     (CFG["cloud_below"] - 1, "poor"), (0, "poor")],
)
def test_verdict_levels_follow_checks_json_including_the_cloud_threshold(score, level):
    got, words = verdict(score)
    assert got == level and words.endswith(".")


def test_the_verdict_follows_a_changed_threshold():
    cfg = {**CFG, "cloud_below": 70}
    assert verdict(69, cfg)[0] == "poor" and verdict(70, cfg)[0] == "fair"


def test_failed_checks_change_the_words_only_of_a_level_that_has_words_for_it():
    assert verdict(95, failed=1) == ("good", next(v["words_if_failed"] for v in CFG["verdicts"]
                                                 if v["level"] == "good"))
    assert verdict(95, failed=0)[1] == "No visible problems found."
    assert verdict(CFG["cloud_below"] - 1, failed=3) == verdict(CFG["cloud_below"] - 1)
