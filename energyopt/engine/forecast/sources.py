"""What is known when: the actual input series and their publication rules.

Measured quantities (weather, loads, grid CO2) are known once their interval
has ended (``t + step <= issued_at``). Day-ahead prices of delivery day ``D``
are all published at the auction on day ``D-1`` (:class:`DayAheadRule`,
default 12:00 Europe/Brussels, the SDAC gate closure).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Protocol

import numpy as np
import pandas as pd

from energyopt.errors import ForecastError, ScenarioError
from energyopt.inputs.timeseries import fmt_time, index_step

HOUR = pd.Timedelta("1h")


class ForecastProvider(Protocol):
    """Anything that forecasts an input quantity as of an issue time."""

    def get(self, quantity: str, index: pd.DatetimeIndex, issued_at: pd.Timestamp) -> pd.Series:
        """Values of ``quantity`` on exactly ``index`` as known at ``issued_at``."""
        ...


def time_of_day(text: str, what: str = "time of day") -> pd.Timedelta:
    """``HH:MM`` as the offset from midnight; ScenarioError naming ``what`` otherwise."""
    try:
        clock = dt.time.fromisoformat(text)
    except (TypeError, ValueError):
        raise ScenarioError(f"{what}: {text!r} is not a time of day HH:MM") from None
    return pd.Timedelta(hours=clock.hour, minutes=clock.minute)


@dataclasses.dataclass(frozen=True)
class DayAheadRule:
    """Publication of day-ahead auction prices.

    Parameters
    ----------
    auction_time_local : str
        Time of day the results are known (``HH:MM``, market time zone).
    timezone : str
        Market time zone; delivery days are local days there.
    """

    auction_time_local: str = "12:00"
    timezone: str = "Europe/Brussels"

    def __post_init__(self) -> None:
        time_of_day(self.auction_time_local, "day-ahead auction time")

    def published_at(self, stamps: pd.DatetimeIndex) -> pd.DatetimeIndex:
        """When the price of each interval becomes known: the auction the day before."""
        local = stamps.tz_convert(self.timezone).tz_localize(None)
        clock = time_of_day(self.auction_time_local)
        auction = local.normalize() - pd.Timedelta(days=1) + clock
        return auction.tz_localize(self.timezone).tz_convert("UTC")


class ActualSource:
    """The actual input series over a simulation span, and when each value is known.

    Parameters
    ----------
    frame : DataFrame
        Actual values on a regular UTC model grid (``freq`` set), covering the
        history persistence needs, the period and the look-ahead.
    day_ahead : mapping
        Quantities published by a day-ahead auction, with their rule; all
        other quantities are measured (known at the end of their interval).
    """

    def __init__(self, frame: pd.DataFrame, day_ahead: Mapping[str, DayAheadRule] | None = None):
        if not isinstance(frame.index, pd.DatetimeIndex) or frame.index.freq is None:
            raise ForecastError("actual series need a regular time index (freq)")
        self.frame = frame
        self.step = index_step(frame.index)
        self.day_ahead = dict(day_ahead or {})

    @property
    def quantities(self) -> list[str]:
        """Names of the quantities held."""
        return list(self.frame.columns)

    def read(self, quantity: str, stamps: pd.DatetimeIndex) -> np.ndarray:
        """Actual values of ``quantity`` at ``stamps`` (any order, on the grid)."""
        if quantity not in self.frame.columns:
            known = ", ".join(self.frame.columns)
            raise ForecastError(f"no actual series {quantity!r} (have {known})")
        positions = self.frame.index.get_indexer(stamps)
        if (positions < 0).any():
            bad = stamps[positions < 0][0]
            first, end = self.frame.index[0], self.frame.index[-1] + self.step
            msg = (
                f"{quantity}: no actual value at {fmt_time(bad)} (inputs cover "
                f"{fmt_time(first)} to {fmt_time(end)})"
            )
            raise ForecastError(msg)
        return self.frame[quantity].to_numpy(dtype=float)[positions]

    def available_at(self, quantity: str, stamps: pd.DatetimeIndex) -> pd.DatetimeIndex:
        """When the value of each interval becomes known (UTC)."""
        rule = self.day_ahead.get(quantity)
        if rule is not None:
            return rule.published_at(stamps)
        return stamps + self.step

    def known(self, quantity: str, stamps: pd.DatetimeIndex, issued_at: pd.Timestamp) -> np.ndarray:
        """True where the value is known at ``issued_at``."""
        return np.asarray(self.available_at(quantity, stamps) <= issued_at)


def check_request(index: pd.DatetimeIndex, issued_at: pd.Timestamp) -> pd.Timestamp:
    """Validate a forecast request; returns ``issued_at`` as a UTC time stamp."""
    if index.tz is None or str(index.tz) != "UTC" or index.freq is None:
        raise ForecastError("forecast index must be a UTC index with a fixed step (freq)")
    issued_at = pd.Timestamp(issued_at)
    if issued_at.tz is None:
        raise ForecastError(f"issued_at {issued_at} has no time zone; give UTC")
    return issued_at.tz_convert("UTC")
