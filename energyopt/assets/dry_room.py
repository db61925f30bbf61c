"""Dry room: desiccant-wheel dehumidification held inside a dew-point band.

The state is the water held in the room, ``moisture_kg[t]`` (end of interval;
the initial value is carried from the previous window as ``moisture_kg``). The
room humidity ratio is ``w_room = moisture_kg / storage_air_kg`` with
``storage_air_kg = floor_area_m2 * height_m * air_density_kg_per_m3 *
moisture_buffer_factor``. Make-up and infiltration air bring water in and the
same mass of room air leaves (exhaust and leaks), so the balance depends on the
room's own humidity; solved implicitly over the step::

    moisture_kg[t] = moisture_kg[t-1]
                     + dt_h * (moisture_in[t] - exchange_per_h[t] * moisture_kg[t] - removal[t])
    moisture_in    = m_makeup * w_makeup + m_infiltration * w_out + people * water_per_person
                     + process_moisture_kg_per_h                              [kg/h]
    exchange_per_h = (m_makeup + m_infiltration) / storage_air_kg              [1/h]

so a drier room takes in more water and costs more to hold: the plan dries
ahead of expensive hours but otherwise holds the room no drier than it must.
Band ``moisture_min_kg[t] <= moisture_kg[t] <= moisture_max_kg[t]`` from dew
points (``w(dp)``, psychrolib, at the outdoor pressure); the upper limit and
the set point relax in set-back (non-production) intervals; the lower limit
does not. ``moisture_kg[last] <= moisture_setpoint_kg[last]`` if
``terminal_at_setpoint``.

The air path (pre-heat, pre-cool coil, mixing, wheel, after-cool and reheat,
regeneration) is in :mod:`energyopt.assets.dry_room_air`, which precomputes
its per-interval coefficients from the weather so the rows stay linear::

    0 <= removal_kg_per_h[t] <= removal_max_kg_per_h[t]
    regeneration_heat_kw[t] >= regeneration_min_kw[t]
    regeneration_heat_kw[t] >= regeneration_kwh_per_kg[t] * removal_kg_per_h[t]
    aftercool_kw[t] - reheat_kw[t] = sensible_kw[t] + sorption_heat_kj_per_kg / 3600 * removal[t]
                                     + carryover_frac * regeneration_heat_kw[t]
    0 <= regeneration_electric_kw[t] <= min(regeneration_electric_max_kw, regeneration_heat_kw[t])

Draws: ``heat_carrier`` regeneration heat less the electric heater's share;
``cooling_carrier`` pre-cool plus after-cool; ``preheat_carrier`` winter
pre-heat; ``reheat_carrier`` reheat; electricity for fans, wheel drives and the
electric regeneration heater. After-cool and reheat are both free to run (a
plan pays for both, so it uses one at a time); the pre-cool, pre-heat and fan
draws are parameters of the weather and the production state.

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
takes a few kWh of regeneration heat). The terminal set point may be missed
at that price per kg. The lower limit stays a bound (the wheel cannot dry
further), lowered only where a room measured drier than it cannot reach it
with the wheel off (``moisture_floor_kg``).

Design rules and defaults (a 20 GWh/a plant has ~30,000 m2 of dry rooms, six
rooms like this one; ACC: 20,000 m2 for 13.4 GWh/a, plant reference 1 and 6):

* 5,000 m2 x 3 m at 21 degC; supply air 20 air changes per hour (300,000 m3/h):
  the 1.5-2 million m3/h that ~30,000 m2 of dry rooms of a 20 GWh/a plant need
  (plant reference 2.1 and 6), i.e. 50-67 m3/h per m2; dry-room energy scales
  almost linearly with supply flow (Vogt et al., J. Clean. Prod. 370 (2022)
  133512). ``supply_air_m3_per_h`` overrides the air changes.
* make-up (fresh) air 30 % of the supply: pilot dry room of Vogt, Buchholz et
  al., J. Clean. Prod. 350 (2022) 131354 (3,250 of 11,000 m3/h fresh).
* infiltration 0.05 air changes per hour [assumption: a tight room with airlocks].
* people 6 per 1,000 m2 on shift (30 in 5,000 m2) [assumption], 0.113 kg water/h
  each (MDPI Appl. Sci. 16(13) 6732 and the Vogt code constant); people are the
  main internal moisture source (plant reference 2.1).
* sensible gains 40 W/m2 in production (machines, lighting, people), half of it
  outside production [assumption; typical light-industry process hall loads,
  ASHRAE Fundamentals ch. 18].
* dew points -50 degC set point, -45 degC upper, -60 degC lower: practice ranges
  (greenengguide, cleanroomtechnology; Vogt: -60 degC process air), plant reference 2.1.
* make-up air pre-heated to 5 degC in frost (coil and wheel protection) and
  pre-cooled on a coil to 6 degC saturated: design chain in plant reference 2.1.
* wheel sized for the summer design state (32 degC, 50 % RH, near the ASHRAE
  0.4 % cooling design of central European sites; set a site's own) after the
  coil, room at set point, plus 30 % margin [design rule]; ``wheel_capacity_kg_per_h``
  overrides it.
* heat of sorption 2,800 kJ per kg of water released into the process air
  (silica gel and molecular sieves: 2,500-3,300 kJ/kg, ASHRAE Fundamentals
  ch. 32); 10 % of the regeneration heat carried over into the process air by
  the rotating matrix and purge [assumption; vendor data put the process-air
  temperature rise of deep-dew-point wheels at several K].
* regeneration air: outdoor air heated to 140 degC (conventional wheels run at
  140-180 degC, plant reference 2.1), picking up 20 g of water per kg at the
  design flow [design rule: reactivation air leaves at 40-60 degC with 15-30 g/kg];
  the heater turns down to 50 % of the design flow's duty [assumption: purge and
  matrix temperature need heat whatever the load]. That gives 1.6-2.0 kWh of
  heat per kg of water at 0-20 degC outdoor, against the 0.8-1.4 kWh/kg
  engineering estimate of plant reference 2.1 (deep dew points at the upper
  end) plus the turn-down share.
* fans 1,800 Pa at 70 % efficiency (Vogt et al. 2022), regeneration fan 1,000 Pa
  [assumption]; power as the cube of the flow share in set-back (affinity laws);
  wheel drives 0.5 kW per 100 kg/h of capacity [assumption: rotor motors of
  0.2-1.5 kW per wheel]; they are small against the fans.
* air density 1.2 kg/m3 (plant reference 2.1 water-load table).
* the room air holds only ~0.7 kg of water across the band, seconds of load:
  ``moisture_buffer_factor`` > 1 adds hygroscopic buffering of the envelope and
  the wheel, for which no measured time constant was found (plant reference 7.3).

Published benchmark (``tests/assets/test_dry_room_year.py``): a room sized like
the case of Vogt et al. (2022): 99,000 m3/h, a five-day week with a weekend
economy mode, chiller cooling number 2.5) uses 52 MWh of final energy a year per
1,000 m3/h of supply air at Frankfurt, 55 at Lisbon and 50 at Lulea; Lisbon
needs 70 % more make-up cooling, Lulea six times Frankfurt's winter pre-heat and
far less drying. Published figures span 11 (Ahmed, Nelson and Dees 2016: a
16,000 m3 room at 400 kW, at 20 air changes) to 101-126 (Vogt et al., 22
sites) per 1,000 m3/h. This model sits at about half of Vogt's range: its
regeneration heat matches their heater figures (0.55-0.73 MW peak at
99,000 m3/h, here 0.6 MW), the gap is in cooling and reheat, which their
summary does not break down. :meth:`DryRoom.kpis` reports the design flows and
ratings as ``design_*``.

Examples
--------
YAML::

    - type: dry_room
      name: assembly_dry_room
      floor_area_m2: 5000
      height_m: 3
      air_changes_per_h: 20
      makeup_air_frac: 0.3
      setpoint_dew_point_degc: -50
      upper_dew_point_degc: -45
      heat_carrier: heat_ht
      regeneration_electric_max_kw: 500
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
from pyomo.core.expr.numeric_expr import LinearExpression, MonomialTermExpression

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
from energyopt.assets.dry_room_air import AirPath, RoomDesign, air_path, room_design
from energyopt.assets.requirements import Requirement, held
from energyopt.errors import ModelBuildError
from energyopt.inputs.production import ProductionCalendar, in_production
from energyopt.inputs.timeseries import fmt_time
from energyopt.inputs.weather import (
    dew_point_degc,
    humidity_ratio_at_dew_point,
    humidity_ratio_at_dew_points,
)
from energyopt.model.flat import linear_sum

#: tolerance of the band check [kg]
BAND_TOL_KG = 1e-9
#: baseline penalties on moisture above / below the set point [EUR per kg and hour]
BASELINE_ABOVE_EUR_PER_KG_H = 1_000.0
BASELINE_BELOW_EUR_PER_KG_H = 10.0
#: kJ per kWh
KJ_PER_KWH = 3600.0


class DryRoomSetback(BaseModel):
    """Economy mode in non-production intervals (Vogt et al. 2022: weekend mode)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    setpoint_dew_point_degc: float = Field(-40.0, description="[degC]")
    upper_dew_point_degc: float = Field(-35.0, description="[degC]")
    flow_frac: float = Field(0.5, gt=0, le=1, description="supply/make-up flow share [frac]")


class DryRoomParams(AssetParams):
    """Dry-room parameters (see the module docstring for maths, rules and sources)."""

    type: Literal["dry_room"]
    process: str = Field("dry_room", description="process group for per-process KPIs")
    # --- the room
    floor_area_m2: float = Field(5000.0, gt=0, description="[m2]")
    height_m: float = Field(3.0, gt=0, description="[m]")
    room_temp_degc: float = Field(21.0, ge=10, le=35, description="room dry bulb [degC]")
    air_density_kg_per_m3: float = Field(1.2, gt=0, description="[kg/m3]")
    moisture_buffer_factor: float = Field(
        1.0, ge=1, description="effective water storage over that of the room air [-]"
    )
    setpoint_dew_point_degc: float = Field(-50.0, description="[degC]")
    upper_dew_point_degc: float = Field(-45.0, description="[degC]")
    lower_dew_point_degc: float = Field(-60.0, description="[degC]")
    # --- air flows
    air_changes_per_h: float = Field(20.0, gt=0, description="supply air per room volume [1/h]")
    supply_air_m3_per_h: float | None = Field(
        None, gt=0, description="supply air; overrides air_changes_per_h [m3/h]"
    )
    makeup_air_frac: float = Field(0.30, ge=0, le=1, description="fresh share of supply [frac]")
    infiltration_air_changes_per_h: float = Field(0.05, ge=0, description="[1/h]")
    infiltration_m3_per_h: float | None = Field(
        None, ge=0, description="outdoor air leaking in; overrides the air changes [m3/h]"
    )
    # --- internal loads
    people_per_1000_m2: float = Field(6.0, ge=0, description="people on shift per 1000 m2 [-]")
    people: float | None = Field(None, ge=0, description="people on shift; overrides density")
    people_off_shift: float = Field(0.0, ge=0, description="people outside production [-]")
    water_per_person_kg_per_h: float = Field(0.113, ge=0, description="[kg/h]")
    process_moisture_kg_per_h: float = Field(0.0, ge=0, description="[kg/h]")
    sensible_gains_w_per_m2: float = Field(40.0, ge=0, description="in production [W/m2]")
    sensible_gains_off_shift_frac: float = Field(0.5, ge=0, le=1, description="[frac]")
    # --- design states and the wheel
    design_summer_temp_degc: float = Field(32.0, ge=-30, le=55, description="[degC]")
    design_summer_rh_frac: float = Field(0.5, ge=0, le=1, description="[frac]")
    design_winter_temp_degc: float = Field(-15.0, ge=-60, le=20, description="[degC]")
    wheel_margin_frac: float = Field(0.3, ge=0, description="wheel over design load [frac]")
    wheel_capacity_kg_per_h: float | None = Field(
        None, gt=0, description="water removal; overrides the design rule [kg/h]"
    )
    sorption_heat_kj_per_kg: float = Field(
        2800.0, ge=0, description="released into process air [kJ/kg]"
    )
    carryover_frac: float = Field(
        0.35, ge=0, lt=1, description="regeneration heat carried into process air [frac]"
    )
    wheel_drive_kw_per_100_kg_h: float = Field(0.5, ge=0, description="[kW per 100 kg/h]")
    wheel_drive_kw: float | None = Field(None, ge=0, description="overrides the rule [kW]")
    # --- regeneration
    regeneration_temp_degc: float = Field(140.0, gt=40, le=250, description="[degC]")
    regeneration_pickup_g_per_kg: float = Field(
        15.0, gt=0, le=200, description="water per kg of regeneration air at design [g/kg]"
    )
    regeneration_min_frac: float = Field(
        0.6, ge=0, le=1, description="heater turn-down, share of the design duty [frac]"
    )
    regeneration_heat_max_kw: float | None = Field(None, gt=0, description="heater rating [kW]")
    regeneration_electric_max_kw: float = Field(
        0.0, ge=0, description="electric regeneration heater [kW]"
    )
    heat_carrier: str = carrier_field("heat_ht")
    # --- coils and fans
    precool: bool = Field(True, description="pre-cool make-up air on a coil")
    precool_leaving_temp_degc: float = Field(6.0, description="coil leaving, saturated [degC]")
    cooling_carrier: str = carrier_field("cooling")
    preheat_to_degc: float | None = Field(5.0, description="pre-heat make-up air to [degC]")
    preheat_carrier: str = carrier_field("heat_lt")
    reheat_carrier: str = carrier_field("heat_lt")
    fan_power_kw: float | None = Field(None, ge=0, description="constant fan power [kW]")
    fan_pressure_pa: float = Field(1800.0, gt=0, description="[Pa]")
    regeneration_fan_pressure_pa: float = Field(1000.0, ge=0, description="[Pa]")
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

    @model_validator(mode="after")
    def _wheel_energy_adds_up(self) -> DryRoomParams:
        """Regeneration air must bring the heat of sorption plus the carry-over."""
        lift_k = self.regeneration_temp_degc - self.design_summer_temp_degc
        kj_per_kg_water = 1.006 * lift_k / (self.regeneration_pickup_g_per_kg / 1e3)
        if kj_per_kg_water * (1.0 - self.carryover_frac) < self.sorption_heat_kj_per_kg:
            msg = (
                f"regeneration air at {self.regeneration_temp_degc} degC picking up "
                f"{self.regeneration_pickup_g_per_kg} g/kg brings {kj_per_kg_water:.0f} kJ per kg "
                f"of water at the summer design state; after carryover_frac="
                f"{self.carryover_frac} that is less than sorption_heat_kj_per_kg="
                f"{self.sorption_heat_kj_per_kg} (raise regeneration_temp_degc or lower "
                "regeneration_pickup_g_per_kg)"
            )
            raise ValueError(msg)
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
    moisture_min_kg: np.ndarray
    moisture_max_kg: np.ndarray
    moisture_setpoint_kg: np.ndarray
    air: AirPath

    def __getattr__(self, name: str) -> np.ndarray:
        """The air path's arrays by their own names (``profile.precool_kw``)."""
        if name == "air":  # not yet set (copying, unpickling)
            raise AttributeError(name)
        return getattr(self.air, name)


def band_kg(p: DryRoomParams, producing: np.ndarray, pressure_pa: np.ndarray) -> tuple:
    """Moisture band and set point per interval [kg]: (minimum, maximum, set point)."""
    setback = p.setback or DryRoomSetback(
        setpoint_dew_point_degc=p.setpoint_dew_point_degc,
        upper_dew_point_degc=p.upper_dew_point_degc,
    )
    setpoint = np.where(producing, p.setpoint_dew_point_degc, setback.setpoint_dew_point_degc)
    upper = np.where(producing, p.upper_dew_point_degc, setback.upper_dew_point_degc)
    kg = p.storage_air_kg
    high = kg * humidity_ratio_at_dew_points(upper, pressure_pa)
    # the level at an interval's end is the next one's start: it keeps both limits
    # (a room is pulled down before production starts, not during its first interval)
    high = np.minimum(high, np.append(high[1:], high[-1:]))
    return (
        kg * humidity_ratio_at_dew_points(p.lower_dew_point_degc, pressure_pa),
        high,
        kg * humidity_ratio_at_dew_points(setpoint, pressure_pa),
    )


def dry_room_profile(
    p: DryRoomParams,
    producing: np.ndarray,
    temp_degc: np.ndarray,
    rh_frac: np.ndarray,
    pressure_pa: np.ndarray,
) -> DryRoomProfile:
    """All per-interval loads, limits and auxiliary demands of a dry room."""
    low, high, setpoint = band_kg(p, producing, pressure_pa)
    w_set = setpoint / p.storage_air_kg
    air = air_path(p, room_design(p), producing, temp_degc, rh_frac, pressure_pa, w_set)
    return DryRoomProfile(producing, low, high, setpoint, air)


def wet_path(profile: DryRoomProfile, initial_kg: float, dt_h: float, removal) -> np.ndarray:
    """Moisture after each interval with a given removal [kg] (implicit exchange)."""
    inflow = dt_h * (profile.moisture_in_kg_per_h - np.asarray(removal))
    keep = 1.0 / (1.0 + dt_h * profile.exchange_per_h)
    level, out = initial_kg, np.empty(len(inflow))
    for t in range(len(inflow)):
        level = (level + inflow[t]) * keep[t]
        out[t] = level
    return out


def first_unholdable(
    profile: DryRoomProfile, initial_kg: float, dt_h: float, terminal_max_kg: float | None = None
) -> int | None:
    """First interval where no removal plan keeps the room in its band, else None.

    Tracks the reachable moisture range: the wheel at full capacity gives the
    lowest reachable level, the wheel off the highest; both are cut to the band.
    With ``terminal_max_kg`` the last interval must also reach that level.
    """
    lowest = highest = initial_kg
    inflow = dt_h * profile.moisture_in_kg_per_h
    dried = dt_h * profile.removal_max_kg_per_h
    keep = 1.0 / (1.0 + dt_h * profile.exchange_per_h)
    for t in range(len(inflow)):
        lowest = max((lowest + inflow[t] - dried[t]) * keep[t], profile.moisture_min_kg[t])
        highest = min((highest + inflow[t]) * keep[t], profile.moisture_max_kg[t])
        if lowest > highest + BAND_TOL_KG:
            return t
    if terminal_max_kg is not None and lowest > terminal_max_kg + BAND_TOL_KG:
        return len(inflow) - 1
    return None


def moisture_state(
    p: DryRoomParams, dew_point: float, _at: pd.Timestamp, c: StateContext
) -> dict[str, float]:
    """A measured room dew point as the water held in the room air [kg].

    ``storage_air_kg`` times the humidity ratio of air whose dew (frost) point
    is the reading, at the window's first forecast air pressure.
    """
    return {"moisture_kg": p.storage_air_kg * humidity_ratio_at_dew_point(dew_point, c.pressure_pa)}


def _scaled(coefficient, var) -> MonomialTermExpression:
    return MonomialTermExpression((coefficient, var))


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

    @property
    def design(self) -> RoomDesign:
        """Flows and ratings of the room from its design inputs."""
        return room_design(self.params)

    def build(self, b: pyo.Block, ctx: BuildContext) -> AssetTerms:
        p = self.params
        T = b.model().T
        series = {
            name: self.series_param(b, name, ctx, self._field(name))
            for name in (
                "moisture_in_kg_per_h",
                "removal_max_kg_per_h",
                "moisture_min_kg",
                "moisture_max_kg",
                "moisture_setpoint_kg",
                "regeneration_min_kw",
                "regeneration_kwh_per_kg",
                "sensible_kw",
            )
        }
        retention = self.series_param(b, "retention", ctx, self._retention)
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
            T, bounds=lambda b, t: (0.0, series["removal_max_kg_per_h"][t])
        )

        @b.Constraint(T)
        def moisture_balance(b, t):
            # retention * moisture[t] - moisture[t-1] + dt * removal[t] = dt * moisture_in[t]
            terms = [
                _scaled(retention[t], b.moisture_kg[t]),
                _scaled(ctx.dt_h, b.removal_kg_per_h[t]),
            ]
            if t > 0:
                terms.append(_scaled(-1.0, b.moisture_kg[t - 1]))
            inflow = ctx.dt_h * series["moisture_in_kg_per_h"][t]
            return LinearExpression(terms) == (inflow + initial if t == 0 else inflow)

        if p.terminal_at_setpoint and not ctx.free_end:
            self._add_terminal(b, ctx, series["moisture_setpoint_kg"])
        self._add_regeneration(b, series)
        self._add_after_treatment(b, series)
        return AssetTerms(injections=self._injections(b, ctx))

    def _add_terminal(self, b: pyo.Block, ctx: BuildContext, setpoint: pyo.Param) -> None:
        """The window ends at or below the set point (priced in soft mode) [kg]."""
        last = b.model().T.last()
        late = self.shortfall(
            b,
            ctx,
            Requirement(
                self.name,
                "room above its set point at the window's end",
                "kg",
                ((last, last + 1),),
                None,
                self.params.above_band_penalty_eur_per_kg_h,  # as if held for an hour
            ),
        )
        b.moisture_terminal = pyo.Constraint(expr=b.moisture_kg[last] - late[0] <= setpoint[last])

    def _add_regeneration(self, b: pyo.Block, series: dict) -> None:
        """Regeneration heat: turn-down minimum, per kg removed, electric share [kW]."""
        p = self.params
        T = b.model().T
        b.regeneration_heat_kw = pyo.Var(
            T, bounds=lambda b, t: (series["regeneration_min_kw"][t], None)
        )
        per_kg = series["regeneration_kwh_per_kg"]
        b.regeneration_demand = pyo.Constraint(
            T,
            rule=lambda b, t: (
                LinearExpression(
                    [b.regeneration_heat_kw[t], _scaled(-per_kg[t], b.removal_kg_per_h[t])]
                )
                >= 0
            ),
        )
        b.regeneration_electric_kw = pyo.Var(T, bounds=(0.0, p.regeneration_electric_max_kw))
        if p.regeneration_electric_max_kw > 0:
            b.regeneration_electric_share = pyo.Constraint(
                T,
                rule=lambda b, t: (
                    linear_sum(
                        [(1.0, b.regeneration_electric_kw[t]), (-1.0, b.regeneration_heat_kw[t])]
                    )
                    <= 0
                ),
            )

    def _add_after_treatment(self, b: pyo.Block, series: dict) -> None:
        """After-cool or reheat of the process air leaving the wheel [kW]."""
        p = self.params
        T = b.model().T
        b.aftercool_kw = pyo.Var(T, domain=pyo.NonNegativeReals)
        b.reheat_kw = pyo.Var(T, domain=pyo.NonNegativeReals)
        sorption_kw_per_kg_h = p.sorption_heat_kj_per_kg / KJ_PER_KWH

        @b.Constraint(T)
        def sensible_balance(b, t):
            terms = [
                (1.0, b.aftercool_kw[t]),
                (-1.0, b.reheat_kw[t]),
                (-sorption_kw_per_kg_h, b.removal_kg_per_h[t]),
                (-p.carryover_frac, b.regeneration_heat_kw[t]),
            ]
            return linear_sum(terms) == series["sensible_kw"][t]

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
        wet_up = wet_path(profile, self._initial(ctx), ctx.dt_h, 0.0)
        return np.minimum(profile.moisture_min_kg, wet_up)

    def _retention(self, ctx: BuildContext) -> np.ndarray:
        """Coefficient of the interval's own moisture in the balance, 1 + dt * exchange [-]."""
        return 1.0 + ctx.dt_h * self.profile(ctx).exchange_per_h

    def _injections(self, b: pyo.Block, ctx: BuildContext) -> dict:
        """Draws per carrier: regeneration heat, coils, pre-heat, reheat, fans [kW]."""
        p = self.params
        T = b.model().T
        fans = self.series_param(b, "fan_kw", ctx, self._field("fan_kw"))
        precool = self.series_param(b, "precool_kw", ctx, self._field("precool_kw"))
        electric = b.regeneration_electric_kw
        draws = [
            (p.heat_carrier, -1.0, {t: b.regeneration_heat_kw[t] - electric[t] for t in T}),
            ("electricity", -1.0, {t: fans[t] + electric[t] for t in T}),
            (p.cooling_carrier, -1.0, {t: precool[t] + b.aftercool_kw[t] for t in T}),
            (p.reheat_carrier, -1.0, b.reheat_kw),
        ]
        if p.preheat_to_degc is not None:
            preheat = self.series_param(b, "preheat_kw", ctx, self._field("preheat_kw"))
            draws.append((p.preheat_carrier, -1.0, preheat))
        return net_injections(T, draws)

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
        at_end = p.terminal_at_setpoint and not ctx.free_end
        terminal = profile.moisture_setpoint_kg[-1] if at_end else None
        failing = first_unholdable(profile, initial, ctx.dt_h, terminal)
        if failing is None:
            return None
        # the load that holds the upper limit, against the wheel
        load = profile.moisture_in_kg_per_h - profile.exchange_per_h * profile.moisture_max_kg
        worst = int(np.argmax(load - profile.removal_max_kg_per_h))
        return (
            f"asset {self.name!r}: the desiccant wheel cannot hold the dew-point band at "
            f"{fmt_time(ctx.index[failing])}: moisture load {load[failing]:.1f} kg/h against "
            f"a removal capacity of {profile.removal_max_kg_per_h[failing]:.1f} kg/h "
            f"(wheel_capacity_kg_per_h={self.design.wheel_capacity_kg_per_h:.6g}, "
            f"regeneration_heat_max_kw={p.regeneration_heat_max_kw}); the worst interval is "
            f"{fmt_time(ctx.index[worst])} with {load[worst]:.1f} kg/h"
        )

    # ---- results ------------------------------------------------------------------

    def extract(self, b: pyo.Block, ctx: BuildContext) -> pd.DataFrame:
        """Moisture state and band, removal, loads, heat and auxiliary draws."""
        n = ctx.n_steps
        profile = self.profile(ctx)
        moisture = values(b.moisture_kg, n)
        pressure = ctx.column("pressure_pa", self.name)
        ratio = np.maximum(moisture, 0.0) / self.params.storage_air_kg
        columns = {
            "moisture_kg": moisture,
            "moisture_min_kg": values(b.moisture_min_kg, n),
            "moisture_max_kg": values(b.moisture_max_kg, n),
            "moisture_setpoint_kg": values(b.moisture_setpoint_kg, n),
            "dew_point_degc": dew_point_degc(ratio, pressure, self.params.room_temp_degc),
            "load_kg_per_h": profile.moisture_in_kg_per_h - profile.exchange_per_h * moisture,
            "removal_kg_per_h": values(b.removal_kg_per_h, n),
            "removal_max_kg_per_h": values(b.removal_max_kg_per_h, n),
            "regeneration_heat_kw": values(b.regeneration_heat_kw, n),
            "regeneration_electric_kw": values(b.regeneration_electric_kw, n),
            "aftercool_kw": values(b.aftercool_kw, n),
            "reheat_kw": values(b.reheat_kw, n),
            "coil_water_kg_per_h": profile.coil_water_kg_per_h,
            "precool_kw": profile.precool_kw,
            "preheat_kw": profile.preheat_kw if self.params.preheat_to_degc is not None else 0.0,
            "fan_kw": values(b.fan_kw, n),
            "humidity_ratio_out_kg_per_kg": profile.humidity_ratio_out,
            "is_production": profile.is_production.astype(float),
        }
        return pd.DataFrame(columns, index=ctx.index)

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
        """Water removed by wheel and coil [kg], heat and cooling of the air path
        [kWh], and the room's design flows and ratings (``design_*``)."""
        totals = {
            "water_removed_wheel_kg": "removal_kg_per_h",
            "water_removed_coil_kg": "coil_water_kg_per_h",
            "regeneration_heat_kwh": "regeneration_heat_kw",
            "regeneration_electric_kwh": "regeneration_electric_kw",
            "precool_kwh": "precool_kw",
            "aftercool_kwh": "aftercool_kw",
            "preheat_kwh": "preheat_kw",
            "reheat_kwh": "reheat_kw",
            "fan_kwh": "fan_kw",
        }
        out = {
            f"{self.name}.{key}": float(dispatch[f"{self.name}.{column}"].sum() * ctx.dt_h)
            for key, column in totals.items()
        }
        out.update({f"{self.name}.{k}": v for k, v in self.design.summary().items()})
        return out
