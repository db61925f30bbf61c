"""Scenario loading: validation messages, ``extends:`` merging, bundled scenarios."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from helpers import grid, load, scenario_doc, write_scenario

from energyopt.errors import ScenarioError
from energyopt.inputs.config import load_scenario, merge_documents, scenario_from_dict

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


@pytest.fixture
def example_doc(example_path) -> dict:
    """The example scenario as a plain document."""
    return yaml.safe_load(example_path.read_text(encoding="utf-8"))


def _error(document: dict, source: str = "plant.yaml") -> str:
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(document, source=source)
    return str(info.value)


# ------------------------------------------------------------------------ bundled files


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_bundled_scenario_loads(path):
    scenario = load_scenario(path)
    assert scenario.plant.assets
    for asset in scenario.plant.assets:
        assert asset.name


def test_example_values_arrive_in_the_models(example_path):
    scenario = load_scenario(example_path)
    bess = next(a for a in scenario.plant.assets if a.name == "bess")
    assert bess.capacity_kwh == 2000
    assert bess.discharge_limit_kw == 1000  # defaults to charge_max_kw
    assert scenario.period.step == "15min"
    assert scenario.tariffs.gas_price_eur_per_mwh == 40
    # relative file paths are resolved against the YAML file
    assert scenario.site.weather.file == SCENARIOS / "data" / "weather_lille_pvgis-tmy.csv"


# --------------------------------------------------------------------- exact messages


def test_unknown_asset_key_names_file_key_path_and_asset(example_doc):
    example_doc["plant"]["assets"][3]["capacity_kwhh"] = 100
    assert _error(example_doc) == (
        "plant.yaml: plant.assets[3].capacity_kwhh (asset 'hthp'): unknown key"
    )


def test_non_positive_capacity_names_file_key_path_and_value(example_doc):
    example_doc["plant"]["assets"][2]["capacity_kwh"] = 0
    assert _error(example_doc) == (
        "plant.yaml: plant.assets[2].capacity_kwh (asset 'bess'): must be > 0 (got 0)"
    )


def test_negative_tariff_is_rejected_with_its_path(example_doc):
    example_doc["tariffs"]["grid_fee_eur_per_mwh"] = -5
    assert _error(example_doc) == "plant.yaml: tariffs.grid_fee_eur_per_mwh: must be >= 0 (got -5)"


def test_efficiency_above_one_is_rejected(example_doc):
    example_doc["plant"]["assets"][2]["efficiency_charge"] = 1.2
    assert _error(example_doc) == (
        "plant.yaml: plant.assets[2].efficiency_charge (asset 'bess'): must be <= 1 (got 1.2)"
    )


def test_unknown_top_level_key(example_doc):
    example_doc["solvr"] = {}
    assert _error(example_doc) == "plant.yaml: solvr: unknown key"


def test_unknown_asset_type_lists_the_known_types(example_doc):
    example_doc["plant"]["assets"][2]["type"] = "batery"
    message = _error(example_doc)
    assert message.startswith(
        "plant.yaml: plant.assets[2] (asset 'bess'): unknown asset type 'batery'"
    )
    assert "battery" in message.split("known types:")[1]


def test_missing_required_key(example_doc):
    del example_doc["plant"]["assets"][2]["capacity_kwh"]
    assert _error(example_doc) == (
        "plant.yaml: plant.assets[2].capacity_kwh (asset 'bess'): required key is missing"
    )


def test_cross_field_rule_names_the_asset(example_doc):
    example_doc["plant"]["assets"][2].update(soc_min_frac=0.8, soc_max_frac=0.5)
    assert _error(example_doc) == (
        "plant.yaml: plant.assets[2] (asset 'bess'): soc_min_frac must not exceed soc_max_frac"
    )


def test_duplicate_asset_names(example_doc):
    example_doc["plant"]["assets"][2]["name"] = "grid"
    assert _error(example_doc) == "plant.yaml: plant: asset name 'grid' is used twice"


@pytest.mark.parametrize(
    ("step", "reason"),
    [
        ("7min", "step '7min' must be positive and divide a day"),
        ("soon", "step 'soon' is not a duration"),
    ],
)
def test_bad_time_step(example_doc, step, reason):
    example_doc["period"]["step"] = step
    assert _error(example_doc).startswith(f"plant.yaml: period.step: {reason}")


def test_unknown_time_zone(example_doc):
    example_doc["site"]["timezone"] = "Europe/Atlantis"
    assert _error(example_doc) == "plant.yaml: site.timezone: unknown time zone 'Europe/Atlantis'"


def test_grid_with_two_co2_sources(example_doc):
    example_doc["plant"]["assets"][0]["co2_g_per_kwh"] = 300
    assert _error(example_doc) == (
        "plant.yaml: plant.assets[0] (asset 'grid'): give co2_series or co2_g_per_kwh, not both"
    )


def test_load_scenario_names_the_file(tmp_path, example_doc):
    example_doc["plant"]["assets"][2]["capacity_kwh"] = -1
    path = write_scenario(tmp_path / "bad.yaml", example_doc)
    with pytest.raises(ScenarioError, match=r"bad\.yaml: plant\.assets\[2\]\.capacity_kwh"):
        load_scenario(path)


def test_invalid_yaml_names_file_and_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nsite: [unclosed\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"broken\.yaml: line \d+ invalid YAML"):
        load_scenario(path)


def test_yaml_that_is_not_a_mapping(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="a scenario must be a mapping of keys"):
        load_scenario(path)


def test_missing_file(tmp_path):
    with pytest.raises(ScenarioError, match=r"nothere\.yaml: cannot read file"):
        load_scenario(tmp_path / "nothere.yaml")


# --------------------------------------------------------------------------- extends


@pytest.fixture
def base_file(tmp_path) -> Path:
    """A base scenario in a sub-folder with its own data file."""
    folder = tmp_path / "base"
    folder.mkdir()
    doc = scenario_doc(
        folder,
        [grid(), load(100.0, name="machines"), load(50.0, "heat_ht", "oven_heat")]
        + [{"type": "gas_boiler", "name": "boiler", "heat_max_kw": 80}],
    )
    doc["description"] = "base plant"
    return write_scenario(folder / "base.yaml", doc)


def test_extends_overrides_an_asset_by_name_and_keeps_the_rest(tmp_path, base_file):
    variant = {
        "extends": "base/base.yaml",
        "name": "variant",
        "plant": {"assets": [{"name": "machines", "power_kw": 250}]},
        "tariffs": {"grid_fee_eur_per_mwh": 25},
    }
    scenario = load_scenario(write_scenario(tmp_path / "variant.yaml", variant))
    by_name = {a.name: a for a in scenario.plant.assets}
    assert scenario.name == "variant"
    assert scenario.description == "base plant"
    assert by_name["machines"].power_kw == 250
    assert by_name["machines"].carrier == "electricity"  # merged, not replaced
    assert list(by_name) == ["grid", "machines", "oven_heat", "boiler"]  # order kept
    assert scenario.tariffs.grid_fee_eur_per_mwh == 25
    assert scenario.tariffs.co2_price_eur_per_t == 0  # sibling key kept


def test_extends_removes_and_appends_assets(tmp_path, base_file):
    variant = {
        "extends": "base/base.yaml",
        "plant": {
            "assets": [
                {"name": "boiler", "remove": True},
                {"type": "electric_boiler", "name": "eboiler", "heat_max_kw": 80},
            ]
        },
    }
    scenario = load_scenario(write_scenario(tmp_path / "variant.yaml", variant))
    assert [a.name for a in scenario.plant.assets] == ["grid", "machines", "oven_heat", "eboiler"]


def test_extends_removing_an_unknown_asset_is_an_error(tmp_path, base_file):
    variant = {
        "extends": "base/base.yaml",
        "plant": {"assets": [{"name": "ghost", "remove": True}]},
    }
    with pytest.raises(ScenarioError) as info:
        load_scenario(write_scenario(tmp_path / "variant.yaml", variant))
    assert str(info.value) == (
        f"{tmp_path / 'variant.yaml'}: plant.assets: cannot remove asset 'ghost': "
        "the base has no asset of that name"
    )


def test_extends_resolves_files_against_the_declaring_file(tmp_path, base_file):
    (tmp_path / "own.csv").write_text("x\n", encoding="utf-8")
    variant = {
        "extends": "base/base.yaml",
        "site": {"series": {"co2_g_per_kwh": {"file": "own.csv", "column": "co2_g_per_kwh"}}},
    }
    scenario = load_scenario(write_scenario(tmp_path / "variant.yaml", variant))
    series = scenario.site.series
    assert series["price_eur_per_mwh"].file == (tmp_path / "base" / "prices.csv").resolve()
    assert series["co2_g_per_kwh"].file == (tmp_path / "own.csv").resolve()


def test_extends_chain_of_three_files(tmp_path, base_file):
    write_scenario(tmp_path / "middle.yaml", {"extends": "base/base.yaml", "name": "middle"})
    top = write_scenario(tmp_path / "top.yaml", {"extends": "middle.yaml", "period": {"days": 2}})
    scenario = load_scenario(top)
    assert (scenario.name, scenario.period.days, scenario.period.step) == ("middle", 2, "1h")


def test_circular_extends_is_an_error(tmp_path):
    write_scenario(tmp_path / "a.yaml", {"extends": "b.yaml", "name": "a"})
    write_scenario(tmp_path / "b.yaml", {"extends": "a.yaml", "name": "b"})
    with pytest.raises(
        ScenarioError, match=r"a\.yaml: extends: circular chain .*a\.yaml -> .*b\.yaml -> .*a\.yaml"
    ):
        load_scenario(tmp_path / "a.yaml")


def test_extends_of_a_missing_base(tmp_path):
    write_scenario(tmp_path / "a.yaml", {"extends": "gone.yaml", "name": "a"})
    with pytest.raises(ScenarioError, match=r"gone\.yaml: cannot read file"):
        load_scenario(tmp_path / "a.yaml")


def test_merge_replaces_lists_other_than_assets():
    base = {"a": [1, 2], "b": {"c": 1, "d": 2}}
    merged = merge_documents(base, {"a": [3], "b": {"d": 5}})
    assert merged == {"a": [3], "b": {"c": 1, "d": 5}}
    assert base == {"a": [1, 2], "b": {"c": 1, "d": 2}}  # input left alone


def test_merge_does_not_change_the_base_assets():
    base = {"plant": {"assets": [{"name": "x", "power_kw": 1}]}}
    original = copy.deepcopy(base)
    merge_documents(base, {"plant": {"assets": [{"name": "x", "power_kw": 2}]}})
    assert base == original


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"no_such_option": 1}, "'no_such_option' is not a HiGHS option"),
        ({"mip_lifting_for_probing": "high"}, "HiGHS refuses the value 'high'"),
        ({"presolve": "sometimes"}, "HiGHS refuses the value 'sometimes'"),
        ({"threads": 2}, "'threads': set solver.threads instead"),
        ({"output_flag": True}, "HiGHS output stays off"),
    ],
)
def test_highs_options_are_checked_against_highs(example_doc, options, message):
    example_doc["solver"] = {"highs_options": options}
    error = _error(example_doc)
    assert error.startswith("plant.yaml: solver.highs_options")
    assert message in error


def test_highs_options_reach_highs(example_doc):
    import energyopt.model.solve as solve_module

    example_doc["solver"] = {"highs_options": {"mip_lifting_for_probing": 0, "presolve": "off"}}
    options = scenario_from_dict(example_doc, source="plant.yaml").solver
    highs = solve_module._configured_highs(options)
    assert highs.getOptionValue("mip_lifting_for_probing")[1] == 0
    assert highs.getOptionValue("presolve")[1] == "off"
    assert highs.getOptionValue("mip_heuristic_run_feasibility_jump")[1] is False
