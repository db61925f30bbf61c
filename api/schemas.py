"""Request and response bodies of the HTTP API (separate from the scenario models).

Units are in field names where a field has one and in every description in
[brackets]; times are ISO 8601 in UTC.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, model_validator

from energyopt.service.jobs import MODES

DOCUMENT_DESCRIPTION = (
    "scenario document: the same keys as a scenario YAML file (site, plant, tariffs, "
    "period, solver). Relative 'file' paths are read from the service's scenarios directory."
)


#: largest id the database holds (INTEGER columns on PostgreSQL) [-]
DB_INT_MAX = 2**31 - 1
#: years accepted in dates and times: the store and the planning calendar cover them
YEAR_MIN, YEAR_MAX = 1900, 3000


_Stamp = TypeVar("_Stamp", dt.date, dt.datetime)


def _in_calendar(value: _Stamp) -> _Stamp:
    if not YEAR_MIN <= value.year <= YEAR_MAX:
        msg = f"year {value.year} outside [{YEAR_MIN}, {YEAR_MAX}]"
        raise ValueError(msg)
    return value


#: a stored object's id in a path (larger ones cannot exist: 422)
IdPath = Annotated[int, Path(ge=0, le=DB_INT_MAX)]
#: a stored object's id in a body
DbId = Annotated[int, Field(ge=0, le=DB_INT_MAX)]
#: a date in the supported calendar
CalendarDate = Annotated[dt.date, AfterValidator(_in_calendar)]
#: a time stamp in the supported calendar
CalendarDateTime = Annotated[dt.datetime, AfterValidator(_in_calendar)]
#: a local wall-clock time without offset, e.g. 11:00 (JSON Schema's "time" needs one)
LocalTime = Annotated[
    dt.time,
    WithJsonSchema(
        {"type": "string", "pattern": r"^\d{2}:\d{2}(:\d{2}(\.\d+)?)?$", "examples": ["11:00"]}
    ),
]


class Body(BaseModel):
    """Request bodies reject unknown keys and non-finite numbers."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


# ----------------------------------------------------------------- errors


class ErrorOut(BaseModel):
    """Body of every 4xx/5xx answer of the service except a rejected request's 422."""

    detail: str = Field(description="one line: what is wrong and where")
    type: str = Field(description="error class, e.g. scenario_error, not_found, infeasible")
    field: str | None = Field(
        None, description="dotted path of the offending field, e.g. document.plant.assets[2].name"
    )


class ValidationIssue(BaseModel):
    """One reason a request was rejected (FastAPI's ``detail`` entries)."""

    model_config = ConfigDict(extra="allow")

    loc: list[str | int] = Field(description="where: body, query, path or header, then the keys")
    msg: str = Field(description="what is wrong")
    type: str = Field(description="kind of error, e.g. missing, finite_number, nul_character")


class ValidationErrorOut(BaseModel):
    """Body of a 422 answer to a request that does not match the schema or the limits."""

    detail: list[ValidationIssue] = Field(description="every reason, in FastAPI's shape")
    type: Literal["validation_error"]
    field: str | None = Field(
        None, description="dotted path of the first bad field, e.g. measurements[2].value"
    )


# ----------------------------------------------------------------- scenarios


class ScenarioCreate(Body):
    """A scenario: an inline document, or a YAML file of the scenarios directory."""

    name: str | None = Field(None, max_length=200, description="default: the document's name")
    description: str | None = Field(None, description="default: the document's description")
    document: dict[str, Any] | None = Field(None, description=DOCUMENT_DESCRIPTION)
    path: str | None = Field(
        None,
        description="YAML file relative to the scenarios directory (its 'extends' is merged)",
        examples=["example.yaml"],
    )
    check_inputs: bool = Field(
        True,
        description="also read every input series over the scenario's period and refuse "
        "the scenario if one is missing, has gaps or does not cover it",
    )

    @model_validator(mode="after")
    def _one_source(self) -> ScenarioCreate:
        if (self.document is None) == (self.path is None):
            msg = "give exactly one of 'document' and 'path'"
            raise ValueError(msg)
        return self


class ScenarioSummary(BaseModel):
    """A stored scenario without its document."""

    id: int
    name: str
    description: str
    created_at: dt.datetime
    updated_at: dt.datetime


class ScenarioOut(ScenarioSummary):
    """A stored scenario with its validated document."""

    document: dict[str, Any] = Field(description=DOCUMENT_DESCRIPTION)


# ----------------------------------------------------------------- runs


class RollingRunOptions(Body):
    """How a ``rolling`` run plans: forecasts and windows."""

    forecast: Literal["perfect", "persistence", "noisy"] = Field(
        "perfect", description="forecasts the daily plans are made with"
    )
    seed: int = Field(0, ge=0, le=2**32 - 1, description="random seed of noisy forecasts")
    horizon: str = Field("48h", description="look-ahead of every plan (duration)")
    commit: str = Field("1D", description="executed part of every plan (duration)")
    plan_time_local: str | None = Field(
        "11:00", description="local time (HH:MM) of the daily plan on the day before"
    )


class RunCreate(Body):
    """A run of a stored scenario (``scenario_id``) or of an inline ``scenario``."""

    scenario_id: DbId | None = Field(None, description="id of a stored scenario")
    scenario: dict[str, Any] | None = Field(None, description=DOCUMENT_DESCRIPTION)
    mode: str = Field(
        "perfect",
        description="how the period is planned: " + ", ".join(sorted(MODES)),
    )
    start: CalendarDate | None = Field(
        None, description="first local day at the site; default: the scenario's period.start"
    )
    days: int | None = Field(
        None,
        ge=1,
        le=DB_INT_MAX,
        description="number of local days [d]; default: the scenario's period.days",
    )
    step: str | None = Field(
        None,
        description="model time step, e.g. 15min or 1h; default: the scenario's period.step",
        examples=["1h"],
    )

    rolling: RollingRunOptions | None = Field(
        None, description="options of a rolling run (default: perfect forecasts, 48 h, 1 day)"
    )
    hard: bool = Field(
        False,
        description="process requirements as constraints: a plant that cannot meet one "
        "fails with the diagnosis and HiGHS's infeasible subset; default: a requirement "
        "the plant cannot meet is missed at its penalty and named in the solver report",
    )

    @model_validator(mode="after")
    def _one_source(self) -> RunCreate:
        if (self.scenario_id is None) == (self.scenario is None):
            msg = "give exactly one of 'scenario_id' and 'scenario'"
            raise ValueError(msg)
        if self.mode not in MODES:
            msg = f"mode {self.mode!r} is not available; use one of {', '.join(sorted(MODES))}"
            raise ValueError(msg)
        if self.rolling is not None and self.mode != "rolling":
            msg = f"'rolling' options apply to mode 'rolling', not {self.mode!r}"
            raise ValueError(msg)
        return self


class Progress(BaseModel):
    """How far a run is."""

    windows_done: int = Field(description="planning windows solved [-]")
    windows_total: int | None = Field(description="planning windows of the run [-]")
    fraction: float | None = Field(description="windows_done / windows_total [0-1]")


class RunLinks(BaseModel):
    """Where to find a run and its results."""

    self: str
    dispatch: str
    kpis: str
    chart: str


class RunOut(BaseModel):
    """A run: request, status, progress, timing and summary of the solve."""

    id: str
    status: Literal["queued", "running", "done", "failed", "cancelled"]
    attempts: int = Field(description="times a worker started the run (2: retried once) [-]")
    mode: str
    scenario_id: int | None
    scenario_name: str
    period_start: dt.date = Field(description="first local day")
    days: int = Field(description="[d]")
    step: str = Field(description="model time step")
    options: dict[str, Any] = Field(description="mode options, e.g. of a rolling run")
    progress: Progress
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    duration_s: float | None = Field(description="start to finish (or now) [s]")
    error: str | None = Field(description="one-line reason when failed")
    solver_report: dict[str, Any] | None = Field(
        description="status, objective_eur, mip_gap [frac], build_s and solve_s [s], sizes"
    )
    links: RunLinks


class KpisOut(BaseModel):
    """KPIs of a done run; units in the names (``_eur``, ``_kwh``, ``_t``, ``_frac``)."""

    run_id: str
    kpis: dict[str, float | str | None]


class DispatchOut(BaseModel):
    """Dispatch table in columns: ``values[column][i]`` belongs to interval ``time[i]``.

    Time stamps are UTC interval starts; powers are interval means [kW], levels
    end-of-interval values; units are in the column names.
    """

    run_id: str
    step_s: int = Field(description="interval length [s]")
    time: list[dt.datetime]
    values: dict[str, list[float | None]]


# ----------------------------------------------------------------- comparisons


class ComparisonCreate(Body):
    """Runs to compare; the first is the reference for differences."""

    run_ids: list[str] = Field(min_length=2, max_length=20)
    name: str | None = Field(None, max_length=200)
    kpis: list[str] | None = Field(
        None, description="KPI names to compare; default: every numeric KPI all runs share"
    )

    @model_validator(mode="after")
    def _distinct(self) -> ComparisonCreate:
        if len(set(self.run_ids)) != len(self.run_ids):
            msg = "run_ids must be distinct"
            raise ValueError(msg)
        return self


class ComparedRun(BaseModel):
    """One run of a comparison."""

    run_id: str
    label: str
    scenario_name: str
    mode: str
    period_start: dt.date
    days: int
    step: str


class KpiRow(BaseModel):
    """One KPI across the compared runs (values in the unit its name carries)."""

    kpi: str
    values: dict[str, float | None] = Field(description="by run id")
    delta_vs_reference: dict[str, float | None] = Field(
        description="value minus the reference run's value, by run id"
    )
    delta_vs_reference_frac: dict[str, float | None] = Field(
        description="relative difference to the reference run [frac]; null where it is 0"
    )


class ComparisonOut(BaseModel):
    """KPI table of a set of runs."""

    id: str
    name: str
    created_at: dt.datetime
    reference_run_id: str
    runs: list[ComparedRun]
    kpis: list[KpiRow]
    chart: str = Field(description="URL of the Plotly chart (HTML)")


# ----------------------------------------------------------------- keys


class ApiKeyCreate(Body):
    """A new API key."""

    name: str = Field(min_length=1, max_length=200, description="who or what uses the key")
    role: Literal["viewer", "planner", "admin"]


class ApiKeyOut(BaseModel):
    """An API key (never its token)."""

    id: int
    name: str
    role: str
    prefix: str = Field(description="first characters of the token, to recognise it")
    created_at: dt.datetime
    revoked_at: dt.datetime | None


class ApiKeyCreated(ApiKeyOut):
    """A new key with its token: shown once, only its hash is stored."""

    token: str


# ----------------------------------------------------------------- health


class ComponentHealth(BaseModel):
    """State of one part of the service."""

    ok: bool
    detail: dict[str, Any] = Field(default_factory=dict)


class HealthOut(BaseModel):
    """Service health: ``ok`` when the database answers and the solver is available."""

    status: Literal["ok", "degraded"]
    version: str
    database: ComponentHealth
    solver: ComponentHealth
    workers: ComponentHealth
    scheduler: ComponentHealth


STUDY_DESCRIPTION = (
    "study document: the keys of a study YAML file (name, sites, variants, period, step, "
    "modes, forecast, mip_rel_gap, cases). Site paths are relative to the service's "
    "scenarios directory and must lie in its data directories."
)


class StudyCreate(Body):
    """A study from a file in the scenarios directory (``path``) or inline (``study``)."""

    path: str | None = Field(
        None,
        max_length=1000,
        description="study YAML file, relative to the service's scenarios directory",
    )
    study: dict[str, Any] | None = Field(None, description=STUDY_DESCRIPTION)

    @model_validator(mode="after")
    def _one_source(self) -> StudyCreate:
        if (self.path is None) == (self.study is None):
            raise ValueError("give exactly one of 'path' and 'study'")
        return self


class StudyProgress(BaseModel):
    """How far a study is."""

    cases_total: int = Field(description="cases of the study [-]")
    cases_done: int = Field(description="cases with a current result, reused ones included [-]")
    cases_failed: int = Field(description="cases that failed, each with its reason [-]")
    cases_reused: int = Field(description="cases whose stored result was current [-]")
    fraction: float = Field(description="(done + failed) / total [0-1]")


class StudyCaseOut(BaseModel):
    """One case of a study (``site/variant``)."""

    name: str
    site: str
    variant: str
    status: Literal["pending", "done", "failed", "cancelled"] = Field(
        description="pending: not run yet (or its input changed since); cancelled: the "
        "study was cancelled before it ran"
    )
    reason: str | None = Field(description="one line, when failed")
    elapsed_s: float | None = Field(description="time the case took in its worker [s]")
    n_solves: int | None = Field(description="solver calls of the case [-]")


class StudyRankOut(BaseModel):
    """A done case's place in the ranking by cost per kWh of cells."""

    rank: int
    case: str
    cost: float = Field(description="value of ranked_by [EUR/kWh cell, or EUR/a]")
    vs_above: str = Field(
        description="relative cost above the case ranked above it, or 'within gap (not "
        "significant)' when closer than the study's MIP gap"
    )


class StudyLinks(BaseModel):
    """Where to find a study and its results."""

    self: str
    cases_csv: str
    report: str
    cancel: str


class StudyOut(BaseModel):
    """A study: state, progress per case and, once cases are done, the ranking."""

    id: str
    name: str
    status: Literal["queued", "running", "done", "failed", "cancelled"]
    executor: str = Field(description="local (the service's workers) or dask")
    progress: StudyProgress
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    error: str | None = Field(description="one-line reason when the study failed or was cancelled")
    cases: list[StudyCaseOut] | None = Field(
        None, description="every case (in the study's order); left out of lists"
    )
    ranked_by: str | None = Field(None, description="the ranking's KPI")
    ranking: list[StudyRankOut] | None = Field(
        None, description="done cases, cheapest first; left out of lists"
    )
    links: StudyLinks


# ----------------------------------------------------------------- plan versus actual


class AttributionSplit(BaseModel):
    """One figure of a day (cost in EUR or CO2 in kg): planned, realised and the parts of
    the deviation, which add up to ``total_deviation``."""

    planned: float = Field(description="the plan's own figure on its forecast prices")
    realised: float = Field(description="the meters priced at the actual prices")
    total_deviation: float = Field(description="realised - planned")
    forecast_error: float = Field(description="the plan re-solved on actual inputs - planned")
    execution_error: float = Field(description="assets off their setpoints, at boundary prices")
    model_error: float = Field(description="the remainder: total - forecast - execution")


class AttributionRow(BaseModel):
    """One asset and carrier of the day; energies positive into the plant (fuel: bought)."""

    asset: str
    carrier: str
    quantity: str = Field(description="the meter reading: power_kw or a fuel meter (fuel_kw)")
    role: Literal["balancing", "bus", "fuel"] = Field(
        description="balancing: a grid connection; bus: an asset on a carrier; fuel: bought fuel"
    )
    follows_plan: bool = Field(description="its setpoints are commands (execution counts)")
    planned_kwh: float
    measured_kwh: float | None = Field(description="null unless read in every interval")
    deviation_kwh: float | None = Field(description="measured - planned")
    execution_cost_eur: float | None = Field(
        description="null where it does not execute the plan or has no boundary price"
    )
    execution_co2_kg: float | None
    intervals_measured: int = Field(description="intervals with at least one reading")
    intervals_total: int


class AttributionVersion(BaseModel):
    """A schedule version in force on the day and its re-solve on actual inputs."""

    version: int
    issued_at: dt.datetime
    intervals_in_force: int
    resolve_status: str = Field(description="solver status of the re-solve")
    resolve_window_start: dt.datetime
    resolve_window_end: dt.datetime


class AttributionOut(BaseModel):
    """Plan versus actual of one past local day (see the README, "Plan versus actual")."""

    plant_id: int
    plant: str
    timezone: str
    delivery_date: dt.date
    start: dt.datetime = Field(description="start of the local day (UTC)")
    end: dt.datetime = Field(description="end of the local day (UTC)")
    step_s: int
    computed_at: dt.datetime
    scope: str = Field(description="what the cost and CO2 figures include")
    versions: list[AttributionVersion]
    cost_eur: AttributionSplit
    co2_kg: AttributionSplit
    rows: list[AttributionRow]
    unmetered_fuels: list[str] = Field(
        description="fuel meters without readings: those fuels are left out of every figure"
    )
