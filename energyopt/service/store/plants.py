"""Plants the service plans every day."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from energyopt.service.store.db import ConflictError, NotFoundError, Store, jsonable, utc_now
from energyopt.service.store.records import PlantRecord, to_record
from energyopt.service.store.tables import PlantRow, ScenarioRow


def create_plant(
    store: Store,
    *,
    name: str,
    scenario_id: int,
    planning_time: dt.time,
    timezone: str,
    options: dict[str, Any] | None = None,
) -> PlantRecord:
    """Register a plant; ``planning_time`` is local time in ``timezone``.

    ``options`` are its planning options as JSON (None: the defaults).

    Raises
    ------
    NotFoundError
        The scenario does not exist.
    ConflictError
        A plant with this name exists.
    """
    try:
        with store.transaction() as session:
            if session.get(ScenarioRow, scenario_id) is None:
                raise NotFoundError(f"scenario {scenario_id} does not exist")
            row = PlantRow(
                name=name,
                scenario_id=scenario_id,
                planning_time=planning_time,
                timezone=timezone,
                is_active=True,
                created_at=utc_now(),
                options=jsonable(options) if options is not None else None,
            )
            session.add(row)
            session.flush()
            return to_record(PlantRecord, row)
    except IntegrityError:
        raise ConflictError(f"a plant named {name!r} exists") from None


def get_plant(store: Store, *, plant_id: int) -> PlantRecord:
    """The plant ``plant_id``; raises :class:`NotFoundError`."""
    with store.reading() as session:
        row = session.get(PlantRow, plant_id)
        if row is None:
            raise NotFoundError(f"plant {plant_id} does not exist")
        return to_record(PlantRecord, row)


def find_plant(store: Store, *, name: str) -> PlantRecord | None:
    """The plant called ``name``, or None."""
    with store.reading() as session:
        row = session.scalar(sa.select(PlantRow).where(PlantRow.name == name))
        return None if row is None else to_record(PlantRecord, row)


def list_plants(store: Store, *, active_only: bool = False) -> list[PlantRecord]:
    """Plants by id."""
    query = sa.select(PlantRow).order_by(PlantRow.id)
    if active_only:
        query = query.where(PlantRow.is_active.is_(True))
    with store.reading() as session:
        return [to_record(PlantRecord, row) for row in session.scalars(query)]
