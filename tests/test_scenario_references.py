"""Series an asset names must be the site's: checked at validation, reported in one line.

Every asset parameter declared with ``series_field`` is checked against the
site's series when the scenario is validated (``energyopt validate``, the
API's scenario and plant upload), with an error naming the asset, the field,
the missing series and the known ones. The installed command prints one
``error:`` line and no library log line, also for errors found only while
the model is built.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers import grid, load, scenario_doc, write_scenario

from energyopt.assets import ASSET_TYPES
from energyopt.assets.base import SITE_SERIES, series_references
from energyopt.errors import ScenarioError
from energyopt.inputs.config import scenario_from_dict

COMMAND = Path(sys.executable).with_name("energyopt")
#: (asset document, field naming the series) per kind with a series field
NAMING_ASSETS = [
    (grid(co2_series="co2_missing"), "co2_series"),
    (grid(price_series="co2_missing"), "price_series"),
    ({**load(100.0), "power_kw": None, "series": "co2_missing"}, "series"),
]


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """The installed ``energyopt`` command, as a user runs it."""
    command = [str(COMMAND), *(str(a) for a in args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def _assets(extra: dict) -> list[dict]:
    kind = extra["type"]
    return [extra, load(100.0)] if kind == "grid" else [grid(), extra]


@pytest.mark.parametrize(("asset", "field"), NAMING_ASSETS, ids=[f for _, f in NAMING_ASSETS])
def test_unknown_series_fails_validation_naming_asset_field_and_known(tmp_path, asset, field):
    document = scenario_doc(tmp_path, _assets(asset))
    index = 0 if asset["type"] == "grid" else 1
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict(document, source="plant.yaml")
    assert str(caught.value) == (
        f"plant.yaml: plant.assets[{index}].{field} (asset {asset['name']!r}): "
        "site series 'co2_missing' is not defined (site series: price_eur_per_mwh)"
    )


def test_defined_series_pass(tmp_path):
    document = scenario_doc(
        tmp_path, [grid(co2_series="co2_g_per_kwh"), load(1.0)], series={"co2_g_per_kwh": 300.0}
    )
    assert scenario_from_dict(document).plant.assets[0].co2_series == "co2_g_per_kwh"


def test_every_series_parameter_is_marked():
    """A parameter named like a series is declared with series_field (so it is checked)."""
    unmarked = [
        f"{kind}.{name}"
        for kind, cls in ASSET_TYPES.items()
        for name, info in cls.Params.model_fields.items()
        if name.endswith("series")
        and not (isinstance(info.json_schema_extra, dict) and info.json_schema_extra[SITE_SERIES])
    ]
    assert unmarked == []


def test_series_references_lists_the_set_fields(tmp_path):
    document = scenario_doc(
        tmp_path, [grid(co2_series="co2_g_per_kwh"), load(1.0)], series={"co2_g_per_kwh": 300.0}
    )
    grid_params = scenario_from_dict(document).plant.assets[0]
    assert series_references(grid_params) == [
        ("price_series", "price_eur_per_mwh"),
        ("co2_series", "co2_g_per_kwh"),
    ]


def test_validate_command_refuses_an_unknown_co2_series(tmp_path):
    path = write_scenario(
        tmp_path / "plant.yaml", scenario_doc(tmp_path, [grid(co2_series="co2"), load(1.0)])
    )
    done = _run("validate", path)
    assert done.returncode == 2, done.stdout
    assert done.stderr.strip().splitlines() == [
        f"error: {path}: plant.assets[0].co2_series (asset 'grid'): site series 'co2' is not "
        "defined (site series: price_eur_per_mwh)"
    ]


def test_build_error_reaches_the_user_as_one_line_without_a_library_log(tmp_path):
    """A wind turbine without site weather fails while the model is built."""
    wind = {"type": "wind", "name": "wt", "n_turbines": 1, "hub_height_m": 100.0}
    wind["turbine_type"] = "E-126/4200"
    path = write_scenario(tmp_path / "wind.yaml", scenario_doc(tmp_path, [grid(), load(1.0), wind]))
    done = _run("run", path, "--out", tmp_path / "out")
    assert done.returncode == 2, done.stdout
    assert "pyomo" not in done.stderr.lower()
    assert done.stderr.strip().splitlines() == [
        "error: asset 'wt': wind power needs the site weather column 'wind_speed_m_per_s', "
        "which the window's inputs do not have (give the site a weather file)"
    ]
