"""Errors raised by energyopt.

::

    EnergyOptError
    ├── ScenarioError      a scenario file or document is invalid (names file and key path)
    ├── DataError          an input time series is invalid (names file, column and time stamp)
    │   └── ForecastError  a forecast cannot be made as of its issue time (names quantity, time)
    ├── ModelBuildError    the plant cannot be turned into a model (names the asset)
    └── SolveError         HiGHS did not return a usable plan
        └── InfeasibleError    no plan meets every constraint (names carrier and time stamps)

Every message is meant to be shown to a user as it is: one line that names
what is wrong and where.
"""

from __future__ import annotations


class EnergyOptError(Exception):
    """Base class of every error energyopt raises on purpose."""


class ScenarioError(EnergyOptError):
    """A scenario file or document is invalid."""


class DataError(EnergyOptError):
    """An input time series is invalid."""


class ForecastError(DataError):
    """A forecast cannot be made from what is known at its issue time."""


class ModelBuildError(EnergyOptError):
    """The plant cannot be turned into a model."""


class SolveError(EnergyOptError):
    """The solver did not return a usable plan."""

    def __init__(self, message: str, report: object | None = None) -> None:
        super().__init__(message)
        self.report = report


class InfeasibleError(SolveError):
    """No plan meets every constraint; the message says where the plan breaks."""
