"""Plant KPIs per kWh of cells: final energy, CO2 and cost, split by process.

Final energy is what crosses the plant boundary: grid import, PV output used
or exported, boiler fuel, bought heat (each asset names it with its
``boundary_column``). It is allocated to the processes that finally use it by
tracing it through converters and storages with carrier intensities
``f_c`` [kWh final per kWh of carrier ``c``], the solution of::

    f_c * S_c = sum over producers a of c:
                (O[a,c] / O[a]) * (F[a] + sum_c' I[a,c'] * f_c')

where ``S_c`` is the energy supplied to carrier ``c`` over the period, ``O``
and ``I`` an asset's outputs to and draws from each carrier, ``O[a]`` its
outputs over all carriers and ``F[a]`` the final energy it brings in. A
consumer's share is ``sum_c I[a,c] * f_c``; draws of boundary assets
(grid export, heat export) are exports. Flows of assets inside the boundary
are netted per carrier over the period, so storages show up as consumers of
their losses and level gain (process ``storage``). ``unallocated`` is what is
left (zero up to rounding). Material carriers (kg) are not energy and are left out.

Targets: Batteries Europe 2030 manufacturing KPIs, < 25 kWh/kWh of cell and
10 kg CO2eq/kWh (Batteries Europe Strategic Research Agenda 2020; BATT4EU SRIA
2024, manufacturing chapter), as listed in the plant reference.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import cast

import numpy as np
import pandas as pd

from energyopt.assets import Asset
from energyopt.assets.base import CARRIERS
from energyopt.units import HOURS_PER_YEAR, KG_PER_T

TARGET_ENERGY_KWH_PER_KWH_CELL = 25.0
TARGET_CO2_KG_PER_KWH_CELL = 10.0
PROCESSES = ("dry_room", "ovens", "formation", "aging", "storage", "other")


@dataclasses.dataclass(frozen=True)
class EnergyFlows:
    """Period totals per asset and carrier [kWh]."""

    outputs: pd.DataFrame  # asset x carrier, energy supplied to the carrier
    inputs: pd.DataFrame  # asset x carrier, energy drawn from the carrier
    final: pd.Series  # asset -> final energy brought in
    boundary: frozenset[str]

    @property
    def carriers(self) -> list[str]:
        """Energy carriers with any flow."""
        return list(self.outputs.columns)


def energy_flows(dispatch: pd.DataFrame, assets: Mapping[str, Asset], dt_h: float) -> EnergyFlows:
    """Sum a dispatch table into per-asset, per-carrier energy totals [kWh].

    Boundary assets keep gross flows (imports are final energy, their draws
    are exports). Every other asset is netted per carrier over the period, so
    a storage draws its losses and level gain, and a load that sometimes
    feeds energy back (regenerative formation cyclers) draws its net use.
    """
    carriers = [c for c in CARRIERS if any(f".net_{c}_kw" in col for col in dispatch.columns)]
    outputs = pd.DataFrame(0.0, index=list(assets), columns=carriers)
    inputs = outputs.copy()
    final = pd.Series(0.0, index=list(assets))
    for name, asset in assets.items():
        is_boundary = asset.boundary_column is not None
        for carrier in carriers:
            column = f"{name}.net_{carrier}_kw"
            if column not in dispatch.columns:
                continue
            supplied = dispatch[column].clip(lower=0).sum() * dt_h
            drawn = -dispatch[column].clip(upper=0).sum() * dt_h
            if not is_boundary:  # net over the period: storages, recuperating loads
                supplied, drawn = max(supplied - drawn, 0.0), max(drawn - supplied, 0.0)
            outputs.loc[name, carrier] = supplied
            inputs.loc[name, carrier] = drawn
        if is_boundary:
            final[name] = dispatch[f"{name}.{asset.boundary_column}"].sum() * dt_h
    boundary = frozenset(n for n, a in assets.items() if a.boundary_column is not None)
    return EnergyFlows(outputs, inputs, final, boundary)


def carrier_intensities(flows: EnergyFlows) -> pd.Series:
    """Final energy per kWh of each carrier [kWh/kWh] (see the module docstring)."""
    carriers = [c for c in flows.carriers if flows.outputs[c].sum() > 1e-9]
    n = len(carriers)
    matrix = np.zeros((n, n))
    rhs = np.zeros(n)
    for i, carrier in enumerate(carriers):
        matrix[i, i] += flows.outputs[carrier].sum()
        # the frames are indexed by asset name
        for asset, out in cast("Iterable[tuple[str, float]]", flows.outputs[carrier].items()):
            total_out = flows.outputs.loc[asset].sum()
            if out <= 0 or total_out <= 0:
                continue
            share = out / total_out
            rhs[i] += share * flows.final[asset]
            if asset in flows.boundary:
                continue
            for j, source in enumerate(carriers):
                matrix[i, j] -= share * cast(float, flows.inputs.loc[asset, source])
    solution = np.linalg.lstsq(matrix, rhs, rcond=None)[0] if n else np.zeros(0)
    return pd.Series(solution, index=carriers).reindex(flows.carriers, fill_value=0.0)


def final_energy_by_use(flows: EnergyFlows, assets: Mapping[str, Asset]) -> dict[str, float]:
    """Final energy allocated to each process group and to exports [kWh]."""
    intensity = carrier_intensities(flows)
    uses = dict.fromkeys(PROCESSES, 0.0)
    uses["export"] = 0.0
    for name, asset in assets.items():
        drawn = float((cast(pd.Series, flows.inputs.loc[name]) * intensity).sum())
        if name in flows.boundary:
            uses["export"] += drawn
        elif flows.outputs.loc[name].sum() <= 1e-9:
            uses[asset.process] = uses.get(asset.process, 0.0) + drawn
    uses["unallocated"] = float(flows.final.sum()) - sum(uses.values())
    return uses


#: cost KPIs (``cost_<part>_eur``) of the energy a plant buys: grid energy with fees,
#: demand charge, fuel, purchases from neighbours and intraday imbalance; the total
#: net cost adds CO2 and wear and takes off NMP sales and exports
ENERGY_COST_PARTS = ("energy", "demand_charge", "fuel", "exchange", "imbalance")


def cells_produced_kwh(
    kpis: Mapping[str, object], annual_capacity_gwh: float | None, duration_h: float
) -> float | None:
    """kWh of cells made in the period: reported by process assets, else nameplate share."""
    reported = kpis.get("cells_produced_kwh")
    if isinstance(reported, int | float) and reported > 0:
        return float(reported)
    if annual_capacity_gwh:
        return annual_capacity_gwh * 1e6 * duration_h / HOURS_PER_YEAR
    return None


def plant_kpis(
    dispatch: pd.DataFrame,
    assets: Mapping[str, Asset],
    dt_h: float,
    kpis: Mapping[str, float],
    annual_capacity_gwh: float | None,
) -> dict[str, float | bool]:
    """Per-kWh-of-cell KPIs and the final-energy split by process."""
    flows = energy_flows(dispatch, assets, dt_h)
    uses = final_energy_by_use(flows, assets)
    final_kwh = float(flows.final.sum())
    out: dict[str, float | bool] = {"final_energy_kwh": final_kwh}
    out.update({f"final_energy_{use}_kwh": value for use, value in uses.items()})
    cells = cells_produced_kwh(kpis, annual_capacity_gwh, len(dispatch) * dt_h)
    if not cells:
        return out
    co2_kg = float(kpis.get("co2_t", 0.0)) * KG_PER_T
    cost = float(kpis.get("total_cost_eur", 0.0))
    bought = sum(float(kpis.get(f"cost_{part}_eur", 0.0)) for part in ENERGY_COST_PARTS)
    energy_per_cell = final_kwh / cells
    co2_per_cell = co2_kg / cells
    out.update(
        cells_produced_kwh=cells,
        energy_kwh_per_kwh_cell=energy_per_cell,
        co2_kg_per_kwh_cell=co2_per_cell,
        energy_cost_eur_per_kwh_cell=bought / cells,
        total_cost_eur_per_kwh_cell=cost / cells,
        target_energy_kwh_per_kwh_cell=TARGET_ENERGY_KWH_PER_KWH_CELL,
        target_co2_kg_per_kwh_cell=TARGET_CO2_KG_PER_KWH_CELL,
        meets_energy_target=energy_per_cell < TARGET_ENERGY_KWH_PER_KWH_CELL,
        meets_co2_target=co2_per_cell <= TARGET_CO2_KG_PER_KWH_CELL,
    )
    out.update(
        {f"energy_kwh_per_kwh_cell_{use}": uses[use] / cells for use in (*PROCESSES, "export")}
    )
    return out


def _node_name(name: str, kind: str) -> str:
    """``name (kind)``, or the name alone where it already says the kind."""
    return name if kind in name else f"{name} ({kind})"


def sankey_links(flows: EnergyFlows, assets: Mapping[str, Asset]) -> list[tuple[str, str, float]]:
    """Energy-flow links (source, target, kWh) from sources via carriers to processes."""
    links: list[tuple[str, str, float]] = []
    for name, asset in assets.items():
        is_consumer = name not in flows.boundary and flows.outputs.loc[name].sum() <= 1e-9
        node = f"process: {asset.process}" if is_consumer else _node_name(name, asset.kind)
        for carrier in flows.carriers:
            supplied = cast(float, flows.outputs.loc[name, carrier])
            drawn = cast(float, flows.inputs.loc[name, carrier])
            if supplied > 1e-6:
                links.append((node, carrier, float(supplied)))
            if drawn > 1e-6:
                target = "export" if name in flows.boundary else node
                links.append((carrier, target, float(drawn)))
    merged: dict[tuple[str, str], float] = {}
    for source, target, value in links:
        merged[(source, target)] = merged.get((source, target), 0.0) + value
    return [(s, t, v) for (s, t), v in merged.items()]
