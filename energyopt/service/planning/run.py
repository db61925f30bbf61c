"""A planning run: plan the next delivery day of a registered plant, record the
run and publish the schedule version (see :mod:`energyopt.service.planning`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import pandas as pd

from energyopt.assets import ASSET_TYPES
from energyopt.errors import EnergyOptError
from energyopt.inputs.config import Scenario
from energyopt.service import schedule
from energyopt.service.measurements import (
    StateSource,
)
from energyopt.service.planning.calendar import day_bounds, plan_issue, window_index
from energyopt.service.planning.inputs import (
    initial_state,
    pressure_at,
    window_inputs,
)
from energyopt.service.planning.options import PlanningOptions
from energyopt.service.planning.window import (
    WindowPlan,
    comparison_kpis,
    plan_window,
)
from energyopt.service.store import PlantRecord, ScheduleRecord, Store
from energyopt.service.store import plants as plant_store
from energyopt.service.store import runs as run_store
from energyopt.service.store import scenarios as scenario_store
from energyopt.service.store import schedules as schedule_store
from energyopt.service.store.db import utc_now
from energyopt.service.store.documents import validate_document

logger = logging.getLogger(__name__)

RUN_MODE = "daily_plan"
#: runs of intraday re-plans (:mod:`energyopt.service.planning.intraday`)
INTRADAY_MODE = "intraday_plan"


@dataclasses.dataclass(frozen=True)
class PlanningOutcome:
    """What a planning run did: ``published``, ``already_published`` or ``failed``."""

    plant_id: int
    delivery_date: dt.date
    issued_at: pd.Timestamp
    status: str
    schedule: ScheduleRecord | None = None
    run_id: str | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for logs and health reports."""
        return {
            "plant_id": self.plant_id,
            "delivery_date": self.delivery_date.isoformat(),
            "issued_at": self.issued_at.isoformat(),
            "status": self.status,
            "version": None if self.schedule is None else self.schedule.version,
            "is_fallback": None if self.schedule is None else self.schedule.is_fallback,
            "is_incumbent": None if self.schedule is None else self.schedule.is_incumbent,
            "run_id": self.run_id,
            "error": self.error,
        }


@dataclasses.dataclass(frozen=True)
class DataPaths:
    """Where scenario documents may read files from (see ``energyopt.service.store.documents``)."""

    roots: tuple[Path, ...]
    base_dir: Path


@dataclasses.dataclass(frozen=True)
class PlanIssue:
    """What one planning run plans and publishes.

    ``day`` is the local delivery day, ``instant`` the planning instant (the
    publication key, ``issued_at``), ``start`` the first interval of the
    window (UTC). An intraday re-plan (``mode`` :data:`INTRADAY_MODE`) keeps
    the rows of the version in force before ``start`` (``kept``, from version
    ``kept_version``) and holds the grid position bought day-ahead
    (``grid_position_kw`` per grid asset, from the versions ``position_versions``
    by delivery day); its assets start from ``planned_state``, the state the
    version in force planned for ``start``, unless measured, and its window
    ends at ``end`` (that version's window end) when given. See
    :mod:`energyopt.service.planning.intraday`.
    """

    day: dt.date
    instant: pd.Timestamp
    start: pd.Timestamp
    mode: str = RUN_MODE
    kept: pd.DataFrame | None = None
    kept_version: int | None = None
    grid_position_kw: Mapping[str, pd.Series] = dataclasses.field(default_factory=dict)
    position_versions: Mapping[str, int] = dataclasses.field(default_factory=dict)
    planned_state: Mapping[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    end: pd.Timestamp | None = None

    @property
    def is_intraday(self) -> bool:
        """True for a re-plan during the delivery day."""
        return self.mode == INTRADAY_MODE

    def describe(self) -> dict[str, Any] | None:
        """The ``intraday`` part of the published document (None for a day-ahead plan)."""
        if not self.is_intraday:
            return None
        return {
            "takes_over_at": self.start.strftime(schedule.TIME_FORMAT),
            "keeps_version": self.kept_version,
            "position_versions": dict(self.position_versions),
        }


def plan_plant(
    store: Store,
    plant_id: int,
    paths: DataPaths,
    *,
    now: dt.datetime | None = None,
    issued_at: dt.datetime | None = None,
) -> PlanningOutcome:
    """Plan and publish the next delivery day of a plant (see the module docstring).

    ``issued_at`` overrides the planning instant (a manual re-plan publishes
    a new version under its own instant). Failures are returned, not raised:
    the run is recorded as failed with a one-line reason.
    """
    now_ts = pd.Timestamp(now or utc_now()).tz_convert("UTC")
    plant = plant_store.get_plant(store, plant_id=plant_id)
    instant, day = plan_issue(plant.planning_time, plant.timezone, now_ts, issued_at)
    start = now_ts.floor(pd.Timedelta(PlanningOptions.of(plant).step))
    return run_issue(store, plant, paths, PlanIssue(day, instant, start), now_ts)


def run_issue(
    store: Store, plant: PlantRecord, paths: DataPaths, issue: PlanIssue, now: pd.Timestamp
) -> PlanningOutcome:
    """Record a run for ``issue``, plan it as of ``now`` and publish the version.

    A planning instant published before returns that version. Failures are
    returned, not raised: the run is recorded as failed with a one-line reason.
    """
    day, instant = issue.day, issue.instant
    done = schedule_store.find_issue(
        store, plant_id=plant.id, delivery_date=day, issued_at=instant.to_pydatetime()
    )
    if done is not None:
        return PlanningOutcome(plant.id, day, instant, "already_published", done, done.run_id)
    record = scenario_store.get_scenario(store, scenario_id=plant.scenario_id)
    options = PlanningOptions.of(plant)
    run = run_store.create_run(
        store,
        document=record.document,
        scenario_id=record.id,
        scenario_name=record.name,
        mode=issue.mode,
        period_start=day,
        days=1,
        step=options.step,
        options={"plant_id": plant.id, "issued_at": instant.isoformat(), **options.model_dump()},
    )
    run_store.claim_run(store, run_id=run.id, windows_total=1)
    try:
        source = f"scenario {record.id}"
        scenario = validate_document(
            record.document, roots=paths.roots, base_dir=paths.base_dir, source=source
        )
        schedule = _plan_and_publish(store, plant, scenario, options, issue, now, run.id)
    except EnergyOptError as exc:
        error = f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # a planning bug must not kill the scheduler
        logger.error("plant %d: planning failed\n%s", plant.id, traceback.format_exc())
        error = f"internal error: {type(exc).__name__}: {exc}"
    else:
        status = "published" if schedule.run_id == run.id else "already_published"
        return PlanningOutcome(plant.id, day, instant, status, schedule, run.id)
    logger.warning("plant %d: planning for %s failed: %s", plant.id, day, error)
    run_store.fail_run(store, run_id=run.id, error=error)
    return PlanningOutcome(plant.id, day, instant, "failed", None, run.id, error)


def _plan_and_publish(
    store: Store,
    plant: PlantRecord,
    scenario: Scenario,
    options: PlanningOptions,
    issue: PlanIssue,
    now: pd.Timestamp,
    run_id: str,
) -> ScheduleRecord:
    started = time.perf_counter()
    index = window_index(issue.start, issue.day, plant.timezone, options, issue.end)
    history = options.forecast_options().history(pd.Timedelta(hours=options.horizon_h))
    frame, shift = window_inputs(scenario, options, index, history)
    pressure = pressure_at(frame, index[0])
    max_age = pd.Timedelta(hours=options.state_max_age_h)
    measured, sources = initial_state(store, plant, scenario, now, max_age, pressure)
    state = {
        asset: {**issue.planned_state.get(asset, {}), **measured.get(asset, {})}
        for asset in {*issue.planned_state, *measured}
    }
    start, end = day_bounds(issue.day, plant.timezone)
    boundaries = list(pd.date_range(start, end, freq=pd.Timedelta(options.step)))
    plan = plan_window(  # under SOLVE_LOCK
        scenario, options, frame, index, now, state, issue.grid_position_kw, boundaries
    )
    payload = schedule_payload(
        plant=plant,
        scenario=scenario,
        issue=issue,
        plan=plan,
        planned_at=now,
        sources=sources,
        shift=shift,
        options=options,
    )
    kpis = {**plan.kpis, "wall_s": time.perf_counter() - started}
    report = {
        "status": plan.status,
        "objective_eur": plan.objective_eur,
        "mip_gap": plan.mip_gap,
        "model": plan.model,
        "violations": list(plan.violations),
        "prechecks": list(plan.prechecks),
    }
    handover = {
        at: {asset: value for asset, value in states.items() if value}
        for at, states in plan.handover.items()
    }
    run_store.finish_run(
        store,
        run_id=run_id,
        dispatch=plan.dispatch,
        kpis=kpis,
        solver_report=report,
        handover=handover,
    )
    return schedule_store.publish_schedule(
        store,
        plant_id=plant.id,
        delivery_date=issue.day,
        payload=payload,
        solve_status=plan.status,
        issued_at=issue.instant.to_pydatetime(),
        run_id=run_id,
        is_incumbent=plan.is_incumbent,
        mip_gap=plan.mip_gap,
        is_fallback=plan.is_fallback,
        fallback_reason=plan.fallback_reason,
        kpis=payload["kpis"],
        has_violations=plan.has_violations,
    )


def delivered_part(plan: WindowPlan, issue: PlanIssue, timezone: str) -> pd.DataFrame:
    """The delivery day's rows of a plan, after the kept rows of an intraday re-plan.

    Kept rows (planned by the version in force, before the re-plan takes
    over) deviate 0 kW from the position where the re-plan reports deviations.
    """
    start, end = day_bounds(issue.day, timezone)
    part = plan.dispatch[(plan.dispatch.index >= start) & (plan.dispatch.index < end)]
    if issue.kept is not None and len(issue.kept):
        kept = issue.kept.reindex(columns=part.columns)
        deviations = [c for c in part.columns if c.endswith(".deviation_kw")]
        kept[deviations] = kept[deviations].fillna(0.0)
        part = pd.concat([kept, part])
    # pandas-stubs type ``freq`` read-only; pandas sets it, validated
    part_index = cast(pd.DatetimeIndex, part.index)
    part_index.freq = cast(pd.DatetimeIndex, plan.dispatch.index).freq  # type: ignore[misc]
    return part


def schedule_payload(
    *,
    plant: PlantRecord,
    scenario: Scenario,
    issue: PlanIssue,
    plan: WindowPlan,
    planned_at: pd.Timestamp,
    sources: Sequence[StateSource],
    shift: pd.Timedelta | None,
    options: PlanningOptions,
) -> dict[str, Any]:
    """The published document: the delivery day's dispatch and how it was made."""
    start = day_bounds(issue.day, plant.timezone)[0]
    part = delivered_part(plan, issue, plant.timezone)
    measured = {s.asset for s in sources}
    stateful = [a.name for a in scenario.plant.assets if ASSET_TYPES[a.type].carries_state]
    return {
        "format": schedule.FORMAT,
        "plant": {"id": plant.id, "name": plant.name, "timezone": plant.timezone},
        "delivery_date": issue.day.isoformat(),
        "issued_at": issue.instant.isoformat(),
        "planned_at": planned_at.isoformat(),
        "is_complete_day": bool(len(part) and part.index[0] == start),
        "intraday": issue.describe(),
        "assets": scenario.plant.kinds(),
        **schedule.dispatch_fields(part, pd.Timedelta(options.step)),
        "solve": {
            "status": plan.status,
            "objective_eur": plan.objective_eur,
            "mip_gap": plan.mip_gap,
            "is_incumbent": plan.is_incumbent,
            "is_fallback": plan.is_fallback,
            "fallback_reason": plan.fallback_reason,
            "solve_s": plan.solve_s,
        },
        "has_violations": plan.has_violations,
        "violations": list(plan.violations),
        "prechecks": list(plan.prechecks),
        "kpis": {"delivery_day": schedule.day_kpis(part), **comparison_kpis(plan)},
        "state": {
            "at": plan.dispatch.index[0].isoformat(),
            "measured": [dataclasses.asdict(s) for s in sources],
            "planned": sorted(set(issue.planned_state) & set(stateful) - measured),
            "configured_initial": [
                name
                for name in stateful
                if name not in measured and name not in issue.planned_state
            ],
        },
        "inputs": {
            "forecast": options.forecast_options().describe(),
            "replay_shift_days": None if shift is None else int(shift / pd.Timedelta("1D")),
            "window_start": plan.dispatch.index[0].isoformat(),
            "window_end": (plan.dispatch.index[-1] + pd.Timedelta(options.step)).isoformat(),
        },
    }
