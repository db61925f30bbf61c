"""Intraday re-planning: from the measured state, holding the day-ahead position,
taking over at the next interval boundary (energyopt.service.planning.intraday)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from planning_support import SUMMER_NOW, make_settings, planning_client

from energyopt.service import schedule
from energyopt.service.control.intervals import intervals_at
from energyopt.service.planning.intraday import planned_level, replan_intraday
from energyopt.service.store import measurements as measurement_store
from energyopt.service.store import plants as plant_store
from energyopt.service.store import runs as run_store

UTC = dt.UTC
#: 10:00 in Paris on the delivery day of the plan made at SUMMER_NOW
READ_AT = dt.datetime(2026, 6, 11, 8, 0, tzinfo=UTC)
#: the re-plan is asked for 5 minutes later, inside the 10:00-10:15 interval
REPLAN_AT = READ_AT + dt.timedelta(minutes=5)
TAKEOVER = pd.Timestamp("2026-06-11T08:15Z")
#: perfect forecasts: the re-plan sees the inputs the day-ahead plan saw
OPTIONS = {"inputs": "replay", "forecast": "perfect"}
CAPACITY_KWH = 2000.0  # bess of scenarios/example.yaml


@pytest.fixture
def papi(tmp_path, executor):
    with planning_client(make_settings(tmp_path), executor) as client:
        yield client


def _day_ahead(papi) -> tuple[int, dict]:
    plant = papi.register(options=OPTIONS)
    outcome = papi.plan(plant["id"], now=SUMMER_NOW)
    assert outcome.status == "published", outcome.error
    return plant["id"], outcome.schedule.payload_data()


def _replan(papi, plant_id: int, soc_frac: float):
    measurement_store.add_measurements(
        papi.store,
        plant_id=plant_id,
        items=[measurement_store.Measurement("bess", "soc_frac", soc_frac, READ_AT)],
    )
    outcome = replan_intraday(papi.store, plant_id, papi.paths, now=REPLAN_AT)
    assert outcome.status == "published", outcome.error
    papi.app.state.schedule_cache.invalidate(plant_id)
    return outcome.schedule


def _planned_soc(payload: dict, at: dt.datetime) -> float:
    level = planned_level(schedule.to_frame(payload), "bess.level_kwh", pd.Timestamp(at))
    assert level is not None
    return level / CAPACITY_KWH


def _setpoints(papi, plant_id: int, at: dt.datetime) -> dict:
    """The interval at ``at`` as ``setpoints/current``, OPC UA and MQTT build it."""
    plant = plant_store.get_plant(papi.store, plant_id=plant_id)
    found = intervals_at(papi.app.state.schedule_cache, plant, at, 0)
    assert found, f"no interval covers {at}"
    return found[0]


def test_a_measured_soc_of_0_9_changes_the_battery_setpoints_from_the_next_interval(papi):
    plant_id, day_ahead = _day_ahead(papi)
    assert _planned_soc(day_ahead, READ_AT) < 0.5  # the plan expected an emptier battery
    version = _replan(papi, plant_id, 0.9)
    payload = version.payload_data()
    assert version.version == 2
    assert payload["intraday"] == {
        "takes_over_at": "2026-06-11T08:15:00Z",
        "keeps_version": 1,
        "position_versions": {"2026-06-11": 1},
    }
    assert payload["state"]["measured"][0]["state"] == {"level_kwh": 0.9 * CAPACITY_KWH}
    assert payload["state"]["planned"] == ["heat_store"]  # unmeasured: as planned at 10:15
    # the running interval keeps its setpoints; the next one starts from the measured 0.9
    running = _setpoints(papi, plant_id, REPLAN_AT)
    assert running["schedule_version"] == 2
    first = _setpoints(papi, plant_id, REPLAN_AT - dt.timedelta(minutes=1))
    assert running["setpoints"] == first["setpoints"]
    old = schedule.to_frame(day_ahead)
    new = schedule.to_frame(payload)
    before = new.index < TAKEOVER
    pd.testing.assert_frame_equal(new.loc[before, old.columns], old.loc[before], atol=1e-4)
    nxt = _setpoints(papi, plant_id, TAKEOVER.to_pydatetime())
    planned = {r["valid_from"]: r for r in [running, nxt]}
    assert nxt["setpoints"]["bess"]["soc_target_frac"] > 0.8
    assert planned["2026-06-11T08:00:00Z"]["setpoints"]["bess"]["soc_target_frac"] < 0.5
    # the extra energy goes somewhere: less is bought than the day-ahead position,
    # the surplus settled at the imbalance price (a cost of the spread per kWh)
    deviation = new["grid.deviation_kw"]
    assert (deviation.loc[before] == 0).all()
    surplus_kwh = -deviation.clip(upper=0).sum() * 0.25
    assert surplus_kwh > 0.5 * (0.9 - _planned_soc(day_ahead, READ_AT)) * CAPACITY_KWH
    run = run_store.get_run(papi.store, run_id=version.run_id)
    assert run.mode == "intraday_plan"
    assert run.kpis["cost_imbalance_eur"] > 0
    # the grid follows the position exactly where it does not deviate
    net = new["grid.import_kw"] - new["grid.export_kw"]
    position = old["grid.import_kw"] - old["grid.export_kw"]
    assert np.allclose(net - deviation, position, atol=1e-3)


def test_an_unchanged_state_gives_the_same_plan_within_the_gap(papi):
    plant_id, day_ahead = _day_ahead(papi)
    version = _replan(papi, plant_id, _planned_soc(day_ahead, READ_AT))
    payload = version.payload_data()
    gap = 0.005  # solver.mip_rel_gap of scenarios/example.yaml
    old_cost = day_ahead["kpis"]["delivery_day"]["grid.energy_cost_eur"]
    new_cost = payload["kpis"]["delivery_day"]["grid.energy_cost_eur"]
    assert new_cost == pytest.approx(old_cost, rel=gap)
    new = schedule.to_frame(payload)
    after = new.index >= TAKEOVER
    moved_kwh = new.loc[after, "grid.deviation_kw"].abs().sum() * 0.25
    bought_kwh = new.loc[after, "grid.import_kw"].sum() * 0.25
    assert moved_kwh < gap * bought_kwh
    # the re-plan kept the day-ahead plan's look-ahead and its stores' end levels
    assert payload["inputs"]["window_end"] == day_ahead["inputs"]["window_end"]


def test_a_state_off_the_plan_triggers_a_re_plan_once(papi):
    plant_id, day_ahead = _day_ahead(papi)
    scheduler = papi.scheduler
    assert scheduler.check_deviations(READ_AT) == []  # no reading yet
    planned = _planned_soc(day_ahead, READ_AT)
    measurement_store.add_measurements(
        papi.store,
        plant_id=plant_id,
        items=[measurement_store.Measurement("bess", "soc_frac", planned + 0.05, READ_AT)],
    )
    assert scheduler.check_deviations(REPLAN_AT) == []  # 5 % of the range: within 10 %
    later = READ_AT + dt.timedelta(minutes=20)
    measurement_store.add_measurements(
        papi.store,
        plant_id=plant_id,
        items=[measurement_store.Measurement("bess", "soc_frac", 0.9, later)],
    )
    at = later + dt.timedelta(minutes=1)
    outcomes = scheduler.check_deviations(at)
    assert [o.status for o in outcomes] == ["published"]
    assert outcomes[0].schedule.payload_data()["intraday"]["takes_over_at"] == (
        "2026-06-11T08:30:00Z"
    )
    # the new version is issued after the reading: it does not trigger again
    assert scheduler.check_deviations(at + dt.timedelta(minutes=1)) == []


def test_re_plan_on_request_over_rest_covers_today_when_nothing_does(papi):
    plant = papi.register(options=OPTIONS)
    answer = papi.post(f"/api/v1/plants/{plant['id']}/plan?intraday=true")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "published", body
    today = pd.Timestamp.now(tz="Europe/Paris").date()
    assert body["delivery_date"] == today.isoformat()
    current = papi.get(f"/api/v1/plants/{plant['id']}/setpoints/current")
    assert current.status_code == 200, current.text
    assert papi.post(f"/api/v1/plants/{plant['id']}/plan?intraday=maybe").status_code == 422


def test_a_plant_with_a_cadence_gets_an_intraday_job_on_the_local_hour(papi):
    plant = papi.register(options={**OPTIONS, "intraday_every_h": 2})
    job = papi.scheduler.scheduler.get_job(f"intraday-plant-{plant['id']}")
    assert job is not None
    local = job.next_run_time.astimezone(pd.Timestamp.now(tz="Europe/Paris").tzinfo)
    assert (local.hour % 2, local.minute, local.second) == (0, 0, 0)
    assert job.next_run_time - dt.datetime.now(UTC) <= dt.timedelta(hours=2)
    other = papi.register(name="no-cadence", options=OPTIONS)
    assert papi.scheduler.scheduler.get_job(f"intraday-plant-{other['id']}") is None
    refused = papi.post(
        "/api/v1/plants",
        role="admin",
        json={"name": "x", "scenario_path": "example.yaml", "options": {"intraday_every_h": 5}},
    )
    assert refused.status_code == 422
    assert "intraday_every_h" in refused.text
    assert "does not divide the day" in refused.text
