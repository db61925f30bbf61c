"""The rolling economics gate: daily plans must never cost more than not optimising.

:func:`check_periods` simulates a plant in the three modes over several
periods (with perfect forecasts by default) and returns one
:class:`PeriodCheck` each: savings against the baseline, regret against
perfect foresight, and the cost components in which rolling and baseline
differ. :func:`gate_failures` turns them into messages that name the period
and the cost component that broke the rule, for the test suite and for
``make bench`` (every month of a year).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable

from energyopt.engine.forecast import ForecastOptions
from energyopt.engine.rolling.simulate import simulate
from energyopt.engine.rolling.windows import RollingOptions
from energyopt.inputs.config import Scenario
from energyopt.outputs.results import COST_KPIS


def month_end(day: dt.date) -> dt.date:
    """Last day of the calendar month of ``day``."""
    following = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return following - dt.timedelta(days=1)


@dataclasses.dataclass(frozen=True)
class PeriodCheck:
    """One simulated period: total cost per mode and its components [EUR]."""

    start: dt.date
    end: dt.date
    total_eur: dict[str, float]
    components_eur: dict[str, dict[str, float]]
    peak_kw: dict[str, float]

    @property
    def label(self) -> str:
        """``2023-07`` for a calendar month, else ``2023-07-01..2023-07-03``."""
        whole = self.start.day == 1 and self.end == month_end(self.start)
        return f"{self.start:%Y-%m}" if whole else f"{self.start}..{self.end}"

    @property
    def savings_eur(self) -> float:
        """Baseline cost minus rolling cost [EUR]."""
        return self.total_eur["baseline"] - self.total_eur["rolling"]

    @property
    def regret_eur(self) -> float:
        """Rolling cost minus perfect-foresight cost [EUR]."""
        return self.total_eur["rolling"] - self.total_eur["perfect"]

    @property
    def savings_pct(self) -> float:
        """Savings against the baseline, of the baseline's cost magnitude [%]."""
        return 100.0 * self.savings_eur / abs(self.total_eur["baseline"])

    @property
    def regret_pct(self) -> float:
        """Regret, of the perfect-foresight cost magnitude [%]."""
        return 100.0 * self.regret_eur / abs(self.total_eur["perfect"])

    def driver(self, worse: str = "rolling", than: str = "baseline") -> tuple[str, float]:
        """The cost component in which ``worse`` exceeds ``than`` most, and by how much [EUR]."""
        a, b = self.components_eur[worse], self.components_eur[than]
        signed = {k: (b[k] - a[k]) if k == "revenue_eur" else (a[k] - b[k]) for k in a}
        name = max(signed, key=signed.__getitem__)
        return name, signed[name]


def check_periods(
    scenario: Scenario,
    periods: Iterable[tuple[dt.date, dt.date]],
    *,
    step: str = "1h",
    forecast: ForecastOptions | None = None,
    rolling: RollingOptions | None = None,
    on_period: Callable[[PeriodCheck], None] | None = None,
) -> list[PeriodCheck]:
    """Simulate every period (local days, both included) in the three modes."""
    checks = []
    for start, end in periods:
        sim = simulate(scenario, start, end, step=step, forecast=forecast, rolling=rolling)
        kpis = {mode: run.kpis for mode, run in sim.runs.items()}
        check = PeriodCheck(
            start=start,
            end=end,
            total_eur={m: float(k["total_cost_eur"]) for m, k in kpis.items()},
            components_eur={
                m: {c: float(k.get(c, 0.0)) for c in COST_KPIS} for m, k in kpis.items()
            },
            peak_kw={m: float(k["peak_import_kw"]) for m, k in kpis.items()},
        )
        checks.append(check)
        if on_period is not None:
            on_period(check)
    return checks


def overall_regret_pct(checks: list[PeriodCheck]) -> float:
    """Regret of the periods together: summed rolling over summed perfect cost [%]."""
    rolling = sum(c.total_eur["rolling"] for c in checks)
    perfect = sum(c.total_eur["perfect"] for c in checks)
    return 100.0 * (rolling - perfect) / abs(perfect)


def gate_failures(
    checks: list[PeriodCheck], max_regret_pct: float = 2.0, tolerance_eur: float = 1.0
) -> list[str]:
    """Why the gate fails, one message per broken rule (empty: it passes).

    Rules: rolling costs no more than the baseline in any period (within
    ``tolerance_eur``), and the periods' overall regret is at most
    ``max_regret_pct``.
    """
    failures = []
    for check in checks:
        if check.savings_eur < -tolerance_eur:
            name, excess = check.driver()
            failures.append(
                f"{check.label}: rolling costs {-check.savings_eur:,.0f} EUR more than the "
                f"baseline; most of it in {name} (+{excess:,.0f} EUR; peak "
                f"{check.peak_kw['rolling']:,.0f} kW against {check.peak_kw['baseline']:,.0f} kW)"
            )
    regret = overall_regret_pct(checks)
    if regret > max_regret_pct:
        worst = max(checks, key=lambda c: c.regret_eur)
        name, excess = worst.driver("rolling", "perfect")
        failures.append(
            f"overall regret {regret:.2f} % > {max_regret_pct:g} %; most in {worst.label} "
            f"({worst.regret_eur:,.0f} EUR, of it {name} +{excess:,.0f} EUR)"
        )
    return failures
