"""Country presets: every entry in data/presets.json passes the schema; mistakes are named precisely."""

import copy
import json
from importlib import resources

import pytest

from passbg.errors import InputError, SetupError
from passbg.passport.presets import load_presets, parse_presets

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
        "us-passport", "uk-passport", "ca-passport", "au-passport", "de-passport", "se-passport"}
    assert CATALOGUE.get("de-passport").replacement_allowed == "no-self-made"
    assert CATALOGUE.get("se-passport").replacement_allowed == "no-self-made"


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
