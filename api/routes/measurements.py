"""Measurements reported by the plant's control system (write: planner; read: viewer).

A batch is checked against the plant as a whole before anything is stored:
an unknown asset, a quantity the asset's kind does not report, a value out of
range or a stale (or future) time stamp answers 422 with the field path
(``measurements[2].value: soc_frac 1.4 outside [0, 1] for asset 'bess'``) and
stores nothing; a valid batch is stored in one transaction. The next planning
run takes the latest readings as the plant's initial state
(:mod:`energyopt.service.measurements` lists the quantities and how each maps).
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, ConfigDict, Field

from api.deps import SettingsDep, StoreDep, require_role
from api.routes.plants import PlantDep
from api.schemas import CalendarDateTime, ErrorOut
from energyopt.service.measurements import Reading, quantities_for, record_readings
from energyopt.service.store import MeasurementRecord
from energyopt.service.store import measurements as measurement_store
from energyopt.service.store import scenarios as scenario_store

router = APIRouter(prefix="/plants/{plant_id}/measurements", tags=["measurements"])
#: most readings accepted in one request [-]
MAX_BATCH = 10_000


class MeasurementIn(BaseModel):
    """One reading: ``value`` in the unit ``quantity`` names, time stamp with zone."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    asset: str = Field(description="asset name as in the plant's scenario", examples=["bess"])
    quantity: str = Field(description="e.g. soc_frac, dew_point_degc", examples=["soc_frac"])
    value: float = Field(
        strict=True,
        examples=[0.62],
        description="a JSON number, finite; text, booleans, NaN and infinity are refused",
    )
    measured_at: CalendarDateTime = Field(description="when it was measured (with zone, e.g. Z)")


class MeasurementBatch(BaseModel):
    """Readings stored together (all or none)."""

    model_config = ConfigDict(extra="forbid")

    measurements: list[MeasurementIn] = Field(min_length=1, max_length=MAX_BATCH)


class MeasurementOut(BaseModel):
    """A stored reading."""

    id: int
    asset: str
    quantity: str
    value: float
    measured_at: dt.datetime
    received_at: dt.datetime


def _out(record: MeasurementRecord) -> MeasurementOut:
    return MeasurementOut.model_validate(record, from_attributes=True)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require_role("planner"))],
    responses={
        404: {"model": ErrorOut, "description": "no such plant"},
        409: {"model": ErrorOut, "description": "a reading was stored before with another value"},
        422: {"model": ErrorOut, "description": "a reading is invalid; field names it"},
    },
)
def add_measurements(
    plant: PlantDep, body: MeasurementBatch, store: StoreDep, settings: SettingsDep
) -> list[MeasurementOut]:
    """Check and store a batch of readings (nothing is stored if any reading is bad).

    A reading sent again (same asset, quantity, time and value) is not stored
    twice; with another value it answers 409 and nothing of the batch is stored.
    """
    readings = [Reading(m.asset, m.quantity, m.value, m.measured_at) for m in body.measurements]
    stored = record_readings(
        store, plant, readings, roots=settings.allowed_data_roots, base_dir=settings.scenarios_dir
    )
    return [_out(r) for r in stored]


@router.get(
    "/latest",
    dependencies=[Depends(require_role("viewer"))],
    responses={404: {"model": ErrorOut, "description": "no such plant"}},
)
def latest_measurements(plant: PlantDep, store: StoreDep) -> list[MeasurementOut]:
    """The newest reading of every (asset, quantity) of the plant."""
    return [_out(r) for r in measurement_store.latest_measurements(store, plant_id=plant.id)]


@router.get("/quantities", dependencies=[Depends(require_role("viewer"))])
def accepted_quantities(plant: PlantDep, store: StoreDep) -> dict[str, dict[str, str]]:
    """Quantities each asset of the plant accepts, with their descriptions and units."""
    document = scenario_store.get_scenario(store, scenario_id=plant.scenario_id).document
    assets = document.get("plant", {}).get("assets", [])
    return {
        a["name"]: {q: spec.description for q, spec in quantities_for(a["type"]).items()}
        for a in assets
    }
