"""Measurements reported by the plant's control system.

Quantities carry their unit in the name (``soc_frac``, ``level_kwh``,
``dew_point_degc``). A batch of measurements is stored in one transaction:
all of it or nothing. Semantic checks against the plant (known asset,
quantity valid for its kind, value in range) belong to the caller.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection

import sqlalchemy as sa
from sqlalchemy.orm import Session

from energyopt.service.store.db import ConflictError, NotFoundError, Store, utc_now
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
    """Store a batch for one plant in one transaction (all or nothing).

    A reading is identified by (asset, quantity, measured_at): sent again with
    the same value it is not stored twice (the stored record is returned);
    with another value it is a :class:`ConflictError` naming it, and nothing
    of the batch is stored.
    """
    received = utc_now()
    with store.transaction() as session:
        if session.get(PlantRow, plant_id) is None:
            raise NotFoundError(f"plant {plant_id} does not exist")
        known = _existing(session, plant_id, items)
        rows: list[MeasurementRow] = []
        for item in items:
            key = (item.asset, item.quantity, item.measured_at)
            row = known.get(key)
            if row is None:
                row = MeasurementRow(
                    plant_id=plant_id, received_at=received, **dataclasses.asdict(item)
                )
                session.add(row)
                known[key] = row
            elif row.value != item.value:
                msg = (
                    f"asset {item.asset!r} quantity {item.quantity!r} at "
                    f"{item.measured_at.isoformat()} already has value {row.value!r}, "
                    f"not {item.value!r}"
                )
                raise ConflictError(msg)
            rows.append(row)
        session.flush()
        return [to_record(MeasurementRecord, row) for row in rows]


_Key = tuple[str, str, dt.datetime]


def _existing(
    session: Session, plant_id: int, items: list[Measurement]
) -> dict[_Key, MeasurementRow]:
    """Stored readings of the plant with the keys of ``items``."""
    times = sorted({item.measured_at for item in items if item.measured_at.utcoffset() is not None})
    if not times or len(times) < len({item.measured_at for item in items}):
        return {}  # a naive time: storing it fails with the store's message
    query = sa.select(MeasurementRow).where(
        MeasurementRow.plant_id == plant_id,
        MeasurementRow.measured_at >= times[0],
        MeasurementRow.measured_at <= times[-1],
        MeasurementRow.asset.in_({item.asset for item in items}),
    )
    wanted = {(item.asset, item.quantity, item.measured_at) for item in items}
    found: dict[_Key, MeasurementRow] = {}
    for row in session.scalars(query):
        key = (row.asset, row.quantity, row.measured_at)
        if key in wanted:
            found.setdefault(key, row)
    return found


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


def readings_between(
    store: Store,
    *,
    plant_id: int,
    start: dt.datetime,
    end: dt.datetime,
    quantities: Collection[str],
) -> list[MeasurementRecord]:
    """Readings of a plant measured in ``[start, end)`` of the given quantities, by time."""
    query = (
        sa.select(MeasurementRow)
        .where(
            MeasurementRow.plant_id == plant_id,
            MeasurementRow.measured_at >= start,
            MeasurementRow.measured_at < end,
            MeasurementRow.quantity.in_(sorted(quantities)),
        )
        .order_by(MeasurementRow.measured_at, MeasurementRow.id)
    )
    with store.reading() as session:
        return [to_record(MeasurementRecord, row) for row in session.scalars(query)]
