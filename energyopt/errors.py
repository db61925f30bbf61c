"""Errors raised by energyopt.

::

    EnergyOptError
    ├── ScenarioError          a scenario file or document is invalid (names file and key path)
    │   └── DocumentError      a scenario sent to the service (``field``: the key path)
    ├── DataError              an input time series is invalid (names file, column, time stamp)
    │   ├── ForecastError      a forecast cannot be made as of its issue time (quantity, time)
    │   └── MeasurementError   a reported measurement is invalid (``field``: its request path)
    ├── ModelBuildError        the plant cannot be turned into a model (names the asset)
    ├── SolveError             HiGHS did not return a usable plan
    │   └── InfeasibleError    no plan meets every constraint (names carrier and time stamps)
    ├── ControlFaceError       an OPC UA or MQTT face cannot start (names the setting or file)
    └── StoreError             the store cannot do what was asked
        ├── NotFoundError      a record asked for by id or name does not exist
        ├── ConflictError      the request conflicts with what is stored (a name in use, ...)
        └── QueryError         a query names what the record does not have (a column, ...)

Every message is meant to be shown to a user as it is: one line that names
what is wrong and where. The HTTP face maps this tree to status codes in one
place (``api/errors.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class EnergyOptError(Exception):
    """Base class of every error energyopt raises on purpose."""


class ScenarioError(EnergyOptError):
    """A scenario file or document is invalid."""


class DataError(EnergyOptError):
    """An input time series is invalid."""


class ForecastError(DataError):
    """A forecast cannot be made from what is known at its issue time."""


class _FieldError:
    """Mixin: ``field`` names where in a request the problem lies (None: not known)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)  # type: ignore[call-arg]
        self.field = field


class DocumentError(_FieldError, ScenarioError):
    """A scenario document is invalid; ``field`` is the dotted key path."""


class MeasurementError(_FieldError, DataError):
    """A reported measurement is invalid; ``field`` is its path in the request."""


class ModelBuildError(EnergyOptError):
    """The plant cannot be turned into a model."""


class SolveError(EnergyOptError):
    """The solver did not return a usable plan."""

    def __init__(self, message: str, report: object | None = None) -> None:
        super().__init__(message)
        self.report = report


class InfeasibleError(SolveError):
    """No plan meets every constraint; the message says where the plan breaks.

    ``iis`` holds HiGHS's irreducible infeasible subset in the plant's names
    (``energyopt.model.iis.IisEntry``), empty where HiGHS found none.
    """

    def __init__(self, message: str, *, iis: Sequence[Any] = ()) -> None:
        super().__init__(message)
        self.iis = tuple(iis)


class StoreError(EnergyOptError):
    """The store cannot do what was asked (bad reference, conflict, database state)."""


class NotFoundError(StoreError):
    """A record asked for by id or name does not exist."""


class ConflictError(StoreError):
    """The request conflicts with what is stored (e.g. a name in use, a run not done)."""


class QueryError(StoreError):
    """A query names something the record does not have (e.g. a dispatch column)."""


class ControlFaceError(EnergyOptError):
    """An OPC UA or MQTT face cannot start or is misconfigured (names the setting or file)."""
