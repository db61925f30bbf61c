"""Scenarios: validated documents the service can run and plan with.

Read: viewer. Create, replace, delete: planner.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status

from api.deps import SettingsDep, StoreDep, require_role
from api.schemas import DB_INT_MAX, ErrorOut, IdPath, ScenarioCreate, ScenarioOut, ScenarioSummary
from energyopt.inputs.config import Scenario
from energyopt.service.settings import Settings
from energyopt.service.store import ScenarioRecord
from energyopt.service.store import scenarios as scenario_store
from energyopt.service.store.documents import (
    check_inputs,
    document_from_file,
    to_document,
    validate_document,
)

router = APIRouter(prefix="/scenarios", tags=["scenarios"])
VIEWER = [Depends(require_role("viewer"))]
PLANNER = [Depends(require_role("planner"))]
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "no such scenario"},
    422: {"model": ErrorOut, "description": "invalid document or input data"},
}


def validated(body: ScenarioCreate, settings: Settings) -> tuple[Scenario, dict]:
    """The validated scenario of a request body and its document as stored."""
    if body.path is not None:
        document = document_from_file(body.path, scenarios_dir=settings.scenarios_dir)
    else:
        assert body.document is not None  # exactly one of the two (the body's validator)
        document = body.document
    scenario = validate_document(
        document, roots=settings.allowed_data_roots, base_dir=settings.scenarios_dir
    )
    if body.check_inputs:
        check_inputs(scenario)
    return scenario, to_document(scenario, scenarios_dir=settings.scenarios_dir)


def _out(record: ScenarioRecord) -> ScenarioOut:
    return ScenarioOut.model_validate(record, from_attributes=True)


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=PLANNER, responses=ERRORS)
def create_scenario(
    body: ScenarioCreate, store: StoreDep, settings: SettingsDep, response: Response
) -> ScenarioOut:
    """Validate and store a scenario (nothing is stored when it is invalid)."""
    scenario, document = validated(body, settings)
    record = scenario_store.create_scenario(
        store,
        name=body.name or scenario.name,
        description=body.description if body.description is not None else scenario.description,
        document=document,
    )
    response.headers["Location"] = f"/api/v1/scenarios/{record.id}"
    return _out(record)


@router.get("", dependencies=VIEWER)
def list_scenarios(
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=DB_INT_MAX)] = 0,
) -> list[ScenarioSummary]:
    """Stored scenarios, newest first (without documents)."""
    records = scenario_store.list_scenarios(store, limit=limit, offset=offset)
    return [ScenarioSummary.model_validate(r, from_attributes=True) for r in records]


@router.get("/{scenario_id}", dependencies=VIEWER, responses=ERRORS)
def get_scenario(scenario_id: IdPath, store: StoreDep) -> ScenarioOut:
    """One scenario with its document."""
    return _out(scenario_store.get_scenario(store, scenario_id=scenario_id))


@router.put("/{scenario_id}", dependencies=PLANNER, responses=ERRORS)
def replace_scenario(
    scenario_id: IdPath, body: ScenarioCreate, store: StoreDep, settings: SettingsDep
) -> ScenarioOut:
    """Replace a scenario's document; an invalid one leaves the stored scenario unchanged.

    Runs already made keep the document they ran with.
    """
    scenario_store.get_scenario(store, scenario_id=scenario_id)  # 404 before validating
    scenario, document = validated(body, settings)
    record = scenario_store.replace_scenario(
        store,
        scenario_id=scenario_id,
        name=body.name or scenario.name,
        description=body.description if body.description is not None else scenario.description,
        document=document,
    )
    return _out(record)


@router.delete(
    "/{scenario_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=PLANNER,
    responses={**ERRORS, 409: {"model": ErrorOut, "description": "a plant uses the scenario"}},
)
def delete_scenario(scenario_id: IdPath, store: StoreDep) -> Response:
    """Delete a scenario that no plant uses (runs keep their copy of it)."""
    scenario_store.delete_scenario(store, scenario_id=scenario_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
