"""Plan versus actual of a past local day (viewer).

``GET /plants/{id}/attribution/{YYYY-MM-DD}`` splits the day's deviation of the
realised cost and CO2 from the plan into forecast error, execution error and
the remainder (model error), with one row per asset and carrier; the figures
are defined in :mod:`energyopt.outputs.attribution`, how the day is gathered
(versions in force, readings, the re-solve on actual inputs) in
:mod:`energyopt.service.attribution`. ``?format=csv`` (or ``Accept: text/csv``)
answers the rows as CSV. A day that is not over, lacks meter readings or
actual inputs answers 409 naming what is missing.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse

from api.deps import FormatParam, SettingsDep, StoreDep, require_role, wants_csv
from api.routes.plants import PlantDep
from api.schemas import AttributionOut, CalendarDate, ErrorOut
from energyopt.service.attribution import day_attribution
from energyopt.service.planning import DataPaths

router = APIRouter(
    prefix="/plants/{plant_id}/attribution",
    tags=["attribution"],
    dependencies=[Depends(require_role("viewer"))],
)
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the split of the day's deviation, or its rows as CSV",
        "content": {"text/csv": {}},
    },
    404: {"model": ErrorOut, "description": "no such plant, or no schedule for the day"},
    409: {
        "model": ErrorOut,
        "description": "the day is not over, lacks meter readings or actual inputs",
    },
}


@router.get("/{delivery_date}", responses=RESPONSES, response_model=AttributionOut)
def get_attribution(
    plant: PlantDep,
    delivery_date: CalendarDate,
    store: StoreDep,
    settings: SettingsDep,
    request: Request,
    format: FormatParam = None,  # noqa: A002 - the public query parameter is called format
) -> Any:
    """Plan versus actual of one past local day: the split and its rows."""
    paths = DataPaths(settings.allowed_data_roots, settings.scenarios_dir)
    report = day_attribution(store, plant.id, delivery_date, paths)
    if wants_csv(request, format):
        name = f"plant-{plant.id}-{delivery_date}-attribution.csv"
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        return PlainTextResponse(report.rows_csv(), media_type="text/csv", headers=headers)
    return AttributionOut.model_validate(report.as_dict())
