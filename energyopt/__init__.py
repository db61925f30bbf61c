"""energyopt: energy-system planning for lithium-ion battery-cell factories.

The library turns a scenario (YAML) into a Pyomo model of the plant's energy
system, solves it with HiGHS and returns a dispatch table and KPIs.
"""

from energyopt.config import Scenario, load_scenario
from energyopt.errors import (
    DataError,
    EnergyOptError,
    InfeasibleError,
    ScenarioError,
    SolveError,
)
from energyopt.pipeline import RunResult, run_scenario

__all__ = [
    "DataError",
    "EnergyOptError",
    "InfeasibleError",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "SolveError",
    "load_scenario",
    "run_scenario",
]
__version__ = "0.1.0"
