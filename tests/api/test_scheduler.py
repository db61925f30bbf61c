"""The daily-planning scheduler: a job at a controlled time publishes, a missed planning
time is caught up exactly once after a restart, jobs survive restarts in the store."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import sqlalchemy as sa
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from planning_support import make_settings, planning_client

from energyopt.service.planning import delivery_date, planning_instant
from energyopt.service.scheduler import SchedulerConfig, job_id, run_planning_job
from energyopt.service.store import plants as plant_store
from energyopt.service.store import schedules as schedule_store
from energyopt.service.store.tables import PlantRow

WAIT_S = 60


def _wait_for(predicate, timeout_s: float = WAIT_S):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def _rewind_job(settings, plant_id: int, when: dt.datetime) -> None:
    """Set a stored job's next run time as if the service had been down since ``when``."""
    store = settings.open_store()
    try:
        jobs = SQLAlchemyJobStore(engine=store.engine)
        jobs.start(BackgroundScheduler(), "default")
        job = jobs.lookup_job(job_id(plant_id))
        job.next_run_time = when
        jobs.update_job(job)
    finally:
        store.close()


def _versions(store, plant_id, day):
    return schedule_store.list_versions(store, plant_id=plant_id, delivery_date=day)


def test_a_job_fired_a_second_ahead_publishes_a_version(tmp_path, executor):
    with planning_client(make_settings(tmp_path), executor) as papi:
        plant = papi.register()
        run_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
        papi.scheduler.scheduler.add_job(
            run_planning_job, "date", run_date=run_at, args=[plant["id"]], id="probe"
        )
        found = _wait_for(lambda: schedule_store.latest_ids(papi.store, plant_id=plant["id"]))
        instant = planning_instant(dt.time(11, 0), "Europe/Paris", run_at)
        record = schedule_store.get_schedule_by_id(papi.store, schedule_id=found[0])
        assert record.delivery_date == delivery_date(instant, "Europe/Paris")
        assert record.issued_at == instant.to_pydatetime()
        assert papi.scheduler.last[plant["id"]]["status"] == "published"
        answer = papi.get(f"/api/v1/plants/{plant['id']}/schedules/latest")
        assert answer.json()["version"] == 1  # the cache saw the publish


def test_missed_planning_time_runs_once_after_a_restart(tmp_path, executor):
    settings = make_settings(tmp_path)
    with planning_client(settings, executor) as papi:
        plant = papi.register()
        plant_id = plant["id"]
    # the service "was down" at the last planning time: the stored job still points there
    instant = planning_instant(dt.time(11, 0), "Europe/Paris", dt.datetime.now(dt.UTC))
    _rewind_job(settings, plant_id, instant.to_pydatetime())
    day = delivery_date(instant, "Europe/Paris")
    with planning_client(settings, executor) as papi:
        versions = _wait_for(lambda: _versions(papi.store, plant_id, day))
        time.sleep(1.0)  # a second catch-up would land in this time
        versions = _versions(papi.store, plant_id, day)
        assert [v.version for v in versions] == [1]
        assert versions[0].issued_at == instant.to_pydatetime()
        next_run = papi.scheduler.next_run_time(plant_id)
        assert next_run > dt.datetime.now(dt.UTC)  # rescheduled to the next day
        # the regular trigger for the same instant (a double fire) adds nothing
        assert run_planning_job(plant_id)["status"] == "already_published"
        assert len(_versions(papi.store, plant_id, day)) == 1
    with planning_client(settings, executor) as papi:
        time.sleep(1.0)
        assert len(_versions(papi.store, plant_id, day)) == 1  # no catch-up twice


def test_jobs_live_in_the_store_and_follow_a_changed_planning_time(tmp_path, executor):
    settings = make_settings(tmp_path)
    with planning_client(settings, executor) as papi:
        plant = papi.register(planning_time="10:15")
        first = papi.scheduler.next_run_time(plant["id"])
        with papi.store.reading() as session:
            rows = session.execute(sa.text("SELECT id FROM apscheduler_jobs")).all()
        assert [r[0] for r in rows] == [job_id(plant["id"])]
    with planning_client(settings, executor) as papi:
        assert papi.scheduler.next_run_time(plant["id"]) == first  # kept, not re-created
        with papi.store.transaction() as session:
            session.get(PlantRow, plant["id"]).planning_time = dt.time(9, 45)
        papi.scheduler.sync_plant(plant_store.get_plant(papi.store, plant_id=plant["id"]))
        moved = papi.scheduler.next_run_time(plant["id"]).astimezone(
            papi.scheduler.scheduler.get_job(job_id(plant["id"])).trigger.timezone
        )
        assert (moved.hour, moved.minute) == (9, 45)


def test_new_plant_without_schedule_is_planned_at_start(tmp_path, executor):
    settings = make_settings(tmp_path)
    quiet = SchedulerConfig(enabled=False)
    with planning_client(settings, executor, quiet) as papi:
        plant_id = papi.register()["id"]
        assert papi.scheduler is None
    eager = SchedulerConfig(in_process=True, plan_missing_at_start=True)
    with planning_client(settings, executor, eager) as papi:
        found = _wait_for(lambda: schedule_store.latest_ids(papi.store, plant_id=plant_id))
        assert found is not None
        health = papi.http.get("/health").json()["scheduler"]
        assert health["ok"]
        assert health["detail"]["plants"][str(plant_id)]["latest_schedule"]["version"] == 1


@pytest.mark.parametrize("zone", ["Europe/Paris", "America/New_York"])
def test_planning_instant_and_delivery_day_follow_the_local_clock(zone):
    at = dt.datetime(2026, 3, 29, 9, 30, tzinfo=dt.UTC)  # Paris switched to summer time today
    instant = planning_instant(dt.time(11, 0), zone, at)
    local = instant.tz_convert(zone)
    assert (local.hour, local.minute) == (11, 0)
    assert instant <= at < instant + dt.timedelta(days=1)
    assert delivery_date(instant, zone) == local.date() + dt.timedelta(days=1)
