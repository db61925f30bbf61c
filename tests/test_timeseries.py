"""Time grid, CSV validation and resampling onto the model step."""

from __future__ import annotations

import datetime as dt
import os

import numpy as np
import pandas as pd
import pytest
from helpers import index, write_series
from numpy.testing import assert_allclose

from energyopt.errors import DataError, ScenarioError
from energyopt.inputs.timeseries import dt_h, fmt_time, make_index, read_series_file, to_model_grid

# ------------------------------------------------------------------------- time grid


def test_make_index_is_utc_left_labelled_from_local_midnight():
    idx = make_index(dt.date(2023, 6, 5), 1, "15min", "Europe/Berlin")
    assert len(idx) == 96
    assert str(idx.tz) == "UTC"
    assert idx.name == "time"
    assert idx.freq == pd.Timedelta("15min")
    assert idx[0] == pd.Timestamp("2023-06-04T22:00Z")  # 00:00 CEST
    assert idx[-1] == pd.Timestamp("2023-06-05T21:45Z")


@pytest.mark.parametrize(
    ("day", "hours"),
    [(dt.date(2023, 3, 26), 23), (dt.date(2023, 10, 29), 25), (dt.date(2023, 6, 5), 24)],
)
def test_make_index_daylight_saving_days_have_their_real_length(day, hours):
    assert len(make_index(day, 1, "1h", "Europe/Berlin")) == hours
    assert len(make_index(day, 1, "15min", "Europe/Berlin")) == 4 * hours


def test_dt_h_follows_the_step():
    assert dt_h(make_index(dt.date(2023, 1, 1), 1, "15min", "UTC")) == 0.25
    assert dt_h(make_index(dt.date(2023, 1, 1), 1, "1h", "UTC")) == 1.0


def test_dt_h_needs_a_fixed_step():
    irregular = pd.DatetimeIndex(["2023-01-01T00:00Z", "2023-01-01T01:00Z", "2023-01-01T03:00Z"])
    with pytest.raises(DataError, match="no fixed step"):
        dt_h(irregular)


def test_fmt_time_is_utc_minutes():
    assert fmt_time(pd.Timestamp("2023-06-05T02:30+02:00")) == "2023-06-05T00:30Z"


# ----------------------------------------------------------------------- CSV checks


def _csv(tmp_path, text: str, name: str = "series.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _message(path) -> str:
    with pytest.raises(DataError) as info:
        read_series_file(path)
    return str(info.value)


def test_reads_a_valid_file(tmp_path):
    path = write_series(tmp_path / "ok.csv", index(3), price_eur_per_mwh=[10.0, -5.0, 20.0])
    frame = read_series_file(path)
    assert list(frame.columns) == ["price_eur_per_mwh"]
    assert str(frame.index.tz) == "UTC"
    assert_allclose(frame["price_eur_per_mwh"], [10.0, -5.0, 20.0])


def test_gap_names_file_and_time_stamps(tmp_path):
    path = _csv(
        tmp_path,
        "timestamp_utc,price_eur_per_mwh\n"
        "2023-06-05T00:00:00Z,1\n2023-06-05T01:00:00Z,2\n2023-06-05T02:00:00Z,3\n"
        "2023-06-05T04:00:00Z,4\n2023-06-05T05:00:00Z,5\n",
    )
    assert _message(path) == (
        f"{path}: gap after 2023-06-05T02:00Z: next row is 2023-06-05T04:00Z, "
        "expected 2023-06-05T03:00Z"
    )


def test_duplicate_time_stamp(tmp_path):
    path = _csv(
        tmp_path,
        "timestamp_utc,x_kw\n2023-06-05T00:00Z,1\n2023-06-05T01:00Z,2\n2023-06-05T01:00Z,3\n",
    )
    assert _message(path) == f"{path}: duplicate time stamp 2023-06-05T01:00Z"


def test_unsorted_time_stamps(tmp_path):
    path = _csv(
        tmp_path,
        "timestamp_utc,x_kw\n2023-06-05T01:00Z,1\n2023-06-05T02:00Z,2\n2023-06-05T00:00Z,3\n",
    )
    assert _message(path) == f"{path}: unsorted time stamp 2023-06-05T00:00Z"


def test_time_stamps_without_utc_marker_are_rejected(tmp_path):
    path = _csv(
        tmp_path,
        "timestamp_utc,x_kw\n2023-06-05T00:00Z,1\n2023-06-05T03:00+02:00,2\n",
    )
    assert _message(path) == (
        f"{path}: timestamp_utc row 3 ('2023-06-05T03:00+02:00') is not UTC; "
        "write time stamps as ISO 8601 with 'Z'"
    )


def test_naive_time_stamps_are_rejected(tmp_path):
    path = _csv(tmp_path, "timestamp_utc,x_kw\n2023-06-05 00:00,1\n2023-06-05 01:00,2\n")
    assert "row 2 ('2023-06-05 00:00') is not UTC" in _message(path)


def test_explicit_zero_offset_is_utc(tmp_path):
    path = _csv(
        tmp_path, "timestamp_utc,x_kw\n2023-06-05T00:00+00:00,1\n2023-06-05T01:00+00:00,2\n"
    )
    assert read_series_file(path).index[1] == pd.Timestamp("2023-06-05T01:00Z")


def test_missing_value_names_column_and_time(tmp_path):
    path = _csv(
        tmp_path,
        "timestamp_utc,a_kw,b_kw\n2023-06-05T00:00Z,1,1\n2023-06-05T01:00Z,,2\n"
        "2023-06-05T02:00Z,3,3\n",
    )
    assert (
        _message(path) == f"{path}: column a_kw: missing or non-numeric value at 2023-06-05T01:00Z"
    )


def test_non_numeric_value(tmp_path):
    path = _csv(tmp_path, "timestamp_utc,a_kw\n2023-06-05T00:00Z,1\n2023-06-05T01:00Z,n/a\n")
    assert "column a_kw: missing or non-numeric value at 2023-06-05T01:00Z" in _message(path)


@pytest.mark.parametrize(
    ("column", "value", "bounds"),
    [
        ("relative_humidity_pct", 130.0, "[0.0, 100.0]"),
        ("temp_air_C", 85.0, "[-90.0, 70.0]"),
        ("ghi_W_m2", -3.0, "[0.0, 1500.0]"),
        ("demand_kw", -1.0, "[0.0, inf]"),
        ("price_eur_per_mwh", 50_000.0, "[-5000.0, 20000.0]"),
    ],
)
def test_values_outside_physical_range(tmp_path, column, value, bounds):
    path = write_series(tmp_path / "r.csv", index(3), **{column: [1.0, value, 1.0]})
    assert _message(path) == (
        f"{path}: column {column}: value {value} at 2023-06-05T01:00Z "
        f"is outside the physical range {bounds}"
    )


def test_negative_prices_are_valid(tmp_path):
    path = write_series(tmp_path / "p.csv", index(2), price_eur_per_mwh=[-500.0, 10.0])
    assert read_series_file(path)["price_eur_per_mwh"].iloc[0] == -500.0


def test_file_without_time_column(tmp_path):
    path = _csv(tmp_path, "time,x_kw\n2023-06-05T00:00Z,1\n2023-06-05T01:00Z,1\n")
    assert _message(path) == f"{path}: no 'timestamp_utc' column"


def test_file_with_one_row(tmp_path):
    path = _csv(tmp_path, "timestamp_utc,x_kw\n2023-06-05T00:00Z,1\n")
    assert _message(path) == f"{path}: needs at least two rows"


def test_missing_file(tmp_path):
    assert _message(tmp_path / "absent.csv").startswith(
        f"{tmp_path / 'absent.csv'}: cannot read file"
    )


def test_edited_file_is_read_again(tmp_path):
    """The file cache is keyed by modification time, so an edit is seen."""
    path = write_series(tmp_path / "e.csv", index(2), x_kw=1.0)
    assert read_series_file(path)["x_kw"].iloc[0] == 1.0
    mtime_ns = path.stat().st_mtime_ns
    write_series(path, index(2), x_kw=2.0)
    os.utime(path, ns=(mtime_ns + 1_000_000, mtime_ns + 1_000_000))
    assert read_series_file(path)["x_kw"].iloc[0] == 2.0


def test_changing_a_returned_frame_leaves_the_cache_alone(tmp_path):
    path = write_series(tmp_path / "c.csv", index(2), x_kw=1.0)
    first = read_series_file(path)
    first["x_kw"] = 99.0
    assert read_series_file(path)["x_kw"].iloc[0] == 1.0


# ------------------------------------------------------------------------ resampling


@pytest.fixture
def hourly() -> pd.Series:
    """Hourly values 0, 4, 8, 12 from 00:00 to 03:00 UTC."""
    return pd.Series([0.0, 4.0, 8.0, 12.0], index=index(4, "1h"))


def test_hold_repeats_each_hour_on_15_minutes(hourly):
    model = index(8, "15min")
    grid = to_model_grid(hourly, model, "hold")
    assert_allclose(grid, [0, 0, 0, 0, 4, 4, 4, 4])
    assert grid.index.equals(model)


def test_interpolate_reads_a_line_through_interval_middles(hourly):
    """Hour h's value sits at h:30; 15-min interval middles lie at :07.5, :22.5, ..."""
    grid = to_model_grid(hourly, index(12, "15min"), "interpolate")
    # 00:00-00:30 hold the first value (before the first middle), then slope 4 per hour
    expected = [0, 0, 0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5]
    assert_allclose(grid, expected)


def test_interpolate_keeps_the_energy_of_a_linear_ramp(hourly):
    """Away from the ends, the mean over each hour equals the hourly value."""
    grid = to_model_grid(hourly, index(16, "15min"), "interpolate")
    hourly_means = grid.to_numpy().reshape(4, 4).mean(axis=1)
    assert_allclose(hourly_means[1:3], hourly.to_numpy()[1:3])


def test_both_rules_leave_data_on_the_model_step_unchanged(hourly):
    for method in ("hold", "interpolate"):
        assert_allclose(to_model_grid(hourly, index(4, "1h"), method), hourly)


def test_finer_data_is_averaged_over_each_model_interval():
    quarter = pd.Series(np.arange(8.0), index=index(8, "15min"))
    grid = to_model_grid(quarter, index(2, "1h"), "hold")
    assert_allclose(grid, [1.5, 5.5])


def test_model_period_outside_the_data_names_both_ranges(hourly):
    model = index(8, "1h", "2023-06-05T01:00Z")
    with pytest.raises(DataError) as info:
        to_model_grid(hourly, model, "hold", source="prices.csv: price_eur_per_mwh")
    assert str(info.value) == (
        "prices.csv: price_eur_per_mwh: data covers 2023-06-05T00:00Z to 2023-06-05T04:00Z "
        "but the model needs 2023-06-05T01:00Z to 2023-06-05T09:00Z"
    )


def test_model_period_starting_before_the_data(hourly):
    with pytest.raises(DataError, match="but the model needs 2023-06-04T23:00Z"):
        to_model_grid(hourly, index(2, "1h", "2023-06-04T23:00Z"), "hold")


def test_last_interval_of_the_data_covers_the_model_end(hourly):
    """Four hourly rows cover 00:00-04:00, so 16 quarter-hours fit exactly."""
    assert len(to_model_grid(hourly, index(16, "15min"), "hold")) == 16


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ("soon", "step 'soon' is not a duration (use e.g. 15min or 1h)"),
        ("7min", "step '7min' must be positive and divide a day (e.g. 15min or 1h)"),
        ("0min", "step '0min' must be positive and divide a day (e.g. 15min or 1h)"),
    ],
)
def test_make_index_rejects_a_step_that_does_not_divide_a_day(step, message):
    with pytest.raises(ScenarioError) as info:
        make_index(dt.date(2023, 6, 5), 1, step, "UTC")
    assert str(info.value) == message


def test_hourly_data_on_an_hourly_grid_shifted_by_half_an_hour(hourly):
    """Sites at UTC+05:30 start their local day at hh:30 UTC: hold takes the hour the
    interval starts in, interpolate the value at its middle (between two hours)."""
    model = index(3, "1h", "2023-06-05T00:30Z")
    assert_allclose(to_model_grid(hourly, model, "hold"), [0.0, 4.0, 8.0])
    assert_allclose(to_model_grid(hourly, model, "interpolate"), [2.0, 6.0, 10.0])


def test_make_index_for_a_half_hour_time_zone_reads_hourly_data():
    idx = make_index(dt.date(2023, 6, 5), 1, "1h", "Asia/Kolkata")
    assert idx[0] == pd.Timestamp("2023-06-04T18:30Z")
    long_hourly = pd.Series(np.arange(48.0), index=index(48, "1h", "2023-06-04T12:00Z"))
    grid = to_model_grid(long_hourly, idx, "hold")
    assert not grid.isna().any()
    assert grid.iloc[0] == 6.0  # the 18:00 value holds from 18:30
