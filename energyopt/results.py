"""Results: the dispatch table, balance residuals and KPIs.

Dispatch table: one row per interval (UTC time stamps), one column per asset
quantity named ``<asset>.<quantity>_<unit>`` (``battery.level_kwh``,
``grid.import_kw``), plus for every asset and carrier it touches its net
injection ``<asset>.net_<carrier>_kw`` (materials: ``_kg_per_h``), positive
when it supplies the carrier. The balances re-derived from those columns must
close at every step (:func:`balance_residuals`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from energyopt.assets.base import ASSET_TYPES, COST_CATEGORIES, Asset, values
from energyopt.evaluation import reading
from energyopt.model import PlantModel, flow_unit
from energyopt.plant_kpis import plant_kpis
from energyopt.units import KG_PER_T

#: asset KPIs that add up over assets (e.g. two formation halls)
SUMMED_KPIS = frozenset({"cells_produced_kwh"})


def dispatch_table(plant: PlantModel) -> pd.DataFrame:
    """Solved plan as a DataFrame on the window's UTC index."""
    ctx = plant.ctx
    n = ctx.n_steps
    columns: dict[str, np.ndarray] = {}
    # a model updated window after window is read often: evaluate its expressions
    # through cached linear forms (a model solved once: plain evaluation is cheaper)
    with reading(plant.value_cache if plant.n_updates else None):
        for name, asset in plant.assets.items():
            own = _columns(asset.extract(plant.block(name), ctx))
            columns.update({f"{name}.{c}": array for c, array in own.items()})
            for carrier, flow in plant.terms[name].injections.items():
                columns[f"{name}.net_{carrier}_{flow_unit(carrier)}"] = values(flow, n)
    table = pd.DataFrame(columns, index=ctx.index.copy())
    table.index.name = "time"
    return table


def _columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The columns of an asset's table as arrays (one conversion when all are numbers)."""
    if all(kind in "biuf" for kind in (dtype.kind for dtype in frame.dtypes)):
        matrix = frame.to_numpy(dtype=float)
        return {c: matrix[:, k] for k, c in enumerate(frame.columns)}
    return {c: frame[c].to_numpy() for c in frame.columns}


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


def cost_breakdown(plant: PlantModel) -> dict[str, float]:
    """Costs by category over the window [EUR]; revenues negative under ``revenue``."""
    totals = dict.fromkeys(COST_CATEGORIES, 0.0)
    for terms in plant.terms.values():
        for category, expr in terms.costs_eur.items():
            totals[category] += float(pyo.value(expr))
    totals["co2"] = float(pyo.value(plant.model.co2_price_eur_per_kg)) * co2_kg(plant)
    return totals


def co2_kg(plant: PlantModel) -> float:
    """Emissions over the window [kg CO2]."""
    return float(sum(pyo.value(t.co2_kg) for t in plant.terms.values()))


def grid_columns(assets: Mapping[str, Asset]) -> list[tuple[str, str]]:
    """Dispatch columns (import, export) of every public-grid connection [kW]."""
    return [
        (f"{name}.{a.import_column}", f"{name}.{a.export_column}")
        for name, a in assets.items()
        if a.import_column is not None
    ]


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


def energy_kpis(plant: PlantModel, dispatch: pd.DataFrame) -> dict[str, float]:
    """Grid, generation and per-carrier energy KPIs from the dispatch table."""
    dt_h = plant.ctx.dt_h
    grid = grid_columns(plant.assets)
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
    kpis.update(generation_kpis(plant.assets, dispatch, exports, dt_h))
    for carrier in carriers_in(dispatch):
        flows = dispatch[injection_columns(dispatch, carrier)]
        unit = "kwh" if flow_unit(carrier) == "kw" else "kg"
        kpis[f"{carrier}_supplied_{unit}"] = float(flows.clip(lower=0).sum().sum() * dt_h)
    return kpis


def compute_kpis(
    plant: PlantModel, dispatch: pd.DataFrame, annual_capacity_gwh: float | None = None
) -> dict[str, float]:
    """Money, CO2 and energy KPIs of a solved window, and per kWh of cells.

    ``annual_capacity_gwh`` (the plant's nameplate) is used for the cells made
    in the period when no process asset reports ``cells_produced_kwh``.
    """
    costs = cost_breakdown(plant)
    kpis: dict[str, float] = {f"cost_{k}_eur": v for k, v in costs.items() if k != "revenue"}
    kpis["revenue_eur"] = 0.0 - costs["revenue"]
    kpis["total_cost_eur"] = sum(costs.values())
    kpis["co2_t"] = co2_kg(plant) / KG_PER_T
    kpis.update(energy_kpis(plant, dispatch))
    for asset in plant.assets.values():
        for key, value in asset.kpis(dispatch, plant.ctx).items():
            kpis[key] = kpis.get(key, 0.0) + value if key in SUMMED_KPIS else value
    kpis.update(plant_kpis(dispatch, plant.assets, plant.ctx.dt_h, kpis, annual_capacity_gwh))
    return kpis
