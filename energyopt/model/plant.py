"""Assemble the Pyomo model of a plant from its asset blocks.

``model.py`` knows carriers, not assets: every asset block reports its net
injection per carrier and time step [kW, or kg/h for materials], its costs by
category [EUR] and its emissions [kg CO2]. The model adds one balance per
carrier and interval::

    sum over assets of injection[carrier][t] (+ short[t] - surplus[t]) == 0

and minimises ``sum(costs) + co2_price * sum(co2) + penalties``. The
shortfall terms and the penalties exist in soft mode only
(``ctx.soft_limits``): every process requirement the assets declare and
every balance may then be missed at a price, and :meth:`PlantSession.read`
names each miss (see ``assets/requirements.py``).

A sizing build (``ctx.sizing``, ``assets/sizing.py``) minimises the annual
cost instead::

    operating_weight * (sum(costs) + co2_price * sum(co2) + penalties)
        + capex_eur + fixed_om_eur

where ``capex_eur`` and ``fixed_om_eur`` [EUR/a] sum the annualised cost of
every capacity built as a decision and ``operating_weight`` scales the
modelled period's operating cost to a year (8760 h / modelled hours for one
period; later, per typical period, its share of the year).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC

from energyopt.assets import Asset, AssetTerms, BuildContext
from energyopt.assets.base import CARRIERS, flow_unit
from energyopt.assets.requirements import (
    BALANCE_PENALTY_EUR_PER_UNIT,
    Requirement,
    Violation,
    per_interval,
    shortfall_var,
)
from energyopt.assets.sizing import SizedCapacity
from energyopt.errors import ModelBuildError
from energyopt.model import rules
from energyopt.model.flat import flat_sum
from energyopt.model.read import Reading, read, violations
from energyopt.model.standard_form import Compilation, StandardForm
from energyopt.units import eur_per_t_to_eur_per_kg

if TYPE_CHECKING:
    from energyopt.inputs.config import SolverOptions
    from energyopt.model.solve import SolveReport


@dataclasses.dataclass
class PlantSession:
    """The plant's Pyomo model and everything done with it: the one Pyomo boundary.

    Build it once (:func:`build_model`), then per window :meth:`update` the
    parameters, :meth:`solve`, :meth:`read` the plan as tables and take
    :meth:`final_states` for the next window. The baseline and the replay
    change what it optimises through :meth:`apply_baseline`, :meth:`track`,
    :meth:`hold_discrete_states` and :meth:`release`. The engine and the
    service hold sessions but never reach into :attr:`model`.
    """

    model: pyo.ConcreteModel
    assets: dict[str, Asset]
    ctx: BuildContext
    terms: dict[str, AssetTerms]
    carriers: list[str]
    build_s: float
    #: the requirements built soft: the assets' and the open balances (empty if hard)
    requirements: list[Requirement] = dataclasses.field(default_factory=list)
    #: parameter updates so far, and the linear forms of expressions read after
    #: each solve of an updated model (see :mod:`energyopt.model.evaluation`)
    n_updates: int = 0
    value_cache: dict = dataclasses.field(default_factory=dict, repr=False)
    #: a sizing build: the capacities built as decisions, and the factor from the
    #: modelled period's operating cost to a year's (see the module docstring)
    sized: list[SizedCapacity] = dataclasses.field(default_factory=list)
    operating_weight: float = 1.0
    #: the matrices for HiGHS: compiled once, refreshed after parameter updates
    compilation: Compilation = dataclasses.field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.compilation = Compilation(self.model)

    def block(self, name: str) -> pyo.Block:
        """The Pyomo block of asset ``name``."""
        return self.model.asset[name]

    def can_update(self, ctx: BuildContext) -> bool:
        """True if ``ctx`` fits this model's structure (else rebuild it)."""
        same_mode = ctx.soft_limits == self.ctx.soft_limits
        return (
            same_mode
            and len(ctx.index) == len(self.ctx.index)
            and all(
                asset.structure_key(ctx) == asset.structure_key(self.ctx)
                for asset in self.assets.values()
            )
        )

    def update(self, ctx: BuildContext) -> float:
        """Re-fill all mutable parameters for a new window; returns seconds spent."""
        if len(ctx.index) != len(self.ctx.index):
            msg = (
                f"window has {len(ctx.index)} steps, the model was built for {len(self.ctx.index)}"
            )
            raise ModelBuildError(msg)
        started = time.perf_counter()
        for name, asset in self.assets.items():
            asset.refresh(self.block(name), ctx)
        self.model.co2_price_eur_per_kg.set_value(_co2_price(ctx))
        self.ctx = ctx
        self.compilation.parameters_changed()
        self.n_updates += 1
        return time.perf_counter() - started

    def standard_form(self) -> StandardForm:
        """The model as matrices for the solver (see :class:`Compilation` for when
        they are refreshed rather than compiled)."""
        return self.compilation.form()

    def solve(self, options: SolverOptions, **kwargs: Any) -> SolveReport:
        """Solve with HiGHS; see :func:`energyopt.model.solve.solve` for ``kwargs``."""
        from energyopt.model.solve import solve  # solve builds diagnosis sessions from here

        return solve(self, options, **kwargs)

    def read(self) -> Reading:
        """The solved plan as tables: dispatch, costs by category, emissions."""
        return read(self)

    def apply_baseline(
        self, ranked: Mapping[str, Sequence[str]], penalty_eur_per_kwh: float
    ) -> None:
        """Rule-based operation with a converter merit order (:func:`rules.apply_baseline`)."""
        rules.apply_baseline(self, ranked, penalty_eur_per_kwh)
        self.compilation.structure_changed()

    def track(self, plan: pd.DataFrame, penalty_eur_per_kwh: float) -> None:
        """Hold setpoints to ``plan`` with penalised deviation (:func:`rules.track`)."""
        rules.track(self, plan, penalty_eur_per_kwh)
        self.compilation.structure_changed()

    def deviation_kwh(self) -> dict[str, float]:
        """Energy each tracked asset's setpoints moved [kWh] (after :meth:`track`)."""
        return rules.deviation_kwh(self)

    def penalty_eur(self) -> float:
        """The baseline-rule or tracking penalty of the solved plan [EUR]."""
        return rules.penalty_eur(self)

    def discrete_states(self, steps: int) -> pd.DataFrame:
        """Binary decisions of the first ``steps`` intervals, ``<asset>.<variable>`` columns."""
        return rules.discrete_states(self, steps)

    def hold_discrete_states(self, plan: pd.DataFrame) -> list[str]:
        """Fix plan-following assets' binaries to ``plan``; returns what was fixed."""
        held = rules.hold_discrete_states(self, plan)
        self.compilation.structure_changed()
        return held

    def release(self, held: Sequence[str]) -> None:
        """Free what :meth:`hold_discrete_states` fixed."""
        rules.release(self, held)
        self.compilation.structure_changed()

    def violations(self) -> tuple[Violation, ...]:
        """Every requirement the solved plan misses (soft mode), in time order."""
        return violations(self)

    def prechecks(self) -> list[str]:
        """What the assets found they cannot meet in this window, before the solve."""
        return [line for asset in self.assets.values() for line in asset.prechecks(self.ctx)]

    def final_states(self, steps: int) -> dict[str, dict]:
        """Every asset's state after the first ``steps`` intervals (for the next window)."""
        return {
            name: asset.final_state(self.block(name), self.ctx, steps)
            for name, asset in self.assets.items()
        }

    def end_conditions(self) -> dict[str, dict[str, float]]:
        """Every asset's end-of-window conditions (:meth:`Asset.end_conditions`)."""
        return {
            name: asset.end_conditions(self.block(name), self.ctx)
            for name, asset in self.assets.items()
        }

    def size(self) -> dict[str, int]:
        """Counts of variables, constraints and binaries."""
        return self.compilation.size()


def _co2_price(ctx: BuildContext) -> float:
    return eur_per_t_to_eur_per_kg(ctx.tariffs.co2_price_eur_per_t)


def build_model(
    assets: Iterable[Asset],
    ctx: BuildContext,
    *,
    open_balances: bool = False,
    operating_weight: float = 1.0,
) -> PlantSession:
    """Build the plant model for one window.

    Parameters
    ----------
    assets : iterable of Asset
        One instance per asset (fresh: an instance belongs to one model).
    ctx : BuildContext
        Window index, input series, tariffs and initial state;
        ``ctx.soft_limits`` makes requirements and balances soft.
    open_balances : bool
        Make the carrier balances soft even in hard mode (diagnosis).
    operating_weight : float
        Sizing builds (``ctx.sizing``): factor from the window's operating cost to
        a year's [-] (see the module docstring); unused otherwise.
    """
    started = time.perf_counter()
    with PauseGC():  # the cyclic collector would walk the growing model again and again
        return _build(assets, ctx, open_balances or ctx.soft_limits, started, operating_weight)


def _build(
    assets: Iterable[Asset],
    ctx: BuildContext,
    open_balances: bool,
    started: float,
    operating_weight: float,
) -> PlantSession:
    by_name = {a.name: a for a in assets}
    m = pyo.ConcreteModel(name="plant")
    m.T = pyo.RangeSet(0, ctx.n_steps - 1)
    m.ASSETS = pyo.Set(initialize=list(by_name), ordered=True)
    m.co2_price_eur_per_kg = pyo.Param(mutable=True, initialize=_co2_price(ctx))
    terms: dict[str, AssetTerms] = {}

    def build_asset(b: pyo.Block, name: str) -> None:
        terms[name] = by_name[name].build(b, ctx)

    m.asset = pyo.Block(m.ASSETS, rule=build_asset)
    carriers = _carriers(terms)
    requirements = [r for asset in by_name.values() for r in asset.requirements]
    requirements += _add_balances(m, terms, carriers, ctx, open_balances)
    sized = [  # in the order the scenario lists them
        asset.sized[key]
        for asset in by_name.values()
        for key in asset.params.extendable
        if key in asset.sized
    ]
    _add_objective(m, terms, requirements, (sized, operating_weight) if ctx.sizing else None)
    return PlantSession(
        model=m,
        assets=by_name,
        ctx=ctx,
        terms=terms,
        carriers=carriers,
        build_s=time.perf_counter() - started,
        requirements=requirements,
        sized=sized,
        operating_weight=operating_weight if ctx.sizing else 1.0,
    )


def _carriers(terms: dict[str, AssetTerms]) -> list[str]:
    found = {c for t in terms.values() for c in t.injections}
    return [c for c in CARRIERS if c in found] + sorted(found - set(CARRIERS))


def _add_balances(
    m: pyo.ConcreteModel,
    terms: dict[str, AssetTerms],
    carriers: list[str],
    ctx: BuildContext,
    open_balances: bool,
) -> list[Requirement]:
    """One balance per carrier and interval; open ones with priced shortfalls."""
    flows = {c: [t.injections[c] for t in terms.values() if c in t.injections] for c in carriers}
    m.CARRIERS = pyo.Set(initialize=carriers, ordered=True)
    open_ends = _balance_requirements(m, carriers, ctx) if open_balances else {}

    @m.Constraint(m.CARRIERS, m.T)
    def balance(m, c, t):
        terms = [flow[t] for flow in flows[c]]
        if c in open_ends:
            short, surplus = open_ends[c]
            terms += [short.shortfall[t], -surplus.shortfall[t]]
        return flat_sum(terms) == 0

    return [r for pair in open_ends.values() for r in pair]


def _balance_requirements(
    m: pyo.ConcreteModel, carriers: list[str], ctx: BuildContext
) -> dict[str, tuple[Requirement, Requirement]]:
    """Per carrier: energy not supplied and energy not used, as plant requirements."""
    spans = per_interval(ctx.n_steps)
    found = {}
    for carrier in carriers:
        unit, rate_unit = ("kWh", "kW") if flow_unit(carrier) == "kw" else ("kg", "kg/h")
        pair = []
        for word, what in (("short", "short of supply"), ("surplus", "has surplus it cannot use")):
            var = shortfall_var(spans)
            m.add_component(f"{word}_{carrier}", var)
            pair.append(
                Requirement(
                    "plant",
                    f"{carrier} balance {what}",
                    unit,
                    spans,
                    var,
                    BALANCE_PENALTY_EUR_PER_UNIT,
                    weight_h=ctx.dt_h,
                    merge=True,
                    rate_unit=rate_unit,
                )
            )
        found[carrier] = (pair[0], pair[1])
    return found


def _add_objective(
    m: pyo.ConcreteModel,
    terms: dict[str, AssetTerms],
    requirements: list[Requirement],
    annual: tuple[list[SizedCapacity], float] | None,
) -> None:
    """The window's cost; with ``annual`` (a sizing build's capacities and operating
    weight) the objective is the annual cost of the module docstring."""
    cost = sum(v for t in terms.values() for v in t.costs_eur.values())
    co2 = sum(t.co2_kg for t in terms.values())
    m.violation_penalty_eur = pyo.Expression(expr=sum(r.penalty_eur() for r in requirements))
    m.total_cost_eur = pyo.Expression(
        expr=cost + m.co2_price_eur_per_kg * co2 + m.violation_penalty_eur
    )
    objective = m.total_cost_eur
    if annual is not None:
        sized, operating_weight = annual
        m.capex_eur = pyo.Expression(expr=sum(s.capex_eur() for s in sized))
        m.fixed_om_eur = pyo.Expression(expr=sum(s.fixed_om_eur() for s in sized))
        m.annual_cost_eur = pyo.Expression(
            expr=operating_weight * m.total_cost_eur + m.capex_eur + m.fixed_om_eur
        )
        objective = m.annual_cost_eur
    m.objective = pyo.Objective(expr=objective, sense=pyo.minimize)
