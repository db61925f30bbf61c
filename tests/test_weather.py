"""Weather files, irradiance from cloud cover, PV output and psychrometrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import psychrolib
import pvlib
import pytest
from helpers import index, write_series
from numpy.testing import assert_allclose

from energyopt.errors import DataError
from energyopt.inputs.config import load_scenario
from energyopt.inputs.weather import (
    humidity_ratio_at_dew_point,
    humidity_ratio_at_dew_points,
    humidity_ratio_kg_per_kg,
    irradiance_from_cloud_cover,
    load_weather,
    moist_air_enthalpy_j_per_kg,
    pv_power_kw,
    saturation_vapour_pressure_pa,
    weather_on_grid,
)

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
FRANKFURT = SCENARIOS / "example-frankfurt.yaml"
LILLE_FILE = SCENARIOS / "data" / "weather_lille_pvgis-tmy.csv"
#: German mean annual GHI 2023 [kWh/m2] (DWD, "Das Strahlungsjahr 2023", 2024-01-11)
DWD_GHI_2023_KWH_PER_M2 = 1144.0


@pytest.fixture(scope="module")
def frankfurt():
    """Frankfurt scenario's site and the year of weather it derives (hourly)."""
    site = load_scenario(FRANKFURT).site
    weather = load_weather(
        site.weather.file,
        site.latitude,
        site.longitude,
        site.altitude_m,
        site.weather.cloud_cover_overcast_frac,
    )
    return site, weather


def _day(step: str = "1h", day: str = "2023-06-21") -> pd.DatetimeIndex:
    n = int(pd.Timedelta("1D") / pd.Timedelta(step))
    return index(n, step, f"{day}T00:00Z")


# ---------------------------------------------------------------- cloud cover -> GHI


@pytest.fixture
def location():
    return pvlib.location.Location(50.1, 8.7, altitude=100)


def _clear_ghi(location, idx: pd.DatetimeIndex) -> np.ndarray:
    middle = idx + pd.Timedelta(idx.freq) / 2
    return location.get_clearsky(middle, model="ineichen")["ghi"].to_numpy()


def test_no_cloud_gives_clear_sky_ghi(location):
    idx = _day()
    derived = irradiance_from_cloud_cover(location, pd.Series(0.0, index=idx))
    assert_allclose(derived["ghi_w_per_m2"], 1.0 * _clear_ghi(location, idx), atol=1e-9)
    assert derived["ghi_w_per_m2"].max() > 800  # June noon at 50 N


def test_full_cover_gives_larson_share_of_clear_sky(location):
    idx = _day()
    derived = irradiance_from_cloud_cover(location, pd.Series(1.0, index=idx))
    assert_allclose(derived["ghi_w_per_m2"], 0.35 * _clear_ghi(location, idx), atol=1e-9)


def test_half_cover_is_linear_between_the_ends(location):
    idx = _day()
    derived = irradiance_from_cloud_cover(location, pd.Series(0.5, index=idx), overcast_frac=0.6)
    assert_allclose(derived["ghi_w_per_m2"], 0.8 * _clear_ghi(location, idx), atol=1e-9)


def test_split_is_non_negative_and_closes_on_the_horizontal(location):
    idx = _day("15min")
    cover = pd.Series(np.linspace(0, 1, len(idx)), index=idx)
    derived = irradiance_from_cloud_cover(location, cover)
    assert (derived >= 0).all().all()
    middle = idx + pd.Timedelta("7.5min")
    zenith = location.get_solarposition(middle)["zenith"].to_numpy()
    up = zenith < 85
    closure = derived["dni_w_per_m2"] * np.cos(np.radians(zenith)) + derived["dhi_w_per_m2"]
    assert_allclose(closure[up], derived["ghi_w_per_m2"][up], rtol=1e-6, atol=1e-6)
    assert (derived["ghi_w_per_m2"][zenith > 90] == 0).all()


def test_frankfurt_annual_ghi_matches_the_measured_german_mean(frankfurt):
    """The calibrated overcast share reproduces the DWD 2023 mean within 2 %."""
    _, weather = frankfurt
    ghi_kwh_per_m2 = weather["ghi_w_per_m2"].sum() / 1000.0  # hourly rows: W -> Wh
    assert ghi_kwh_per_m2 == pytest.approx(DWD_GHI_2023_KWH_PER_M2, rel=0.02)


def test_frankfurt_annual_pv_yield_is_plausible(frankfurt):
    """South-facing 15 deg array: 850-1150 kWh/kWp (central Germany, 14 % losses)."""
    site, weather = frankfurt
    year = pd.date_range("2023-01-01", periods=8760, freq="1h", tz="UTC", name="time")
    on_grid = weather_on_grid(weather, year, "frankfurt")
    power = pv_power_kw(on_grid, site.latitude, site.longitude, site.altitude_m, 1.0, 15, 180, 0.14)
    assert 850 <= power.sum() <= 1150


def test_lille_file_irradiance_is_used_as_given():
    weather = load_weather(LILLE_FILE, 50.63, 3.06, 30)
    assert weather["ghi_w_per_m2"].sum() / 1000.0 == pytest.approx(1099.7, abs=0.1)
    assert "cloud_cover_frac" not in weather.columns
    assert weather["pressure_pa"].iloc[0] == 103249  # file pressure, not altitude


# ------------------------------------------------------------------------ weather file


def test_load_weather_renames_and_converts_columns(tmp_path):
    path = write_series(
        tmp_path / "w.csv",
        index(3),
        temp_air_C=[10.0, 11.0, 12.0],
        relative_humidity_pct=[50.0, 60.0, 70.0],
        cloud_cover_pct=[0.0, 50.0, 100.0],
    )
    weather = load_weather(path, 50.1, 8.7, 500.0)
    assert_allclose(weather["relative_humidity_frac"], [0.5, 0.6, 0.7])
    assert_allclose(weather["cloud_cover_frac"], [0.0, 0.5, 1.0])
    assert_allclose(weather["pressure_pa"], pvlib.atmosphere.alt2pres(500.0))
    # no wind is invented: wind turbines need the measured one (PV cooling falls back itself)
    assert "wind_speed_m_per_s" not in weather.columns
    assert {"ghi_w_per_m2", "dni_w_per_m2", "dhi_w_per_m2"} <= set(weather.columns)


def test_pv_without_wind_in_the_weather_assumes_a_light_breeze_for_cooling():
    from energyopt.inputs.weather import PV_DEFAULT_WIND_SPEED_M_PER_S, pv_power_kw

    idx = pd.date_range("2023-06-21T10:00Z", periods=3, freq="1h")
    sunny = {"ghi_w_per_m2": 800.0, "dni_w_per_m2": 700.0, "dhi_w_per_m2": 120.0}
    still = pd.DataFrame({**sunny, "temp_air_degc": 25.0}, index=idx)
    breeze = still.assign(wind_speed_m_per_s=PV_DEFAULT_WIND_SPEED_M_PER_S)
    args = (50.1, 8.7, 100.0, 1000.0, 20.0, 180.0, 0.14, -0.0037, 0.96)
    assert_allclose(pv_power_kw(still, *args), pv_power_kw(breeze, *args))
    windy = still.assign(wind_speed_m_per_s=8.0)
    assert (pv_power_kw(windy, *args) > pv_power_kw(still, *args)).all()  # cooler cells


def test_weather_without_humidity_is_rejected(tmp_path):
    path = write_series(tmp_path / "w.csv", index(2), temp_air_C=10.0, cloud_cover_pct=0.0)
    with pytest.raises(DataError, match=r"w\.csv: weather needs column for relative_humidity_frac"):
        load_weather(path, 50.0, 8.0, 0.0)


def test_weather_without_irradiance_or_cloud_cover_is_rejected(tmp_path):
    path = write_series(tmp_path / "w.csv", index(2), temp_air_C=10.0, relative_humidity_pct=50.0)
    with pytest.raises(DataError, match="weather needs ghi/dni/dhi or cloud_cover_pct columns"):
        load_weather(path, 50.0, 8.0, 0.0)


def test_weather_on_grid_interpolates_every_column():
    hourly = pd.DataFrame(
        {"temp_air_degc": [10.0, 14.0, 18.0], "ghi_w_per_m2": [0.0, 0.0, 0.0]}, index=index(3)
    )
    hourly["dni_w_per_m2"] = hourly["dhi_w_per_m2"] = 0.0
    grid = weather_on_grid(hourly, index(8, "15min"), "w.csv")
    assert_allclose(grid["temp_air_degc"], [10, 10, 10.5, 11.5, 12.5, 13.5, 14.5, 15.5])


# ------------------------------------------------------------------------------- PV


@pytest.fixture(scope="module")
def lille_june():
    """A sunny June day of Lille weather (7.9 kWh/m2 GHI) at 15 min."""
    weather = load_weather(LILLE_FILE, 50.63, 3.06, 30)
    return weather_on_grid(weather, _day("15min", "2023-06-10"), "lille")


def test_pv_is_zero_at_night_and_capped_at_the_rating(lille_june):
    power = pv_power_kw(lille_june, 50.63, 3.06, 30, 100.0, 30, 180, 0.14)
    hours = lille_june.index.hour
    assert (power[(hours < 3) | (hours >= 21)] == 0).all()
    assert power.max() > 40
    assert (power <= 100.0).all()


def test_pv_scales_with_the_rating(lille_june):
    small = pv_power_kw(lille_june, 50.63, 3.06, 30, 100.0, 30, 180, 0.14)
    large = pv_power_kw(lille_june, 50.63, 3.06, 30, 250.0, 30, 180, 0.14)
    assert_allclose(large, 2.5 * small)


def test_pv_losses_and_inverter_scale_the_output(lille_june):
    base = pv_power_kw(lille_june, 50.63, 3.06, 30, 100.0, 30, 180, 0.0, inverter_efficiency=1.0)
    lossy = pv_power_kw(lille_june, 50.63, 3.06, 30, 100.0, 30, 180, 0.1, inverter_efficiency=0.9)
    assert_allclose(lossy, 0.81 * base, atol=1e-9)


def test_hot_modules_produce_less_by_the_temperature_coefficient(lille_june):
    """PVWatts: P = A (1 + gamma (T_cell - 25)), linear in the air temperature.

    20 K warmer air means 20 K warmer cells, so the slope gives A = slope / gamma
    and with it the cell temperature of the normal case, which must be what a
    sunny June noon gives (30-70 degC) for gamma = -0.37 %/K.
    """
    gamma = -0.0037
    normal = pv_power_kw(lille_june, 50.63, 3.06, 30, 100.0, 30, 180, 0.14)
    warm10 = pv_power_kw(
        lille_june.assign(temp_air_degc=lille_june["temp_air_degc"] + 10.0),
        50.63,
        3.06,
        30,
        100.0,
        30,
        180,
        0.14,
    )
    warm20 = pv_power_kw(
        lille_june.assign(temp_air_degc=lille_june["temp_air_degc"] + 20.0),
        50.63,
        3.06,
        30,
        100.0,
        30,
        180,
        0.14,
    )
    noon = int(np.argmax(normal))
    assert warm20[noon] < warm10[noon] < normal[noon]
    assert warm10[noon] - normal[noon] == pytest.approx(warm20[noon] - warm10[noon], rel=1e-9)
    amplitude = (warm10[noon] - normal[noon]) / 10.0 / gamma
    temp_cell = 25 + (normal[noon] / amplitude - 1) / gamma
    assert 30 < temp_cell < 70


def test_pv_energy_at_15_min_and_1_h_agree_within_1_percent(frankfurt):
    site, weather = frankfurt
    energies = []
    for step, dt_h in (("15min", 0.25), ("1h", 1.0)):
        idx = index(int(14 * 24 / dt_h), step, "2023-06-05T00:00Z")
        grid = weather_on_grid(weather, idx, "frankfurt")
        power = pv_power_kw(
            grid, site.latitude, site.longitude, site.altitude_m, 1.0, 15, 180, 0.14
        )
        energies.append(power.sum() * dt_h)
    assert energies[0] == pytest.approx(energies[1], rel=0.01)


# ---------------------------------------------------------------------- psychrometrics


def test_humidity_ratio_matches_the_hand_value():
    """20 degC, 50 % RH, sea level: p_ws = 2339 Pa -> W = 0.622 p_w / (p - p_w)."""
    p_w = 0.5 * 2339.3
    expected = 0.621945 * p_w / (101_325.0 - p_w)
    got = humidity_ratio_kg_per_kg(np.array([20.0]), np.array([0.5]), np.array([101_325.0]))
    assert got[0] == pytest.approx(expected, rel=2e-3)


def test_humidity_ratio_at_a_dry_room_frost_point():
    """-50 degC frost point: p_ws over ice = 3.94 Pa -> about 24 mg water per kg air."""
    expected = 0.621945 * 3.94 / (101_325.0 - 3.94)
    assert humidity_ratio_at_dew_point(-50.0) == pytest.approx(expected, rel=1e-2)


def test_array_psychrometrics_equal_psychrolib_over_ice_and_water():
    """The array forms follow psychrolib (ASHRAE 2017 ch. 1) from -60 to 45 degC."""
    rng = np.random.default_rng(7)
    temp = np.concatenate([rng.uniform(-60.0, 45.0, 500), [0.01, 0.0100001, -100.0, 200.0]])
    rh = rng.uniform(0.0, 1.0, temp.size)
    pressure = rng.uniform(85_000.0, 104_000.0, temp.size)
    ratio = humidity_ratio_kg_per_kg(temp, rh, pressure)
    rows = zip(temp, rh, pressure, strict=True)
    expected = [psychrolib.GetHumRatioFromRelHum(*args) for args in rows]
    assert_allclose(ratio, expected, rtol=1e-12)
    at_dew = humidity_ratio_at_dew_points(temp[:-1], pressure[:-1])  # 200 degC: no dew point
    rows = zip(temp[:-1], pressure[:-1], strict=True)
    expected = [psychrolib.GetHumRatioFromTDewPoint(*args) for args in rows]
    assert_allclose(at_dew, expected, rtol=1e-12)
    enthalpy = moist_air_enthalpy_j_per_kg(temp, ratio)
    expected = [psychrolib.GetMoistAirEnthalpy(t, w) for t, w in zip(temp, ratio, strict=True)]
    assert_allclose(enthalpy, expected, rtol=1e-12, atol=1e-9)


def test_psychrometrics_outside_their_range_are_refused():
    with pytest.raises(ValueError, match=r"\[-100, 200\] degC"):
        saturation_vapour_pressure_pa(np.array([20.0, -120.0]))
    with pytest.raises(ValueError, match="humidity ratio is negative"):
        moist_air_enthalpy_j_per_kg(20.0, np.array([-0.001]))
