"""Plain, immutable records the store hands out (no database session attached)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any, ClassVar, Protocol, TypeVar


class _Dataclass(Protocol):
    """What ``dataclasses.fields`` reads: a dataclass (``_typeshed.DataclassInstance``)."""

    __dataclass_fields__: ClassVar[dict[str, Any]]


R = TypeVar("R", bound=_Dataclass)


def to_record(cls: type[R], row: Any) -> R:
    """Copy the fields of ``cls`` from an ORM row."""
    return cls(**{f.name: getattr(row, f.name) for f in dataclasses.fields(cls)})


@dataclasses.dataclass(frozen=True)
class ScenarioRecord:
    """A stored scenario document."""

    id: int
    name: str
    description: str
    document: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class PlantRecord:
    """A plant planned every day; ``planning_time`` is local time in ``timezone``."""

    id: int
    name: str
    scenario_id: int
    planning_time: dt.time
    timezone: str
    is_active: bool
    created_at: dt.datetime
    options: dict[str, Any] | None = None


@dataclasses.dataclass(frozen=True)
class RunRecord:
    """An optimisation run: its request, state, progress and result summary."""

    id: str
    scenario_id: int | None
    scenario_name: str
    document: dict[str, Any]
    mode: str
    period_start: dt.date
    days: int
    step: str
    options: dict[str, Any]
    status: str
    windows_done: int
    windows_total: int | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    solver_report: dict[str, Any] | None
    kpis: dict[str, Any] | None
    error: str | None
    attempts: int = 0
    instance_id: str | None = None

    @property
    def is_finished(self) -> bool:
        """True once the run is done, failed or cancelled."""
        return self.status in ("done", "failed", "cancelled")

    @property
    def duration_s(self) -> float | None:
        """Wall time from start to finish (or to now while running) [s]."""
        if self.started_at is None:
            return None
        end = self.finished_at or dt.datetime.now(dt.UTC)
        return (end - self.started_at).total_seconds()


@dataclasses.dataclass(frozen=True)
class ComparisonRecord:
    """Runs compared by KPIs; ``kpi_names`` None means every KPI they share."""

    id: str
    name: str
    run_ids: list[str]
    kpi_names: list[str] | None
    created_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class ScheduleRecord:
    """One immutable schedule version of a plant for one local delivery day.

    ``payload`` is the serialized JSON document as published (kept as text so
    it can be served without re-encoding); ``has_violations`` is true when the
    plan misses a process requirement (named in the payload's ``violations``).
    """

    id: int
    plant_id: int
    delivery_date: dt.date
    version: int
    created_at: dt.datetime
    issued_at: dt.datetime | None
    run_id: str | None
    solve_status: str
    is_incumbent: bool
    mip_gap: float | None
    is_fallback: bool
    fallback_reason: str | None
    kpis: dict[str, Any] | None
    payload: str
    has_violations: bool = False

    def payload_data(self) -> Any:
        """The payload parsed from JSON."""
        return json.loads(self.payload)


@dataclasses.dataclass(frozen=True)
class MeasurementRecord:
    """One reported value; ``quantity`` carries its unit (``soc_frac``, ``dew_point_degc``)."""

    id: int
    plant_id: int
    asset: str
    quantity: str
    value: float
    measured_at: dt.datetime
    received_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class ApiKeyRecord:
    """An API key without its token (only the hash is stored)."""

    id: int
    name: str
    role: str
    prefix: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None

    @property
    def is_active(self) -> bool:
        """True unless revoked."""
        return self.revoked_at is None


@dataclasses.dataclass(frozen=True)
class AuditRecord:
    """One audited action; ``actor`` is the key's name, ``actor_prefix`` its first characters."""

    id: int
    at: dt.datetime
    actor: str
    actor_prefix: str
    action: str
    object: str
    detail: str


@dataclasses.dataclass(frozen=True)
class InstanceRecord:
    """A service instance and its last heartbeat (UTC)."""

    id: str
    host: str
    pid: int
    started_at: dt.datetime
    heartbeat_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class StudyRecord:
    """A site study in the service: its document, state and case counts."""

    id: str
    name: str
    document: dict[str, Any]
    source: str
    executor: str
    status: str
    cases_total: int
    cases_done: int
    cases_failed: int
    cases_reused: int
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    error: str | None
    instance_id: str | None = None

    @property
    def is_finished(self) -> bool:
        """True once the study is done, failed or cancelled."""
        return self.status in ("done", "failed", "cancelled")
