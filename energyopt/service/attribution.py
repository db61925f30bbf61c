"""Plan versus actual for a past delivery day of a registered plant.

The figures and their definitions are in :mod:`energyopt.outputs.attribution`;
this module gathers what they need (:func:`day_attribution`):

1. the local day must be over; otherwise a :class:`ConflictError` (409) says
   when it ends;
2. every schedule version of the day (none: :class:`NotFoundError`). In each
   interval the newest version issued at or before its start is in force
   (``issued_at``; a version stored without one counts from ``created_at``),
   so intraday re-plans take over from their issue on; an interval without a
   version in force is a :class:`ConflictError` naming it;
3. the day's meter readings (``power_kw``, fuel meters such as ``fuel_kw``),
   averaged per interval; a needed meter (the grid connections, the assets
   that follow the plan on electricity) without a reading in every interval is
   a :class:`ConflictError` naming each meter, how many intervals it lacks and
   the first one;
4. every version in force is re-solved once: its own planning window (as
   stored in the version) on the actual inputs of the scenario's series files
   with perfect foresight, from the initial state it was planned from
   (``state.measured`` of the version; configured values for the rest), with
   the plant's planning options otherwise, under the process-wide solve lock.
   The window is cut where the actual inputs end; they must reach the end of
   the day (a :class:`ConflictError` otherwise). The re-solve gives the day's
   intervals in which its version is in force, and the actual prices.

Reports are kept in memory, per store, plant (its scenario and options), day,
versions and readings (the last :data:`CACHE_SIZE`), so that reading a report
again does not solve again; a series file corrected afterwards is seen after a
restart of the service.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import json
import threading
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from energyopt.assets import create_asset
from energyopt.inputs.config import Scenario
from energyopt.inputs.timeseries import fmt_time, index_step
from energyopt.outputs.attribution import (
    POWER_READING,
    Attribution,
    Meter,
    MeterRow,
    attribute,
    missing_readings,
    plant_meters,
)
from energyopt.outputs.day_tables import PlanVersion, in_force, interval_means, stitch
from energyopt.service import schedule
from energyopt.service.planning.calendar import day_bounds
from energyopt.service.planning.inputs import window_inputs
from energyopt.service.planning.options import PlanningOptions
from energyopt.service.planning.run import DataPaths
from energyopt.service.planning.window import WindowPlan, plan_window
from energyopt.service.store import ConflictError, NotFoundError, PlantRecord, ScheduleRecord, Store
from energyopt.service.store import measurements as measurement_store
from energyopt.service.store import plants as plant_store
from energyopt.service.store import scenarios as scenario_store
from energyopt.service.store import schedules as schedule_store
from energyopt.service.store.db import utc_now
from energyopt.service.store.documents import validate_document

#: reports kept in memory
CACHE_SIZE = 32
SCOPE = (
    "cost and CO2 at the site boundary: grid energy (import at the import price with the "
    "grid fee, export at the export price; CO2 of the import) and metered fuel; not the "
    "demand charge, wear, the CO2 price or penalties"
)


@dataclasses.dataclass(frozen=True)
class VersionUse:
    """A version in force on the day: in how many intervals, and how its re-solve went."""

    version: int
    issued_at: str
    intervals_in_force: int
    resolve_status: str
    resolve_window_start: str
    resolve_window_end: str


@dataclasses.dataclass(frozen=True)
class DayAttribution:
    """The plan-versus-actual report of one plant and local day."""

    plant: PlantRecord
    delivery_date: dt.date
    step_s: int
    start: pd.Timestamp
    end: pd.Timestamp
    versions: tuple[VersionUse, ...]
    split: Attribution
    computed_at: dt.datetime

    def as_dict(self) -> dict[str, Any]:
        """JSON-able document (``api.schemas.AttributionOut``)."""
        return {
            "plant_id": self.plant.id,
            "plant": self.plant.name,
            "timezone": self.plant.timezone,
            "delivery_date": self.delivery_date.isoformat(),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "step_s": self.step_s,
            "computed_at": self.computed_at.isoformat(),
            "scope": SCOPE,
            "versions": [dataclasses.asdict(v) for v in self.versions],
            "cost_eur": self.split.cost_eur.as_dict(),
            "co2_kg": self.split.co2_kg.as_dict(),
            "rows": [dataclasses.asdict(r) for r in self.split.rows],
            "unmetered_fuels": list(self.split.unmetered),
        }

    def rows_csv(self) -> str:
        """The rows as CSV, one line per asset and carrier (energies [kWh], EUR, kg)."""
        rows = [dataclasses.asdict(r) for r in self.split.rows]
        names = [f.name for f in dataclasses.fields(MeterRow)]
        return pd.DataFrame(rows, columns=names).to_csv(index=False, lineterminator="\n")


_CACHE: collections.OrderedDict[tuple, DayAttribution] = collections.OrderedDict()
_CACHE_LOCK = threading.Lock()


def day_attribution(
    store: Store,
    plant_id: int,
    delivery_date: dt.date,
    paths: DataPaths,
    *,
    now: dt.datetime | None = None,
) -> DayAttribution:
    """The plan-versus-actual report of a past local day (see the module docstring).

    Raises :class:`NotFoundError` for an unknown plant or a day without a
    schedule, :class:`ConflictError` for a day not over yet, without enough
    readings or without actual inputs to its end.
    """
    plant = plant_store.get_plant(store, plant_id=plant_id)
    start, end = day_bounds(delivery_date, plant.timezone)
    now_ts = pd.Timestamp(now or utc_now()).tz_convert("UTC")
    if now_ts < end:
        msg = (
            f"plant {plant.id}: {delivery_date} is not over yet (it ends at {fmt_time(end)}); "
            "plan versus actual needs a past day"
        )
        raise ConflictError(msg)
    day = _day_plan(store, plant, delivery_date)
    scenario = _scenario(store, plant, paths)
    assets = {a.name: create_asset(a) for a in scenario.plant.assets}
    meters = plant_meters(assets, list(day.planned.columns), scenario.tariffs)
    measured, read = _measured_day(store, plant, meters, day.index)
    missing = missing_readings(measured, meters)
    if missing:
        msg = f"plant {plant.id}: {delivery_date} lacks meter readings: " + "; ".join(missing)
        raise ConflictError(msg)
    key = _cache_key(store, plant, delivery_date, day.record_ids, read)
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    resolved, uses = _resolve_versions(scenario, PlanningOptions.of(plant), day, end)
    report = DayAttribution(
        plant=plant,
        delivery_date=delivery_date,
        step_s=int(index_step(day.index).total_seconds()),
        start=start,
        end=end,
        versions=uses,
        split=attribute(day.planned, resolved, measured, meters),
        computed_at=utc_now(),
    )
    with _CACHE_LOCK:
        _CACHE[key] = report
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return report


def _cache_key(store: Store, plant: PlantRecord, day: dt.date, *parts: Any) -> tuple:
    """What a report depends on: store, plant, its scenario and options, the day, ``parts``."""
    options = json.dumps(plant.options, sort_keys=True)
    return (store.url, store.schema, plant.id, plant.scenario_id, options, day, *parts)


@dataclasses.dataclass(frozen=True)
class _DayPlan:
    """A day's versions, the version in force per interval and the plan they make."""

    record_ids: tuple[int, ...]
    versions: tuple[PlanVersion, ...]
    payloads: dict[int, dict[str, Any]]
    index: pd.DatetimeIndex
    numbers: np.ndarray
    planned: pd.DataFrame


def _day_plan(store: Store, plant: PlantRecord, day: dt.date) -> _DayPlan:
    records = schedule_store.list_versions(store, plant_id=plant.id, delivery_date=day)
    if not records:
        raise NotFoundError(f"plant {plant.id} has no schedule for {day}")
    payloads = {r.version: json.loads(r.payload) for r in records}
    index = _day_index(plant, day, payloads.values())
    versions = tuple(_version(r, payloads[r.version]) for r in records)
    numbers = in_force(versions, index)
    _check_in_force(plant, numbers, index, versions)
    planned = stitch({v.version: v.dispatch for v in versions}, numbers, index)
    return _DayPlan(tuple(r.id for r in records), versions, payloads, index, numbers, planned)


def _measured_day(
    store: Store, plant: PlantRecord, meters: Sequence[Meter], index: pd.DatetimeIndex
) -> tuple[pd.DataFrame, tuple[int, int]]:
    """The day's readings averaged per interval, and (how many, the newest id)."""
    readings = measurement_store.readings_between(
        store,
        plant_id=plant.id,
        start=index[0].to_pydatetime(),
        end=(index[-1] + index_step(index)).to_pydatetime(),
        quantities={POWER_READING, *(m.quantity for m in meters)},
    )
    read = (len(readings), max((r.id for r in readings), default=0))
    return interval_means(_reading_table(readings), index), read


def _day_index(
    plant: PlantRecord, day: dt.date, payloads: Iterable[dict[str, Any]]
) -> pd.DatetimeIndex:
    """The day's intervals at the step of its versions (UTC)."""
    steps = sorted({int(p["step_s"]) for p in payloads})
    if len(steps) > 1:
        msg = f"plant {plant.id}: the versions of {day} have different steps ({steps} s)"
        raise ConflictError(msg)
    start, end = day_bounds(day, plant.timezone)
    step = pd.Timedelta(seconds=steps[0])
    return pd.date_range(start, end, freq=step, inclusive="left", name="time")


def _version(record: ScheduleRecord, payload: dict[str, Any]) -> PlanVersion:
    issued = record.issued_at or record.created_at
    return PlanVersion(
        record.version, pd.Timestamp(issued).tz_convert("UTC"), schedule.to_frame(payload)
    )


def _check_in_force(
    plant: PlantRecord,
    numbers: np.ndarray,
    index: pd.DatetimeIndex,
    versions: Sequence[PlanVersion],
) -> None:
    """ConflictError naming the first interval without a version in force."""
    if (numbers > 0).all():
        return
    first = index[numbers == 0][0]
    issued = min(v.issued_at for v in versions)
    msg = (
        f"plant {plant.id}: no schedule version was in force at {fmt_time(first)} "
        f"(the first was issued at {fmt_time(issued)})"
    )
    raise ConflictError(msg)


def _scenario(store: Store, plant: PlantRecord, paths: DataPaths) -> Scenario:
    record = scenario_store.get_scenario(store, scenario_id=plant.scenario_id)
    source = f"scenario {record.id}"
    return validate_document(
        record.document, roots=paths.roots, base_dir=paths.base_dir, source=source
    )


def _reading_table(readings: Sequence[measurement_store.MeasurementRecord]) -> pd.DataFrame:
    columns = ("asset", "quantity", "value", "measured_at")
    return pd.DataFrame([{c: getattr(r, c) for c in columns} for r in readings], columns=columns)


def planned_state(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The initial state a version was planned from (its measured sources)."""
    state: dict[str, dict[str, Any]] = {}
    for source in payload.get("state", {}).get("measured", []):
        state.setdefault(source["asset"], {}).update(source["state"])
    return state


def _resolve_versions(
    scenario: Scenario, options: PlanningOptions, day: _DayPlan, day_end: pd.Timestamp
) -> tuple[pd.DataFrame, tuple[VersionUse, ...]]:
    """Each version in force re-solved on the actual inputs, stitched like the plan."""
    frames, uses = {}, []
    for version in day.versions:
        intervals = int((day.numbers == version.version).sum())
        if not intervals:
            continue
        plan, window = resolve_version(scenario, options, day.payloads[version.version], day_end)
        frames[version.version] = plan.dispatch
        uses.append(
            VersionUse(
                version=version.version,
                issued_at=version.issued_at.isoformat(),
                intervals_in_force=intervals,
                resolve_status=plan.status,
                resolve_window_start=window[0].isoformat(),
                resolve_window_end=(window[-1] + index_step(window)).isoformat(),
            )
        )
    return stitch(frames, day.numbers, day.index), tuple(uses)


def resolve_version(
    scenario: Scenario, options: PlanningOptions, payload: dict[str, Any], day_end: pd.Timestamp
) -> tuple[WindowPlan, pd.DatetimeIndex]:
    """A version's window re-solved on the actual inputs with perfect foresight.

    The window is cut where the actual inputs end; :class:`ConflictError` when
    they end before ``day_end``. Returns the plan and the window solved.
    """
    inputs = payload["inputs"]
    step = pd.Timedelta(seconds=payload["step_s"])
    window = pd.date_range(
        pd.Timestamp(inputs["window_start"]),
        pd.Timestamp(inputs["window_end"]),
        freq=step,
        inclusive="left",
        name="time",
    )
    perfect = options.model_copy(update={"forecast": "perfect"})
    # the plan's history: replayed inputs are shifted onto the window as for the plan
    history = options.forecast_options().history(pd.Timedelta(hours=options.horizon_h))
    frame, _ = window_inputs(scenario, perfect, window, history)
    reach = frame.index[-1] + step
    if reach < day_end:
        msg = (
            f"the actual inputs end at {fmt_time(reach)}, before the day ends at "
            f"{fmt_time(day_end)}; the re-solve on actual inputs needs them to its end"
        )
        raise ConflictError(msg)
    solved = window[window < reach]
    issued = pd.Timestamp(payload["planned_at"]).tz_convert("UTC")
    state = planned_state(payload)
    plan = plan_window(scenario, perfect, frame, solved, issued, state, with_baseline=False)
    return plan, solved
