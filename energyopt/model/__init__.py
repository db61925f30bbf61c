"""The Pyomo boundary: everything that builds, compiles, refreshes, solves or
reads a Pyomo model of the plant lives in this package.

* :mod:`~energyopt.model.plant` -- :class:`PlantSession` (build once, ``update``,
  ``solve``, ``read``, the baseline and replay operations) and :func:`build_model`
* :mod:`~energyopt.model.solve` -- HiGHS through highspy, infeasibility diagnosis
* :mod:`~energyopt.model.read` -- a solved session as tables (:class:`Reading`)
* :mod:`~energyopt.model.rules` -- baseline rules, plan tracking, fixing binaries
* :mod:`~energyopt.model.standard_form` -- compile once, refresh parameter entries
  (its module docstring holds the refresh contract)
* :mod:`~energyopt.model.param_items`, :mod:`~energyopt.model.evaluation`,
  :mod:`~energyopt.model.flat` -- expression tools the asset blocks use
* :mod:`~energyopt.model.cache` -- warm sessions kept between service plans

Outside this package only ``energyopt/assets`` (whose blocks are Pyomo) imports
Pyomo. The names below load on first use, so that the asset blocks can use
the expression tools without loading the session.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from energyopt._lazy import lazy_getattr

if TYPE_CHECKING:
    from energyopt.model.plant import PlantSession, build_model
    from energyopt.model.read import Reading, dispatch_table
    from energyopt.model.solve import SolveReport, solve, solver_available

_LAZY = {
    "PlantSession": "energyopt.model.plant",
    "build_model": "energyopt.model.plant",
    "Reading": "energyopt.model.read",
    "dispatch_table": "energyopt.model.read",
    "SolveReport": "energyopt.model.solve",
    "solve": "energyopt.model.solve",
    "solver_available": "energyopt.model.solve",
}

__all__ = [
    "PlantSession",
    "Reading",
    "SolveReport",
    "build_model",
    "dispatch_table",
    "solve",
    "solver_available",
]


__getattr__ = lazy_getattr(__name__, _LAZY, globals())
