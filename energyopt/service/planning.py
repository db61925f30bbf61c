"""Daily planning of a registered plant: from measured state and forecasts to a
published, immutable schedule version for the next local day.

One planning run (:func:`plan_plant`):

1. the **planning instant** is the latest local planning time of the plant at
   or before ``now`` (:func:`planning_instant`); the **delivery day** is the
   local day after it. The instant is the publication key: a second run for
   the same instant (a double trigger, a catch-up after a restart that the
   regular trigger repeats) returns the version already published instead of
   adding one;
2. the **window** starts with the interval that contains ``now`` and looks
   ``horizon_h`` ahead (48 h), at least to the end of the delivery day;
3. **inputs** are forecasts as known at ``now`` (:mod:`energyopt.engine.forecast`):
   measured quantities up to now, day-ahead prices once their auction is
   published, the rest by the plant's forecast method (persistence by
   default). ``inputs: replay`` maps the scenario's historical series onto the
   present by a whole number of weeks (weekdays and UTC time of day kept; the
   shift is reported) for plants whose data files are a past year;
4. the **initial state** comes from the latest measurements not older than
   ``state_max_age_h`` (:mod:`energyopt.service.measurements`); assets without one
   start from their configured initial values, and the schedule says which;
5. the window is planned by the rolling engine's single-window step
   (:meth:`energyopt.engine.rolling.RollingEngine.step`), on the previous plan's
   model of the same scenario when it fits (:mod:`energyopt.model.cache`;
   the run's solver report says ``model: build`` or ``update``): an optimal plan, the
   incumbent when the solver hits its time limit (flagged with its gap), or
   the rule-based baseline when the solver finds no plan (flagged with the
   reason). The baseline on the same inputs is also solved for comparison;
6. the run is recorded in the store as a run of mode ``daily_plan`` (its
   dispatch is the whole window), and the delivery day's part is published as
   the next schedule version in one transaction.

Demand charges: daily operation has no period end, so the rolling engine's
prorated peak price applies with each month running to its end (a window of
``H`` hours with ``R`` hours of the month left prices a new peak at
``rate * H / R``, :func:`energyopt.engine.rolling.windows.peak_price_factor`), and
the month-to-date peak (state ``peak_kw:YYYY-MM`` from the meter reading
``peak_import_month_kw``) is what a plan must exceed to pay more.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
import threading
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from energyopt.assets import ASSET_TYPES
from energyopt.assets.declarations import STANDARD_PRESSURE_PA
from energyopt.engine.baseline import solve_baseline
from energyopt.engine.forecast import ActualSource, ForecastOptions, build_forecasts, time_of_day
from energyopt.engine.pipeline import input_coverage, load_inputs, month_weights
from energyopt.engine.rolling import RollingEngine, Window
from energyopt.engine.state import SystemState
from energyopt.errors import DataError, EnergyOptError, ScenarioError, SolveError
from energyopt.inputs.config import Scenario, SolverOptions, StepText, format_location
from energyopt.inputs.timeseries import fmt_time
from energyopt.model.cache import WARM_MODELS, scenario_key
from energyopt.outputs.results import compute_kpis
from energyopt.service.measurements import (
    Reading,
    StateContext,
    StateSource,
    state_from_readings,
)
from energyopt.service.store import PlantRecord, ScheduleRecord, Store
from energyopt.service.store import measurements as measurement_store
from energyopt.service.store import plants as plant_store
from energyopt.service.store import runs as run_store
from energyopt.service.store import scenarios as scenario_store
from energyopt.service.store import schedules as schedule_store
from energyopt.service.store.db import utc_now
from energyopt.service.store.documents import validate_document

logger = logging.getLogger(__name__)

RUN_MODE = "daily_plan"
WEEK = pd.Timedelta("7D")
DAYS_PER_YEAR = 365.2425
#: solver statuses that mean "an incumbent, not proven optimal"
INCUMBENT_STATUSES = frozenset({"time_limit", "iteration_limit", "interrupted"})
#: daily operation has no period end: months run to their end
OPEN_END = pd.Timedelta(days=366)
#: one model build and solve at a time per process (planning threads share it)
_SOLVE_LOCK = threading.Lock()
#: decimals kept in published schedules (kW, kWh, EUR/kWh: far below metering accuracy)
PAYLOAD_DECIMALS = 4


class PlanningOptions(BaseModel):
    """How a plant is planned every day (stored with the plant)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    step: StepText = Field("15min", description="schedule time step")
    horizon_h: float = Field(48.0, gt=0, le=24 * 7, description="look-ahead of a plan [h]")
    forecast: Literal["persistence", "perfect", "noisy"] = Field(
        "persistence", description="how inputs not known at planning time are forecast"
    )
    persistence_lag: str = Field("1D", description="persistence: 1D or 7D")
    inputs: Literal["live", "replay"] = Field(
        "live",
        description="live: the series files are kept current by a data feed; replay: "
        "historical files are mapped onto the present by whole weeks",
    )
    measurement_max_age_h: float = Field(
        24.0, gt=0, description="older readings are refused when reported [h]"
    )
    state_max_age_h: float = Field(
        6.0, gt=0, description="older readings are not used as initial state [h]"
    )
    time_limit_s: float | None = Field(
        None, gt=0, description="solver time limit of a planning run; default: the scenario's [s]"
    )
    demand_charge: Literal["full", "prorated"] = Field(
        "full",
        description="full: a rise of the month's peak import pays the monthly demand charge, "
        "as the bill does; prorated: only the share of the month's remaining hours the "
        "window covers",
    )
    peak_floor: Literal["window", "none"] = Field(
        "window",
        description="window: a rise of the peak up to the baseline's peak on the window's "
        "forecasts is free (the month pays it anyway); none: only the peak reached so far",
    )

    @classmethod
    def of(cls, plant: PlantRecord) -> PlanningOptions:
        """The options stored with ``plant`` (defaults where none)."""
        return cls.model_validate(plant.options or {})

    @classmethod
    def parse(cls, document: Any, source: str = "options") -> PlanningOptions:
        """Validate options from a request; ScenarioError naming the field otherwise."""
        try:
            return cls.model_validate(document or {})
        except ValidationError as exc:
            error = exc.errors()[0]
            where = f"{source}.{format_location(error['loc'])}"
            raise ScenarioError(f"{where}: {error['msg'].removeprefix('Value error, ')}") from None


# ----------------------------------------------------------------- calendar


def planning_instant(planning_time: dt.time, timezone: str, now: dt.datetime) -> pd.Timestamp:
    """The latest local ``planning_time`` at or before ``now`` (UTC time stamp)."""
    now_utc = pd.Timestamp(now).tz_convert("UTC")
    local_day = now_utc.tz_convert(timezone).tz_localize(None).normalize()
    clock = time_of_day(planning_time.strftime("%H:%M"), "planning_time")
    for day in (local_day, local_day - pd.Timedelta(days=1)):
        instant = (day + clock).tz_localize(timezone, ambiguous=True, nonexistent="shift_forward")
        if instant.tz_convert("UTC") <= now_utc:
            return instant.tz_convert("UTC")
    msg = f"no planning instant before {now_utc}"  # unreachable: yesterday's is always earlier
    raise ScenarioError(msg)


def delivery_date(instant: pd.Timestamp, timezone: str) -> dt.date:
    """The local day a plan made at ``instant`` is for: the next local day."""
    return (pd.Timestamp(instant).tz_convert(timezone) + pd.Timedelta(days=1)).date()


def day_bounds(day: dt.date, timezone: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """UTC start and end of a local day (23 or 25 h on DST days)."""
    start = pd.Timestamp(day).tz_localize(timezone)
    end = (pd.Timestamp(day) + pd.Timedelta(days=1)).tz_localize(timezone)
    return start.tz_convert("UTC"), end.tz_convert("UTC")


def window_index(
    now: dt.datetime, day: dt.date, timezone: str, options: PlanningOptions
) -> pd.DatetimeIndex:
    """Planning window: from the interval containing ``now``, ``horizon_h`` long,
    at least to the end of the delivery ``day``."""
    step = pd.Timedelta(options.step)
    start = pd.Timestamp(now).tz_convert("UTC").floor(step)
    end = max(start + pd.Timedelta(hours=options.horizon_h), day_bounds(day, timezone)[1])
    end = start + math.ceil((end - start) / step) * step
    return pd.date_range(start, end, freq=step, inclusive="left", name="time")


# ----------------------------------------------------------------- inputs


def replay_shift(
    needed: tuple[pd.Timestamp, pd.Timestamp], coverage: tuple[pd.Timestamp, pd.Timestamp]
) -> pd.Timedelta:
    """Whole weeks to subtract so that the ``needed`` span falls inside the data ``coverage``.

    Among the shifts that fit, the one nearest to a whole number of years is
    taken (the same season of the data year).

    Raises
    ------
    DataError
        If the data span is shorter than what a plan needs.
    """
    first, end = needed
    k_min = math.ceil((end - coverage[1]) / WEEK)
    k_max = math.floor((first - coverage[0]) / WEEK)
    if k_min > k_max:
        msg = (
            f"input replay: a plan needs {(end - first) / pd.Timedelta('1D'):.1f} days of data, "
            f"the series files cover {fmt_time(coverage[0])} to {fmt_time(coverage[1])}"
        )
        raise DataError(msg)

    def off_season_days(k: int) -> float:
        days = 7 * k
        return abs(days - round(days / DAYS_PER_YEAR) * DAYS_PER_YEAR)

    return min(range(k_min, k_max + 1), key=lambda k: (off_season_days(k), k)) * WEEK


def window_inputs(
    scenario: Scenario,
    options: PlanningOptions,
    index: pd.DatetimeIndex,
    history: pd.Timedelta,
) -> tuple[pd.DataFrame, pd.Timedelta | None]:
    """Actual input series from ``history`` before the window to its end, as far as known.

    Live inputs stop where the files stop (the forecasts fill the rest);
    replayed inputs come from the data year, shifted onto the window.
    Returns the frame on the real time axis and the replay shift (None: live).
    """
    step = pd.Timedelta(index.freq)
    first, end = index[0] - history, index[-1] + step
    coverage = input_coverage(scenario)
    shift = None
    if options.inputs == "replay":
        if coverage is None:
            raise DataError("input replay: the scenario names no series files")
        shift = replay_shift((first, end), coverage)
    elif coverage is not None:
        first = max(first, first + math.ceil((coverage[0] - first) / step) * step)
        end = min(end, first + math.floor((coverage[1] - first) / step) * step)
    if end <= index[0]:
        msg = (
            f"inputs end at {fmt_time(end)}, before the planning window starts at "
            f"{fmt_time(index[0])}; update the series files or plan with inputs: replay"
        )
        raise DataError(msg)
    real = pd.date_range(first, end, freq=step, inclusive="left", name="time")
    frame = load_inputs(scenario, real if shift is None else real - shift)
    return frame.set_axis(real), shift


def initial_state(
    store: Store,
    plant: PlantRecord,
    scenario: Scenario,
    at: pd.Timestamp,
    max_age: pd.Timedelta,
    pressure_pa: float,
) -> tuple[dict[str, dict[str, Any]], list[StateSource]]:
    """State per asset from the latest readings at or before ``at``, at most ``max_age`` old."""
    records = measurement_store.latest_measurements(store, plant_id=plant.id, at=at.to_pydatetime())
    readings = [
        Reading(r.asset, r.quantity, r.value, r.measured_at)
        for r in records
        if at - pd.Timestamp(r.measured_at) <= max_age
    ]
    context = StateContext(timezone=plant.timezone, pressure_pa=pressure_pa)
    return state_from_readings(scenario, readings, context)


# ----------------------------------------------------------------- planning a window


@dataclasses.dataclass
class WindowPlan:
    """A planned window: dispatch, how it was obtained, KPIs and the baseline's."""

    dispatch: pd.DataFrame
    status: str
    objective_eur: float
    mip_gap: float | None
    fallback_reason: str | None
    solve_s: float
    kpis: dict[str, Any]
    baseline_kpis: dict[str, Any] | None
    model: str = "build"  # "update": the previous plan's model was updated

    @property
    def is_fallback(self) -> bool:
        """True when the rule-based baseline stands in for an optimised plan."""
        return self.status == "fallback"

    @property
    def is_incumbent(self) -> bool:
        """True when the plan is the solver's best found before a limit (see ``mip_gap``)."""
        return self.status in INCUMBENT_STATUSES


def plan_window(
    scenario: Scenario,
    options: PlanningOptions,
    frame: pd.DataFrame,
    index: pd.DatetimeIndex,
    issued_at: pd.Timestamp,
    state: dict[str, dict[str, Any]],
) -> WindowPlan:
    """Plan one window with the rolling engine's step; KPIs of the plan and of the baseline."""
    if options.time_limit_s is not None:
        solver = SolverOptions(
            **{**scenario.solver.model_dump(), "time_limit_s": options.time_limit_s}
        )
        scenario = scenario.model_copy(update={"solver": solver})
    forecast = _forecast_options(options)
    actuals = ActualSource(frame, forecast.day_ahead_rules(list(frame.columns)))
    weights = dict.fromkeys(month_weights(index, scenario.site.timezone), 1.0)
    engine = RollingEngine(
        scenario,
        build_forecasts(forecast, actuals),
        list(frame.columns),
        weights,
        demand_charge=options.demand_charge,
        peak_floor=options.peak_floor,
    )
    key = scenario_key(scenario)
    engine.plant = WARM_MODELS.take(key)  # the last plan's model, updated if it fits
    window = Window(
        number=1,
        issued_at=issued_at,
        index=index,
        commit_steps=len(index),
        period_end=index[-1] + OPEN_END,
    )
    dispatch, _, report = engine.step(window, SystemState(at=index[0], values=state))
    WARM_MODELS.keep(key, engine.plant)
    if engine.window_baseline is not None:  # solved on these inputs for the expected peak
        solved = engine.window_baseline
        baseline = compute_kpis(solved.read())
    else:  # priced as billed: without expected peaks
        baseline = _baseline(scenario, dataclasses.replace(engine.plant.ctx, peak_floor_kw={}))
    fallback = report.status == "fallback"
    kpis = (baseline or {}) if fallback else compute_kpis(engine.plant.read())
    return WindowPlan(
        dispatch=dispatch,
        status=report.status,
        objective_eur=report.objective_eur,
        mip_gap=report.mip_gap,
        fallback_reason=report.fallback_reason,
        solve_s=report.solve_s,
        kpis=dict(kpis),
        baseline_kpis=baseline,
        model=report.action,
    )


def _forecast_options(options: PlanningOptions) -> ForecastOptions:
    return ForecastOptions(kind=options.forecast, lag=options.persistence_lag)


def _baseline(scenario: Scenario, ctx) -> dict[str, Any] | None:
    """KPIs of the rule-based operation on the same inputs and state (None if it fails)."""
    try:
        plant, _ = solve_baseline(scenario, ctx)
    except (SolveError, DataError) as exc:
        logger.warning("baseline for comparison failed: %s", exc)
        return None
    return compute_kpis(plant.read())


# ----------------------------------------------------------------- the schedule document


def comparison_kpis(plan: WindowPlan) -> dict[str, Any]:
    """Window KPIs of the plan, the baseline's and the saving [EUR, frac]."""
    kpis = {k: v for k, v in plan.kpis.items() if isinstance(v, int | float)}
    out: dict[str, Any] = {"window": kpis, "baseline": None, "savings_vs_baseline": None}
    if plan.baseline_kpis is not None:
        base = {k: v for k, v in plan.baseline_kpis.items() if isinstance(v, int | float)}
        out["baseline"] = base
        plan_cost, base_cost = kpis.get("total_cost_eur"), base.get("total_cost_eur")
        if plan_cost is not None and base_cost is not None:
            saved = base_cost - plan_cost
            out["savings_vs_baseline"] = {
                "total_cost_eur": saved,
                "total_cost_frac": saved / abs(base_cost) if abs(base_cost) > 1e-9 else None,
                "co2_t": base.get("co2_t", 0.0) - kpis.get("co2_t", 0.0),
            }
    return out


def day_kpis(dispatch: pd.DataFrame) -> dict[str, float]:
    """Grid figures of the delivery day from its dispatch columns [kWh, kW, EUR, kg]."""
    dt_h = pd.Timedelta(dispatch.index.freq) / pd.Timedelta("1h")
    out: dict[str, float] = {}
    for column in dispatch.columns:
        asset, _, quantity = column.partition(".")
        if quantity == "import_kw":
            imports = dispatch[column]
            exports = dispatch.get(f"{asset}.export_kw", imports * 0.0)
            price_in = dispatch.get(f"{asset}.price_import_eur_per_kwh")
            price_out = dispatch.get(f"{asset}.price_export_eur_per_kwh")
            co2 = dispatch.get(f"{asset}.co2_kg_per_kwh")
            out[f"{asset}.import_kwh"] = float(imports.sum() * dt_h)
            out[f"{asset}.export_kwh"] = float(exports.sum() * dt_h)
            out[f"{asset}.peak_import_kw"] = float(imports.max()) if len(imports) else 0.0
            if price_in is not None and price_out is not None:
                cost = (imports * price_in - exports * price_out).sum() * dt_h
                out[f"{asset}.energy_cost_eur"] = float(cost)
            if co2 is not None:
                out[f"{asset}.co2_kg"] = float((imports * co2).sum() * dt_h)
    return out


def schedule_payload(
    *,
    plant: PlantRecord,
    scenario: Scenario,
    day: dt.date,
    plan: WindowPlan,
    issued_at: pd.Timestamp,
    planned_at: pd.Timestamp,
    sources: Sequence[StateSource],
    shift: pd.Timedelta | None,
    options: PlanningOptions,
) -> dict[str, Any]:
    """The published document: the delivery day's dispatch and how it was made."""
    start, end = day_bounds(day, plant.timezone)
    part = plan.dispatch[(plan.dispatch.index >= start) & (plan.dispatch.index < end)]
    part.index.freq = plan.dispatch.index.freq
    values = np.round(part.to_numpy(dtype=float), PAYLOAD_DECIMALS)
    measured = {s.asset for s in sources}
    stateful = [a.name for a in scenario.plant.assets if ASSET_TYPES[a.type].carries_state]
    return {
        "format": "energyopt.schedule/1",
        "plant": {"id": plant.id, "name": plant.name, "timezone": plant.timezone},
        "delivery_date": day.isoformat(),
        "issued_at": issued_at.isoformat(),
        "planned_at": planned_at.isoformat(),
        "step_s": int(pd.Timedelta(options.step).total_seconds()),
        "is_complete_day": bool(len(part) and part.index[0] == start),
        "assets": {a.name: a.type for a in scenario.plant.assets},
        "time": [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in part.index],
        "columns": {c: values[:, i].tolist() for i, c in enumerate(part.columns)},
        "solve": {
            "status": plan.status,
            "objective_eur": plan.objective_eur,
            "mip_gap": plan.mip_gap,
            "is_incumbent": plan.is_incumbent,
            "is_fallback": plan.is_fallback,
            "fallback_reason": plan.fallback_reason,
            "solve_s": plan.solve_s,
        },
        "kpis": {"delivery_day": day_kpis(part), **comparison_kpis(plan)},
        "state": {
            "at": plan.dispatch.index[0].isoformat(),
            "measured": [dataclasses.asdict(s) for s in sources],
            "configured_initial": [name for name in stateful if name not in measured],
        },
        "inputs": {
            "forecast": _forecast_options(options).describe(),
            "replay_shift_days": None if shift is None else int(shift / pd.Timedelta("1D")),
            "window_start": plan.dispatch.index[0].isoformat(),
            "window_end": (plan.dispatch.index[-1] + pd.Timedelta(options.step)).isoformat(),
        },
    }


def _pressure_at(frame: pd.DataFrame, at: pd.Timestamp) -> float:
    """Air pressure of the interval starting at ``at`` (or the last known) [Pa]."""
    if "pressure_pa" not in frame:
        return STANDARD_PRESSURE_PA
    known = frame.loc[frame.index <= at, "pressure_pa"]
    return float(known.iloc[-1]) if len(known) else STANDARD_PRESSURE_PA


# ----------------------------------------------------------------- the planning run


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
    instant = (
        pd.Timestamp(issued_at).tz_convert("UTC")
        if issued_at is not None
        else planning_instant(plant.planning_time, plant.timezone, now_ts)
    )
    day = delivery_date(instant, plant.timezone)
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
        mode=RUN_MODE,
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
        schedule = _plan_and_publish(store, plant, scenario, options, day, instant, now_ts, run.id)
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
    day: dt.date,
    instant: pd.Timestamp,
    now: pd.Timestamp,
    run_id: str,
) -> ScheduleRecord:
    started = time.perf_counter()
    index = window_index(now, day, plant.timezone, options)
    history = _forecast_options(options).history(pd.Timedelta(hours=options.horizon_h))
    frame, shift = window_inputs(scenario, options, index, history)
    pressure = _pressure_at(frame, index[0])
    max_age = pd.Timedelta(hours=options.state_max_age_h)
    state, sources = initial_state(store, plant, scenario, now, max_age, pressure)
    with _SOLVE_LOCK:  # Pyomo and its solver I/O are not thread-safe within one process
        plan = plan_window(scenario, options, frame, index, now, state)
    payload = schedule_payload(
        plant=plant,
        scenario=scenario,
        day=day,
        plan=plan,
        issued_at=instant,
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
    }
    run_store.finish_run(
        store, run_id=run_id, dispatch=plan.dispatch, kpis=kpis, solver_report=report
    )
    return schedule_store.publish_schedule(
        store,
        plant_id=plant.id,
        delivery_date=day,
        payload=payload,
        solve_status=plan.status,
        issued_at=instant.to_pydatetime(),
        run_id=run_id,
        is_incumbent=plan.is_incumbent,
        mip_gap=plan.mip_gap,
        is_fallback=plan.is_fallback,
        fallback_reason=plan.fallback_reason,
        kpis=payload["kpis"],
    )
