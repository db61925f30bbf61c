"""Runs: submit a scenario for planning, poll it, read its results.

``POST /runs`` answers 202 with the queued run, a ``Location`` header and a
``Retry-After`` hint; a worker process executes it. Results exist once the
status is ``done`` (409 before). ``POST /runs/{id}/cancel`` cancels a queued
or running run, ``DELETE /runs/{id}`` deletes a finished one with its results
(409 otherwise); both write an audit line. Read: viewer; submit and cancel:
planner; delete: admin.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import HTMLResponse, PlainTextResponse
from pydantic import ValidationError

from api.deps import (
    AdminKey,
    ExecutorDep,
    FormatParam,
    JobContextDep,
    PlannerKey,
    RunDep,
    SettingsDep,
    StoreDep,
    require_role,
    wants_csv,
)
from api.schemas import (
    DB_INT_MAX,
    CalendarDateTime,
    DispatchOut,
    ErrorOut,
    KpisOut,
    Progress,
    RunCreate,
    RunLinks,
    RunOut,
)
from energyopt.errors import ScenarioError
from energyopt.inputs.config import Period, Scenario, format_location
from energyopt.outputs.plots import dispatch_figure
from energyopt.service.jobs import rolling_options
from energyopt.service.settings import Settings
from energyopt.service.store import ConflictError, RunRecord, Store
from energyopt.service.store import runs as run_store
from energyopt.service.store import scenarios as scenario_store
from energyopt.service.store.audit import Actor
from energyopt.service.store.documents import DocumentError, to_document, validate_document

router = APIRouter(prefix="/runs", tags=["runs"])
VIEWER = [Depends(require_role("viewer"))]
PLANNER = [Depends(require_role("planner"))]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "no such run"}
}
RESULTS: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    409: {"model": ErrorOut, "description": "the run is not done"},
}
RunStatus = Literal["queued", "running", "done", "failed", "cancelled"]
STATE: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    409: {"model": ErrorOut, "description": "the run is not in a state that allows this"},
}


TimeParam = Annotated[
    CalendarDateTime | None,
    Query(description="UTC time stamp with zone, e.g. 2023-06-05T00:00Z (start inclusive)"),
]


def run_out(run: RunRecord) -> RunOut:
    """API view of a run."""
    base = f"/api/v1/runs/{run.id}"
    total = run.windows_total
    return RunOut(
        id=run.id,
        status=run.status,
        mode=run.mode,
        scenario_id=run.scenario_id,
        scenario_name=run.scenario_name,
        period_start=run.period_start,
        days=run.days,
        step=run.step,
        options=run.options,
        progress=Progress(
            windows_done=run.windows_done,
            windows_total=total,
            fraction=run.windows_done / total if total else None,
        ),
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        duration_s=run.duration_s,
        error=run.error,
        solver_report=run.solver_report,
        attempts=run.attempts,
        links=RunLinks(
            self=base,
            dispatch=f"{base}/dispatch",
            kpis=f"{base}/kpis",
            chart=f"{base}/charts/dispatch",
        ),
    )


def run_period(body: RunCreate, scenario: Scenario, settings: Settings) -> Period:
    """The run's period: the request's overrides on the scenario's period."""
    period = scenario.period
    try:
        merged = Period(
            start=body.start or period.start,
            days=body.days or period.days,
            step=body.step or period.step,
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        field = format_location(error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        raise DocumentError(f"{field}: {message}", field=field) from None
    if merged.days > settings.max_run_days:
        msg = f"days: {merged.days} is more than this service runs ({settings.max_run_days})"
        raise DocumentError(msg, field="days")
    return merged


def _submitted_scenario(body: RunCreate, store: Store, settings: Settings) -> Scenario:
    """The validated scenario a run request names (stored by id, or inline)."""
    if body.scenario_id is not None:
        record = scenario_store.get_scenario(store, scenario_id=body.scenario_id)
        document, source = record.document, f"scenario {record.id}"
    else:
        assert body.scenario is not None  # exactly one of the two (the body's validator)
        document, source = body.scenario, "scenario"
    return validate_document(
        document, roots=settings.allowed_data_roots, base_dir=settings.scenarios_dir, source=source
    )


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=PLANNER,
    responses={422: {"model": ErrorOut}, 404: {"model": ErrorOut, "description": "no scenario"}},
)
def submit_run(
    body: RunCreate,
    store: StoreDep,
    settings: SettingsDep,
    executor: ExecutorDep,
    context: JobContextDep,
    response: Response,
) -> RunOut:
    """Queue a run of a stored or inline scenario; poll the ``Location`` for its status."""
    scenario = _submitted_scenario(body, store, settings)
    period = run_period(body, scenario, settings)
    options = body.rolling.model_dump() if body.rolling is not None else {}
    options["hard"] = body.hard
    if body.mode == "rolling":
        try:
            rolling_options(options, period.step)
        except ScenarioError as exc:
            raise DocumentError(str(exc), field="rolling") from None
    run = run_store.create_run(
        store,
        document=to_document(scenario, scenarios_dir=settings.scenarios_dir),
        scenario_id=body.scenario_id,
        scenario_name=scenario.name,
        mode=body.mode,
        period_start=period.start,
        days=period.days,
        step=period.step,
        options=options,
    )
    executor.submit(context, run.id)
    response.headers["Location"] = f"/api/v1/runs/{run.id}"
    response.headers["Retry-After"] = str(settings.retry_after_s)
    return run_out(run)


@router.get("", dependencies=VIEWER)
def list_runs(
    store: StoreDep,
    status_: Annotated[
        RunStatus | None, Query(alias="status", description="only runs in this state")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=DB_INT_MAX)] = 0,
) -> list[RunOut]:
    """Runs, newest first."""
    return [
        run_out(r) for r in run_store.list_runs(store, status=status_, limit=limit, offset=offset)
    ]


@router.get("/{run_id}", dependencies=VIEWER, responses=NOT_FOUND)
def get_run(run: RunDep, response: Response, settings: SettingsDep) -> RunOut:
    """Status and progress of a run (``Retry-After`` while it is not finished)."""
    if not run.is_finished:
        response.headers["Retry-After"] = str(settings.retry_after_s)
    return run_out(run)


@router.post("/{run_id}/cancel", responses=STATE)
def cancel_run(run_id: str, store: StoreDep, executor: ExecutorDep, key: PlannerKey) -> RunOut:
    """Cancel a queued or running run (409 once it finished).

    A queued run never starts; a running one ends ``cancelled`` now and its
    worker stops at its next progress report, storing nothing.
    """
    run = run_store.cancel_run(store, run_id=run_id, actor=Actor(key.name, key.prefix))
    executor.cancel(run_id)
    return run_out(run)


@router.delete(
    "/{run_id}", status_code=status.HTTP_204_NO_CONTENT, responses=STATE, response_class=Response
)
def delete_run(run_id: str, store: StoreDep, key: AdminKey) -> Response:
    """Delete a finished (done, failed or cancelled) run with its dispatch and KPIs
    (409 while it is queued or running: cancel it first)."""
    run_store.delete_run(store, run_id=run_id, actor=Actor(key.name, key.prefix))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{run_id}/kpis", dependencies=VIEWER, responses=RESULTS)
def get_kpis(run: RunDep) -> KpisOut:
    """KPIs of a done run: costs [EUR], CO2 [t], energies [kWh], shares [frac], solve data."""
    _require_done(run)
    return KpisOut(run_id=run.id, kpis=run.kpis or {})


def _require_done(run: RunRecord) -> None:
    if run.status != "done":
        detail = f": {run.error}" if run.error else ""
        raise ConflictError(f"run {run.id} is {run.status}{detail}; results exist once it is done")


def _check_aware(**stamps: dt.datetime | None) -> None:
    for name, stamp in stamps.items():
        if stamp is not None and stamp.utcoffset() is None:
            msg = f"{name}: {stamp.isoformat()} has no time zone; add Z for UTC"
            raise DocumentError(msg, field=name)


@router.get(
    "/{run_id}/dispatch",
    dependencies=VIEWER,
    responses={**RESULTS, 200: {"content": {"text/csv": {}}}},
    response_model=DispatchOut,
)
def get_dispatch(
    run: RunDep,
    store: StoreDep,
    request: Request,
    start: TimeParam = None,
    end: TimeParam = None,
    columns: Annotated[
        str | None, Query(description="comma-separated column names; default: all")
    ] = None,
    format: FormatParam = None,  # noqa: A002 - the public query parameter is called format
) -> DispatchOut | PlainTextResponse:
    """Dispatch table of a done run, ``start <= time < end``, as JSON columns or CSV.

    CSV has a ``timestamp_utc`` column and one column per quantity (units in the names).
    """
    _require_done(run)
    _check_aware(start=start, end=end)
    names = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    frame = run_store.read_dispatch(store, run_id=run.id, start=start, end=end, columns=names)
    if wants_csv(request, format):
        text = frame.to_csv(index_label="timestamp_utc", date_format="%Y-%m-%dT%H:%M:%SZ")
        return PlainTextResponse(
            text,
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="run-{run.id}-dispatch.csv"'},
        )
    values = {c: [None if v != v else float(v) for v in frame[c].to_numpy()] for c in frame}
    return DispatchOut(
        run_id=run.id,
        step_s=int(pd.Timedelta(run.step).total_seconds()),
        time=[t.to_pydatetime() for t in frame.index],
        values=values,
    )


@router.get(
    "/{run_id}/charts/dispatch",
    dependencies=VIEWER,
    response_class=HTMLResponse,
    responses=RESULTS,
)
def get_dispatch_chart(
    run: RunDep,
    store: StoreDep,
    start: TimeParam = None,
    end: TimeParam = None,
    plotlyjs: Annotated[
        Literal["inline", "cdn"],
        Query(description="inline embeds plotly.js (works offline); cdn loads it from the web"),
    ] = "inline",
) -> HTMLResponse:
    """Plotly chart of a done run's dispatch per carrier, storage levels and price."""
    _require_done(run)
    _check_aware(start=start, end=end)
    frame = run_store.read_dispatch(store, run_id=run.id, start=start, end=end)
    timezone = run.document.get("site", {}).get("timezone", "UTC")
    kinds = {
        str(a["name"]): str(a["type"])
        for a in run.document.get("plant", {}).get("assets", [])
        if isinstance(a, dict) and "name" in a and "type" in a
    }
    title = f"{run.scenario_name} ({run.mode})"
    figure = dispatch_figure(frame, title=title, timezone=timezone, kinds=kinds)
    html = figure.to_html(include_plotlyjs=True if plotlyjs == "inline" else "cdn", full_html=True)
    return HTMLResponse(html)
