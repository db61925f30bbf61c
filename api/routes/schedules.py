"""Published schedules of a plant (viewer): latest, by day and version, CSV, differences.

A schedule version never changes once published. ``GET .../schedules/{date}``
answers the newest version of that local delivery day (``?version=N`` an older
one); ``.../schedules/latest`` the newest version of the plant's latest day.
JSON answers carry the version's metadata and the schedule document under
``schedule`` (``time``: UTC interval starts, ``columns``: dispatch quantities
with units in their names, ``solve``, ``kpis``, ``state``, ``inputs``); CSV
(``?format=csv`` or ``Accept: text/csv``) has ``timestamp_utc``,
``timestamp_local`` and one column per quantity.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import PlainTextResponse

from api.deps import FormatParam, StoreDep, require_role, wants_csv
from api.routes.plants import CacheDep, PlantDep
from api.schedule_cache import CachedSchedule, schedule_meta
from api.schemas import DB_INT_MAX, CalendarDate, ErrorOut
from energyopt.service.control import documents
from energyopt.service.store import NotFoundError
from energyopt.service.store import schedules as schedule_store

router = APIRouter(
    prefix="/plants/{plant_id}/schedules",
    tags=["schedules"],
    dependencies=[Depends(require_role("viewer"))],
)
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "no such plant, day or version"}
}
SCHEDULE: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    200: {
        "description": "the version's metadata and its schedule document, or CSV",
        "content": {"application/json": {}, "text/csv": {}},
    },
}


def _answer(entry: CachedSchedule, request: Request, fmt: str | None) -> Response:
    record = entry.record
    headers = {
        "X-Schedule-Version": str(record.version),
        "X-Delivery-Date": record.delivery_date.isoformat(),
    }
    if wants_csv(request, fmt):
        name = f"plant-{record.plant_id}-{record.delivery_date}-v{record.version}.csv"
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return PlainTextResponse(
            documents.to_csv(entry.payload), media_type="text/csv", headers=headers
        )
    return Response(entry.body, media_type="application/json", headers=headers)


@router.get("", responses=NOT_FOUND)
def list_schedules(
    plant: PlantDep,
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[dict]:
    """Versions of the plant, newest day and version first (metadata and KPIs, no payload)."""
    rows = schedule_store.list_schedules(store, plant_id=plant.id, limit=limit)
    return rows


@router.get("/latest", responses=SCHEDULE, response_class=Response)
def get_latest(plant: PlantDep, cache: CacheDep, request: Request, format: FormatParam = None):  # noqa: A002
    """The newest version of the plant's latest delivery day."""
    entry = cache.latest(plant.id)
    if entry is None:
        raise NotFoundError(f"plant {plant.id} has no schedule yet")
    return _answer(entry, request, format)


@router.get("/{delivery_date}", responses=SCHEDULE, response_class=Response)
def get_schedule(
    plant: PlantDep,
    delivery_date: CalendarDate,
    cache: CacheDep,
    store: StoreDep,
    request: Request,
    version: Annotated[
        int | None, Query(ge=1, le=DB_INT_MAX, description="default: the newest")
    ] = None,
    format: FormatParam = None,  # noqa: A002
):
    """One version of a local delivery day (the newest unless ``version`` is given)."""
    if version is None:
        entry = cache.latest(plant.id, delivery_date)
        if entry is None:
            raise NotFoundError(f"plant {plant.id} has no schedule for {delivery_date}")
    else:
        record = schedule_store.get_schedule(
            store, plant_id=plant.id, delivery_date=delivery_date, version=version
        )
        entry = cache.add(record)
    return _answer(entry, request, format)


@router.get("/{delivery_date}/versions", responses=NOT_FOUND)
def list_versions(plant: PlantDep, delivery_date: CalendarDate, store: StoreDep) -> list[dict]:
    """Every version of one delivery day, oldest first (metadata, no payload)."""
    records = schedule_store.list_versions(store, plant_id=plant.id, delivery_date=delivery_date)
    if not records:
        raise NotFoundError(f"plant {plant.id} has no schedule for {delivery_date}")
    return [{**schedule_meta(r), "kpis": r.kpis} for r in records]


@router.get("/{delivery_date}/diff", responses=NOT_FOUND)
def diff_versions(
    plant: PlantDep,
    delivery_date: CalendarDate,
    store: StoreDep,
    cache: CacheDep,
    from_version: Annotated[
        int, Query(alias="from", ge=1, le=DB_INT_MAX, description="older version")
    ],
    to_version: Annotated[
        int | None,
        Query(alias="to", ge=1, le=DB_INT_MAX, description="newer version; default: the newest"),
    ] = None,
) -> dict:
    """Per quantity and interval ``to - from``, with totals (energy [kWh] for powers).

    See :mod:`energyopt.service.control.documents` for how quantities are totalled.
    """
    entries = []
    for number in (from_version, to_version):
        record = schedule_store.get_schedule(
            store, plant_id=plant.id, delivery_date=delivery_date, version=number
        )
        entries.append(cache.add(record))
    old, new = entries
    return {
        "plant_id": plant.id,
        "delivery_date": delivery_date.isoformat(),
        "from_version": old.record.version,
        "to_version": new.record.version,
        **documents.diff(old.payload, new.payload),
    }
