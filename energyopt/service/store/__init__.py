"""Persistence of the service: SQLAlchemy 2 over SQLite (default) or PostgreSQL.

Open a :class:`Store` on a URL, call :meth:`Store.migrate` once at start-up
(Alembic, ``energyopt/service/migrations``), then use the plain functions of the
submodules; each takes the store first and keyword arguments after it, runs
its own transaction and returns immutable records:

* :mod:`~energyopt.service.store.scenarios` -- scenario documents
* :mod:`~energyopt.service.store.runs` -- runs, progress, dispatch and KPIs
* :mod:`~energyopt.service.store.comparisons` -- stored comparisons of runs
* :mod:`~energyopt.service.store.plants` -- plants planned every day
* :mod:`~energyopt.service.store.schedules` -- immutable schedule versions
* :mod:`~energyopt.service.store.measurements` -- values reported by the plant
* :mod:`~energyopt.service.store.keys` -- hashed API keys and roles
* :mod:`~energyopt.service.store.audit` -- who cancelled or deleted which run
* :mod:`~energyopt.service.store.instances` -- service instances' heartbeats, planning claims
* :mod:`~energyopt.service.store.documents` -- validating documents and their file paths

Nothing here knows about HTTP.
"""

from energyopt.service.store.db import (
    ConflictError,
    NotFoundError,
    QueryError,
    Store,
    StoreConfig,
    StoreError,
    utc_now,
)
from energyopt.service.store.records import (
    ApiKeyRecord,
    ComparisonRecord,
    MeasurementRecord,
    PlantRecord,
    RunRecord,
    ScenarioRecord,
    ScheduleRecord,
)
from energyopt.service.store.tables import ROLES, RUN_STATUSES

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
