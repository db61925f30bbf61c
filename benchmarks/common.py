"""Shared pieces of the benchmarks: the plant to time, result rows and the table."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import platform
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from energyopt.engine.forecast import ForecastOptions
from energyopt.engine.rolling import RollingOptions, prepare_rolling
from energyopt.inputs.config import Scenario, load_scenario

ROOT = Path(__file__).resolve().parents[1]
#: the default 20 GWh/a plant; the bundled example plant stands in until it exists
DEFAULT_PLANT = ROOT / "scenarios" / "gigafactory.yaml"
EXAMPLE_PLANT = ROOT / "scenarios" / "example.yaml"
#: first and last local day with input data in the bundled 2023 files (Paris time)
YEAR = (dt.date(2023, 1, 2), dt.date(2023, 12, 31))


def quick() -> bool:
    """Small sizes (``ENERGYOPT_BENCH_QUICK=1`` or ``--quick``): checks the code, not speed."""
    return os.environ.get("ENERGYOPT_BENCH_QUICK", "") not in ("", "0")


def plant_path(path: str | None = None) -> Path:
    """The scenario to time: given, else the default plant, else the example."""
    if path:
        return Path(path)
    return DEFAULT_PLANT if DEFAULT_PLANT.exists() else EXAMPLE_PLANT


def plant(path: str | None = None) -> Scenario:
    """Load the scenario to time."""
    return load_scenario(plant_path(path))


@dataclasses.dataclass(frozen=True)
class Row:
    """One measured figure and its target (``target`` None: reported only)."""

    name: str
    value: float
    unit: str
    target: float | None = None
    lower_is_better: bool = True

    def as_dict(self) -> dict[str, object]:
        """The row as written to ``benchmarks/results.json``."""
        return {**dataclasses.asdict(self), "name": self.name.strip(), "verdict": self.verdict}

    @property
    def verdict(self) -> str:
        """``ok``, ``MISSED`` or ``-`` (no target)."""
        if self.target is None:
            return "-"
        met = self.value <= self.target if self.lower_is_better else self.value >= self.target
        return "ok" if met else "MISSED"


def print_table(rows: list[Row], title: str) -> None:
    """Print measured figures against their targets."""
    table = Table(title=title, header_style="bold")
    for column, justify in (("benchmark", "left"), ("measured", "right"), ("target", "right")):
        table.add_column(column, justify=justify)
    table.add_column("", justify="center")
    for row in rows:
        target = "" if row.target is None else f"{'<=' if row.lower_is_better else '>='} "
        target += "" if row.target is None else f"{row.target:g} {row.unit}"
        table.add_row(row.name, f"{row.value:,.3f} {row.unit}", target, row.verdict)
    Console().print(table)


def machine() -> str:
    """Short description of the machine the figures come from, with a speed reference.

    The reference is the best of three runs of a pure-Python loop of 10 million
    additions: model building and reading are Python-bound, so timings from two
    machines compare through it.
    """
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python reference loop {python_reference_s():.2f} s"
    )


def python_reference_s(n: int = 10_000_000) -> float:
    """Best of three timings of ``n`` additions in a Python loop [s]."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for i in range(n):
            total += i
        best = min(best, time.perf_counter() - started)
    return best


def rolling_engine(
    scenario: Scenario,
    start: dt.date,
    end: dt.date,
    step: str,
    *,
    reuse_model: bool = True,
    forecast: ForecastOptions | None = None,
    options: RollingOptions | None = None,
):
    """An engine over the local days ``start``..``end`` and its windows (actuals loaded)."""
    return prepare_rolling(
        scenario, start, end, step, forecast=forecast, options=options, reuse_model=reuse_model
    )
