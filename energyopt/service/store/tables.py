"""Tables of the store (SQLAlchemy 2 declarative models).

Changing a table means adding an Alembic revision in ``energyopt/service/migrations/versions``
(``tests/test_store.py`` checks that the migrations and these models agree).

==============  ===========================================================
table           holds
==============  ===========================================================
scenarios       validated scenario documents (JSON), by id
plants          plants planned every day: scenario, local planning time, zone
runs            optimisation jobs: status, progress, timing, solver report,
                KPIs, error; input document copied at submission
run_dispatch    dispatch table of a done run, one compressed chunk per UTC day
comparisons     sets of runs compared by KPIs
schedules       immutable published schedule versions per plant and day
measurements    values reported by the plant (SOC, dew point, meters ...)
api_keys        hashed API keys with a role
audit_log       who cancelled or deleted what, and when
instances       service instances sharing the database, with their heartbeat
planning_claims which instance plans a plant's planning instant
studies         site studies: the study document, status, case counts
study_cases     one row per study case: its input key, status and results
==============  ===========================================================

``apscheduler_jobs`` holds the daily-planning jobs (APScheduler's SQLAlchemy
job store, one row per plant).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from energyopt.service.store.db import JSONType, UTCDateTime

RUN_STATUSES = ("queued", "running", "done", "failed", "cancelled")
STUDY_STATUSES = RUN_STATUSES
CASE_STATUSES = ("done", "failed")
#: statuses of a run that ended (its results may be deleted)
FINISHED_STATUSES = ("done", "failed", "cancelled")
ROLES = ("viewer", "planner", "admin")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with constraint naming (stable names for migrations)."""

    metadata = sa.MetaData(naming_convention=NAMING)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class ScenarioRow(Base):
    """A validated scenario document."""

    __tablename__ = "scenarios"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    document: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class PlantRow(Base):
    """A plant the service plans every day."""

    __tablename__ = "plants"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    scenario_id: Mapped[int] = mapped_column(
        sa.ForeignKey("scenarios.id", ondelete="RESTRICT"), index=True
    )
    planning_time: Mapped[dt.time] = mapped_column(sa.Time)
    timezone: Mapped[str] = mapped_column(sa.String(64))
    is_active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    options: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class RunRow(Base):
    """An optimisation job and its results."""

    __tablename__ = "runs"
    __table_args__ = (
        sa.CheckConstraint(_in("status", RUN_STATUSES), name="status"),
        sa.Index("ix_runs_status_created_at", "status", "created_at"),
        sa.Index("ix_runs_created_at", "created_at"),
    )

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    scenario_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("scenarios.id", ondelete="SET NULL"), index=True
    )
    scenario_name: Mapped[str] = mapped_column(sa.String(200))
    document: Mapped[dict[str, Any]] = mapped_column(JSONType)
    mode: Mapped[str] = mapped_column(sa.String(32))
    period_start: Mapped[dt.date] = mapped_column(sa.Date)
    days: Mapped[int] = mapped_column(sa.Integer)
    step: Mapped[str] = mapped_column(sa.String(16))
    options: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(sa.String(16))
    windows_done: Mapped[int] = mapped_column(sa.Integer, default=0)
    windows_total: Mapped[int | None] = mapped_column(sa.Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    solver_report: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    kpis: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    error: Mapped[str | None] = mapped_column(sa.Text)
    dispatch_columns: Mapped[list[str] | None] = mapped_column(JSONType)
    dispatch_step_s: Mapped[int | None] = mapped_column(sa.Integer)
    #: times a worker claimed the run (a retry after a worker death claims it again)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    #: service instance whose worker claimed it last
    instance_id: Mapped[str | None] = mapped_column(sa.String(64))
    #: a planning run's planned state per boundary of its delivery day (UTC stamp ->
    #: asset -> state), read only by intraday re-plans (deferred: large)
    handover: Mapped[dict[str, Any] | None] = mapped_column(JSONType, deferred=True)


class RunDispatchRow(Base):
    """One UTC day (or less) of a run's dispatch table: float64 rows, zlib-compressed."""

    __tablename__ = "run_dispatch"

    run_id: Mapped[str] = mapped_column(
        sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    chunk_start: Mapped[dt.datetime] = mapped_column(UTCDateTime, primary_key=True)
    chunk_end: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    n_rows: Mapped[int] = mapped_column(sa.Integer)
    values: Mapped[bytes] = mapped_column(sa.LargeBinary)


class ComparisonRow(Base):
    """A set of runs compared by their KPIs."""

    __tablename__ = "comparisons"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    run_ids: Mapped[list[str]] = mapped_column(JSONType)
    kpi_names: Mapped[list[str] | None] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ScheduleRow(Base):
    """One immutable version of a plant's schedule for one delivery day."""

    __tablename__ = "schedules"
    __table_args__ = (
        sa.UniqueConstraint("plant_id", "delivery_date", "version"),
        sa.UniqueConstraint("plant_id", "delivery_date", "issued_at"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plant_id: Mapped[int] = mapped_column(sa.ForeignKey("plants.id", ondelete="CASCADE"))
    delivery_date: Mapped[dt.date] = mapped_column(sa.Date)
    version: Mapped[int] = mapped_column(sa.Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    issued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    run_id: Mapped[str | None] = mapped_column(sa.ForeignKey("runs.id", ondelete="SET NULL"))
    solve_status: Mapped[str] = mapped_column(sa.String(32))
    is_incumbent: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    mip_gap: Mapped[float | None] = mapped_column(sa.Float)
    is_fallback: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    fallback_reason: Mapped[str | None] = mapped_column(sa.Text)
    kpis: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    payload: Mapped[str] = mapped_column(sa.Text)
    has_violations: Mapped[bool] = mapped_column(
        sa.Boolean, default=False, server_default=sa.false()
    )


class MeasurementRow(Base):
    """One value reported by the plant's control system."""

    __tablename__ = "measurements"
    __table_args__ = (
        sa.Index("ix_measurements_lookup", "plant_id", "asset", "quantity", "measured_at"),
    )

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True
    )
    plant_id: Mapped[int] = mapped_column(sa.ForeignKey("plants.id", ondelete="CASCADE"))
    asset: Mapped[str] = mapped_column(sa.String(100))
    quantity: Mapped[str] = mapped_column(sa.String(100))
    value: Mapped[float] = mapped_column(sa.Float)
    measured_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ApiKeyRow(Base):
    """An API key: only the SHA-256 of the token is kept."""

    __tablename__ = "api_keys"
    __table_args__ = (sa.CheckConstraint(_in("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(16))
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class SchedulerJobRow(Base):
    """A job of the daily-planning scheduler (APScheduler's job store table, as it declares it)."""

    __tablename__ = "apscheduler_jobs"

    id: Mapped[str] = mapped_column(sa.Unicode(191), primary_key=True)
    next_run_time: Mapped[float | None] = mapped_column(sa.Float(25), index=True)
    job_state: Mapped[bytes] = mapped_column(sa.LargeBinary)


class AuditRow(Base):
    """One audited action: a run cancelled or deleted, by which key."""

    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_at", "at"),)

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True
    )
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(sa.String(200))
    actor_prefix: Mapped[str] = mapped_column(sa.String(16))
    action: Mapped[str] = mapped_column(sa.String(32))
    object: Mapped[str] = mapped_column(sa.String(100))
    detail: Mapped[str] = mapped_column(sa.Text, default="")


class InstanceRow(Base):
    """A service instance using the database, and when it last said it is alive."""

    __tablename__ = "instances"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    host: Mapped[str] = mapped_column(sa.String(200))
    pid: Mapped[int] = mapped_column(sa.Integer)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class PlanningClaimRow(Base):
    """The instance that plans one planning instant of a plant (one row per instant)."""

    __tablename__ = "planning_claims"

    plant_id: Mapped[int] = mapped_column(
        sa.ForeignKey("plants.id", ondelete="CASCADE"), primary_key=True
    )
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, primary_key=True)
    instance_id: Mapped[str] = mapped_column(sa.String(64))
    claimed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class StudyRow(Base):
    """A site study submitted to the service."""

    __tablename__ = "studies"
    __table_args__ = (
        sa.CheckConstraint(_in("status", STUDY_STATUSES), name="status"),
        sa.Index("ix_studies_status_created_at", "status", "created_at"),
    )

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    #: the study document, site and data paths absolute
    document: Mapped[dict[str, Any]] = mapped_column(JSONType)
    #: the study file, or the scenarios directory of an inline document
    source: Mapped[str] = mapped_column(sa.Text)
    executor: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16))
    cases_total: Mapped[int] = mapped_column(sa.Integer)
    cases_done: Mapped[int] = mapped_column(sa.Integer, default=0)
    cases_failed: Mapped[int] = mapped_column(sa.Integer, default=0)
    cases_reused: Mapped[int] = mapped_column(sa.Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(sa.Text)
    #: service instance running it
    instance_id: Mapped[str | None] = mapped_column(sa.String(64))


class StudyCaseRow(Base):
    """The stored result of one case (``site/variant``) of a study."""

    __tablename__ = "study_cases"
    __table_args__ = (
        sa.CheckConstraint(_in("status", CASE_STATUSES), name="status"),
        sa.Index("ix_study_cases_key", "key"),
    )

    study_id: Mapped[str] = mapped_column(
        sa.ForeignKey("studies.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(sa.String(201), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(16))
    #: case.json's summary: site, variant, modes, forecast, reason, timings
    summary: Mapped[dict[str, Any]] = mapped_column(JSONType)
    #: KPIs per mode and the comparison; Sankey links per mode; hourly series
    kpis: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    flows: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    series: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
