"""Scenarios through the API: create from a document or a file, validation, replace, delete."""

from __future__ import annotations

import datetime as dt

from service_helpers import tiny_document

from energyopt.service.store import plants as plant_store


def test_create_from_document_and_read_back(api):
    created = api.post("/api/v1/scenarios", json={"document": tiny_document()})
    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["location"] == f"/api/v1/scenarios/{body['id']}"
    assert body["name"] == "tiny"
    series = body["document"]["site"]["series"]["price_eur_per_mwh"]
    assert series["file"] == "data/prices_FR_2023.csv"  # stored relative to the scenarios dir
    assert body["document"]["solver"]["time_limit_s"] == 60.0  # defaults are explicit
    again = api.get(f"/api/v1/scenarios/{body['id']}").json()
    assert again == body
    assert [s["id"] for s in api.get("/api/v1/scenarios").json()] == [body["id"]]
    assert "document" not in api.get("/api/v1/scenarios").json()[0]


def test_create_from_a_file_of_the_scenarios_directory(api):
    created = api.post("/api/v1/scenarios", json={"path": "example.yaml", "name": "lille"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["name"] == "lille"
    assert body["document"]["site"]["weather"]["file"] == "data/weather_lille_pvgis-tmy.csv"


def test_paths_outside_the_data_directories_are_refused(api):
    escape = api.post("/api/v1/scenarios", json={"path": "../pyproject.toml"})
    assert escape.status_code == 422
    assert escape.json()["field"] == "path"
    document = tiny_document()
    document["site"]["series"]["price_eur_per_mwh"]["file"] = "/etc/passwd"
    answer = api.post("/api/v1/scenarios", json={"document": document})
    assert answer.status_code == 422
    assert answer.json()["field"] == "document.site.series.price_eur_per_mwh.file"
    assert api.get("/api/v1/scenarios").json() == []


def test_invalid_replacement_leaves_the_stored_scenario_unchanged(api):
    created = api.post("/api/v1/scenarios", json={"document": tiny_document()}).json()
    bad = tiny_document()
    bad["plant"]["assets"].append({"type": "battery", "name": "bess"})
    answer = api.put(f"/api/v1/scenarios/{created['id']}", json={"document": bad})
    assert answer.status_code == 422
    assert answer.json()["field"].startswith("document.plant.assets[2]")
    assert api.get(f"/api/v1/scenarios/{created['id']}").json() == created
    good = tiny_document(load_kw=10.0)
    replaced = api.put(f"/api/v1/scenarios/{created['id']}", json={"document": good}).json()
    assert replaced["document"]["plant"]["assets"][1]["power_kw"] == 10.0
    assert replaced["created_at"] == created["created_at"]


def test_typo_in_a_key_is_named(api):
    document = tiny_document()
    document["tariffs"]["grid_fee_eur_per_kwh"] = 3
    answer = api.post("/api/v1/scenarios", json={"document": document})
    assert answer.status_code == 422
    assert answer.json()["field"] == "document.tariffs.grid_fee_eur_per_kwh"
    assert "unknown key" in answer.json()["detail"]


def test_body_needs_exactly_one_source(api):
    assert api.post("/api/v1/scenarios", json={}).status_code == 422
    both = {"document": tiny_document(), "path": "example.yaml"}
    assert api.post("/api/v1/scenarios", json=both).status_code == 422


def test_delete_refuses_a_scenario_a_plant_uses(api):
    used = api.post("/api/v1/scenarios", json={"document": tiny_document()}).json()
    free = api.post("/api/v1/scenarios", json={"document": tiny_document()}).json()
    plant_store.create_plant(
        api.store,
        name="lille",
        scenario_id=used["id"],
        planning_time=dt.time(11),
        timezone="Europe/Paris",
    )
    refused = api.delete(f"/api/v1/scenarios/{used['id']}")
    assert refused.status_code == 409
    assert "lille" in refused.json()["detail"]
    assert api.delete(f"/api/v1/scenarios/{free['id']}").status_code == 204
    assert api.get(f"/api/v1/scenarios/{free['id']}").status_code == 404


def test_input_data_are_checked_over_the_scenario_period(api):
    uncovered = tiny_document(start="2030-01-01")
    answer = api.post("/api/v1/scenarios", json={"document": uncovered})
    assert answer.status_code == 422
    assert answer.json()["type"] == "data_error"
    assert "prices_FR_2023.csv" in answer.json()["detail"]
    assert api.get("/api/v1/scenarios").json() == []
    unchecked = api.post("/api/v1/scenarios", json={"document": uncovered, "check_inputs": False})
    assert unchecked.status_code == 201
