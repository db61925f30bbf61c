"""Setpoints for the control system: convention, validity, versions, auth."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from planning_support import make_settings, planning_client

from energyopt.service.control.setpoints import setpoint_rows
from energyopt.service.planning import planning_instant


@pytest.fixture
def current(tmp_path, executor):
    """A plant whose newest schedule covers the current interval."""
    with planning_client(make_settings(tmp_path), executor) as papi:
        plant = papi.register()
        now = dt.datetime.now(dt.UTC)
        # the planning instant of the day before: the delivery day is today
        midnight = pd.Timestamp(now).tz_convert("Europe/Paris").normalize()
        instant = planning_instant(dt.time(11, 0), "Europe/Paris", midnight)
        outcome = papi.plan(plant["id"], now=now, issued_at=instant.to_pydatetime())
        assert outcome.status == "published", outcome.error
        yield papi, plant["id"], outcome.schedule


def test_current_interval_and_the_next_ones_in_the_control_convention(current):
    papi, plant_id, schedule = current
    answer = papi.get(f"/api/v1/plants/{plant_id}/setpoints/current", params={"intervals": 3})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    rows = body["intervals"]
    now = pd.Timestamp.now(tz="UTC")
    assert 1 <= len(rows) <= 4
    first_from, first_to = pd.Timestamp(rows[0]["valid_from"]), pd.Timestamp(rows[0]["valid_to"])
    assert first_from <= now < first_to
    assert first_to - first_from == pd.Timedelta("15min")
    assert all(
        pd.Timestamp(a["valid_to"]) == pd.Timestamp(b["valid_from"])
        for a, b in zip(rows, rows[1:], strict=False)
    )
    assert {r["schedule_version"] for r in rows} == {schedule.version}
    payload = schedule.payload_data()
    position = payload["time"].index(rows[0]["valid_from"])
    columns = payload["columns"]
    bess = rows[0]["setpoints"]["bess"]
    expected = columns["bess.discharge_kw"][position] - columns["bess.charge_kw"][position]
    assert bess["power_kw"] == pytest.approx(expected, abs=0.05)
    assert bess["soc_target_frac"] == pytest.approx(columns["bess.soc_frac"][position], abs=1e-3)
    assert "machines" not in rows[0]["setpoints"]  # fixed loads take no command
    assert "positive = discharge" in body["convention"]


def test_setpoints_need_a_viewer_key_and_a_covering_schedule(current, tmp_path):
    papi, plant_id, _ = current
    url = f"/api/v1/plants/{plant_id}/setpoints/current"
    assert papi.http.get(url).status_code == 401
    assert papi.get(url, params={"intervals": 500}).status_code == 422
    other = papi.register(name="unplanned")
    assert papi.get(f"/api/v1/plants/{other['id']}/setpoints/current").status_code == 404


def test_setpoint_rules_signs_and_curtailment_limits():
    payload = {
        "assets": {"b": "battery", "t": "thermal_storage", "pv": "pv", "g": "grid", "c": "chiller"},
        "time": ["2026-06-11T00:00:00Z", "2026-06-11T00:15:00Z"],
        "columns": {
            "b.charge_kw": [500.0, 0.0],
            "b.discharge_kw": [0.0, 250.0],
            "b.soc_frac": [0.6, 0.47],
            "t.charge_kw": [0.0, 100.0],
            "t.discharge_kw": [40.0, 0.0],
            "t.soc_frac": [0.5, 0.52],
            "pv.power_kw": [300.0, 800.0],
            "pv.curtailed_kw": [120.0, 0.0],
            "g.import_kw": [1000.0, 0.0],
            "g.export_kw": [0.0, 200.0],
            "c.cooling_kw": [900.0, 450.0],
        },
    }
    first, second = setpoint_rows(payload)
    assert (first["b"]["power_kw"], second["b"]["power_kw"]) == (-500.0, 250.0)
    assert (first["t"]["power_kw"], second["t"]["power_kw"]) == (40.0, -100.0)
    assert (first["pv"]["power_limit_kw"], second["pv"]["power_limit_kw"]) == (300.0, None)
    assert (first["g"]["exchange_kw"], second["g"]["exchange_kw"]) == (1000.0, -200.0)
    assert second["c"]["output_kw"] == 450.0
