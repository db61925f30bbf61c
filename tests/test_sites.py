"""Site scenarios: each validates with ``energyopt validate``, extends the default plant,
names data files that are bundled with a licence note, and three of them run a day."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from energyopt import load_scenario, run_scenario
from energyopt.cli import app
from energyopt.outputs.results import balance_residuals

ROOT = Path(__file__).resolve().parents[1]
SITES = sorted((ROOT / "scenarios" / "sites").glob("*.yaml"))
PLANT = ROOT / "scenarios" / "plants" / "gigafactory-20gwh.yaml"
DATA_README = (ROOT / "scenarios" / "data" / "README.md").read_text(encoding="utf-8")
#: 2023 grid CO2 constants of the sites without an hourly series [g/kWh]
CO2_CONSTANTS = {
    "skelleftea-se1.yaml": 41.0,
    "wroclaw-pl.yaml": 662.0,
    "debrecen-hu.yaml": 204.0,
    "sines-pt.yaml": 86.0,
}
runner = CliRunner()


def test_six_sites():
    assert len(SITES) >= 6


@pytest.mark.parametrize("path", SITES, ids=[p.stem for p in SITES])
def test_site_validates(path):
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert "ok" in result.stdout


@pytest.mark.parametrize("path", SITES, ids=[p.stem for p in SITES])
def test_site_keeps_the_default_plant_and_its_co2_source(path):
    scenario = load_scenario(path)
    names = {a.name for a in scenario.plant.assets}
    default = {a.name for a in load_scenario_plant()} - {"steelworks_heat"}
    assert default <= names
    grid = next(a for a in scenario.plant.assets if a.type == "grid")
    if path.name in CO2_CONSTANTS:
        assert (grid.co2_series, grid.co2_g_per_kwh) == (None, CO2_CONSTANTS[path.name])
    else:
        assert grid.co2_series in scenario.site.series


@pytest.mark.parametrize("path", SITES, ids=[p.stem for p in SITES])
def test_site_data_files_are_bundled_with_their_licence_note(path):
    site = load_scenario(path).site
    files = [s.file for s in site.series.values()] + [site.weather.file]
    for file in files:
        assert file.parent == ROOT / "scenarios" / "data"
        assert f"`{file.name}`" in DATA_README, file.name


def load_scenario_plant():
    """The default plant's assets (put at a site only to be validated)."""
    return load_scenario(ROOT / "scenarios" / "gigafactory.yaml").plant.assets


@pytest.mark.parametrize(
    ("name", "day"),
    [
        ("skelleftea-se1.yaml", dt.date(2023, 1, 16)),
        ("sines-pt.yaml", dt.date(2023, 7, 17)),
        ("dunkirk-fr.yaml", dt.date(2023, 6, 5)),
    ],
)
def test_site_day_solves_hourly(name, day):
    scenario = load_scenario(ROOT / "scenarios" / "sites" / name)
    run = run_scenario(scenario, start=day, days=1, step="1h")
    assert run.report.status == "optimal"
    assert balance_residuals(run.dispatch).abs().to_numpy().max() < 1e-6
    dispatch = run.dispatch
    fuel_kwh = sum(dispatch[c].sum() for c in dispatch if c.endswith(".fuel_kw"))
    grid_kg = (dispatch["grid.import_kw"] * dispatch["grid.co2_kg_per_kwh"]).sum()
    # CO2 = grid import x intensity + gas x 0.202 kg/kWh (exchange heat has none)
    assert run.kpis["co2_t"] == pytest.approx((grid_kg + 0.202 * fuel_kwh) / 1000, rel=1e-6)
    if name in CO2_CONSTANTS:
        assert dispatch["grid.co2_kg_per_kwh"].unique().tolist() == [CO2_CONSTANTS[name] / 1000]
