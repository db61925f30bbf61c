"""What an asset kind declares about itself besides its model block.

Each asset class states, as class attributes, what the rest of the product
needs to know about its kind, so that no table elsewhere names asset kinds:

* ``setpoints``: the commands a control system receives, each a
  :data:`SetpointRule` on the asset's dispatch columns (control convention:
  see :mod:`energyopt.service.control.setpoints`);
* ``quantities``: what a control system may report for it, each a
  :class:`QuantitySpec` with its range and the state it sets;
* ``carries_state``: whether it hands state from one plan to the next (the
  schedule document lists such assets);
* ``baseline_rank``: its place among the converters of a carrier in the
  rule-based baseline (0 runs first);
* ``generation_kpi``: for generators, the prefix of their generation KPIs
  (``pv`` gives ``pv_generation_kwh`` and ``pv_self_consumption_frac``), read
  from ``generation_column``;
* ``import_column`` / ``export_column``: for connections to the public grid,
  the dispatch columns of power bought and sold (grid KPIs, the month's peak);
* ``setpoints_are_commands``: False where the setpoints are for monitoring or
  are limits (the grid balances, a generator follows the weather), so that
  plan versus actual does not count the asset's deviations as execution;
* ``fuel_rates(tariffs)``: for assets that buy a fuel at the site boundary
  (the flow in ``boundary_column``, metered as the quantity of that name),
  its :class:`FuelRates`.

This module holds the plain types and helpers those declarations are made
of; it imports neither Pyomo nor the service.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

#: a dispatch column of one asset over a schedule's intervals
Column = Sequence[float | None]
#: (the asset's columns without prefix, interval position) -> setpoint value
SetpointRule = Callable[[Mapping[str, Column], int], float | None]

#: decimals of setpoint powers [kW] and of fractions, kg/h and degC
KW_DECIMALS = 1
FINE_DECIMALS = 3
#: standard sea-level pressure, used when no forecast pressure is at hand [Pa]
STANDARD_PRESSURE_PA = 101_325.0


def _value(columns: Mapping[str, Column], name: str, i: int) -> float | None:
    column = columns.get(name)
    return None if column is None else column[i]


def _round(value: float | None, decimals: int) -> float | None:
    return None if value is None else round(float(value), decimals) + 0.0


def column_setpoint(name: str, decimals: int = KW_DECIMALS) -> SetpointRule:
    """The value of dispatch column ``name``, rounded to ``decimals``."""
    return lambda cols, i: _round(_value(cols, name, i), decimals)


def difference_setpoint(plus: str, minus: str) -> SetpointRule:
    """``plus - minus`` of two dispatch columns [kW] (e.g. discharge - charge)."""

    def rule(cols: Mapping[str, Column], i: int) -> float | None:
        a, b = _value(cols, plus, i), _value(cols, minus, i)
        return None if a is None or b is None else _round(a - b, KW_DECIMALS)

    return rule


def curtailment_limit_setpoint(
    power: str = "power_kw", curtailed: str = "curtailed_kw"
) -> SetpointRule:
    """The planned output as a cap where the plan curtails, else None (no limit) [kW]."""

    def rule(cols: Mapping[str, Column], i: int) -> float | None:
        cut = _value(cols, curtailed, i)
        if cut is None or cut <= 10 ** (-KW_DECIMALS):
            return None
        return _round(_value(cols, power, i), KW_DECIMALS)

    return rule


#: (asset params) -> (lowest, highest) accepted value
Bounds = Callable[[Any], tuple[float, float]]
#: (asset params, value, reading time, context) -> state entries
ToState = Callable[[Any, float, pd.Timestamp, "StateContext"], dict[str, Any]]


@dataclasses.dataclass(frozen=True)
class FuelRates:
    """What a fuel bought at the site boundary costs and emits, per kWh of fuel."""

    carrier: str
    price_eur_per_kwh: float
    co2_kg_per_kwh: float


@dataclasses.dataclass(frozen=True)
class StateContext:
    """What a mapping to state may need besides the reading."""

    timezone: str
    pressure_pa: float = STANDARD_PRESSURE_PA


@dataclasses.dataclass(frozen=True)
class QuantitySpec:
    """A quantity an asset kind reports: its range and how it becomes state."""

    bounds: Bounds
    description: str
    is_integer: bool = False
    to_state: ToState | None = None


def fixed_bounds(low: float, high: float) -> Bounds:
    """The same range for every asset of the kind."""
    return lambda _params: (low, high)


def key_state(key: str) -> ToState:
    """The reading becomes state entry ``key`` as it is."""
    return lambda _p, value, _at, _c: {key: float(value)}


def local_time(at: pd.Timestamp, timezone: str) -> pd.Timestamp:
    """A reading's time stamp in the site's time zone."""
    return pd.Timestamp(at).tz_convert(timezone)
