"""Dry room: desiccant-wheel dehumidification held inside a dew-point band.

The state is the water held in the room air, ``moisture_kg[t]`` (end of
interval; the initial value is carried from the previous window as
``moisture_kg``)::

    air_kg            = floor_area_m2 * height_m * air_density_kg_per_m3
    moisture_kg       = air_kg * moisture_buffer_factor * w_room
    moisture_kg[t]    = moisture_kg[t-1] + dt_h * (load_kg_per_h[t] - removal_kg_per_h[t])
    moisture_min_kg[t] <= moisture_kg[t] <= moisture_max_kg[t]          (variable bounds)
    0 <= removal_kg_per_h[t] <= removal_max_kg_per_h[t]                 (variable bounds)
    regeneration_heat_kw[t] = regeneration_base_kw * flow_frac[t]
                              + regeneration_heat_kwh_per_kg * removal_kg_per_h[t]
    moisture_kg[last] <= moisture_setpoint_kg[last]          (terminal_at_setpoint)

The band comes from dew points: ``w(dp)`` is the humidity ratio of air with
dew (frost) point ``dp`` at the outdoor pressure (psychrolib). The upper limit
and the set point relax in set-back (non-production) intervals; the lower
limit does not. ``removal_kg_per_h`` is the only decision: the wheel may
pre-dry the room before expensive hours but never leaves the band. The base
regeneration heat (regeneration air and rotor matrix kept at temperature,
whatever the water load) is not dispatchable; ``flow_frac`` is 1 in production
and ``setback.flow_frac`` outside it.

Moisture loads [kg/h], with ``w_set[t]`` the set-point humidity ratio::

    makeup       = rho * makeup_m3_per_h[t] * (w_coil[t] - w_set[t])
    infiltration = rho * infiltration_m3_per_h * (w_out[t] - w_set[t])
    people       = people[t] * water_per_person_kg_per_h
    process      = process_moisture_kg_per_h

Linearisation: the make-up and infiltration loads use ``w_set`` instead of the
actual room humidity ratio, so the load is a parameter per interval. The error
is at most ``(w_upper - w_set) / (w_out - w_set)``, e.g. 0.02 g/kg against
outdoor air with 2 g/kg or more: about 1 %.

Make-up air is pre-cooled on a chilled-water coil before the wheel when the
outdoor air is warmer than the coil leaving temperature ``T_lv`` or more humid
than saturation at it; it leaves at ``min(T_out, T_lv)`` with
``w_coil = min(w_out, w_sat(T_lv))``. Coil duty and condensate::

    precool_kw[t]        = rho * makeup_m3_per_h[t] * max(0, h(T_out, w_out) - h(T_leave, w_coil))
    coil_water_kg_per_h  = rho * makeup_m3_per_h[t] * (w_out - w_coil)

with ``h`` the moist-air enthalpy (psychrolib). An optional pre-heater on
``preheat_carrier`` warms colder make-up air to ``preheat_to_degc``. Fans draw
``fan_power_kw`` or ``supply_m3_per_h[t] * fan_pressure_pa / fan_efficiency_frac``.
In set-back intervals supply and make-up flows, the wheel capacity and the base
regeneration heat scale by ``setback.flow_frac``. ``rho`` is
``air_density_kg_per_m3``. A ``regeneration_heat_max_kw`` rating limits the
removal to ``(regeneration_heat_max_kw - base) / regeneration_heat_kwh_per_kg``.

At build (and on every refresh) the band is checked against the wheel: from
the initial moisture, the wheel at full capacity must keep the room below the
upper limit in every interval. Otherwise :class:`~energyopt.errors.ModelBuildError`
names the first failing interval, its load and the capacity.

Soft mode (``ctx.soft_limits``, the service's planning): that check is a
pre-check finding instead, and the upper limit holds up to priced water above
it (a room measured wet after a door stood open, a wheel short of capacity on
a humid day)::

    moisture_kg[t] - above[t] <= moisture_max_kg[t]

at ``above_band_penalty_eur_per_kg_h`` (default 1,000 EUR per kg h; water
above the band risks scrap in cell assembly, an assumption; removing a kg
takes ``regeneration_heat_kwh_per_kg``, a few kWh). The terminal set point may
be missed at that price per kg. The lower limit stays a bound (the wheel
cannot dry further), lowered only where a room measured drier than it cannot
reach it with the wheel off (``moisture_floor_kg``).

Defaults (20 GWh/a plant context: about 30,000 m2 of dry rooms, i.e. six rooms
like this one; ACC 20,000 m2 for 13.4 GWh/a, plant reference sections 1 and 6):

* 5,000 m2 x 3 m room; 290,000 m3/h supply air (19 air changes per hour): the
  Vogt et al. dataset (J. Clean. Prod. 370 (2022) 133512; 99,000 m3/h supply,
  1.1-1.4 MW on average) scaled to the 1.5-2 million m3/h that ~30,000 m2 of
  dry rooms of a 20 GWh/a plant need (plant reference 2.1 and 6); dry-room
  energy scales almost linearly with the supply flow (Vogt et al.).
* make-up air 30 % of the supply: pilot dry room of Vogt, Buchholz et al.,
  J. Clean. Prod. 350 (2022) 131354, code github.com/HVAC-in-industry/HVAC-control-schemes
  (3,250 of 11,000 m3/h fresh).
* dew points -50 degC set point, -45 degC upper, -60 degC lower: practice ranges
  (greenengguide, cleanroomtechnology; Vogt: -60 degC process air), plant reference 2.1.
* people 0.113 kg water/h each: MDPI Appl. Sci. 16(13) 6732 and the Vogt code
  constant; 30 people on shift [assumption].
* regeneration 1.4 kWh_th per kg water: engineering estimate 0.8-1.4, deep dew
  points at the upper end (plant reference 2.1, [D]); the pilot map of the
  Vogt/Buchholz code gives 20-125 kW for 20-40 l/h (1.0-3.1 kWh/kg, never
  below 20 kW).
* base regeneration 900 kW_th [D]: the Vogt dataset's regeneration-heater peak
  of 0.55-0.73 MW at 99,000 m3/h, scaled to 290,000 m3/h (1.6-2.1 MW; 10-14 MW
  for the plant, reference section 6), less the per-kg part at the summer peak
  (1.4 x ~620 kg/h = 0.87 MW).
* wheel 800 kg/h: [D] summer load at the coil leaving state (87,000 m3/h x
  1.2 kg/m3 x 5.8 g/kg) plus infiltration and people, ~620 kg/h, and ~30 % margin.
* coil leaving 6 degC saturated: design chain in plant reference 2.1.
* fans 1,800 Pa at 70 % efficiency (Vogt et al. 2022): 207 kW at 290,000 m3/h.
* infiltration 750 m3/h, 0.05 air changes per hour [assumption, tight room
  with airlocks]; air density 1.2 kg/m3 (plant reference 2.1 water-load table).
* the room air holds only ~0.7 kg of water across the band, seconds of load:
  ``moisture_buffer_factor`` > 1 adds hygroscopic buffering of the envelope and
  the wheel, for which no measured time constant was found (plant reference 7.3).

With these defaults one room draws ~1.8 MW_th of regeneration heat, ~1.5 MW of
coil cooling and 0.2 MW for fans on a humid summer day (~1.45 MW_th in winter):
six rooms with a gas boiler and a water-cooled chiller come to ~5-6 kWh of
final energy per kWh of cells at 20 GWh/a, near the 6-10 kWh/kWh the plant
reference (section 1) gives for dry rooms.

Examples
--------
YAML::

    - type: dry_room
      name: assembly_dry_room
      floor_area_m2: 5000
      height_m: 3
      setpoint_dew_point_degc: -50
      upper_dew_point_degc: -45
      supply_air_m3_per_h: 290000
      makeup_air_frac: 0.3
      wheel_capacity_kg_per_h: 800
      regeneration_heat_kwh_per_kg: 1.4
      regeneration_base_kw: 900
      heat_carrier: heat_ht
      calendar: {weekly: [{start: "mon 06:00", end: "sat 06:00"}]}
      setback: {setpoint_dew_point_degc: -40, upper_dew_point_degc: -35, flow_frac: 0.5}
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pydantic import BaseModel, ConfigDict, Field, model_validator

from energyopt.assets._process import ProcessAsset, net_injections
from energyopt.assets.base import (
    AssetParams,
    AssetTerms,
    BuildContext,
    carrier_field,
    register,
    values,
)
from energyopt.assets.declarations import (
    FINE_DECIMALS,
    QuantitySpec,
    StateContext,
    column_setpoint,
    fixed_bounds,
)
from energyopt.assets.requirements import Requirement, held
from energyopt.errors import ModelBuildError
from energyopt.inputs.production import ProductionCalendar, in_production
from energyopt.inputs.timeseries import fmt_time
from energyopt.inputs.weather import (
    dew_point_degc,
    humidity_ratio_at_dew_point,
    humidity_ratio_at_dew_points,
    humidity_ratio_kg_per_kg,
    moist_air_enthalpy_j_per_kg,
)
from energyopt.model.flat import linear_sum
from energyopt.units import J_PER_KWH

#: room dry-bulb temperature used only to bound dew points on display [degC]
ROOM_TEMP_DEGC = 20.0
#: tolerance of the band check [kg]
BAND_TOL_KG = 1e-9
#: baseline penalties on moisture above / below the set point [EUR per kg and hour]
BASELINE_ABOVE_EUR_PER_KG_H = 1_000.0
BASELINE_BELOW_EUR_PER_KG_H = 10.0


class DryRoomSetback(BaseModel):
    """Economy mode in non-production intervals (Vogt et al. 2022: weekend mode)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    setpoint_dew_point_degc: float = Field(-40.0, description="[degC]")
    upper_dew_point_degc: float = Field(-35.0, description="[degC]")
    flow_frac: float = Field(0.5, gt=0, le=1, description="supply/make-up flow share [frac]")


class DryRoomParams(AssetParams):
    """Dry-room parameters (see the module docstring for maths and sources)."""

    type: Literal["dry_room"]
    process: str = Field("dry_room", description="process group for per-process KPIs")
    floor_area_m2: float = Field(5000.0, gt=0, description="[m2]")
    height_m: float = Field(3.0, gt=0, description="[m]")
    air_density_kg_per_m3: float = Field(1.2, gt=0, description="[kg/m3]")
    moisture_buffer_factor: float = Field(
        1.0, ge=1, description="effective water storage over that of the room air [-]"
    )
    setpoint_dew_point_degc: float = Field(-50.0, description="[degC]")
    upper_dew_point_degc: float = Field(-45.0, description="[degC]")
    lower_dew_point_degc: float = Field(-60.0, description="[degC]")
    supply_air_m3_per_h: float = Field(290_000.0, gt=0, description="[m3/h]")
    makeup_air_frac: float = Field(0.30, ge=0, le=1, description="fresh share of supply [frac]")
    infiltration_m3_per_h: float = Field(750.0, ge=0, description="outdoor air leaking in [m3/h]")
    people: float = Field(30.0, ge=0, description="people in the room in production [-]")
    people_off_shift: float = Field(0.0, ge=0, description="people outside production [-]")
    water_per_person_kg_per_h: float = Field(0.113, ge=0, description="[kg/h]")
    process_moisture_kg_per_h: float = Field(0.0, ge=0, description="[kg/h]")
    wheel_capacity_kg_per_h: float = Field(800.0, gt=0, description="[kg/h]")
    regeneration_heat_kwh_per_kg: float = Field(1.4, gt=0, description="[kWh_th/kg]")
    regeneration_base_kw: float = Field(
        900.0, ge=0, description="regeneration heat whatever the water load [kW_th]"
    )
    regeneration_heat_max_kw: float | None = Field(None, gt=0, description="[kW]")
    heat_carrier: str = carrier_field("heat_ht")
    precool: bool = Field(True, description="pre-cool make-up air on a coil")
    precool_leaving_temp_degc: float = Field(6.0, description="coil leaving, saturated [degC]")
    cooling_carrier: str = carrier_field("cooling")
    preheat_to_degc: float | None = Field(None, description="pre-heat make-up air to [degC]")
    preheat_carrier: str = carrier_field("heat_lt")
    fan_power_kw: float | None = Field(None, ge=0, description="constant fan power [kW]")
    fan_pressure_pa: float = Field(1800.0, gt=0, description="[Pa]")
    fan_efficiency_frac: float = Field(0.70, gt=0, le=1, description="[frac]")
    calendar: ProductionCalendar = ProductionCalendar()
    setback: DryRoomSetback | None = None
    terminal_at_setpoint: bool = Field(True, description="end the window at or below set point")
    above_band_penalty_eur_per_kg_h: float = Field(
        1000.0, ge=0, description="soft mode: price of room water above the band [EUR/(kg h)]"
    )

    @model_validator(mode="after")
    def _band_ordered(self) -> DryRoomParams:
        bands = [("", self.setpoint_dew_point_degc, self.upper_dew_point_degc)]
        if self.setback is not None:
            s = self.setback
            bands.append(("setback.", s.setpoint_dew_point_degc, s.upper_dew_point_degc))
        for prefix, setpoint, upper in bands:
            if not self.lower_dew_point_degc <= setpoint <= upper:
                msg = (
                    f"need lower_dew_point_degc <= {prefix}setpoint_dew_point_degc <= "
                    f"{prefix}upper_dew_point_degc (got {self.lower_dew_point_degc}, "
                    f"{setpoint}, {upper})"
                )
                raise ValueError(msg)
            if self.lower_dew_point_degc == upper:
                raise ValueError(f"{prefix}upper_dew_point_degc must exceed the lower limit")
        return self

    @property
    def storage_air_kg(self) -> float:
        """Room air mass times the buffer factor [kg]."""
        volume = self.floor_area_m2 * self.height_m
        return volume * self.air_density_kg_per_m3 * self.moisture_buffer_factor


@dataclasses.dataclass(frozen=True)
class DryRoomProfile:
    """Per-interval inputs of a dry room (arrays over the window)."""

    is_production: np.ndarray
    humidity_ratio_out: np.ndarray  # [kg/kg]
    moisture_min_kg: np.ndarray
    moisture_max_kg: np.ndarray
    moisture_setpoint_kg: np.ndarray
    load_kg_per_h: np.ndarray
    removal_max_kg_per_h: np.ndarray
    regeneration_base_kw: np.ndarray
    coil_water_kg_per_h: np.ndarray
    precool_kw: np.ndarray
    preheat_kw: np.ndarray
    fan_kw: np.ndarray


def band_kg(p: DryRoomParams, producing: np.ndarray, pressure_pa: np.ndarray) -> tuple:
    """Moisture band and set point per interval [kg]: (minimum, maximum, set point)."""
    setback = p.setback or DryRoomSetback(
        setpoint_dew_point_degc=p.setpoint_dew_point_degc,
        upper_dew_point_degc=p.upper_dew_point_degc,
    )
    setpoint = np.where(producing, p.setpoint_dew_point_degc, setback.setpoint_dew_point_degc)
    upper = np.where(producing, p.upper_dew_point_degc, setback.upper_dew_point_degc)
    kg = p.storage_air_kg
    return (
        kg * humidity_ratio_at_dew_points(p.lower_dew_point_degc, pressure_pa),
        kg * humidity_ratio_at_dew_points(upper, pressure_pa),
        kg * humidity_ratio_at_dew_points(setpoint, pressure_pa),
    )


def makeup_air_treatment(
    p: DryRoomParams, temp_degc: np.ndarray, w_out: np.ndarray, pressure_pa: np.ndarray
) -> tuple:
    """Coil and pre-heater per kg of make-up air.

    Returns (humidity ratio leaving the coil [kg/kg], coil cooling [J/kg],
    condensate [kg/kg], pre-heat [J/kg]).
    """
    h_out = moist_air_enthalpy_j_per_kg(temp_degc, w_out)
    none = np.zeros_like(w_out)
    w_leave, cooling, water = w_out, none, none
    if p.precool:
        t_lv = p.precool_leaving_temp_degc
        w_leave = np.minimum(w_out, humidity_ratio_at_dew_points(t_lv, pressure_pa))
        h_leave = moist_air_enthalpy_j_per_kg(np.minimum(temp_degc, t_lv), w_leave)
        cooling = np.maximum(h_out - h_leave, 0.0)
        water = w_out - w_leave
    heating = none
    if p.preheat_to_degc is not None:
        h_warm = moist_air_enthalpy_j_per_kg(np.maximum(temp_degc, p.preheat_to_degc), w_out)
        heating = np.maximum(h_warm - h_out, 0.0)
    return w_leave, cooling, water, heating


def dry_room_profile(
    p: DryRoomParams,
    producing: np.ndarray,
    temp_degc: np.ndarray,
    rh_frac: np.ndarray,
    pressure_pa: np.ndarray,
) -> DryRoomProfile:
    """All per-interval loads, limits and auxiliary demands of a dry room."""
    flow = np.where(producing, 1.0, p.setback.flow_frac if p.setback else 1.0)
    supply_m3_per_h = p.supply_air_m3_per_h * flow
    makeup_kg_per_h = p.air_density_kg_per_m3 * p.makeup_air_frac * supply_m3_per_h
    w_out = humidity_ratio_kg_per_kg(temp_degc, rh_frac, pressure_pa)
    w_coil, cooling_j, water, heating_j = makeup_air_treatment(p, temp_degc, w_out, pressure_pa)
    low, high, setpoint = band_kg(p, producing, pressure_pa)
    w_set = setpoint / p.storage_air_kg
    people = np.where(producing, p.people, p.people_off_shift)
    load = (
        makeup_kg_per_h * (w_coil - w_set)
        + p.air_density_kg_per_m3 * p.infiltration_m3_per_h * (w_out - w_set)
        + people * p.water_per_person_kg_per_h
        + p.process_moisture_kg_per_h
    )
    base_kw = p.regeneration_base_kw * flow
    removal_max = p.wheel_capacity_kg_per_h * flow
    if p.regeneration_heat_max_kw is not None:
        spare_kw = np.maximum(p.regeneration_heat_max_kw - base_kw, 0.0)
        removal_max = np.minimum(removal_max, spare_kw / p.regeneration_heat_kwh_per_kg)
    if p.fan_power_kw is not None:
        fan_kw = np.full(len(flow), p.fan_power_kw)
    else:
        fan_kw = supply_m3_per_h * p.fan_pressure_pa / p.fan_efficiency_frac / J_PER_KWH
    return DryRoomProfile(
        is_production=producing,
        humidity_ratio_out=w_out,
        moisture_min_kg=low,
        moisture_max_kg=high,
        moisture_setpoint_kg=setpoint,
        load_kg_per_h=load,
        removal_max_kg_per_h=removal_max,
        regeneration_base_kw=base_kw,
        coil_water_kg_per_h=makeup_kg_per_h * water,
        precool_kw=makeup_kg_per_h * cooling_j / J_PER_KWH,
        preheat_kw=makeup_kg_per_h * heating_j / J_PER_KWH,
        fan_kw=fan_kw,
    )


def first_unholdable(
    profile: DryRoomProfile, initial_kg: float, dt_h: float, terminal_max_kg: float | None = None
) -> int | None:
    """First interval where no removal plan keeps the room in its band, else None.

    Tracks the reachable moisture range: the wheel at full capacity gives the
    lowest reachable level, the wheel off the highest; both are cut to the band.
    With ``terminal_max_kg`` the last interval must also reach that level.
    """
    lowest = highest = initial_kg
    for t in range(len(profile.load_kg_per_h)):
        load = profile.load_kg_per_h[t]
        lowest = max(
            lowest + dt_h * (load - profile.removal_max_kg_per_h[t]), profile.moisture_min_kg[t]
        )
        highest = min(highest + dt_h * load, profile.moisture_max_kg[t])
        if lowest > highest + BAND_TOL_KG:
            return t
    if terminal_max_kg is not None and lowest > terminal_max_kg + BAND_TOL_KG:
        return len(profile.load_kg_per_h) - 1
    return None


def moisture_state(
    p: DryRoomParams, dew_point: float, _at: pd.Timestamp, c: StateContext
) -> dict[str, float]:
    """A measured room dew point as the water held in the room air [kg].

    ``storage_air_kg`` times the humidity ratio of air whose dew (frost) point
    is the reading, at the window's first forecast air pressure.
    """
    return {"moisture_kg": p.storage_air_kg * humidity_ratio_at_dew_point(dew_point, c.pressure_pa)}


@register
class DryRoom(ProcessAsset):
    """Dry room with desiccant-wheel dehumidification."""

    kind = "dry_room"
    process = "dry_room"
    Params = DryRoomParams
    params: DryRoomParams
    carries_state = True
    setpoints = {
        "removal_kg_per_h": column_setpoint("removal_kg_per_h", FINE_DECIMALS),
        "dew_point_target_degc": column_setpoint("dew_point_degc", FINE_DECIMALS),
    }
    quantities = {
        "dew_point_degc": QuantitySpec(
            fixed_bounds(-90.0, 30.0), "room dew (frost) point [degC]", to_state=moisture_state
        ),
    }

    def build(self, b: pyo.Block, ctx: BuildContext) -> AssetTerms:
        p = self.params
        T = b.model().T
        dt_h = ctx.dt_h
        series = {
            name: self.series_param(b, name, ctx, self._field(name))
            for name in (
                "load_kg_per_h",
                "removal_max_kg_per_h",
                "moisture_min_kg",
                "moisture_max_kg",
                "moisture_setpoint_kg",
                "regeneration_base_kw",
            )
        }
        initial = self.scalar_param(b, "moisture_initial_kg", ctx, self._initial)
        if ctx.soft_limits:  # the upper limit as priced rows (see _add_soft_band)
            floor = self.series_param(b, "moisture_floor_kg", ctx, self._floor)
            b.moisture_kg = pyo.Var(T, bounds=lambda b, t: (floor[t], None))
            self._add_soft_band(b, ctx, series)
        else:
            b.moisture_kg = pyo.Var(
                T,
                domain=pyo.NonNegativeReals,
                bounds=lambda b, t: (series["moisture_min_kg"][t], series["moisture_max_kg"][t]),
            )
        b.removal_kg_per_h = pyo.Var(
            T,
            domain=pyo.NonNegativeReals,
            bounds=lambda b, t: (0.0, series["removal_max_kg_per_h"][t]),
        )

        @b.Constraint(T)
        def moisture_balance(b, t):
            # moisture[t] = moisture[t-1] + dt_h * (load[t] - removal[t])
            terms = [(1.0, b.moisture_kg[t]), (dt_h, b.removal_kg_per_h[t])]
            load = dt_h * series["load_kg_per_h"][t]
            if t == 0:
                return linear_sum(terms) == load + initial
            return linear_sum([*terms, (-1.0, b.moisture_kg[t - 1])]) == load

        if p.terminal_at_setpoint:
            late = self.shortfall(
                b,
                ctx,
                Requirement(
                    self.name,
                    "room above its set point at the window's end",
                    "kg",
                    ((T.last(), T.last() + 1),),
                    None,
                    p.above_band_penalty_eur_per_kg_h,  # as if held for an hour
                ),
            )
            b.moisture_terminal = pyo.Constraint(
                expr=b.moisture_kg[T.last()] - late[0] <= series["moisture_setpoint_kg"][T.last()]
            )
        b.regeneration_heat_kw = pyo.Expression(
            T,
            rule=lambda b, t: (
                series["regeneration_base_kw"][t]
                + p.regeneration_heat_kwh_per_kg * b.removal_kg_per_h[t]
            ),
        )
        return AssetTerms(injections=self._injections(b, ctx))

    def _add_soft_band(self, b: pyo.Block, ctx: BuildContext, series: dict) -> None:
        """The band's upper limit with priced water above it [kg per interval]."""
        p = self.params
        name, penalty = "moisture above the dew-point band", p.above_band_penalty_eur_per_kg_h
        requirement = held(self.name, name, "kg", penalty, ctx.dt_h, ctx.n_steps)
        self.soft_band(b, ctx, b.moisture_kg, (None, series["moisture_max_kg"]), requirement)

    def _floor(self, ctx: BuildContext) -> np.ndarray:
        """Soft mode's lower limit: the band's, or where a room measured drier than it
        cannot reach it with the wheel off, the wheel-off path [kg]."""
        profile = self.profile(ctx)
        wet_up = self._initial(ctx) + np.cumsum(profile.load_kg_per_h) * ctx.dt_h
        return np.minimum(profile.moisture_min_kg, wet_up)

    def _injections(self, b: pyo.Block, ctx: BuildContext) -> dict:
        """Draws per carrier: regeneration heat, coil cooling, pre-heat, fans [kW]."""
        p = self.params
        draws = [
            (p.heat_carrier, -1.0, b.regeneration_heat_kw),
            ("electricity", -1.0, self.series_param(b, "fan_kw", ctx, self._field("fan_kw"))),
        ]
        if p.precool:
            precool = self.series_param(b, "precool_kw", ctx, self._field("precool_kw"))
            draws.append((p.cooling_carrier, -1.0, precool))
        if p.preheat_to_degc is not None:
            preheat = self.series_param(b, "preheat_kw", ctx, self._field("preheat_kw"))
            draws.append((p.preheat_carrier, -1.0, preheat))
        return net_injections(b.model().T, draws)

    # ---- inputs -------------------------------------------------------------------

    def profile(self, ctx: BuildContext) -> DryRoomProfile:
        """Per-interval inputs for ``ctx``, validated against the wheel capacity."""
        return self.cached(ctx, self._compute_profile)

    def _compute_profile(self, ctx: BuildContext) -> DryRoomProfile:
        producing = in_production(ctx.index, ctx.site.timezone, self.params.calendar)
        profile = dry_room_profile(
            self.params,
            producing,
            ctx.column("temp_air_degc", self.name),
            ctx.column("relative_humidity_frac", self.name),
            ctx.column("pressure_pa", self.name),
        )
        problem = self._unholdable(profile, ctx)
        if problem is not None and not ctx.soft_limits:
            raise ModelBuildError(problem)
        return profile

    def prechecks(self, ctx: BuildContext) -> tuple[str, ...]:
        """The first interval where the wheel cannot hold the band, if any."""
        problem = self._unholdable(self.profile(ctx), ctx)
        return () if problem is None else (problem,)

    def _field(self, name: str):
        return lambda ctx: getattr(self.profile(ctx), name)

    def _initial(self, ctx: BuildContext) -> float:
        default = float(self.profile(ctx).moisture_setpoint_kg[0])
        return ctx.initial(self.name, "moisture_kg", default)

    def _unholdable(self, profile: DryRoomProfile, ctx: BuildContext) -> str | None:
        """Why the wheel cannot hold the band from the initial moisture; None if it can."""
        p = self.params
        initial = ctx.initial(self.name, "moisture_kg", float(profile.moisture_setpoint_kg[0]))
        if initial < 0:
            msg = f"asset {self.name!r}: initial moisture_kg={initial} is negative"
            raise ModelBuildError(msg)
        terminal = profile.moisture_setpoint_kg[-1] if p.terminal_at_setpoint else None
        failing = first_unholdable(profile, initial, ctx.dt_h, terminal)
        if failing is None:
            return None
        load = profile.load_kg_per_h
        worst = int(np.argmax(load - profile.removal_max_kg_per_h))
        return (
            f"asset {self.name!r}: the desiccant wheel cannot hold the dew-point band at "
            f"{fmt_time(ctx.index[failing])}: moisture load {load[failing]:.1f} kg/h against "
            f"a removal capacity of {profile.removal_max_kg_per_h[failing]:.1f} kg/h "
            f"(wheel_capacity_kg_per_h={p.wheel_capacity_kg_per_h}, "
            f"regeneration_heat_max_kw={p.regeneration_heat_max_kw}); the worst interval is "
            f"{fmt_time(ctx.index[worst])} with {load[worst]:.1f} kg/h"
        )

    # ---- results ------------------------------------------------------------------

    def extract(self, b: pyo.Block, ctx: BuildContext) -> pd.DataFrame:
        """Moisture state and band, removal, loads and auxiliary draws."""
        n = ctx.n_steps
        profile = self.profile(ctx)
        moisture = values(b.moisture_kg, n)
        pressure = ctx.column("pressure_pa", self.name)
        ratio = np.maximum(moisture, 0.0) / self.params.storage_air_kg
        return pd.DataFrame(
            {
                "moisture_kg": moisture,
                "moisture_min_kg": values(b.moisture_min_kg, n),
                "moisture_max_kg": values(b.moisture_max_kg, n),
                "moisture_setpoint_kg": values(b.moisture_setpoint_kg, n),
                "dew_point_degc": dew_point_degc(ratio, pressure, ROOM_TEMP_DEGC),
                "load_kg_per_h": values(b.load_kg_per_h, n),
                "removal_kg_per_h": values(b.removal_kg_per_h, n),
                "removal_max_kg_per_h": values(b.removal_max_kg_per_h, n),
                "regeneration_heat_kw": values(b.regeneration_heat_kw, n),
                "coil_water_kg_per_h": profile.coil_water_kg_per_h,
                "precool_kw": profile.precool_kw if self.params.precool else np.zeros(n),
                "preheat_kw": profile.preheat_kw,
                "fan_kw": values(b.fan_kw, n),
                "humidity_ratio_out_kg_per_kg": profile.humidity_ratio_out,
                "is_production": profile.is_production.astype(float),
            },
            index=ctx.index,
        )

    def final_state(self, b: pyo.Block, ctx: BuildContext, steps: int) -> dict[str, float]:
        """Water in the room air after the first ``steps`` intervals [kg]."""
        return {"moisture_kg": float(max(pyo.value(b.moisture_kg[steps - 1]), 0.0))}

    def apply_baseline(self, b: pyo.Block, ctx: BuildContext) -> pyo.Expression:
        """Rule-based operation: the wheel's controller holds the set point.

        The moisture follows the set point wherever the wheel can; where the set
        point moves faster than the load or the wheel allows (into and out of
        set-back), it approaches it as fast as possible. Returns the penalty on
        the deviation [EUR] per kg and hour: ``BASELINE_ABOVE_EUR_PER_KG_H``
        above the set point (too humid), far more than ``BASELINE_BELOW_EUR_PER_KG_H``
        below it, so the room never runs wetter early to shorten a later rise,
        and drying early for cheaper heat pays only at spreads above ~7 EUR/kWh.
        """
        T = b.model().T
        b.baseline_above_kg = pyo.Var(T, domain=pyo.NonNegativeReals)
        b.baseline_below_kg = pyo.Var(T, domain=pyo.NonNegativeReals)
        b.baseline_tracking = pyo.Constraint(
            T,
            rule=lambda b, t: (
                b.moisture_kg[t] - b.moisture_setpoint_kg[t]
                == b.baseline_above_kg[t] - b.baseline_below_kg[t]
            ),
        )
        deviation = sum(
            BASELINE_ABOVE_EUR_PER_KG_H * b.baseline_above_kg[t]
            + BASELINE_BELOW_EUR_PER_KG_H * b.baseline_below_kg[t]
            for t in T
        )
        b.baseline_penalty_eur = pyo.Expression(expr=ctx.dt_h * deviation)
        return b.baseline_penalty_eur

    def plan_setpoints(self, b: pyo.Block, columns: list[str]) -> dict[str, str]:
        """The planned moisture (dew point) is the setpoint; the wheel follows the actual load."""
        return {"moisture_kg": "moisture_kg"} if "moisture_kg" in columns else {}

    def kpis(self, dispatch: pd.DataFrame, ctx: BuildContext) -> dict[str, float]:
        """Water removed by wheel and coil [kg] and regeneration heat [kWh_th]."""
        totals = {
            "water_removed_wheel_kg": "removal_kg_per_h",
            "water_removed_coil_kg": "coil_water_kg_per_h",
            "regeneration_heat_kwh": "regeneration_heat_kw",
        }
        return {
            f"{self.name}.{key}": float(dispatch[f"{self.name}.{column}"].sum() * ctx.dt_h)
            for key, column in totals.items()
        }
