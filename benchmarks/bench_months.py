"""Every month of 2023 at 1 h, rolling with perfect forecasts: never above the baseline.

The rolling economics gate (:mod:`energyopt.engine.rolling.gate`) on the plant under
test: each month simulated rolling, with perfect foresight and as the
baseline; per month the savings against the baseline (target: not negative)
and the regret against perfect foresight; over the year the regret of the
twelve months together (target: at most 2 %). A month that breaks a rule is
printed with the cost component that caused it. About a minute a month on
2 cores (the perfect-foresight solve of a month takes most of it).
"""

from __future__ import annotations

import datetime as dt
import sys
import time

from common import YEAR, Row, plant, quick

from energyopt.engine.rolling.gate import (
    check_periods,
    gate_failures,
    month_end,
    overall_regret_pct,
)

#: the quick run: the July weekend of negative prices and 8 August 2023
QUICK_PERIODS = [
    (dt.date(2023, 7, 1), dt.date(2023, 7, 3)),
    (dt.date(2023, 8, 7), dt.date(2023, 8, 8)),
]
MAX_REGRET_PCT = 2.0


def months(first: dt.date, last: dt.date) -> list[tuple[dt.date, dt.date]]:
    """Calendar months from ``first`` to ``last`` (the first and last may be partial)."""
    periods, start = [], first
    while start <= last:
        end = month_end(start)
        periods.append((start, min(end, last)))
        start = end + dt.timedelta(days=1)
    return periods


def run(path: str | None = None) -> list[Row]:
    """Measured rows: per month savings and regret, and the year's regret."""
    periods = QUICK_PERIODS if quick() else months(*YEAR)
    started = time.perf_counter()

    def progress(check) -> None:
        print(
            f"  {check.label}: savings {check.savings_pct:6.2f} %, regret "
            f"{check.regret_pct:5.2f} % ({time.perf_counter() - started:.0f} s)",
            file=sys.stderr,
            flush=True,
        )

    checks = check_periods(plant(path), periods, on_period=progress)
    rows = []
    for check in checks:
        rows.append(Row(f"{check.label}: savings vs baseline", check.savings_pct, "%", 0.0, False))
        rows.append(Row("  regret against perfect foresight", check.regret_pct, "%"))
    rows.append(Row("all periods: regret", overall_regret_pct(checks), "%", MAX_REGRET_PCT))
    total = {m: sum(c.total_eur[m] for c in checks) for m in ("rolling", "perfect", "baseline")}
    saved = total["baseline"] - total["rolling"]
    rows.append(Row("  savings vs baseline", 100 * saved / abs(total["baseline"]), "%"))
    for failure in gate_failures(checks, MAX_REGRET_PCT):
        print(f"  gate: {failure}", file=sys.stderr)
    return rows
