"""Hostile input never reaches a 500: it answers 4xx naming the field and stores nothing."""

from __future__ import annotations

import json

import pytest
from service_helpers import make_settings, open_client, tiny_document

from energyopt.service.store import scenarios as scenario_store

BIG = 2**63
INT32_OVER = 2**31


def _raw(api, method: str, url: str, text: str | bytes, role: str = "planner", **headers: str):
    """Send ``text`` as a JSON body verbatim (NaN and 1e309 are not valid JSON for httpx)."""
    return api.http.request(
        method,
        url,
        content=text,
        headers={**api.headers(role), "content-type": "application/json", **headers},
    )


def _locs(answer) -> list[list]:
    return [item["loc"] for item in answer.json()["detail"]]


def _scenario_count(api) -> int:
    return len(scenario_store.list_scenarios(api.store))


# ----------------------------------------------------------------- 1. non-finite numbers


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e309", "-1e400"])
def test_non_finite_number_in_document_is_422_naming_the_field(api, number):
    text = json.dumps({"document": tiny_document()}).replace("1000.0", number)
    answer = _raw(api, "POST", "/api/v1/scenarios", text)
    assert answer.status_code == 422, answer.text
    assert ["body", "document", "plant", "assets", 1, "power_kw"] in _locs(answer)
    assert _scenario_count(api) == 0


@pytest.mark.parametrize("number", ["NaN", "Infinity", "1e309"])
def test_non_finite_number_in_a_typed_field_is_422(api, number):
    text = '{"scenario_id": 1, "rolling": {"seed": NUMBER}, "mode": "rolling"}'
    text = text.replace("NUMBER", number)
    answer = _raw(api, "POST", "/api/v1/runs", text)
    assert answer.status_code == 422, answer.text
    assert ["body", "rolling", "seed"] in _locs(answer)


def test_validation_error_with_non_finite_input_encodes(api):
    from api.errors import _finite

    assert _finite({"a": [float("nan"), float("inf"), 1.0]}) == {"a": ["nan", "inf", 1.0]}


@pytest.mark.parametrize("value", [1e308, -1e300, 1e16])
def test_overflowing_number_in_document_is_refused_at_validation(api, value):
    document = tiny_document(load_kw=value)
    answer = api.post("/api/v1/scenarios", json={"document": document})
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "document.plant.assets[1].power_kw"
    assert _scenario_count(api) == 0


# ----------------------------------------------------------------- 2. integers out of range


@pytest.mark.parametrize("number", [INT32_OVER, BIG, 10**30, -BIG])
@pytest.mark.parametrize(
    ("method", "template", "role"),
    [
        ("GET", "/api/v1/scenarios/{}", "viewer"),
        ("DELETE", "/api/v1/scenarios/{}", "planner"),
        ("GET", "/api/v1/plants/{}", "viewer"),
        ("GET", "/api/v1/plants/{}/measurements/latest", "viewer"),
        ("GET", "/api/v1/plants/{}/schedules/latest", "viewer"),
        ("DELETE", "/api/v1/keys/{}", "admin"),
    ],
)
def test_huge_id_in_path_is_404_or_422(api, method, template, role, number):
    answer = api.http.request(method, template.format(number), headers=api.headers(role))
    assert answer.status_code in (404, 422), answer.text


@pytest.mark.parametrize("number", [INT32_OVER, BIG, 10**30])
def test_huge_id_in_body_is_422_naming_the_field(api, number):
    answer = api.post("/api/v1/runs", json={"scenario_id": number})
    assert answer.status_code == 422, answer.text
    assert ["body", "scenario_id"] in _locs(answer)
    answer = api.post("/api/v1/plants", role="admin", json={"name": "x", "scenario_id": number})
    assert answer.status_code == 422, answer.text
    assert ["body", "scenario_id"] in _locs(answer)


@pytest.mark.parametrize("query", ["offset=9223372036854775808", "offset=2147483648"])
def test_huge_offset_is_422(api, query):
    for url in ("/api/v1/runs", "/api/v1/scenarios"):
        answer = api.get(f"{url}?{query}")
        assert answer.status_code == 422, answer.text
        assert ["query", "offset"] in _locs(answer)


@pytest.mark.parametrize("number", [INT32_OVER, BIG])
def test_huge_ids_on_postgresql_are_404_or_422(pg_api, number):
    for url in (f"/api/v1/scenarios/{number}", f"/api/v1/plants/{number}"):
        assert pg_api.get(url).status_code in (404, 422)
    assert pg_api.post("/api/v1/runs", json={"scenario_id": number}).status_code == 422
    document = tiny_document()
    assert pg_api.post("/api/v1/scenarios", json={"document": document}).status_code == 201
    answer = pg_api.post("/api/v1/runs", json={"scenario_id": 1, "days": number})
    assert answer.status_code == 422, answer.text


# ----------------------------------------------------------------- 3. ends of the calendar


def _plant(api) -> int:
    body = {"name": "p", "scenario": tiny_document()}
    answer = api.post("/api/v1/plants", role="admin", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_dates_at_the_ends_of_the_calendar_are_422(api, day):
    answer = api.post("/api/v1/runs", json={"scenario": tiny_document(), "start": day, "days": 1})
    assert answer.status_code == 422, answer.text
    assert ["body", "start"] in _locs(answer)
    plant_id = _plant(api)
    for suffix in ("", "/versions", "/diff?from=1"):
        answer = api.get(f"/api/v1/plants/{plant_id}/schedules/{day}{suffix}")
        assert answer.status_code == 422, answer.text
        assert ["path", "delivery_date"] in _locs(answer)


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_times_at_the_ends_of_the_calendar_are_422(api, stamp):
    run = api.post("/api/v1/runs", json={"scenario": tiny_document()})
    assert run.status_code == 202, run.text
    answer = api.get(f"/api/v1/runs/{run.json()['id']}/dispatch", params={"start": stamp})
    assert answer.status_code == 422, answer.text
    assert ["query", "start"] in _locs(answer)


# ----------------------------------------------------------------- 4. NUL characters


def test_nul_in_body_string_is_422_naming_the_field(api):
    document = tiny_document()
    document["name"] = "bad\x00name"
    answer = api.post("/api/v1/scenarios", json={"document": document})
    assert answer.status_code == 422, answer.text
    assert ["body", "document", "name"] in _locs(answer)
    answer = api.post("/api/v1/keys", role="admin", json={"name": "a\x00b", "role": "viewer"})
    assert answer.status_code == 422, answer.text
    assert ["body", "name"] in _locs(answer)
    assert _scenario_count(api) == 0


def test_nul_in_path_and_query_is_422(api):
    answer = api.get("/api/v1/runs/ab%00cd")
    assert answer.status_code == 422, answer.text
    assert _locs(answer) == [["path"]]
    answer = api.get("/api/v1/comparisons/ab%00cd")
    assert answer.status_code == 422, answer.text
    answer = api.get("/api/v1/runs/x/dispatch?columns=a%00b")
    assert answer.status_code == 422, answer.text
    assert _locs(answer) == [["query", "columns"]]


def test_nul_on_postgresql_is_422(pg_api):
    document = tiny_document()
    document["description"] = "\x00"
    answer = pg_api.post("/api/v1/scenarios", json={"document": document, "name": "n\x00"})
    assert answer.status_code == 422, answer.text
    assert pg_api.get("/api/v1/runs/a%00b").status_code == 422


# ----------------------------------------------------------------- 5. size and depth


def test_deep_nesting_is_422(api):
    text = '{"document": ' + "[" * 10_000 + "]" * 10_000 + "}"
    answer = _raw(api, "POST", "/api/v1/scenarios", text)
    assert answer.status_code == 422, answer.text
    assert _locs(answer)[0][0] == "body"
    text = '{"document": ' + "[" * 100 + "]" * 100 + "}"  # deeper than 64, not recursion-deep
    answer = _raw(api, "POST", "/api/v1/scenarios", text)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["type"] == "too_deep"


def test_nesting_beyond_the_setting_is_422(tmp_path, executor):
    settings = make_settings(tmp_path, max_json_depth=4)
    for client in open_client(settings, executor):
        text = json.dumps({"document": {"plant": {"assets": [[1]]}}})
        answer = _raw(client, "POST", "/api/v1/scenarios", text)
        assert answer.status_code == 422, answer.text
        assert _locs(answer) == [["body", "document", "plant", "assets", 0]]


def test_oversized_body_is_413_and_stores_nothing(api):
    document = tiny_document()
    document["description"] = "x" * 2_100_000
    answer = api.post("/api/v1/scenarios", json={"document": document})
    assert answer.status_code == 413, answer.text
    assert _scenario_count(api) == 0


def test_oversized_streamed_body_is_413(api):
    def chunks():
        for _ in range(300):
            yield b"x" * 10_000

    answer = api.http.post(
        "/api/v1/scenarios",
        content=chunks(),
        headers={**api.headers("planner"), "content-type": "application/json"},
    )
    assert answer.status_code == 413, answer.text


def test_oversized_headers_are_431(api):
    answer = api.get("/api/v1/scenarios", headers={"x-padding": "y" * 20_000})
    assert answer.status_code == 431, answer.text


def test_too_many_assets_is_422(api):
    document = tiny_document()
    document["plant"]["assets"] += [
        {"type": "fixed_load", "name": f"load{i}", "power_kw": 1.0} for i in range(600)
    ]
    answer = api.post("/api/v1/scenarios", json={"document": document})
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "document.plant.assets"
    assert _scenario_count(api) == 0


def test_too_many_series_is_422(api):
    document = tiny_document()
    source = document["site"]["series"]["price_eur_per_mwh"]
    document["site"]["series"] = {f"s{i}": source for i in range(501)}
    answer = api.post("/api/v1/scenarios", json={"document": document})
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "document.site.series"
