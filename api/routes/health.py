"""GET /health: database, solver, worker pool and scheduler state (no key needed).

The worker pool is unhealthy once two tasks in a row lost their worker
(a retried task died again).

The scheduler is optional: until ``app.state.scheduler`` holds one, it is
reported as ``not configured``. A scheduler object may offer ``health() ->
dict`` (with an ``ok`` key) to report more (jobs, last plans, fallbacks);
otherwise its ``running`` attribute is used.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response, status

from api.schemas import ComponentHealth, HealthOut
from energyopt import __version__
from energyopt.model.solve import solver_available
from energyopt.service.store.db import head_revision

router = APIRouter(tags=["health"])


def _database(request: Request) -> ComponentHealth:
    store = request.app.state.store
    if store is None:
        return ComponentHealth(ok=False, detail={"error": "store not open"})
    try:
        latency_s = store.ping()
        revision = store.revision()
    except Exception as exc:  # any driver error means: not healthy
        return ComponentHealth(ok=False, detail={"dialect": store.dialect, "error": str(exc)})
    return ComponentHealth(
        ok=True,
        detail={
            "dialect": store.dialect,
            "revision": revision,
            "up_to_date": revision == head_revision(),
            "latency_ms": round(latency_s * 1000, 2),
        },
    )


def _solver() -> ComponentHealth:
    try:
        available = solver_available()
    except Exception as exc:  # a broken HiGHS install must not break /health
        return ComponentHealth(ok=False, detail={"name": "highs", "error": str(exc)})
    return ComponentHealth(ok=available, detail={"name": "highs", "available": available})


def _workers(request: Request) -> ComponentHealth:
    executor = request.app.state.executor
    report: dict[str, Any] = dict(executor.pool.health())
    report["active_runs"] = len(executor.active_runs)
    return ComponentHealth(ok=bool(report.pop("ok")), detail=report)


def _scheduler(request: Request) -> ComponentHealth:
    scheduler = getattr(request.app.state, "scheduler", None)
    if scheduler is None:
        return ComponentHealth(ok=True, detail={"state": "not configured"})
    if hasattr(scheduler, "health"):
        report: dict[str, Any] = dict(scheduler.health())
        return ComponentHealth(ok=bool(report.pop("ok", True)), detail=report)
    running = bool(getattr(scheduler, "running", False))
    return ComponentHealth(ok=running, detail={"state": "running" if running else "stopped"})


@router.get("/health", response_model=HealthOut, responses={503: {"model": HealthOut}})
def get_health(request: Request, response: Response) -> HealthOut:
    """Service health; 503 when the database, the solver, the worker pool or the
    scheduler is not usable."""
    database, solver = _database(request), _solver()
    scheduler, workers = _scheduler(request), _workers(request)
    healthy = database.ok and solver.ok and scheduler.ok and workers.ok
    if not healthy:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return HealthOut(
        status="ok" if healthy else "degraded",
        version=__version__,
        database=database,
        solver=solver,
        workers=workers,
        scheduler=scheduler,
    )
