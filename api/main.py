"""The FastAPI application: :func:`create_app` and its start-up/shutdown.

Start-up (lifespan): open the store and migrate it, create the deployment's
admin key if ``ENERGYOPT_ADMIN_TOKEN`` is set, mark failed the runs left
``running`` that no live service instance executes (a previous process's),
start the worker pool and hand it the runs still queued, queue again the
studies no live instance runs and start the study thread. Shutdown: stop the
study thread and the pool, mark failed the runs it was executing that no
instance took back and queue this instance's unfinished studies again (they
resume at the next start).
``energyopt serve`` also runs the process as a service instance on its
database (``energyopt.service.instances``: heartbeat, take-over of a silent
instance's runs, a stopping instance queues its interrupted runs again).
``app.state`` holds ``settings``, ``store``, ``executor``, ``study_runner``
and ``scheduler`` (None until a scheduler is wired in).
"""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute

from api import access_log, errors, openapi
from api.limits import RequestLimits
from api.routes import (
    attribution,
    audit,
    comparisons,
    dashboard,
    health,
    keys,
    measurements,
    plants,
    runs,
    scenarios,
    schedules,
    setpoints,
    studies,
)
from api.schedule_cache import ScheduleCache
from energyopt import __version__
from energyopt.service.jobs import JobContext, RunExecutor, interrupted_reason
from energyopt.service.planning import DataPaths
from energyopt.service.scheduler import PlanningScheduler, SchedulerConfig
from energyopt.service.settings import Settings, get_settings
from energyopt.service.store import keys as key_store
from energyopt.service.store import runs as run_store
from energyopt.service.store import studies as study_store
from energyopt.service.studies import StudyRunner
from energyopt.service.workers import WorkerPool

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1"


def _operation_id(route: APIRoute) -> str:
    """Stable operation ids for generated clients: ``<tag>-<function name>``."""
    tag = route.tags[0] if route.tags else "service"
    return f"{tag}-{route.name}"


def create_app(settings: Settings | None = None, *, executor: RunExecutor | None = None) -> FastAPI:
    """Build the service.

    Parameters
    ----------
    settings : Settings, optional
        Default: :func:`energyopt.service.settings.get_settings` (the environment).
    executor : RunExecutor, optional
        Worker pool to use (e.g. one shared by several test apps); it is then
        not shut down with the app. Default: a pool of ``settings.worker_count``
        processes owned by the app.
    """
    settings = settings or get_settings()
    app = FastAPI(
        title="energyopt",
        version=__version__,
        summary="Energy planning of battery-cell factories: runs, scenarios, comparisons",
        lifespan=_lifespan,
        generate_unique_id_function=_operation_id,
    )
    app.state.settings = settings
    app.state.own_executor = executor is None
    app.state.executor = executor or RunExecutor(
        pool=WorkerPool(
            workers=settings.worker_count,
            reserved=1,
            log_level=logging.getLevelName(settings.log_level.upper()),
        )
    )
    app.state.store = None
    app.state.scheduler = None
    app.state.study_runner = None
    app.state.scheduler_config = SchedulerConfig()
    app.state.schedule_cache = None
    # inside CORS, so that refusals carry its headers
    app.add_middleware(
        RequestLimits,
        max_body_bytes=settings.max_body_bytes,
        max_json_depth=settings.max_json_depth,
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    errors.install(app)
    access_log.install()
    app.include_router(health.router)
    for module in (scenarios, runs, studies, comparisons, keys, audit):
        app.include_router(module.router, prefix=API_PREFIX)
    for module in (plants, schedules, measurements, setpoints, attribution):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(dashboard.router)
    openapi.install(app)
    return app


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    store = settings.open_store()
    revision = store.migrate()
    logger.info("store %s at revision %s", store.dialect, revision)
    if settings.admin_token is not None:
        key_store.ensure_key(
            store,
            name="deployment admin",
            role="admin",
            token=settings.admin_token.get_secret_value(),
        )
    failed = run_store.fail_interrupted_runs(
        store, reason=interrupted_reason(), stale_after_s=settings.instance_timeout_s
    )
    if failed:
        logger.warning("marked %d interrupted run(s) failed: %s", len(failed), ", ".join(failed))
    app.state.store = store
    executor: RunExecutor = app.state.executor
    executor.start()
    context = JobContext(
        store=store.config(), roots=settings.allowed_data_roots, base_dir=settings.scenarios_dir
    )
    for run_id in run_store.queued_run_ids(store):
        executor.submit(context, run_id)
    _start_studies(app, store, settings)
    _start_planning(app, store, settings)
    # objects alive after start-up (libraries, models) stay: keep them out of the
    # collector's full passes, which otherwise add tens of ms to a request now and then
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        runner: StudyRunner = app.state.study_runner
        runner.stop()
        if app.state.scheduler is not None:
            app.state.scheduler.shutdown()
            app.state.scheduler = None
        if app.state.own_executor:
            executor.shutdown()
            run_store.fail_interrupted_runs(
                store, reason=interrupted_reason(), stale_after_s=settings.instance_timeout_s
            )
        runner.shutdown()
        app.state.study_runner = None
        study_store.requeue_interrupted_studies(store, instance_ids=[settings.instance_id])
        store.close()
        app.state.store = None


def _start_studies(app: FastAPI, store, settings: Settings) -> None:
    """Queue again the studies no live instance runs (they resume), start the study thread."""
    requeued = study_store.requeue_interrupted_studies(
        store, stale_after_s=settings.instance_timeout_s, unowned=True
    )
    if requeued:
        logger.warning("resuming %d interrupted stud(ies): %s", len(requeued), ", ".join(requeued))
    runner = StudyRunner(store, settings, app.state.executor.pool)
    runner.start()
    app.state.study_runner = runner


def _start_planning(app: FastAPI, store, settings: Settings) -> None:
    """Schedule cache, and the daily-planning scheduler unless disabled."""
    cache = ScheduleCache(store)
    app.state.schedule_cache = cache
    config: SchedulerConfig = app.state.scheduler_config
    if not config.enabled:
        return
    paths = DataPaths(settings.allowed_data_roots, settings.scenarios_dir)
    scheduler = PlanningScheduler(store, paths, config, pool=app.state.executor.pool)
    scheduler.listeners.append(lambda outcome: cache.invalidate(outcome.plant_id))
    scheduler.start()
    app.state.scheduler = scheduler
