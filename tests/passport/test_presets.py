"""Country presets: every entry in data/presets.json passes the schema; mistakes are named precisely."""

import copy
import json
from importlib import resources

import pytest

from passbg.errors import InputError, SetupError
from passbg.passport import sheets
from passbg.passport.presets import Measure, layout_problems, load_presets, parse_presets

RAW = json.loads(resources.files("passbg").joinpath("data/presets.json").read_text(encoding="utf-8"))
CATALOGUE = load_presets()


def test_every_bundled_preset_loads_through_the_validator():
    assert len(CATALOGUE.presets) == len(RAW["presets"])
    assert len(set(CATALOGUE.ids)) == len(CATALOGUE.ids)


@pytest.mark.parametrize("preset_id", [
    "icao", "us-passport", "uk-passport", "de-passport", "ca-passport", "schengen-visa", "in-passport",
    "cn-visa", "jp-passport", "au-passport", "se-passport",
])
def test_starting_set_is_present(preset_id):
    assert CATALOGUE.get(preset_id).id == preset_id


@pytest.mark.parametrize("preset", CATALOGUE.presets, ids=lambda p: p.id)
def test_every_preset_tells_the_user_about_replacement(preset):
    assert preset.replacement_allowed in ("yes", "no", "not-addressed", "no-self-made")
    assert len(preset.user_message) > 40
    assert preset.sources and all(s.url.startswith("https://") for s in preset.sources)


FORBIDDING = [p for p in CATALOGUE.presets if p.forbids_replacement]


@pytest.mark.parametrize("preset", FORBIDDING, ids=lambda p: p.id)
def test_forbidding_presets_warn_in_plain_words(preset):
    msg = preset.user_message.lower()
    assert any(word in msg for word in ("not accept", "not allowed", "forbidden", "no longer", "cannot"))


def test_the_authorities_that_forbid_replacement_are_flagged():
    forbidding = {p.id for p in CATALOGUE.presets if p.forbids_replacement}
    assert forbidding == {
        "us-passport", "uk-passport", "ca-passport", "au-passport", "de-passport", "se-passport",
        "kr-passport", "ie-passport", "nz-passport", "ca-visa", "br-passport", "mx-passport", "ph-passport"}
    for office_only in ("de-passport", "se-passport", "br-passport", "mx-passport", "ph-passport"):
        assert CATALOGUE.get(office_only).replacement_allowed == "no-self-made", office_only
    assert CATALOGUE.get("kr-passport").replacement_allowed == "no"


@pytest.mark.parametrize("preset", [p for p in CATALOGUE.presets if p.has_layout], ids=lambda p: p.id)
def test_layout_presets_have_a_head_range_that_fits(preset):
    assert 0 < preset.head_mm.low <= preset.head_mm.high < preset.height_mm
    assert preset.colours, "a preset that makes a photo offers at least one background colour"


def test_head_share_is_converted_to_millimetres():
    icao = CATALOGUE.get("icao")
    assert icao.head_from_share
    assert (icao.head_mm.low, icao.head_mm.high) == (31.5, 36.0)  # 70-80 % of 45 mm


def test_unknown_preset_id_is_a_user_error_listing_the_known_ones():
    with pytest.raises(InputError, match="uk-passport"):
        CATALOGUE.get("atlantis")


def _broken(mutate):
    data = copy.deepcopy(RAW)
    mutate(data)
    return data


@pytest.mark.parametrize("mutate, fragment", [
    (lambda d: d["presets"][2].update(replacement={**d["presets"][2]["replacement"], "allowed": "maybe"}),
     "uk-passport"),
    (lambda d: d["presets"][1]["head"].update(height_mm=[35, 25]), "min 35.0 is larger than max 25.0"),
    (lambda d: d["presets"][1]["head"].update(height_mm=[25, 60]), "does not fit"),
    (lambda d: d["presets"][0].update(colour="white"), "unknown field"),
    (lambda d: d["presets"][0]["background"]["colours"][0].update(hex="white"), "#RRGGBB"),
    (lambda d: d["presets"][0].update(sources=[]), "at least one source"),
    (lambda d: d["presets"][3].update(id=d["presets"][2]["id"]), "used twice"),
    (lambda d: d["presets"][0]["head"].update(confidence="probably"), "confidence"),
    (lambda d: d["presets"][0]["replacement"].update(user_message=""), "user_message"),
    (lambda d: d["presets"][0]["background"].update(background_presets=["tartan"]), "backgrounds.json"),
    (lambda d: d["presets"][0].pop("country"), "country"),
    (lambda d: d["presets"][0]["sources"][0].update(read="4 December"), "YYYY-MM-DD"),
    # US: a 25-35 mm head on a 51 mm photo; eyes 45-50 mm up would put the crown above the top edge
    (lambda d: d["presets"][1]["eye_line_from_bottom_mm"].update(range=[45, 50]), "cannot lie inside a head"),
    (lambda d: d["presets"][8]["top_margin_mm"].update(range=[20, 30]), "taller than the 45 mm photo"),
])
def test_validator_rejects_mistakes_and_names_the_field(mutate, fragment):
    with pytest.raises(SetupError, match=fragment):
        parse_presets(_broken(mutate))


def test_adding_a_country_is_a_data_only_change():
    new = copy.deepcopy(RAW["presets"][2])
    new.update(id="xx-test", name="Testland passport")
    data = _broken(lambda d: d["presets"].append(new))
    assert parse_presets(data).get("xx-test").head_mm.high == 34


def test_invalid_json_gets_a_readable_message():
    with pytest.raises(SetupError, match="not valid JSON"):
        load_presets("{ nope")


# --- issue 19: every preset is checked as a whole, so a new country cannot arrive half-filled -------------

ISSUE_19 = ("kr-passport", "fr-passport", "it-passport", "es-dni", "nl-passport", "ie-passport",
            "nz-passport", "br-passport", "mx-passport", "ph-passport", "tr-passport", "sg-passport",
            "ae-visa", "vn-passport", "my-visa", "ca-visa")


def test_at_least_26_presets_and_the_issue_19_countries():
    assert len(CATALOGUE.presets) >= 26
    for pid in ISSUE_19:
        assert CATALOGUE.get(pid).country


@pytest.mark.parametrize("preset", CATALOGUE.presets, ids=lambda p: p.id)
def test_every_preset_has_sources_a_flag_and_a_geometry_that_can_be_met(preset):
    assert preset.sources, "no source"
    for s in preset.sources:
        assert s.url.startswith("https://") and s.title.strip(), s
    assert preset.replacement_allowed in ("yes", "no", "not-addressed", "no-self-made")
    assert preset.replacement_rule.strip() and preset.user_message.strip()
    if not preset.has_layout:
        assert preset.replacement_allowed == "no-self-made", "only office-made photos justify no layout"
        return
    head = preset.head_mm
    assert 0 < head.low <= head.high < preset.height_mm, "head range outside the print"
    assert layout_problems(preset.height_mm, head, preset.eye_line_mm, preset.top_margin_mm,
                           CATALOGUE.defaults["crown_to_eye_share_of_head"]) == []
    for sheet in sheets.sheet_ids():
        lay = sheets.layout(sheet, (preset.width_mm, preset.height_mm))
        assert lay.copies >= 1, f"no copy fits on {sheet}"


@pytest.mark.parametrize("pid", ISSUE_19)
def test_new_presets_record_when_each_source_was_read(pid):
    preset = CATALOGUE.get(pid)
    assert all(s.read == "2026-12-04" for s in preset.sources)
    # recorded from knowledge of the pages, not opened: never claimed as read on the official page
    assert all(s.confidence == "secondary" for s in preset.sources)
    assert "re-check" in preset.notes


def test_layout_problems_names_what_cannot_be_met():
    share = CATALOGUE.defaults["crown_to_eye_share_of_head"]
    assert "does not fit a 30 mm high photo" in layout_problems(30, Measure(18, 32, "secondary"), None, None,
                                                                share)[0]
    # a 20 mm head whose eyes are 5 mm up would put the chin 5 mm below the bottom edge
    assert layout_problems(30, Measure(20, 22, "secondary"), Measure(3, 5, "secondary"), None, share)
    assert layout_problems(30, Measure(18, 22, "secondary"), Measure(15, 18, "secondary"), None, share) == []
