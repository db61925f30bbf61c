"""Rolling-horizon planning and its comparison with perfect foresight and the baseline.

* :mod:`~energyopt.rolling.windows` -- planning windows (horizon, commit, issue time);
* :mod:`~energyopt.rolling.engine` -- the loop: forecasts -> model -> HiGHS -> commit -> state;
* :mod:`~energyopt.rolling.replay` -- the committed plan operated on actual inputs;
* :mod:`~energyopt.rolling.simulate` -- the three modes and their comparison;
* :mod:`~energyopt.rolling.output` -- files and charts of a simulation.
"""

from energyopt.rolling.engine import RollingEngine, RollingPlan, WindowReport
from energyopt.rolling.replay import replay
from energyopt.rolling.simulate import MODES, Simulation, prepare_rolling, simulate
from energyopt.rolling.windows import RollingOptions, Window, plan_windows

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
