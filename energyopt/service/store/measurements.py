"""Measurements reported by the plant's control system.

Quantities carry their unit in the name (``soc_frac``, ``level_kwh``,
``dew_point_degc``). A batch of measurements is stored in one transaction:
all of it or nothing. Semantic checks against the plant (known asset,
quantity valid for its kind, value in range) belong to the caller.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa

from energyopt.service.store.db import NotFoundError, Store, utc_now
from energyopt.service.store.records import MeasurementRecord, to_record
from energyopt.service.store.tables import MeasurementRow, PlantRow


@dataclasses.dataclass(frozen=True)
class Measurement:
    """One value to store: ``value`` in the unit ``quantity`` names."""

    asset: str
    quantity: str
    value: float
    measured_at: dt.datetime


def add_measurements(
    store: Store, *, plant_id: int, items: list[Measurement]
) -> list[MeasurementRecord]:
    """Store a batch for one plant in one transaction (all or nothing)."""
    received = utc_now()
    with store.transaction() as session:
        if session.get(PlantRow, plant_id) is None:
            raise NotFoundError(f"plant {plant_id} does not exist")
        rows = [
            MeasurementRow(plant_id=plant_id, received_at=received, **dataclasses.asdict(item))
            for item in items
        ]
        session.add_all(rows)
        session.flush()
        return [to_record(MeasurementRecord, row) for row in rows]


def latest_measurements(
    store: Store, *, plant_id: int, at: dt.datetime | None = None
) -> list[MeasurementRecord]:
    """The newest value of every (asset, quantity) of a plant measured at or before ``at``."""
    newest_query = sa.select(
        MeasurementRow.asset,
        MeasurementRow.quantity,
        sa.func.max(MeasurementRow.measured_at).label("measured_at"),
    ).where(MeasurementRow.plant_id == plant_id)
    if at is not None:
        newest_query = newest_query.where(MeasurementRow.measured_at <= at)
    newest = newest_query.group_by(MeasurementRow.asset, MeasurementRow.quantity).subquery()
    query = (
        sa.select(MeasurementRow)
        .join(
            newest,
            sa.and_(
                MeasurementRow.asset == newest.c.asset,
                MeasurementRow.quantity == newest.c.quantity,
                MeasurementRow.measured_at == newest.c.measured_at,
            ),
        )
        .where(MeasurementRow.plant_id == plant_id)
        .order_by(MeasurementRow.asset, MeasurementRow.quantity, MeasurementRow.id.desc())
    )
    with store.reading() as session:
        seen: set[tuple[str, str]] = set()
        records = []
        for row in session.scalars(query):
            if (row.asset, row.quantity) not in seen:  # same time reported twice: newest row
                seen.add((row.asset, row.quantity))
                records.append(to_record(MeasurementRecord, row))
        return records
