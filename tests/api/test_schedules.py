"""Published schedules: contents and physics, versions, idempotency, concurrency, CSV,
differences, and what a solver failure or time-out publishes."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import os
import signal
import threading
import time

import numpy as np
import pytest
from planning_support import (
    REPLAY,
    SUMMER_NOW,
    UTC,
    balance_residual_kw,
    make_settings,
    planning_client,
)
from store_backends import BACKENDS, backend_store

import energyopt.engine.rolling.engine as engine_module
from api.routes.setpoints import collect
from energyopt.errors import SolveError
from energyopt.service.planning import DataPaths, plan_plant
from energyopt.service.scheduler import PlanningScheduler, SchedulerConfig
from energyopt.service.store import measurements as measurement_store
from energyopt.service.store import plants as plant_store
from energyopt.service.store import runs as run_store
from energyopt.service.store import scenarios as scenario_store
from energyopt.service.store import schedules as schedule_store
from energyopt.service.store.documents import document_from_file
from energyopt.service.workers import WorkerPool

DAY = "2026-06-11"


@pytest.fixture
def papi(tmp_path, executor):
    with planning_client(make_settings(tmp_path), executor) as client:
        yield client


@pytest.fixture
def planned(papi):
    """A plant with one schedule for 2026-06-11 planned at 12:30 the day before."""
    plant = papi.register()
    outcome = papi.plan(plant["id"])
    assert outcome.status == "published", outcome.error
    return papi, plant["id"]


def test_schedule_is_the_next_local_day_at_15_min_and_balances(planned):
    papi, plant_id = planned
    answer = papi.get(f"/api/v1/plants/{plant_id}/schedules/latest")
    assert answer.status_code == 200
    body = answer.json()
    assert (body["delivery_date"], body["version"]) == (DAY, 1)
    assert body["issued_at"] == "2026-06-10T09:00:00+00:00"  # 11:00 in Paris
    schedule = body["schedule"]
    assert schedule["step_s"] == 900
    assert len(schedule["time"]) == 96
    assert schedule["time"][0] == "2026-06-10T22:00:00Z"  # local midnight
    assert schedule["is_complete_day"]
    for carrier in ("electricity", "heat_ht", "heat_lt", "cooling"):
        assert balance_residual_kw(schedule, carrier) < 1e-3
    assert schedule["inputs"]["window_start"] == "2026-06-10T10:30:00+00:00"
    assert schedule["inputs"]["window_end"] == "2026-06-12T10:30:00+00:00"  # 48 h
    assert schedule["inputs"]["replay_shift_days"] % 7 == 0
    assert schedule["solve"]["status"] == "optimal"


def test_storage_levels_follow_charge_and_discharge_in_the_schedule(planned):
    papi, plant_id = planned
    columns = papi.get(f"/api/v1/plants/{plant_id}/schedules/{DAY}").json()["schedule"]["columns"]
    level = np.array(columns["bess.level_kwh"])
    charge, discharge = np.array(columns["bess.charge_kw"]), np.array(columns["bess.discharge_kw"])
    expected = level[:-1] + 0.25 * (0.96 * charge[1:] - discharge[1:] / 0.96)
    np.testing.assert_allclose(level[1:], expected, atol=2e-3)


def test_kpis_compare_the_plan_with_the_baseline(planned):
    papi, plant_id = planned
    kpis = papi.get(f"/api/v1/plants/{plant_id}/schedules/latest").json()["schedule"]["kpis"]
    plan, base = kpis["window"], kpis["baseline"]
    assert plan["total_cost_eur"] <= base["total_cost_eur"] + 1e-6
    saving = kpis["savings_vs_baseline"]["total_cost_eur"]
    assert saving == pytest.approx(base["total_cost_eur"] - plan["total_cost_eur"])
    day = kpis["delivery_day"]
    assert day["grid.import_kwh"] > 0


def test_the_same_planning_instant_twice_keeps_one_version(planned):
    papi, plant_id = planned
    again = papi.plan(plant_id, now=SUMMER_NOW + dt.timedelta(minutes=20))
    assert again.status == "already_published"
    assert again.schedule.version == 1
    versions = papi.get(f"/api/v1/plants/{plant_id}/schedules/{DAY}/versions").json()
    assert [v["version"] for v in versions] == [1]


def test_new_instants_add_versions_and_old_ones_stay_readable(planned):
    papi, plant_id = planned
    first = papi.get(f"/api/v1/plants/{plant_id}/schedules/{DAY}").json()
    issued = dt.datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
    second = papi.plan(plant_id, now=issued, issued_at=issued)
    assert second.schedule.version == 2
    latest = papi.get(f"/api/v1/plants/{plant_id}/schedules/{DAY}")
    assert latest.json()["version"] == 2
    assert latest.headers["x-schedule-version"] == "2"
    old = papi.get(f"/api/v1/plants/{plant_id}/schedules/{DAY}", params={"version": 1}).json()
    assert old == first
    missing = papi.get(f"/api/v1/plants/{plant_id}/schedules/{DAY}", params={"version": 3})
    assert missing.status_code == 404


def test_csv_by_query_and_by_accept_header_matches_the_json(planned):
    papi, plant_id = planned
    url = f"/api/v1/plants/{plant_id}/schedules/{DAY}"
    schedule = papi.get(url).json()["schedule"]
    by_query = papi.get(url, params={"format": "csv"})
    by_accept = papi.get(url, headers={"Accept": "text/csv"})
    assert by_query.headers["content-type"].startswith("text/csv")
    assert by_query.text == by_accept.text
    rows = list(csv.DictReader(io.StringIO(by_query.text)))
    assert len(rows) == 96
    assert rows[0]["timestamp_utc"] == "2026-06-10T22:00:00Z"
    assert rows[0]["timestamp_local"] == "2026-06-11T00:00:00+0200"
    assert [float(r["grid.import_kw"]) for r in rows] == schedule["columns"]["grid.import_kw"]


def test_diff_reports_changes_per_interval_and_energy_totals(planned):
    papi, plant_id = planned
    issued = dt.datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
    measurement_store.add_measurements(
        papi.store,
        plant_id=plant_id,
        items=[measurement_store.Measurement("bess", "soc_frac", 0.95, issued)],
    )
    papi.plan(plant_id, now=issued, issued_at=issued)
    base = f"/api/v1/plants/{plant_id}/schedules/{DAY}"
    old = papi.get(base, params={"version": 1}).json()["schedule"]["columns"]
    new = papi.get(base, params={"version": 2}).json()["schedule"]["columns"]
    diff = papi.get(f"{base}/diff", params={"from": 1, "to": 2}).json()
    assert (diff["from_version"], diff["to_version"]) == (1, 2)
    assert len(diff["time"]) == 96
    for column, changes in diff["changed"].items():
        np.testing.assert_allclose(
            changes, np.array(new[column]) - np.array(old[column]), atol=1e-6
        )
    assert "bess.level_kwh" in diff["changed"]
    total = diff["totals"].get("grid.import_kw")
    if total is not None:
        assert total["aggregate"] == "energy_kwh"
        expected = 0.25 * (sum(new["grid.import_kw"]) - sum(old["grid.import_kw"]))
        assert total["change"] == pytest.approx(expected, abs=1e-6)
    assert set(diff["unchanged"]).isdisjoint(diff["changed"])


def test_unknown_plant_day_and_no_schedule_are_404(papi):
    assert papi.get("/api/v1/plants/7/schedules/latest").status_code == 404
    plant = papi.register()
    assert papi.get(f"/api/v1/plants/{plant['id']}/schedules/latest").status_code == 404
    assert papi.get(f"/api/v1/plants/{plant['id']}/schedules/{DAY}").status_code == 404


# ----------------------------------------------------------------- solver trouble


def test_solver_failure_publishes_the_baseline_flagged_as_fallback(papi, monkeypatch):
    def no_plan(plant, options, **kw):
        raise SolveError("HiGHS stopped without a plan: maxTimeLimit after 0.0 s")

    monkeypatch.setattr(engine_module, "start_solve", no_plan)
    plant = papi.register()
    _assert_baseline_published(papi, plant, "maxTimeLimit")
    health = papi.http.get("/health").json()["scheduler"]["detail"]
    assert health["fallback_plants"] == ["pilot"]
    assert health["plants"][str(plant["id"])]["latest_schedule"]["is_fallback"]


def test_a_tiny_time_limit_still_publishes_the_baseline(papi):
    """A real HiGHS time-out without a plan: the baseline has no deadline, so it is published."""
    # peak_floor none: no window baseline, so HiGHS has no start to report as incumbent
    plant = papi.register(options={**REPLAY, "time_limit_s": 0.001, "peak_floor": "none"})
    _assert_baseline_published(papi, plant, "kTimeLimit")


def _assert_baseline_published(papi, plant: dict, reason: str) -> None:
    """The plant's plan is published as the baseline, flagged with ``reason``."""
    assert papi.plan(plant["id"]).status == "published"
    body = papi.get(f"/api/v1/plants/{plant['id']}/schedules/latest").json()
    assert body["is_fallback"]
    assert reason in body["fallback_reason"]
    schedule = body["schedule"]
    assert schedule["solve"]["is_fallback"]
    assert max(schedule["columns"]["bess.charge_kw"]) == 0.0  # baseline: idle battery
    assert balance_residual_kw(schedule, "electricity") < 1e-3


def test_time_limit_publishes_the_incumbent_with_its_gap(papi, monkeypatch):
    real = engine_module.start_solve

    class TimeLimit:
        def __init__(self, pending):
            self.pending = pending

        def finish(self, **kw):
            report = self.pending.finish(**kw)
            return dataclasses.replace(report, status="time_limit", mip_gap=0.031)

    def time_limit(plant, options, **kw):
        return TimeLimit(real(plant, options, **kw))

    monkeypatch.setattr(engine_module, "start_solve", time_limit)
    plant = papi.register()
    papi.plan(plant["id"])
    body = papi.get(f"/api/v1/plants/{plant['id']}/schedules/latest").json()
    assert body["is_incumbent"]
    assert not body["is_fallback"]
    assert body["mip_gap"] == pytest.approx(0.031)
    assert body["schedule"]["solve"]["mip_gap"] == pytest.approx(0.031)
    assert body["solve_status"] == "time_limit"


def test_a_real_time_out_publishes_the_incumbent_with_its_gap(papi):
    """The default plant with no gap tolerance and a 2 s limit: HiGHS stops with a plan.

    The window's baseline is HiGHS's first incumbent, so a time-out after
    presolve always leaves a plan at least as good as the baseline.
    """
    document = document_from_file("gigafactory.yaml", scenarios_dir=papi.settings.scenarios_dir)
    document["solver"] = {**document["solver"], "mip_rel_gap": 0.0, "mip_abs_gap_eur": 0.0}
    options = {**REPLAY, "step": "15min", "time_limit_s": 2.0}
    plant = papi.register(name="giga", scenario=document, scenario_path=None, options=options)
    # at local midnight the ovens' daily areas fit the window's first day
    midnight = dt.datetime(2026, 6, 9, 22, 0, tzinfo=dt.UTC)
    outcome = papi.plan(plant["id"], now=midnight)
    assert outcome.status == "published", outcome.error
    body = papi.get(f"/api/v1/plants/{plant['id']}/schedules/latest").json()
    assert body["solve_status"] == "time_limit"
    assert body["is_incumbent"]
    assert not body["is_fallback"]
    # how far HiGHS gets in 2 s depends on the machine: the gap is reported, finite,
    # and the incumbent is never worse than the baseline it started from
    assert 0.0 < body["mip_gap"] < 1.0
    kpis = body["schedule"]["kpis"]
    assert kpis["window"]["total_cost_eur"] <= kpis["baseline"]["total_cost_eur"] + 1e-6
    assert balance_residual_kw(body["schedule"], "electricity") < 1e-3


def test_the_default_plant_registered_during_the_day_publishes_a_plan_naming_its_violations(
    papi,
):
    """07:00 in Paris: 17 production hours are left of the day, and each 3,600 m2/h
    coating line makes 61,200 of its 72,900 m2. The plan runs the lines flat out,
    names each line's shortfall of 11,700 m2 with its penalty, and is flagged."""
    document = document_from_file("gigafactory.yaml", scenarios_dir=papi.settings.scenarios_dir)
    plant = papi.register(name="giga", scenario=document, scenario_path=None, options=REPLAY)
    seven = dt.datetime(2026, 6, 10, 5, 0, tzinfo=dt.UTC)
    outcome = papi.plan(plant["id"], now=seven)
    assert outcome.status == "published", outcome.error
    body = papi.get(f"/api/v1/plants/{plant['id']}/schedules/latest").json()
    schedule = body["schedule"]
    assert schedule["has_violations"]
    lines = [a for a, kind in schedule["assets"].items() if kind == "drying_oven"]
    assert len(lines) == 4
    today = [v for v in schedule["violations"] if v["requirement"] == "daily area target not met"]
    assert sorted(v["asset"] for v in today) == sorted(lines)
    for violation in today:
        assert violation["unit"] == "m2"
        assert violation["amount"] == pytest.approx(72_900 - 17 * 3_600, rel=1e-6)
        assert violation["penalty_eur"] == pytest.approx(violation["amount"] * 40.0)
        assert violation["end"] == "2026-06-10T22:00:00+00:00"  # local midnight
    assert all(v["asset"] != "plant" for v in schedule["violations"])  # energy balances close
    assert any(
        "72,900 m2 due on 2026-06-10 but 17 production hours" in line
        for line in schedule["prechecks"]
    )
    assert not body["is_fallback"]
    assert body["has_violations"]
    record = plant_store.get_plant(papi.store, plant_id=plant["id"])
    cache = papi.app.state.schedule_cache
    intervals = [json.loads(text) for text in collect(cache, record, seven, 2)]
    assert [i["has_violations"] for i in intervals] == [True, True, True]
    page = papi.http.get("/", headers=papi.headers("viewer")).text
    assert f"{len(schedule['violations'])} process\n        requirement(s) missed" in page
    health = papi.http.get("/health").json()
    assert health["scheduler"]["detail"]["violation_plants"] == ["giga"]
    assert health["scheduler"]["detail"]["plants"][str(plant["id"])]["latest_schedule"][
        "has_violations"
    ]
    assert "daily area target not met" in page
    assert "11,700.0 m2" in page


def test_inputs_that_cannot_be_read_fail_the_run_and_publish_nothing(papi):
    plant = papi.register(name="live", options={"inputs": "live"})
    outcome = papi.plan(plant["id"])  # 2026: the 2023 files do not reach the window
    assert outcome.status == "failed"
    assert "inputs end at" in outcome.error
    run = papi.get(f"/api/v1/runs/{outcome.run_id}").json()
    assert run["status"] == "failed"
    assert run["mode"] == "daily_plan"
    assert papi.get(f"/api/v1/plants/{plant['id']}/schedules/latest").status_code == 404


# ----------------------------------------------------------------- concurrency


def _store_plant(store, tmp_path):
    scenarios = make_settings(tmp_path).scenarios_dir
    document = document_from_file("example.yaml", scenarios_dir=scenarios)
    scenario = scenario_store.create_scenario(store, name="example", document=document)
    plant = plant_store.create_plant(
        store,
        name="pilot",
        scenario_id=scenario.id,
        planning_time=dt.time(11, 0),
        timezone="Europe/Paris",
        options=REPLAY,
    )
    return plant.id, DataPaths((scenarios,), scenarios)


@pytest.mark.parametrize("backend", BACKENDS)
def test_concurrent_planning_runs_publish_whole_monotonic_versions(backend, tmp_path):
    with backend_store(backend, tmp_path) as store:
        plant_id, paths = _store_plant(store, tmp_path)
        instants = [SUMMER_NOW, SUMMER_NOW, SUMMER_NOW + dt.timedelta(minutes=5)]
        outcomes, barrier = [None] * 3, threading.Barrier(3)

        def run(i: int) -> None:
            barrier.wait()
            outcomes[i] = plan_plant(store, plant_id, paths, now=instants[i], issued_at=instants[i])

        threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert all(o.status in ("published", "already_published") for o in outcomes), outcomes
        versions = schedule_store.list_versions(
            store, plant_id=plant_id, delivery_date=dt.date(2026, 6, 11)
        )
        assert [v.version for v in versions] == [1, 2]  # one per planning instant
        assert outcomes[0].schedule.id == outcomes[1].schedule.id
        for version in versions:
            payload = version.payload_data()
            assert len(payload["time"]) == 96
            assert all(len(v) == 96 for v in payload["columns"].values())


def test_daylight_saving_day_has_92_quarter_hours(papi):
    plant = papi.register()
    now = dt.datetime(2026, 3, 28, 10, 30, tzinfo=UTC)  # 11:30 in Paris, the day before DST
    outcome = papi.plan(plant["id"], now=now)
    assert outcome.delivery_date == dt.date(2026, 3, 29)
    schedule = outcome.schedule.payload_data()
    assert len(schedule["time"]) == 92  # 23 local hours
    assert schedule["time"][0] == "2026-03-28T23:00:00Z"
    assert schedule["time"][-1] == "2026-03-29T21:45:00Z"
    assert balance_residual_kw(schedule, "electricity") < 1e-3


# ----------------------------------------------------------------- warm models


def test_the_next_plan_updates_the_previous_plans_model_to_the_same_schedule(papi):
    from energyopt.model.cache import WARM_MODELS

    WARM_MODELS.clear()
    plant = papi.register()
    first = papi.plan(plant["id"])
    tomorrow = SUMMER_NOW + dt.timedelta(days=1)
    warm = papi.plan(plant["id"], now=tomorrow)
    WARM_MODELS.clear()  # plan the same day again on a freshly built model
    cold = papi.plan(plant["id"], now=tomorrow, issued_at=tomorrow + dt.timedelta(minutes=5))
    reports = [
        run_store.get_run(papi.store, run_id=o.run_id).solver_report for o in (first, warm, cold)
    ]
    assert [r["model"] for r in reports] == ["build", "update", "build"]
    gap = 2 * 0.005 * abs(reports[2]["objective_eur"])
    assert reports[1]["objective_eur"] == pytest.approx(reports[2]["objective_eur"], abs=gap)
    day = f"/api/v1/plants/{plant['id']}/schedules/{warm.delivery_date}"
    warm_columns, cold_columns = (
        papi.get(day, params={"version": o.schedule.version}).json() for o in (warm, cold)
    )
    for column in ("grid.import_kw", "bess.level_kwh"):
        planned = [np.mean(c["schedule"]["columns"][column]) for c in (warm_columns, cold_columns)]
        assert planned[0] == pytest.approx(planned[1], rel=0.05)


# ----------------------------------------------------------------- dying workers


def test_a_plan_whose_worker_is_killed_is_retried_on_a_new_worker(papi):
    """SIGKILL of the worker in the middle of a plan: the retry publishes, health recovers."""
    pool = WorkerPool(workers=1, reserved=1)
    scheduler = PlanningScheduler(papi.store, papi.paths, SchedulerConfig(), pool=pool)
    plant = papi.register()
    try:
        pool.start()
        outcomes = []
        thread = threading.Thread(
            target=lambda: outcomes.append(scheduler.run_plant(plant["id"], now=SUMMER_NOW))
        )
        thread.start()
        deadline = time.monotonic() + 120
        while not run_store.list_runs(papi.store, status="running"):  # the worker is planning
            assert time.monotonic() < deadline
            time.sleep(0.02)
        killed = [p.pid for p in pool.processes() if p.is_alive()]
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        thread.join(timeout=180)
        assert len(outcomes) == 1
        assert outcomes[0].status == "published", outcomes
        assert not set(killed) & {p.pid for p in pool.processes()}
        assert pool.health()["ok"]
        runs = run_store.list_runs(papi.store, limit=10)
        statuses = sorted(r.status for r in runs if r.mode == "daily_plan")
        assert statuses == ["done", "failed"]  # the killed attempt is not left running
    finally:
        pool.shutdown()
