"""Wind turbines at the plant site; available power from the site weather, curtailable.

Available electrical power ``available_kw[t]`` comes from the site weather
through the chain in :func:`wind_power_kw`::

    v_hub   = v_ref * (h_hub / h_ref) ** alpha                 (power law, Hellman)
            = v_ref * ln(h_hub / z0) / ln(h_ref / z0)          (log profile)
    T_hub   = T_2m - 0.0065 K/m * (h_hub - 2 m)                (ISA lapse, -6.5 K/km)
    p_hub   = p_0m - 12.5 Pa/m * h_hub                         (-1/8 hPa/m, DWD)
    rho_hub = p_hub / (287.058 J/(kg K) * T_hub)               (ideal gas, dry air)
    v_norm  = v_hub * (rho_hub / 1.225) ** (1/3)               (IEC 61400-12-1)
    available_kw = n_turbines * P_curve(v_norm) * availability_frac * (1 - losses_frac)

``P_curve`` is the turbine's power curve at standard density (1.225 kg/m3),
interpolated linearly; zero below its first point and above its last (cut-out).
The dispatched power is ``power_kw[t] <= available_kw[t]`` (curtailable) or
equal to it.

Weather: the 10 m wind speed is the package weather column
``wind_speed_m_per_s`` (file column ``wind_speed_m_s``: ``WS10m`` of PVGIS,
10 m wind of Open-Meteo; its height is ``wind_measurement_height_m``), air
temperature ``temp_air_degc`` at 2 m (WMO screen height) and surface pressure
``pressure_pa`` (the file's, or the standard atmosphere at the site altitude,
see :mod:`energyopt.inputs.weather`). Humidity is neglected in the density (moist air
is lighter by under 1 % in a temperate climate).

Turbine types and their power curves are read from the turbine library that
windpowerlib ships with the package (an extract of the OpenEnergy Platform
turbine library, ``windpowerlib/oedb/power_curves.csv``); nothing is fetched at
run time. The height, temperature and density steps are windpowerlib's
functions (``wind_speed.hellman``, ``wind_speed.logarithmic_profile``,
``temperature.linear_gradient``, ``density.ideal_gas``); the density correction
is the IEC 61400-12-1 normalisation for pitch-regulated turbines, not
windpowerlib's ``power_curve_density_correction`` (Svenningsen's exponent, which
grows from 1/3 at 7.5 m/s to 2/3 at 12.5 m/s; both agree below 7.5 m/s).

Defaults:

* shear exponent 1/7: the Hellman exponent of neutral flow over open land
  (windpowerlib's default; Hau, Windkraftanlagen, 4th ed. 2008, p. 517);
* roughness length 0.15 m: farmland with some obstacles, between the
  Davenport classes "roughly open" (0.10 m, low crops and occasional
  obstacles) and "rough" (0.25 m, high crops, scattered obstacles such as
  hedgerows) of Wieringa, J. Wind Eng. Ind. Aerodyn. 41 (1992) 357-368, the
  classification of WMO-No. 8 (Guide to Instruments and Methods of
  Observation), Part I, ch. 5;
* availability 0.97: time-based availability of onshore turbines under a
  full-service contract (an assumption; set it per site);
* losses 0.05: wake and electrical losses to the plant meter for a few
  turbines at one site (an assumption: about 3 % wake, 2 % cables and
  transformer; a large farm loses more to wakes).

Sizing (``assets/sizing.py``): ``n_turbines``, a whole number; one turbine
costs its rated power at 1383 EUR/kW (onshore wind, 2030, plant reference
§2.4) over 30 a (technical lifetime of DEA sheet 20, onshore turbines, in
PyPSA technology-data ``costs_2030.csv``). Wakes do not grow with the count
(``losses_frac`` stays as given).
"""

from __future__ import annotations

import difflib
import functools
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import pandas as pd
import windpowerlib
from pydantic import Field, field_validator, model_validator
from windpowerlib import density, power_output, temperature, wind_speed

from energyopt.assets._generator import CurtailableGenerator
from energyopt.assets.base import (
    AssetParams,
    BuildContext,
    register,
)
from energyopt.assets.sizing import CapacityDefaults
from energyopt.errors import ModelBuildError
from energyopt.units import W_PER_KW, degc_to_k

#: windpowerlib's shipped turbine library: power [W] per turbine type over wind speed [m/s]
TURBINE_LIBRARY_CSV = Path(windpowerlib.__file__).parent / "oedb" / "power_curves.csv"
#: air density of the standard atmosphere at sea level, reference of power curves [kg/m3]
#: (ISO 2533; IEC 61400-12-1)
STANDARD_AIR_DENSITY_KG_PER_M3 = 1.225
#: height of the weather's air temperature above ground (WMO screen height) [m]
TEMPERATURE_HEIGHT_M = 2.0
#: height of the weather's pressure above ground (surface pressure) [m]
PRESSURE_HEIGHT_M = 0.0
#: weather columns the chain reads (package names, see ``energyopt.inputs.weather``)
WIND_SPEED_COLUMN = "wind_speed_m_per_s"
TEMPERATURE_COLUMN = "temp_air_degc"
PRESSURE_COLUMN = "pressure_pa"
#: close names listed when a turbine type is unknown
MAX_CLOSE_NAMES = 5

_NonNegative = Annotated[float, Field(ge=0)]


# ------------------------------------------------------------------ turbine library


@functools.cache
def _library() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Power curves of the shipped library: type -> (wind speed [m/s], power [kW])."""
    table = pd.read_csv(TURBINE_LIBRARY_CSV, index_col=0)
    speeds = table.columns.astype(float).to_numpy()
    curves = {}
    for name, row in table.iterrows():
        power_w = row.to_numpy(dtype=float)
        given = ~np.isnan(power_w)
        curve = (speeds[given], power_w[given] / W_PER_KW)
        for array in curve:
            array.setflags(write=False)
        curves[str(name)] = curve
    return curves


def turbine_types() -> list[str]:
    """Turbine types with a power curve in windpowerlib's shipped library, sorted."""
    return sorted(_library())


def library_power_curve(turbine_type: str) -> tuple[np.ndarray, np.ndarray]:
    """Power curve of one turbine of a library type at 1.225 kg/m3.

    Returns
    -------
    wind_speed_m_per_s, power_kw : ndarray
        Hub-height wind speeds [m/s], increasing, and the electrical power of
        one turbine at them [kW] (read-only arrays).

    Raises
    ------
    ValueError
        If the type is not in the library (the message lists close names).
    """
    curves = _library()
    if turbine_type not in curves:
        close = difflib.get_close_matches(turbine_type, list(curves), n=MAX_CLOSE_NAMES, cutoff=0.5)
        hint = f"close names: {', '.join(close)}" if close else "no close name"
        msg = (
            f"unknown windpowerlib turbine type {turbine_type!r} ({hint}; "
            f"{len(curves)} types in windpowerlib.get_turbine_types())"
        )
        raise ValueError(msg)
    return curves[turbine_type]


# ------------------------------------------------------------------------- physics


def wind_speed_at_hub_m_per_s(
    wind_speed_m_per_s,
    measurement_height_m: float,
    hub_height_m: float,
    shear_model: str = "power_law",
    shear_exponent: float = 1 / 7,
    roughness_length_m: float = 0.15,
) -> np.ndarray:
    """Wind speed at hub height from a wind speed measured lower [m/s].

    Parameters
    ----------
    wind_speed_m_per_s : array_like
        Wind speed at ``measurement_height_m``. [m/s]
    measurement_height_m, hub_height_m : float
        Heights above ground of the measurement and of the hub. [m]
    shear_model : {"power_law", "log_profile"}
        ``power_law``: ``v * (h_hub / h_ref) ** shear_exponent`` (Hellman);
        ``log_profile``: ``v * ln(h_hub / z0) / ln(h_ref / z0)`` (neutral
        logarithmic profile, no displacement height).
    shear_exponent : float
        Hellman exponent, used by ``power_law``. [-]
    roughness_length_m : float
        Surface roughness length ``z0``, used by ``log_profile``. [m]
    """
    speed = np.asarray(wind_speed_m_per_s, dtype=float)
    if shear_model == "power_law":
        hub = wind_speed.hellman(
            speed, measurement_height_m, hub_height_m, hellman_exponent=shear_exponent
        )
    elif shear_model == "log_profile":
        hub = wind_speed.logarithmic_profile(
            speed, measurement_height_m, hub_height_m, roughness_length_m
        )
    else:
        raise ValueError(f"shear_model must be 'power_law' or 'log_profile', not {shear_model!r}")
    return np.asarray(hub, dtype=float)


def air_density_at_hub_kg_per_m3(
    temp_air_degc,
    pressure_pa,
    hub_height_m: float,
    temperature_height_m: float = TEMPERATURE_HEIGHT_M,
    pressure_height_m: float = PRESSURE_HEIGHT_M,
) -> np.ndarray:
    """Density of dry air at hub height [kg/m3].

    Temperature falls by 6.5 K/km from its measurement height (ISA lapse rate),
    pressure by 1/8 hPa per metre from its own; the density is the ideal-gas
    density of dry air (287.058 J/(kg K)) at those (windpowerlib's
    ``temperature.linear_gradient`` and ``density.ideal_gas``).

    Parameters
    ----------
    temp_air_degc : array_like
        Air temperature at ``temperature_height_m``. [degC]
    pressure_pa : array_like
        Air pressure at ``pressure_height_m``. [Pa]
    hub_height_m, temperature_height_m, pressure_height_m : float
        Heights above ground. [m]
    """
    temp_k = degc_to_k(np.asarray(temp_air_degc, dtype=float))
    temp_hub_k = temperature.linear_gradient(temp_k, temperature_height_m, hub_height_m)
    rho = density.ideal_gas(
        np.asarray(pressure_pa, dtype=float), pressure_height_m, hub_height_m, temp_hub_k
    )
    return np.asarray(rho, dtype=float)


def density_normalised_wind_speed_m_per_s(wind_speed_m_per_s, air_density_kg_per_m3) -> np.ndarray:
    """Wind speed at standard density that gives the same power [m/s].

    ``v * (rho / 1.225) ** (1/3)``: the normalisation of IEC 61400-12-1 for
    pitch-regulated turbines (same kinetic power flux ``rho v^3``). Reading the
    standard power curve at this speed is the density correction of the curve.

    Parameters
    ----------
    wind_speed_m_per_s : array_like
        Wind speed at hub height. [m/s]
    air_density_kg_per_m3 : array_like
        Air density at hub height. [kg/m3]
    """
    speed = np.asarray(wind_speed_m_per_s, dtype=float)
    ratio = np.asarray(air_density_kg_per_m3, dtype=float) / STANDARD_AIR_DENSITY_KG_PER_M3
    return speed * np.cbrt(ratio)


def power_curve_kw(wind_speed_m_per_s, curve_wind_speed_m_per_s, curve_power_kw) -> np.ndarray:
    """Power of one turbine from its power curve [kW].

    Linear interpolation between curve points; zero below the first point
    (below cut-in) and above the last one (above cut-out) (windpowerlib's
    ``power_output.power_curve``).

    Parameters
    ----------
    wind_speed_m_per_s : array_like
        Wind speed at hub height, at the curve's density. [m/s]
    curve_wind_speed_m_per_s, curve_power_kw : array_like
        Power curve: increasing wind speeds [m/s] and the power at them [kW].
    """
    power = power_output.power_curve(
        np.asarray(wind_speed_m_per_s, dtype=float),
        np.asarray(curve_wind_speed_m_per_s, dtype=float),
        np.asarray(curve_power_kw, dtype=float),
    )
    return np.asarray(power, dtype=float)


def wind_power_kw(
    wind_speed_m_per_s,
    temp_air_degc,
    pressure_pa,
    curve_wind_speed_m_per_s,
    curve_power_kw,
    hub_height_m: float,
    n_turbines: int = 1,
    measurement_height_m: float = 10.0,
    shear_model: str = "power_law",
    shear_exponent: float = 1 / 7,
    roughness_length_m: float = 0.15,
    availability_frac: float = 0.97,
    losses_frac: float = 0.05,
) -> np.ndarray:
    """Electrical power the turbines can deliver to the plant in each interval [kW].

    Hub-height wind speed (:func:`wind_speed_at_hub_m_per_s`), air density at
    hub height (:func:`air_density_at_hub_kg_per_m3`), the standard power curve
    read at the density-normalised speed
    (:func:`density_normalised_wind_speed_m_per_s`, :func:`power_curve_kw`),
    times the number of turbines, the availability and ``1 - losses_frac``.

    Parameters
    ----------
    wind_speed_m_per_s : array_like
        Wind speed at ``measurement_height_m``. [m/s]
    temp_air_degc : array_like
        Air temperature at 2 m. [degC]
    pressure_pa : array_like
        Surface air pressure. [Pa]
    curve_wind_speed_m_per_s, curve_power_kw : array_like
        Power curve of one turbine at 1.225 kg/m3. [m/s], [kW]
    hub_height_m, measurement_height_m : float
        Heights above ground. [m]
    n_turbines : int
        Number of turbines. [-]
    shear_model, shear_exponent, roughness_length_m :
        Height extrapolation, see :func:`wind_speed_at_hub_m_per_s`.
    availability_frac : float
        Expected share of time the turbines are available. [0-1]
    losses_frac : float
        Wake and electrical losses to the plant meter. [0-1]
    """
    hub = wind_speed_at_hub_m_per_s(
        wind_speed_m_per_s,
        measurement_height_m,
        hub_height_m,
        shear_model,
        shear_exponent,
        roughness_length_m,
    )
    rho = air_density_at_hub_kg_per_m3(temp_air_degc, pressure_pa, hub_height_m)
    one = power_curve_kw(
        density_normalised_wind_speed_m_per_s(hub, rho), curve_wind_speed_m_per_s, curve_power_kw
    )
    return n_turbines * one * availability_frac * (1.0 - losses_frac)


# -------------------------------------------------------------------------- asset


class WindParams(AssetParams):
    """Wind turbine parameters: a library type or an explicit power curve."""

    type: Literal["wind"]
    n_turbines: int = Field(ge=1, description="number of turbines [-]")
    turbine_type: str | None = Field(
        None, description="windpowerlib turbine library name, e.g. 'E-126/4200'"
    )
    power_curve_wind_speed_m_per_s: tuple[_NonNegative, ...] | None = Field(
        None, description="explicit power curve: hub-height wind speeds, increasing [m/s]"
    )
    power_curve_power_kw: tuple[_NonNegative, ...] | None = Field(
        None, description="explicit power curve: power of one turbine at 1.225 kg/m3 [kW]"
    )
    hub_height_m: float = Field(gt=0, description="hub height above ground [m]")
    wind_measurement_height_m: float = Field(
        10.0, gt=0, description="height of the weather's wind speed above ground [m]"
    )
    shear_model: Literal["power_law", "log_profile"] = "power_law"
    shear_exponent: float = Field(
        1 / 7, gt=0, lt=1, description="Hellman exponent of the power law [-]"
    )
    roughness_length_m: float = Field(
        0.15, gt=0, description="surface roughness length of the log profile [m]"
    )
    availability_frac: float = Field(0.97, gt=0, le=1, description="[0-1]")
    losses_frac: float = Field(0.05, ge=0, lt=1, description="wake + electrical losses [0-1]")
    curtailable: bool = True

    @field_validator("turbine_type")
    @classmethod
    def _known_type(cls, value: str | None) -> str | None:
        if value is not None:
            library_power_curve(value)
        return value

    @model_validator(mode="after")
    def _one_curve(self) -> WindParams:
        speeds, power = self.power_curve_wind_speed_m_per_s, self.power_curve_power_kw
        if (speeds is None) != (power is None):
            raise ValueError("power_curve_wind_speed_m_per_s and power_curve_power_kw go together")
        if (self.turbine_type is None) == (speeds is None):
            raise ValueError(
                "give exactly one of turbine_type or an explicit power curve "
                "(power_curve_wind_speed_m_per_s, power_curve_power_kw)"
            )
        if speeds is not None:
            assert power is not None  # they go together (checked above)
            if len(speeds) != len(power):
                msg = (
                    f"power_curve_wind_speed_m_per_s has {len(speeds)} points, "
                    f"power_curve_power_kw {len(power)}: they must be of equal length"
                )
                raise ValueError(msg)
            if len(speeds) < 2 or np.any(np.diff(speeds) <= 0):
                raise ValueError(
                    "power_curve_wind_speed_m_per_s needs two or more increasing speeds"
                )
            if max(power) <= 0:
                raise ValueError("power_curve_power_kw: the curve never produces power")
        if self.shear_model == "log_profile":
            lowest = min(self.wind_measurement_height_m, self.hub_height_m)
            if self.roughness_length_m >= lowest:
                msg = (
                    "roughness_length_m must be below the wind measurement and hub heights "
                    f"(the lower is {lowest} m)"
                )
                raise ValueError(msg)
        return self

    def power_curve(self) -> tuple[np.ndarray, np.ndarray]:
        """Power curve of one turbine at 1.225 kg/m3: wind speed [m/s], power [kW]."""
        if self.turbine_type is not None:
            return library_power_curve(self.turbine_type)
        return (
            np.array(self.power_curve_wind_speed_m_per_s, dtype=float),
            np.array(self.power_curve_power_kw, dtype=float),
        )

    @property
    def rated_power_kw(self) -> float:
        """Rated power of one turbine: the highest point of its power curve [kW]."""
        return float(np.max(self.power_curve()[1]))


#: onshore wind, 2030 (plant reference §2.4) [EUR/kW]
ONSHORE_WIND_CAPEX_EUR_PER_KW = 1383.0


def _turbine_defaults(p: WindParams) -> CapacityDefaults:
    """Cost of one turbine: its rated power at the onshore figure, over 30 a."""
    return CapacityDefaults(
        "turbine",
        ONSHORE_WIND_CAPEX_EUR_PER_KW * p.rated_power_kw,
        30.0,
        "onshore wind 1383 EUR/kW, DEA via PyPSA technology-data (module docstring)",
        integer=True,
    )


@register
class Wind(CurtailableGenerator):
    """Wind turbines of one type at the plant site."""

    kind = "wind"
    generation_kpi = "wind"
    Params = WindParams
    params: WindParams

    capacity_key = "n_turbines"
    capacities = {"n_turbines": _turbine_defaults}

    @property
    def power_max_kw_per_unit(self) -> float:
        """One turbine at its rated power [kW]."""
        return self.params.rated_power_kw

    def wind_speed_hub_m_per_s(self, ctx: BuildContext) -> np.ndarray:
        """Wind speed at hub height in each interval of the window [m/s]."""
        p = self.params
        return wind_speed_at_hub_m_per_s(
            self._weather(ctx, WIND_SPEED_COLUMN),
            p.wind_measurement_height_m,
            p.hub_height_m,
            p.shear_model,
            p.shear_exponent,
            p.roughness_length_m,
        )

    def available_kw(self, ctx: BuildContext) -> np.ndarray:
        """Power the turbines could deliver in each interval of the window [kW]."""
        p = self.params
        speeds, power = p.power_curve()
        return wind_power_kw(
            self._weather(ctx, WIND_SPEED_COLUMN),
            self._weather(ctx, TEMPERATURE_COLUMN),
            self._weather(ctx, PRESSURE_COLUMN),
            speeds,
            power,
            p.hub_height_m,
            p.n_turbines,
            p.wind_measurement_height_m,
            p.shear_model,
            p.shear_exponent,
            p.roughness_length_m,
            p.availability_frac,
            p.losses_frac,
        )

    def _weather(self, ctx: BuildContext, column: str) -> np.ndarray:
        if column not in ctx.series.columns:
            msg = (
                f"asset {self.name!r}: wind power needs the site weather column {column!r}, "
                "which the window's inputs do not have (give the site a weather file)"
            )
            raise ModelBuildError(msg)
        return ctx.column(column, self.name)

    def extra_columns(self, ctx: BuildContext) -> dict[str, np.ndarray]:
        """The hub-height wind speed [m/s]."""
        return {"wind_speed_hub_m_per_s": self.wind_speed_hub_m_per_s(ctx)}
