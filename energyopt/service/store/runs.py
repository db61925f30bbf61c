"""Runs: optimisation jobs, their progress and results.

Life cycle: ``queued`` (created by the API) -> ``running`` (claimed by exactly
one worker: a conditional update, so of two instances on one database one
wins) -> ``done`` (dispatch, KPIs and solver report written in one
transaction), ``failed`` (one-line error) or ``cancelled``. Every claim counts
an attempt and records the store's instance; progress, results and failures
of an attempt are written only while the run is still that attempt's (a
cancelled or taken-over run ignores its old worker). A run whose worker died
is queued again once (:data:`MAX_ATTEMPTS`); runs of a dead instance are taken
over the same way (:func:`take_over_runs`). A finished run can be deleted
with its results (:func:`delete_run`); cancelling and deleting write an audit
line.

The dispatch table is kept as one row per UTC day in ``run_dispatch``: the
day's float64 values, row-major, zlib-compressed; the column names and the
step live on the run. A time-range read touches only the days it needs.
"""

from __future__ import annotations

import datetime as dt
import uuid
import zlib
from collections.abc import Collection, Sequence
from typing import Any, cast

import numpy as np
import pandas as pd
import sqlalchemy as sa

from energyopt.inputs.timeseries import index_step
from energyopt.service.store.audit import Actor, add_line
from energyopt.service.store.db import (
    ConflictError,
    NotFoundError,
    QueryError,
    Store,
    StoreError,
    jsonable,
    utc_now,
)
from energyopt.service.store.instances import DEFAULT_STALE_AFTER_S, live_ids_query
from energyopt.service.store.records import RunRecord, to_record
from energyopt.service.store.tables import FINISHED_STATUSES, RunDispatchRow, RunRow

_CHUNK = pd.Timedelta("1D")
_COMPRESSION_LEVEL = 1
#: claims of one run: a run that lost its worker this often is failed [-]
MAX_ATTEMPTS = 2


def create_run(
    store: Store,
    *,
    document: dict[str, Any],
    scenario_name: str,
    mode: str,
    period_start: dt.date,
    days: int,
    step: str,
    scenario_id: int | None = None,
    options: dict[str, Any] | None = None,
) -> RunRecord:
    """Queue a run; ``document`` is the validated scenario as it will be solved."""
    row = RunRow(
        id=uuid.uuid4().hex,
        scenario_id=scenario_id,
        scenario_name=scenario_name,
        document=jsonable(document),
        mode=mode,
        period_start=period_start,
        days=days,
        step=step,
        options=jsonable(options or {}),
        status="queued",
        windows_done=0,
        created_at=utc_now(),
    )
    with store.transaction() as session:
        session.add(row)
        session.flush()
        return to_record(RunRecord, row)


def get_run(store: Store, *, run_id: str) -> RunRecord:
    """The run ``run_id``; raises :class:`NotFoundError`."""
    with store.reading() as session:
        row = session.get(RunRow, run_id)
        if row is None:
            raise NotFoundError(f"run {run_id} does not exist")
        return to_record(RunRecord, row)


def list_runs(
    store: Store, *, status: str | None = None, limit: int = 50, offset: int = 0
) -> list[RunRecord]:
    """Runs, newest first, optionally with one status."""
    query = sa.select(RunRow).order_by(RunRow.created_at.desc(), RunRow.id)
    if status is not None:
        query = query.where(RunRow.status == status)
    with store.reading() as session:
        rows = session.scalars(query.limit(limit).offset(offset))
        return [to_record(RunRecord, row) for row in rows]


def claim_run(store: Store, *, run_id: str, windows_total: int | None = None) -> int | None:
    """Move a queued run to ``running`` for the store's instance.

    Returns the attempt number (1 for the first claim), or None if the run
    was not queued (another worker or instance has it, or it was cancelled).
    """
    query = (
        sa.update(RunRow)
        .where(RunRow.id == run_id, RunRow.status == "queued")
        .values(
            status="running",
            started_at=utc_now(),
            windows_total=windows_total,
            attempts=RunRow.attempts + 1,
            instance_id=store.instance_id,
        )
    )
    with store.transaction() as session:
        if cast("sa.CursorResult[Any]", session.execute(query)).rowcount != 1:
            return None
        return session.scalar(sa.select(RunRow.attempts).where(RunRow.id == run_id))


def _of_attempt(attempt: int | None) -> sa.ColumnElement[bool]:
    """Rows still running as attempt ``attempt`` (None: any attempt)."""
    running = RunRow.status == "running"
    return running if attempt is None else sa.and_(running, RunRow.attempts == attempt)


def set_progress(
    store: Store,
    *,
    run_id: str,
    windows_done: int,
    windows_total: int | None = None,
    attempt: int | None = None,
) -> bool:
    """Record progress of a running run [windows]; False once the run is no longer
    running as ``attempt`` (cancelled or taken over: its worker should stop)."""
    values: dict[str, Any] = {"windows_done": windows_done}
    if windows_total is not None:
        values["windows_total"] = windows_total
    query = sa.update(RunRow).where(RunRow.id == run_id, _of_attempt(attempt)).values(**values)
    with store.transaction() as session:
        return cast("sa.CursorResult[Any]", session.execute(query)).rowcount == 1


def handover_at(store: Store, *, run_id: str, at: str) -> dict[str, Any]:
    """The state per asset a planning run planned for boundary ``at`` (UTC stamp
    ``YYYY-MM-DDTHH:MM:SSZ``); empty when the run kept none there."""
    with store.reading() as session:
        handover = session.scalar(sa.select(RunRow.handover).where(RunRow.id == run_id))
    return dict((handover or {}).get(at, {}))


def finish_run(
    store: Store,
    *,
    run_id: str,
    dispatch: pd.DataFrame,
    kpis: dict[str, Any],
    solver_report: dict[str, Any],
    attempt: int | None = None,
    handover: dict[str, Any] | None = None,
) -> RunRecord:
    """Store a run's results and mark it done, all in one transaction.

    ``handover`` is a planning run's planned state per interval boundary
    (see :func:`handover_at`).

    Raises :class:`ConflictError` if the run is not running (as ``attempt``).
    """
    columns, step_s, chunks = encode_dispatch(dispatch)
    with store.transaction() as session:
        row = session.get(RunRow, run_id, with_for_update=True)
        if row is None:
            raise NotFoundError(f"run {run_id} does not exist")
        if row.status != "running":
            raise ConflictError(f"run {run_id} is {row.status}, not running")
        if attempt is not None and row.attempts != attempt:
            raise ConflictError(f"run {run_id} runs as attempt {row.attempts}, not {attempt}")
        session.add_all(RunDispatchRow(run_id=run_id, **chunk) for chunk in chunks)
        row.dispatch_columns = columns
        row.dispatch_step_s = step_s
        row.kpis = jsonable(kpis)
        row.solver_report = jsonable(solver_report)
        row.handover = None if handover is None else jsonable(handover)
        row.windows_done = row.windows_total or row.windows_done
        row.status = "done"
        row.finished_at = utc_now()
        session.flush()
        return to_record(RunRecord, row)


def one_line(error: str) -> str:
    """``error`` on one line (whitespace runs folded)."""
    return " ".join(str(error).split()) or "failed without a message"


def fail_run(store: Store, *, run_id: str, error: str, attempt: int | None = None) -> None:
    """Mark a queued or running run failed with a one-line reason (a running one
    only while it runs as ``attempt``, if given)."""
    active = RunRow.status == "queued" if attempt is None else sa.false()
    query = (
        sa.update(RunRow)
        .where(RunRow.id == run_id, sa.or_(active, _of_attempt(attempt)))
        .values(status="failed", error=one_line(error), finished_at=utc_now())
    )
    with store.transaction() as session:
        session.execute(query)


def _release(
    store: Store, condition: sa.ColumnElement[bool], error: str, retry_modes: Collection[str]
) -> dict[str, str]:
    """Running runs matching ``condition`` whose worker is gone: each is queued again
    while it had fewer than :data:`MAX_ATTEMPTS` claims and its mode is in
    ``retry_modes``, else failed with ``error``. Returns {run id: new status}."""
    query = sa.select(RunRow).where(RunRow.status == "running", condition).with_for_update()
    released: dict[str, str] = {}
    with store.transaction() as session:
        for row in session.scalars(query):
            if row.attempts < MAX_ATTEMPTS and row.mode in retry_modes:
                row.status, row.started_at, row.windows_done = "queued", None, 0
            else:
                row.status, row.error, row.finished_at = "failed", one_line(error), utc_now()
            released[row.id] = row.status
    return released


def _instance_is(instance_id: str | None) -> sa.ColumnElement[bool]:
    if instance_id is None:
        return RunRow.instance_id.is_(None)
    return RunRow.instance_id == instance_id


def retry_or_fail(
    store: Store, *, run_id: str, error: str, retry_modes: Collection[str]
) -> str | None:
    """A run whose worker died: queued again or failed (see :data:`MAX_ATTEMPTS`).

    Only a run still running for the store's instance is touched; returns its
    new status, or None if it was not (finished, cancelled, or another's).
    """
    condition = sa.and_(RunRow.id == run_id, _instance_is(store.instance_id))
    return _release(store, condition, error, retry_modes).get(run_id)


def take_over_runs(
    store: Store,
    *,
    error: str,
    retry_modes: Collection[str],
    stale_after_s: float = DEFAULT_STALE_AFTER_S,
    instance_ids: Collection[str] | None = None,
    unowned: bool = False,
) -> dict[str, str]:
    """Runs left ``running`` by instances that are gone: queued again once, failed
    if they were retried already or their mode cannot be retried.

    Gone: an instance of ``instance_ids`` (e.g. this one, stopping), or, when
    None, any instance without a heartbeat in the last ``stale_after_s`` [s];
    ``unowned`` adds runs claimed without an instance (a single-instance
    start-up). Returns {run id: new status}.
    """
    gone: sa.ColumnElement[bool]
    if instance_ids is not None:
        gone = RunRow.instance_id.in_(list(instance_ids))
    else:
        gone = RunRow.instance_id.not_in(live_ids_query(stale_after_s))
    if unowned:
        gone = sa.or_(gone, RunRow.instance_id.is_(None))
    return _release(store, gone, error, retry_modes)


def fail_interrupted_runs(
    store: Store, *, reason: str, stale_after_s: float = DEFAULT_STALE_AFTER_S
) -> list[str]:
    """Mark failed the ``running`` runs that no live instance executes (called at
    start-up and shutdown); returns their ids.

    Runs of an instance whose heartbeat is at most ``stale_after_s`` old [s]
    are another instance's (or this one's, which takes them over itself when
    it stops) and stay as they are.
    """
    released = take_over_runs(
        store, error=reason, retry_modes=(), stale_after_s=stale_after_s, unowned=True
    )
    return list(released)


def cancel_run(store: Store, *, run_id: str, actor: Actor) -> RunRecord:
    """Cancel a queued or running run (a running run's worker stops at its next
    progress report); writes an audit line.

    Raises
    ------
    NotFoundError
        Unknown run.
    ConflictError
        The run has finished already.
    """
    with store.transaction() as session:
        row = _locked_run(session, run_id)
        if row.status not in ("queued", "running"):
            raise ConflictError(f"run {run_id} is {row.status}; only queued or running runs cancel")
        detail = f"was {row.status} (attempt {row.attempts})"
        row.status, row.finished_at = "cancelled", utc_now()
        row.error = f"cancelled by {actor.name}"
        add_line(session, actor=actor, action="cancel_run", obj=f"run {run_id}", detail=detail)
        session.flush()
        return to_record(RunRecord, row)


def delete_run(store: Store, *, run_id: str, actor: Actor) -> None:
    """Delete a finished run with its results (dispatch, KPIs); writes an audit line.

    Raises
    ------
    NotFoundError
        Unknown run.
    ConflictError
        The run is queued or running (cancel it first).
    """
    with store.transaction() as session:
        row = _locked_run(session, run_id)
        if row.status not in FINISHED_STATUSES:
            raise ConflictError(f"run {run_id} is {row.status}; cancel it before deleting it")
        detail = f"{row.status} {row.mode} run of {row.scenario_name!r} from {row.period_start}"
        session.execute(sa.delete(RunDispatchRow).where(RunDispatchRow.run_id == run_id))
        session.delete(row)
        add_line(session, actor=actor, action="delete_run", obj=f"run {run_id}", detail=detail)


def _locked_run(session: Any, run_id: str) -> RunRow:
    row = session.get(RunRow, run_id, with_for_update=True)
    if row is None:
        raise NotFoundError(f"run {run_id} does not exist")
    return row


def queued_run_ids(store: Store) -> list[str]:
    """Ids of queued runs, oldest first."""
    query = sa.select(RunRow.id).where(RunRow.status == "queued").order_by(RunRow.created_at)
    with store.reading() as session:
        return list(session.scalars(query))


def read_dispatch(
    store: Store,
    *,
    run_id: str,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Dispatch table of a done run, rows with ``start <= time < end`` (UTC).

    Raises
    ------
    NotFoundError
        Unknown run.
    ConflictError
        The run is not done (no results yet, or failed).
    QueryError
        A column asked for does not exist (the message lists what does).
    """
    with store.reading() as session:
        run = session.get(RunRow, run_id)
        if run is None:
            raise NotFoundError(f"run {run_id} does not exist")
        if run.status != "done":
            raise ConflictError(f"run {run_id} is {run.status}; results exist once it is done")
        query = sa.select(RunDispatchRow).where(RunDispatchRow.run_id == run_id)
        if start is not None:
            query = query.where(RunDispatchRow.chunk_end > start)
        if end is not None:
            query = query.where(RunDispatchRow.chunk_start < end)
        chunks = list(session.scalars(query.order_by(RunDispatchRow.chunk_start)))
        names = list(run.dispatch_columns or [])
        step = pd.Timedelta(seconds=run.dispatch_step_s or 3600)
    frame = decode_dispatch(chunks, names, step)
    if start is not None:
        frame = frame[frame.index >= pd.Timestamp(start)]
    if end is not None:
        frame = frame[frame.index < pd.Timestamp(end)]
    if columns:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            msg = f"unknown dispatch column(s) {', '.join(missing)}; known: {', '.join(names)}"
            raise QueryError(msg)
        frame = frame[list(columns)]
    return frame


def encode_dispatch(dispatch: pd.DataFrame) -> tuple[list[str], int, list[dict[str, Any]]]:
    """Split a dispatch table into per-UTC-day chunks of compressed float64 rows.

    Returns the column names, the step [s] and the chunk rows.
    """
    index = dispatch.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None or index.freq is None:
        msg = "dispatch must have a tz-aware DatetimeIndex with a fixed step (freq)"
        raise StoreError(msg)
    non_numeric = [c for c in dispatch.columns if not pd.api.types.is_numeric_dtype(dispatch[c])]
    if non_numeric:
        raise StoreError(f"dispatch column(s) {', '.join(non_numeric)} are not numeric")
    step = index_step(index)
    values = dispatch.to_numpy(dtype="<f8")
    days = index.tz_convert("UTC").floor(_CHUNK)
    chunks = []
    for day in days.unique():
        rows = np.flatnonzero(days == day)
        block = np.ascontiguousarray(values[rows])
        chunks.append(
            {
                "chunk_start": index[rows[0]].to_pydatetime(),
                "chunk_end": (index[rows[-1]] + step).to_pydatetime(),
                "n_rows": len(rows),
                "values": zlib.compress(block.tobytes(), _COMPRESSION_LEVEL),
            }
        )
    return [str(c) for c in dispatch.columns], int(step.total_seconds()), chunks


def decode_dispatch(
    chunks: Sequence[RunDispatchRow], columns: list[str], step: pd.Timedelta
) -> pd.DataFrame:
    """Rebuild a dispatch table from its chunks (in time order)."""
    n_cols = len(columns)
    blocks, stamps = [], []
    for chunk in chunks:
        block = np.frombuffer(zlib.decompress(chunk.values), dtype="<f8")
        blocks.append(block.reshape(chunk.n_rows, n_cols))
        stamps.append(
            pd.date_range(pd.Timestamp(chunk.chunk_start), periods=chunk.n_rows, freq=step)
        )
    if blocks:
        index = (
            cast(pd.DatetimeIndex, stamps[0].append(stamps[1:])) if len(stamps) > 1 else stamps[0]
        )
        data = np.vstack(blocks)
    else:
        index, data = pd.DatetimeIndex([], tz="UTC"), np.empty((0, n_cols))
    regular = len(index) < 2 or bool((index[1:] - index[:-1] == step).all())
    # pandas-stubs type ``freq`` as a string or offset; a Timedelta or None is fine
    freq = step if regular else None
    index = pd.DatetimeIndex(index, name="time", freq=freq)  # type: ignore[arg-type]
    return pd.DataFrame(data, index=index, columns=columns)
