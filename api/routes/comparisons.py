"""Comparisons: KPI tables and charts of several done runs.

``POST /comparisons`` stores the set of runs and answers with the KPI table;
``GET /comparisons/{id}`` gives the table again and ``.../chart`` the Plotly
chart. Read: viewer; create: planner.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response, status
from fastapi.responses import HTMLResponse

from api.deps import StoreDep, require_role
from api.schemas import ComparedRun, ComparisonCreate, ComparisonOut, ErrorOut, KpiRow
from energyopt.outputs.comparison import comparison_figure, deltas, kpi_table, missing_kpis
from energyopt.service.store import ComparisonRecord, ConflictError, QueryError, RunRecord, Store
from energyopt.service.store import comparisons as comparison_store
from energyopt.service.store import runs as run_store

router = APIRouter(prefix="/comparisons", tags=["comparisons"])
VIEWER = [Depends(require_role("viewer"))]
PLANNER = [Depends(require_role("planner"))]
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "no such comparison or run"},
    409: {"model": ErrorOut, "description": "a run is not done"},
    422: {"model": ErrorOut, "description": "a KPI is missing from a run"},
}


def _done_runs(store: Store, run_ids: list[str]) -> list[RunRecord]:
    runs = [run_store.get_run(store, run_id=run_id) for run_id in run_ids]
    for run in runs:
        if run.status != "done":
            raise ConflictError(f"run {run.id} is {run.status}; only done runs can be compared")
    return runs


def _labels(runs: list[RunRecord]) -> dict[str, str]:
    """Short, distinct labels: scenario and mode, then the period, then the id's start."""
    candidates = (
        lambda r: f"{r.scenario_name} ({r.mode})",
        lambda r: f"{r.scenario_name} ({r.mode}, {r.period_start}, {r.days} d, {r.step})",
        lambda r: f"{r.scenario_name} ({r.mode}, {r.period_start}, {r.id[:8]})",
    )
    for label in candidates:
        labels = {r.id: label(r) for r in runs}
        if len(set(labels.values())) == len(labels):
            break
    return labels


def _table(runs: list[RunRecord], names: list[str] | None):
    kpis_by_run = {r.id: r.kpis or {} for r in runs}
    if names:
        missing = missing_kpis(kpis_by_run, names)
        if missing:
            run_id, lacking = next(iter(missing.items()))
            raise QueryError(f"kpis: run {run_id} has no numeric KPI {', '.join(lacking)}")
    return kpi_table(kpis_by_run, names)


def _none(value: float) -> float | None:
    return None if value != value else float(value)


def comparison_out(record: ComparisonRecord, runs: list[RunRecord]) -> ComparisonOut:
    """API view of a comparison with its KPI table."""
    table = _table(runs, record.kpi_names)
    absolute, relative = deltas(table)
    labels = _labels(runs)
    rows = [
        KpiRow(
            kpi=name,
            values={c: _none(v) for c, v in table.loc[name].items()},
            delta_vs_reference={c: _none(v) for c, v in absolute.loc[name].items()},
            delta_vs_reference_frac={c: _none(v) for c, v in relative.loc[name].items()},
        )
        for name in table.index
    ]
    compared = [
        ComparedRun(
            run_id=r.id,
            label=labels[r.id],
            scenario_name=r.scenario_name,
            mode=r.mode,
            period_start=r.period_start,
            days=r.days,
            step=r.step,
        )
        for r in runs
    ]
    return ComparisonOut(
        id=record.id,
        name=record.name,
        created_at=record.created_at,
        reference_run_id=runs[0].id,
        runs=compared,
        kpis=rows,
        chart=f"/api/v1/comparisons/{record.id}/chart",
    )


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=PLANNER, responses=ERRORS)
def create_comparison(body: ComparisonCreate, store: StoreDep, response: Response) -> ComparisonOut:
    """Compare done runs by KPI; the first run is the reference for differences."""
    runs = _done_runs(store, body.run_ids)
    _table(runs, body.kpis)  # refuse missing KPIs before storing anything
    name = body.name or " vs ".join(_labels(runs).values())
    record = comparison_store.create_comparison(
        store, name=name[:200], run_ids=body.run_ids, kpi_names=body.kpis
    )
    response.headers["Location"] = f"/api/v1/comparisons/{record.id}"
    return comparison_out(record, runs)


@router.get("/{comparison_id}", dependencies=VIEWER, responses=ERRORS)
def get_comparison(comparison_id: str, store: StoreDep) -> ComparisonOut:
    """The KPI table of a stored comparison."""
    record = comparison_store.get_comparison(store, comparison_id=comparison_id)
    return comparison_out(record, _done_runs(store, record.run_ids))


@router.get(
    "/{comparison_id}/chart", dependencies=VIEWER, response_class=HTMLResponse, responses=ERRORS
)
def get_comparison_chart(
    comparison_id: str,
    store: StoreDep,
    plotlyjs: Annotated[
        Literal["inline", "cdn"],
        Query(description="inline embeds plotly.js (works offline); cdn loads it from the web"),
    ] = "inline",
) -> HTMLResponse:
    """Plotly bar charts of the compared KPIs (cost breakdown stacked)."""
    record = comparison_store.get_comparison(store, comparison_id=comparison_id)
    runs = _done_runs(store, record.run_ids)
    figure = comparison_figure(_table(runs, record.kpi_names), _labels(runs), title=record.name)
    html = figure.to_html(include_plotlyjs=True if plotlyjs == "inline" else "cdn", full_html=True)
    return HTMLResponse(html)
