"""The dashboard in a real headless Chromium (Debian's package) against uvicorn on loopback.

The page must draw its Plotly charts offline: plotly.js comes from the
service itself, and Chromium runs with background networking disabled.
Chromium is installed with apt-get when missing; if that is impossible the
test is skipped with the reason.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time

import httpx
import pytest
import uvicorn
from browser import browse
from planning_support import SUMMER_NOW, make_settings, planned_powers_kw, store_power_readings

from api.main import create_app
from energyopt.service.planning import DataPaths, plan_plant
from energyopt.service.scheduler import SchedulerConfig
from energyopt.service.store import keys as key_store
from energyopt.service.store import plants as plant_store
from energyopt.service.store import scenarios as scenario_store
from energyopt.service.store import studies as study_store
from energyopt.service.store.documents import document_from_file
from energyopt.service.studies import queue_study
from energyopt.studies.cases import case_key, case_payload, run_case


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _done_study(store, settings) -> None:
    """A finished two-site study of the pilot plant (one day), for the studies section."""
    document = {
        "name": "pilot-sites",
        "sites": {"lille": "example.yaml", "frankfurt": "example-frankfurt.yaml"},
        "period": {"start": "2023-06-05", "end": "2023-06-05"},
        "modes": ["rolling", "baseline"],
    }
    record, study = queue_study(store, path=None, document=document, settings=settings)
    assert study_store.claim_next_study(store).id == record.id
    results = study_store.StoredCaseResults(store, record.id)
    for case in study.cases:
        payload = case_payload(case)
        results.save(case, case_key(payload), run_case(payload))
    assert study_store.finish_study(store, study_id=record.id)


def _metered_as_planned(store, plant_id: int, payload: dict) -> None:
    """Meter readings of the planned (past) day: as planned, but the battery delivers
    100 kW less in one interval and the grid makes up for it."""
    powers = {asset: list(values) for asset, values in planned_powers_kw(payload).items()}
    powers["bess"][40] -= 100.0
    powers["grid"][40] += 100.0
    store_power_readings(store, plant_id, payload, powers)


@pytest.fixture
def server(tmp_path, executor):
    """uvicorn on a free loopback port, a temp SQLite store, one planned plant, a viewer key."""
    settings = make_settings(tmp_path)
    store = settings.open_store()
    store.migrate()
    scenarios = settings.scenarios_dir
    document = document_from_file("example.yaml", scenarios_dir=scenarios)
    scenario = scenario_store.create_scenario(store, name="example", document=document)
    plant = plant_store.create_plant(
        store,
        name="Lille pilot",
        scenario_id=scenario.id,
        planning_time=settings.planning_time,
        timezone="Europe/Paris",
        options={"inputs": "replay"},
    )
    outcome = plan_plant(store, plant.id, DataPaths((scenarios,), scenarios), now=SUMMER_NOW)
    assert outcome.status == "published", outcome.error
    _metered_as_planned(store, plant.id, json.loads(outcome.schedule.payload))
    _done_study(store, settings)
    _, token = key_store.create_key(store, name="wall screen", role="viewer")
    store.close()
    app = create_app(settings, executor=executor)
    app.state.scheduler_config = SchedulerConfig(in_process=True, plan_missing_at_start=False)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code in (200, 503):
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    yield base, token
    uv.should_exit = True
    thread.join(timeout=15)


def test_dashboard_draws_the_plotly_charts_offline(chromium, server, tmp_path):
    base, token = server
    profile = tmp_path / "profile"
    url = f"{base}/?key={token}"  # the page keeps the key in a cookie and redirects to /
    dom = browse(chromium, profile, url, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert "Lille pilot" in html
    assert "main-svg" in html  # Plotly drew its SVG
    assert "Plan vs baseline" in html
    assert "daily_plan" in html  # the planning run is listed
    assert "pilot-sites" in html  # the study with its ranking
    assert "lille/as-is" in html
    assert "frankfurt/as-is" in html
    assert "cost [EUR/a]" in html
    assert "cdn.plot.ly" not in html
    # plan versus actual of the planned day (past now): the waterfalls drew, with their steps
    assert "Plan versus actual, 2026-06-11" in html
    section = re.search(r'id="attribution-\d+".*?<table class="attribution"', html, re.S)
    assert section is not None
    assert "main-svg" in section.group(0)
    for step in ("planned", "forecast error", "execution error", "model error", "realised"):
        assert step in section.group(0)
    assert "kg CO2" in section.group(0)
    assert "<td>bess</td><td>electricity</td>" in html
    shot = tmp_path / "dashboard.png"
    picture = browse(chromium, profile, url, f"--screenshot={shot}")
    assert picture.returncode == 0, picture.stderr[-2000:]
    assert shot.stat().st_size > 20_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_dashboard_without_key_shows_the_login_form(server):
    base, token = server
    answer = httpx.get(f"{base}/")
    assert answer.status_code == 401
    assert '<form method="post" action="/login">' in answer.text
    wrong = httpx.get(f"{base}/", headers={"X-API-Key": "eo_wrong"})
    assert wrong.status_code == 401
    opened = httpx.post(f"{base}/login", data={"key": token}, follow_redirects=False)
    assert opened.status_code == 303
    assert "energyopt_key" in opened.headers["set-cookie"]
    page = httpx.get(f"{base}/", cookies={"energyopt_key": token})
    assert page.status_code == 200
    assert "/static/plotly.min.js" in page.text
    script = httpx.get(f"{base}/static/plotly.min.js")
    assert script.status_code == 200
    assert "plotly" in script.text[:2000].lower()
