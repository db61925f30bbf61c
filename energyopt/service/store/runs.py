"""Runs: optimisation jobs, their progress and results.

Life cycle: ``queued`` (created by the API) -> ``running`` (claimed by exactly
one worker) -> ``done`` (dispatch, KPIs and solver report written in one
transaction) or ``failed`` (one-line error). A run left ``running`` by a
crashed or stopped service is marked failed at the next start-up
(:func:`fail_interrupted_runs`).

The dispatch table is kept as one row per UTC day in ``run_dispatch``: the
day's float64 values, row-major, zlib-compressed; the column names and the
step live on the run. A time-range read touches only the days it needs.
"""

from __future__ import annotations

import datetime as dt
import uuid
import zlib
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import pandas as pd
import sqlalchemy as sa

from energyopt.inputs.timeseries import index_step
from energyopt.service.store.db import (
    ConflictError,
    NotFoundError,
    QueryError,
    Store,
    StoreError,
    jsonable,
    utc_now,
)
from energyopt.service.store.records import RunRecord, to_record
from energyopt.service.store.tables import RunDispatchRow, RunRow

_CHUNK = pd.Timedelta("1D")
_COMPRESSION_LEVEL = 1


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


def claim_run(store: Store, *, run_id: str, windows_total: int | None = None) -> bool:
    """Move a queued run to ``running``; False if it was not queued (someone else has it)."""
    query = (
        sa.update(RunRow)
        .where(RunRow.id == run_id, RunRow.status == "queued")
        .values(status="running", started_at=utc_now(), windows_total=windows_total)
    )
    with store.transaction() as session:
        return cast("sa.CursorResult[Any]", session.execute(query)).rowcount == 1


def set_progress(
    store: Store, *, run_id: str, windows_done: int, windows_total: int | None = None
) -> None:
    """Record progress of a running run [windows]."""
    values: dict[str, Any] = {"windows_done": windows_done}
    if windows_total is not None:
        values["windows_total"] = windows_total
    query = (
        sa.update(RunRow).where(RunRow.id == run_id, RunRow.status == "running").values(**values)
    )
    with store.transaction() as session:
        session.execute(query)


def finish_run(
    store: Store,
    *,
    run_id: str,
    dispatch: pd.DataFrame,
    kpis: dict[str, Any],
    solver_report: dict[str, Any],
) -> RunRecord:
    """Store a run's results and mark it done, all in one transaction."""
    columns, step_s, chunks = encode_dispatch(dispatch)
    with store.transaction() as session:
        row = session.get(RunRow, run_id, with_for_update=True)
        if row is None:
            raise NotFoundError(f"run {run_id} does not exist")
        if row.status != "running":
            raise ConflictError(f"run {run_id} is {row.status}, not running")
        session.add_all(RunDispatchRow(run_id=run_id, **chunk) for chunk in chunks)
        row.dispatch_columns = columns
        row.dispatch_step_s = step_s
        row.kpis = jsonable(kpis)
        row.solver_report = jsonable(solver_report)
        row.windows_done = row.windows_total or row.windows_done
        row.status = "done"
        row.finished_at = utc_now()
        session.flush()
        return to_record(RunRecord, row)


def fail_run(store: Store, *, run_id: str, error: str) -> None:
    """Mark a queued or running run failed with a one-line reason."""
    line = " ".join(str(error).split()) or "failed without a message"
    query = (
        sa.update(RunRow)
        .where(RunRow.id == run_id, RunRow.status.in_(("queued", "running")))
        .values(status="failed", error=line, finished_at=utc_now())
    )
    with store.transaction() as session:
        session.execute(query)


def fail_interrupted_runs(store: Store, *, reason: str) -> list[str]:
    """Mark every ``running`` run failed (called at start-up); returns their ids."""
    with store.transaction() as session:
        ids = list(session.scalars(sa.select(RunRow.id).where(RunRow.status == "running")))
        if ids:
            session.execute(
                sa.update(RunRow)
                .where(RunRow.id.in_(ids), RunRow.status == "running")
                .values(status="failed", error=reason, finished_at=utc_now())
            )
        return ids


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
