"""Plants planned every day: register (admin), list and read (viewer), re-plan (planner).

``POST /plants`` takes the plant's scenario (a stored ``scenario_id``, an
inline ``scenario`` document or a ``scenario_path`` in the scenarios
directory), its local ``planning_time`` (default from the settings, 11:00:
before the day-ahead gate closure at 12:00) and ``timezone`` (default: the
scenario's site), and the planning ``options``. The plant's daily job is
registered with the scheduler at once; a plant without a schedule is planned
right away in the background.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.deps import SettingsDep, StoreDep, require_role
from api.schedule_cache import ScheduleCache
from api.schemas import DbId, ErrorOut, IdPath, LocalTime
from energyopt.inputs.config import check_timezone
from energyopt.service.planning import DataPaths, PlanningOptions, PlanningOutcome, plan_plant
from energyopt.service.planning.intraday import replan_intraday
from energyopt.service.scheduler import PlanningScheduler
from energyopt.service.settings import Settings
from energyopt.service.store import ConflictError, PlantRecord, Store
from energyopt.service.store import plants as plant_store
from energyopt.service.store import scenarios as scenario_store
from energyopt.service.store import schedules as schedule_store
from energyopt.service.store.documents import (
    DocumentError,
    document_from_file,
    to_document,
    validate_document,
)

router = APIRouter(prefix="/plants", tags=["plants"])
VIEWER = [Depends(require_role("viewer"))]
PLANNER = [Depends(require_role("planner"))]
ADMIN = [Depends(require_role("admin"))]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "no such plant"}
}


# ----------------------------------------------------------------- dependencies


def get_plant_or_404(plant_id: IdPath, request: Request) -> PlantRecord:
    """The plant named in the path (404 via the store's NotFoundError), briefly cached."""
    return request.app.state.schedule_cache.plant(plant_id)


def get_scheduler(request: Request) -> PlanningScheduler | None:
    """The app's planning scheduler (None when disabled)."""
    return getattr(request.app.state, "scheduler", None)


def get_schedule_cache(request: Request) -> ScheduleCache:
    """The app's schedule cache."""
    return request.app.state.schedule_cache


PlantDep = Annotated[PlantRecord, Depends(get_plant_or_404)]
SchedulerDep = Annotated[PlanningScheduler | None, Depends(get_scheduler)]
CacheDep = Annotated[ScheduleCache, Depends(get_schedule_cache)]


# ----------------------------------------------------------------- bodies


class PlantCreate(BaseModel):
    """A plant to plan every day."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str = Field(min_length=1, max_length=200)
    scenario_id: DbId | None = Field(None, description="a stored scenario")
    scenario: dict[str, Any] | None = Field(None, description="an inline scenario document")
    scenario_path: str | None = Field(
        None, description="YAML file in the scenarios directory", examples=["example.yaml"]
    )
    planning_time: LocalTime | None = Field(
        None, description="local time of the daily plan, HH:MM; default from the settings"
    )
    timezone: str | None = Field(None, description="IANA zone; default: the scenario's site")
    options: dict[str, Any] | None = Field(
        None,
        description="planning options: step (15min), horizon_h (48), forecast "
        "(persistence|perfect|noisy), persistence_lag, inputs (live|replay), "
        "measurement_max_age_h, state_max_age_h, time_limit_s, demand_charge "
        "(full|prorated), peak_floor (window|none)",
    )

    @model_validator(mode="after")
    def _one_scenario(self) -> PlantCreate:
        given = [x for x in (self.scenario_id, self.scenario, self.scenario_path) if x is not None]
        if len(given) != 1:
            msg = "give exactly one of 'scenario_id', 'scenario' and 'scenario_path'"
            raise ValueError(msg)
        return self


class PlantOut(BaseModel):
    """A registered plant."""

    id: int
    name: str
    scenario_id: int
    planning_time: LocalTime = Field(description="local time of the daily plan")
    timezone: str
    is_active: bool
    created_at: dt.datetime
    options: dict[str, Any] = Field(description="planning options in force")
    next_planning_at: dt.datetime | None = Field(description="next scheduled plan (UTC)")
    latest_schedule: dict[str, Any] | None = Field(
        description="delivery_date, version and flags of the newest schedule"
    )


class PlanningOut(BaseModel):
    """What a planning run did."""

    plant_id: int
    delivery_date: dt.date
    issued_at: dt.datetime
    status: str = Field(description="published, already_published or failed")
    version: int | None
    is_fallback: bool | None
    is_incumbent: bool | None
    run_id: str | None
    error: str | None


# ----------------------------------------------------------------- helpers


def _scenario_id(body: PlantCreate, store: Store, settings: Settings) -> tuple[int, str]:
    """The stored scenario the plant uses (created from the body if inline) and its zone."""
    if body.scenario_id is not None:
        record = scenario_store.get_scenario(store, scenario_id=body.scenario_id)
        document, source = record.document, f"scenario {record.id}"
    elif body.scenario_path is not None:
        document = document_from_file(body.scenario_path, scenarios_dir=settings.scenarios_dir)
        source = "scenario_path"
    else:
        assert body.scenario is not None  # exactly one of the three (the body's validator)
        document, source = body.scenario, "scenario"
    scenario = validate_document(
        document, roots=settings.allowed_data_roots, base_dir=settings.scenarios_dir, source=source
    )
    if body.scenario_id is not None:
        return body.scenario_id, scenario.site.timezone
    stored = scenario_store.create_scenario(
        store,
        name=scenario.name,
        description=scenario.description,
        document=to_document(scenario, scenarios_dir=settings.scenarios_dir),
    )
    return stored.id, scenario.site.timezone


def _check_zone(zone: str) -> str:
    try:
        return check_timezone(zone)
    except ValueError as exc:
        raise DocumentError(f"timezone: {exc}", field="timezone") from None


def plant_out(plant: PlantRecord, store: Store, scheduler: PlanningScheduler | None) -> PlantOut:
    """API view of a plant with its next planning time and newest schedule."""
    latest = schedule_store.list_schedules(store, plant_id=plant.id, limit=1)
    summary = None
    if latest:
        row = latest[0]
        summary = {
            key: row[key]
            for key in ("delivery_date", "version", "solve_status", "is_fallback", "is_incumbent")
        }
    next_run = scheduler.next_run_time(plant.id) if scheduler and scheduler.running else None
    return PlantOut(
        id=plant.id,
        name=plant.name,
        scenario_id=plant.scenario_id,
        planning_time=plant.planning_time,
        timezone=plant.timezone,
        is_active=plant.is_active,
        created_at=plant.created_at,
        options=PlanningOptions.of(plant).model_dump(),
        next_planning_at=next_run,
        latest_schedule=summary,
    )


def planning_out(outcome: PlanningOutcome) -> PlanningOut:
    """API view of a planning run."""
    return PlanningOut(**outcome.as_dict())


# ----------------------------------------------------------------- routes


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    dependencies=ADMIN,
    responses={
        404: {"model": ErrorOut, "description": "no scenario with that scenario_id"},
        409: {"model": ErrorOut, "description": "a plant of that name exists"},
        422: {"model": ErrorOut},
    },
)
def create_plant(
    body: PlantCreate,
    store: StoreDep,
    settings: SettingsDep,
    scheduler: SchedulerDep,
    response: Response,
) -> PlantOut:
    """Register a plant and its daily planning job; plan it now if it has no schedule."""
    if plant_store.find_plant(store, name=body.name) is not None:
        raise ConflictError(f"a plant named {body.name!r} exists")
    options = PlanningOptions.parse(body.options)
    scenario_id, site_zone = _scenario_id(body, store, settings)
    plant = plant_store.create_plant(
        store,
        name=body.name,
        scenario_id=scenario_id,
        planning_time=body.planning_time or settings.planning_time,
        timezone=_check_zone(body.timezone or site_zone),
        options=options.model_dump(),
    )
    if scheduler is not None and scheduler.running:
        scheduler.sync_plant(plant)
        if scheduler.config.plan_missing_at_start:
            scheduler.plan_soon(plant.id)
    response.headers["Location"] = f"/api/v1/plants/{plant.id}"
    return plant_out(plant, store, scheduler)


@router.get("", dependencies=VIEWER)
def list_plants(store: StoreDep, scheduler: SchedulerDep) -> list[PlantOut]:
    """Registered plants with their next planning time and newest schedule."""
    return [plant_out(p, store, scheduler) for p in plant_store.list_plants(store)]


@router.get("/{plant_id}", dependencies=VIEWER, responses=NOT_FOUND)
def get_plant(plant: PlantDep, store: StoreDep, scheduler: SchedulerDep) -> PlantOut:
    """One plant."""
    return plant_out(plant, store, scheduler)


@router.post("/{plant_id}/plan", dependencies=PLANNER, responses=NOT_FOUND)
def replan(
    plant: PlantDep,
    store: StoreDep,
    settings: SettingsDep,
    scheduler: SchedulerDep,
    cache: CacheDep,
    intraday: Annotated[
        bool,
        Query(
            description="re-plan the rest of today from the measured state, holding the "
            "day-ahead grid position (takes over at the next interval boundary); "
            "false: plan the next delivery day"
        ),
    ] = False,
) -> PlanningOut:
    """Plan the plant's next delivery day now, or re-plan today (``intraday``), and
    publish a new version.

    The plan is made as of now with the latest measurements; it is a new
    planning instant, so it adds a version (the scheduled runs stay as they are).
    """
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    if scheduler is not None:
        outcome = scheduler.run_plant(plant.id, now=now, issued_at=now, intraday=intraday)
    else:
        paths = DataPaths(settings.allowed_data_roots, settings.scenarios_dir)
        plan = replan_intraday if intraday else plan_plant
        outcome = plan(store, plant.id, paths, now=now, issued_at=now)
    cache.invalidate(plant.id)
    return planning_out(outcome)
