"""Rolling-horizon planning and its comparison with perfect foresight and the baseline.

* :mod:`~energyopt.engine.rolling.windows` -- planning windows (horizon, commit, issue time);
* :mod:`~energyopt.engine.rolling.engine` -- the loop: forecasts, session, HiGHS, commit, state;
* :mod:`~energyopt.engine.rolling.replay` -- the committed plan operated on actual inputs;
* :mod:`~energyopt.engine.rolling.simulate` -- the three modes and their comparison;
* :mod:`~energyopt.engine.rolling.output` -- files and charts of a simulation.
"""

from energyopt.engine.rolling.engine import RollingEngine, RollingPlan, WindowReport
from energyopt.engine.rolling.replay import replay
from energyopt.engine.rolling.simulate import MODES, Simulation, prepare_rolling, simulate
from energyopt.engine.rolling.windows import RollingOptions, Window, plan_windows

__all__ = [
    "MODES",
    "RollingEngine",
    "RollingOptions",
    "RollingPlan",
    "Simulation",
    "Window",
    "WindowReport",
    "plan_windows",
    "prepare_rolling",
    "replay",
    "simulate",
]
