"""Production calendar and local days: weekly periods, DST, window edges, daily values."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal
from pydantic import ValidationError

from energyopt.errors import ModelBuildError
from energyopt.inputs.production import (
    LocalDay,
    ProductionCalendar,
    TargetNames,
    daily_target_bounds,
    daily_values,
    day_index,
    in_production,
    minute_of_week,
    production_hours,
    scaled_daily_targets,
    window_days,
)
from energyopt.inputs.timeseries import make_index

BERLIN = "Europe/Berlin"


def calendar(*periods: tuple[str, str], shutdown=()) -> ProductionCalendar:
    weekly = [{"start": a, "end": b} for a, b in periods] if periods else None
    return ProductionCalendar.model_validate({"weekly": weekly, "shutdown_dates": shutdown})


def test_minute_of_week_hand_values():
    assert minute_of_week("mon 00:00") == 0
    assert minute_of_week("tue 06:30") == 1440 + 390
    assert minute_of_week("sun 24:00") == 7 * 1440


@pytest.mark.parametrize("text", ["monday 06:00", "mon 6:00", "mon 24:30", "xyz 01:00"])
def test_malformed_weekly_times_are_rejected(text):
    with pytest.raises(ValidationError, match="weekly time|between 00:00 and 24:00"):
        calendar((text, "fri 22:00"))


def test_empty_period_is_rejected():
    with pytest.raises(ValidationError, match="same moment"):
        calendar(("mon 00:00", "sun 24:00"))


def test_without_weekly_periods_every_interval_produces():
    idx = make_index(dt.date(2023, 6, 5), 7, "1h", BERLIN)
    assert in_production(idx, BERLIN, ProductionCalendar()).all()


def test_period_wrapping_over_the_week_end_in_local_time():
    """Sunday 22:00 to Saturday 06:00 local: a Saturday 05:00-07:00 and Sunday 21:00-23:00."""
    cal = calendar(("sun 22:00", "sat 06:00"))
    saturday = pd.DatetimeIndex(
        ["2023-06-10T03:00Z", "2023-06-10T04:00Z", "2023-06-11T19:00Z", "2023-06-11T20:00Z"]
    )
    # 05:00, 06:00 Saturday and 21:00, 22:00 Sunday in Berlin (UTC+2)
    assert_array_equal(in_production(saturday, BERLIN, cal), [True, False, False, True])


def test_shutdown_dates_stop_production_for_the_whole_local_day():
    idx = make_index(dt.date(2023, 6, 5), 2, "1h", BERLIN)
    producing = in_production(idx, BERLIN, calendar(shutdown=[dt.date(2023, 6, 6)]))
    assert producing[:24].all()
    assert not producing[24:].any()


def test_daylight_saving_days_have_23_and_25_hours():
    assert len(day_index(dt.date(2023, 3, 26), BERLIN, "1h")) == 23
    assert len(day_index(dt.date(2023, 10, 29), BERLIN, "15min")) == 100
    assert production_hours(dt.date(2023, 10, 29), BERLIN, ProductionCalendar(), "1h") == 25.0


def test_production_hours_within_bounds():
    cal = calendar(("mon 06:00", "mon 22:00"))
    day = dt.date(2023, 6, 5)  # a Monday
    assert production_hours(day, "UTC", cal, "15min") == 16.0
    start = pd.Timestamp("2023-06-05T10:00Z")
    assert production_hours(day, "UTC", cal, "15min", start=start) == 12.0
    assert production_hours(day, "UTC", cal, "1h", end=start) == 4.0


def test_window_days_mark_the_cut_edges():
    idx = pd.date_range("2023-06-05T06:00Z", periods=48, freq="1h", name="time")
    days = window_days(idx, "UTC")
    assert days == [
        LocalDay(dt.date(2023, 6, 5), 0, 18, starts_before=True, ends_after=False),
        LocalDay(dt.date(2023, 6, 6), 18, 42, starts_before=False, ends_after=False),
        LocalDay(dt.date(2023, 6, 7), 42, 48, starts_before=False, ends_after=True),
    ]
    assert days[1].last == 41


def test_window_days_in_local_time():
    idx = make_index(dt.date(2023, 6, 5), 1, "15min", BERLIN)
    days = window_days(idx, BERLIN)
    assert days == [LocalDay(dt.date(2023, 6, 5), 0, 96, False, False)]


def test_daily_values_take_one_value_per_day_and_reject_changes():
    idx = pd.date_range("2023-06-05T00:00Z", periods=48, freq="1h", name="time")
    days = window_days(idx, "UTC")
    values = np.r_[np.full(24, 5.0), np.full(24, 7.0)]
    assert daily_values(values, days, idx, "plan") == {
        dt.date(2023, 6, 5): 5.0,
        dt.date(2023, 6, 6): 7.0,
    }
    values[30] = 8.0
    with pytest.raises(ModelBuildError, match="plan: value changes within local day 2023-06-06"):
        daily_values(values, days, idx, "plan")


def test_scaled_daily_targets_follow_production_hours():
    idx = make_index(dt.date(2023, 10, 28), 3, "1h", BERLIN)  # Sat, Sun (25 h), Mon
    days = window_days(idx, BERLIN)
    weekdays = calendar(("mon 00:00", "sat 00:00"))
    assert scaled_daily_targets(days, BERLIN, weekdays, "1h", 240.0) == {
        dt.date(2023, 10, 28): 0.0,
        dt.date(2023, 10, 29): 0.0,
        dt.date(2023, 10, 30): 240.0,
    }
    around = scaled_daily_targets(days, BERLIN, ProductionCalendar(), "1h", 240.0)
    assert around[dt.date(2023, 10, 29)] == pytest.approx(250.0)


NAMES = TargetNames("w", "u", "r_max")


def test_daily_target_bounds_at_cut_window_edges():
    """06:00 on day 1 to 12:00 on day 2; 40 made on day 1 before the window."""
    idx = pd.date_range("2023-06-05T06:00Z", periods=30, freq="1h", name="time")
    targets = {dt.date(2023, 6, 5): 100.0, dt.date(2023, 6, 6): 100.0}
    b = daily_target_bounds(idx, "UTC", ProductionCalendar(), targets, 40.0, 5.0, NAMES)
    assert b.done_initial == 40.0
    assert_array_equal(np.flatnonzero(b.day_start), [18])
    assert_array_equal(b.done_max, 100.0)
    assert b.done_min[17] == 100.0  # day 1 ends in the window: met exactly
    assert b.done_min[29] == 100.0 - 5.0 * 12  # day 2 goes on for 12 h at up to 5 per hour
    assert b.done_min[[0, 16, 18, 28]].tolist() == [0.0, 0.0, 0.0, 0.0]
    assert b.even_rate[0] == pytest.approx(60.0 / 18)
    assert b.even_rate[18] == pytest.approx(100.0 / 24)


def test_daily_target_bounds_reject_impossible_days():
    idx = pd.date_range("2023-06-05T06:00Z", periods=30, freq="1h", name="time")
    targets = {dt.date(2023, 6, 5): 100.0, dt.date(2023, 6, 6): 100.0}
    with pytest.raises(ModelBuildError) as info:
        daily_target_bounds(idx, "UTC", ProductionCalendar(), targets, 40.0, 3.0, NAMES)
    assert str(info.value) == (
        "w: 60 u due on 2023-06-05 but 18 production hours at r_max=3 u/h make 54 u"
    )
    with pytest.raises(ModelBuildError, match="w: 120 u made on 2023-06-05 before the window"):
        daily_target_bounds(idx, "UTC", ProductionCalendar(), targets, 120.0, 10.0, NAMES)


def test_soft_daily_target_bounds_report_impossible_days_and_cap_the_even_rate():
    """18 h at up to 3 per hour make 54 of day 1's remaining 60, and 24 h make 72 of day
    2's 100: findings, not errors."""
    idx = pd.date_range("2023-06-05T06:00Z", periods=30, freq="1h", name="time")
    targets = {dt.date(2023, 6, 5): 100.0, dt.date(2023, 6, 6): 100.0}
    b = daily_target_bounds(idx, "UTC", ProductionCalendar(), targets, 40.0, 3.0, NAMES, soft=True)
    assert b.findings == (
        "w: 60 u due on 2023-06-05 but 18 production hours at r_max=3 u/h make 54 u",
        "w: 100 u due on 2023-06-06 but 24 production hours at r_max=3 u/h make 72 u",
    )
    assert b.done_min[17] == 100.0  # the bound stays: the model prices the shortfall
    assert b.even_rate[0] == 3.0  # the baseline runs flat out
    over = daily_target_bounds(
        idx, "UTC", ProductionCalendar(), targets, 120.0, 10.0, NAMES, soft=True
    )
    assert over.done_max[0] == 120.0  # made before the window: more than the target
    assert over.even_rate[0] == 0.0
    assert (
        "120 u made on 2023-06-05 before the window exceed its target of 100 u"
        in (over.findings[0])
    )
