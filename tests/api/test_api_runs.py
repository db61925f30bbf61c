"""Runs as jobs: submit, poll, results, failures, restarts and worker crashes."""

from __future__ import annotations

import io
import os
import signal
import time

import numpy as np
import pandas as pd
import pytest
from service_helpers import SCENARIOS, make_settings, open_client, tiny_document

from energyopt.service.jobs import RunExecutor
from energyopt.service.store import runs as run_store

FEE_EUR_PER_MWH = 30.0


def _hand_cost_eur(load_kw: float) -> float:
    """Energy cost of a constant load on 2023-06-05 (Paris day) from the price file [EUR]."""
    prices = pd.read_csv(SCENARIOS / "data" / "prices_FR_2023.csv", index_col=0)
    prices.index = pd.to_datetime(prices.index, utc=True)
    day = prices.loc["2023-06-04T22:00Z":"2023-06-05T21:00Z", "price_eur_per_mwh"]
    assert len(day) == 24
    return float(((day + FEE_EUR_PER_MWH) * load_kw / 1000.0).sum())


def _submit(api, **body):
    answer = api.post("/api/v1/runs", json=body)
    assert answer.status_code == 202, answer.text
    return answer


def test_inline_run_is_accepted_then_done_with_the_hand_computed_cost(api):
    answer = _submit(api, scenario=tiny_document())
    run = answer.json()
    assert run["status"] == "queued"
    assert answer.headers["location"] == f"/api/v1/runs/{run['id']}"
    assert int(answer.headers["retry-after"]) >= 1
    done = api.wait(run["id"])
    assert done["status"] == "done", done["error"]
    assert done["progress"] == {"windows_done": 1, "windows_total": 1, "fraction": 1.0}
    assert done["solver_report"]["status"] == "optimal"
    kpis = api.get(f"/api/v1/runs/{run['id']}/kpis").json()["kpis"]
    expected = _hand_cost_eur(1000.0)
    assert kpis["total_cost_eur"] == pytest.approx(expected, rel=1e-9)
    assert kpis["cost_energy_eur"] == pytest.approx(expected, rel=1e-9)
    assert kpis["grid_import_kwh"] == pytest.approx(24_000.0)


def test_dispatch_json_csv_time_range_and_columns(api):
    run_id = _submit(api, scenario=tiny_document(load_kw=750.0)).json()["id"]
    assert api.wait(run_id)["status"] == "done"
    url = f"/api/v1/runs/{run_id}/dispatch"
    full = api.get(url).json()
    assert full["step_s"] == 3600
    assert full["time"][0] == "2023-06-04T22:00:00Z"  # local midnight in Paris (CEST)
    assert len(full["time"]) == 24
    values = full["values"]
    np.testing.assert_allclose(values["grid.import_kw"], 750.0)
    balance = np.add(values["grid.net_electricity_kw"], values["machines.net_electricity_kw"])
    np.testing.assert_allclose(balance, 0.0, atol=1e-9)
    part = api.get(
        url,
        params={
            "start": "2023-06-05T03:00Z",
            "end": "2023-06-05T06:00Z",
            "columns": "grid.import_kw",
        },
    ).json()
    assert part["time"] == ["2023-06-05T03:00:00Z", "2023-06-05T04:00:00Z", "2023-06-05T05:00:00Z"]
    assert list(part["values"]) == ["grid.import_kw"]
    csv = api.get(url, headers={"Accept": "text/csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    frame = pd.read_csv(io.StringIO(csv.text), index_col="timestamp_utc")
    assert frame.index[0] == "2023-06-04T22:00:00Z"
    np.testing.assert_allclose(frame["grid.import_kw"], values["grid.import_kw"])
    forced = api.get(url, params={"format": "json"}, headers={"Accept": "text/csv"})
    assert forced.headers["content-type"].startswith("application/json")


def test_dispatch_query_errors_name_the_parameter(api):
    run_id = _submit(api, scenario=tiny_document()).json()["id"]
    api.wait(run_id)
    url = f"/api/v1/runs/{run_id}/dispatch"
    naive = api.get(url, params={"start": "2023-06-05T03:00"})
    assert naive.status_code == 422
    assert naive.json()["field"] == "start"
    unknown = api.get(url, params={"columns": "grid.import_kw,nope_kw"})
    assert unknown.status_code == 422
    assert unknown.json()["type"] == "query_error"
    assert "nope_kw" in unknown.json()["detail"]


def test_chart_is_plotly_html(api):
    run_id = _submit(api, scenario=tiny_document()).json()["id"]
    api.wait(run_id)
    html = api.get(f"/api/v1/runs/{run_id}/charts/dispatch", params={"plotlyjs": "cdn"})
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    assert "Plotly.newPlot" in html.text
    assert "electricity [kW]" in html.text
    inline = api.get(f"/api/v1/runs/{run_id}/charts/dispatch")
    assert len(inline.text) > len(html.text) + 1_000_000  # plotly.js embedded: works offline


def test_stored_scenario_with_period_override(api):
    created = api.post("/api/v1/scenarios", json={"path": "example.yaml"})
    assert created.status_code == 201, created.text
    scenario_id = created.json()["id"]
    run = _submit(api, scenario_id=scenario_id, start="2023-06-06", days=1, step="1h").json()
    assert (run["period_start"], run["days"], run["step"]) == ("2023-06-06", 1, "1h")
    assert run["scenario_id"] == scenario_id
    done = api.wait(run["id"])
    assert done["status"] == "done", done["error"]
    kpis = api.get(f"/api/v1/runs/{run['id']}/kpis").json()["kpis"]
    assert kpis["period_start"] == "2023-06-05T22:00:00+00:00"
    assert kpis["pv_generation_kwh"] > 0


def test_run_lifecycle_on_postgresql(pg_api):
    run_id = _submit(pg_api, scenario=tiny_document()).json()["id"]
    done = pg_api.wait(run_id)
    assert done["status"] == "done", done["error"]
    kpis = pg_api.get(f"/api/v1/runs/{run_id}/kpis").json()["kpis"]
    assert kpis["total_cost_eur"] == pytest.approx(_hand_cost_eur(1000.0), rel=1e-9)
    part = pg_api.get(
        f"/api/v1/runs/{run_id}/dispatch", params={"start": "2023-06-05T21:00Z"}
    ).json()
    assert part["time"] == ["2023-06-05T21:00:00Z"]


# ----------------------------------------------------------------- bad requests


def test_malformed_scenario_gives_422_with_the_field_and_stores_nothing(api):
    document = tiny_document()
    document["plant"]["assets"][1]["power_kw"] = -1.0
    answer = api.post("/api/v1/runs", json={"scenario": document})
    assert answer.status_code == 422
    body = answer.json()
    assert body["type"] == "scenario_error"
    assert body["field"] == "scenario.plant.assets[1].power_kw"
    assert "must be >= 0" in body["detail"]
    assert api.get("/api/v1/runs").json() == []
    assert api.get("/api/v1/scenarios").json() == []


@pytest.mark.parametrize(
    ("override", "field"),
    [({"step": "7min"}, "step"), ({"days": 400}, "days"), ({"step": "soon"}, "step")],
)
def test_bad_period_override_gives_422_naming_it(api, override, field):
    answer = api.post("/api/v1/runs", json={"scenario": tiny_document(), **override})
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field
    assert api.get("/api/v1/runs").json() == []


def test_unknown_mode_and_two_sources_are_refused(api):
    bad_mode = api.post("/api/v1/runs", json={"scenario": tiny_document(), "mode": "magic"})
    assert bad_mode.status_code == 422
    assert "magic" in bad_mode.text
    both = api.post("/api/v1/runs", json={"scenario": tiny_document(), "scenario_id": 1})
    assert both.status_code == 422
    missing = api.post("/api/v1/runs", json={"scenario_id": 99})
    assert missing.status_code == 404
    assert missing.json()["type"] == "not_found"


def test_unknown_run_is_404(api):
    answer = api.get("/api/v1/runs/" + "0" * 32)
    assert answer.status_code == 404
    assert answer.json() == {
        "detail": f"run {'0' * 32} does not exist",
        "type": "not_found",
        "field": None,
    }


# ----------------------------------------------------------------- failures


def test_run_without_data_for_its_period_fails_with_the_reason(api):
    run_id = _submit(api, scenario=tiny_document(start="2030-01-01")).json()["id"]
    failed = api.wait(run_id)
    assert failed["status"] == "failed"
    assert failed["error"].startswith("DataError: ")
    assert "prices_FR_2023.csv" in failed["error"]
    assert "\n" not in failed["error"]
    results = api.get(f"/api/v1/runs/{run_id}/kpis")
    assert results.status_code == 409
    assert failed["error"] in results.json()["detail"]


def test_infeasible_run_fails_with_the_diagnosis(api):
    document = tiny_document(load_kw=2500.0, import_max_kw=2000.0)
    failed = api.wait(_submit(api, scenario=document, hard=True).json()["id"])
    assert failed["status"] == "failed"
    assert failed["error"].startswith("InfeasibleError: no feasible plan")
    assert "electricity balance short of supply" in failed["error"].lower()
    assert "conflicting (HiGHS IIS): plant: balance[electricity]" in failed["error"]


def test_a_run_of_a_plant_short_of_supply_is_soft_by_default_and_names_the_violation(api):
    """500 kW of the 2,500 kW load cannot be imported: a plan with the shortfall named,
    priced at 1,000 EUR/kWh and in the total cost."""
    document = tiny_document(load_kw=2500.0, import_max_kw=2000.0)
    done = api.wait(_submit(api, scenario=document).json()["id"])
    assert done["status"] == "done", done["error"]
    (violation,) = done["solver_report"]["violations"]
    hours = done["days"] * 24
    assert violation["requirement"] == "electricity balance short of supply"
    assert violation["amount"] == pytest.approx(500.0 * hours)
    assert violation["peak"] == pytest.approx(500.0)
    kpis = api.get(f"/api/v1/runs/{done['id']}/kpis").json()["kpis"]
    assert kpis["n_violations"] == 1
    assert kpis["cost_violation_eur"] == pytest.approx(1000.0 * 500.0 * hours)


def test_results_of_a_queued_run_are_409(api):
    run = run_store.create_run(
        api.store,
        document=tiny_document(),
        scenario_name="tiny",
        mode="perfect",
        period_start=pd.Timestamp("2023-06-05").date(),
        days=1,
        step="1h",
    )
    for url in ("kpis", "dispatch", "charts/dispatch"):
        answer = api.get(f"/api/v1/runs/{run.id}/{url}")
        assert answer.status_code == 409
        assert "queued" in answer.json()["detail"]
    status = api.get(f"/api/v1/runs/{run.id}")
    assert status.headers["retry-after"] == "2"


def test_list_runs_filters_by_status(api):
    done_id = _submit(api, scenario=tiny_document()).json()["id"]
    failed_id = _submit(api, scenario=tiny_document(start="2030-01-01")).json()["id"]
    api.wait(done_id)
    api.wait(failed_id)
    assert [r["id"] for r in api.get("/api/v1/runs", params={"status": "failed"}).json()] == [
        failed_id
    ]
    assert {r["id"] for r in api.get("/api/v1/runs").json()} == {done_id, failed_id}


# ----------------------------------------------------------------- restarts and crashes


def _queued(store, **period):
    document = tiny_document(**period)
    return run_store.create_run(
        store,
        document=document,
        scenario_name="tiny",
        mode="perfect",
        period_start=pd.Timestamp(document["period"]["start"]).date(),
        days=1,
        step="1h",
    ).id


def test_restart_fails_interrupted_runs_and_executes_queued_ones(tmp_path, executor):
    settings = make_settings(tmp_path)
    store = settings.open_store()
    store.migrate()
    interrupted, waiting = _queued(store), _queued(store)
    assert run_store.claim_run(store, run_id=interrupted)  # a worker had it when the service died
    store.close()
    for api in open_client(settings, executor):
        failed = api.get(f"/api/v1/runs/{interrupted}").json()
        assert failed["status"] == "failed"
        assert failed["error"].startswith("interrupted")
        assert api.wait(waiting)["status"] == "done"


def _kill_workers_once_running(api, executor: RunExecutor, run_id: str, attempt: int) -> None:
    """SIGKILL the pool's worker processes once the run executes as ``attempt``."""
    deadline = time.monotonic() + 60
    while True:
        run = run_store.get_run(api.store, run_id=run_id)
        if run.status == "running" and run.attempts == attempt:
            break
        assert run.status in ("queued", "running"), run
        assert time.monotonic() < deadline, f"attempt {attempt} of run {run_id} never started"
        time.sleep(0.01)
    for process in executor.pool.processes():
        os.kill(process.pid, signal.SIGKILL)


def _week_run(api) -> str:
    created = api.post("/api/v1/scenarios", json={"path": "example.yaml"}).json()
    return _submit(api, scenario_id=created["id"], days=7, step="15min").json()["id"]


def test_a_run_whose_worker_dies_is_retried_once_and_the_pool_recovers(tmp_path):
    own = RunExecutor(workers=1)
    try:
        for api in open_client(make_settings(tmp_path), own):
            run_id = _week_run(api)
            behind = _submit(api, scenario=tiny_document()).json()["id"]  # waits in the pool
            _kill_workers_once_running(api, own, run_id, attempt=1)
            done = api.wait(run_id)
            assert done["status"] == "done", done["error"]
            assert run_store.get_run(api.store, run_id=run_id).attempts == 2
            assert api.wait(behind)["status"] == "done"  # never started: resubmitted
            assert run_store.get_run(api.store, run_id=behind).attempts == 1
            again = _submit(api, scenario=tiny_document()).json()["id"]
            assert api.wait(again)["status"] == "done"
    finally:
        own.shutdown()


def test_a_run_whose_worker_dies_twice_fails_with_the_reason(tmp_path):
    own = RunExecutor(workers=1)
    try:
        for api in open_client(make_settings(tmp_path), own):
            run_id = _week_run(api)
            for attempt in (1, 2):
                _kill_workers_once_running(api, own, run_id, attempt)
            failed = api.wait(run_id)
            assert failed["status"] == "failed"
            assert failed["error"] == "internal error: worker process died twice"
            assert run_store.get_run(api.store, run_id=run_id).attempts == 2
            again = _submit(api, scenario=tiny_document()).json()["id"]
            assert api.wait(again)["status"] == "done"  # the pool works after two deaths
    finally:
        own.shutdown()


def test_shutdown_marks_the_executing_run_failed(tmp_path):
    settings = make_settings(tmp_path)
    for api in open_client(settings, None):  # the app owns its worker pool
        created = api.post("/api/v1/scenarios", json={"path": "example.yaml"}).json()
        run_id = _submit(api, scenario_id=created["id"], days=7, step="15min").json()["id"]
        deadline = time.monotonic() + 60
        while api.get(f"/api/v1/runs/{run_id}").json()["status"] == "queued":
            assert time.monotonic() < deadline
            time.sleep(0.05)
    store = settings.open_store()
    run = run_store.get_run(store, run_id=run_id)
    store.close()
    assert run.status == "failed"
    assert run.error.startswith("interrupted")


@pytest.mark.parametrize("mode", ["rolling", "baseline"])
def test_every_mode_prices_an_inflexible_plant_at_the_hand_computed_cost(api, mode):
    run = _submit(api, scenario=tiny_document(), mode=mode).json()
    assert run["mode"] == mode
    done = api.wait(run["id"])
    assert done["status"] == "done", done["error"]
    assert done["progress"]["windows_done"] == done["progress"]["windows_total"]
    kpis = api.get(f"/api/v1/runs/{run['id']}/kpis").json()["kpis"]
    # a constant load on the grid has no flexibility: every mode pays the same
    assert kpis["total_cost_eur"] == pytest.approx(_hand_cost_eur(1000.0), rel=1e-9)
    if mode == "rolling":
        windows = done["solver_report"]["windows"]
        assert len(windows) == done["progress"]["windows_total"] >= 1
        assert all(w["status"] != "fallback" for w in windows)


def test_rolling_options_are_kept_and_checked(api):
    options = {"forecast": "noisy", "seed": 3, "horizon": "36h", "commit": "1D"}
    run = _submit(api, scenario=tiny_document(days=2), mode="rolling", rolling=options).json()
    assert run["options"] == {**options, "plan_time_local": "11:00", "hard": False}
    done = api.wait(run["id"])
    assert done["status"] == "done", done["error"]
    assert done["progress"] == {"windows_done": 2, "windows_total": 2, "fraction": 1.0}
    kpis = api.get(f"/api/v1/runs/{run['id']}/kpis").json()["kpis"]
    assert kpis["grid_import_kwh"] == pytest.approx(48_000.0)  # forecast errors cannot move it
    short = api.post(
        "/api/v1/runs",
        json={"scenario": tiny_document(), "mode": "rolling", "rolling": {"horizon": "12h"}},
    )
    assert short.status_code == 422
    assert short.json()["field"] == "rolling"
    assert "shorter than commit" in short.json()["detail"]
    wrong_mode = api.post(
        "/api/v1/runs", json={"scenario": tiny_document(), "rolling": {"forecast": "noisy"}}
    )
    assert wrong_mode.status_code == 422
