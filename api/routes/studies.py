"""Site studies: submit a study, follow its cases, read the ranking, report and table.

``POST /studies`` validates the study (a file in the scenarios directory or
an inline document, every case resolved) and answers 202 with the queued
study; the service's study thread runs its cases on the deployment's
executor (``ENERGYOPT_STUDY_EXECUTOR``: the service's workers or a Dask
cluster). ``GET /studies/{id}`` shows each case's state and, as cases
finish, the ranking; ``/report`` is the HTML report, ``/cases.csv`` the case
table (annual figures). ``POST /studies/{id}/cancel`` stops queued cases
(running ones finish and are kept). Read: viewer; submit and cancel: planner.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import HTMLResponse, PlainTextResponse

from api.deps import PlannerKey, SettingsDep, StoreDep, require_role
from api.schemas import (
    DB_INT_MAX,
    ErrorOut,
    StudyCaseOut,
    StudyCreate,
    StudyLinks,
    StudyOut,
    StudyProgress,
    StudyRankOut,
)
from energyopt.errors import EnergyOptError
from energyopt.service.store import ConflictError, Store
from energyopt.service.store import studies as study_store
from energyopt.service.store.audit import Actor
from energyopt.service.store.records import StudyRecord
from energyopt.service.studies import queue_study, stored_study
from energyopt.studies.report import case_table, ranking, report_html
from energyopt.studies.spec import Study

router = APIRouter(prefix="/studies", tags=["studies"])
VIEWER = [Depends(require_role("viewer"))]
PLANNER = [Depends(require_role("planner"))]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "no such study"}
}
LOADABLE: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    409: {"model": ErrorOut, "description": "the study's site or data files no longer load"},
}
StudyStatus = Literal["queued", "running", "done", "failed", "cancelled"]


def study_out(
    record: StudyRecord, study: Study | None = None, store: Store | None = None
) -> StudyOut:
    """API view of a study; with the loaded ``study`` and the store, its cases and ranking."""
    base = f"/api/v1/studies/{record.id}"
    finished = record.cases_done + record.cases_failed
    out = StudyOut(
        id=record.id,
        name=record.name,
        status=record.status,
        executor=record.executor,
        progress=StudyProgress(
            cases_total=record.cases_total,
            cases_done=record.cases_done,
            cases_failed=record.cases_failed,
            cases_reused=record.cases_reused,
            fraction=finished / record.cases_total if record.cases_total else 0.0,
        ),
        created_at=record.created_at,
        started_at=record.started_at,
        finished_at=record.finished_at,
        error=record.error,
        links=StudyLinks(
            self=base,
            cases_csv=f"{base}/cases.csv",
            report=f"{base}/report",
            cancel=f"{base}/cancel",
        ),
    )
    if study is None or store is None:
        return out
    out.cases = _cases(record, study, store)
    table = case_table(study, study_store.StoredCaseResults(store, record.id))
    rank = ranking(table, study.spec.mip_rel_gap)
    column = str(next(c for c in rank.columns if c not in ("rank", "vs_above")))
    out.ranked_by = column
    out.ranking = [
        StudyRankOut(
            rank=int(row["rank"]), case=str(name), cost=float(row[column]), vs_above=row["vs_above"]
        )
        for name, row in rank.iterrows()
    ]
    return out


def _cases(record: StudyRecord, study: Study, store: Store) -> list[StudyCaseOut]:
    stored = study_store.case_rows(store, study_id=record.id)
    unrun = "cancelled" if record.status == "cancelled" else "pending"
    out = []
    for case in study.cases:
        summary = stored.get(case.name, {})
        out.append(
            StudyCaseOut(
                name=case.name,
                site=case.site,
                variant=case.variant,
                status=summary.get("status", unrun),
                reason=summary.get("reason"),
                elapsed_s=summary.get("elapsed_s"),
                n_solves=summary.get("n_solves"),
            )
        )
    return out


def _loaded(record: StudyRecord) -> Study:
    try:
        return stored_study(record)
    except EnergyOptError as exc:
        raise ConflictError(f"study {record.id} no longer loads: {exc}") from None


def get_study_or_404(study_id: str, store: StoreDep) -> StudyRecord:
    """The study named in the path (404 via the store's NotFoundError)."""
    return study_store.get_study(store, study_id=study_id)


StudyDep = Annotated[StudyRecord, Depends(get_study_or_404)]


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=PLANNER,
    responses={422: {"model": ErrorOut}},
)
def submit_study(
    body: StudyCreate, store: StoreDep, settings: SettingsDep, request: Request, response: Response
) -> StudyOut:
    """Queue a study of a file in the scenarios directory or of an inline document;
    poll the ``Location`` for its progress per case."""
    record, _ = queue_study(store, path=body.path, document=body.study, settings=settings)
    runner = request.app.state.study_runner
    if runner is not None:
        runner.wake()
    response.headers["Location"] = f"/api/v1/studies/{record.id}"
    response.headers["Retry-After"] = str(settings.retry_after_s)
    return study_out(record)


@router.get("", dependencies=VIEWER)
def list_studies(
    store: StoreDep,
    status_: Annotated[
        StudyStatus | None, Query(alias="status", description="only studies in this state")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=DB_INT_MAX)] = 0,
) -> list[StudyOut]:
    """Studies, newest first (without their cases and ranking)."""
    records = study_store.list_studies(store, status=status_, limit=limit, offset=offset)
    return [study_out(r) for r in records]


@router.get("/{study_id}", dependencies=VIEWER, responses=LOADABLE)
def get_study(
    record: StudyDep, store: StoreDep, settings: SettingsDep, response: Response
) -> StudyOut:
    """State, progress per case and the ranking of the done cases (``Retry-After`` while
    it is not finished)."""
    if not record.is_finished:
        response.headers["Retry-After"] = str(settings.retry_after_s)
    return study_out(record, _loaded(record), store)


@router.get(
    "/{study_id}/cases.csv",
    dependencies=VIEWER,
    response_class=PlainTextResponse,
    responses={**LOADABLE, 200: {"content": {"text/csv": {}}}},
)
def get_cases_csv(record: StudyDep, store: StoreDep) -> PlainTextResponse:
    """One row per case: status, reason, the plan mode's KPIs (costs [EUR/a], CO2 [t/a],
    energies [kWh/a], per-kWh-cell figures), final energy by process, savings vs baseline."""
    table = case_table(_loaded(record), study_store.StoredCaseResults(store, record.id))
    return PlainTextResponse(
        table.to_csv(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="study-{record.id}-cases.csv"'},
    )


@router.get(
    "/{study_id}/report", dependencies=VIEWER, response_class=HTMLResponse, responses=LOADABLE
)
def get_report(record: StudyDep, store: StoreDep) -> HTMLResponse:
    """The study report (self-contained HTML: ranking, case table, KPI and cost bars,
    duration curves, one Sankey per case) of the cases done so far."""
    results = study_store.StoredCaseResults(store, record.id)
    return HTMLResponse(report_html(_loaded(record), results))


@router.post(
    "/{study_id}/cancel",
    responses={**NOT_FOUND, 409: {"model": ErrorOut, "description": "the study has finished"}},
)
def cancel_study(study_id: str, store: StoreDep, key: PlannerKey) -> StudyOut:
    """Cancel a queued or running study (409 once it finished): queued cases never
    start, running ones finish and are kept (a new submission reuses them)."""
    record = study_store.cancel_study(store, study_id=study_id, actor=Actor(key.name, key.prefix))
    return study_out(record)
