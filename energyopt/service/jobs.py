"""Runs as jobs: execution in a pool of worker processes.

The API queues a run in the store and hands its id to a :class:`RunExecutor`;
a worker process of the service's pool (:mod:`energyopt.service.workers`,
shared with the daily planning) claims the run, solves it and writes progress
and results to the store. The solver never runs in a request thread. A run
whose worker process dies is queued again on a new worker, once; a second
death marks it failed (:data:`WORKER_DIED_TWICE`). A cancelled run (or one
another instance took over) stops at its worker's next progress report,
which finds the run no longer its own (:class:`RunStopped`); nothing it
computed is stored.

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
from typing import TYPE_CHECKING, Any

import pandas as pd

from energyopt.errors import ConflictError, EnergyOptError
from energyopt.inputs.config import Period, Scenario
from energyopt.service.store import runs as run_store
from energyopt.service.store.db import Store, StoreConfig
from energyopt.service.store.documents import validate_document
from energyopt.service.store.records import RunRecord
from energyopt.service.workers import WorkerPool, worker_store

if TYPE_CHECKING:
    from energyopt.engine.pipeline import RunResult

logger = logging.getLogger(__name__)

#: progress(windows_done, windows_total)
Progress = Callable[[int, int], None]
#: shortest time between two progress writes of one run [s]
PROGRESS_INTERVAL_S = 0.5
#: the error of a run whose worker process died on its first attempt and on its retry
WORKER_DIED_TWICE = "internal error: worker process died twice"


class RunStopped(Exception):
    """The run is no longer the worker's (cancelled or taken over): stop working on it."""


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
    return RunOutcome(result.dispatch, dict(result.kpis), solver_report(result))


def solver_report(result: RunResult) -> dict[str, Any]:
    """The solve's figures, the requirements the plan misses and the pre-checks."""
    return {
        **result.report.as_dict(),
        "violations": [v.as_dict() for v in result.violations],
        "prechecks": list(result.prechecks),
    }


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
        report: dict[str, Any] = solver_report(result)
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
    """The scenario of a run, re-validated, with the run's period applied; soft
    process limits unless the run asked for ``hard`` ones."""
    scenario = validate_document(
        run.document, roots=context.roots, base_dir=context.base_dir, source="scenario"
    )
    period = Period(start=run.period_start, days=run.days, step=run.step)
    limits = "hard" if run.options.get("hard") else "soft"
    return scenario.model_copy(update={"period": period, "process_limits": limits})


# ----------------------------------------------------------------- worker process side


def execute_run(context: JobContext, run_id: str) -> str:
    """Claim and execute one run; returns its final status (``skipped`` if not queued).

    Every failure ends as a ``failed`` run with a one-line error: domain errors
    (bad data, infeasible plant) with their own message, anything else as an
    internal error whose traceback goes to the log. A run cancelled or taken
    over while it executes ends ``stopped`` here, its state left to whoever
    changed it.
    """
    store = worker_store(context.store)
    attempt = run_store.claim_run(store, run_id=run_id)
    if attempt is None:
        return "skipped"
    logger.info("run %s: started (attempt %d)", run_id, attempt)
    try:
        outcome = _solve(store, context, run_id, attempt)
        run_store.finish_run(
            store,
            run_id=run_id,
            dispatch=outcome.dispatch,
            kpis=outcome.kpis,
            solver_report=outcome.solver_report,
            attempt=attempt,
        )
    except (RunStopped, ConflictError) as exc:
        logger.info("run %s: stopped: %s", run_id, exc)
        return "stopped"
    except EnergyOptError as exc:
        logger.info("run %s: failed: %s", run_id, exc)
        error = f"{type(exc).__name__}: {exc}"
        run_store.fail_run(store, run_id=run_id, error=error, attempt=attempt)
        return "failed"
    except Exception as exc:
        logger.error("run %s: internal error\n%s", run_id, traceback.format_exc())
        error = f"internal error: {type(exc).__name__}: {exc}"
        run_store.fail_run(store, run_id=run_id, error=error, attempt=attempt)
        return "failed"
    logger.info("run %s: done", run_id)
    return "done"


def _solve(store: Store, context: JobContext, run_id: str, attempt: int) -> RunOutcome:
    """The run's mode on its scenario, reporting progress as ``attempt``."""
    run = run_store.get_run(store, run_id=run_id)
    mode = MODES.get(run.mode)
    if mode is None:
        raise EnergyOptError(f"mode {run.mode!r} is not available")
    scenario = scenario_for_run(run, context)
    return mode(scenario, run.options, _progress_writer(store, run_id, attempt))


def _progress_writer(store: Store, run_id: str, attempt: int) -> Progress:
    """Progress callback writing at most every :data:`PROGRESS_INTERVAL_S`; raises
    :class:`RunStopped` once a write finds the run no longer this attempt's."""
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if done in (0, total) or now - last[0] >= PROGRESS_INTERVAL_S:
            last[0] = now
            if not run_store.set_progress(
                store, run_id=run_id, windows_done=done, windows_total=total, attempt=attempt
            ):
                raise RunStopped(f"run {run_id} is no longer running as attempt {attempt}")

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
        #: held while polling hands runs on, and by shutdown (no poll revives a stopped pool)
        self._poll_lock = threading.Lock()

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
            return  # a stopping service hands its interrupted runs on itself
        error = future.exception()
        if error is None:
            return
        store = self._store(context.store)
        if isinstance(error, BrokenProcessPool):
            self._after_worker_death(context, store, run_id)
            return
        logger.error("run %s: worker process failed: %r", run_id, error)
        run_store.fail_run(store, run_id=run_id, error=f"internal error: {error!r}")

    def _after_worker_death(self, context: JobContext, store: Store, run_id: str) -> None:
        """A run whose worker died: retried once if it had started, resubmitted if not."""
        status = run_store.retry_or_fail(
            store, run_id=run_id, error=WORKER_DIED_TWICE, retry_modes=tuple(MODES)
        )
        if status == "failed":
            logger.error("run %s: its worker process died again; failed", run_id)
            return
        if status is None and run_store.get_run(store, run_id=run_id).status != "queued":
            return  # finished, cancelled, or another instance's by now
        logger.warning("run %s: its worker process died; running it on a new worker", run_id)
        self.submit(context, run_id)

    def cancel(self, run_id: str) -> bool:
        """Drop the run's task if it still waits in the pool; True if dropped (a
        started run stops by itself once the store says it was cancelled)."""
        with self._lock:
            future = self._active.get(run_id)
        return future is not None and future.cancel()

    def free_slots(self) -> int:
        """Runs the pool could start now without any waiting [-]."""
        return self.pool.free_slots()

    def poll(self, context: JobContext) -> list[str]:
        """Hand queued runs of the store to free slots (runs queued by another
        instance, or queued again after a takeover); returns the ids handed on.

        The worker's claim decides: of two instances handing on the same run,
        one executes it and the other's worker skips it.
        """
        with self._poll_lock:
            free = 0 if self._closing else self.free_slots()
            if free <= 0:
                return []
            active = set(self.active_runs)
            queued = run_store.queued_run_ids(self._store(context.store))
            picked = [run_id for run_id in queued if run_id not in active][:free]
            for run_id in picked:
                self.submit(context, run_id)
            return picked

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
        with self._poll_lock, self._lock:
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
