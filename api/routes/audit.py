"""The audit log: who cancelled or deleted which run, and when (admin only)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from api.deps import StoreDep, require_role
from api.schemas import DB_INT_MAX
from energyopt.service.store import audit as audit_store

router = APIRouter(prefix="/audit", tags=["audit"], dependencies=[Depends(require_role("admin"))])


class AuditOut(BaseModel):
    """One audited action."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: dt.datetime = Field(description="when (UTC)")
    actor: str = Field(description="name of the API key that acted")
    actor_prefix: str = Field(description="first characters of that key's token")
    action: str = Field(description="cancel_run or delete_run")
    object: str = Field(description="what it acted on, e.g. 'run <id>'")
    detail: str


@router.get("")
def list_audit(
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=DB_INT_MAX)] = 0,
) -> list[AuditOut]:
    """Audit lines, newest first."""
    lines = audit_store.list_lines(store, limit=limit, offset=offset)
    return [AuditOut.model_validate(line) for line in lines]
