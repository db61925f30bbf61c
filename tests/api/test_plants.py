"""Plants: registration rules, the daily job each plant gets, re-planning, auth of every route."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from planning_support import make_settings, planning_client

from energyopt.service.scheduler import job_id

#: lowest role of every plant, schedule, measurement and setpoint operation
EXPECTED = {
    ("POST", "/api/v1/plants"): "admin",
    ("GET", "/api/v1/plants"): "viewer",
    ("GET", "/api/v1/plants/{plant_id}"): "viewer",
    ("POST", "/api/v1/plants/{plant_id}/plan"): "planner",
    ("GET", "/api/v1/plants/{plant_id}/schedules"): "viewer",
    ("GET", "/api/v1/plants/{plant_id}/schedules/latest"): "viewer",
    ("GET", "/api/v1/plants/{plant_id}/schedules/{delivery_date}"): "viewer",
    ("GET", "/api/v1/plants/{plant_id}/schedules/{delivery_date}/versions"): "viewer",
    ("GET", "/api/v1/plants/{plant_id}/schedules/{delivery_date}/diff"): "viewer",
    ("POST", "/api/v1/plants/{plant_id}/measurements"): "planner",
    ("GET", "/api/v1/plants/{plant_id}/measurements/latest"): "viewer",
    ("GET", "/api/v1/plants/{plant_id}/measurements/quantities"): "viewer",
    ("GET", "/api/v1/plants/{plant_id}/setpoints/current"): "viewer",
}


@pytest.fixture
def papi(tmp_path, executor):
    with planning_client(make_settings(tmp_path), executor) as client:
        yield client


def _url(path: str, plant_id: int) -> str:
    query = "?from=1" if path.endswith("/diff") else ""
    return (
        path.replace("{plant_id}", str(plant_id)).replace("{delivery_date}", "2026-06-11") + query
    )


def test_every_plant_route_has_its_role(papi):
    plant = papi.register()
    paths = papi.app.openapi()["paths"]
    for (method, path), lowest in EXPECTED.items():
        assert method.lower() in paths[path], (method, path)
        url = _url(path, plant["id"])
        body = {"json": {}} if method == "POST" else {}
        assert papi.http.request(method, url, **body).status_code == 401, (method, path)
        rank = ("viewer", "planner", "admin").index(lowest)
        for role in ("viewer", "planner", "admin")[:rank]:
            answer = papi.http.request(method, url, headers=papi.headers(role), **body)
            assert answer.status_code == 403, (method, path, role)
            assert lowest in answer.json()["detail"]
        answer = papi.http.request(method, url, headers=papi.headers(lowest), **body)
        assert answer.status_code not in (401, 403), (method, path, answer.text)


def test_register_gives_defaults_and_one_job_at_the_local_planning_time(papi):
    plant = papi.register(name="lille")
    assert plant["planning_time"] == "11:00:00"
    assert plant["timezone"] == "Europe/Paris"
    assert plant["options"]["step"] == "15min"
    assert plant["options"]["horizon_h"] == 48
    job = papi.scheduler.scheduler.get_job(job_id(plant["id"]))
    assert job is not None
    assert job.args == (plant["id"],)
    fields = {f.name: str(f) for f in job.trigger.fields}
    assert (fields["hour"], fields["minute"]) == ("11", "0")
    assert str(job.trigger.timezone) == "Europe/Paris"
    next_local = job.next_run_time.astimezone(job.trigger.timezone)
    assert (next_local.hour, next_local.minute) == (11, 0)
    assert papi.get(f"/api/v1/plants/{plant['id']}").json()["next_planning_at"] is not None


def test_register_with_own_time_zone_and_time(papi):
    plant = papi.register(planning_time="09:30", timezone="Asia/Tokyo")
    job = papi.scheduler.scheduler.get_job(job_id(plant["id"]))
    assert str(job.trigger.timezone) == "Asia/Tokyo"
    assert job.next_run_time.astimezone(job.trigger.timezone).time() == dt.time(9, 30)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"options": {"step": "7min"}}, "options.step"),
        ({"options": {"horizon_h": -1}}, "options.horizon_h"),
        ({"options": {"inputs": "guess"}}, "options.inputs"),
        ({"options": {"demand_charge": "monthly"}}, "options.demand_charge"),
    ],
)
def test_bad_registration_is_422_naming_the_field_and_stores_nothing(papi, body, field):
    answer = papi.post(
        "/api/v1/plants",
        role="admin",
        json={"name": "x", "scenario_path": "example.yaml", **body},
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith(field)
    assert papi.get("/api/v1/plants").json() == []


def test_duplicate_name_is_409_and_unknown_scenario_404(papi):
    papi.register(name="same")
    again = papi.post(
        "/api/v1/plants", role="admin", json={"name": "same", "scenario_path": "example.yaml"}
    )
    assert again.status_code == 409
    missing = papi.post("/api/v1/plants", role="admin", json={"name": "y", "scenario_id": 99})
    assert missing.status_code == 404


def test_inline_scenario_document_is_stored_with_the_plant(papi):
    scenario = papi.get("/api/v1/scenarios").json()
    assert scenario == []
    stored = papi.post("/api/v1/scenarios", json={"path": "example.yaml"}).json()
    plant = papi.register(name="inline", scenario_path=None, scenario=stored["document"])
    assert plant["scenario_id"] != stored["id"]
    assert papi.get(f"/api/v1/scenarios/{plant['scenario_id']}").json()["name"] == "example"


def test_replan_publishes_a_new_version_each_time(papi):
    plant = papi.register()
    first = papi.post(f"/api/v1/plants/{plant['id']}/plan").json()
    assert first["status"] == "published", first
    assert first["version"] == 1
    listed = papi.get(f"/api/v1/plants/{plant['id']}").json()
    assert listed["latest_schedule"]["version"] == 1


def test_service_start_registers_the_example_once_and_prints_one_admin_key(tmp_path):
    from energyopt.service.setup import ensure_admin_key, ensure_plant
    from energyopt.service.store import keys as key_store

    settings = make_settings(tmp_path)
    store = settings.open_store()
    store.migrate()
    try:
        first = ensure_plant(store, settings.scenarios_dir, "example", "example.yaml")
        again = ensure_plant(store, settings.scenarios_dir, "example", "example.yaml")
        assert first[1]
        assert again == (first[0], False)
        token = ensure_admin_key(store)
        assert token is not None
        assert ensure_admin_key(store) is None  # created once, printed once
        assert key_store.authenticate(store, token=token).role == "admin"
        with store.reading() as session:
            stored = session.execute(sa.text("SELECT key_hash FROM api_keys")).scalars().all()
        assert token not in stored  # only the hash
    finally:
        store.close()
