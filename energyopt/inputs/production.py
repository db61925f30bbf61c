"""Production calendar and daily production plan, in site local time.

The plant's process assets (dry rooms, coating-line ovens, formation) share
two notions that live on the site's local clock while the model runs in UTC:

* a **weekly calendar** of production periods, e.g. "Sunday 22:00 to Saturday
  06:00", plus whole local days without production (maintenance, holidays).
  An interval belongs to production when its *start* (the time stamp that
  labels it) lies inside a production period;
* **local calendar days**, the unit of daily production targets. A planning
  window cuts days at its edges: the first day may have begun before the
  window (:attr:`LocalDay.starts_before`) and the last may end after it
  (:attr:`LocalDay.ends_after`); a daylight-saving day has 23 or 25 hours.

Daily output targets (:func:`daily_target_bounds`) turn into bounds on the
output done so far on each local day, restarting at local midnight: a day that
ends in the window meets its target exactly; the output made on the window's
first day before the window is carried in; a day that goes on after the
window must leave no more than the asset can still make in that day's
remaining production hours. :func:`scaled_daily_targets` derives targets
from a figure for a full 24-hour production day.

YAML form of a calendar (all keys optional; without ``weekly`` the plant
produces around the clock)::

    calendar:
      weekly:
        - {start: "sun 22:00", end: "sat 06:00"}   # wraps over the week end
      shutdown_dates: [2023-12-24, 2023-12-25]

Weekdays are ``mon`` .. ``sun``, times ``HH:MM`` from ``00:00`` to ``24:00``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from energyopt.errors import ModelBuildError
from energyopt.inputs.timeseries import fmt_time, index_step

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
_MOMENT = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun) ([0-2]\d):([0-5]\d)$")


def minute_of_week(moment: str) -> int:
    """Minutes since Monday 00:00 of a ``"ddd HH:MM"`` text (``"sun 24:00"`` = 10080)."""
    match = _MOMENT.match(moment.strip().lower())
    if match is None:
        msg = f"{moment!r} is not a weekly time like 'mon 06:00'"
        raise ValueError(msg)
    day, hours, minutes = WEEKDAYS.index(match[1]), int(match[2]), int(match[3])
    if hours > 24 or (hours == 24 and minutes):
        msg = f"{moment!r}: time of day must lie between 00:00 and 24:00"
        raise ValueError(msg)
    return day * MINUTES_PER_DAY + hours * 60 + minutes


class WeeklyPeriod(BaseModel):
    """One production period of the week, from ``start`` to ``end`` (local time).

    ``end`` before ``start`` wraps over the week end (``sun 22:00`` to ``sat 06:00``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: str = Field(description="first production moment, e.g. 'mon 06:00'")
    end: str = Field(description="end of production (exclusive), e.g. 'fri 22:00'")

    @field_validator("start", "end")
    @classmethod
    def _parses(cls, value: str) -> str:
        minute_of_week(value)
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> WeeklyPeriod:
        if minute_of_week(self.start) % MINUTES_PER_WEEK == minute_of_week(self.end) % (
            MINUTES_PER_WEEK
        ):
            msg = "start and end are the same moment; leave 'weekly' out for around the clock"
            raise ValueError(msg)
        return self

    def contains(self, minutes: np.ndarray) -> np.ndarray:
        """True where a minute of the week lies in ``[start, end)`` [bool]."""
        start = minute_of_week(self.start) % MINUTES_PER_WEEK
        end = minute_of_week(self.end) % MINUTES_PER_WEEK
        if start < end:
            return (minutes >= start) & (minutes < end)
        return (minutes >= start) | (minutes < end)


class ProductionCalendar(BaseModel):
    """Weekly production periods and local days without production."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    weekly: tuple[WeeklyPeriod, ...] | None = Field(
        None, description="production periods of the week; None = around the clock"
    )
    shutdown_dates: tuple[dt.date, ...] = Field(
        (), description="local calendar days without any production"
    )

    @field_validator("weekly")
    @classmethod
    def _some_period(cls, value: tuple[WeeklyPeriod, ...] | None) -> tuple | None:
        if value is not None and not value:
            msg = "give at least one period, or leave 'weekly' out for around the clock"
            raise ValueError(msg)
        return value


def in_production(
    index: pd.DatetimeIndex, timezone: str, calendar: ProductionCalendar
) -> np.ndarray:
    """Whether each interval is a production interval (by its start, local time) [bool].

    Cached by the window (first stamp, length, step), time zone and calendar:
    every process asset of a plant asks for the same window.
    """
    if index.freq is None or not len(index):
        return _production_mask(index, timezone, calendar)
    key = (index[0], len(index), index.freq, timezone, calendar)
    found = _PRODUCTION_MASKS.get(key)
    if found is None:
        if len(_PRODUCTION_MASKS) >= 256:
            _PRODUCTION_MASKS.clear()
        found = _PRODUCTION_MASKS[key] = _production_mask(index, timezone, calendar)
    return found.copy()


_PRODUCTION_MASKS: dict[tuple, np.ndarray] = {}


def _production_mask(
    index: pd.DatetimeIndex, timezone: str, calendar: ProductionCalendar
) -> np.ndarray:
    local = index.tz_convert(timezone)
    minutes = np.asarray(local.day_of_week * MINUTES_PER_DAY + local.hour * 60 + local.minute)
    if calendar.weekly is None:
        producing = np.ones(len(index), dtype=bool)
    else:
        producing = np.zeros(len(index), dtype=bool)
        for period in calendar.weekly:
            producing |= period.contains(minutes)
    if calendar.shutdown_dates:
        dates = np.asarray(local.date)
        producing &= ~np.isin(dates, np.asarray(calendar.shutdown_dates, dtype=object))
    return producing


def local_dates(index: pd.DatetimeIndex, timezone: str) -> np.ndarray:
    """Local calendar day of each interval (by its start) [datetime.date]."""
    return np.asarray(index.tz_convert(timezone).date)


@dataclasses.dataclass(frozen=True)
class LocalDay:
    """One local calendar day as a window sees it.

    ``first`` and ``stop`` are positions in the window (``stop`` exclusive).
    ``starts_before``: the day began before the window; ``ends_after``: it
    goes on after the window's end.
    """

    date: dt.date
    first: int
    stop: int
    starts_before: bool
    ends_after: bool

    @property
    def last(self) -> int:
        """Position of the day's last interval in the window."""
        return self.stop - 1


@functools.lru_cache(maxsize=4096)
def day_index(date: dt.date, timezone: str, step: str | pd.Timedelta) -> pd.DatetimeIndex:
    """All intervals of one local day on a model grid (UTC; 23 h/25 h on DST days).

    Cached: rolling windows ask for the same days again and again.
    """
    first = pd.Timestamp(date).tz_localize(timezone)
    last = (pd.Timestamp(date) + pd.Timedelta(days=1)).tz_localize(timezone)
    index = pd.date_range(
        first.tz_convert("UTC"), last.tz_convert("UTC"), freq=pd.Timedelta(step), inclusive="left"
    )
    index.name = "time"
    return index


def window_days(index: pd.DatetimeIndex, timezone: str) -> list[LocalDay]:
    """The local days a window touches, in order, with their cut at the edges.

    Remembered per regular window (first stamp, length, step, time zone): every
    line and process of a plant asks for the same window's days.
    """
    return list(_regular_window_days(index[0], len(index), index_step(index), timezone))


@functools.lru_cache(maxsize=64)
def _regular_window_days(
    first: pd.Timestamp, n_steps: int, step: pd.Timedelta, timezone: str
) -> tuple[LocalDay, ...]:
    index = pd.date_range(first, periods=n_steps, freq=step)
    return tuple(_window_days(index, timezone))


def _window_days(index: pd.DatetimeIndex, timezone: str) -> list[LocalDay]:
    dates = local_dates(index, timezone)
    step = index_step(index)
    window_end = index[-1] + step
    days = []
    starts = np.flatnonzero(np.r_[True, dates[1:] != dates[:-1]])
    stops = np.r_[starts[1:], len(index)]
    for first, stop in zip(starts, stops, strict=True):
        full = day_index(dates[first], timezone, step)
        days.append(
            LocalDay(
                date=dates[first],
                first=int(first),
                stop=int(stop),
                starts_before=bool(index[int(first)] > full[0]),
                ends_after=bool(window_end < full[-1] + step),
            )
        )
    return days


@functools.lru_cache(maxsize=16384)
def production_hours(
    date: dt.date,
    timezone: str,
    calendar: ProductionCalendar,
    step: str | pd.Timedelta,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
) -> float:
    """Production hours of a local day on the model grid, optionally within ``[start, end)`` [h].

    Cached (all arguments are immutable).
    """
    intervals = day_index(date, timezone, step)
    producing = in_production(intervals, timezone, calendar)
    if start is not None:
        producing &= intervals >= start
    if end is not None:
        producing &= intervals < end
    return float(producing.sum() * (pd.Timedelta(step) / pd.Timedelta("1h")))


def daily_values(
    values: np.ndarray, days: list[LocalDay], index: pd.DatetimeIndex, what: str
) -> dict[dt.date, float]:
    """One value per local day from a per-interval series that holds it over the day.

    Raises
    ------
    ModelBuildError
        If the series changes within a local day (names the day and the time).
    """
    out: dict[dt.date, float] = {}
    for day in days:
        chunk = np.asarray(values[day.first : day.stop], dtype=float)
        changed = np.flatnonzero(~np.isclose(chunk, chunk[0], rtol=1e-9, atol=1e-9))
        if changed.size:
            stamp = index[day.first + int(changed[0])]
            msg = (
                f"{what}: value changes within local day {day.date} at "
                f"{fmt_time(stamp)} ({chunk[0]} -> {chunk[changed[0]]}); "
                "a daily value must be held over the whole local day"
            )
            raise ModelBuildError(msg)
        out[day.date] = float(chunk[0])
    return out


def scaled_daily_targets(
    days: list[LocalDay],
    timezone: str,
    calendar: ProductionCalendar,
    step: str | pd.Timedelta,
    per_full_day: float,
) -> dict[dt.date, float]:
    """Targets from a figure for a day of 24 production hours, scaled by each day's hours.

    A day's target is ``per_full_day * production hours / 24``: days without
    production get none, 23 h and 25 h daylight-saving days 23/24 and 25/24.
    """
    return {
        day.date: per_full_day * production_hours(day.date, timezone, calendar, step) / 24.0
        for day in days
    }


@dataclasses.dataclass(frozen=True)
class DailyTargetBounds:
    """Bounds on a window's cumulative output per local day (arrays over the window).

    With ``done[t]`` the output of interval ``t``'s local day up to its end::

        done[t] = (1 - day_start[t]) * done[t-1] + output[t] * dt_h,  done[-1] = done_initial
        done_min[t] <= done[t] <= done_max[t]

    ``done_max`` is the day's target (or what was made before the window, if
    more); ``done_min`` is the target at the last interval of a day that ends
    in the window, at least ``target - rate_max * (production hours of that
    day after the window)`` at the window's end for a day that goes on, and 0
    elsewhere. ``even_rate`` spreads each day's remaining target evenly over
    its remaining production intervals, at most ``rate_max``. ``findings``
    explains each day whose target cannot be met (soft mode only: in hard
    mode such a day raises).
    """

    day_start: np.ndarray
    done_min: np.ndarray
    done_max: np.ndarray
    done_initial: float
    even_rate: np.ndarray
    findings: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class TargetNames:
    """How messages about a daily target name things.

    ``what`` is who makes it (``"drying_oven 'line_1'"``), ``unit`` the output's
    unit (``"m2"``) and ``rate_name`` the field holding the highest rate
    (``"area_max_m2_per_h"``).
    """

    what: str
    unit: str
    rate_name: str = "rate_max"


def daily_target_bounds(
    index: pd.DatetimeIndex,
    timezone: str,
    calendar: ProductionCalendar,
    targets: dict[dt.date, float],
    done_before: float,
    rate_max: float,
    names: TargetNames,
    *,
    soft: bool = False,
) -> DailyTargetBounds:
    """Bounds that make every local day's output meet its target (see :class:`DailyTargetBounds`).

    Parameters
    ----------
    targets : dict
        Output target of every local day the window touches [unit].
    done_before : float
        Output of the window's first local day made before the window [unit]
        (ignored when the window starts at local midnight).
    rate_max : float
        Highest output rate [unit/h].
    names : TargetNames
        How error messages name the maker, the unit and the rate limit.
    soft : bool
        A day that cannot meet its target is a finding, not an error (the
        model then prices the shortfall).

    Raises
    ------
    ModelBuildError
        In hard mode, if the output carried into a day exceeds its target, or
        a day's remaining target exceeds ``rate_max`` times its remaining
        production hours (names the day and both amounts).
    """
    n = len(index)
    step = index_step(index)
    producing = in_production(index, timezone, calendar)
    day_start, done_min, done_max, even = (np.zeros(n) for _ in range(4))
    initial = 0.0
    findings: list[str] = []
    for day in window_days(index, timezone):
        target = targets[day.date]
        before = done_before if day.starts_before else 0.0
        initial = before if day.first == 0 else initial
        hours_left = production_hours(day.date, timezone, calendar, step, start=index[day.first])
        problem = _target_problem(day, target, before, hours_left, rate_max, names)
        if problem is not None and not soft:
            raise ModelBuildError(problem)
        if problem is not None:
            findings.append(problem)
        remaining = max(target - before, 0.0)
        day_start[day.first] = 0.0 if day.starts_before else 1.0
        done_max[day.first : day.stop] = max(target, before)
        done_min[day.last] = target
        if day.ends_after:
            after_h = production_hours(day.date, timezone, calendar, step, start=index[-1] + step)
            done_min[day.last] = max(0.0, target - rate_max * after_h)
        rate = min(remaining / hours_left, rate_max) if hours_left > 0 else 0.0
        even[day.first : day.stop] = rate * producing[day.first : day.stop]
    return DailyTargetBounds(day_start, done_min, done_max, initial, even, tuple(findings))


def _target_problem(
    day: LocalDay,
    target: float,
    before: float,
    hours_left: float,
    rate_max: float,
    names: TargetNames,
) -> str | None:
    """Why a day's target cannot be met as given, in plant terms; None if it can."""
    tolerance = 1e-6 * max(1.0, abs(target))
    remaining = target - before
    unit = names.unit
    if remaining < -tolerance:
        return (
            f"{names.what}: {before:,.0f} {unit} made on {day.date} before the window "
            f"exceed its target of {target:,.0f} {unit}"
        )
    if remaining > rate_max * hours_left + tolerance:
        return (
            f"{names.what}: {remaining:,.0f} {unit} due on {day.date} but {hours_left:g} "
            f"production hours at {names.rate_name}={rate_max:,.0f} {unit}/h make "
            f"{rate_max * hours_left:,.0f} {unit}"
        )
    return None
