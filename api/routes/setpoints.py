"""Committed setpoints for the plant's control system (viewer; give the control
system its own viewer key).

``GET /plants/{id}/setpoints/current`` answers the interval that contains the
current time and the next ``intervals`` ones, from the newest published
version of each local delivery day they fall in, in the control-system
convention of :mod:`energyopt.service.control.setpoints` (storage ``power_kw``
positive = discharge, kW; ``soc_target_frac`` at the interval end; ...). Each
interval carries ``valid_from``/``valid_to`` (UTC), the schedule version,
whether that version is a fallback and whether it misses a process
requirement (``has_violations``; the schedule names each one). Intervals no
published schedule covers are left out (``complete`` is then false); 404
when not even the current one is covered.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from api.deps import require_role
from api.routes.plants import CacheDep, PlantDep
from api.schedule_cache import CachedSchedule, ScheduleCache
from api.schemas import ErrorOut
from energyopt.service.control.intervals import covering, interval
from energyopt.service.control.setpoints import CONVENTION
from energyopt.service.store import NotFoundError, PlantRecord
from energyopt.service.store.db import dumps

router = APIRouter(
    prefix="/plants/{plant_id}/setpoints",
    tags=["setpoints"],
    dependencies=[Depends(require_role("viewer"))],
)
#: most intervals one answer carries after the current one (two days of 15 min)
MAX_INTERVALS = 192


def _fragments(entry: CachedSchedule) -> list[str]:
    """Every interval of a version as ready JSON text."""
    return [dumps(interval(entry, i)) for i in range(len(entry.starts_ns))]


def collect(cache: ScheduleCache, plant: PlantRecord, now: dt.datetime, count: int) -> list[str]:
    """The interval containing ``now`` and up to ``count`` following ones (JSON texts)."""
    return [
        entry.derived("setpoint_intervals", _fragments)[position]
        for entry, position in covering(cache, plant, now, count)
    ]


@router.get(
    "/current",
    responses={
        200: {"content": {"application/json": {}}},
        404: {"model": ErrorOut, "description": "no plant, or no schedule covers now"},
    },
    response_class=Response,
)
def current_setpoints(
    plant: PlantDep,
    cache: CacheDep,
    intervals: Annotated[
        int, Query(ge=0, le=MAX_INTERVALS, description="intervals after the current one")
    ] = 4,
) -> Response:
    """Setpoints of the current interval and the next ``intervals`` ones."""
    now = dt.datetime.now(dt.UTC)
    rows = collect(cache, plant, now, intervals)
    if not rows:
        msg = f"plant {plant.id}: no published schedule covers {now:%Y-%m-%dT%H:%MZ}"
        raise NotFoundError(msg)
    head = {
        "plant_id": plant.id,
        "plant": plant.name,
        "generated_at": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "convention": CONVENTION,
        "complete": len(rows) == intervals + 1,
    }
    body = f'{dumps(head)[:-1]},"intervals":[{",".join(rows)}]}}'
    return Response(body, media_type="application/json")
