"""Studies through the service: submit, follow, rank, report, cancel, resume, refuse.

The cases run the bundled pilot plant (``example.yaml`` at Lille and
``example-frankfurt.yaml``) for one day at hourly steps, on the shared
worker pool of the API tests (and once on a Dask ``LocalCluster``).
"""

from __future__ import annotations

import io
import json
import re
import time

import pandas as pd
import pytest
from service_helpers import SCENARIOS, ApiClient, make_settings, open_client

from energyopt.service.store import studies as study_store
from energyopt.service.store.studies import StoredCaseResults
from energyopt.service.studies import queue_study, stored_study
from energyopt.studies.cases import case_key, case_payload, run_case
from energyopt.studies.report import is_amount

#: longest a test waits for a study [s]
STUDY_TIMEOUT_S = 240


def study_doc(**extra) -> dict:
    return {
        "name": "pilot-sites",
        "sites": {"lille": "example.yaml", "frankfurt": "example-frankfurt.yaml"},
        "period": {"start": "2023-06-05", "end": "2023-06-05"},
        "step": "1h",
        "modes": ["rolling", "baseline"],
        **extra,
    }


def wait_study(api: ApiClient, study_id: str) -> dict:
    """Poll a study until it is done, failed or cancelled; returns its last state."""
    return api.wait_for(f"/api/v1/studies/{study_id}", STUDY_TIMEOUT_S)


def wait_idle(api: ApiClient, timeout_s: float = STUDY_TIMEOUT_S) -> None:
    """Wait until the service's study thread runs no study."""
    deadline = time.monotonic() + timeout_s
    while api.app.state.study_runner.current is not None:
        assert time.monotonic() < deadline, "the study thread did not become idle"
        time.sleep(0.1)


def submit(api: ApiClient, **body) -> dict:
    answer = api.post("/api/v1/studies", json=body)
    assert answer.status_code == 202, answer.text
    assert answer.headers["Location"] == f"/api/v1/studies/{answer.json()['id']}"
    return answer.json()


def round_trip(api: ApiClient) -> None:
    """A two-site study: progress per case, ranking, CSV and report equal the stored KPIs."""
    queued = submit(api, study=study_doc())
    assert queued["status"] in ("queued", "running")
    assert queued["progress"]["cases_total"] == 2
    study = wait_study(api, queued["id"])
    assert study["status"] == "done", study
    assert study["progress"] == {
        "cases_total": 2,
        "cases_done": 2,
        "cases_failed": 0,
        "cases_reused": 0,
        "fraction": 1.0,
    }
    assert [(c["name"], c["status"]) for c in study["cases"]] == [
        ("lille/as-is", "done"),
        ("frankfurt/as-is", "done"),
    ]
    assert all(c["n_solves"] >= 2 and c["elapsed_s"] > 0 for c in study["cases"])

    record = study_store.get_study(api.store, study_id=study["id"])
    loaded = stored_study(record)
    results = StoredCaseResults(api.store, study["id"])
    stored = {c.name: results.kpis(c)["modes"]["rolling"] for c in loaded.cases}

    # the ranking: cheapest first by annual cost (the pilot plant makes no cells)
    assert study["ranked_by"] == "total_cost_eur"
    costs = [(r["case"], r["cost"]) for r in study["ranking"]]
    annual = sorted(((n, k["total_cost_eur"] * 365) for n, k in stored.items()), key=lambda x: x[1])
    assert [n for n, _ in costs] == [n for n, _ in annual]
    assert [c for _, c in costs] == pytest.approx([c for _, c in annual])
    assert study["ranking"][0]["vs_above"] == ""
    assert study["ranking"][1]["vs_above"].startswith("+")

    # the CSV: annual figures (one day x 365), per-kWh-cell figures as stored
    answer = api.get(study["links"]["cases_csv"])
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    table = pd.read_csv(io.StringIO(answer.text), index_col="case")
    assert all(map(is_amount, ("total_cost_eur", "co2_t", "grid_import_kwh", "revenue_eur")))
    assert not any(map(is_amount, ("peak_import_kw", "co2_kg_per_kwh_cell", "objective_eur")))
    for name, kpis in stored.items():
        assert table.loc[name, "status"] == "done"
        assert table.loc[name, "mode"] == "rolling"
        assert table.loc[name, "total_cost_eur"] == pytest.approx(kpis["total_cost_eur"] * 365)
        assert table.loc[name, "co2_t"] == pytest.approx(kpis["co2_t"] * 365)
        assert table.loc[name, "grid_import_kwh"] == pytest.approx(kpis["grid_import_kwh"] * 365)
        assert table.loc[name, "pv_self_consumption_frac"] == pytest.approx(
            kpis["pv_self_consumption_frac"]
        )

    report = api.get(study["links"]["report"])
    assert report.status_code == 200
    assert report.headers["content-type"].startswith("text/html")
    assert "<h1>pilot-sites</h1>" in report.text
    assert report.text.count("Plotly.newPlot") >= 4  # cost bars, 2 duration curves, Sankeys

    listed = api.get("/api/v1/studies").json()
    assert [s["id"] for s in listed] == [study["id"]]
    assert listed[0]["cases"] is None
    assert listed[0]["ranking"] is None

    # submitted again: every case is reused, nothing is solved
    again = wait_study(api, submit(api, study=study_doc())["id"])
    assert again["status"] == "done"
    assert again["progress"]["cases_reused"] == 2
    assert [(r["case"], r["cost"]) for r in again["ranking"]] == costs


def test_study_round_trip_on_sqlite(api):
    round_trip(api)


def test_study_round_trip_on_postgresql(pg_api):
    round_trip(pg_api)


def test_a_study_file_by_path_and_a_failing_case(api, tmp_path):
    """A case whose price file has a gap fails with its reason; the other case finishes."""
    data = tmp_path / "data"
    prices = pd.read_csv(SCENARIOS / "data" / "prices_FR_2023.csv")
    gap = data / "prices_FR_gap.csv"
    prices.drop(index=range(3700, 3710)).to_csv(gap, index=False)
    broken = {"site": {"series": {"price_eur_per_mwh": {"file": str(gap)}}}}
    study = study_doc(
        sites={"lille": str(SCENARIOS / "example.yaml")},
        variants={"as-is": {}, "price-gap": broken},
    )
    (data / "study.yaml").write_text(json.dumps(study), encoding="utf-8")
    done = wait_study(api, submit(api, path=str(data / "study.yaml"))["id"])
    assert done["status"] == "done"
    assert done["progress"]["cases_done"] == 1
    assert done["progress"]["cases_failed"] == 1
    cases = {c["name"]: c for c in done["cases"]}
    assert cases["lille/as-is"]["status"] == "done"
    failed = cases["lille/price-gap"]
    assert failed["status"] == "failed"
    assert "prices_FR_gap.csv" in failed["reason"]
    assert "\n" not in failed["reason"]
    assert [r["case"] for r in done["ranking"]] == ["lille/as-is"]
    report = api.get(done["links"]["report"]).text
    assert "Failed cases" in report
    assert "prices_FR_gap.csv" in report


def test_cancelling_a_study_stops_its_queued_cases(api):
    variants = {f"co2-{p}": {"tariffs": {"co2_price_eur_per_t": p}} for p in (0, 100, 200)}
    queued = submit(api, study=study_doc(variants=variants))
    assert queued["progress"]["cases_total"] == 6
    cancelled = api.post(queued["links"]["cancel"])
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["error"] == "cancelled by test planner"
    wait_idle(api)
    study = api.get(f"/api/v1/studies/{queued['id']}").json()
    assert study["status"] == "cancelled"
    statuses = [c["status"] for c in study["cases"]]
    # the study thread may have started one case before the cancel: it is kept
    assert statuses.count("cancelled") >= 5
    assert set(statuses) <= {"cancelled", "done"}
    again = api.post(queued["links"]["cancel"])
    assert again.status_code == 409
    assert "cancelled" in again.json()["detail"]
    audit = api.get("/api/v1/audit", role="admin").json()
    assert any(a["action"] == "cancel_study" for a in audit)


def test_a_study_left_running_by_a_gone_instance_resumes(tmp_path, executor):
    """Queued again at the next start, it runs only the case it had not finished."""
    settings = make_settings(tmp_path)
    store = settings.open_store()
    store.migrate()
    record, study = queue_study(store, path=None, document=study_doc(), settings=settings)
    # an earlier instance claimed it and finished the first case, then died
    gone = settings.model_copy(update={"instance_id": "gone-instance"}).open_store()
    assert study_store.claim_next_study(gone).instance_id == "gone-instance"
    first = study.cases[0]
    payload = case_payload(first)
    StoredCaseResults(gone, record.id).save(first, case_key(payload), run_case(payload))
    gone.close()
    store.close()

    for api in open_client(settings, executor):
        done = wait_study(api, record.id)
        assert done["status"] == "done"
        assert done["progress"]["cases_reused"] == 1
        assert done["progress"]["cases_done"] == 2


@pytest.mark.parametrize(
    ("body", "status", "field", "words"),
    [
        ({"path": "../../etc/passwd.yaml"}, 422, "path", "not a YAML file in the service"),
        ({"path": "studies/nothing.yaml"}, 422, "path", "no such file"),
        ({"study": study_doc(), "path": "x.yaml"}, 422, None, "exactly one of"),
        ({"study": study_doc(sties={})}, 422, "study", "unknown key (valid keys: name"),
        (
            {"study": study_doc(sites={"x": "/etc/hostname.yaml"})},
            422,
            "study.sites.x",
            "not a YAML file in the service",
        ),
        (
            {
                "study": study_doc(
                    variants={
                        "v": {"site": {"series": {"price_eur_per_mwh": {"file": "/etc/passwd"}}}}
                    }
                )
            },
            422,
            "study.variants.v.site.series.price_eur_per_mwh.file",
            "outside the service's data directories",
        ),
        (
            {"study": study_doc(period={"start": "2023-06-05", "end": "2023-06-01"})},
            422,
            "study",
            "end 2023-06-01 is before start 2023-06-05",
        ),
        (
            {
                "study": study_doc(
                    variants={"v": {"plant": {"assets": [{"name": "bess", "capacity_kwh": -1}]}}}
                )
            },
            422,
            "study",
            "case lille/v: plant.assets[2].capacity_kwh (asset 'bess'): must be > 0",
        ),
    ],
)
def test_bad_studies_are_refused_naming_the_field(api, body, status, field, words):
    answer = api.post("/api/v1/studies", json=body)
    assert answer.status_code == status, answer.text
    detail = answer.json()["detail"]
    text = detail if isinstance(detail, str) else str(detail)
    assert words in text
    if field is not None:
        assert answer.json()["field"] == field
    assert api.get("/api/v1/studies").json() == []  # nothing stored


def test_study_roles_and_unknown_ids(api):
    assert (
        api.post("/api/v1/studies", role="viewer", json={"study": study_doc()}).status_code == 403
    )
    assert api.get("/api/v1/studies/nope").status_code == 404
    assert api.get("/api/v1/studies/nope/report").status_code == 404
    assert api.post("/api/v1/studies/nope/cancel").status_code == 404


def test_a_study_on_the_dask_executor_gives_the_local_kpis(tmp_path, executor):
    pytest.importorskip("distributed")
    doc = study_doc(sites={"lille": "example.yaml"})
    kpis = {}
    for name in ("local", "dask"):
        settings = make_settings(tmp_path / name, study_executor=name)
        for api in open_client(settings, executor):
            study = wait_study(api, submit(api, study=doc)["id"])
            assert study["status"] == "done"
            assert study["executor"] == name
            record = study_store.get_study(api.store, study_id=study["id"])
            case = stored_study(record).cases[0]
            kpis[name] = StoredCaseResults(api.store, study["id"]).kpis(case)
    assert without_timings(kpis["dask"]) == without_timings(kpis["local"])
    assert kpis["dask"]["modes"]["rolling"]["total_cost_eur"] > 0


def without_timings(kpis: dict) -> dict:
    """A case's KPIs without the times its solves took [s]."""
    timed = re.compile(r"_s(_total|_median)?$")
    return {
        "modes": {
            mode: {k: v for k, v in values.items() if not timed.search(k)}
            for mode, values in kpis["modes"].items()
        },
        **{k: v for k, v in kpis.items() if k != "modes"},
    }
