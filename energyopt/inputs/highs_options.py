"""HiGHS instances and the check of user-given HiGHS options.

Pyomo-free: the scenario document checks ``solver.highs_options`` against
HiGHS itself when it is loaded, and the model's solver creates its instances
here.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Mapping

import highspy

_BANNER_LOCK = threading.Lock()
_banner_done = False


def new_highs() -> highspy.Highs:
    """A silent HiGHS instance.

    HiGHS writes its version banner to the process's standard output when the
    first instance is created, before any option can be set; that one
    construction runs with file descriptor 1 pointed at the null device so
    command-line tables and service logs stay clean.
    """
    global _banner_done
    with _BANNER_LOCK:
        if _banner_done:
            highs = highspy.Highs()
        else:
            sys.stdout.flush()
            saved = os.dup(1)
            try:
                with open(os.devnull, "w") as null:
                    os.dup2(null.fileno(), 1)
                    highs = highspy.Highs()
            finally:
                os.dup2(saved, 1)
                os.close(saved)
            _banner_done = True
    highs.setOptionValue("output_flag", False)
    return highs


_RESERVED_OPTIONS = {
    "time_limit": "set solver.time_limit_s instead",
    "mip_rel_gap": "set solver.mip_rel_gap instead",
    "mip_abs_gap": "set solver.mip_abs_gap_eur instead",
    "threads": "set solver.threads instead",
    "mip_heuristic_run_feasibility_jump": "set solver.mip_feasibility_jump instead",
    "output_flag": "HiGHS output stays off (it would mix with tables and service logs)",
    "log_to_console": "HiGHS output stays off (it would mix with tables and service logs)",
}


def check_highs_options(options: Mapping[str, bool | int | float | str]) -> None:
    """Raise ValueError naming the first option HiGHS does not know or refuses."""
    highs = new_highs()
    for name, value in options.items():
        if name in _RESERVED_OPTIONS:
            raise ValueError(f"{name!r}: {_RESERVED_OPTIONS[name]}")
        status, _ = highs.getOptionType(name)
        if status != highspy.HighsStatus.kOk:
            raise ValueError(f"{name!r} is not a HiGHS option")
        if highs.setOptionValue(name, value) != highspy.HighsStatus.kOk:
            raise ValueError(f"{name!r}: HiGHS refuses the value {value!r} (type or range)")
