"""Plan versus actual: why a past day's realised cost and CO2 differ from its plan.

Tables in, figures out (no model). For a delivery day with intervals ``t`` of
``dt_h`` hours, all powers interval means in kW, positive into the plant:

* **plan**: in each interval, the setpoints of the newest schedule version of
  the day issued at or before the interval's start
  (:mod:`energyopt.outputs.day_tables`);
* **scope**: what the site's boundary meters bill: electricity exchanged with
  every public-grid connection (import at its import price, grid fee
  included; export at its export price; CO2 of the import at the grid
  intensity) and the fuel assets buy (``Asset.fuel_rates``: gas at the
  boiler's price and CO2 factor) where a fuel meter reads in every interval;
  an unmetered fuel is left out of every figure alike (:attr:`Attribution.unmetered`).
  The demand charge (billed on a month's peak), wear, the CO2 price and
  penalties are not in it;
* **planned** cost/CO2: the plan's own figures, its dispatch priced at the
  forecast prices in its price columns;
* **re-solved**: the same figures of the plan re-solved on the actual inputs
  (perfect foresight) from the same initial state, whose price columns are the
  actual prices;
* **realised**: the metered grid exchange (``power_kw`` of the grid, positive
  import) priced at the actual prices and intensities, plus the metered fuel;
* **forecast error** = re-solved - planned;
* **execution error**: for every asset whose setpoints are commands
  (``Asset.follows_plan``; not the grid, which balances, nor weather-driven
  generators and loads), its metered power minus the plan's,
  ``dev_kwh[t] = (measured_kw[t] - planned_kw[t]) * dt_h``, priced at the
  carrier's actual marginal price at the site boundary. Electricity: an asset
  putting ``dev_kwh`` more into the bus saves that much import (or sells it),
  so its cost is ``-dev_kwh[t] * price[t]`` with the import price where the
  metered grid exchange imports and the export price where it exports; CO2
  ``-dev_kwh[t] * intensity[t]`` while importing, 0 while exporting (exports
  carry no CO2 credit in the model). A fuel costs ``+dev_kwh * price`` of the
  fuel bought. Heat, cooling and materials have no price at the boundary:
  their rows are not priced, their deviations reach the boundary through the
  converters that supply them (whose electricity or fuel meters count);
* **model error**, the remainder = (realised - planned) - forecast - execution.
  It holds what the model's account of the plant misses (losses, efficiencies
  and meters the model does not know) and the difference between following
  the plan and the re-solve's own dispatch on the actual inputs (the forecast
  error credits the re-solve's best dispatch; the plant ran the plan's).

The four parts add up to ``realised - planned`` for cost and for CO2 by
construction. An asset's meter is its ``power_kw`` reading: its net power
into the electricity bus where it touches electricity, otherwise into its
(first) energy carrier; a fuel meter is the reading named like the asset's
``boundary_column`` (``fuel_kw``). Readings are averaged per interval
(:func:`energyopt.outputs.day_tables.interval_means`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from energyopt.assets.base import CARRIERS, Asset, flow_unit
from energyopt.assets.declarations import FuelRates
from energyopt.inputs.timeseries import index_step
from energyopt.outputs.results import (
    CO2_COLUMN,
    PRICE_EXPORT_COLUMN,
    PRICE_IMPORT_COLUMN,
    carriers_in,
    grid_co2_kg,
    grid_energy_cost_eur,
)

#: the meter reading of an asset's power into the plant [kW]
POWER_READING = "power_kw"
#: a meter's role: a grid connection balances the plant, a fuel is bought at the
#: boundary, an asset runs on the bus
GRID, FUEL, BUS = "balancing", "fuel", "bus"


@dataclasses.dataclass(frozen=True)
class Meter:
    """One metered flow of an asset and the plan column it is compared with."""

    asset: str
    carrier: str
    quantity: str
    column: str
    role: str
    follows_plan: bool
    fuel: FuelRates | None = None

    @property
    def key(self) -> str:
        """Column of the measured table, ``<asset>.<quantity>``."""
        return f"{self.asset}.{self.quantity}"

    @property
    def priced(self) -> bool:
        """True where deviations have a price at the site boundary."""
        return self.role == FUEL or self.carrier == "electricity"

    @property
    def needed(self) -> bool:
        """True if the report cannot be made without this meter in every interval."""
        return self.role == GRID or (self.role == BUS and self.follows_plan and self.priced)


def bus_carrier(asset: str, columns: Sequence[str]) -> str | None:
    """The carrier an asset's ``power_kw`` meter reads: electricity if it has it,
    else its first energy carrier; None for an asset without energy flows."""
    own = pd.DataFrame(columns=[c for c in columns if c.startswith(f"{asset}.net_")])
    energy = [c for c in carriers_in(own) if c in CARRIERS]
    if not energy:
        return None
    return "electricity" if "electricity" in energy else energy[0]


def plant_meters(assets: Mapping[str, Asset], columns: Sequence[str], tariffs: Any) -> list[Meter]:
    """Every meter plan versus actual reads, in the plant's asset order."""
    found = []
    for name, asset in assets.items():
        carrier = bus_carrier(name, columns)
        is_grid = asset.import_column is not None
        if carrier is not None:
            column = f"{name}.net_{carrier}_{flow_unit(carrier)}"
            role = GRID if is_grid else BUS
            found.append(Meter(name, carrier, POWER_READING, column, role, asset.follows_plan()))
        rates = asset.fuel_rates(tariffs)
        if rates is not None and asset.boundary_column is not None:
            column = f"{name}.{asset.boundary_column}"
            found.append(
                Meter(
                    name,
                    rates.carrier,
                    asset.boundary_column,
                    column,
                    FUEL,
                    asset.follows_plan(),
                    rates,
                )
            )
    return found


def intervals_read(measured: pd.DataFrame, meter: Meter) -> int:
    """Intervals with a reading of ``meter``."""
    return int(measured[meter.key].notna().sum()) if meter.key in measured else 0


def missing_readings(measured: pd.DataFrame, meters: Iterable[Meter]) -> list[str]:
    """What is missing for a report, one text per meter (empty: complete).

    Needed in every interval: each grid connection's ``power_kw`` and that of
    every asset that follows the plan on electricity. A fuel meter is optional,
    but one that reads in some intervals only is missing the others.
    """
    n = len(measured.index)
    problems = []
    for meter in meters:
        read = intervals_read(measured, meter)
        if read == n or (read == 0 and not meter.needed):
            continue
        if read == 0:
            problems.append(f"{meter.key}: no readings")
            continue
        gaps = measured.index[measured[meter.key].isna().to_numpy()]
        first = gaps[0].strftime("%Y-%m-%d %H:%M")
        problems.append(
            f"{meter.key}: {n - read} of {n} intervals without a reading (first {first} UTC)"
        )
    return problems


@dataclasses.dataclass(frozen=True)
class Split:
    """One figure (cost [EUR] or CO2 [kg]) planned, realised and the deviation's parts."""

    planned: float
    realised: float
    forecast: float
    execution: float

    @property
    def total(self) -> float:
        """Realised minus planned."""
        return self.realised - self.planned

    @property
    def model(self) -> float:
        """The remainder: total - forecast - execution."""
        return self.total - self.forecast - self.execution

    def as_dict(self) -> dict[str, float]:
        """Planned, realised, total deviation and its three parts."""
        return {
            "planned": self.planned,
            "realised": self.realised,
            "total_deviation": self.total,
            "forecast_error": self.forecast,
            "execution_error": self.execution,
            "model_error": self.model,
        }


@dataclasses.dataclass(frozen=True)
class MeterRow:
    """One asset and carrier of the report [kWh, EUR, kg]; None where not measured or priced.

    Energies are positive into the plant (a fuel: bought); ``deviation_kwh`` is
    measured minus planned.
    """

    asset: str
    carrier: str
    quantity: str
    role: str
    follows_plan: bool
    planned_kwh: float
    measured_kwh: float | None
    deviation_kwh: float | None
    execution_cost_eur: float | None
    execution_co2_kg: float | None
    intervals_measured: int
    intervals_total: int


@dataclasses.dataclass(frozen=True)
class Attribution:
    """The split of one day's deviation, its rows and the fuels left out unmetered."""

    cost_eur: Split
    co2_kg: Split
    rows: tuple[MeterRow, ...]
    unmetered: tuple[str, ...] = ()


def boundary_figures(
    frame: pd.DataFrame, grids: Sequence[str], fuels: Sequence[Meter], dt_h: float
) -> tuple[float, float]:
    """Cost [EUR] and CO2 [kg] at the site boundary of a dispatch-like table.

    ``grids`` name grid connections with their ``import_kw``/``export_kw`` and
    price columns in ``frame``; each fuel is ``frame[meter.column]`` [kW] at its rates.
    """
    cost = co2 = 0.0
    for grid in grids:
        energy, emitted = grid_energy_cost_eur(frame, grid, dt_h), grid_co2_kg(frame, grid, dt_h)
        cost += 0.0 if energy is None else float(energy.sum())
        co2 += 0.0 if emitted is None else float(emitted.sum())
    for meter in fuels:
        assert meter.fuel is not None
        fuel_kwh = float(frame[meter.column].sum()) * dt_h
        cost += fuel_kwh * meter.fuel.price_eur_per_kwh
        co2 += fuel_kwh * meter.fuel.co2_kg_per_kwh
    return cost, co2


def metered_table(
    measured: pd.DataFrame, actual: pd.DataFrame, meters: Sequence[Meter]
) -> pd.DataFrame:
    """The meters as a dispatch-like table on the actual prices: grid exchange split
    into ``import_kw``/``export_kw``, fuels under their plan columns."""
    columns: dict[str, Any] = {}
    for meter in meters:
        value = measured[meter.key].to_numpy(dtype=float)
        if meter.role == FUEL:
            columns[meter.column] = value
        elif meter.role == GRID:
            grid = meter.asset
            columns[f"{grid}.import_kw"] = np.maximum(value, 0.0)
            columns[f"{grid}.export_kw"] = np.maximum(-value, 0.0)
            for rate in (PRICE_IMPORT_COLUMN, PRICE_EXPORT_COLUMN, CO2_COLUMN):
                if f"{grid}.{rate}" in actual:
                    columns[f"{grid}.{rate}"] = actual[f"{grid}.{rate}"].to_numpy(dtype=float)
    return pd.DataFrame(columns, index=measured.index)


def marginal_electricity(
    measured: pd.DataFrame, actual: pd.DataFrame, grids: Sequence[Meter]
) -> tuple[np.ndarray, np.ndarray]:
    """Actual marginal price [EUR/kWh] and CO2 [kg/kWh] of electricity at the boundary.

    The first grid connection's import price and intensity where the metered
    exchange of all connections imports (or is zero), its export price and no
    CO2 where it exports; zeros for a plant without a grid connection.
    """
    if not grids:
        return np.zeros(len(measured.index)), np.zeros(len(measured.index))
    first = grids[0].asset
    exchange = np.sum([measured[g.key].to_numpy(dtype=float) for g in grids], axis=0)
    importing = exchange >= 0.0
    price_in, price_out, co2 = (
        actual[f"{first}.{rate}"].to_numpy(dtype=float)
        for rate in (PRICE_IMPORT_COLUMN, PRICE_EXPORT_COLUMN, CO2_COLUMN)
    )
    return np.where(importing, price_in, price_out), np.where(importing, co2, 0.0)


def meter_row(
    meter: Meter,
    planned: pd.DataFrame,
    measured: pd.DataFrame,
    marginal: tuple[np.ndarray, np.ndarray],
) -> MeterRow:
    """The row of one meter: energies over the day, its execution cost and CO2."""
    index = planned.index
    dt_h = index_step(index) / pd.Timedelta("1h")
    plan_kw = (
        planned[meter.column].to_numpy(dtype=float)
        if meter.column in planned
        else np.zeros(len(index))
    )
    read = intervals_read(measured, meter)
    measured_kwh = deviation_kwh = cost = co2 = None
    if read == len(index):
        deviation = (measured[meter.key].to_numpy(dtype=float) - plan_kw) * dt_h
        measured_kwh = float(measured[meter.key].sum() * dt_h)
        deviation_kwh = float(deviation.sum())
        if meter.follows_plan and meter.priced:
            if meter.role == FUEL:
                assert meter.fuel is not None
                cost = deviation_kwh * meter.fuel.price_eur_per_kwh
                co2 = deviation_kwh * meter.fuel.co2_kg_per_kwh
            else:  # more into the bus: less import or more export
                cost = float(-(deviation * marginal[0]).sum()) + 0.0  # no -0.0
                co2 = float(-(deviation * marginal[1]).sum()) + 0.0
    return MeterRow(
        asset=meter.asset,
        carrier=meter.carrier,
        quantity=meter.quantity,
        role=meter.role,
        follows_plan=meter.follows_plan,
        planned_kwh=float(plan_kw.sum() * dt_h),
        measured_kwh=measured_kwh,
        deviation_kwh=deviation_kwh,
        execution_cost_eur=cost,
        execution_co2_kg=co2,
        intervals_measured=read,
        intervals_total=len(index),
    )


def attribute(
    planned: pd.DataFrame,
    resolved: pd.DataFrame,
    measured: pd.DataFrame,
    meters: Sequence[Meter],
) -> Attribution:
    """Split the day's deviation of realised from planned cost and CO2 (module docstring).

    ``planned`` and ``resolved`` are dispatch tables of the day (the plan in
    force, the re-solve on actual inputs), ``measured`` the readings averaged
    per interval on the same index. Raises ``ValueError`` when a needed meter
    lacks readings (see :func:`missing_readings`).
    """
    problems = missing_readings(measured, meters)
    if problems:
        raise ValueError("; ".join(problems))
    n = len(planned.index)
    dt_h = index_step(planned.index) / pd.Timedelta("1h")
    grids = [m for m in meters if m.role == GRID]
    fuels = [m for m in meters if m.role == FUEL and intervals_read(measured, m) == n]
    unmetered = tuple(m.key for m in meters if m.role == FUEL and m not in fuels)
    names = [g.asset for g in grids]
    plan_cost, plan_co2 = boundary_figures(planned, names, fuels, dt_h)
    resolved_cost, resolved_co2 = boundary_figures(resolved, names, fuels, dt_h)
    metered = metered_table(measured, resolved, [*grids, *fuels])
    real_cost, real_co2 = boundary_figures(metered, names, fuels, dt_h)
    marginal = marginal_electricity(measured, resolved, grids)
    rows = tuple(meter_row(m, planned, measured, marginal) for m in meters)
    execution_cost = sum(r.execution_cost_eur or 0.0 for r in rows)
    execution_co2 = sum(r.execution_co2_kg or 0.0 for r in rows)
    return Attribution(
        cost_eur=Split(plan_cost, real_cost, resolved_cost - plan_cost, execution_cost),
        co2_kg=Split(plan_co2, real_co2, resolved_co2 - plan_co2, execution_co2),
        rows=rows,
        unmetered=unmetered,
    )
