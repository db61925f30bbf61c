"""One daily planning window at 15 min (48 h = 192 steps): build + solve, update + solve.

Also the rolling loop over 30 days at 15 min with the model built once and
updated, against a fresh build for every window, with HiGHS's own run time
(``getRunTime``) and the overhead ratio: energyopt's time over HiGHS's.
"""

from __future__ import annotations

import datetime as dt
import statistics

from common import Row, plant, quick, rolling_engine

START = dt.date(2023, 6, 5)


def run(path: str | None = None) -> list[Row]:
    """Measured rows."""
    scenario = plant(path)
    days = 4 if quick() else 30
    end = START + dt.timedelta(days=days - 1)
    rows = []
    timings = {}
    for reuse in (True, False):
        engine, windows = rolling_engine(scenario, START, end, "15min", reuse_model=reuse)
        result = engine.run(windows)
        timings[reuse] = result
    fresh = [w.build_s + w.solve_s for w in timings[False].windows]
    updated = [w.build_s + w.solve_s for w in timings[True].windows[1:-1]]
    rows.append(
        Row(
            "daily window 15 min (192 steps): build + solve, median",
            statistics.median(fresh),
            "s",
            1.0,
        )
    )
    rows.append(Row("daily window 15 min: update + solve, median", statistics.median(updated), "s"))
    highs = [w.highs_s for w in timings[True].windows[1:-1]]
    rows.append(Row("  HiGHS's own run time of those, median", statistics.median(highs), "s"))
    size = timings[True].windows[0]
    rows.append(Row("  steps per window", float(size.n_steps), "-"))
    for reuse, label in ((True, "built once, updated"), (False, "rebuilt every window")):
        plan = timings[reuse]
        rows.append(Row(f"{days} windows at 15 min, {label}: planning loop", plan.wall_s, "s"))
        rows.append(
            Row(
                "  of which build/update + solve",
                sum(w.build_s + w.solve_s for w in plan.windows),
                "s",
            )
        )
        highs_total = sum(w.highs_s for w in plan.windows)
        rows.append(Row("  of which HiGHS's own run time", highs_total, "s"))
        rows.append(
            Row(
                "  overhead ratio: planning loop / HiGHS's time",
                plan.wall_s / highs_total,
                "-",
                1.2,
            )
        )
    return rows
