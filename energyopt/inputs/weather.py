"""Weather on the model grid, PV output with pvlib, psychrometrics.

Weather files carry ``temp_air_C`` and ``relative_humidity_pct`` and either
irradiance (``ghi_W_m2``, ``dni_W_m2``, ``dhi_W_m2``) or ``cloud_cover_pct``.
Columns are renamed to the package's names (:data:`WEATHER_COLUMNS`).

Irradiance from cloud cover (files without irradiance, e.g. reanalysis
weather): clear-sky GHI from pvlib's Ineichen model with the Linke turbidity
climatology, scaled linearly by cloud cover after Larson et al. (2016)::

    ghi = ghi_clear * (overcast + (1 - overcast) * (1 - cloud_cover_frac))

with ``overcast`` = 0.35 (Larson's offset) unless the weather source sets
``cloud_cover_overcast_frac``; then split into DNI and DHI with the Erbs et
al. (1982) decomposition. Reanalysis cloud cover (ERA5 via Open-Meteo) counts
thin cloud as full cover: with 0.35 the Frankfurt 2023 file gives 875 kWh/m2
of GHI against about 1144 kWh/m2 measured in Germany that year (DWD, "Das
Strahlungsjahr 2023", Thema des Tages 2024-01-11), so such files need a site
calibration of ``cloud_cover_overcast_frac`` against a measured annual sum.
Solar geometry is evaluated at the middle of each interval. Missing pressure
is taken from the site altitude (standard atmosphere).

Given the site's time zone, a weather file that covers one UTC calendar year
is extended to the site's local year before anything is derived from it
(typical years wrap, real years pad: see
:func:`energyopt.inputs.timeseries.fill_year_boundary`); the fill is kept in
the returned frame's ``attrs["boundary_fill"]``. Errors name the file's own
columns (``temp_air_C``), not the package's names.

References
----------
Larson, Nonnenmacher, Coimbra (2016), Day-ahead forecasting of solar power
output from photovoltaic plants in the American Southwest, Renewable Energy
91, 11-20. Erbs, Klein, Duffie (1982), Solar Energy 28(4), 293-302.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import numpy as np
import pandas as pd
import psychrolib
import pvlib

from energyopt.errors import DataError
from energyopt.inputs.timeseries import read_site_file, to_model_grid

if TYPE_CHECKING:
    from pandas.tseries.offsets import Tick

psychrolib.SetUnitSystem(psychrolib.SI)

#: triple point of water [degC]: saturation over ice at or below, over water above
TRIPLE_POINT_DEGC = 0.01
#: ratio of the molar masses of water and dry air [-] (ASHRAE 2017 ch. 1)
WATER_TO_AIR_MOLAR_MASS = 0.621945
#: smallest humidity ratio psychrolib returns [kg/kg]
MIN_HUMIDITY_RATIO = 1e-7

#: file column -> (package name, factor)
WEATHER_COLUMNS: dict[str, tuple[str, float]] = {
    "temp_air_C": ("temp_air_degc", 1.0),
    "relative_humidity_pct": ("relative_humidity_frac", 0.01),
    "dew_point_C": ("dew_point_degc", 1.0),
    "ghi_W_m2": ("ghi_w_per_m2", 1.0),
    "dni_W_m2": ("dni_w_per_m2", 1.0),
    "dhi_W_m2": ("dhi_w_per_m2", 1.0),
    "wind_speed_m_s": ("wind_speed_m_per_s", 1.0),
    "pressure_Pa": ("pressure_pa", 1.0),
    "cloud_cover_pct": ("cloud_cover_frac", 0.01),
}
IRRADIANCE = ["ghi_w_per_m2", "dni_w_per_m2", "dhi_w_per_m2"]
#: package name -> the file column it comes from (for messages)
FILE_COLUMNS: dict[str, str] = {name: column for column, (name, _) in WEATHER_COLUMNS.items()}
#: wind speed of the PV cell-temperature model where the weather has none [m/s]
#: (a weather file without wind gives wind turbines no power to guess from)
PV_DEFAULT_WIND_SPEED_M_PER_S = 1.0
LARSON_OFFSET = 0.35


def load_weather(
    path,
    latitude: float,
    longitude: float,
    altitude_m: float,
    overcast_frac: float = LARSON_OFFSET,
    timezone: str | None = None,
) -> pd.DataFrame:
    """Read a weather file and return all package weather columns on its own index.

    Derives irradiance from cloud cover (``overcast_frac``: GHI under full
    cover as a share of clear-sky GHI [0-1]) and pressure from altitude when
    the file lacks them (see the module docstring). With the site's
    ``timezone`` a year file is first extended to the local year; the
    :class:`~energyopt.inputs.timeseries.BoundaryFill` (or None) is in
    ``attrs["boundary_fill"]``.

    Raises
    ------
    DataError
        If temperature or humidity is missing, or neither irradiance nor cloud
        cover is present.
    """
    raw, fill = read_site_file(path, timezone)
    weather = pd.DataFrame(index=raw.index)
    for column, (name, factor) in WEATHER_COLUMNS.items():
        if column in raw.columns:
            weather[name] = raw[column] * factor
    for required in ("temp_air_degc", "relative_humidity_frac"):
        if required not in weather.columns:
            column = FILE_COLUMNS[required]
            msg = f"{path}: weather needs column for {required}: add a {column} column"
            raise DataError(msg)
    if "pressure_pa" not in weather.columns:
        weather["pressure_pa"] = pvlib.atmosphere.alt2pres(altitude_m)
    if not set(IRRADIANCE) <= set(weather.columns):
        if "cloud_cover_frac" not in weather.columns:
            msg = f"{path}: weather needs ghi/dni/dhi or cloud_cover_pct columns"
            raise DataError(msg)
        location = pvlib.location.Location(latitude, longitude, altitude=altitude_m)
        derived = irradiance_from_cloud_cover(location, weather["cloud_cover_frac"], overcast_frac)
        weather = weather.join(derived)
    weather.attrs["boundary_fill"] = fill
    return weather


def _wind_for_module_cooling(weather: pd.DataFrame) -> np.ndarray:
    """Wind speed for the cell-temperature model; a light breeze where none is given [m/s]."""
    if "wind_speed_m_per_s" in weather.columns:
        return weather["wind_speed_m_per_s"].to_numpy()
    return np.full(len(weather), PV_DEFAULT_WIND_SPEED_M_PER_S)


def irradiance_from_cloud_cover(
    location: pvlib.location.Location,
    cloud_cover_frac: pd.Series,
    overcast_frac: float = LARSON_OFFSET,
) -> pd.DataFrame:
    """GHI, DNI and DHI [W/m2] from cloud cover [0-1] (Larson linear + Erbs).

    ``overcast_frac`` is the GHI under full cover as a share of the clear-sky
    GHI [0-1]. The index labels interval starts; the sun is placed at the
    interval middle.
    """
    step = cloud_cover_frac.index[1] - cloud_cover_frac.index[0]
    middle = cloud_cover_frac.index + step / 2
    clear = location.get_clearsky(middle, model="ineichen")
    cover = np.clip(cloud_cover_frac.to_numpy(), 0.0, 1.0)
    ghi = clear["ghi"].to_numpy() * (overcast_frac + (1 - overcast_frac) * (1 - cover))
    zenith = location.get_solarposition(middle)["zenith"]
    split = pvlib.irradiance.erbs(ghi, zenith.to_numpy(), middle.day_of_year)
    frame = pd.DataFrame(
        {
            "ghi_w_per_m2": ghi,
            "dni_w_per_m2": split["dni"],
            "dhi_w_per_m2": split["dhi"],
        },
        index=cloud_cover_frac.index,
    )
    return frame.clip(lower=0.0).fillna(0.0)


def weather_on_grid(weather: pd.DataFrame, index: pd.DatetimeIndex, source: str) -> pd.DataFrame:
    """All weather columns on the model index, interpolated (see timeseries).

    Errors name ``source`` and the file's column (``temp_air_C``).
    """
    columns = {
        name: to_model_grid(
            weather[name], index, "interpolate", f"{source}: {FILE_COLUMNS.get(name, name)}"
        )
        for name in weather.columns
    }
    frame = pd.DataFrame(columns, index=index)
    frame[IRRADIANCE] = frame[IRRADIANCE].clip(lower=0.0)
    return frame


def pv_power_kw(
    weather: pd.DataFrame,
    latitude: float,
    longitude: float,
    altitude_m: float,
    peak_power_kwp: float,
    tilt_deg: float,
    azimuth_deg: float,
    losses_frac: float,
    temp_coefficient_per_k: float = -0.0037,
    inverter_efficiency: float = 0.96,
) -> np.ndarray:
    """AC power a PV array can deliver in each interval [kW] (PVWatts chain).

    Plane-of-array irradiance (Hay-Davies transposition), cell temperature
    (Faiman model), PVWatts DC power with a linear temperature coefficient,
    then system losses and a flat inverter efficiency, capped at the DC rating.

    Parameters
    ----------
    weather : DataFrame
        Model-grid weather with ``ghi/dni/dhi_w_per_m2``, ``temp_air_degc`` and
        optionally ``wind_speed_m_per_s`` (module cooling; without it
        :data:`PV_DEFAULT_WIND_SPEED_M_PER_S`); index labels interval starts (UTC).
    peak_power_kwp : float
        DC rating at standard test conditions. [kWp]
    tilt_deg, azimuth_deg : float
        Module tilt from horizontal and azimuth (180 = south). [deg]
    losses_frac : float
        Wiring, soiling, mismatch and availability losses. [0-1]
    temp_coefficient_per_k : float
        Relative DC power change per kelvin of cell temperature. [1/K]
    inverter_efficiency : float
        DC to AC conversion efficiency. [0-1]
    """
    index = cast(pd.DatetimeIndex, weather.index)
    # pandas-stubs type ``freq`` as any offset; a weather grid's step is a Tick
    step = pd.Timedelta(cast("Tick | None", index.freq) or (index[1] - index[0]))
    middle = index + step / 2
    location = pvlib.location.Location(latitude, longitude, altitude=altitude_m)
    sun = location.get_solarposition(middle)
    poa = pvlib.irradiance.get_total_irradiance(
        tilt_deg,
        azimuth_deg,
        sun["apparent_zenith"].to_numpy(),
        sun["azimuth"].to_numpy(),
        dni=weather["dni_w_per_m2"].to_numpy(),
        ghi=weather["ghi_w_per_m2"].to_numpy(),
        dhi=weather["dhi_w_per_m2"].to_numpy(),
        dni_extra=pvlib.irradiance.get_extra_radiation(middle).to_numpy(),
        model="haydavies",
    )
    poa_global = np.nan_to_num(np.asarray(poa["poa_global"], dtype=float), nan=0.0)
    temp_cell = pvlib.temperature.faiman(
        poa_global,
        weather["temp_air_degc"].to_numpy(),
        _wind_for_module_cooling(weather),
    )
    dc_kw = pvlib.pvsystem.pvwatts_dc(poa_global, temp_cell, peak_power_kwp, temp_coefficient_per_k)
    ac_kw = np.asarray(dc_kw) * (1.0 - losses_frac) * inverter_efficiency
    return np.clip(np.nan_to_num(ac_kw), 0.0, peak_power_kwp)


def saturation_vapour_pressure_pa(temp_degc) -> np.ndarray:
    """Saturation pressure of water vapour over ice (at or below 0.01 degC) or water [Pa].

    Hyland-Wexler fits of ASHRAE Handbook Fundamentals (2017) ch. 1 eqs. 5 and 6,
    valid from -100 to 200 degC (the relation psychrolib uses, as arrays).
    """
    temp = np.asarray(temp_degc, dtype=float)
    if temp.size and (np.nanmin(temp) < -100.0 or np.nanmax(temp) > 200.0):
        raise ValueError("temperature must be in range [-100, 200] degC")
    kelvin = temp + 273.15
    over_ice = (
        -5.6745359e03 / kelvin
        + 6.3925247
        - 9.677843e-03 * kelvin
        + 6.2215701e-07 * kelvin**2
        + 2.0747825e-09 * kelvin**3
        - 9.484024e-13 * kelvin**4
        + 4.1635019 * np.log(kelvin)
    )
    over_water = (
        -5.8002206e03 / kelvin
        + 1.3914993
        - 4.8640239e-02 * kelvin
        + 4.1764768e-05 * kelvin**2
        - 1.4452093e-08 * kelvin**3
        + 6.5459673 * np.log(kelvin)
    )
    return np.exp(np.where(temp <= TRIPLE_POINT_DEGC, over_ice, over_water))


def humidity_ratio_from_vapour_pressure(vapour_pressure_pa, pressure_pa) -> np.ndarray:
    """Humidity ratio of moist air at a vapour partial pressure [kg/kg] (ASHRAE 2017 ch. 1
    eq. 20), not below psychrolib's floor of 1e-7."""
    vapour = np.asarray(vapour_pressure_pa, dtype=float)
    ratio = WATER_TO_AIR_MOLAR_MASS * vapour / (np.asarray(pressure_pa, dtype=float) - vapour)
    return np.maximum(ratio, MIN_HUMIDITY_RATIO)


def humidity_ratio_kg_per_kg(
    temp_air_degc: np.ndarray,
    relative_humidity_frac: np.ndarray,
    pressure_pa: np.ndarray,
) -> np.ndarray:
    """Humidity ratio of moist air [kg water / kg dry air] (ASHRAE 2017 ch. 1, as psychrolib)."""
    temp = np.asarray(temp_air_degc, dtype=float)
    rh = np.clip(np.asarray(relative_humidity_frac, dtype=float), 0.0, 1.0)
    pressure = np.broadcast_to(np.asarray(pressure_pa, dtype=float), temp.shape)
    return humidity_ratio_from_vapour_pressure(rh * saturation_vapour_pressure_pa(temp), pressure)


def humidity_ratio_at_dew_point(dew_point_degc: float, pressure_pa: float = 101_325.0) -> float:
    """Humidity ratio of air with the given dew (frost) point [kg/kg]."""
    return float(humidity_ratio_at_dew_points(dew_point_degc, pressure_pa))


def humidity_ratio_at_dew_points(dew_point_degc, pressure_pa) -> np.ndarray:
    """Humidity ratio at each dew (frost) point [kg/kg]; inputs broadcast.

    The vapour pressure at a dew point is the saturation pressure there
    (ASHRAE 2017 ch. 1, as psychrolib's ``GetHumRatioFromTDewPoint``).
    """
    dew, pressure = np.broadcast_arrays(
        np.asarray(dew_point_degc, dtype=float), np.asarray(pressure_pa, dtype=float)
    )
    return humidity_ratio_from_vapour_pressure(saturation_vapour_pressure_pa(dew), pressure)


def dew_point_degc(humidity_ratio, pressure_pa, temp_air_degc=20.0) -> np.ndarray:
    """Dew (frost) point of air with the given humidity ratio [degC] (psychrolib).

    ``temp_air_degc`` only bounds the result (a dew point cannot exceed it).
    psychrolib iterates for each value; results are remembered per exact input
    (a dry room often sits at the same band edge step after step and day after day).
    """
    temp, ratio, pressure = np.broadcast_arrays(
        *(np.asarray(x, dtype=float) for x in (temp_air_degc, humidity_ratio, pressure_pa))
    )
    columns = (temp.ravel().tolist(), ratio.ravel().tolist(), pressure.ravel().tolist())
    keys = list(zip(*columns, strict=True))
    missing = [key for key in dict.fromkeys(keys) if key not in _DEW_POINTS]
    if missing:
        if len(_DEW_POINTS) + len(missing) > _DEW_POINTS_MAX:
            _DEW_POINTS.clear()
        _DEW_POINTS.update(zip(missing, _DEW_POINT(*np.array(missing).T).tolist(), strict=True))
    return np.array([_DEW_POINTS[key] for key in keys], dtype=float).reshape(temp.shape)


_DEW_POINTS: dict[tuple[float, float, float], float] = {}
_DEW_POINTS_MAX = 200_000


def moist_air_enthalpy_j_per_kg(temp_air_degc, humidity_ratio) -> np.ndarray:
    """Specific enthalpy of moist air [J per kg of dry air] (ASHRAE 2017 ch. 1 eq. 30, as
    psychrolib; dry air at 0 degC = 0)."""
    temp = np.asarray(temp_air_degc, dtype=float)
    ratio = np.asarray(humidity_ratio, dtype=float)
    if ratio.size and np.nanmin(ratio) < 0:
        raise ValueError("humidity ratio is negative")
    ratio = np.maximum(ratio, MIN_HUMIDITY_RATIO)
    return (1.006 * temp + ratio * (2501.0 + 1.86 * temp)) * 1000.0


_DEW_POINT = np.vectorize(psychrolib.GetTDewPointFromHumRatio, otypes=[float])
