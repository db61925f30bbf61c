"""energyopt: energy-system planning for lithium-ion battery-cell factories.

The library turns a scenario (YAML) into a Pyomo model of the plant's energy
system, solves it with HiGHS and returns a dispatch table and KPIs.

Importing the package or its error types is light: the model stack (Pyomo,
HiGHS, pvlib) loads when a scenario is first loaded or run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from energyopt._lazy import lazy_getattr
from energyopt.errors import (
    DataError,
    EnergyOptError,
    InfeasibleError,
    ScenarioError,
    SolveError,
)

if TYPE_CHECKING:
    from energyopt.engine.pipeline import RunResult, run_scenario
    from energyopt.engine.rolling.simulate import Simulation, simulate
    from energyopt.inputs.config import Scenario, load_scenario

#: names loaded on first use, by the module that defines them
_LAZY = {
    "Scenario": "energyopt.inputs.config",
    "load_scenario": "energyopt.inputs.config",
    "RunResult": "energyopt.engine.pipeline",
    "run_scenario": "energyopt.engine.pipeline",
    "Simulation": "energyopt.engine.rolling.simulate",
    "simulate": "energyopt.engine.rolling.simulate",
}

__all__ = [
    "DataError",
    "EnergyOptError",
    "InfeasibleError",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "Simulation",
    "SolveError",
    "load_scenario",
    "run_scenario",
    "simulate",
]
__version__ = "0.1.0"


__getattr__ = lazy_getattr(__name__, _LAZY, globals())
