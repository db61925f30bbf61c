"""Process requirements a plan may miss at a price: soft limits and their violations.

A plant that cannot meet a process requirement today (the oven's area target
in the hours left, a dry room above its dew-point band after a door stood
open, a store measured below its minimum) still needs a plan. In *soft* mode
(``BuildContext.soft_limits``, the default of the service's planning) every
process requirement an asset declares gets a non-negative shortfall variable
``s[k]`` in the plant's unit of that requirement, and the objective pays::

    penalty_eur_per_unit * weight_h * sum_k s[k]          (cost category ``violation``)

The penalties lie far above what meeting the requirement costs in energy, so
a plan falls short only where the plant cannot do otherwise; the plan names
every shortfall as a :class:`Violation` (asset, requirement, time span,
amount with unit, penalty). In *hard* mode (the default of a one-shot
analysis) the shortfall is the constant 0: the requirement is a constraint,
and a plant that cannot meet it has no feasible plan.

Default penalties (assumptions, each larger than the energy it takes to meet
the requirement at any day-ahead price seen in Europe, < 4 EUR/kWh):

* carrier balances: :data:`BALANCE_PENALTY_EUR_PER_UNIT` per kWh (or kg) not
  supplied or not used. A plan that leaves a balance open cannot be run, so
  this lies above every process penalty: the plan misses a process target
  before it misses energy.
* process targets: set on each asset kind (``*_penalty_*`` fields).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo

#: penalty on an open carrier balance [EUR per kWh, or per kg of a material]
BALANCE_PENALTY_EUR_PER_UNIT = 1_000.0
#: shortfalls below this are solver noise [unit]
SHORTFALL_TOL = 1e-6


@dataclasses.dataclass(frozen=True)
class Requirement:
    """One process requirement of an asset, with its shortfall variable.

    Attributes
    ----------
    asset, name : str
        Who requires it, and what a miss is in plant terms (``"daily area
        target not met"``).
    unit : str
        Unit of a reported shortfall (``"m2"``, ``"kg h"``, ``"kWh"``).
    spans : tuple of (first, stop)
        Interval positions each shortfall index covers in the window.
    shortfall : pyo.Var
        Non-negative, indexed ``0 .. len(spans) - 1``.
    penalty_eur_per_unit : float or mutable parameter
        Price of one unit of reported shortfall [EUR/unit].
    weight_h : float
        Reported amount per unit of the variable: 1 for amounts, the
        interval length [h] for levels held over an interval (``kg h``).
    merge : bool
        Report shortfalls of neighbouring spans as one (requirements held
        in every interval).
    rate_unit : str, optional
        Unit of the variable itself (``"kW"``, ``"kg"``) when it differs from
        ``unit``: a violation then also reports the largest value over its span.
    """

    asset: str
    name: str
    unit: str
    spans: tuple[tuple[int, int], ...]
    shortfall: Any
    penalty_eur_per_unit: Any
    weight_h: float = 1.0
    merge: bool = False
    rate_unit: str | None = None

    def penalty_eur(self) -> Any:
        """The objective term of this requirement [EUR] (a Pyomo expression)."""
        price = self.penalty_eur_per_unit * self.weight_h
        return price * sum(self.shortfall[k] for k in range(len(self.spans)))

    def violations(self, index: pd.DatetimeIndex) -> list[Violation]:
        """The solved shortfalls, neighbouring intervals merged into one span."""
        amounts = np.array(
            [self.shortfall[k].value or 0.0 for k in range(len(self.spans))], dtype=float
        )
        step = index[1] - index[0] if len(index) > 1 else pd.Timedelta(hours=self.weight_h)
        price = float(pyo.value(self.penalty_eur_per_unit))
        found: list[Violation] = []
        for k in np.flatnonzero(amounts * self.weight_h > SHORTFALL_TOL):
            first, stop = self.spans[k]
            amount = float(amounts[k] * self.weight_h)
            start, end = index[first], index[stop - 1] + step
            peak = float(amounts[k]) if self.rate_unit else None
            last = found[-1] if found else None
            if self.merge and last is not None and last.end == start:
                found[-1] = dataclasses.replace(
                    last,
                    end=end,
                    amount=last.amount + amount,
                    penalty_eur=last.penalty_eur + amount * price,
                    peak=None if peak is None else max(peak, last.peak or 0.0),
                )
                continue
            found.append(
                Violation(
                    self.asset,
                    self.name,
                    start,
                    end,
                    amount,
                    self.unit,
                    amount * price,
                    peak,
                    self.rate_unit,
                )
            )
        return found


@dataclasses.dataclass(frozen=True)
class Violation:
    """A requirement the plan misses: where, when, by how much and at what price."""

    asset: str
    requirement: str
    start: pd.Timestamp
    end: pd.Timestamp
    amount: float
    unit: str
    penalty_eur: float
    peak: float | None = None
    peak_unit: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form (UTC ISO time stamps)."""
        return {
            "asset": self.asset,
            "requirement": self.requirement,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "amount": self.amount,
            "unit": self.unit,
            "penalty_eur": self.penalty_eur,
            "peak": self.peak,
            "peak_unit": self.peak_unit,
        }

    def text(self) -> str:
        """One line in plant terms."""
        peak = "" if self.peak is None else f"up to {self.peak:,.1f} {self.peak_unit}; "
        return (
            f"{self.asset}: {self.requirement}: {self.amount:,.1f} {self.unit} "
            f"from {self.start:%Y-%m-%d %H:%M} to {self.end:%Y-%m-%d %H:%M} UTC "
            f"({peak}penalty {self.penalty_eur:,.0f} EUR)"
        )


def per_interval(n_steps: int) -> tuple[tuple[int, int], ...]:
    """Spans of a requirement held in every interval."""
    return tuple((t, t + 1) for t in range(n_steps))


def held(
    asset: str, name: str, unit: str, penalty_eur_per_unit: float, dt_h: float, n_steps: int
) -> Requirement:
    """A requirement held in every interval of a level: the variable in ``unit``
    (``"kg"``), reported integrated over time (``"kg h"``), neighbours merged."""
    return Requirement(
        asset,
        name,
        f"{unit} h",
        per_interval(n_steps),
        None,
        penalty_eur_per_unit,
        weight_h=dt_h,
        merge=True,
        rate_unit=unit,
    )


def shortfall_var(spans: Sequence[tuple[int, int]]) -> pyo.Var:
    """The non-negative shortfall variable of a requirement over ``spans``."""
    return pyo.Var(range(len(spans)), domain=pyo.NonNegativeReals)
