"""Intraday re-planning: the rest of the delivery day and the horizon after it,
re-planned from the newest measured state (receding horizon).

A re-plan at ``now`` (:func:`replan_intraday`):

1. **takes over at the next interval boundary** (``now`` floored to the step,
   plus one step): the interval running at ``now`` keeps the setpoint the
   control system already follows (when no version covers it, the re-plan
   starts with it). The new version of that boundary's
   delivery day holds the version in force up to the boundary (its rows are
   copied) and the new plan from it on, so ``setpoints/current`` and the OPC UA
   and MQTT faces switch at the boundary;
2. **starts from the measured state**: the newest readings at or before
   ``now`` (not older than ``state_max_age_h``), taken as the state at the
   boundary; what no reading gives comes from the state the version in force
   planned for the boundary (its planning run keeps the planned state at
   every boundary of its delivery day, ``runs.handover``), and only
   then from the configured initial state. The version names which assets
   came from where (``state.measured``, ``state.planned``,
   ``state.configured_initial``);
3. **looks as far ahead as the plan in force** (to its window end, at least
   to the end of the day) and keeps that plan's end-of-window conditions
   (a store's lowest end level, :meth:`~energyopt.assets.base.Asset.end_conditions`):
   with the measured state equal to the plan and unchanged forecasts it is
   the same optimisation problem from a later instant, and gives the same
   plan within the solver's gap. Without the handover it plans ``horizon_h``
   ahead;
4. **holds the day-ahead position**: for each delivery day in the window the
   grid exchange of its *day-ahead version* (the newest version issued before
   the day began) is what was bought at the auction. The re-plan may deviate
   from it, at the imbalance price (``assets/grid.py``: shortfalls settle at
   the imbalance reference plus ``imbalance_spread_eur_per_mwh``, surpluses at
   the reference minus it; the reference is the site series
   ``imbalance_price_series`` or the day-ahead price). Days without a
   day-ahead version are free;
5. is published under its own instant (``issued_at = now``) as a run of mode
   ``intraday_plan``; the document's ``intraday`` part says where it takes
   over, which version it keeps and which versions gave the position.

Re-plans are requested through REST (``POST .../plan?intraday=true``), OPC UA
(``RequestReplan``), on the plant's cadence (``intraday_every_h``) and when a
measured state deviates from the plan in force by more than
``intraday_deviation_frac`` of its range (:func:`largest_deviation`, checked
by the scheduler).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from energyopt.assets import ASSET_TYPES
from energyopt.assets.declarations import STANDARD_PRESSURE_PA
from energyopt.inputs.config import Scenario
from energyopt.service import schedule
from energyopt.service.measurements import Reading, StateContext, quantities_for, state_spec
from energyopt.service.planning.calendar import day_bounds
from energyopt.service.planning.options import PlanningOptions
from energyopt.service.planning.run import (
    INTRADAY_MODE,
    DataPaths,
    PlanIssue,
    PlanningOutcome,
    run_issue,
)
from energyopt.service.store import PlantRecord, ScheduleRecord, Store
from energyopt.service.store import measurements as measurement_store
from energyopt.service.store import plants as plant_store
from energyopt.service.store import runs as run_store
from energyopt.service.store import schedules as schedule_store
from energyopt.service.store.db import utc_now

#: local delivery days a window can touch beyond the first (a horizon of up to 7 days)
MAX_POSITION_DAYS = 8


def takeover(now: pd.Timestamp, step: pd.Timedelta) -> pd.Timestamp:
    """The interval boundary an intraday re-plan at ``now`` takes over at (UTC)."""
    return pd.Timestamp(now).tz_convert("UTC").floor(step) + step


def replan_intraday(
    store: Store,
    plant_id: int,
    paths: DataPaths,
    *,
    now: dt.datetime | None = None,
    issued_at: dt.datetime | None = None,
) -> PlanningOutcome:
    """Re-plan a plant from its measured state as of ``now`` (see the module docstring).

    The planning instant is ``issued_at`` (default ``now``, to the second): a
    second request for the same instant returns the version already
    published. Failures are returned, not raised (the run is recorded as
    failed with the reason).
    """
    now_ts = pd.Timestamp(now or utc_now()).tz_convert("UTC").floor("s")
    instant = now_ts if issued_at is None else pd.Timestamp(issued_at).tz_convert("UTC")
    plant = plant_store.get_plant(store, plant_id=plant_id)
    issue = intraday_issue(store, plant, now_ts, instant)
    return run_issue(store, plant, paths, issue, now_ts)


def intraday_issue(
    store: Store, plant: PlantRecord, now: pd.Timestamp, instant: pd.Timestamp | None = None
) -> PlanIssue:
    """What an intraday re-plan at ``now`` plans: its day, take-over, kept rows, position."""
    options = PlanningOptions.of(plant)
    step = pd.Timedelta(options.step)
    running = now.floor(step)
    # the running interval keeps its version; when none covers it, the re-plan does
    start = takeover(now, step) if _covers(store, plant, running) else running
    day = start.tz_convert(plant.timezone).date()
    in_force = _latest(store, plant.id, day)
    kept, kept_version, planned, end = None, None, {}, None
    if in_force is not None and start > running:
        payload = in_force.payload_data()
        frame = schedule.to_frame(payload)
        kept, kept_version = frame[frame.index < start], in_force.version
        planned = planned_state(store, in_force, start)
        end = _window_end(payload, start, step) if planned else None
    positions, versions = day_ahead_positions(store, plant, day, start, end, options)
    return PlanIssue(
        day=day,
        instant=now if instant is None else instant,
        start=start,
        mode=INTRADAY_MODE,
        kept=kept,
        kept_version=kept_version,
        grid_position_kw=positions,
        position_versions=versions,
        planned_state=planned,
        end=end,
    )


def _window_end(payload: Mapping[str, Any], start: pd.Timestamp, step: pd.Timedelta):
    """The window end of the plan in force, if the re-plan can keep it (UTC)."""
    text = (payload.get("inputs") or {}).get("window_end")
    end = None if text is None else pd.Timestamp(text).tz_convert("UTC")
    return end if end is not None and end > start + step else None


def planned_state(
    store: Store, version: ScheduleRecord, at: pd.Timestamp
) -> dict[str, dict[str, Any]]:
    """The state per asset that ``version`` planned for instant ``at`` (a boundary).

    Read from the handover its planning run kept (``runs.handover``); empty
    when the run kept none for ``at`` (a version published by hand).
    """
    if version.run_id is None:
        return {}
    return run_store.handover_at(store, run_id=version.run_id, at=at.strftime(schedule.TIME_FORMAT))


def _covers(store: Store, plant: PlantRecord, at: pd.Timestamp) -> bool:
    """True when the newest version of ``at``'s local day has the interval starting at ``at``."""
    record = _latest(store, plant.id, at.tz_convert(plant.timezone).date())
    return record is not None and at in schedule.interval_starts(record.payload_data())


def _latest(store: Store, plant_id: int, day: dt.date) -> ScheduleRecord | None:
    ids = schedule_store.latest_version_ids(store, plant_id=plant_id, delivery_date=day)
    return None if ids is None else schedule_store.get_schedule_by_id(store, schedule_id=ids[0])


def day_ahead_positions(
    store: Store,
    plant: PlantRecord,
    day: dt.date,
    start: pd.Timestamp,
    end: pd.Timestamp | None,
    options: PlanningOptions,
) -> tuple[dict[str, pd.Series], dict[str, int]]:
    """Net import bought day-ahead per grid asset from ``start`` on [kW], and the
    day-ahead version of each delivery day it came from.

    The window of a re-plan reaches to ``end`` (default: ``horizon_h`` past
    ``start``); each local day in it contributes the grid rows of its day-ahead version
    (:func:`~energyopt.service.store.schedules.version_issued_before` the day's
    start), if it has one.
    """
    end = end if end is not None else start + pd.Timedelta(hours=options.horizon_h)
    parts: dict[str, list[pd.Series]] = {}
    versions: dict[str, int] = {}
    for offset in range(MAX_POSITION_DAYS):
        current = day + dt.timedelta(days=offset)
        day_start = day_bounds(current, plant.timezone)[0]
        if day_start >= end:
            break
        record = schedule_store.version_issued_before(
            store, plant_id=plant.id, delivery_date=current, before=day_start.to_pydatetime()
        )
        if record is None:
            continue
        payload = record.payload_data()
        for name, position in grid_exchange_kw(payload).items():
            parts.setdefault(name, []).append(position[position.index >= start])
        versions[current.isoformat()] = record.version
    return {name: pd.concat(series) for name, series in parts.items()}, versions


def grid_exchange_kw(payload: Mapping[str, Any]) -> dict[str, pd.Series]:
    """Planned net import (import - export) of each public-grid connection of a
    schedule document [kW] (the kinds that declare ``import_column``)."""
    frame = schedule.to_frame(payload)
    found = {}
    for name, kind in payload["assets"].items():
        cls = ASSET_TYPES.get(kind)
        if cls is None or cls.import_column is None or cls.export_column is None:
            continue
        imports = frame.get(f"{name}.{cls.import_column}")
        exports = frame.get(f"{name}.{cls.export_column}")
        if imports is not None and exports is not None:
            found[name] = imports - exports
    return found


# ----------------------------------------------------------------- deviation trigger


@dataclasses.dataclass(frozen=True)
class Deviation:
    """A measured state against the plan in force at the reading's time.

    ``share`` is the difference as a share of the quantity's range (mapped to
    state units: ``soc_frac`` 0-1 is ``level_kwh`` 0 to capacity).
    """

    asset: str
    quantity: str
    state_key: str
    measured: float
    planned: float
    share: float
    measured_at: dt.datetime


def largest_deviation(
    scenario: Scenario,
    payload: Mapping[str, Any],
    readings: Iterable[Reading],
    context: StateContext,
) -> Deviation | None:
    """The reading whose state deviates most from the plan ``payload`` (None if none compares).

    A reading compares when its quantity becomes a numeric state entry
    ``<key>`` and the plan has the column ``<asset>.<key>`` (a level at the
    end of each interval), and the reading lies within the plan's day. The
    planned value at the reading's time is interpolated between interval ends.
    """
    frame = schedule.to_frame(payload)
    if not len(frame):
        return None
    assets = {a.name: a for a in scenario.plant.assets}
    found: Deviation | None = None
    for reading in readings:
        found_spec = state_spec(assets, reading)
        if found_spec is None:
            continue
        params, to_state = found_spec
        at = pd.Timestamp(reading.measured_at).tz_convert("UTC")
        low, high = quantities_for(params.type)[reading.quantity].bounds(params)
        measured = to_state(params, reading.value, at, context)
        lows = to_state(params, low, at, context)
        highs = to_state(params, high, at, context)
        for key, value in measured.items():
            planned = planned_level(frame, f"{reading.asset}.{key}", at)
            span = _span(lows.get(key), highs.get(key))
            if planned is None or span is None or not isinstance(value, int | float):
                continue
            share = abs(float(value) - planned) / span
            if found is None or share > found.share:
                found = Deviation(
                    reading.asset,
                    reading.quantity,
                    key,
                    float(value),
                    planned,
                    share,
                    reading.measured_at,
                )
    return found


def _span(low: Any, high: Any) -> float | None:
    if not isinstance(low, int | float) or not isinstance(high, int | float):
        return None
    span = abs(float(high) - float(low))
    return span if span > 0 and np.isfinite(span) else None


def planned_level(frame: pd.DataFrame, column: str, at: pd.Timestamp) -> float | None:
    """A planned end-of-interval level at instant ``at``, linear within an interval.

    None when the plan has no such column or ``at`` lies outside its intervals
    (before the first interval's end the first value is used).
    """
    if column not in frame:
        return None
    index = pd.DatetimeIndex(frame.index).as_unit("ns")
    step = index[1] - index[0] if len(index) > 1 else None
    if step is None or at < index[0] or at >= index[-1] + step:
        return None
    levels = frame[column].to_numpy(dtype=float)
    ends = (index + step).asi8
    position = int(np.searchsorted(ends, pd.Timestamp(at).as_unit("ns").value, side="left"))
    if position == 0:
        return float(levels[0])
    before, after = ends[position - 1], ends[position]
    share = (pd.Timestamp(at).as_unit("ns").value - before) / (after - before)
    return float(levels[position - 1] + share * (levels[position] - levels[position - 1]))


def deviation_due(
    store: Store, plant: PlantRecord, scenario: Scenario, now: pd.Timestamp
) -> Deviation | None:
    """The measured state that calls for a re-plan at ``now``, or None.

    Readings newer than the version in force (issued after it) and not older
    than ``state_max_age_h`` are compared with that version's plan
    (:func:`largest_deviation`); one whose share of its range exceeds the
    plant's ``intraday_deviation_frac`` is returned. Each reading triggers at
    most one re-plan: the re-plan's version is issued after it.
    """
    options = PlanningOptions.of(plant)
    if options.intraday_deviation_frac is None:
        return None
    day = pd.Timestamp(now).tz_convert(plant.timezone).date()
    in_force = _latest(store, plant.id, day)
    if in_force is None:
        return None
    issued = pd.Timestamp(in_force.issued_at or in_force.created_at).tz_convert("UTC")
    max_age = pd.Timedelta(hours=options.state_max_age_h)
    records = measurement_store.latest_measurements(
        store, plant_id=plant.id, at=now.to_pydatetime()
    )
    fresh = [
        Reading(r.asset, r.quantity, r.value, r.measured_at)
        for r in records
        if pd.Timestamp(r.measured_at) > issued and now - pd.Timestamp(r.measured_at) <= max_age
    ]
    if not fresh:
        return None
    context = StateContext(timezone=plant.timezone, pressure_pa=STANDARD_PRESSURE_PA)
    found = largest_deviation(scenario, in_force.payload_data(), fresh, context)
    return found if found is not None and found.share > options.intraday_deviation_frac else None
