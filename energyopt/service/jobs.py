"""Runs as jobs: execution in a pool of worker processes.

The API queues a run in the store and hands its id to a :class:`RunExecutor`;
a worker process of the service's pool (:mod:`energyopt.service.workers`,
shared with the daily planning) claims the run, solves it and writes progress
and results to the store. The solver never runs in a request thread, and a
crash of a worker process marks its run failed instead of leaving it
``running``.

Modes are entries of :data:`MODES`: a function that takes the scenario (with
the run's period applied) and a progress callback and returns a
:class:`RunOutcome`. Adding a mode is one entry. ``perfect`` solves the whole
period at once on the actual inputs; ``rolling`` plans day by day from
forecasts and replays the committed plans on actuals; ``baseline`` is the
rule-based operation without optimisation.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import datetime as dt
import logging
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pandas as pd

from energyopt.errors import EnergyOptError
from energyopt.inputs.config import Period, Scenario
from energyopt.service.store import runs as run_store
from energyopt.service.store.db import Store, StoreConfig
from energyopt.service.store.documents import validate_document
from energyopt.service.store.records import RunRecord
from energyopt.service.workers import WorkerPool, worker_store

logger = logging.getLogger(__name__)

#: progress(windows_done, windows_total)
Progress = Callable[[int, int], None]
#: shortest time between two progress writes of one run [s]
PROGRESS_INTERVAL_S = 0.5


@dataclasses.dataclass(frozen=True)
class RunOutcome:
    """What a mode returns: the plan, its KPIs and the solver's report."""

    dispatch: pd.DataFrame
    kpis: dict[str, Any]
    solver_report: dict[str, Any]


#: mode(scenario, options, progress); options are the run's mode options (JSON)
ModeFn = Callable[[Scenario, dict[str, Any], Progress], RunOutcome]


def rolling_options(options: dict[str, Any], step: str) -> tuple[Any, Any]:
    """Forecast and window options of a rolling run from its JSON options.

    Keys (all optional): ``forecast`` (perfect, persistence, noisy), ``seed``,
    ``horizon`` (e.g. 48h), ``commit`` (e.g. 1D), ``plan_time_local`` (HH:MM).

    Raises
    ------
    ScenarioError
        Durations that do not fit the step or each other.
    """
    from energyopt.engine.forecast import ForecastOptions
    from energyopt.engine.rolling.windows import RollingOptions

    forecast = ForecastOptions(
        kind=options.get("forecast", "perfect"), seed=int(options.get("seed", 0))
    )
    windows = RollingOptions(
        **{k: options[k] for k in ("horizon", "commit", "plan_time_local") if k in options}
    )
    windows.durations(pd.Timedelta(step))
    return forecast, windows


def _perfect(scenario: Scenario, options: dict[str, Any], progress: Progress) -> RunOutcome:
    """The whole period in one solve, with the input series as known (perfect foresight)."""
    from energyopt.engine.pipeline import run_scenario

    progress(0, 1)
    result = run_scenario(scenario)
    progress(1, 1)
    return RunOutcome(result.dispatch, dict(result.kpis), result.report.as_dict())


def _simulated(mode: str) -> ModeFn:
    """A mode of :func:`energyopt.engine.rolling.simulate`: ``rolling`` or ``baseline``.

    Both are priced on the actual inputs; a rolling run reports its windows
    (issue time, build/solve times, fallbacks) in the solver report.
    """

    def run(scenario: Scenario, options: dict[str, Any], progress: Progress) -> RunOutcome:
        from energyopt.engine.rolling.simulate import simulate

        period = scenario.period
        last_day = period.start + dt.timedelta(days=period.days - 1)
        forecast, windows = rolling_options(options, period.step)
        if mode != "rolling":
            progress(0, 1)
        simulation = simulate(
            scenario,
            period.start,
            last_day,
            modes=(mode,),
            step=period.step,
            forecast=forecast,
            rolling=windows,
            on_window=lambda report, total: progress(report.number, total),
        )
        result = simulation.runs[mode]
        report: dict[str, Any] = result.report.as_dict()
        if simulation.rolling is not None:
            report["windows"] = [w.as_dict() for w in simulation.rolling.windows]
        else:
            progress(1, 1)
        return RunOutcome(result.dispatch, dict(result.kpis), report)

    run.__doc__ = f"{mode} mode of the simulation"
    return run


#: run modes by name
MODES: dict[str, ModeFn] = {
    "perfect": _perfect,
    "rolling": _simulated("rolling"),
    "baseline": _simulated("baseline"),
}


@dataclasses.dataclass(frozen=True)
class JobContext:
    """What a worker needs besides the run id: the store and the allowed data paths."""

    store: StoreConfig
    roots: tuple[Path, ...]
    base_dir: Path


def scenario_for_run(run: RunRecord, context: JobContext) -> Scenario:
    """The scenario of a run, re-validated, with the run's period applied."""
    scenario = validate_document(
        run.document, roots=context.roots, base_dir=context.base_dir, source="scenario"
    )
    period = Period(start=run.period_start, days=run.days, step=run.step)
    return scenario.model_copy(update={"period": period})


# ----------------------------------------------------------------- worker process side


def execute_run(context: JobContext, run_id: str) -> str:
    """Claim and execute one run; returns its final status (``skipped`` if not queued).

    Every failure ends as a ``failed`` run with a one-line error: domain errors
    (bad data, infeasible plant) with their own message, anything else as an
    internal error whose traceback goes to the log.
    """
    store = worker_store(context.store)
    if not run_store.claim_run(store, run_id=run_id):
        return "skipped"
    logger.info("run %s: started", run_id)
    try:
        run = run_store.get_run(store, run_id=run_id)
        mode = MODES.get(run.mode)
        if mode is None:
            raise EnergyOptError(f"mode {run.mode!r} is not available")
        scenario = scenario_for_run(run, context)
        outcome = mode(scenario, run.options, _progress_writer(store, run_id))
        run_store.finish_run(
            store,
            run_id=run_id,
            dispatch=outcome.dispatch,
            kpis=outcome.kpis,
            solver_report=outcome.solver_report,
        )
    except EnergyOptError as exc:
        logger.info("run %s: failed: %s", run_id, exc)
        run_store.fail_run(store, run_id=run_id, error=f"{type(exc).__name__}: {exc}")
        return "failed"
    except Exception as exc:
        logger.error("run %s: internal error\n%s", run_id, traceback.format_exc())
        run_store.fail_run(
            store, run_id=run_id, error=f"internal error: {type(exc).__name__}: {exc}"
        )
        return "failed"
    logger.info("run %s: done", run_id)
    return "done"


def _progress_writer(store: Store, run_id: str) -> Progress:
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if done in (0, total) or now - last[0] >= PROGRESS_INTERVAL_S:
            run_store.set_progress(store, run_id=run_id, windows_done=done, windows_total=total)
            last[0] = now

    return progress


# ----------------------------------------------------------------- service side


class RunExecutor:
    """Runs executed in the service's worker pool, each failure recorded on its run.

    Parameters
    ----------
    workers : int
        Number of worker processes of the pool it makes when none is given [-].
    log_level : int
        Logging level inside the workers.
    pool : WorkerPool, optional
        The pool to use (the service shares one with the planning scheduler);
        default: its own, with no slot reserved for plans.
    """

    def __init__(
        self,
        *,
        workers: int = 1,
        log_level: int = logging.INFO,
        pool: WorkerPool | None = None,
    ) -> None:
        self.pool = pool or WorkerPool(workers=workers, reserved=0, log_level=log_level)
        self._lock = threading.Lock()
        self._active: dict[str, cf.Future] = {}
        self._stores: dict[StoreConfig, Store] = {}
        self._closing = False

    def start(self) -> None:
        """Start the pool (idempotent)."""
        with self._lock:
            self._closing = False
        self.pool.start()

    @property
    def active_runs(self) -> list[str]:
        """Ids of runs handed to the pool and not finished."""
        with self._lock:
            return list(self._active)

    def submit(self, context: JobContext, run_id: str) -> cf.Future:
        """Hand a queued run to the pool."""
        self.start()
        future = self.pool.submit(execute_run, context, run_id)
        with self._lock:
            self._active[run_id] = future
        future.add_done_callback(lambda f: self._finished(context, run_id, f))
        return future

    def _finished(self, context: JobContext, run_id: str, future: cf.Future) -> None:
        with self._lock:
            if self._active.get(run_id) is future:
                del self._active[run_id]
            closing = self._closing
        if future.cancelled() or closing:
            return  # a stopping service marks its interrupted runs itself
        error = future.exception()
        if error is None:
            return
        store = self._store(context.store)
        broken = isinstance(error, BrokenProcessPool)
        if broken and run_store.get_run(store, run_id=run_id).status == "queued":
            logger.warning("run %s: its worker pool broke before it started; resubmitting", run_id)
            self.submit(context, run_id)
            return
        logger.error("run %s: worker process failed: %r", run_id, error)
        reason = "worker process died" if broken else repr(error)
        run_store.fail_run(store, run_id=run_id, error=f"internal error: {reason}")

    def _store(self, config: StoreConfig) -> Store:
        with self._lock:
            if config not in self._stores:
                self._stores[config] = config.open()
            return self._stores[config]

    def wait(self, run_id: str, timeout_s: float | None = None) -> str | None:
        """Block until the run's job ends (tests, CLI); its final status or None if unknown."""
        with self._lock:
            future = self._active.get(run_id)
        if future is None:
            return None
        try:
            return future.result(timeout=timeout_s)
        except (cf.CancelledError, BrokenProcessPool):
            return "failed"

    def shutdown(self) -> list[str]:
        """Stop the pool: queued jobs are cancelled (the runs stay queued for the next
        start), worker processes are terminated; returns the runs that were executing."""
        with self._lock:
            self._closing = True
            interrupted = [rid for rid, f in self._active.items() if f.running()]
        self.pool.shutdown()
        for store in self._stores.values():
            store.close()
        self._stores.clear()
        return interrupted


def interrupted_reason(at: dt.datetime | None = None) -> str:
    """Error text of runs cut short by a restart or crash of the service."""
    stamp = (at or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%MZ")
    return f"interrupted: the service stopped while the run was executing (noticed {stamp})"
