"""Site studies in the service: the study, its state and its case results.

Life cycle: ``queued`` (created by the API) -> ``running`` (claimed by one
instance: a conditional update) -> ``done`` (every case ran; some may have
failed, counted in ``cases_failed``), ``failed`` (the study itself could not
run, e.g. a site file went missing) or ``cancelled`` (queued cases never
start; running ones finish and are kept). A study left ``running`` by an
instance that is gone is queued again (:func:`requeue_interrupted_studies`):
its finished cases are kept under their input keys, so it resumes.

Case results live in ``study_cases``, one row per case, and are read and
written through :class:`StoredCaseResults`, the service's
:class:`~energyopt.studies.store.CaseResults`. A case whose input key has a
done result in any study reuses it (copied into its own row), so submitting
a study again, or one that shares cases with an earlier one, computes only
what is new.
"""

from __future__ import annotations

import uuid
from typing import Any, cast

import pandas as pd
import sqlalchemy as sa

from energyopt.service.store.audit import Actor, add_line
from energyopt.service.store.db import (
    ConflictError,
    NotFoundError,
    Store,
    jsonable,
    utc_now,
)
from energyopt.service.store.instances import DEFAULT_STALE_AFTER_S, live_ids_query
from energyopt.service.store.records import StudyRecord, to_record
from energyopt.service.store.tables import StudyCaseRow, StudyRow
from energyopt.studies.spec import Case
from energyopt.studies.store import case_summary, series_frame


def create_study(
    store: Store,
    *,
    name: str,
    document: dict[str, Any],
    source: str,
    executor: str,
    cases_total: int,
) -> StudyRecord:
    """Queue a study; ``document`` is the validated study with absolute site paths."""
    row = StudyRow(
        id=uuid.uuid4().hex,
        name=name,
        document=jsonable(document),
        source=source,
        executor=executor,
        status="queued",
        cases_total=cases_total,
        cases_done=0,
        cases_failed=0,
        cases_reused=0,
        created_at=utc_now(),
    )
    with store.transaction() as session:
        session.add(row)
        session.flush()
        return to_record(StudyRecord, row)


def get_study(store: Store, *, study_id: str) -> StudyRecord:
    """The study ``study_id``; raises :class:`NotFoundError`."""
    with store.reading() as session:
        row = session.get(StudyRow, study_id)
        if row is None:
            raise NotFoundError(f"study {study_id} does not exist")
        return to_record(StudyRecord, row)


def list_studies(
    store: Store, *, status: str | None = None, limit: int = 50, offset: int = 0
) -> list[StudyRecord]:
    """Studies, newest first, optionally with one status."""
    query = sa.select(StudyRow).order_by(StudyRow.created_at.desc(), StudyRow.id)
    if status is not None:
        query = query.where(StudyRow.status == status)
    with store.reading() as session:
        rows = session.scalars(query.limit(limit).offset(offset))
        return [to_record(StudyRecord, row) for row in rows]


def claim_next_study(store: Store) -> StudyRecord | None:
    """Move the oldest queued study to ``running`` for the store's instance; None if
    there is none (or another instance claimed it first)."""
    with store.reading() as session:
        query = sa.select(StudyRow.id).where(StudyRow.status == "queued")
        study_id = session.scalars(query.order_by(StudyRow.created_at).limit(1)).first()
    if study_id is None:
        return None
    claim = (
        sa.update(StudyRow)
        .where(StudyRow.id == study_id, StudyRow.status == "queued")
        .values(status="running", started_at=utc_now(), instance_id=store.instance_id)
    )
    with store.transaction() as session:
        if cast("sa.CursorResult[Any]", session.execute(claim)).rowcount != 1:
            return None
    return get_study(store, study_id=study_id)


def _update_running(store: Store, study_id: str, **values: Any) -> bool:
    """Update a study that is still ``running``; False if it is not (cancelled)."""
    query = (
        sa.update(StudyRow)
        .where(StudyRow.id == study_id, StudyRow.status == "running")
        .values(**values)
    )
    with store.transaction() as session:
        return cast("sa.CursorResult[Any]", session.execute(query)).rowcount == 1


def set_counts(store: Store, *, study_id: str, done: int, failed: int, reused: int) -> bool:
    """Case counts of a running study; False once it is no longer running."""
    return _update_running(
        store, study_id, cases_done=done, cases_failed=failed, cases_reused=reused
    )


def finish_study(store: Store, *, study_id: str) -> bool:
    """Mark a running study done; False if it was cancelled meanwhile."""
    return _update_running(store, study_id, status="done", finished_at=utc_now())


def fail_study(store: Store, *, study_id: str, error: str) -> bool:
    """Mark a running study failed with a one-line error."""
    return _update_running(
        store, study_id, status="failed", error=error[:2000], finished_at=utc_now()
    )


def cancel_study(store: Store, *, study_id: str, actor: Actor) -> StudyRecord:
    """Cancel a queued or running study; writes an audit line.

    Raises
    ------
    NotFoundError
        Unknown study.
    ConflictError
        The study has finished already.
    """
    with store.transaction() as session:
        row = session.get(StudyRow, study_id, with_for_update=True)
        if row is None:
            raise NotFoundError(f"study {study_id} does not exist")
        if row.status not in ("queued", "running"):
            msg = f"study {study_id} is {row.status}; only queued or running studies cancel"
            raise ConflictError(msg)
        detail = f"was {row.status}"
        row.status, row.finished_at = "cancelled", utc_now()
        row.error = f"cancelled by {actor.name}"
        add_line(
            session, actor=actor, action="cancel_study", obj=f"study {study_id}", detail=detail
        )
        session.flush()
        return to_record(StudyRecord, row)


def requeue_interrupted_studies(
    store: Store,
    *,
    stale_after_s: float = DEFAULT_STALE_AFTER_S,
    instance_ids: list[str] | None = None,
    unowned: bool = False,
) -> list[str]:
    """Queue again the ``running`` studies of instances that are gone (those of
    ``instance_ids``, or without a heartbeat in ``stale_after_s`` [s]; ``unowned``
    adds studies of no instance); returns their ids. They resume: finished cases
    are kept."""
    gone: sa.ColumnElement[bool]
    if instance_ids is not None:
        gone = StudyRow.instance_id.in_(instance_ids)
    else:
        gone = StudyRow.instance_id.not_in(live_ids_query(stale_after_s))
    if unowned:
        gone = sa.or_(gone, StudyRow.instance_id.is_(None))
    with store.transaction() as session:
        ids = list(
            session.scalars(sa.select(StudyRow.id).where(StudyRow.status == "running", gone))
        )
        if ids:
            session.execute(
                sa.update(StudyRow)
                .where(StudyRow.id.in_(ids), StudyRow.status == "running")
                .values(status="queued", instance_id=None)
            )
    return ids


def case_rows(store: Store, *, study_id: str) -> dict[str, dict[str, Any]]:
    """Summaries of the study's stored cases by case name (``site/variant``)."""
    query = sa.select(StudyCaseRow.name, StudyCaseRow.summary).where(
        StudyCaseRow.study_id == study_id
    )
    with store.reading() as session:
        return {name: dict(summary) for name, summary in session.execute(query)}


class StoredCaseResults:
    """The case results of one study in the store (a
    :class:`~energyopt.studies.store.CaseResults`)."""

    def __init__(self, store: Store, study_id: str) -> None:
        self.store = store
        self.study_id = study_id

    def _row(self, case: Case, *columns: str) -> sa.Row | None:
        """``columns`` of the case's row only (a year's series is large: read it
        when asked for)."""
        query = sa.select(*(getattr(StudyCaseRow, c) for c in columns)).where(
            StudyCaseRow.study_id == self.study_id, StudyCaseRow.name == case.name
        )
        with self.store.reading() as session:
            return session.execute(query).first()

    def record(self, case: Case) -> dict[str, Any] | None:
        row = self._row(case, "summary", "key", "status")
        return None if row is None else {**row.summary, "key": row.key, "status": row.status}

    def is_done(self, case: Case, key: str) -> bool:
        """True if the case has a done result for ``key``, its own or another study's
        (then copied into this study)."""
        record = self.record(case)
        if record is not None and record["key"] == key and record["status"] == "done":
            return True
        return self._reuse(case, key)

    def _reuse(self, case: Case, key: str) -> bool:
        query = sa.select(StudyCaseRow).where(
            StudyCaseRow.key == key, StudyCaseRow.status == "done"
        )
        with self.store.transaction() as session:
            source = session.scalars(query.limit(1)).first()
            if source is None:
                return False
            values = {
                "key": key,
                "status": "done",
                "summary": {**source.summary, "site": case.site, "variant": case.variant},
                "kpis": source.kpis,
                "flows": source.flows,
                "series": source.series,
            }
        self._put(case, values)
        return True

    def save(self, case: Case, key: str, result: dict[str, Any]) -> None:
        done = result["status"] == "done"
        values = {
            "key": key,
            "status": result["status"],
            "summary": jsonable(case_summary(case, key, result)),
            "kpis": jsonable({"modes": result["kpis"], **result["comparison"]}) if done else None,
            "flows": jsonable(result["flows"]) if done else None,
            "series": jsonable(result["series"]) if done else None,
        }
        self._put(case, values)

    def _put(self, case: Case, values: dict[str, Any]) -> None:
        with self.store.transaction() as session:
            row = session.get(StudyCaseRow, (self.study_id, case.name), with_for_update=True)
            if row is None:
                session.add(StudyCaseRow(study_id=self.study_id, name=case.name, **values))
            else:
                for name, value in values.items():
                    setattr(row, name, value)

    def _results(self, case: Case, column: str) -> Any:
        row = self._row(case, "status", column)
        if row is None or row.status != "done":
            raise NotFoundError(f"case {case.name} of study {self.study_id} has no results")
        return row[1]

    def kpis(self, case: Case) -> dict[str, Any]:
        return dict(self._results(case, "kpis"))

    def flows(self, case: Case) -> dict[str, list]:
        return dict(self._results(case, "flows"))

    def series(self, case: Case) -> pd.DataFrame:
        return series_frame(self._results(case, "series"))
