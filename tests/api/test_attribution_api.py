"""Plan versus actual through the service, on a crafted day with hand-computed parts.

The plant: a grid connection (200 g CO2/kWh), a 100 kWh battery and a line
whose load is a series file. The plan for 2026-06-11 (Paris) is made at 11:00
the day before by persistence: it expects the 400 kW of the days before, but
the day draws 450 kW. Prices repeat every day, so their forecast is exact,
and no demand charge applies: the re-solve on the actual inputs runs the
battery as planned and costs 50 kW more import in every hour. The battery
follows its setpoints except in one hour, where it delivers 20 kW less than
planned, and the grid meter reads 5 kW in another hour that the model does
not know of. Hand figures (import price = (day-ahead + 30 fee) / 1000 EUR/kWh):

* forecast error = 50 kWh x sum of the day's import prices; 50 x 24 x 0.2 kg CO2;
* execution error = 20 kWh x the import price of that hour; 20 x 0.2 kg;
* model error = 5 kWh x the import price of the other hour; 5 x 0.2 kg.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import numpy as np
import pandas as pd
import pytest
from planning_support import (
    UTC,
    make_settings,
    planning_client,
    store_power_readings,
)
from store_backends import BACKENDS, new_schema, postgres_unavailable, postgres_url

from energyopt.service.planning import day_bounds
from energyopt.service.store import schedules as schedule_store

DAY = dt.date(2026, 6, 11)
PLANNED_AT = dt.datetime(2026, 6, 10, 9, 0, tzinfo=UTC)  # 11:00 in Paris
LOAD_KW, EXTRA_KW = 400.0, 50.0
FEE_EUR_PER_MWH = 30.0
CO2_KG_PER_KWH = 0.2
SHORT_KW, UNEXPLAINED_KW = 20.0, 5.0
URL = "/api/v1/plants/{plant}/attribution/{day}"


def price_eur_per_mwh(stamps: pd.DatetimeIndex) -> np.ndarray:
    """A different day-ahead price in every hour of the day, the same every day."""
    return 30.0 + 7.0 * ((5 * np.asarray(stamps.hour)) % 24)


def write_inputs(folder) -> dict:
    """Price and load files around the day; the scenario document naming them."""
    folder.mkdir(parents=True, exist_ok=True)
    stamps = pd.date_range("2026-06-01", "2026-06-15", freq="1h", tz="UTC", inclusive="left")
    start, end = day_bounds(DAY, "Europe/Paris")
    on_day = (stamps >= start) & (stamps < end)
    times = stamps.strftime("%Y-%m-%dT%H:%M:%SZ")
    pd.DataFrame({"timestamp_utc": times, "price_eur_per_mwh": price_eur_per_mwh(stamps)}).to_csv(
        folder / "prices.csv", index=False
    )
    load = np.where(on_day, LOAD_KW + EXTRA_KW, LOAD_KW)
    pd.DataFrame({"timestamp_utc": times, "load_kw": load}).to_csv(folder / "load.csv", index=False)
    return {
        "name": "crafted",
        "site": {
            "name": "Lille",
            "latitude": 50.63,
            "longitude": 3.06,
            "timezone": "Europe/Paris",
            "series": {
                "price_eur_per_mwh": {
                    "file": str(folder / "prices.csv"),
                    "column": "price_eur_per_mwh",
                },
                "load_kw": {"file": str(folder / "load.csv"), "column": "load_kw"},
            },
        },
        "tariffs": {"grid_fee_eur_per_mwh": FEE_EUR_PER_MWH},
        "period": {"start": DAY.isoformat(), "days": 1, "step": "1h"},
        "plant": {
            "assets": [
                {
                    "type": "grid",
                    "name": "grid",
                    "import_max_kw": 2000,
                    "co2_g_per_kwh": 1000 * CO2_KG_PER_KWH,
                },
                {"type": "battery", "name": "bess", "capacity_kwh": 100, "charge_max_kw": 50},
                {"type": "fixed_load", "name": "line", "series": "load_kw"},
            ]
        },
    }


@pytest.fixture(params=BACKENDS)
def crafted(request, tmp_path, executor):
    """The crafted plant planned for the day, on SQLite and on PostgreSQL."""
    overrides = {}
    if request.param == "postgresql":
        reason = postgres_unavailable()
        if reason:
            pytest.skip(reason)
        overrides = {"database_url": postgres_url(), "database_schema": new_schema()}
    settings = make_settings(tmp_path, **overrides)
    document = write_inputs(settings.data_dir / "crafted")
    try:
        with planning_client(settings, executor) as papi:
            body = {
                "name": "crafted",
                "scenario": document,
                "options": {"step": "1h", "inputs": "live"},
            }
            answer = papi.post("/api/v1/plants", role="admin", json=body)
            assert answer.status_code == 201, answer.text
            papi.plant_id = answer.json()["id"]
            outcome = papi.plan(papi.plant_id, now=PLANNED_AT)
            assert outcome.status == "published", outcome.error
            papi.payload = json.loads(outcome.schedule.payload)
            yield papi
    finally:
        if overrides:
            store = settings.open_store()
            store.drop_schema()
            store.close()


def _meter_the_day(papi) -> tuple[int, int]:
    """Readings of the crafted day; returns the hours of the battery's shortfall and of
    the unexplained grid power."""
    planned = np.array(papi.payload["columns"]["bess.net_electricity_kw"])
    short = int(np.argmax(planned))  # the largest planned discharge
    assert planned[short] >= SHORT_KW
    bess = planned.copy()
    bess[short] -= SHORT_KW
    unexplained = (short + 5) % len(bess)
    grid = LOAD_KW + EXTRA_KW - bess
    grid[unexplained] += UNEXPLAINED_KW
    line = np.full(len(bess), -(LOAD_KW + EXTRA_KW))
    store_power_readings(papi.store, papi.plant_id, papi.payload, {"bess": bess, "line": line})
    # two grid readings per hour, averaged
    store_power_readings(papi.store, papi.plant_id, papi.payload, {"grid": grid - 1.0}, 0)
    store_power_readings(papi.store, papi.plant_id, papi.payload, {"grid": grid + 1.0}, 30)
    return short, unexplained


def test_the_parts_of_a_crafted_day_match_the_hand_figures_and_add_up(crafted):
    short, unexplained = _meter_the_day(crafted)
    answer = crafted.get(URL.format(plant=crafted.plant_id, day=DAY))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    index = pd.DatetimeIndex(pd.to_datetime(crafted.payload["time"], utc=True))
    price = (price_eur_per_mwh(index) + FEE_EUR_PER_MWH) / 1000  # EUR/kWh
    cost, co2 = body["cost_eur"], body["co2_kg"]
    assert cost["forecast_error"] == pytest.approx(EXTRA_KW * price.sum(), abs=1e-3)
    assert cost["execution_error"] == pytest.approx(SHORT_KW * price[short], abs=1e-6)
    assert cost["model_error"] == pytest.approx(UNEXPLAINED_KW * price[unexplained], abs=1e-3)
    assert co2["forecast_error"] == pytest.approx(EXTRA_KW * 24 * CO2_KG_PER_KWH, abs=1e-3)
    assert co2["execution_error"] == pytest.approx(SHORT_KW * CO2_KG_PER_KWH, abs=1e-6)
    assert co2["model_error"] == pytest.approx(UNEXPLAINED_KW * CO2_KG_PER_KWH, abs=1e-3)
    for split in (cost, co2):
        parts = split["forecast_error"] + split["execution_error"] + split["model_error"]
        assert parts == pytest.approx(split["total_deviation"], abs=1e-9)
        assert split["total_deviation"] == pytest.approx(split["realised"] - split["planned"])
    # the plan's own figures: what its delivery-day KPIs say (those before the
    # published columns were rounded to 4 decimals)
    day_kpis = crafted.payload["kpis"]["delivery_day"]
    assert cost["planned"] == pytest.approx(day_kpis["grid.energy_cost_eur"], abs=1e-3)
    assert co2["planned"] == pytest.approx(day_kpis["grid.co2_kg"], abs=1e-3)
    rows = {(r["asset"], r["carrier"]): r for r in body["rows"]}
    bess = rows[("bess", "electricity")]
    assert bess["deviation_kwh"] == pytest.approx(-SHORT_KW)
    assert bess["follows_plan"]
    assert bess["intervals_measured"] == 24
    assert rows[("line", "electricity")]["deviation_kwh"] == pytest.approx(-EXTRA_KW * 24)
    assert rows[("line", "electricity")]["execution_cost_eur"] is None
    assert rows[("grid", "electricity")]["role"] == "balancing"
    assert [(v["version"], v["intervals_in_force"]) for v in body["versions"]] == [(1, 24)]
    assert body["versions"][0]["resolve_status"] == "optimal"
    again = crafted.get(URL.format(plant=crafted.plant_id, day=DAY)).json()
    assert again["computed_at"] == body["computed_at"]  # kept, not solved again
    table = crafted.get(URL.format(plant=crafted.plant_id, day=DAY), params={"format": "csv"})
    assert table.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(table.text)))
    assert [(r["asset"], r["carrier"]) for r in lines] == list(rows)
    assert float(lines[1]["execution_cost_eur"]) == pytest.approx(bess["execution_cost_eur"])


def test_roles_unknown_plants_and_days(crafted):
    url = URL.format(plant=crafted.plant_id, day=DAY)
    assert crafted.http.get(url).status_code == 401
    assert crafted.get(URL.format(plant=999, day=DAY)).status_code == 404
    missing = crafted.get(URL.format(plant=crafted.plant_id, day="2026-06-09"))
    assert missing.status_code == 404
    assert "no schedule for 2026-06-09" in missing.json()["detail"]
    tomorrow = dt.datetime.now(UTC).date() + dt.timedelta(days=1)
    future = crafted.get(URL.format(plant=crafted.plant_id, day=tomorrow))
    assert future.status_code == 409
    assert "is not over yet" in future.json()["detail"]


def test_a_day_without_enough_readings_is_409_naming_the_meters(crafted):
    url = URL.format(plant=crafted.plant_id, day=DAY)
    answer = crafted.get(url)
    assert answer.status_code == 409
    detail = answer.json()["detail"]
    assert "grid.power_kw: no readings" in detail
    assert "bess.power_kw: no readings" in detail
    assert "line.power_kw" not in detail  # a load is not needed
    page = crafted.get("/").text  # the dashboard says why there is no report
    assert "Plan versus actual, 2026-06-11" in page
    assert "No report for this day" in page
    assert "grid.power_kw: no readings" in page
    planned = crafted.payload["columns"]
    store_power_readings(
        crafted.store,
        crafted.plant_id,
        crafted.payload,
        {"bess": planned["bess.net_electricity_kw"]},
    )
    part = {"time": crafted.payload["time"][1:]}
    store_power_readings(crafted.store, crafted.plant_id, part, {"grid": [450.0] * 23})
    detail = crafted.get(url).json()["detail"]
    assert detail.endswith(
        "grid.power_kw: 1 of 24 intervals without a reading (first 2026-06-10 22:00 UTC)"
    )


@pytest.mark.parametrize("crafted", ["sqlite"], indirect=True)
def test_an_intraday_version_takes_over_from_its_issue(crafted):
    _meter_the_day(crafted)
    url = URL.format(plant=crafted.plant_id, day=DAY)
    before = crafted.get(url).json()
    noon = dt.datetime(2026, 6, 11, 10, 0, tzinfo=UTC)  # 12:00 in Paris
    schedule_store.publish_schedule(
        crafted.store,
        plant_id=crafted.plant_id,
        delivery_date=DAY,
        payload=crafted.payload,
        solve_status="optimal",
        issued_at=noon,
    )
    after = crafted.get(url).json()
    assert [(v["version"], v["intervals_in_force"]) for v in after["versions"]] == [
        (1, 12),
        (2, 12),
    ]
    # the same plan and window again: the same split
    for key in ("planned", "forecast_error", "execution_error", "model_error"):
        assert after["cost_eur"][key] == pytest.approx(before["cost_eur"][key], abs=1e-6)
