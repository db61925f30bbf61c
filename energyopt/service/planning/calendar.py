"""The planning calendar: planning instant, delivery day, day bounds and the
planning window, in the plant's time zone (23 and 25 h days included)."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

from energyopt.engine.forecast import time_of_day
from energyopt.errors import ScenarioError
from energyopt.service.planning.options import PlanningOptions


def planning_instant(planning_time: dt.time, timezone: str, now: dt.datetime) -> pd.Timestamp:
    """The latest local ``planning_time`` at or before ``now`` (UTC time stamp)."""
    now_utc = pd.Timestamp(now).tz_convert("UTC")
    local_day = now_utc.tz_convert(timezone).tz_localize(None).normalize()
    clock = time_of_day(planning_time.strftime("%H:%M"), "planning_time")
    for day in (local_day, local_day - pd.Timedelta(days=1)):
        instant = (day + clock).tz_localize(timezone, ambiguous=True, nonexistent="shift_forward")
        if instant.tz_convert("UTC") <= now_utc:
            return instant.tz_convert("UTC")
    msg = f"no planning instant before {now_utc}"  # unreachable: yesterday's is always earlier
    raise ScenarioError(msg)


def delivery_date(instant: pd.Timestamp, timezone: str) -> dt.date:
    """The local day a plan made at ``instant`` is for: the next local day."""
    return (pd.Timestamp(instant).tz_convert(timezone) + pd.Timedelta(days=1)).date()


def day_bounds(day: dt.date, timezone: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """UTC start and end of a local day (23 or 25 h on DST days)."""
    start = pd.Timestamp(day).tz_localize(timezone)
    end = (pd.Timestamp(day) + pd.Timedelta(days=1)).tz_localize(timezone)
    return start.tz_convert("UTC"), end.tz_convert("UTC")


def window_index(
    now: dt.datetime,
    day: dt.date,
    timezone: str,
    options: PlanningOptions,
    end: pd.Timestamp | None = None,
) -> pd.DatetimeIndex:
    """Planning window: from the interval containing ``now``, ``horizon_h`` long
    (or to ``end``), at least to the end of the delivery ``day``."""
    step = pd.Timedelta(options.step)
    start = pd.Timestamp(now).tz_convert("UTC").floor(step)
    look_ahead = start + pd.Timedelta(hours=options.horizon_h) if end is None else end
    end = max(look_ahead, day_bounds(day, timezone)[1])
    end = start + math.ceil((end - start) / step) * step
    return pd.date_range(start, end, freq=step, inclusive="left", name="time")


def plan_issue(
    planning_time: dt.time,
    timezone: str,
    now: pd.Timestamp,
    issued_at: dt.datetime | None = None,
) -> tuple[pd.Timestamp, dt.date]:
    """Planning instant (``issued_at`` if given, else the latest at or before ``now``)
    and the delivery day it is for."""
    instant = (
        pd.Timestamp(issued_at).tz_convert("UTC")
        if issued_at is not None
        else planning_instant(planning_time, timezone, now)
    )
    return instant, delivery_date(instant, timezone)
