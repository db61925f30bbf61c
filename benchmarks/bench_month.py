"""A month of the plant under test at 1 h: regret against one perfect-foresight solve, savings.

One month is what a single perfect-foresight MILP of the full plant (ovens,
formation, dry rooms, stores) solves in reasonable time; March 2023 has a full
billing month for the demand charge.
"""

from __future__ import annotations

import datetime as dt

from bench_rolling_year import regret_rows
from common import Row, plant, quick

START = dt.date(2023, 3, 1)


def run(path: str | None = None) -> list[Row]:
    """Measured rows."""
    end = START + dt.timedelta(days=6 if quick() else 30)
    return regret_rows(plant(path), START, end, "")
