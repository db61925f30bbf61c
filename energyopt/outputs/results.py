"""Results: balance residuals and KPIs of a plan, from its tables.

Works on a :class:`~energyopt.model.Reading` (the dispatch table, costs by
category, emissions; see :mod:`energyopt.model.read` for the column names).
The balances re-derived from the dispatch table's net-injection columns must
close at every step (:func:`balance_residuals`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from energyopt.assets.base import ASSET_TYPES, COST_CATEGORIES, Asset, flow_unit
from energyopt.outputs.plant_kpis import plant_kpis
from energyopt.units import KG_PER_T

if TYPE_CHECKING:
    from energyopt.model.read import Reading

#: asset KPIs that add up over assets (e.g. two formation halls)
SUMMED_KPIS = frozenset({"cells_produced_kwh"})


def injection_columns(dispatch: pd.DataFrame, carrier: str) -> list[str]:
    """Columns holding the net injections into ``carrier``."""
    suffix = f".net_{carrier}_{flow_unit(carrier)}"
    return [c for c in dispatch.columns if c.endswith(suffix)]


def carriers_in(dispatch: pd.DataFrame) -> list[str]:
    """Carriers that appear in a dispatch table."""
    found = []
    for column in dispatch.columns:
        if ".net_" in column:
            carrier = column.split(".net_", 1)[1].rsplit("_kw", 1)[0].rsplit("_kg_per_h", 1)[0]
            if carrier not in found:
                found.append(carrier)
    return found


def balance_residuals(dispatch: pd.DataFrame) -> pd.DataFrame:
    """Sum of net injections per carrier and interval [kW or kg/h]; ~0 when closed."""
    return pd.DataFrame(
        {c: dispatch[injection_columns(dispatch, c)].sum(axis=1) for c in carriers_in(dispatch)}
    )


#: the KPIs a total cost is made of: ``cost_<category>_eur`` and ``revenue_eur`` (positive)
COST_KPIS = (
    *(f"cost_{c}_eur" for c in (*COST_CATEGORIES, "co2") if c != "revenue"),
    "revenue_eur",
)


def grid_columns(assets: Mapping[str, Asset]) -> list[tuple[str, str]]:
    """Dispatch columns (import, export) of every public-grid connection [kW]."""
    return [
        (f"{name}.{a.import_column}", f"{name}.{a.export_column}")
        for name, a in assets.items()
        if a.import_column is not None
    ]


#: a public-grid connection's dispatch columns of its prices [EUR/kWh] and intensity [kg/kWh]
PRICE_IMPORT_COLUMN = "price_import_eur_per_kwh"
PRICE_EXPORT_COLUMN = "price_export_eur_per_kwh"
CO2_COLUMN = "co2_kg_per_kwh"


def grid_energy_cost_eur(dispatch: pd.DataFrame, grid: str, dt_h: float) -> pd.Series | None:
    """Energy cost of grid connection ``grid`` per interval [EUR], from its dispatch columns.

    ``import_kw * price_import_eur_per_kwh - export_kw * price_export_eur_per_kwh``,
    times ``dt_h``; None when the table lacks the price columns.
    """
    imports, exports = dispatch.get(f"{grid}.import_kw"), dispatch.get(f"{grid}.export_kw")
    price_in = dispatch.get(f"{grid}.{PRICE_IMPORT_COLUMN}")
    price_out = dispatch.get(f"{grid}.{PRICE_EXPORT_COLUMN}")
    if imports is None or price_in is None:
        return None
    cost = imports * price_in
    if exports is not None and price_out is not None:
        cost = cost - exports * price_out
    return cost * dt_h


def grid_co2_kg(dispatch: pd.DataFrame, grid: str, dt_h: float) -> pd.Series | None:
    """CO2 of grid connection ``grid``'s import per interval [kg]: ``import_kw * co2 * dt_h``;
    None when the table lacks the intensity column."""
    imports, co2 = dispatch.get(f"{grid}.import_kw"), dispatch.get(f"{grid}.{CO2_COLUMN}")
    if imports is None or co2 is None:
        return None
    return imports * co2 * dt_h


def generation_kpis(
    assets: Mapping[str, Asset], dispatch: pd.DataFrame, exports: pd.Series, dt_h: float
) -> dict[str, float]:
    """Generation and self-consumed share per generator group (``generation_kpi``).

    Self-consumption of a group: its output less what the grid exports, not
    below zero, over its output (exports are charged to each group in full).
    """
    groups: dict[str, list[str]] = {}
    for name, a in assets.items():
        if a.generation_kpi is not None:
            groups.setdefault(a.generation_kpi, []).append(f"{name}.{a.generation_column}")
    kpis = {}
    for prefix, columns in groups.items():
        power = dispatch[columns].sum(axis=1)
        energy = float(power.sum() * dt_h)
        self_used = np.minimum(power, np.maximum(power - exports, 0.0))
        kpis[f"{prefix}_generation_kwh"] = energy
        share = float(self_used.sum() * dt_h / energy) if energy > 0 else 0.0
        kpis[f"{prefix}_self_consumption_frac"] = share
    return kpis


def energy_kpis(reading: Reading) -> dict[str, float]:
    """Grid, generation and per-carrier energy KPIs from the dispatch table."""
    dispatch, dt_h = reading.dispatch, reading.ctx.dt_h
    grid = grid_columns(reading.assets)
    imports = dispatch[[i for i, _ in grid]].sum(axis=1)
    exports = dispatch[[e for _, e in grid]].sum(axis=1)
    kpis = {
        "grid_import_kwh": float(imports.sum() * dt_h),
        "grid_export_kwh": float(exports.sum() * dt_h),
        "peak_import_kw": float(imports.max()) if len(imports) else 0.0,
    }
    for kind in ASSET_TYPES.values():  # every generator kind reports, zero where absent
        if kind.generation_kpi is not None:
            kpis[f"{kind.generation_kpi}_generation_kwh"] = 0.0
            kpis[f"{kind.generation_kpi}_self_consumption_frac"] = 0.0
    kpis.update(generation_kpis(reading.assets, dispatch, exports, dt_h))
    for carrier in carriers_in(dispatch):
        flows = dispatch[injection_columns(dispatch, carrier)]
        unit = "kwh" if flow_unit(carrier) == "kw" else "kg"
        kpis[f"{carrier}_supplied_{unit}"] = float(flows.clip(lower=0).sum().sum() * dt_h)
    return kpis


def compute_kpis(reading: Reading, annual_capacity_gwh: float | None = None) -> dict[str, float]:
    """Money, CO2 and energy KPIs of a solved window, and per kWh of cells.

    ``annual_capacity_gwh`` (the plant's nameplate) is used for the cells made
    in the period when no process asset reports ``cells_produced_kwh``.
    """
    costs, dispatch, ctx = reading.costs_eur, reading.dispatch, reading.ctx
    kpis: dict[str, float] = {f"cost_{k}_eur": v for k, v in costs.items() if k != "revenue"}
    kpis["revenue_eur"] = 0.0 - costs["revenue"]
    kpis["total_cost_eur"] = reading.total_cost_eur
    kpis["n_violations"] = float(len(reading.violations))
    kpis["co2_t"] = reading.co2_kg / KG_PER_T
    kpis.update(energy_kpis(reading))
    for asset in reading.assets.values():
        for key, value in asset.kpis(dispatch, ctx).items():
            kpis[key] = kpis.get(key, 0.0) + value if key in SUMMED_KPIS else value
    kpis.update(plant_kpis(dispatch, reading.assets, ctx.dt_h, kpis, annual_capacity_gwh))
    return kpis
