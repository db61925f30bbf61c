"""Capacities as decisions: what a scenario may mark extendable, and what it costs.

An asset kind declares the capacities it can size in its class attribute
``capacities``: parameter name -> :class:`CapacityDefaults` (or a function of
the asset's parameters giving them, where the default technology depends on
them). A scenario marks any of them extendable on the asset::

    - {type: battery, name: bess, capacity_kwh: 2000, charge_max_kw: 1000,
       extendable: {capacity_kwh: {min: 0, max: 20000, capex_eur_per_unit: 190}}}

Each entry is an :class:`Extendable`: bounds ``min`` .. ``max`` in the
capacity's unit, overnight cost, lifetime, WACC and fixed O&M (the kind's
defaults where left out), and optionally ``module_size``: the capacity is
then a whole number of modules of that size. The fixed value (here
``capacity_kwh: 2000``) stays what ``run``, ``simulate`` and the service
operate; only a sizing build (``BuildContext.sizing``) turns the extendable
capacities into variables, used by the same constraints as operation.

Annualised cost of one unit of capacity [EUR/a]::

    crf = wacc (1 + wacc)^n / ((1 + wacc)^n - 1)     (n = lifetime_a; 1/n if wacc = 0)
    capex_eur_per_unit * crf + fixed_om_eur_per_unit_a

The default WACC (7 %) is an assumption for an industrial investor's cost of
capital; set it per study. Fixed O&M defaults to 0: the plant reference
(§2.4) lists none.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any

import pyomo.environ as pyo
from pydantic import BaseModel, ConfigDict, Field, model_validator

#: default weighted average cost of capital [frac] (an assumption, see the module docstring)
DEFAULT_WACC_FRAC = 0.07


def capital_recovery_factor(wacc_frac: float, lifetime_a: float) -> float:
    """Share of an overnight cost that, paid every year, repays it with interest [1/a].

    ``wacc (1 + wacc)^n / ((1 + wacc)^n - 1)`` with ``n = lifetime_a``; ``1 / n``
    at a WACC of 0 (its limit).

    Parameters
    ----------
    wacc_frac : float
        Weighted average cost of capital. [frac per year]
    lifetime_a : float
        Economic lifetime. [a]
    """
    if wacc_frac == 0:
        return 1.0 / lifetime_a
    growth = (1.0 + wacc_frac) ** lifetime_a
    return wacc_frac * growth / (growth - 1.0)


@dataclasses.dataclass(frozen=True)
class CapacityDefaults:
    """What a kind's capacity costs unless the scenario says otherwise.

    Attributes
    ----------
    unit : str
        Unit of the capacity (``kWh``, ``kW``, ``kWp``, ``turbine``).
    capex_eur_per_unit : float
        Overnight cost. [EUR per unit]
    lifetime_a : float
        Economic lifetime. [a]
    source : str
        Where the figures come from.
    fixed_om_eur_per_unit_a : float
        Fixed operation and maintenance. [EUR per unit and year]
    integer : bool
        The capacity is a count (turbines): always a whole number.
    """

    unit: str
    capex_eur_per_unit: float
    lifetime_a: float
    source: str
    fixed_om_eur_per_unit_a: float = 0.0
    integer: bool = False


#: what a kind declares per capacity: its defaults, or a function of the params giving them
CapacityDeclaration = CapacityDefaults | Callable[[Any], CapacityDefaults]


class Extendable(BaseModel):
    """One extendable capacity of an asset, as the scenario gives it (units: the capacity's)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    min: float = Field(0.0, ge=0, description="smallest capacity [unit]")
    max: float = Field(gt=0, description="largest capacity [unit]; also the big-M of binaries")
    capex_eur_per_unit: float | None = Field(
        None, ge=0, description="overnight cost [EUR/unit]; default: the kind's"
    )
    lifetime_a: float | None = Field(None, gt=0, description="[a]; default: the kind's")
    wacc_frac: float = Field(DEFAULT_WACC_FRAC, ge=0, le=1, description="[frac per year]")
    fixed_om_eur_per_unit_a: float | None = Field(
        None, ge=0, description="fixed O&M [EUR/unit/a]; default: the kind's"
    )
    module_size: float | None = Field(
        None, gt=0, description="the capacity is a whole number of modules of this size [unit]"
    )

    @model_validator(mode="after")
    def _bounds_consistent(self) -> Extendable:
        if self.min > self.max:
            raise ValueError(f"min={self.min:g} exceeds max={self.max:g}")
        if self.module_size is not None and not self.module_counts()[0] <= self.module_counts()[1]:
            msg = (
                f"module_size={self.module_size:g} fits no whole number of modules between "
                f"min={self.min:g} and max={self.max:g}"
            )
            raise ValueError(msg)
        return self

    def module_counts(self) -> tuple[int, int]:
        """Fewest and most modules within ``min`` .. ``max`` (``module_size`` set)."""
        size = self.module_size or 1.0
        return math.ceil(self.min / size - 1e-9), math.floor(self.max / size + 1e-9)

    def costs(self, defaults: CapacityDefaults) -> CapacityCost:
        """The cost figures, the kind's defaults filling what the scenario leaves out."""

        def given(value: float | None, default: float) -> float:
            return default if value is None else value

        return CapacityCost(
            capex_eur_per_unit=given(self.capex_eur_per_unit, defaults.capex_eur_per_unit),
            lifetime_a=given(self.lifetime_a, defaults.lifetime_a),
            wacc_frac=self.wacc_frac,
            fixed_om_eur_per_unit_a=given(
                self.fixed_om_eur_per_unit_a, defaults.fixed_om_eur_per_unit_a
            ),
        )


@dataclasses.dataclass(frozen=True)
class CapacityCost:
    """Cost figures of one extendable capacity (units per unit of the capacity)."""

    capex_eur_per_unit: float
    lifetime_a: float
    wacc_frac: float
    fixed_om_eur_per_unit_a: float

    @property
    def crf(self) -> float:
        """Capital recovery factor [1/a] (:func:`capital_recovery_factor`)."""
        return capital_recovery_factor(self.wacc_frac, self.lifetime_a)

    @property
    def capex_eur_per_unit_a(self) -> float:
        """Annualised overnight cost [EUR per unit and year]."""
        return self.capex_eur_per_unit * self.crf


def check_extendable(kind: str, declared: Mapping[str, object], keys: list[str]) -> None:
    """Raise ``ValueError`` naming the first key of ``keys`` kind ``kind`` cannot size."""
    for key in keys:
        if key in declared:
            continue
        if not declared:
            msg = f"{key!r} cannot be sized: {kind} assets have no capacity to size"
        else:
            msg = f"{key!r} cannot be sized; {kind} assets size {', '.join(declared)}"
        raise ValueError(msg)


@dataclasses.dataclass(frozen=True)
class SizedCapacity:
    """A capacity built as a decision: its variable [unit] and what it costs."""

    asset: str
    key: str
    unit: str
    var: Any
    option: Extendable
    cost: CapacityCost

    def capex_eur(self) -> Any:
        """Annualised overnight cost of the chosen capacity [EUR/a] (an expression)."""
        return self.cost.capex_eur_per_unit_a * self.var

    def fixed_om_eur(self) -> Any:
        """Fixed O&M of the chosen capacity [EUR/a] (an expression)."""
        return self.cost.fixed_om_eur_per_unit_a * self.var

    def chosen(self) -> ChosenCapacity:
        """The solved capacity as plain data."""
        value = max(float(pyo.value(self.var)), 0.0) + 0.0  # no -0.0 or -1e-12 from HiGHS
        return ChosenCapacity(self.asset, self.key, self.unit, value, self.option, self.cost)


@dataclasses.dataclass(frozen=True)
class ChosenCapacity:
    """A capacity a sizing plan chose: ``value`` [unit] and what it costs a year."""

    asset: str
    key: str
    unit: str
    value: float
    option: Extendable
    cost: CapacityCost

    @property
    def name(self) -> str:
        """``<asset>.<key>``, e.g. ``bess.capacity_kwh``."""
        return f"{self.asset}.{self.key}"

    @property
    def capex_eur_per_a(self) -> float:
        """Annualised overnight cost of the chosen capacity [EUR/a]."""
        return self.cost.capex_eur_per_unit_a * self.value

    @property
    def fixed_om_eur_per_a(self) -> float:
        """Fixed O&M of the chosen capacity [EUR/a]."""
        return self.cost.fixed_om_eur_per_unit_a * self.value


def add_capacity_var(b: pyo.Block, key: str, option: Extendable, integer: bool) -> pyo.Var:
    """The capacity ``key`` as a variable on ``b`` within ``option.min .. option.max``.

    With ``option.module_size`` it is ``module_size * <key>_modules`` (an integer
    count, row ``<key>_in_modules``); a count kind (``integer``) is integer itself.
    """
    domain = pyo.NonNegativeIntegers if integer else pyo.NonNegativeReals
    var = pyo.Var(domain=domain, bounds=(option.min, option.max))
    b.add_component(key, var)
    if option.module_size is not None:
        modules = pyo.Var(domain=pyo.NonNegativeIntegers, bounds=option.module_counts())
        b.add_component(f"{key}_modules", modules)
        row = pyo.Constraint(expr=var == option.module_size * modules)
        b.add_component(f"{key}_in_modules", row)
    return var
