"""Measurements a plant's control system reports, checked against the plant and
turned into the initial state of the next plan.

Each asset kind declares the quantities it accepts (``quantities`` on the
asset class, units in the names; the table below lists them); every kind also
accepts the meter readings ``power_kw`` (the asset's net power into the
plant's electricity bus where it touches electricity, otherwise into its
carrier; the grid's is its exchange, positive import) and
``energy_meter_kwh``, which are not used as state. Plan versus actual
(:mod:`energyopt.service.attribution`) averages ``power_kw`` per interval:

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
gas_boiler        ``fuel_kw`` [kW], gas       (none: plan versus actual prices it)
                  bought
================  ==========================  ===========================================

A reading is rejected (:class:`MeasurementError`, naming the field path such
as ``measurements[2].value``) when its asset is unknown, its quantity does not
exist for the asset's kind, its value lies outside the quantity's range for
that asset, or its time stamp is stale (older than the plant's
``measurement_max_age_h``) or in the future (beyond :data:`FUTURE_TOLERANCE`).
Every face a control system reports through (REST, OPC UA, MQTT) stores its
readings with :func:`record_readings`: the checks above against the plant's
stored scenario, then one transaction (all or none; a reading sent again with
the same value is stored once, with another value it is a ``ConflictError``).
JSON messages (MQTT) are read into readings by :func:`readings_from_message`.

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
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from energyopt.assets import ASSET_TYPES
from energyopt.assets.declarations import QuantitySpec, StateContext, ToState, fixed_bounds
from energyopt.errors import MeasurementError
from energyopt.inputs.config import Scenario

if TYPE_CHECKING:
    from energyopt.service.store import MeasurementRecord, PlantRecord, Store

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
        "metered power, positive into the plant bus (electricity, else the asset's carrier) [kW]",
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


def record_readings(
    store: Store,
    plant: PlantRecord,
    readings: Sequence[Reading],
    *,
    roots: Sequence[Path],
    base_dir: Path,
    now: dt.datetime | None = None,
    prefix: str = "measurements",
) -> list[MeasurementRecord]:
    """Check ``readings`` against the plant's scenario and store them (all or none).

    ``now`` (default: the current time, UTC) is the reference of the
    freshness check, the plant's ``measurement_max_age_h``. Raises
    :class:`MeasurementError` naming the field (``<prefix>[i].value``) or the
    store's ``ConflictError`` for a reading stored before with another value;
    nothing is stored then.
    """
    # imported here: the planning package reads measurements into its state
    from energyopt.service.planning.options import PlanningOptions
    from energyopt.service.store import measurements as measurement_store
    from energyopt.service.store import scenarios as scenario_store
    from energyopt.service.store.documents import validate_document

    record = scenario_store.get_scenario(store, scenario_id=plant.scenario_id)
    scenario = validate_document(record.document, roots=tuple(roots), base_dir=base_dir)
    max_age = dt.timedelta(hours=PlanningOptions.of(plant).measurement_max_age_h)
    now = now or dt.datetime.now(dt.UTC)
    check_readings(scenario, readings, now=now, max_age=max_age, prefix=prefix)
    items = [
        measurement_store.Measurement(
            r.asset, r.quantity, float(r.value), r.measured_at.astimezone(dt.UTC)
        )
        for r in readings
    ]
    return measurement_store.add_measurements(store, plant_id=plant.id, items=items)


def readings_from_message(data: Any, prefix: str = "measurements") -> list[Reading]:
    """Readings of a JSON message ``{"measurements": [{asset, quantity, value, measured_at}]}``.

    ``value`` must be a JSON number (not text or a boolean), ``measured_at``
    an ISO 8601 time with zone. Raises :class:`MeasurementError` naming the
    first bad field.
    """
    items = data.get(prefix) if isinstance(data, Mapping) else None
    if not isinstance(items, list) or not items:
        msg = f"{prefix}: a non-empty list of measurements is needed"
        raise MeasurementError(msg, field=prefix)
    return [_reading_of(item, f"{prefix}[{i}]") for i, item in enumerate(items)]


def _reading_of(item: Any, path: str) -> Reading:
    if not isinstance(item, Mapping):
        raise MeasurementError(f"{path}: an object is needed", field=path)
    extra = sorted(set(item) - {"asset", "quantity", "value", "measured_at"})
    if extra:
        raise MeasurementError(f"{path}.{extra[0]}: unknown field", field=f"{path}.{extra[0]}")
    texts = {}
    for name in ("asset", "quantity", "measured_at"):
        text = item.get(name)
        if not isinstance(text, str) or not text:
            msg = f"{path}.{name}: a non-empty string is needed"
            raise MeasurementError(msg, field=f"{path}.{name}")
        texts[name] = text
    value = item.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"{path}.value: a JSON number is needed (got {value!r})"
        raise MeasurementError(msg, field=f"{path}.value")
    try:
        stamp = dt.datetime.fromisoformat(texts["measured_at"])
    except ValueError:
        msg = f"{path}.measured_at: {texts['measured_at']!r} is not an ISO 8601 time"
        raise MeasurementError(msg, field=f"{path}.measured_at") from None
    return Reading(texts["asset"], texts["quantity"], float(value), stamp)


@dataclasses.dataclass(frozen=True)
class StateSource:
    """Where one asset's initial state came from (reported with each schedule)."""

    asset: str
    quantity: str
    value: float
    measured_at: str
    state: dict[str, Any]


def state_spec(assets: Mapping[str, Any], reading: Reading) -> tuple[Any, ToState] | None:
    """The asset parameters of a reading and how its value becomes state; None for a
    reading of an unknown asset or of a quantity without a state (meters)."""
    params = assets.get(reading.asset)
    spec = quantities_for(params.type).get(reading.quantity) if params else None
    if spec is None or spec.to_state is None:
        return None
    return params, spec.to_state


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
        found = state_spec(assets, reading)
        if found is None:
            continue
        params, to_state = found
        at = pd.Timestamp(reading.measured_at).tz_convert("UTC")
        entries = to_state(params, reading.value, at, context)
        state.setdefault(reading.asset, {}).update(entries)
        for key in entries:
            sources[(reading.asset, key)] = StateSource(
                reading.asset, reading.quantity, reading.value, at.isoformat(), entries
            )
    unique = {id(s): s for s in sources.values()}
    return state, list(unique.values())
