"""Persistence of the service: SQLAlchemy 2 over SQLite (default) or PostgreSQL.

Open a :class:`Store` on a URL, call :meth:`Store.migrate` once at start-up
(Alembic, ``energyopt/migrations``), then use the plain functions of the
submodules; each takes the store first and keyword arguments after it, runs
its own transaction and returns immutable records:

* :mod:`~energyopt.store.scenarios` -- scenario documents
* :mod:`~energyopt.store.runs` -- runs, progress, dispatch and KPIs
* :mod:`~energyopt.store.comparisons` -- stored comparisons of runs
* :mod:`~energyopt.store.plants` -- plants planned every day
* :mod:`~energyopt.store.schedules` -- immutable schedule versions
* :mod:`~energyopt.store.measurements` -- values reported by the plant
* :mod:`~energyopt.store.keys` -- hashed API keys and roles
* :mod:`~energyopt.store.documents` -- validating documents and their file paths

Nothing here knows about HTTP.
"""

from energyopt.store.db import (
    ConflictError,
    NotFoundError,
    QueryError,
    Store,
    StoreConfig,
    StoreError,
    utc_now,
)
from energyopt.store.records import (
    ApiKeyRecord,
    ComparisonRecord,
    MeasurementRecord,
    PlantRecord,
    RunRecord,
    ScenarioRecord,
    ScheduleRecord,
)
from energyopt.store.tables import ROLES, RUN_STATUSES

__all__ = [
    "ROLES",
    "RUN_STATUSES",
    "ApiKeyRecord",
    "ComparisonRecord",
    "ConflictError",
    "MeasurementRecord",
    "NotFoundError",
    "PlantRecord",
    "QueryError",
    "RunRecord",
    "ScenarioRecord",
    "ScheduleRecord",
    "Store",
    "StoreConfig",
    "StoreError",
    "utc_now",
]
