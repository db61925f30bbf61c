"""Comparisons: KPI table with differences to the reference run, and the chart."""

from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa
from service_helpers import tiny_document

from energyopt.outputs.comparison import comparison_figure, deltas, kpi_table, missing_kpis
from energyopt.service.store.tables import ComparisonRow


def _done_run(api, **kw) -> str:
    run_id = api.post("/api/v1/runs", json={"scenario": tiny_document(**kw)}).json()["id"]
    assert api.wait(run_id)["status"] == "done"
    return run_id


def _comparisons(api) -> int:
    with api.store.reading() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(ComparisonRow))


@pytest.fixture
def two_runs(api) -> tuple[str, str]:
    return _done_run(api, load_kw=1000.0), _done_run(api, load_kw=750.0)


def test_kpi_table_has_values_and_differences_to_the_reference(api, two_runs):
    full, reduced = two_runs
    answer = api.post("/api/v1/comparisons", json={"run_ids": [full, reduced]})
    assert answer.status_code == 201, answer.text
    table = answer.json()
    assert answer.headers["location"] == f"/api/v1/comparisons/{table['id']}"
    assert table["reference_run_id"] == full
    rows = {row["kpi"]: row for row in table["kpis"]}
    cost = rows["total_cost_eur"]
    kpis_full = api.get(f"/api/v1/runs/{full}/kpis").json()["kpis"]
    kpis_reduced = api.get(f"/api/v1/runs/{reduced}/kpis").json()["kpis"]
    assert cost["values"] == {
        full: kpis_full["total_cost_eur"],
        reduced: kpis_reduced["total_cost_eur"],
    }
    assert cost["delta_vs_reference"][full] == 0.0
    assert cost["delta_vs_reference"][reduced] == pytest.approx(
        kpis_reduced["total_cost_eur"] - kpis_full["total_cost_eur"]
    )
    # a constant load scaled by 0.75 costs 25 % less
    assert cost["delta_vs_reference_frac"][reduced] == pytest.approx(-0.25, rel=1e-9)
    assert rows["grid_import_kwh"]["delta_vs_reference"][reduced] == pytest.approx(-6000.0)
    assert "solve_status" not in rows  # text KPIs are not compared
    assert table["runs"][0]["label"] != table["runs"][1]["label"]
    assert api.get(f"/api/v1/comparisons/{table['id']}").json() == table


def test_selected_kpis_only_and_the_chart(api, two_runs):
    body = {"run_ids": list(two_runs), "kpis": ["cost_energy_eur", "co2_t"], "name": "load cut"}
    table = api.post("/api/v1/comparisons", json=body).json()
    assert [row["kpi"] for row in table["kpis"]] == ["cost_energy_eur", "co2_t"]
    assert table["kpis"][1]["delta_vs_reference_frac"][two_runs[1]] is None  # no CO2: 0 -> 0
    chart = api.get(table["chart"], params={"plotlyjs": "cdn"})
    assert chart.status_code == 200
    assert chart.headers["content-type"].startswith("text/html")
    assert "load cut" in chart.text
    assert "cost breakdown [EUR]" in chart.text


def test_runs_must_exist_be_done_and_have_the_kpis(api, two_runs):
    missing = api.post("/api/v1/comparisons", json={"run_ids": [two_runs[0], "f" * 32]})
    assert missing.status_code == 404
    failed = api.post("/api/v1/runs", json={"scenario": tiny_document(start="2030-01-01")})
    api.wait(failed.json()["id"])
    not_done = api.post("/api/v1/comparisons", json={"run_ids": [two_runs[0], failed.json()["id"]]})
    assert not_done.status_code == 409
    assert "failed" in not_done.json()["detail"]
    unknown = api.post("/api/v1/comparisons", json={"run_ids": list(two_runs), "kpis": ["nope"]})
    assert unknown.status_code == 422
    assert unknown.json()["type"] == "query_error"
    same = api.post("/api/v1/comparisons", json={"run_ids": [two_runs[0], two_runs[0]]})
    assert same.status_code == 422
    assert _comparisons(api) == 0
    assert api.get("/api/v1/comparisons/" + "a" * 32).status_code == 404


def test_kpi_table_and_deltas_by_hand():
    kpis = {
        "a": {"total_cost_eur": 100.0, "co2_t": 0.0, "solve_status": "optimal", "flag": True},
        "b": {"total_cost_eur": 80.0, "co2_t": 2.0, "solve_status": "optimal", "flag": False},
        "c": {"total_cost_eur": 130.0, "co2_t": float("nan")},
    }
    table = kpi_table(kpis)
    assert list(table.index) == ["total_cost_eur", "co2_t"]  # numbers only, shared by all
    absolute, relative = deltas(table)
    assert absolute.loc["total_cost_eur"].tolist() == [0.0, -20.0, 30.0]
    assert relative.loc["total_cost_eur"].tolist() == pytest.approx([0.0, -0.2, 0.3])
    assert np.isnan(relative.loc["co2_t", "b"])  # reference 0: no relative difference
    assert np.isnan(table.loc["co2_t", "c"])
    assert missing_kpis(kpis, ["co2_t", "flag"]) == {"a": ["flag"], "b": ["flag"], "c": ["flag"]}
    figure = comparison_figure(table, {"a": "base", "b": "variant", "c": "other"})
    assert list(figure.data[0].x) == ["base", "variant", "other"]
