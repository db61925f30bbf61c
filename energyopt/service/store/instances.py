"""Service instances sharing one database: heartbeats and planning claims.

Every instance of the service has an id and a row in ``instances`` whose
``heartbeat_at`` it renews every few seconds. An instance whose heartbeat is
older than a timeout is taken to be dead: the runs its workers had claimed
are taken over (:func:`energyopt.service.store.runs.take_over_runs`), and a
planning instant it claimed may be claimed by another instance.

``planning_claims`` holds one row per plant and planning instant, inserted by
the instance that plans it (:func:`claim_planning`), so two instances
scheduling the same plant plan each instant once.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from typing import Any, cast

import sqlalchemy as sa

from energyopt.service.store.db import Store, utc_now
from energyopt.service.store.records import InstanceRecord, to_record
from energyopt.service.store.tables import InstanceRow, PlanningClaimRow

#: heartbeat age after which an instance counts as dead, unless told otherwise [s]
DEFAULT_STALE_AFTER_S = 60.0


def register_instance(store: Store, *, instance_id: str) -> InstanceRecord:
    """Add (or renew) the row of ``instance_id`` for this host and process."""
    now = utc_now()
    with store.transaction() as session:
        row = session.get(InstanceRow, instance_id)
        if row is None:
            row = InstanceRow(id=instance_id, started_at=now)
            session.add(row)
        row.host, row.pid, row.heartbeat_at = socket.gethostname()[:200], os.getpid(), now
        session.flush()
        return to_record(InstanceRecord, row)


def heartbeat(store: Store, *, instance_id: str) -> bool:
    """Renew the instance's heartbeat; False if its row is gone (it was declared dead)."""
    query = sa.update(InstanceRow).where(InstanceRow.id == instance_id)
    with store.transaction() as session:
        result = session.execute(query.values(heartbeat_at=utc_now()))
        return cast("sa.CursorResult[Any]", result).rowcount == 1


def remove_instance(store: Store, *, instance_id: str) -> None:
    """Delete the instance's row (it stopped)."""
    with store.transaction() as session:
        session.execute(sa.delete(InstanceRow).where(InstanceRow.id == instance_id))


def remove_other_instances(store: Store, *, instance_id: str) -> list[str]:
    """Delete every row but ``instance_id``'s (SQLite: the lock proves they are dead)."""
    with store.transaction() as session:
        query = sa.select(InstanceRow.id).where(InstanceRow.id != instance_id)
        others = list(session.scalars(query))
        session.execute(sa.delete(InstanceRow).where(InstanceRow.id.in_(others)))
        return others


def list_instances(store: Store) -> list[InstanceRecord]:
    """Instances with a row, oldest first."""
    query = sa.select(InstanceRow).order_by(InstanceRow.started_at, InstanceRow.id)
    with store.reading() as session:
        return [to_record(InstanceRecord, row) for row in session.scalars(query)]


def live_ids_query(stale_after_s: float, now: dt.datetime | None = None) -> sa.Select:
    """Ids of instances whose heartbeat is at most ``stale_after_s`` old [s]."""
    cutoff = (now or utc_now()) - dt.timedelta(seconds=stale_after_s)
    return sa.select(InstanceRow.id).where(InstanceRow.heartbeat_at >= cutoff)


def claim_planning(
    store: Store, *, plant_id: int, issued_at: dt.datetime, instance_id: str, stale_after_s: float
) -> bool:
    """Claim the plant's planning instant for ``instance_id``; False if another has it.

    A claim held by an instance whose heartbeat is older than ``stale_after_s``
    [s] (or that has no row) passes to the caller; a claim the caller holds
    already is its own (a second fire of the same instant then finds the
    published version).
    """
    with store.transaction() as session:
        inserted = session.execute(
            _insert(store)(PlanningClaimRow)
            .values(
                plant_id=plant_id,
                issued_at=issued_at,
                instance_id=instance_id,
                claimed_at=utc_now(),
            )
            .on_conflict_do_nothing()
        )
        if cast("sa.CursorResult[Any]", inserted).rowcount == 1:
            return True
        stolen = session.execute(
            sa.update(PlanningClaimRow)
            .where(
                PlanningClaimRow.plant_id == plant_id,
                PlanningClaimRow.issued_at == issued_at,
                sa.or_(
                    PlanningClaimRow.instance_id == instance_id,
                    PlanningClaimRow.instance_id.not_in(live_ids_query(stale_after_s)),
                ),
            )
            .values(instance_id=instance_id, claimed_at=utc_now())
        )
        return cast("sa.CursorResult[Any]", stolen).rowcount == 1


def planning_claims(store: Store, *, plant_id: int) -> list[tuple[dt.datetime, str]]:
    """The plant's claimed planning instants and their instances, oldest first."""
    query = (
        sa.select(PlanningClaimRow.issued_at, PlanningClaimRow.instance_id)
        .where(PlanningClaimRow.plant_id == plant_id)
        .order_by(PlanningClaimRow.issued_at)
    )
    with store.reading() as session:
        return [(at, owner) for at, owner in session.execute(query)]


def _insert(store: Store) -> Any:
    """The dialect's INSERT (both have ``on_conflict_do_nothing``)."""
    from sqlalchemy.dialects import postgresql, sqlite

    return postgresql.insert if store.dialect == "postgresql" else sqlite.insert
