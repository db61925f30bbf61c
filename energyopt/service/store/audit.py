"""The audit log: one line per cancelled or deleted run (who, when, what).

Lines are written in the transaction of the action they record
(:func:`add_line`), so an action and its line are stored together or not at all.
"""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa
from sqlalchemy.orm import Session

from energyopt.service.store.db import Store, utc_now
from energyopt.service.store.records import AuditRecord, to_record
from energyopt.service.store.tables import AuditRow


@dataclasses.dataclass(frozen=True)
class Actor:
    """Who acts: an API key's name and the first characters of its token."""

    name: str
    prefix: str


def add_line(session: Session, *, actor: Actor, action: str, obj: str, detail: str = "") -> None:
    """Add an audit line inside the caller's transaction."""
    session.add(
        AuditRow(
            at=utc_now(),
            actor=actor.name[:200],
            actor_prefix=actor.prefix[:16],
            action=action,
            object=obj,
            detail=detail,
        )
    )


def list_lines(store: Store, *, limit: int = 100, offset: int = 0) -> list[AuditRecord]:
    """Audit lines, newest first."""
    query = sa.select(AuditRow).order_by(AuditRow.at.desc(), AuditRow.id.desc())
    with store.reading() as session:
        rows = session.scalars(query.limit(limit).offset(offset))
        return [to_record(AuditRecord, row) for row in rows]
