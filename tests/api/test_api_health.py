"""GET /health: database, solver, workers and scheduler state."""

from __future__ import annotations

import os
from concurrent.futures.process import BrokenProcessPool

import pytest
from service_helpers import make_settings, open_client

from energyopt.model.solve import solver_available
from energyopt.service.jobs import RunExecutor
from energyopt.service.store.db import head_revision


def _health_with_scheduler(api, scheduler):
    """GET /health with ``app.state.scheduler`` replaced for the one request."""
    wired = api.app.state.scheduler
    api.app.state.scheduler = scheduler
    try:
        return api.http.get("/health")
    finally:
        api.app.state.scheduler = wired


def test_health_reports_every_component(api):
    answer = _health_with_scheduler(api, None)  # none wired in: "not configured"
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["database"]["detail"]["dialect"] == "sqlite"
    assert body["database"]["detail"]["revision"] == head_revision()
    assert body["database"]["detail"]["up_to_date"] is True
    assert body["solver"] == {
        "ok": solver_available(),
        "detail": {"name": "highs", "available": True},
    }
    assert body["workers"]["detail"]["processes"] == 1
    assert body["scheduler"] == {"ok": True, "detail": {"state": "not configured"}}


def test_health_uses_the_scheduler_report_when_there_is_one(api):
    class Scheduler:
        def health(self) -> dict:
            return {"ok": False, "state": "running", "fallback_schedules": 1}

    answer = _health_with_scheduler(api, Scheduler())
    assert answer.status_code == 503
    assert answer.json()["status"] == "degraded"
    assert answer.json()["scheduler"] == {
        "ok": False,
        "detail": {"state": "running", "fallback_schedules": 1},
    }


def test_health_is_degraded_when_the_database_does_not_answer(api, monkeypatch):
    def broken() -> float:
        raise OSError("connection refused")

    monkeypatch.setattr(api.store, "ping", broken)
    answer = api.http.get("/health")
    assert answer.status_code == 503
    assert answer.json()["database"] == {
        "ok": False,
        "detail": {"dialect": "sqlite", "error": "connection refused"},
    }


def test_health_is_degraded_without_solver(api, monkeypatch):
    monkeypatch.setattr("api.routes.health.solver_available", lambda: False)
    answer = api.http.get("/health")
    assert answer.status_code == 503
    assert answer.json()["solver"]["ok"] is False


def _die() -> None:
    os._exit(9)


def test_health_is_503_naming_the_pool_when_retried_tasks_lose_their_workers(tmp_path):
    """Two tasks in a row whose worker died for real: the pool is reported unhealthy."""
    own = RunExecutor(workers=1)
    try:
        for api in open_client(make_settings(tmp_path), own):
            for _ in range(2):
                with pytest.raises(BrokenProcessPool):
                    own.pool.submit(_die).result(timeout=120)
            answer = api.http.get("/health")
            assert answer.status_code == 503
            workers = answer.json()["workers"]
            assert workers["ok"] is False
            assert workers["detail"]["worker_deaths_in_a_row"] == 2
            assert own.pool.submit(os.getpid).result(timeout=120) > 0  # a new worker answers
            assert api.http.get("/health").status_code == 200
    finally:
        own.shutdown()
