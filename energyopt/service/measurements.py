"""Measurements a plant's control system reports, checked against the plant and
turned into the initial state of the next plan.

Each asset kind declares the quantities it accepts (``quantities`` on the
asset class, units in the names; the table below lists them); every kind also
accepts the meter readings ``power_kw`` and ``energy_meter_kwh``,
which are stored for monitoring and not used as state:

================  ==========================  ===========================================
asset kind        quantity [unit]             becomes state
================  ==========================  ===========================================
battery,          ``soc_frac`` [0-1]          ``level_kwh = soc_frac * capacity_kwh``
thermal_storage   ``level_kwh`` [kWh]         ``level_kwh``
dry_room          ``dew_point_degc`` [degC]   ``moisture_kg`` = buffered air mass x humidity
                                              ratio at that dew point (psychrolib)
drying_oven       ``is_on`` [0/1],            ``is_on``, ``time_in_state_h``,
                  ``time_in_state_h`` [h],    ``area_done_m2:<local date of the reading>``
                  ``area_done_today_m2`` [m2]
formation         ``batches_running`` [-]     the latest released batches on the racks
grid              ``peak_import_month_kw``    ``peak_kw:<local month of the reading>``
                  [kW], month-to-date peak
================  ==========================  ===========================================

A reading is rejected (:class:`MeasurementError`, naming the field path such
as ``measurements[2].value``) when its asset is unknown, its quantity does not
exist for the asset's kind, its value lies outside the quantity's range for
that asset, or its time stamp is stale (older than the plant's
``measurement_max_age_h``) or in the future (beyond :data:`FUTURE_TOLERANCE`).

Moisture from dew point: the dry room stores ``storage_air_kg * w`` with ``w``
the humidity ratio of air whose dew (frost) point is the reading, at the
window's first forecast air pressure (``humidity_ratio_at_dew_point``, the
same psychrolib relation the asset uses for its band).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from energyopt.assets import ASSET_TYPES
from energyopt.assets.declarations import QuantitySpec, StateContext, fixed_bounds
from energyopt.errors import MeasurementError
from energyopt.inputs.config import Scenario

#: how far in the future a reading's time stamp may lie (clock skew) [s]
FUTURE_TOLERANCE = dt.timedelta(minutes=5)
#: generic bound on meter power readings [kW]
POWER_READING_LIMIT_KW = 1e7


@dataclasses.dataclass(frozen=True)
class Reading:
    """One reported value: ``value`` in the unit ``quantity`` names, at ``measured_at`` (UTC)."""

    asset: str
    quantity: str
    value: float
    measured_at: dt.datetime


_METERS = {
    "power_kw": QuantitySpec(
        fixed_bounds(-POWER_READING_LIMIT_KW, POWER_READING_LIMIT_KW),
        "metered power, positive into the plant bus [kW]",
    ),
    "energy_meter_kwh": QuantitySpec(fixed_bounds(0.0, math.inf), "cumulative meter reading [kWh]"),
}


def quantities_for(kind: str) -> dict[str, QuantitySpec]:
    """Quantities an asset of ``kind`` accepts (its own and the meter readings)."""
    declared = ASSET_TYPES[kind].quantities if kind in ASSET_TYPES else {}
    return {**declared, **_METERS}


def _fmt(value: float) -> str:
    return f"{value:g}"


def check_reading(
    reading: Reading,
    path: str,
    assets: Mapping[str, Any],
    now: dt.datetime,
    max_age: dt.timedelta,
) -> None:
    """Raise :class:`MeasurementError` naming ``path`` if ``reading`` is invalid."""
    params = assets.get(reading.asset)
    if params is None:
        known = ", ".join(sorted(assets))
        msg = f"{path}.asset: unknown asset {reading.asset!r} (the plant has {known})"
        raise MeasurementError(msg, field=f"{path}.asset")
    specs = quantities_for(params.type)
    spec = specs.get(reading.quantity)
    if spec is None:
        msg = (
            f"{path}.quantity: {reading.quantity!r} is not measured for asset {reading.asset!r} "
            f"of kind {params.type} (accepted: {', '.join(sorted(specs))})"
        )
        raise MeasurementError(msg, field=f"{path}.quantity")
    _check_value(reading, path, spec, spec.bounds(params))
    _check_time(reading, path, now, max_age)


def _check_value(
    reading: Reading, path: str, spec: QuantitySpec, bounds: tuple[float, float]
) -> None:
    low, high = bounds
    value = reading.value
    where = f"{path}.value"
    if not math.isfinite(value) or not low <= value <= high:
        msg = (
            f"{where}: {reading.quantity} {_fmt(value)} outside [{_fmt(low)}, {_fmt(high)}] "
            f"for asset {reading.asset!r}"
        )
        raise MeasurementError(msg, field=where)
    if spec.is_integer and value != round(value):
        msg = f"{where}: {reading.quantity} {_fmt(value)} must be a whole number"
        raise MeasurementError(msg, field=where)


def _check_time(reading: Reading, path: str, now: dt.datetime, max_age: dt.timedelta) -> None:
    where = f"{path}.measured_at"
    stamp = reading.measured_at
    if stamp.tzinfo is None or stamp.utcoffset() is None:
        msg = f"{where}: {stamp.isoformat()} has no time zone; add Z for UTC"
        raise MeasurementError(msg, field=where)
    if stamp > now + FUTURE_TOLERANCE:
        msg = f"{where}: {stamp.isoformat()} lies in the future (server time {now.isoformat()})"
        raise MeasurementError(msg, field=where)
    if now - stamp > max_age:
        hours = max_age.total_seconds() / 3600
        msg = f"{where}: {stamp.isoformat()} is stale (older than {hours:g} h)"
        raise MeasurementError(msg, field=where)


def check_readings(
    scenario: Scenario,
    readings: Sequence[Reading],
    *,
    now: dt.datetime,
    max_age: dt.timedelta,
    prefix: str = "measurements",
) -> None:
    """Check every reading against the plant of ``scenario``; the first bad one raises."""
    if not readings:
        raise MeasurementError(f"{prefix}: at least one measurement is needed", field=prefix)
    assets = {a.name: a for a in scenario.plant.assets}
    for i, reading in enumerate(readings):
        check_reading(reading, f"{prefix}[{i}]", assets, now, max_age)


@dataclasses.dataclass(frozen=True)
class StateSource:
    """Where one asset's initial state came from (reported with each schedule)."""

    asset: str
    quantity: str
    value: float
    measured_at: str
    state: dict[str, Any]


def state_from_readings(
    scenario: Scenario, readings: Iterable[Reading], context: StateContext
) -> tuple[dict[str, dict[str, Any]], list[StateSource]]:
    """Initial state per asset from the latest readings, and what each came from.

    Readings of quantities without a state mapping (meters) are
    skipped. When two readings map to the same state key (``soc_frac`` and
    ``level_kwh``), the newer one wins.
    """
    assets = {a.name: a for a in scenario.plant.assets}
    ordered = sorted(readings, key=lambda r: r.measured_at)
    state: dict[str, dict[str, Any]] = {}
    sources: dict[tuple[str, str], StateSource] = {}
    for reading in ordered:
        params = assets.get(reading.asset)
        spec = quantities_for(params.type).get(reading.quantity) if params else None
        if spec is None or spec.to_state is None:
            continue
        at = pd.Timestamp(reading.measured_at).tz_convert("UTC")
        entries = spec.to_state(params, reading.value, at, context)
        state.setdefault(reading.asset, {}).update(entries)
        for key in entries:
            sources[(reading.asset, key)] = StateSource(
                reading.asset, reading.quantity, reading.value, at.isoformat(), entries
            )
    unique = {id(s): s for s in sources.values()}
    return state, list(unique.values())
