"""Scenario documents hold finite numbers only: NaN, infinity and overflowing values are refused."""

from __future__ import annotations

import copy
import math

import pytest
import yaml

from energyopt.errors import ScenarioError
from energyopt.inputs.config import MAX_MAGNITUDE, Tariffs, bad_number, scenario_from_dict

DOCUMENT = {
    "name": "n",
    "site": {"name": "s", "latitude": 50.0, "longitude": 3.0, "timezone": "Europe/Paris"},
    "period": {"start": "2023-06-05", "days": 1, "step": "1h"},
    "plant": {"assets": [{"type": "fixed_load", "name": "load", "power_kw": 1000.0}]},
}


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 1e308, -1e300, 10**400])
def test_non_finite_or_huge_asset_parameter_is_refused_naming_it(value):
    document = copy.deepcopy(DOCUMENT)
    document["plant"]["assets"][0]["power_kw"] = value
    with pytest.raises(ScenarioError, match=r"plant\.assets\[0\]\.power_kw"):
        scenario_from_dict(document)


def test_yaml_infinity_is_refused():
    document = yaml.safe_load("grid_fee_eur_per_mwh: .inf")
    with pytest.raises(ScenarioError, match="grid_fee_eur_per_mwh"):
        scenario_from_dict({**DOCUMENT, "tariffs": document})


def test_scenario_models_refuse_nan_themselves():
    with pytest.raises(ValueError, match="finite"):
        Tariffs(grid_fee_eur_per_mwh=math.nan)


def test_bad_number_names_the_first_offender():
    assert bad_number({"a": [1, {"b": math.inf}]}) == (
        "a[1].b",
        f"inf is not a finite number of magnitude <= {MAX_MAGNITUDE:g}",
    )
    assert bad_number({"a": [True, 1.5, "x"]}) is None
    assert scenario_from_dict(DOCUMENT).plant.assets[0].name == "load"
