"""Shared storage core: a level that charges and discharges with losses.

Used by ``battery`` (electricity) and ``thermal_storage`` (any heat or cooling
carrier). Level ``level_kwh[t]`` is the end-of-interval value; the initial
level is a mutable parameter (what the previous window handed over)::

    level_kwh[t] = level_kwh[t-1] * (1 - loss_frac_per_h) ** dt_h
                   + dt_h * (efficiency_charge * charge_kw[t]
                             - discharge_kw[t] / efficiency_discharge)
    soc_min_frac * capacity_kwh <= level_kwh[t] <= soc_max_frac * capacity_kwh
    level_kwh[last] >= terminal_kwh

``terminal_kwh`` is ``soc_terminal_min_frac * capacity_kwh`` (a lower bound;
default ``soc_initial_frac``) at the end of the period. A rolling window that
ends before the period does (``ctx.open_end``) must instead hand the next
window at least the level it started with, less what idling would have lost
(``level_initial * (1 - loss_frac_per_h) ** window_h``, not below the lower
level bound): energy the window cannot see a use for is kept, not sold off
at its end, and refilling is never forced beyond that level. A re-plan of
the same window from a later instant (intraday) keeps the floor the first
plan had, carried as state ``level_end_min_kwh`` (:meth:`end_conditions`).

Soft mode (``ctx.soft_limits``, the service's planning): a level measured
beyond its limits is planned from there. Where the store cannot hold its
limits and reach its terminal level from the initial level even charging or
discharging flat out (:func:`needs_soft_limits`), the level stays within
empty and full, and the limits and the terminal level hold up to priced
energy beyond them at ``limit_penalty_eur_per_kwh`` (default 10 EUR per kWh
h, or per kWh short at the end: above any day-ahead price of a normal year,
an assumption); a store that can hold them keeps them as bounds, so the
model stays as small as in hard mode.

Standing loss applies from the first interval: ``level_kwh[0]`` is the
initial level less one interval of loss, plus that interval's charge.

Sizing (``assets/sizing.py``): an extendable ``capacity_kwh`` is the variable
``b.capacity_kwh`` and the level limits become rows on it; initial and
terminal levels given as fractions are those fractions of it (linear). A
sized store keeps its limits hard in soft mode too (a sizing run starts it at
a fraction of itself, within them) and sizes over one period, never a
rolling window. ``charge_max_kw`` and ``discharge_max_kw`` bound the flows
through rows ``charge_kw_capacity`` and ``discharge_kw_capacity``; the
binary of ``no_simultaneous`` then takes each rating's ``max`` as its big-M.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pydantic import Field, model_validator

from energyopt.assets.base import Asset, AssetParams, BuildContext, values
from energyopt.assets.declarations import (
    FINE_DECIMALS,
    QuantitySpec,
    column_setpoint,
    difference_setpoint,
    fixed_bounds,
)
from energyopt.assets.requirements import Requirement, held
from energyopt.errors import ModelBuildError
from energyopt.model.flat import linear_sum

#: tolerance of the reachability check of the level limits [kWh]
LEVEL_TOL_KWH = 1e-6


class StorageParams(AssetParams):
    """Parameters every storage has."""

    capacity_kwh: float = Field(gt=0, description="usable energy capacity [kWh]")
    charge_max_kw: float = Field(gt=0, description="charging power limit [kW]")
    discharge_max_kw: float | None = Field(
        None, gt=0, description="discharging power limit [kW]; default = charge_max_kw"
    )
    efficiency_charge: float = Field(0.96, gt=0, le=1, description="[frac]")
    efficiency_discharge: float = Field(0.96, gt=0, le=1, description="[frac]")
    soc_min_frac: float = Field(0.0, ge=0, le=1)
    soc_max_frac: float = Field(1.0, gt=0, le=1)
    soc_initial_frac: float = Field(0.5, ge=0, le=1)
    soc_terminal_min_frac: float | None = Field(
        None,
        ge=0,
        le=1,
        description="lowest level at the end [frac]; default = initial",
    )
    loss_frac_per_h: float = Field(0.0, ge=0, lt=1, description="standing loss [1/h]")
    no_simultaneous: bool = Field(
        False, description="binary: never charge and discharge in the same interval"
    )
    limit_penalty_eur_per_kwh: float = Field(
        10.0,
        ge=0,
        description="soft mode: price of level beyond its limits [EUR/(kWh h)] or short of "
        "the terminal level [EUR/kWh]",
    )

    @model_validator(mode="after")
    def _levels_consistent(self) -> StorageParams:
        if self.soc_min_frac > self.soc_max_frac:
            raise ValueError("soc_min_frac must not exceed soc_max_frac")
        for field in ("soc_initial_frac", "soc_terminal_min_frac"):
            value = getattr(self, field)
            if value is not None and not self.soc_min_frac <= value <= self.soc_max_frac:
                msg = f"{field}={value} lies outside [soc_min_frac, soc_max_frac]"
                raise ValueError(msg)
        return self

    @property
    def discharge_limit_kw(self) -> float:
        """Discharging power limit [kW]."""
        return self.discharge_max_kw if self.discharge_max_kw is not None else self.charge_max_kw


def terminal_level_kwh(name: str, p: StorageParams, ctx: BuildContext) -> float:
    """Lowest level at the end of the window of ``ctx`` [kWh] (see the module docstring);
    the level limit when the window is one part of a longer period (``ctx.free_end``)."""
    if ctx.free_end:
        return p.soc_min_frac * p.capacity_kwh
    if ctx.open_end:
        kept = ctx.state.get(name, {}).get("level_end_min_kwh")
        if kept is not None:  # a re-plan to the same end keeps the floor planned first
            return max(float(kept), p.soc_min_frac * p.capacity_kwh)
        start = ctx.initial(name, "level_kwh", p.soc_initial_frac * p.capacity_kwh)
        idle = start * (1.0 - p.loss_frac_per_h) ** (ctx.n_steps * ctx.dt_h)
        return max(idle, p.soc_min_frac * p.capacity_kwh)
    frac = p.soc_initial_frac if p.soc_terminal_min_frac is None else p.soc_terminal_min_frac
    return ctx.initial(name, "level_terminal_min_kwh", frac * p.capacity_kwh)


def needs_soft_limits(name: str, p: StorageParams, ctx: BuildContext) -> bool:
    """True in soft mode where the store cannot hold its level limits and reach its
    terminal level from its initial level, even charging or discharging flat out
    (a level measured beyond them): only then does it get priced shortfall rows."""
    if not ctx.soft_limits:
        return False
    low, high = p.soc_min_frac * p.capacity_kwh, p.soc_max_frac * p.capacity_kwh
    keep = (1.0 - p.loss_frac_per_h) ** ctx.dt_h
    up = down = ctx.initial(name, "level_kwh", p.soc_initial_frac * p.capacity_kwh)
    fill_kwh = ctx.dt_h * p.efficiency_charge * p.charge_max_kw
    drain_kwh = ctx.dt_h * p.discharge_limit_kw / p.efficiency_discharge
    for _ in range(ctx.n_steps):  # the reachable levels, kept to the limits
        up, down = min(keep * up + fill_kwh, high), max(keep * down - drain_kwh, low)
        if up < low - LEVEL_TOL_KWH or down > high + LEVEL_TOL_KWH:
            return True
    return up < terminal_level_kwh(name, p, ctx) - LEVEL_TOL_KWH


def discharge_key(asset: Asset, ctx: BuildContext, p: StorageParams) -> str:
    """The capacity limiting discharge: ``discharge_max_kw``, or ``charge_max_kw``
    when none is given and it is not sized on its own (one converter both ways)."""
    if p.discharge_max_kw is None and not asset.is_sized(ctx, "discharge_max_kw"):
        return "charge_max_kw"
    return "discharge_max_kw"


def add_storage(asset: Asset, b: pyo.Block, ctx: BuildContext, p: StorageParams) -> None:
    """Add ``charge_kw``, ``discharge_kw``, ``level_kwh`` and their constraints to ``b``."""
    T = b.model().T
    dt_h = ctx.dt_h
    keep = (1.0 - p.loss_frac_per_h) ** dt_h
    asset.limited_var(b, "charge_kw", ctx, "charge_max_kw")
    asset.limited_var(b, "discharge_kw", ctx, discharge_key(asset, ctx, p))
    if asset.is_sized(ctx, "capacity_kwh"):
        initial, terminal = _add_sized_level(asset, b, ctx, p)
        soft = False
    else:
        initial, terminal, soft = _add_level(asset, b, ctx, p)

    @b.Constraint(T)
    def level_balance(b, t):
        # level[t] = keep * level[t-1] + dt_h * (eta_c * charge[t] - discharge[t] / eta_d)
        terms = [
            (1.0, b.level_kwh[t]),
            (-dt_h * p.efficiency_charge, b.charge_kw[t]),
            (dt_h / p.efficiency_discharge, b.discharge_kw[t]),
        ]
        if t == 0:
            return linear_sum(terms) == keep * initial
        return linear_sum([*terms, (-keep, b.level_kwh[t - 1])]) == 0

    requirement = Requirement(
        asset.name,
        "level below its terminal minimum",
        "kWh",
        ((T.last(), T.last() + 1),),
        None,
        p.limit_penalty_eur_per_kwh,
    )
    short = asset.shortfall(b, ctx, requirement) if soft else {0: 0.0}
    b.level_terminal = pyo.Constraint(expr=b.level_kwh[T.last()] + short[0] >= terminal)
    if p.no_simultaneous:
        _add_no_simultaneous(asset, b, ctx, p)


def _add_level(
    asset: Asset, b: pyo.Block, ctx: BuildContext, p: StorageParams
) -> tuple[pyo.Param, pyo.Param, bool]:
    """Level at a fixed capacity: limits as bounds (or priced rows in soft mode),
    initial and terminal levels as mutable parameters; returns those and ``soft``."""
    T = b.model().T
    low, high = p.soc_min_frac * p.capacity_kwh, p.soc_max_frac * p.capacity_kwh
    soft = needs_soft_limits(asset.name, p, ctx)
    if soft:  # physically empty to full; the level limits as priced rows
        b.level_kwh = pyo.Var(T, bounds=(0.0, p.capacity_kwh))
        name, penalty = "level outside its limits", p.limit_penalty_eur_per_kwh
        requirement = held(asset.name, name, "kWh", penalty, ctx.dt_h, ctx.n_steps)
        asset.soft_band(b, ctx, b.level_kwh, (low, high), requirement)
    else:
        b.level_kwh = pyo.Var(T, bounds=(low, high))
    initial = asset.scalar_param(
        b,
        "level_initial_kwh",
        ctx,
        lambda c: c.initial(asset.name, "level_kwh", p.soc_initial_frac * p.capacity_kwh),
    )
    terminal = asset.scalar_param(
        b, "level_terminal_min_kwh", ctx, lambda c: terminal_level_kwh(asset.name, p, c)
    )
    return initial, terminal, soft


def _add_sized_level(
    asset: Asset, b: pyo.Block, ctx: BuildContext, p: StorageParams
) -> tuple[pyo.Expression, pyo.Expression]:
    """Level at a chosen capacity ``b.capacity_kwh`` (a sizing build of one period).

    The limits are rows, ``soc_min_frac * capacity_kwh <= level_kwh[t] <=
    soc_max_frac * capacity_kwh`` (``level_kwh_low``, ``level_kwh_high``); the
    initial level is ``soc_initial_frac * capacity_kwh`` unless the state carries
    one, the terminal level ``soc_terminal_min_frac`` (default: initial) times the
    capacity, or the lower limit when the period continues (``ctx.free_end``):
    all linear in the capacity.
    """
    if ctx.open_end:
        msg = f"asset {asset.name!r}: a sized capacity_kwh needs one period, not a rolling window"
        raise ModelBuildError(msg)
    T = b.model().T
    cap = asset.capacity(b, ctx, "capacity_kwh")
    b.level_kwh = pyo.Var(
        T, bounds=(0.0, p.soc_max_frac * asset.capacity_upper(ctx, "capacity_kwh"))
    )
    b.level_kwh_low = pyo.Constraint(T, rule=lambda b, t: b.level_kwh[t] >= p.soc_min_frac * cap)
    b.level_kwh_high = pyo.Constraint(T, rule=lambda b, t: b.level_kwh[t] <= p.soc_max_frac * cap)
    carried = ctx.state.get(asset.name, {}).get("level_kwh")
    start = p.soc_initial_frac * cap if carried is None else float(carried)
    b.level_initial_kwh = pyo.Expression(expr=start)
    frac = p.soc_initial_frac if p.soc_terminal_min_frac is None else p.soc_terminal_min_frac
    end = p.soc_min_frac * cap if ctx.free_end else frac * cap
    b.level_terminal_min_kwh = pyo.Expression(expr=end)
    return b.level_initial_kwh, b.level_terminal_min_kwh


def _add_no_simultaneous(asset: Asset, b: pyo.Block, ctx: BuildContext, p: StorageParams) -> None:
    """Binary ``is_charging``: never charge and discharge in the same interval.

    The big-M of each direction is its capacity's upper value (the fixed rating,
    or a sized one's ``max``); the rows ``*_capacity`` hold the chosen rating.
    """
    T = b.model().T
    charge_m = asset.capacity_upper(ctx, "charge_max_kw")
    discharge_m = asset.capacity_upper(ctx, discharge_key(asset, ctx, p))
    b.is_charging = pyo.Var(T, domain=pyo.Binary)
    b.charge_only = pyo.Constraint(
        T, rule=lambda b, t: b.charge_kw[t] <= charge_m * b.is_charging[t]
    )
    b.discharge_only = pyo.Constraint(
        T, rule=lambda b, t: b.discharge_kw[t] <= discharge_m * (1 - b.is_charging[t])
    )


class StorageAsset(Asset):
    """Base of storage kinds: dispatch columns and carried state."""

    legend_section = "storage"

    params: StorageParams
    process = "storage"
    carries_state = True
    #: power_kw positive = discharge (energy out of the store), negative = charge;
    #: soc_target_frac at the interval end
    setpoints = {
        "power_kw": difference_setpoint("discharge_kw", "charge_kw"),
        "soc_target_frac": column_setpoint("soc_frac", FINE_DECIMALS),
    }
    quantities = {
        "soc_frac": QuantitySpec(
            fixed_bounds(0.0, 1.0),
            "state of charge [frac]",
            to_state=lambda p, value, _at, _c: {"level_kwh": float(value) * p.capacity_kwh},
        ),
        "level_kwh": QuantitySpec(
            lambda p: (0.0, p.capacity_kwh),
            "stored energy [kWh]",
            to_state=lambda _p, value, _at, _c: {"level_kwh": float(value)},
        ),
    }

    def extract(self, b: pyo.Block, ctx: BuildContext) -> pd.DataFrame:
        """Charge, discharge, level and its fraction of capacity."""
        n = ctx.n_steps
        level = values(b.level_kwh, n)
        capacity = self.capacity_value("capacity_kwh")  # 0 where sizing chose no store
        soc = level / capacity if capacity > 0 else np.zeros(n)
        return pd.DataFrame(
            {
                "charge_kw": values(b.charge_kw, n),
                "discharge_kw": values(b.discharge_kw, n),
                "level_kwh": level,
                "soc_frac": soc,
            },
            index=ctx.index,
        )

    def end_conditions(self, b: pyo.Block, ctx: BuildContext) -> dict[str, float]:
        """The lowest level this window must end at [kWh], for a re-plan to the same end."""
        return {"level_end_min_kwh": float(pyo.value(b.level_terminal_min_kwh))}

    def final_state(self, b: pyo.Block, ctx: BuildContext, steps: int) -> dict[str, float]:
        """Level after the first ``steps`` intervals [kWh]."""
        return {"level_kwh": float(np.clip(pyo.value(b.level_kwh[steps - 1]), 0.0, None))}

    def structure_key(self, ctx: BuildContext) -> bool:
        """Whether the level limits are priced rows (soft mode, a level beyond them)."""
        return needs_soft_limits(self.name, self.params, ctx)

    def plan_setpoints(self, b: pyo.Block, columns: list[str]) -> dict[str, str]:
        """A plan tells a storage when to charge and discharge (the level follows)."""
        return {"charge_kw": "charge_kw", "discharge_kw": "discharge_kw"}

    def apply_baseline(self, b: pyo.Block, ctx: BuildContext) -> None:
        """Idle store: charge = discharge = 0 at every step.

        The level keeps its initial value less standing losses, so the lower
        level bound and the terminal level are lifted (an idle store is not
        topped up to hold them).
        """
        for t in b.model().T:
            b.charge_kw[t].fix(0.0)
            b.discharge_kw[t].fix(0.0)
            b.level_kwh[t].setlb(0.0)
        b.level_terminal.deactivate()
        if b.component("level_kwh_low") is not None:  # soft mode: the priced lower limit
            b.level_kwh_low.deactivate()
