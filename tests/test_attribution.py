"""Plan versus actual on hand-made tables: each part of the split against hand figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from energyopt.assets import create_asset
from energyopt.assets.battery import BatteryParams
from energyopt.assets.fixed_load import FixedLoadParams
from energyopt.assets.gas_boiler import GasBoilerParams
from energyopt.assets.grid import GridParams
from energyopt.inputs.config import Tariffs
from energyopt.outputs.attribution import (
    attribute,
    missing_readings,
    plant_meters,
)
from energyopt.outputs.day_tables import PlanVersion, in_force, interval_means, stitch

INDEX = pd.date_range("2026-06-10T22:00Z", periods=4, freq="1h", name="time")
ASSETS = {
    p.name: create_asset(p)
    for p in (
        GridParams(type="grid", name="grid", import_max_kw=1000, export_max_kw=500),
        BatteryParams(type="battery", name="bess", capacity_kwh=200, charge_max_kw=50),
        FixedLoadParams(type="fixed_load", name="load", power_kw=100),
        GasBoilerParams(type="gas_boiler", name="boiler", heat_max_kw=100, co2_kg_per_kwh_fuel=0.2),
    )
}
#: gas at 40 EUR/MWh (0.04 EUR/kWh)
TARIFFS = Tariffs(gas_price_eur_per_mwh=40.0)


def _dispatch(load_kw, bess_kw, price_in, co2, fuel_kw=10.0) -> pd.DataFrame:
    """A dispatch table of the four assets; the grid balances electricity."""
    grid = -(np.asarray(load_kw, dtype=float) + np.asarray(bess_kw, dtype=float))
    return pd.DataFrame(
        {
            "grid.import_kw": np.maximum(grid, 0),
            "grid.export_kw": np.maximum(-grid, 0),
            "grid.price_import_eur_per_kwh": price_in,
            "grid.price_export_eur_per_kwh": 0.05,
            "grid.co2_kg_per_kwh": co2,
            "grid.net_electricity_kw": grid,
            "bess.net_electricity_kw": bess_kw,
            "load.net_electricity_kw": load_kw,
            "boiler.fuel_kw": fuel_kw,
            "boiler.heat_kw": 0.93 * fuel_kw,
            "boiler.net_heat_ht_kw": 0.93 * fuel_kw,
        },
        index=INDEX,
    )


#: planned on a load of 100 kW and forecast prices; actual load 110 kW, prices and CO2 differ
PLANNED = _dispatch([-100] * 4, [-50, 0, 50, 0], [0.1, 0.1, 0.2, 0.2], 0.3)
RESOLVED = _dispatch([-110] * 4, [-50, 0, 50, 0], [0.1, 0.12, 0.2, 0.2], [0.3, 0.3, 0.4, 0.4])


def _measured(bess_kw, grid_kw, fuel_kw=None) -> pd.DataFrame:
    columns = {"grid.power_kw": grid_kw, "bess.power_kw": bess_kw, "load.power_kw": -110.0}
    if fuel_kw is not None:
        columns["boiler.fuel_kw"] = fuel_kw
    return pd.DataFrame(columns, index=INDEX)


def _split(measured):
    meters = plant_meters(ASSETS, list(PLANNED.columns), TARIFFS)
    return attribute(PLANNED, RESOLVED, measured, meters)


def test_the_parts_match_hand_figures_and_add_up_to_the_deviation():
    # the battery discharged 30 kW instead of 50 in the third hour; the grid meter
    # reads 2 kW the model does not explain in the fourth
    measured = _measured([-50, 0, 30, 0], [160, 110, 80, 112], fuel_kw=[10, 10, 12, 10])
    split = _split(measured)
    cost, co2 = split.cost_eur, split.co2_kg
    # planned: 150*0.1 + 100*0.1 + 50*0.2 + 100*0.2 = 55 EUR grid + 40 kWh gas * 0.04
    assert cost.planned == pytest.approx(55.0 + 1.6)
    assert co2.planned == pytest.approx(400 * 0.3 + 40 * 0.2)
    # forecast: re-solve 160*0.1 + 110*0.12 + 60*0.2 + 110*0.2 = 63.2 EUR (gas as planned)
    assert cost.forecast == pytest.approx(63.2 - 55.0)
    assert co2.forecast == pytest.approx(160 * 0.3 + 110 * 0.3 + 60 * 0.4 + 110 * 0.4 - 120)
    # execution: 20 kWh less from the battery bought at 0.2 EUR/kWh, 0.4 kg/kWh;
    # 2 kWh more gas at 0.04 EUR/kWh, 0.2 kg/kWh
    assert cost.execution == pytest.approx(20 * 0.2 + 2 * 0.04)
    assert co2.execution == pytest.approx(20 * 0.4 + 2 * 0.2)
    # the 2 kWh the model misses, at the fourth hour's price and intensity
    assert cost.model == pytest.approx(2 * 0.2)
    assert co2.model == pytest.approx(2 * 0.4)
    for part in (cost, co2):
        assert part.forecast + part.execution + part.model == pytest.approx(part.total)
        assert part.total == pytest.approx(part.realised - part.planned)
    assert cost.realised == pytest.approx(16 + 13.2 + 16 + 22.4 + 42 * 0.04)
    rows = {(r.asset, r.carrier): r for r in split.rows}
    assert rows[("bess", "electricity")].deviation_kwh == pytest.approx(-20.0)
    assert rows[("bess", "electricity")].execution_cost_eur == pytest.approx(4.0)
    assert rows[("boiler", "gas")].deviation_kwh == pytest.approx(2.0)
    assert rows[("grid", "electricity")].execution_cost_eur is None  # it balances
    assert rows[("load", "electricity")].execution_cost_eur is None  # no command
    assert rows[("load", "electricity")].deviation_kwh == pytest.approx(-40.0)
    heat = rows[("boiler", "heat_ht")]
    assert (heat.intervals_measured, heat.measured_kwh, heat.execution_cost_eur) == (0, None, None)
    assert split.unmetered == ()


def test_a_deviation_while_exporting_is_priced_at_the_export_price_without_co2():
    measured = _measured([-50, 0, 60, 0], [160, 110, -30, 110])
    split = _split(measured)
    assert split.cost_eur.execution == pytest.approx(-10 * 0.05)
    assert split.co2_kg.execution == pytest.approx(0.0)


def test_an_unmetered_fuel_is_left_out_of_every_figure():
    split = _split(_measured([-50, 0, 50, 0], [160, 110, 60, 110]))
    assert split.unmetered == ("boiler.fuel_kw",)
    assert split.cost_eur.planned == pytest.approx(55.0)
    assert split.cost_eur.total == pytest.approx(8.2)
    assert split.cost_eur.model == pytest.approx(0.0, abs=1e-12)


def test_missing_readings_name_the_meter_and_the_first_gap():
    meters = plant_meters(ASSETS, list(PLANNED.columns), TARIFFS)
    measured = _measured([-50, np.nan, 50, 0], [160, 110, 60, 110], fuel_kw=[10, 10, np.nan, 10])
    measured = measured.drop(columns="grid.power_kw")
    assert missing_readings(measured, meters) == [
        "grid.power_kw: no readings",
        "bess.power_kw: 1 of 4 intervals without a reading (first 2026-06-10 23:00 UTC)",
        "boiler.fuel_kw: 1 of 4 intervals without a reading (first 2026-06-11 00:00 UTC)",
    ]


def test_the_newest_version_issued_by_an_interval_start_is_in_force():
    day_ahead = PlanVersion(1, pd.Timestamp("2026-06-10T09:00Z"), PLANNED)
    replan = PlanVersion(2, INDEX[2] - pd.Timedelta("10min"), RESOLVED.iloc[2:])
    late = PlanVersion(3, INDEX[-1] + pd.Timedelta("1h"), PLANNED * 0.0)
    numbers = in_force([replan, late, day_ahead], INDEX)
    assert numbers.tolist() == [1, 1, 2, 2]
    plan = stitch({1: PLANNED, 2: RESOLVED.iloc[2:]}, numbers, INDEX)
    assert plan["load.net_electricity_kw"].tolist() == [-100, -100, -110, -110]


def test_readings_are_averaged_per_interval():
    readings = pd.DataFrame(
        {
            "asset": ["bess", "bess", "bess", "grid"],
            "quantity": ["power_kw"] * 4,
            "value": [10.0, 30.0, 5.0, 7.0],
            "measured_at": [
                INDEX[0],
                INDEX[0] + pd.Timedelta("30min"),
                INDEX[2] + pd.Timedelta("59min"),
                INDEX[-1] + pd.Timedelta("1h"),  # after the day
            ],
        }
    )
    means = interval_means(readings, INDEX)
    assert means["bess.power_kw"].tolist()[0] == 20.0
    assert means["bess.power_kw"].isna().tolist() == [False, True, False, True]
    assert "grid.power_kw" not in means
