"""Measurements: validation against the plant (422 naming the field, nothing stored),
and their use as the initial state of the next plan."""

from __future__ import annotations

import datetime as dt

import pytest
from planning_support import make_settings, planning_client

from energyopt.inputs.config import load_scenario
from energyopt.service.measurements import Reading, StateContext, state_from_readings
from energyopt.service.store import measurements as measurement_store


@pytest.fixture
def papi(tmp_path, executor):
    with planning_client(make_settings(tmp_path), executor) as client:
        client.plant_id = client.register()["id"]
        yield client


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _item(asset="bess", quantity="soc_frac", value=0.5, at=None) -> dict:
    return {
        "asset": asset,
        "quantity": quantity,
        "value": value,
        "measured_at": at or _now().isoformat(),
    }


def _post(papi, *items, role="planner"):
    return papi.post(
        f"/api/v1/plants/{papi.plant_id}/measurements",
        role=role,
        json={"measurements": list(items)},
    )


def test_valid_batch_is_stored_and_latest_per_quantity_is_served(papi):
    earlier = (_now() - dt.timedelta(minutes=10)).isoformat()
    answer = _post(
        papi,
        _item(value=0.4, at=earlier),
        _item(value=0.6),
        _item("heat_store", "level_kwh", 2100.0),
        _item("grid", "peak_import_month_kw", 1500.0),
        _item("grid", "energy_meter_kwh", 123456.0),
    )
    assert answer.status_code == 201, answer.text
    assert len(answer.json()) == 5
    latest = papi.get(f"/api/v1/plants/{papi.plant_id}/measurements/latest").json()
    by_key = {(m["asset"], m["quantity"]): m["value"] for m in latest}
    assert by_key[("bess", "soc_frac")] == 0.6
    assert len(by_key) == 4


@pytest.mark.parametrize(
    ("bad", "field", "text"),
    [
        (_item(value=1.4), "measurements[2].value", "soc_frac 1.4 outside [0, 1] for asset 'bess'"),
        (_item("tank"), "measurements[2].asset", "unknown asset 'tank'"),
        (_item("grid", "soc_frac"), "measurements[2].quantity", "'soc_frac' is not measured"),
        (_item("heat_store", "level_kwh", 3001.0), "measurements[2].value", "outside [0, 3000]"),
        (_item("grid", "peak_import_month_kw", 7000), "measurements[2].value", "outside [0, 6000]"),
        (_item(at="2020-01-01T00:00:00Z"), "measurements[2].measured_at", "is stale"),
        (_item(at="2999-01-01T00:00:00Z"), "measurements[2].measured_at", "in the future"),
        (_item(at="2026-01-01T00:00:00"), "measurements[2].measured_at", "has no time zone"),
    ],
)
def test_bad_item_is_422_naming_its_field_and_nothing_is_stored(papi, bad, field, text):
    _post(papi, _item(value=0.3))
    before = measurement_store.latest_measurements(papi.store, plant_id=papi.plant_id)
    answer = _post(papi, _item(value=0.7), _item("heat_store", "soc_frac", 0.2), bad)
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["field"] == field
    assert body["detail"].startswith(field)
    assert text in body["detail"]
    assert measurement_store.latest_measurements(papi.store, plant_id=papi.plant_id) == before


def test_non_number_is_422_from_the_schema(papi):
    answer = _post(papi, _item(value="lots"))
    assert answer.status_code == 422
    text = '{"measurements": [{"asset": "bess", "quantity": "soc_frac", "value": NaN, '
    text += f'"measured_at": "{_now().isoformat()}"}}]}}'
    answer = papi.http.post(
        f"/api/v1/plants/{papi.plant_id}/measurements",
        content=text,
        headers={**papi.headers("planner"), "Content-Type": "application/json"},
    )
    assert answer.status_code == 422
    assert answer.json()["field"] == "measurements[0].value"


def test_viewer_cannot_report_and_unknown_plant_is_404(papi):
    assert _post(papi, _item(), role="viewer").status_code == 403
    answer = papi.post("/api/v1/plants/99/measurements", json={"measurements": [_item()]})
    assert answer.status_code == 404


def test_accepted_quantities_are_listed_per_asset(papi):
    listed = papi.get(f"/api/v1/plants/{papi.plant_id}/measurements/quantities").json()
    assert set(listed["bess"]) >= {"soc_frac", "level_kwh", "power_kw", "energy_meter_kwh"}
    assert "peak_import_month_kw" in listed["grid"]


def test_next_plan_starts_from_the_measured_levels(papi):
    now = _now()
    assert _post(papi, _item(value=0.9), _item("heat_store", "soc_frac", 0.2)).status_code == 201
    outcome = papi.plan(papi.plant_id, now=now + dt.timedelta(seconds=1), issued_at=now)
    assert outcome.status == "published", outcome.error
    names = [
        f"{a}.{q}"
        for a in ("bess", "heat_store")
        for q in ("level_kwh", "charge_kw", "discharge_kw")
    ]
    url = f"/api/v1/runs/{outcome.run_id}/dispatch"
    values = papi.get(url, params={"columns": ",".join(names)}).json()["values"]
    # first interval of the window: level = measured + dt * (eta_c * charge - discharge / eta_d)
    for asset, initial, eta in (("bess", 1800.0, 0.96), ("heat_store", 600.0, 0.99)):
        charge, discharge = values[f"{asset}.charge_kw"][0], values[f"{asset}.discharge_kw"][0]
        keep = 1.0 if asset == "bess" else (1 - 0.000077) ** 0.25
        expected = keep * initial + 0.25 * (eta * charge - discharge / eta)
        assert values[f"{asset}.level_kwh"][0] == pytest.approx(expected, abs=1e-3)
    state = outcome.schedule.payload_data()["state"]
    assert {s["asset"] for s in state["measured"]} == {"bess", "heat_store"}
    assert state["configured_initial"] == []


def test_dew_point_becomes_dry_room_moisture_via_psychrometrics(example_path):
    scenario = load_scenario(example_path)
    room = {"type": "dry_room", "name": "dry", "floor_area_m2": 1000.0, "height_m": 3.0}
    document = scenario.model_dump(mode="json")
    document["plant"]["assets"].append(room)
    scenario = type(scenario).model_validate(document)
    at = dt.datetime(2026, 6, 10, 8, 0, tzinfo=dt.UTC)
    readings = [Reading("dry", "dew_point_degc", -50.0, at)]
    state, sources = state_from_readings(scenario, readings, StateContext("Europe/Paris"))
    # frost point -50 degC: saturation pressure over ice 3.94 Pa (Murphy & Koop 2005);
    # w = 0.621945 * p_w / (p - p_w); air mass 1000 m2 * 3 m * 1.2 kg/m3
    w = 0.621945 * 3.94 / (101_325.0 - 3.94)
    assert state["dry"]["moisture_kg"] == pytest.approx(3600.0 * w, rel=0.02)
    assert sources[0].quantity == "dew_point_degc"


def test_month_peak_and_oven_readings_map_to_their_state_keys(example_path):
    scenario = load_scenario(example_path)
    at = dt.datetime(2026, 5, 31, 22, 30, tzinfo=dt.UTC)  # 00:30 on 1 June in Paris
    state, _ = state_from_readings(
        scenario,
        [Reading("grid", "peak_import_month_kw", 1700.0, at), Reading("bess", "power_kw", 5, at)],
        StateContext("Europe/Paris"),
    )
    assert state == {"grid": {"peak_kw:2026-06": 1700.0}}


def test_batches_running_becomes_the_formation_running_count(example_path):
    scenario = load_scenario(example_path)
    form = {
        "type": "formation",
        "name": "form",
        "cells_kwh_per_day": 400.0,
        "batches_per_day": 4,
        "racks": 3,
    }
    document = scenario.model_dump(mode="json")
    document["plant"]["assets"].append(form)
    scenario = type(scenario).model_validate(document)
    at = dt.datetime(2026, 6, 10, 8, 0, tzinfo=dt.UTC)
    state, sources = state_from_readings(
        scenario, [Reading("form", "batches_running", 2, at)], StateContext("Europe/Paris")
    )
    assert state == {"form": {"running_count": 2}}
    assert sources[0].quantity == "batches_running"


@pytest.mark.parametrize("value", ["0.5", True, False, None, [0.5], {"v": 0.5}])
def test_value_must_be_a_json_number(papi, value):
    answer = _post(papi, _item(value=0.4), _item(value=value))
    assert answer.status_code == 422, answer.text
    assert ["body", "measurements", 1, "value"] in [e["loc"] for e in answer.json()["detail"]]
    assert measurement_store.latest_measurements(papi.store, plant_id=papi.plant_id) == []


def test_integer_value_is_a_number(papi):
    answer = _post(papi, _item("heat_store", "level_kwh", 2100))
    assert answer.status_code == 201, answer.text


def _rows(papi) -> int:
    import sqlalchemy as sa

    from energyopt.service.store.tables import MeasurementRow

    with papi.store.reading() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(MeasurementRow))


def test_same_reading_twice_is_stored_once(papi):
    at = _now().isoformat()
    first = _post(papi, _item(value=0.5, at=at))
    assert first.status_code == 201, first.text
    again = _post(papi, _item(value=0.5, at=at), _item(value=0.5, at=at))
    assert again.status_code == 201, again.text
    assert {m["id"] for m in again.json()} == {first.json()[0]["id"]}
    assert _rows(papi) == 1


def test_same_reading_with_another_value_is_409_and_stores_nothing(papi):
    at = _now()
    assert _post(papi, _item(value=0.5, at=at.isoformat())).status_code == 201
    later = (at + dt.timedelta(seconds=1)).isoformat()
    # the same instant written in another zone is the same reading
    other_zone = at.astimezone(dt.timezone(dt.timedelta(hours=2))).isoformat()
    answer = _post(papi, _item(value=0.6, at=later), _item(value=0.7, at=other_zone))
    assert answer.status_code == 409, answer.text
    detail = answer.json()["detail"]
    assert "'bess'" in detail
    assert "'soc_frac'" in detail
    assert at.astimezone(dt.UTC).isoformat() in detail
    assert _rows(papi) == 1


def test_conflicting_readings_in_one_batch_are_409(papi):
    at = _now().isoformat()
    answer = _post(papi, _item(value=0.5, at=at), _item(value=0.6, at=at))
    assert answer.status_code == 409, answer.text
    assert _rows(papi) == 0
