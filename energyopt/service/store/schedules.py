"""Published schedules: immutable versions per plant and local delivery day.

A version is written in one transaction and never changed afterwards. The
version number is the next after the highest stored one; the unique
constraint (plant, day, version) makes two concurrent publishers collide
instead of writing the same version twice, and the loser retries with the
next number. A publish that names its planning instant (``issued_at``) is
idempotent: publishing the same (plant, day, issued_at) again returns the
version already stored.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from energyopt.service.store.db import NotFoundError, Store, StoreError, dumps, jsonable, utc_now
from energyopt.service.store.records import ScheduleRecord, to_record
from energyopt.service.store.tables import PlantRow, ScheduleRow

#: attempts to find a free version number under concurrent publishing
PUBLISH_ATTEMPTS = 20


def publish_schedule(
    store: Store,
    *,
    plant_id: int,
    delivery_date: dt.date,
    payload: Any,
    solve_status: str,
    issued_at: dt.datetime | None = None,
    run_id: str | None = None,
    is_incumbent: bool = False,
    mip_gap: float | None = None,
    is_fallback: bool = False,
    fallback_reason: str | None = None,
    kpis: dict[str, Any] | None = None,
    has_violations: bool = False,
) -> ScheduleRecord:
    """Publish the next schedule version (one transaction).

    ``payload`` is serialized to JSON here (a ``str`` is taken as JSON text
    already). Returns the stored version, or the existing one when
    (plant, day, ``issued_at``) was published before.
    """
    text = payload if isinstance(payload, str) else dumps(payload)
    for _ in range(PUBLISH_ATTEMPTS):
        existing = _same_issue(store, plant_id, delivery_date, issued_at)
        if existing is not None:
            return existing
        try:
            with store.transaction() as session:
                if session.get(PlantRow, plant_id) is None:
                    raise NotFoundError(f"plant {plant_id} does not exist")
                version = 1 + (
                    session.scalar(
                        sa.select(sa.func.max(ScheduleRow.version)).where(
                            ScheduleRow.plant_id == plant_id,
                            ScheduleRow.delivery_date == delivery_date,
                        )
                    )
                    or 0
                )
                row = ScheduleRow(
                    plant_id=plant_id,
                    delivery_date=delivery_date,
                    version=version,
                    created_at=utc_now(),
                    issued_at=issued_at,
                    run_id=run_id,
                    solve_status=solve_status,
                    is_incumbent=is_incumbent,
                    mip_gap=jsonable(mip_gap),
                    is_fallback=is_fallback,
                    fallback_reason=fallback_reason,
                    kpis=jsonable(kpis) if kpis is not None else None,
                    payload=text,
                    has_violations=has_violations,
                )
                session.add(row)
                session.flush()
                return to_record(ScheduleRecord, row)
        except IntegrityError:
            continue  # another publisher took this version (or this issue) first
    msg = (
        f"plant {plant_id} {delivery_date}: no free schedule version after {PUBLISH_ATTEMPTS} tries"
    )
    raise StoreError(msg)


def _same_issue(
    store: Store, plant_id: int, delivery_date: dt.date, issued_at: dt.datetime | None
) -> ScheduleRecord | None:
    if issued_at is None:
        return None
    query = sa.select(ScheduleRow).where(
        ScheduleRow.plant_id == plant_id,
        ScheduleRow.delivery_date == delivery_date,
        ScheduleRow.issued_at == issued_at,
    )
    with store.reading() as session:
        row = session.scalar(query)
        return None if row is None else to_record(ScheduleRecord, row)


def get_schedule(
    store: Store, *, plant_id: int, delivery_date: dt.date, version: int | None = None
) -> ScheduleRecord:
    """A schedule version (the latest when ``version`` is None); raises :class:`NotFoundError`."""
    query = sa.select(ScheduleRow).where(
        ScheduleRow.plant_id == plant_id, ScheduleRow.delivery_date == delivery_date
    )
    if version is None:
        query = query.order_by(ScheduleRow.version.desc()).limit(1)
    else:
        query = query.where(ScheduleRow.version == version)
    with store.reading() as session:
        row = session.scalar(query)
        if row is None:
            which = "any version" if version is None else f"version {version}"
            raise NotFoundError(f"plant {plant_id} has no schedule for {delivery_date} ({which})")
        return to_record(ScheduleRecord, row)


def latest_schedule(store: Store, *, plant_id: int) -> ScheduleRecord | None:
    """The newest version of the latest delivery day of a plant, or None."""
    query = (
        sa.select(ScheduleRow)
        .where(ScheduleRow.plant_id == plant_id)
        .order_by(ScheduleRow.delivery_date.desc(), ScheduleRow.version.desc())
        .limit(1)
    )
    with store.reading() as session:
        row = session.scalar(query)
        return None if row is None else to_record(ScheduleRecord, row)


def list_versions(store: Store, *, plant_id: int, delivery_date: dt.date) -> list[ScheduleRecord]:
    """Every version of one plant and day, oldest first."""
    query = (
        sa.select(ScheduleRow)
        .where(ScheduleRow.plant_id == plant_id, ScheduleRow.delivery_date == delivery_date)
        .order_by(ScheduleRow.version)
    )
    with store.reading() as session:
        return [to_record(ScheduleRecord, row) for row in session.scalars(query)]


def version_issued_before(
    store: Store, *, plant_id: int, delivery_date: dt.date, before: dt.datetime
) -> ScheduleRecord | None:
    """The newest version of one plant and day issued before ``before``, or None.

    Versions without a planning instant count from their publication time.
    """
    issued = sa.func.coalesce(ScheduleRow.issued_at, ScheduleRow.created_at)
    query = (
        sa.select(ScheduleRow)
        .where(
            ScheduleRow.plant_id == plant_id,
            ScheduleRow.delivery_date == delivery_date,
            issued < before,
        )
        .order_by(ScheduleRow.version.desc())
        .limit(1)
    )
    with store.reading() as session:
        row = session.scalar(query)
        return None if row is None else to_record(ScheduleRecord, row)


def find_issue(
    store: Store, *, plant_id: int, delivery_date: dt.date, issued_at: dt.datetime
) -> ScheduleRecord | None:
    """The version published for one planning instant, or None."""
    return _same_issue(store, plant_id, delivery_date, issued_at)


def latest_day_before(store: Store, *, plant_id: int, before: dt.date) -> dt.date | None:
    """The latest delivery day of a plant before ``before`` that has a schedule, or None."""
    query = sa.select(sa.func.max(ScheduleRow.delivery_date)).where(
        ScheduleRow.plant_id == plant_id, ScheduleRow.delivery_date < before
    )
    with store.reading() as session:
        return session.scalar(query)


def latest_version_ids(
    store: Store, *, plant_id: int, delivery_date: dt.date
) -> tuple[int, int] | None:
    """(id, version) of the newest version of one plant and day, or None (a cheap query)."""
    query = (
        sa.select(ScheduleRow.id, ScheduleRow.version)
        .where(ScheduleRow.plant_id == plant_id, ScheduleRow.delivery_date == delivery_date)
        .order_by(ScheduleRow.version.desc())
        .limit(1)
    )
    with store.reading() as session:
        row = session.execute(query).first()
        return None if row is None else (row.id, row.version)


def latest_ids(store: Store, *, plant_id: int) -> tuple[int, dt.date, int] | None:
    """(id, delivery date, version) of a plant's newest version of its latest day, or None."""
    query = (
        sa.select(ScheduleRow.id, ScheduleRow.delivery_date, ScheduleRow.version)
        .where(ScheduleRow.plant_id == plant_id)
        .order_by(ScheduleRow.delivery_date.desc(), ScheduleRow.version.desc())
        .limit(1)
    )
    with store.reading() as session:
        row = session.execute(query).first()
        return None if row is None else (row.id, row.delivery_date, row.version)


def get_schedule_by_id(store: Store, *, schedule_id: int) -> ScheduleRecord:
    """One version by its row id; raises :class:`NotFoundError`."""
    with store.reading() as session:
        row = session.get(ScheduleRow, schedule_id)
        if row is None:
            raise NotFoundError(f"schedule {schedule_id} does not exist")
        return to_record(ScheduleRecord, row)


def list_schedules(store: Store, *, plant_id: int, limit: int = 20) -> list[dict[str, Any]]:
    """Newest versions of a plant (any day) without payloads: id, day, version, flags, KPIs."""
    columns = [c for c in ScheduleRow.__table__.columns if c.name != "payload"]
    query = (
        sa.select(*columns)
        .where(ScheduleRow.plant_id == plant_id)
        .order_by(ScheduleRow.delivery_date.desc(), ScheduleRow.version.desc())
        .limit(limit)
    )
    with store.reading() as session:
        return [dict(row._mapping) for row in session.execute(query)]
