"""Final energy traced to processes, and the per-kWh-of-cell KPIs."""

import numpy as np
import pandas as pd
import pytest
from pydantic import TypeAdapter

from energyopt.assets import AssetParamsUnion, create_asset
from energyopt.outputs.plant_kpis import (
    carrier_intensities,
    energy_flows,
    final_energy_by_use,
    plant_kpis,
    sankey_links,
)

INDEX = pd.date_range("2023-06-01", periods=2, freq="1h", tz="UTC", name="time")


def _assets(*docs):
    adapter = TypeAdapter(AssetParamsUnion)
    return {d["name"]: create_asset(adapter.validate_python(d)) for d in docs}


def _plant():
    assets = _assets(
        {"type": "grid", "name": "grid", "import_max_kw": 1000},
        {"type": "heat_pump", "name": "hp", "heat_max_kw": 500, "cop": 3.0},
        {
            "type": "fixed_load",
            "name": "room",
            "carrier": "heat_ht",
            "power_kw": 300,
            "process": "dry_room",
        },
        {"type": "fixed_load", "name": "machines", "power_kw": 100},
    )
    dispatch = pd.DataFrame(
        {
            "grid.import_kw": [200.0, 200.0],
            "grid.net_electricity_kw": [200.0, 200.0],
            "hp.net_electricity_kw": [-100.0, -100.0],
            "hp.net_heat_ht_kw": [300.0, 300.0],
            "room.net_heat_ht_kw": [-300.0, -300.0],
            "machines.net_electricity_kw": [-100.0, -100.0],
        },
        index=INDEX,
    )
    return assets, dispatch


def test_intensity_of_heat_from_a_heat_pump_is_one_over_cop():
    assets, dispatch = _plant()
    intensity = carrier_intensities(energy_flows(dispatch, assets, 1.0))
    assert intensity["electricity"] == pytest.approx(1.0)
    assert intensity["heat_ht"] == pytest.approx(1 / 3)


def test_final_energy_splits_by_process_and_adds_up():
    assets, dispatch = _plant()
    uses = final_energy_by_use(energy_flows(dispatch, assets, 1.0), assets)
    assert uses["dry_room"] == pytest.approx(200.0)  # 300 kW heat / COP 3 over 2 h
    assert uses["other"] == pytest.approx(200.0)
    assert uses["unallocated"] == pytest.approx(0.0, abs=1e-9)


def test_battery_losses_are_carried_by_the_consumers():
    assets = _assets(
        {"type": "grid", "name": "grid", "import_max_kw": 1000},
        {
            "type": "battery",
            "name": "bess",
            "capacity_kwh": 100,
            "charge_max_kw": 100,
            "efficiency_charge": 0.9,
            "efficiency_discharge": 0.9,
            "soc_initial_frac": 0.0,
        },
        {"type": "fixed_load", "name": "machines", "power_kw": 81, "process": "formation"},
    )
    # hour 1: import 181, charge 100 (stores 90); hour 2: discharge 81 (90 * 0.9), import 0
    dispatch = pd.DataFrame(
        {
            "grid.import_kw": [181.0, 0.0],
            "grid.net_electricity_kw": [181.0, 0.0],
            "bess.net_electricity_kw": [-100.0, 81.0],
            "machines.net_electricity_kw": [-81.0, -81.0],
        },
        index=INDEX,
    )
    uses = final_energy_by_use(energy_flows(dispatch, assets, 1.0), assets)
    assert uses["formation"] == pytest.approx(162.0)
    assert uses["storage"] == pytest.approx(19.0)  # 100 in, 81 out
    assert uses["unallocated"] == pytest.approx(0.0, abs=1e-9)


def test_per_cell_kpis_use_the_nameplate_share_and_compare_with_targets():
    assets, dispatch = _plant()
    # 8.76 GWh/a -> 1 MWh of cells per hour -> 2,000 kWh in 2 h; 400 kWh final energy
    costs = {
        "cost_energy_eur": 40.0,
        "cost_demand_charge_eur": 12.0,
        "cost_fuel_eur": 6.0,
        "cost_exchange_eur": 2.0,
        "cost_co2_eur": 5.0,
        "revenue_eur": 15.0,
        "total_cost_eur": 50.0,  # 40 + 12 + 6 + 2 + 5 - 15
    }
    kpis = plant_kpis(dispatch, assets, 1.0, {"co2_t": 0.03, **costs}, 8.76)
    assert kpis["cells_produced_kwh"] == pytest.approx(2000.0)
    assert kpis["energy_kwh_per_kwh_cell"] == pytest.approx(0.2)
    assert kpis["energy_kwh_per_kwh_cell_dry_room"] == pytest.approx(0.1)
    assert kpis["co2_kg_per_kwh_cell"] == pytest.approx(0.015)
    # energy bought: grid energy, demand charge, fuel, neighbours' heat = 60 EUR / 2,000 kWh
    assert kpis["energy_cost_eur_per_kwh_cell"] == pytest.approx(0.03)
    assert kpis["total_cost_eur_per_kwh_cell"] == pytest.approx(0.025)
    assert kpis["meets_energy_target"] is True


def test_sankey_links_conserve_energy_at_every_carrier():
    assets, dispatch = _plant()
    links = sankey_links(energy_flows(dispatch, assets, 1.0), assets)
    for carrier in ("electricity", "heat_ht"):
        into = sum(v for s, t, v in links if t == carrier)
        out = sum(v for s, t, v in links if s == carrier)
        assert np.isclose(into, out)
    assert ("heat_ht", "process: dry_room", 600.0) in links


def test_a_load_that_feeds_back_at_times_counts_with_its_net_use():
    """Regenerative cyclers return energy in some intervals; they stay a consumer."""
    assets = _assets(
        {"type": "grid", "name": "grid", "import_max_kw": 1000},
        {"type": "fixed_load", "name": "cyclers", "power_kw": 1, "process": "formation"},
        {"type": "fixed_load", "name": "machines", "power_kw": 1},
    )
    dispatch = pd.DataFrame(
        {
            "grid.import_kw": [150.0, 30.0],
            "grid.net_electricity_kw": [150.0, 30.0],
            "cyclers.net_electricity_kw": [-100.0, 20.0],
            "machines.net_electricity_kw": [-50.0, -50.0],
        },
        index=INDEX,
    )
    uses = final_energy_by_use(energy_flows(dispatch, assets, 1.0), assets)
    assert uses["formation"] == pytest.approx(80.0)
    assert uses["other"] == pytest.approx(100.0)
    assert uses["unallocated"] == pytest.approx(0.0, abs=1e-9)
