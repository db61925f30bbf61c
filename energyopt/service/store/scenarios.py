"""Stored scenario documents.

Documents are validated before they reach the store
(:func:`energyopt.service.store.documents.validate_document`); the store keeps them
as JSON and never changes a stored document in place except through
:func:`replace_scenario`, which runs in one transaction.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from energyopt.service.store.db import ConflictError, NotFoundError, Store, jsonable, utc_now
from energyopt.service.store.records import ScenarioRecord, to_record
from energyopt.service.store.tables import PlantRow, ScenarioRow


def create_scenario(
    store: Store, *, name: str, document: dict[str, Any], description: str = ""
) -> ScenarioRecord:
    """Store a validated scenario document; returns it with its new id."""
    now = utc_now()
    row = ScenarioRow(
        name=name,
        description=description,
        document=jsonable(document),
        created_at=now,
        updated_at=now,
    )
    with store.transaction() as session:
        session.add(row)
        session.flush()
        return to_record(ScenarioRecord, row)


def get_scenario(store: Store, *, scenario_id: int) -> ScenarioRecord:
    """The scenario with ``scenario_id``; raises :class:`NotFoundError`."""
    with store.reading() as session:
        row = session.get(ScenarioRow, scenario_id)
        if row is None:
            raise NotFoundError(f"scenario {scenario_id} does not exist")
        return to_record(ScenarioRecord, row)


def list_scenarios(store: Store, *, limit: int = 100, offset: int = 0) -> list[ScenarioRecord]:
    """Scenarios, newest first."""
    query = sa.select(ScenarioRow).order_by(ScenarioRow.id.desc()).limit(limit).offset(offset)
    with store.reading() as session:
        return [to_record(ScenarioRecord, row) for row in session.scalars(query)]


def replace_scenario(
    store: Store,
    *,
    scenario_id: int,
    name: str,
    document: dict[str, Any],
    description: str = "",
) -> ScenarioRecord:
    """Replace a scenario's document (runs keep the copy they were started with)."""
    with store.transaction() as session:
        row = session.get(ScenarioRow, scenario_id)
        if row is None:
            raise NotFoundError(f"scenario {scenario_id} does not exist")
        row.name = name
        row.description = description
        row.document = jsonable(document)
        row.updated_at = utc_now()
        session.flush()
        return to_record(ScenarioRecord, row)


def delete_scenario(store: Store, *, scenario_id: int) -> None:
    """Delete a scenario no plant uses; its runs keep their copy of the document."""
    with store.transaction() as session:
        row = session.get(ScenarioRow, scenario_id)
        if row is None:
            raise NotFoundError(f"scenario {scenario_id} does not exist")
        users = session.scalars(
            sa.select(PlantRow.name).where(PlantRow.scenario_id == scenario_id)
        ).all()
        if users:
            msg = f"scenario {scenario_id} is used by plant(s) {', '.join(users)}"
            raise ConflictError(msg)
        session.delete(row)
