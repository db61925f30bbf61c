"""Air path of a desiccant dry room: the design from the room, and per-interval
coefficients from the weather that keep the plant model linear.

The air path (plant reference 2.1 design chain; ASHRAE Handbook HVAC
Applications ch. 24 and Fundamentals ch. 32 for desiccant dehumidification)::

    outdoor air -> pre-heat -> pre-cool coil -> make-up air --+
                                                              +-> mixed air -> wheel
    room air (return) ----------------------------------------+      |
    supply air <- after-cool or reheat <------------------------------+
    outdoor air -> regeneration heater -> wheel (regeneration side) -> exhaust

Per kg of make-up air, with ``h(T, w)`` the moist-air enthalpy (ASHRAE 2017
ch. 1 eq. 30, as psychrolib) and the coil leaving state ``T_lv`` saturated::

    pre-heat   = h(max(T_out, T_ph), w_out) - h(T_out, w_out)       (heat_lt, frost protection)
    pre-cool   = h(T_ph', w_out) - h(T_mk, w_mk)                      (cooling, where warmer or
    T_mk       = min(T_ph', T_lv),  w_mk = min(w_out, w_sat(T_lv))     wetter than the coil state)
    condensate = w_out - w_mk

Mixing with return air at the room state (``T_room``, set-point humidity
``w_set``) in the make-up share ``f`` conserves enthalpy and water::

    h_mix = f * h_mk + (1 - f) * h_room,   w_mix = f * w_mk + (1 - f) * w_set

The wheel removes ``removal`` [kg/h] from the process air and releases the heat
of sorption ``q_sorption`` [kJ/kg] into it, plus ``carryover_frac`` of the
regeneration heat that the rotating matrix carries from the regeneration side.
The supply air leaves the after-cool coil (or the reheater) at the temperature
that holds the room at ``T_room`` against its sensible gains and the
infiltration air, so the after-cool minus reheat duty [kW] is, linear in the
decisions::

    aftercool - reheat = sensible_kw[t] + q_sorption / 3600 * removal[t]
                         + carryover_frac * regeneration_heat_kw[t]
    sensible_kw = m_sup * cp(w_mix) * (T_mix - T_room) + gains_kw
                  + m_inf * cp(w_out) * (T_out - T_room)

with ``cp(w) = 1006 + 1860 w`` [J/(kg K)]. Regeneration air is outdoor air
heated to ``T_reg``; its design flow picks up ``regeneration_pickup_g_per_kg``
of water per kg, and the heater modulates down to ``regeneration_min_frac`` of
the design flow's duty (reactivation heat never goes to zero while the wheel
turns)::

    regeneration_kwh_per_kg[t] = (h(T_reg, w_out) - h(T_out, w_out)) / pickup / 3.6e6
    regeneration_min_kw[t]     = min_frac * air_design * flow[t] * (h(T_reg) - h(T_out)) / 3.6e6

Fans follow the affinity laws (power as the cube of the flow share) at
``fan_pressure_pa`` and ``fan_efficiency_frac``; the regeneration fan moves the
design regeneration air at ``regeneration_fan_pressure_pa``.

Design (the room's own sizing, each rule in :func:`room_design`)::

    supply     = air_changes_per_h * floor_area * height        (or supply_air_m3_per_h)
    make-up    = makeup_air_frac * supply
    wheel      = (1 + wheel_margin_frac) * moisture load at the summer design state
                 after the coil, with the room at its set point
    regen air  = wheel / regeneration_pickup
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from energyopt.inputs.weather import (
    humidity_ratio_at_dew_points,
    humidity_ratio_kg_per_kg,
    moist_air_enthalpy_j_per_kg,
)
from energyopt.units import J_PER_KWH

if TYPE_CHECKING:
    from energyopt.assets.dry_room import DryRoomParams

#: specific heat of dry air and of water vapour [J/(kg K)] (ASHRAE 2017 ch. 1 eq. 30)
CP_DRY_AIR_J_PER_KG_K = 1006.0
CP_VAPOUR_J_PER_KG_K = 1860.0
#: latent heat of water vapour at 0 degC in the enthalpy relation [J/kg]
LATENT_J_PER_KG = 2_501_000.0
#: standard pressure at which the design is computed [Pa]
DESIGN_PRESSURE_PA = np.array([101_325.0])
#: seconds per hour
S_PER_H = 3600.0


@dataclasses.dataclass(frozen=True)
class RoomDesign:
    """Flows and ratings that follow from the room's design inputs."""

    volume_m3: float
    supply_air_m3_per_h: float
    makeup_air_m3_per_h: float
    infiltration_m3_per_h: float
    people: float
    #: moisture load at the summer design state, room at set point [kg/h]
    load_kg_per_h: float
    wheel_capacity_kg_per_h: float
    regeneration_air_kg_per_h: float
    #: regeneration heat at full wheel capacity at the summer design state [kW_th]
    regeneration_heat_kw: float
    #: make-up air pre-cool coil at the summer design state [kW]
    precool_kw: float
    #: make-up air pre-heater at the winter design state (90 % RH) [kW]
    preheat_kw: float
    fan_kw: float
    wheel_drive_kw: float

    def summary(self) -> dict[str, float]:
        """The design as ``design_<field>`` figures (units in the names)."""
        return {f"design_{k}": float(v) for k, v in dataclasses.asdict(self).items()}


@dataclasses.dataclass(frozen=True)
class AirPath:
    """Per-interval coefficients of a dry room's air path (arrays over the window)."""

    flow_frac: np.ndarray
    humidity_ratio_out: np.ndarray  # [kg/kg]
    #: water carried in by make-up and infiltration air, people and process [kg/h]
    moisture_in_kg_per_h: np.ndarray
    #: room water carried out by exhaust per kg held [1/h]
    exchange_per_h: np.ndarray
    removal_max_kg_per_h: np.ndarray
    regeneration_kwh_per_kg: np.ndarray
    regeneration_min_kw: np.ndarray
    #: after-cool (> 0) or reheat (< 0) at zero removal and regeneration [kW]
    sensible_kw: np.ndarray
    precool_kw: np.ndarray
    preheat_kw: np.ndarray
    coil_water_kg_per_h: np.ndarray
    fan_kw: np.ndarray


def cp_moist_j_per_kg_k(humidity_ratio) -> np.ndarray:
    """Specific heat of moist air per kg of dry air [J/(kg K)]."""
    return CP_DRY_AIR_J_PER_KG_K + CP_VAPOUR_J_PER_KG_K * np.asarray(humidity_ratio, dtype=float)


def temp_from_enthalpy_degc(enthalpy_j_per_kg, humidity_ratio) -> np.ndarray:
    """Dry-bulb temperature of moist air from enthalpy and humidity ratio [degC]
    (ASHRAE 2017 ch. 1 eq. 30 solved for T, as psychrolib)."""
    ratio = np.asarray(humidity_ratio, dtype=float)
    return (np.asarray(enthalpy_j_per_kg) - LATENT_J_PER_KG * ratio) / cp_moist_j_per_kg_k(ratio)


def makeup_air_treatment(p: DryRoomParams, temp_degc, w_out, pressure_pa) -> tuple:
    """Pre-heater and pre-cool coil per kg of make-up air.

    Returns (leaving temperature [degC], leaving humidity ratio [kg/kg],
    coil cooling [J/kg], condensate [kg/kg], pre-heat [J/kg]).
    """
    temp = np.asarray(temp_degc, dtype=float)
    h_out = moist_air_enthalpy_j_per_kg(temp, w_out)
    warm = temp if p.preheat_to_degc is None else np.maximum(temp, p.preheat_to_degc)
    h_warm = moist_air_enthalpy_j_per_kg(warm, w_out)
    heating = h_warm - h_out
    if not p.precool:
        return warm, w_out, np.zeros_like(h_out), np.zeros_like(h_out), heating
    t_lv = p.precool_leaving_temp_degc
    w_leave = np.minimum(w_out, humidity_ratio_at_dew_points(t_lv, pressure_pa))
    t_leave = np.minimum(warm, t_lv)
    cooling = np.maximum(h_warm - moist_air_enthalpy_j_per_kg(t_leave, w_leave), 0.0)
    return t_leave, w_leave, cooling, w_out - w_leave, heating


def room_design(p: DryRoomParams) -> RoomDesign:
    """Flows and ratings of the room from its design inputs (overrides win)."""
    volume = p.floor_area_m2 * p.height_m
    supply = p.supply_air_m3_per_h or p.air_changes_per_h * volume
    makeup = p.makeup_air_frac * supply
    infiltration = p.infiltration_m3_per_h
    if infiltration is None:
        infiltration = p.infiltration_air_changes_per_h * volume
    people = p.people if p.people is not None else p.people_per_1000_m2 * p.floor_area_m2 / 1e3
    rho = p.air_density_kg_per_m3
    t_d = np.array([p.design_summer_temp_degc])
    w_d = humidity_ratio_kg_per_kg(t_d, np.array([p.design_summer_rh_frac]), DESIGN_PRESSURE_PA)
    _, w_mk, cooling, _, _ = makeup_air_treatment(p, t_d, w_d, DESIGN_PRESSURE_PA)
    w_set = humidity_ratio_at_dew_points(p.setpoint_dew_point_degc, DESIGN_PRESSURE_PA)[0]
    load = float(
        rho * makeup * (w_mk[0] - w_set)
        + rho * infiltration * (w_d[0] - w_set)
        + people * p.water_per_person_kg_per_h
        + p.process_moisture_kg_per_h
    )
    wheel = p.wheel_capacity_kg_per_h or (1.0 + p.wheel_margin_frac) * load
    regen_air = wheel / (p.regeneration_pickup_g_per_kg / 1e3)
    t_w = np.array([p.design_winter_temp_degc])
    w_w = humidity_ratio_kg_per_kg(t_w, np.array([0.9]), DESIGN_PRESSURE_PA)
    heating = makeup_air_treatment(p, t_w, w_w, DESIGN_PRESSURE_PA)[4]
    return RoomDesign(
        volume_m3=volume,
        supply_air_m3_per_h=supply,
        makeup_air_m3_per_h=makeup,
        infiltration_m3_per_h=infiltration,
        people=people,
        load_kg_per_h=load,
        wheel_capacity_kg_per_h=wheel,
        regeneration_air_kg_per_h=regen_air,
        regeneration_heat_kw=float(regen_air * _regeneration_j_per_kg(p, t_d, w_d)[0] / J_PER_KWH),
        precool_kw=float(rho * makeup * cooling[0] / J_PER_KWH),
        preheat_kw=float(rho * makeup * heating[0] / J_PER_KWH),
        fan_kw=float(_fan_kw(p, supply, regen_air, 1.0)),
        wheel_drive_kw=_wheel_drive_kw(p, wheel),
    )


def _regeneration_j_per_kg(p: DryRoomParams, temp_degc, w_out) -> np.ndarray:
    """Heat to bring a kg of outdoor air to the regeneration temperature [J/kg]."""
    return moist_air_enthalpy_j_per_kg(p.regeneration_temp_degc, w_out) - (
        moist_air_enthalpy_j_per_kg(temp_degc, w_out)
    )


def _fan_kw(p: DryRoomParams, supply_m3_per_h: float, regen_air_kg_per_h: float, flow):
    """Supply and regeneration fans at a flow share (affinity laws: power ~ flow^3) [kW]."""
    if p.fan_power_kw is not None:
        return np.full(np.shape(flow), p.fan_power_kw)
    supply_w = supply_m3_per_h / S_PER_H * p.fan_pressure_pa / p.fan_efficiency_frac
    regen_m3_per_s = regen_air_kg_per_h / p.air_density_kg_per_m3 / S_PER_H
    regen_w = regen_m3_per_s * p.regeneration_fan_pressure_pa / p.fan_efficiency_frac
    return (supply_w + regen_w) * np.asarray(flow, dtype=float) ** 3 / 1e3


def _wheel_drive_kw(p: DryRoomParams, wheel_kg_per_h: float) -> float:
    """Rotor drive motors [kW]."""
    if p.wheel_drive_kw is not None:
        return p.wheel_drive_kw
    return p.wheel_drive_kw_per_100_kg_h * wheel_kg_per_h / 100.0


def air_path(
    p: DryRoomParams,
    design: RoomDesign,
    producing: np.ndarray,
    temp_degc: np.ndarray,
    rh_frac: np.ndarray,
    pressure_pa: np.ndarray,
    w_set: np.ndarray,
) -> AirPath:
    """Per-interval coefficients of the air path for weather and production state."""
    flow = np.where(producing, 1.0, p.setback.flow_frac if p.setback else 1.0)
    rho = p.air_density_kg_per_m3
    supply_kg_per_h = rho * design.supply_air_m3_per_h * flow
    makeup_kg_per_h = rho * design.makeup_air_m3_per_h * flow
    infiltration_kg_per_h = rho * design.infiltration_m3_per_h
    w_out = humidity_ratio_kg_per_kg(temp_degc, rh_frac, pressure_pa)
    t_mk, w_mk, cooling_j, water, heating_j = makeup_air_treatment(p, temp_degc, w_out, pressure_pa)
    people = np.where(producing, design.people, p.people_off_shift)
    moisture_in = (
        makeup_kg_per_h * w_mk
        + infiltration_kg_per_h * w_out
        + people * p.water_per_person_kg_per_h
        + p.process_moisture_kg_per_h
    )
    f = design.makeup_air_m3_per_h / design.supply_air_m3_per_h
    h_room = moist_air_enthalpy_j_per_kg(p.room_temp_degc, w_set)
    h_mix = f * moist_air_enthalpy_j_per_kg(t_mk, w_mk) + (1.0 - f) * h_room
    w_mix = f * w_mk + (1.0 - f) * w_set
    t_mix = temp_from_enthalpy_degc(h_mix, w_mix)
    gains_w = (
        p.floor_area_m2
        * p.sensible_gains_w_per_m2
        * np.where(producing, 1.0, p.sensible_gains_off_shift_frac)
    )
    sensible_w = (
        supply_kg_per_h / S_PER_H * cp_moist_j_per_kg_k(w_mix) * (t_mix - p.room_temp_degc)
        + gains_w
        + infiltration_kg_per_h
        / S_PER_H
        * cp_moist_j_per_kg_k(w_out)
        * (temp_degc - p.room_temp_degc)
    )
    regen_j_per_kg_air = _regeneration_j_per_kg(p, temp_degc, w_out)
    kwh_per_kg_water = regen_j_per_kg_air / (p.regeneration_pickup_g_per_kg / 1e3) / J_PER_KWH
    removal_max = design.wheel_capacity_kg_per_h * flow
    regen_min_kw = (
        p.regeneration_min_frac * design.regeneration_air_kg_per_h * flow * regen_j_per_kg_air
    ) / J_PER_KWH
    if p.regeneration_heat_max_kw is not None:  # a heater rated below the wheel's needs
        removal_max = np.minimum(removal_max, p.regeneration_heat_max_kw / kwh_per_kg_water)
        regen_min_kw = np.minimum(regen_min_kw, p.regeneration_heat_max_kw)
    fan_kw = _fan_kw(p, design.supply_air_m3_per_h, design.regeneration_air_kg_per_h, flow)
    return AirPath(
        flow_frac=flow,
        humidity_ratio_out=w_out,
        moisture_in_kg_per_h=moisture_in,
        exchange_per_h=(makeup_kg_per_h + infiltration_kg_per_h) / p.storage_air_kg,
        removal_max_kg_per_h=removal_max,
        regeneration_kwh_per_kg=kwh_per_kg_water,
        regeneration_min_kw=regen_min_kw,
        sensible_kw=sensible_w / 1e3,
        precool_kw=makeup_kg_per_h * cooling_j / J_PER_KWH,
        preheat_kw=makeup_kg_per_h * heating_j / J_PER_KWH,
        coil_water_kg_per_h=makeup_kg_per_h * water,
        fan_kw=np.broadcast_to(fan_kw + design.wheel_drive_kw, flow.shape).astype(float),
    )
