"""The daily-planning scheduler: one APScheduler job per plant, kept in the store.

* Jobs live in the service's own database (APScheduler's ``SQLAlchemyJobStore``
  on the store's engine, table ``apscheduler_jobs``), so they survive restarts.
* One job per active plant with the id ``plan-plant-<id>`` and a cron trigger
  at the plant's local planning time in the plant's time zone (daylight saving
  handled by the trigger).
* A planning time missed while the service was down runs at start-up, once:
  the job's next run time stays in the past in the job store, APScheduler
  finds it due when the scheduler starts, ``coalesce`` folds every missed run
  into one and ``misfire_grace_time`` (default: no limit) decides how late is
  still worth planning. A double trigger cannot publish twice: a run for a
  planning instant already published returns that version
  (:func:`energyopt.service.planning.plan_plant`).
* At start-up, an active plant without any schedule is planned at once, so a
  newly registered plant has a schedule without waiting for its first
  planning time.
* Several instances on one database share the job store, so each of them
  fires every job. A fired job first claims the plant's planning instant for
  its instance (a row of ``planning_claims``,
  :func:`energyopt.service.store.instances.claim_planning`); the instance that
  finds the claim held by another live instance skips the plan (outcome
  ``skipped``), so each instant is planned once across instances.
* The solve runs in a separate worker process (``spawn``), so the API keeps
  answering while a plan is made; ``in_process=True`` runs it in the
  scheduler's thread (tests).

* Intraday re-planning (:mod:`energyopt.service.planning.intraday`): a plant
  with ``intraday_every_h`` has a second job, ``intraday-plant-<id>``, every
  that many hours on the local clock from midnight (a cron trigger, so the
  times stay across daylight saving); and every :data:`WATCH_S` seconds the
  job ``intraday-watch`` compares each plant's new state readings with the
  plan in force and re-plans a plant whose state deviates by more than its
  ``intraday_deviation_frac``. Their planning instant is the minute they run
  in, claimed like a daily plan, so several instances re-plan once.

The job functions (:func:`run_planning_job`, :func:`run_intraday_job`,
:func:`run_watch_job`) are referenced by name in the job store; they hand
their work to the scheduler running in this process.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import pandas as pd
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from energyopt.errors import EnergyOptError
from energyopt.inputs.config import Scenario
from energyopt.service.planning import (
    RUN_MODE,
    DataPaths,
    PlanningOptions,
    PlanningOutcome,
    plan_plant,
)
from energyopt.service.planning.calendar import plan_issue
from energyopt.service.planning.intraday import deviation_due, replan_intraday
from energyopt.service.store import PlantRecord, Store, StoreConfig
from energyopt.service.store import plants as plant_store
from energyopt.service.store import runs as run_store
from energyopt.service.store import scenarios as scenario_store
from energyopt.service.store import schedules as schedule_store
from energyopt.service.store.documents import validate_document
from energyopt.service.store.instances import DEFAULT_STALE_AFTER_S, claim_planning
from energyopt.service.workers import WorkerPool, worker_store

logger = logging.getLogger(__name__)

JOB_PREFIX = "plan-plant-"
INTRADAY_PREFIX = "intraday-plant-"
WATCH_JOB = "intraday-watch"
#: how often new state readings are compared with the plan in force [s]
WATCH_S = 60
#: the scheduler of this process that :func:`run_planning_job` hands work to
_ACTIVE: PlanningScheduler | None = None


def job_id(plant_id: int) -> str:
    """Deterministic id of a plant's daily-planning job."""
    return f"{JOB_PREFIX}{plant_id}"


def plant_trigger(plant: PlantRecord) -> CronTrigger:
    """Every day at the plant's local planning time, in the plant's time zone."""
    return CronTrigger(
        hour=plant.planning_time.hour,
        minute=plant.planning_time.minute,
        second=0,
        timezone=plant.timezone,
    )


def intraday_trigger(plant: PlantRecord) -> CronTrigger | None:
    """Every ``intraday_every_h`` on the local clock from midnight, or None when off."""
    every_h = PlanningOptions.of(plant).intraday_every_h
    if every_h is None:
        return None
    if every_h < 1:
        minute, hour = f"*/{round(every_h * 60)}", "*"
    else:
        minute, hour = "0", f"*/{round(every_h)}"
    return CronTrigger(hour=hour, minute=minute, second=0, timezone=plant.timezone)


def _trigger_key(trigger: CronTrigger) -> tuple[str, str]:
    return str(trigger), str(trigger.timezone)


def run_planning_job(plant_id: int) -> dict[str, Any] | None:
    """The scheduled job: plan ``plant_id`` with this process's scheduler, once per
    planning instant across instances."""
    scheduler = _ACTIVE
    if scheduler is None:
        logger.error("planning job for plant %d fired without a running scheduler", plant_id)
        return None
    return scheduler.run_scheduled(plant_id).as_dict()


def run_intraday_job(plant_id: int) -> dict[str, Any] | None:
    """The cadence job: re-plan ``plant_id`` intraday, once per minute across instances."""
    scheduler = _ACTIVE
    if scheduler is None:
        logger.error("intraday job for plant %d fired without a running scheduler", plant_id)
        return None
    return scheduler.run_intraday(plant_id, reason="cadence").as_dict()


def run_watch_job() -> None:
    """The deviation watch: re-plan the plants whose measured state left the plan."""
    scheduler = _ACTIVE
    if scheduler is not None:
        scheduler.check_deviations()


# ----------------------------------------------------------------- worker process side


#: the error of a plan whose worker died on its first attempt and on its retry
WORKER_DIED = "internal error: the planning worker process died twice"


def _fail_dead_plans(store: Store, plant_id: int) -> None:
    """Mark the plant's daily-plan runs left ``running`` by a dead worker of this
    instance (the store's) as failed; other instances' plans are theirs."""
    for run in run_store.list_runs(store, status="running", limit=200):
        ours = run.instance_id == store.instance_id
        if ours and run.mode == RUN_MODE and (run.options or {}).get("plant_id") == plant_id:
            run_store.fail_run(store, run_id=run.id, error="internal error: worker process died")


def _plan_in_worker(
    config: StoreConfig,
    plant_id: int,
    paths: DataPaths,
    now: dt.datetime | None,
    issued_at: dt.datetime | None,
    intraday: bool = False,
) -> PlanningOutcome:
    plan = replan_intraday if intraday else plan_plant
    return plan(worker_store(config), plant_id, paths, now=now, issued_at=issued_at)


# ----------------------------------------------------------------- service side


@dataclasses.dataclass(frozen=True)
class SchedulerConfig:
    """How the service runs its daily planning.

    Attributes
    ----------
    enabled : bool
        Start the scheduler with the service.
    in_process : bool
        Solve in the scheduler's thread instead of a worker process.
    plan_missing_at_start : bool
        Plan active plants that have no schedule yet right after start-up.
    misfire_grace_time_s : int or None
        How late a missed planning time still runs [s]; None: always.
    claim_stale_after_s : float
        Heartbeat age after which another instance's planning claim passes to
        this one [s].
    watch_deviations : bool
        Run the intraday deviation watch (every :data:`WATCH_S` seconds).
    """

    enabled: bool = True
    in_process: bool = False
    plan_missing_at_start: bool = True
    misfire_grace_time_s: int | None = None
    claim_stale_after_s: float = DEFAULT_STALE_AFTER_S
    watch_deviations: bool = True


class PlanningScheduler:
    """APScheduler wiring of the daily planning of every active plant."""

    def __init__(
        self,
        store: Store,
        paths: DataPaths,
        config: SchedulerConfig | None = None,
        pool: WorkerPool | None = None,
    ) -> None:
        self.store = store
        self.paths = paths
        self.config = config or SchedulerConfig()
        self.listeners: list[Callable[[PlanningOutcome], None]] = []
        self.last: dict[int, dict[str, Any]] = {}
        self._scenarios: dict[int, tuple[dict[str, Any], Scenario]] = {}
        self._lock = threading.Lock()
        #: the service's worker pool (plans are urgent there); None: its own when needed
        self.pool = pool
        self._own_pool: WorkerPool | None = None
        self.scheduler = BackgroundScheduler(
            jobstores={
                "default": SQLAlchemyJobStore(engine=store.engine),
                "local": MemoryJobStore(),  # this instance's own jobs (the deviation watch)
            },
            executors={"default": ThreadPoolExecutor(max_workers=2)},
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": self.config.misfire_grace_time_s,
            },
            timezone="UTC",
        )

    @property
    def running(self) -> bool:
        """True while the scheduler runs."""
        return bool(self.scheduler.running)

    # ---- life cycle -------------------------------------------------------------------

    def start(self) -> None:
        """Start: reconcile one job per active plant, catch up missed runs, plan new plants."""
        global _ACTIVE
        _ACTIVE = self
        self.scheduler.start(paused=True)
        plants = plant_store.list_plants(self.store, active_only=True)
        for plant in plants:
            self.sync_plant(plant)
        if self.config.watch_deviations:
            self.scheduler.add_job(
                run_watch_job,
                IntervalTrigger(seconds=WATCH_S),
                id=WATCH_JOB,
                jobstore="local",
                name="intraday deviation watch",
                replace_existing=True,
                misfire_grace_time=WATCH_S,
            )
        self.scheduler.resume()  # due jobs (missed planning times) run now, once each
        if self.config.plan_missing_at_start:
            for plant in plants:
                if schedule_store.latest_ids(self.store, plant_id=plant.id) is None:
                    self.plan_soon(plant.id)
        logger.info("planning scheduler started with %d plant job(s)", len(plants))

    def shutdown(self) -> None:
        """Stop the scheduler (running plans are waited for) and the worker process."""
        global _ACTIVE
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        with self._lock:
            own, self._own_pool = self._own_pool, None
        if own is not None:
            own.shutdown()
        if _ACTIVE is self:
            _ACTIVE = None

    # ---- jobs -------------------------------------------------------------------------

    def sync_plant(self, plant: PlantRecord) -> None:
        """Make the plant's job match its planning time and zone (kept if it already does).

        An unchanged job keeps its next run time, also one in the past: that is
        what makes a missed planning time run at start-up.
        """
        trigger = plant_trigger(plant)
        existing = self.scheduler.get_job(job_id(plant.id))
        if not plant.is_active:
            if existing is not None:
                existing.remove()
            self._sync_intraday(plant)
            return
        if existing is None:
            self.scheduler.add_job(
                run_planning_job,
                trigger,
                args=[plant.id],
                id=job_id(plant.id),
                name=f"daily planning of {plant.name}",
                replace_existing=True,
            )
        elif _trigger_key(existing.trigger) != _trigger_key(trigger):
            existing.reschedule(trigger)
        self._sync_intraday(plant)

    def _sync_intraday(self, plant: PlantRecord) -> None:
        """Make the plant's intraday job match its ``intraday_every_h`` (none when off)."""
        trigger = intraday_trigger(plant) if plant.is_active else None
        existing = self.scheduler.get_job(f"{INTRADAY_PREFIX}{plant.id}")
        if trigger is None:
            if existing is not None:
                existing.remove()
        elif existing is None:
            self.scheduler.add_job(
                run_intraday_job,
                trigger,
                args=[plant.id],
                id=f"{INTRADAY_PREFIX}{plant.id}",
                name=f"intraday re-planning of {plant.name}",
                replace_existing=True,
                misfire_grace_time=round((PlanningOptions.of(plant).intraday_every_h or 1) * 1800),
            )
        elif _trigger_key(existing.trigger) != _trigger_key(trigger):
            existing.reschedule(trigger)

    def plan_soon(self, plant_id: int) -> None:
        """Plan a plant once in the background now (e.g. a plant without any schedule)."""
        self.scheduler.add_job(
            run_planning_job,
            "date",
            run_date=dt.datetime.now(dt.UTC),
            args=[plant_id],
            id=f"initial-{job_id(plant_id)}",
            replace_existing=True,
            misfire_grace_time=None,
        )

    def next_run_time(self, plant_id: int) -> dt.datetime | None:
        """When the plant is planned next (UTC), or None without a job."""
        job = self.scheduler.get_job(job_id(plant_id))
        return None if job is None or job.next_run_time is None else job.next_run_time

    # ---- running a plan -----------------------------------------------------------------

    def run_plant(
        self,
        plant_id: int,
        now: dt.datetime | None = None,
        issued_at: dt.datetime | None = None,
        intraday: bool = False,
    ) -> PlanningOutcome:
        """Plan one plant (in a worker process unless ``in_process``) and tell listeners.

        ``now`` defaults to the current time, ``issued_at`` to the planning
        instant (see :func:`energyopt.service.planning.plan_plant`); with
        ``intraday`` the rest of the current day is re-planned
        (:func:`energyopt.service.planning.intraday.replan_intraday`).
        """
        if self.config.in_process:
            plan = replan_intraday if intraday else plan_plant
            outcome = plan(self.store, plant_id, self.paths, now=now, issued_at=issued_at)
        else:
            outcome = self._plan_in_pool(plant_id, now, issued_at, intraday)
        return self._record(outcome)

    def run_intraday(
        self, plant_id: int, now: dt.datetime | None = None, reason: str = "request"
    ) -> PlanningOutcome:
        """Re-plan a plant intraday as of ``now``, under the minute's planning instant.

        The instant is claimed like a daily plan's, so of several instances
        running the same job one re-plans (the others' outcome is ``skipped``).
        """
        now_ts = pd.Timestamp(now or dt.datetime.now(dt.UTC)).tz_convert("UTC")
        instant = now_ts.floor("min").to_pydatetime()
        logger.info("plant %d: intraday re-plan (%s)", plant_id, reason)
        instance_id = self.store.instance_id
        claimed = instance_id is None or claim_planning(
            self.store,
            plant_id=plant_id,
            issued_at=instant,
            instance_id=instance_id,
            stale_after_s=self.config.claim_stale_after_s,
        )
        if claimed:
            return self.run_plant(plant_id, now_ts.to_pydatetime(), instant, intraday=True)
        day = now_ts.tz_convert(plant_store.get_plant(self.store, plant_id=plant_id).timezone)
        error = f"planning instant {instant.isoformat()} is planned by another instance"
        outcome = PlanningOutcome(plant_id, day.date(), pd.Timestamp(instant), "skipped")
        return self._record(dataclasses.replace(outcome, error=error))

    def check_deviations(self, now: dt.datetime | None = None) -> list[PlanningOutcome]:
        """Re-plan every active plant whose new state readings deviate from its plan."""
        now_ts = pd.Timestamp(now or dt.datetime.now(dt.UTC)).tz_convert("UTC")
        outcomes = []
        for plant in plant_store.list_plants(self.store, active_only=True):
            try:
                scenario = self._scenario(plant)
                found = deviation_due(self.store, plant, scenario, now_ts)
            except EnergyOptError as exc:
                logger.warning("plant %d: deviation check failed: %s", plant.id, exc)
                continue
            if found is not None:
                reason = (
                    f"{found.asset}.{found.quantity} measured at {found.measured_at.isoformat()} "
                    f"is {found.share:.0%} of its range off the plan"
                )
                outcomes.append(self.run_intraday(plant.id, now_ts.to_pydatetime(), reason))
        return outcomes

    def _scenario(self, plant: PlantRecord) -> Scenario:
        """The plant's validated scenario (validated again when its document was replaced)."""
        record = scenario_store.get_scenario(self.store, scenario_id=plant.scenario_id)
        cached = self._scenarios.get(plant.scenario_id)
        if cached is None or cached[0] != record.document:
            scenario = validate_document(
                record.document, roots=self.paths.roots, base_dir=self.paths.base_dir
            )
            cached = (record.document, scenario)
            self._scenarios[plant.scenario_id] = cached
        return cached[1]

    def run_scheduled(self, plant_id: int, now: dt.datetime | None = None) -> PlanningOutcome:
        """Plan the plant's current planning instant unless another live instance claimed it.

        The claim is taken for the store's instance (a store without one, a
        single process, plans without claiming); a skipped plan's outcome is
        ``skipped``, naming the instance that has it.
        """
        instance_id = self.store.instance_id
        now_ts = pd.Timestamp(now or dt.datetime.now(dt.UTC)).tz_convert("UTC")
        if instance_id is None:
            return self.run_plant(plant_id, now=now_ts.to_pydatetime())
        plant = plant_store.get_plant(self.store, plant_id=plant_id)
        instant, day = plan_issue(plant.planning_time, plant.timezone, now_ts, None)
        claimed = claim_planning(
            self.store,
            plant_id=plant_id,
            issued_at=instant.to_pydatetime(),
            instance_id=instance_id,
            stale_after_s=self.config.claim_stale_after_s,
        )
        if claimed:
            return self.run_plant(plant_id, now=now_ts.to_pydatetime())
        error = f"planning instant {instant.isoformat()} is planned by another instance"
        return self._record(PlanningOutcome(plant_id, day, instant, "skipped", error=error))

    def _record(self, outcome: PlanningOutcome) -> PlanningOutcome:
        """Keep the plant's last outcome, tell the listeners, log it."""
        with self._lock:
            self.last[outcome.plant_id] = outcome.as_dict()
        for listener in self.listeners:
            listener(outcome)
        logger.info("plant %d: %s", outcome.plant_id, outcome.as_dict())
        return outcome

    def _plan_in_pool(
        self,
        plant_id: int,
        now: dt.datetime | None,
        issued_at: dt.datetime | None,
        intraday: bool = False,
    ) -> PlanningOutcome:
        """Plan in a worker; a plan whose worker died is retried once on a new one."""
        config = self.store.config()
        for attempt in (1, 2):
            future = self._worker().submit(
                _plan_in_worker,
                config,
                plant_id,
                self.paths,
                now,
                issued_at,
                intraday,
                urgent=True,
            )
            try:
                return future.result()
            except BrokenProcessPool:
                logger.warning("plant %d: the planning worker died (attempt %d)", plant_id, attempt)
                _fail_dead_plans(self.store, plant_id)
        plant = plant_store.get_plant(self.store, plant_id=plant_id)
        now_ts = pd.Timestamp(now or dt.datetime.now(dt.UTC)).tz_convert("UTC")
        instant, day = plan_issue(plant.planning_time, plant.timezone, now_ts, issued_at)
        return PlanningOutcome(plant_id, day, instant, "failed", error=WORKER_DIED)

    def _worker(self) -> WorkerPool:
        if self.pool is not None:
            return self.pool
        with self._lock:
            if self._own_pool is None:
                level = logging.getLogger().getEffectiveLevel()
                self._own_pool = WorkerPool(workers=1, reserved=0, log_level=level)
            return self._own_pool

    # ---- health -------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """Scheduler state for ``/health``: jobs, and each plant's latest schedule and run.

        ``ok`` follows the scheduler thread; fallback and incumbent schedules,
        schedules that miss a process requirement and failed planning runs are
        listed (they need attention but the service itself works).
        """
        plants = {}
        for plant in plant_store.list_plants(self.store, active_only=True):
            latest = schedule_store.list_schedules(self.store, plant_id=plant.id, limit=1)
            entry: dict[str, Any] = {"name": plant.name, "latest_schedule": None}
            if latest:
                row = latest[0]
                entry["latest_schedule"] = {
                    "delivery_date": row["delivery_date"].isoformat(),
                    "version": row["version"],
                    "solve_status": row["solve_status"],
                    "is_fallback": row["is_fallback"],
                    "fallback_reason": row["fallback_reason"],
                    "is_incumbent": row["is_incumbent"],
                    "mip_gap": row["mip_gap"],
                    "has_violations": row["has_violations"],
                }
            next_run = self.next_run_time(plant.id) if self.running else None
            entry["next_planning_at"] = None if next_run is None else next_run.isoformat()
            with self._lock:
                entry["last_planning_run"] = self.last.get(plant.id)
            plants[str(plant.id)] = entry
        return {
            "ok": self.running,
            "state": "running" if self.running else "stopped",
            "plants": plants,
            "fallback_plants": [
                p["name"]
                for p in plants.values()
                if p["latest_schedule"] and p["latest_schedule"]["is_fallback"]
            ],
            "violation_plants": [
                p["name"]
                for p in plants.values()
                if p["latest_schedule"] and p["latest_schedule"]["has_violations"]
            ],
            "failed_plants": [
                p["name"]
                for p in plants.values()
                if p["last_planning_run"] and p["last_planning_run"]["status"] == "failed"
            ],
        }
