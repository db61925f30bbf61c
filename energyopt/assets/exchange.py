"""Exchange with neighbouring industry: one contract per asset.

A contract has a ``direction`` (``import``: the plant buys, ``export``: the
plant sells) and a ``carrier``: an energy carrier (flows in kW, volumes in
kWh, prices in EUR/MWh) or a material such as recovered NMP solvent (flows in
kg/h, volumes in kg, prices in EUR/kg). Field names carry the unit, so an
energy contract uses ``capacity_kw``, ``price_eur_per_mwh``, ``daily_min_kwh``
and a material contract ``capacity_kg_per_h``, ``price_eur_per_kg``,
``daily_min_kg``. Variables and constraints::

    0 <= flow[t] <= available[t]
    available[t] = min(capacity, availability_scale * availability_series[t])

Dispatch columns: ``received_kw`` and ``delivered_kw`` (``_kg_per_h`` for
materials; the one against the direction is zero), ``available_kw``,
``price_eur_per_kwh`` (or ``_per_kg``) and, with a daily minimum,
``shortfall_kwh`` (``_kg``) at the last interval of each local day.

Import injects ``+flow`` into the carrier's balance and costs
``sum(flow * dt_h * price[t])`` (category ``exchange``) and
``sum(flow * dt_h * co2)`` kg CO2; export injects ``-flow`` and earns the same
sum (category ``revenue``, negative).

Take-or-pay (optional ``daily_min_kwh`` / ``daily_min_kg`` per local day):
the partner is owed at least that volume each day. With ``daily_min_mode:
pay`` (the default, a take-or-pay or deliver-or-pay clause) a shortfall is
paid at ``shortfall_price`` (default: the contract price, i.e. an importer
pays for the minimum whether it takes it or not)::

    volume[d] + shortfall[d] >= required[d],  shortfall[d] >= 0
    cost (category exchange) = shortfall_price * sum_d shortfall[d]

With ``daily_min_mode: take`` the minimum is a hard limit (``shortfall = 0``);
in soft mode (``ctx.soft_limits``, the service's planning) a take minimum the
plant cannot meet is a named violation priced at ``shortfall_price``
(category ``violation``, reported over the window).
``required[d]`` is the minimum less what was already taken on day ``d``
before the window (the carried ``used_today``); a day that ends after the
window has no requirement in it (the next window sees the rest of that day).
Without a carried state a day the window enters part-way counts the minimum
pro rata to its remaining hours. Day membership is a mutable 0/1 table, so
the structure depends only on the window length.

Temperature levels: a heat import's ``supply_temp_degc`` (what the partner
delivers) must reach the low end of the carrier's nominal range, and a heat
export's ``supply_temp_min_degc`` (what the partner needs, e.g. a
district-heating supply temperature) must not exceed its high end
(``CARRIER_TEMPERATURES_DEGC``: heat_ht 120-180 degC, heat_lt 40-90 degC).

Real cases behind the kinds (battery-plant reference, sites and neighbours):
Skelleftea Kraft supplies Northvolt Ett with district heat, steam and cooling
water and takes waste heat back; Stadtwerke Heide signed a letter of intent
for 20-40 MW of Northvolt Drei waste heat; the Dunkirk district-heating
network buys ArcelorMittal waste heat "15-20 % cheaper than gas/oil"; CATL
Debrecen takes treated grey water from the local utility. NMP trades at about
2,800-4,200 USD/t (a low-quality market source).

Example::

    - type: exchange
      name: district_heat
      direction: export
      carrier: heat_lt
      capacity_kw: 20000
      price_eur_per_mwh: 25
      supply_temp_min_degc: 80
      daily_min_kwh: 200000
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pydantic import Field, model_validator

from energyopt.assets.base import (
    CARRIER_TEMPERATURES_DEGC,
    CARRIERS,
    Asset,
    AssetParams,
    AssetTerms,
    BuildContext,
    register,
    series_field,
    values,
)
from energyopt.assets.requirements import Requirement
from energyopt.errors import ModelBuildError
from energyopt.inputs.production import day_index, window_days
from energyopt.inputs.timeseries import index_step
from energyopt.units import KWH_PER_MWH

_ENERGY_FIELDS = (
    "capacity_kw",
    "price_eur_per_mwh",
    "co2_kg_per_kwh",
    "daily_min_kwh",
    "shortfall_price_eur_per_mwh",
)
_MATERIAL_FIELDS = (
    "capacity_kg_per_h",
    "price_eur_per_kg",
    "co2_kg_per_kg",
    "daily_min_kg",
    "shortfall_price_eur_per_kg",
)


class ExchangeParams(AssetParams):
    """Contract parameters; energy carriers use the kW/kWh/MWh fields, materials the kg ones."""

    type: Literal["exchange"]
    direction: Literal["import", "export"]
    carrier: str = Field(description="energy carrier or material (kg) exchanged")
    capacity_kw: float | None = Field(None, gt=0, description="contract capacity [kW]")
    capacity_kg_per_h: float | None = Field(None, gt=0, description="contract capacity [kg/h]")
    availability_series: str | None = series_field(
        description="site series: what the partner offers or takes [kW or kg/h]"
    )
    availability_scale: float = Field(1.0, ge=0, description="factor on the series [-]")
    price_eur_per_mwh: float | None = Field(None, description="energy price [EUR/MWh]")
    price_eur_per_kg: float | None = Field(None, description="material price [EUR/kg]")
    price_series: str | None = series_field(
        description="site series with the price [EUR/MWh, or EUR/kg for materials]"
    )
    co2_kg_per_kwh: float | None = Field(None, ge=0, description="imported energy [kg/kWh]")
    co2_kg_per_kg: float | None = Field(None, ge=0, description="imported material [kg/kg]")
    supply_temp_degc: float | None = Field(
        None, description="heat import: temperature the partner delivers [degC]"
    )
    supply_temp_min_degc: float | None = Field(
        None, description="heat export: lowest supply temperature the partner accepts [degC]"
    )
    daily_min_kwh: float | None = Field(None, gt=0, description="owed per local day [kWh]")
    daily_min_kg: float | None = Field(None, gt=0, description="owed per local day [kg]")
    daily_min_mode: Literal["pay", "take"] = Field(
        "pay", description="pay: shortfall is paid; take: the minimum is a hard limit"
    )
    shortfall_price_eur_per_mwh: float | None = Field(
        None, ge=0, description="paid per MWh short of the minimum; default contract price"
    )
    shortfall_price_eur_per_kg: float | None = Field(
        None, ge=0, description="paid per kg short of the minimum; default contract price"
    )

    @model_validator(mode="after")
    def _consistent(self) -> ExchangeParams:
        own, other = (
            (_ENERGY_FIELDS, _MATERIAL_FIELDS)
            if self.is_energy
            else (_MATERIAL_FIELDS, _ENERGY_FIELDS)
        )
        kind = "an energy carrier" if self.is_energy else "a material (kg)"
        wrong = [f for f in other if getattr(self, f) is not None]
        if wrong:
            msg = f"{wrong[0]} does not fit carrier {self.carrier!r}, {kind}; use {own[0]} etc."
            raise ValueError(msg)
        capacity, price, co2, daily_min, shortfall = (getattr(self, f) for f in own)
        if capacity is None and self.availability_series is None:
            raise ValueError(f"give {own[0]} or availability_series")
        if (price is None) == (self.price_series is None):
            raise ValueError(f"give exactly one of {own[1]} or price_series")
        if co2 is not None and self.direction == "export":
            raise ValueError(f"{own[2]} applies to imports only")
        if daily_min is None and (shortfall is not None or self.daily_min_mode == "take"):
            raise ValueError(f"{own[4]} and daily_min_mode need {own[3]}")
        self._check_temperatures()
        return self

    def _check_temperatures(self) -> None:
        field = "supply_temp_degc" if self.direction == "import" else "supply_temp_min_degc"
        wrong = "supply_temp_min_degc" if self.direction == "import" else "supply_temp_degc"
        if getattr(self, wrong) is not None:
            raise ValueError(f"{wrong} does not apply to an {self.direction}; use {field}")
        temp = getattr(self, field)
        if temp is None:
            return
        if self.carrier not in CARRIER_TEMPERATURES_DEGC:
            known = ", ".join(CARRIER_TEMPERATURES_DEGC)
            raise ValueError(f"{field} applies to heat carriers ({known}), not {self.carrier!r}")
        low, high = CARRIER_TEMPERATURES_DEGC[self.carrier]
        if self.direction == "import" and temp < low:
            msg = (
                f"{field}={temp} degC is below {self.carrier} ({low:g}-{high:g} degC): "
                "the heat cannot feed that carrier"
            )
            raise ValueError(msg)
        if self.direction == "export" and temp > high:
            better = [c for c, (_, h) in CARRIER_TEMPERATURES_DEGC.items() if h >= temp]
            hint = f"; feed it from {better[0]}" if better else ""
            msg = (
                f"{field}={temp} degC is above what {self.carrier} supplies "
                f"({low:g}-{high:g} degC){hint}"
            )
            raise ValueError(msg)

    @property
    def is_energy(self) -> bool:
        """True for energy carriers (kW), False for materials (kg/h)."""
        return self.carrier in CARRIERS

    @property
    def flow_unit(self) -> str:
        """Unit suffix of flows: ``kw`` or ``kg_per_h``."""
        return "kw" if self.is_energy else "kg_per_h"

    @property
    def amount_unit(self) -> str:
        """Unit suffix of volumes: ``kwh`` or ``kg``."""
        return "kwh" if self.is_energy else "kg"

    def per_unit(self, price: float | np.ndarray | None) -> Any:
        """A price per kWh or per kg from the field's unit (EUR/MWh or EUR/kg)."""
        if price is None:
            return None
        return np.asarray(price, dtype=float) / (KWH_PER_MWH if self.is_energy else 1.0)

    @property
    def capacity(self) -> float | None:
        """Contract capacity [kW or kg/h]."""
        return self.capacity_kw if self.is_energy else self.capacity_kg_per_h

    @property
    def daily_min(self) -> float | None:
        """Minimum per local day [kWh or kg]."""
        return self.daily_min_kwh if self.is_energy else self.daily_min_kg


@register
class Exchange(Asset):
    """A contract with a neighbour: heat, cooling, electricity or material, in or out."""

    legend_section = "neighbours"

    kind = "exchange"
    Params = ExchangeParams
    params: ExchangeParams

    def __init__(self, params: ExchangeParams) -> None:
        super().__init__(params)
        # energy received across the site boundary; exports keep the (zero)
        # received column so their draws count as exports in the plant KPIs
        self.boundary_column = "received_kw" if params.is_energy else None

    def build(self, b: pyo.Block, ctx: BuildContext) -> AssetTerms:
        """Flow within availability, its price and CO2, and the daily minimum."""
        p = self.params
        T = b.model().T
        dt_h = ctx.dt_h
        b.flow = pyo.Var(T, bounds=(0, p.capacity))
        available = self.series_param(b, "available", ctx, self._available)
        price = self.series_param(b, "price", ctx, self._price)
        b.availability_limit = pyo.Constraint(T, rule=lambda b, t: b.flow[t] <= available[t])
        value = dt_h * sum(b.flow[t] * price[t] for t in T)
        costs: dict[str, Any] = {}
        if p.direction == "import":
            b.cost_exchange_eur = pyo.Expression(expr=value)
            co2 = (p.co2_kg_per_kwh if p.is_energy else p.co2_kg_per_kg) or 0.0
            b.co2_kg = pyo.Expression(expr=co2 * dt_h * sum(b.flow[t] for t in T))
            costs["exchange"] = b.cost_exchange_eur
        else:
            b.revenue_eur = pyo.Expression(expr=-value)
            b.co2_kg = pyo.Expression(expr=0.0)
            costs["revenue"] = b.revenue_eur
        if p.daily_min is not None:
            shortfall_cost = self._add_daily_minimum(b, ctx)
            costs["exchange"] = costs.get("exchange", 0.0) + shortfall_cost
        sign = 1.0 if p.direction == "import" else -1.0
        return AssetTerms(
            injections={p.carrier: {t: sign * b.flow[t] for t in T}},
            costs_eur=costs,
            co2_kg=b.co2_kg,
        )

    def _add_daily_minimum(self, b: pyo.Block, ctx: BuildContext) -> Any:
        """Per local-day slot: volume + shortfall >= required; returns the shortfall cost."""
        T = b.model().T
        b.DAYS = pyo.RangeSet(0, day_slots(ctx.n_steps * ctx.dt_h) - 1)
        in_day = self.table_param(b, "in_day", b.DAYS * T, ctx, self._in_day)
        required = self.table_param(b, "required", b.DAYS, ctx, self._required)
        take = self.params.daily_min_mode == "take"
        hard = take and not ctx.soft_limits
        b.shortfall = pyo.Var(b.DAYS, bounds=(0, 0) if hard else (0, None))

        @b.Constraint(b.DAYS)
        def daily_minimum(b, d):
            volume = ctx.dt_h * sum(in_day[d, t] * b.flow[t] for t in T)
            return volume + b.shortfall[d] >= required[d]

        price = self.scalar_param(b, "shortfall_price", ctx, self._shortfall_price)
        if take and ctx.soft_limits:  # a missed hard minimum: a named violation
            unit = "kWh" if self.params.is_energy else "kg"
            spans = tuple((0, ctx.n_steps) for _ in b.DAYS)
            missed = Requirement(self.name, "daily minimum not taken", unit, spans, None, price)
            self.shortfall(b, ctx, missed, var=b.shortfall)
            return 0.0
        b.cost_shortfall_eur = pyo.Expression(expr=price * sum(b.shortfall[d] for d in b.DAYS))
        return b.cost_shortfall_eur

    # ---- inputs -------------------------------------------------------------------

    def _available(self, ctx: BuildContext) -> np.ndarray:
        p = self.params
        capacity = math.inf if p.capacity is None else p.capacity
        if p.availability_series is None:
            return np.full(ctx.n_steps, capacity)
        offered = ctx.column(p.availability_series, self.name) * p.availability_scale
        if (offered < 0).any():
            bad = ctx.index[offered < 0][0]
            msg = f"asset {self.name!r}: negative availability at {bad.isoformat()}"
            raise ModelBuildError(msg)
        return np.minimum(offered, capacity)

    def _price(self, ctx: BuildContext) -> np.ndarray:
        p = self.params
        if p.price_series is not None:
            return p.per_unit(ctx.column(p.price_series, self.name))
        constant = p.price_eur_per_mwh if p.is_energy else p.price_eur_per_kg
        return np.full(ctx.n_steps, p.per_unit(constant))

    def _shortfall_price(self, ctx: BuildContext) -> float:
        p = self.params
        explicit = p.shortfall_price_eur_per_mwh if p.is_energy else p.shortfall_price_eur_per_kg
        if explicit is not None:
            return float(p.per_unit(explicit))
        return float(np.mean(self._price(ctx)))

    def _in_day(self, ctx: BuildContext) -> dict[tuple[int, int], float]:
        table = dict.fromkeys(
            ((d, t) for d in range(day_slots(ctx.n_steps * ctx.dt_h)) for t in range(ctx.n_steps)),
            0.0,
        )
        for d, day in enumerate(window_days(ctx.index, ctx.site.timezone)):
            for t in range(day.first, day.stop):
                table[d, t] = 1.0
        return table

    def _required(self, ctx: BuildContext) -> dict[int, float]:
        assert self.params.daily_min is not None  # only contracts with a daily minimum
        minimum = float(self.params.daily_min)
        required = dict.fromkeys(range(day_slots(ctx.n_steps * ctx.dt_h)), 0.0)
        for d, day in enumerate(window_days(ctx.index, ctx.site.timezone)):
            if not day.ends_after:
                used = self._used_before(ctx, day) if day.starts_before else 0.0
                required[d] = max(minimum - used, 0.0)
        return required

    def _used_before(self, ctx: BuildContext, day) -> float:
        """Volume taken on ``day`` before the window [kWh or kg]."""
        key = f"used_today_{self.params.amount_unit}"
        state = ctx.state.get(self.name)
        if state is not None and state.get("day") == day.date.isoformat():
            return float(state.get(key, 0.0))
        if state is not None and "day" in state:
            msg = (
                f"asset {self.name!r}: carried state is for day {state['day']}, "
                f"the window starts on {day.date.isoformat()}"
            )
            raise ModelBuildError(msg)
        full = day_index(day.date, ctx.site.timezone, index_step(ctx.index))
        elapsed = int((full < ctx.index[0]).sum())
        assert self.params.daily_min is not None  # only contracts with a daily minimum
        return float(self.params.daily_min) * elapsed / len(full)

    # ---- results ------------------------------------------------------------------

    def extract(self, b: pyo.Block, ctx: BuildContext) -> pd.DataFrame:
        """Received, delivered, available, price, and shortfall at each day's end."""
        p = self.params
        n = ctx.n_steps
        flow = values(b.flow, n)
        unit, amount = p.flow_unit, p.amount_unit
        is_import = p.direction == "import"
        frame = {
            f"received_{unit}": flow if is_import else np.zeros(n),
            f"delivered_{unit}": np.zeros(n) if is_import else flow,
            f"available_{unit}": values(b.available, n),
            f"price_eur_per_{amount}": values(b.price, n),
        }
        if p.daily_min is not None:
            shortfall = np.zeros(n)
            for d, day in enumerate(window_days(ctx.index, ctx.site.timezone)):
                shortfall[day.last] = pyo.value(b.shortfall[d])
            frame[f"shortfall_{amount}"] = shortfall
        return pd.DataFrame(frame, index=ctx.index)

    def plan_setpoints(self, b: pyo.Block, columns: list[str]) -> dict[str, str]:
        """The nominated flow of the contract (received or delivered) is its setpoint."""
        p = self.params
        column = f"{'received' if p.direction == 'import' else 'delivered'}_{p.flow_unit}"
        return {column: "flow"} if column in columns else {}

    def final_state(self, b: pyo.Block, ctx: BuildContext, steps: int) -> dict[str, Any]:
        """Volume taken so far on the local day the next window starts in."""
        p = self.params
        if p.daily_min is None:
            return {}
        step = index_step(ctx.index)
        next_start = ctx.index[0] + steps * step
        date = next_start.tz_convert(ctx.site.timezone).date()
        flow = values(b.flow, ctx.n_steps)[:steps]
        dates = np.asarray(ctx.index[:steps].tz_convert(ctx.site.timezone).date)
        used = float(flow[dates == date].sum() * ctx.dt_h)
        first = window_days(ctx.index, ctx.site.timezone)[0]
        if first.date == date and first.starts_before:
            used += self._used_before(ctx, first)
        return {"day": date.isoformat(), f"used_today_{p.amount_unit}": used}


def day_slots(duration_h: float) -> int:
    """Local days a window of ``duration_h`` hours can touch (23 h DST days included)."""
    return math.ceil(duration_h / 23.0) + 1
