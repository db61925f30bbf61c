"""A full year in a site's local time from 2023 UTC files: the boundary hours are filled
(a typical year wraps, a real year pads with its first hour) and flagged; errors name the
file's own column."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import write_series

from energyopt.engine.pipeline import load_inputs, period_index
from energyopt.errors import DataError
from energyopt.inputs.config import load_scenario
from energyopt.inputs.timeseries import fill_year_boundary, read_series_file
from energyopt.inputs.weather import load_weather, weather_on_grid

ROOT = Path(__file__).resolve().parents[1]
SITES = ROOT / "scenarios" / "sites"
DATA = ROOT / "scenarios" / "data"
YEAR = pd.date_range("2023-01-01T00:00Z", periods=8760, freq="h", name="time")


def _year_inputs(site: str) -> pd.DataFrame:
    scenario = load_scenario(SITES / site)
    return load_inputs(scenario, period_index(scenario, dt.date(2023, 1, 1), 365, "1h"))


def test_a_real_year_pads_its_first_hour_for_a_berlin_local_year():
    inputs = _year_inputs("salzgitter-de.yaml")
    assert len(inputs) == 8760
    assert inputs.index[0] == pd.Timestamp("2022-12-31T23:00Z")  # 00:00 CET
    assert not inputs.isna().to_numpy().any()
    first = inputs.iloc[0]
    assert first["price_eur_per_mwh"] == inputs["price_eur_per_mwh"].loc["2023-01-01T00:00Z"]
    assert first["temp_air_degc"] == inputs["temp_air_degc"].loc["2023-01-01T00:00Z"]
    fills = inputs.attrs["boundary_fills"]
    assert [(Path(f.file).name, f.rule, f.first, f.hours) for f in fills] == [
        ("weather_frankfurt_2023.csv", "pad", "2022-12-31T23:00Z", 1.0),
        ("prices_DE-LU_2023.csv", "pad", "2022-12-31T23:00Z", 1.0),
        ("co2_DE_2023.csv", "pad", "2022-12-31T23:00Z", 1.0),
    ]


def test_a_typical_year_wraps_from_its_last_hours():
    inputs = _year_inputs("dunkirk-fr.yaml")
    lille = read_series_file(DATA / "weather_lille_pvgis-tmy.csv")
    assert inputs["temp_air_degc"].iloc[0] == lille["temp_air_C"].loc["2023-12-31T23:00Z"]
    assert {Path(f.file).name: f.rule for f in inputs.attrs["boundary_fills"]} == {
        "weather_lille_pvgis-tmy.csv": "wrap",
        "prices_FR_2023.csv": "pad",
        "co2_FR_2023.csv": "pad",
    }


def test_the_fill_is_flagged_in_one_line():
    fill = _year_inputs("skelleftea-se1.yaml").attrs["boundary_fills"][0]
    assert fill.text() == (
        f"{fill.file}: 1 h at the year boundary filled "
        "(typical year, wrapped from the other end of the year): 2022-12-31T23:00Z"
    )


def test_a_run_inside_the_year_flags_nothing():
    scenario = load_scenario(SITES / "salzgitter-de.yaml")
    assert load_inputs(scenario, period_index(scenario)).attrs["boundary_fills"] == ()


@pytest.mark.parametrize(
    ("name", "timezone", "stamps", "values"),
    [
        # UTC+2: two hours before the file; a typical year takes its last two hours
        ("w_tmy.csv", "Europe/Helsinki", ["2022-12-31T22:00Z", "2022-12-31T23:00Z"], [8758, 8759]),
        ("w_2023.csv", "Europe/Helsinki", ["2022-12-31T22:00Z", "2022-12-31T23:00Z"], [0, 0]),
        # UTC-5: the local year ends at 2024-01-01T05:00Z, five hours after the file
        ("w_tmy.csv", "America/New_York", ["2024-01-01T00:00Z", "2024-01-01T04:00Z"], [0, 4]),
        ("w_2023.csv", "America/New_York", ["2024-01-01T00:00Z", "2024-01-01T04:00Z"], [8759] * 2),
    ],
)
def test_wrap_and_pad_by_hand(tmp_path, name, timezone, stamps, values):
    path = write_series(tmp_path / name, YEAR, temp_air_C=np.arange(8760) % 60)
    frame = read_series_file(path)
    frame["temp_air_C"] = np.arange(8760, dtype=float)  # hour number, to read the source back
    filled, fill = fill_year_boundary(frame, path, timezone)
    assert filled.loc[pd.DatetimeIndex(stamps), "temp_air_C"].tolist() == values
    assert fill is not None
    assert fill.rule == ("wrap" if "tmy" in name else "pad")
    assert len(filled) - len(frame) == fill.hours


def test_a_file_not_starting_at_new_year_is_left_alone(tmp_path):
    path = write_series(tmp_path / "w.csv", YEAR[100:200], temp_air_C=5.0)
    frame = read_series_file(path)
    filled, fill = fill_year_boundary(frame, path, "Europe/Berlin")
    assert fill is None
    assert filled is frame


def test_a_short_weather_file_names_its_own_column(tmp_path):
    path = write_series(
        tmp_path / "short.csv", YEAR[3720:3768], temp_air_C=15.0, relative_humidity_pct=60.0,
        cloud_cover_pct=50.0,
    )  # fmt: skip
    weather = load_weather(path, 50.0, 8.0, 100.0, timezone="Europe/Berlin")
    index = pd.date_range("2023-06-05T00:00Z", periods=72, freq="h", name="time")
    with pytest.raises(DataError) as caught:
        weather_on_grid(weather, index, str(path))
    message = str(caught.value)
    assert message.startswith(f"{path}: temp_air_C: data covers 2023-06-05T00:00Z")
    assert "temp_air_degc" not in message


def test_the_day_after_the_local_year_is_still_missing():
    scenario = load_scenario(SITES / "salzgitter-de.yaml")
    with pytest.raises(DataError, match=r"weather_frankfurt_2023\.csv: temp_air_C: data covers"):
        load_inputs(scenario, period_index(scenario, dt.date(2024, 1, 1), 1, "1h"))
