"""Planning windows of a rolling-horizon run.

Vocabulary: ``horizon`` is how far a plan looks ahead, ``commit`` how much of
it is executed before the next plan, ``issued_at`` when a plan (and its
forecasts) is made.

Commits of whole days follow the site's local calendar: each window starts at
local midnight and commits to the next local midnight (23 or 25 hours on DST
days), and is planned the day before at ``plan_time_local`` (default 11:00,
before the day-ahead gate closure at 12:00). Shorter commits (e.g. ``6h``)
start every ``commit`` from the period start and are planned ``lead`` before
their start. A window never reaches past the end of the period: the last
windows shrink, so terminal conditions (storage levels) apply at the period
end as in a single solve of the whole period.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import pandas as pd

from energyopt.engine.forecast import time_of_day
from energyopt.errors import ScenarioError
from energyopt.inputs.timeseries import index_step

DAY = pd.Timedelta("1D")
#: how a window prices a rise of the month's peak import
DemandChargeRule = Literal["full", "prorated"]
DEMAND_CHARGE_RULES = ("full", "prorated")
#: where a window's expected monthly peak comes from
PeakFloor = Literal["baseline", "window", "none"]
PEAK_FLOORS = ("baseline", "window", "none")


@dataclasses.dataclass(frozen=True)
class RollingOptions:
    """How the rolling horizon plans.

    Attributes
    ----------
    horizon : str
        Look-ahead of every plan (pandas duration). [h]
    commit : str
        Executed part of every plan: whole days (``1D``) follow local days.
    plan_time_local : str or None
        Local time of day (``HH:MM``) a daily plan is made, on the day
        before it starts; None plans ``lead`` before the window start.
    lead : str
        Time between issue and window start when ``plan_time_local`` is None.
    demand_charge : {"full", "prorated"}
        How a window prices a rise of a month's peak import: ``full`` at the
        monthly rate, as the bill does (the default); ``prorated`` at the rate
        times the share of the month's remaining hours the window covers
        (:func:`peak_price_factor`), kept for comparison: it lets a window
        raise the month's peak for a few cheap hours.
    peak_floor : {"baseline", "window", "none"}
        The expected peak of each month, up to which a window's rise of the
        peak is free: ``baseline``, the peak of the rule-based operation in
        that month of the period (on the period's inputs); ``window``, the
        highest peak of the baseline on the forecasts of the month's windows
        so far (needs nothing beyond each window); ``none``, only the peak
        carried so far.
    """

    horizon: str = "48h"
    commit: str = "1D"
    plan_time_local: str | None = "11:00"
    lead: str = "0h"
    demand_charge: DemandChargeRule = "full"
    peak_floor: PeakFloor = "baseline"

    def __post_init__(self) -> None:
        for field, allowed in (("demand_charge", DEMAND_CHARGE_RULES), ("peak_floor", PEAK_FLOORS)):
            value = getattr(self, field)
            if value not in allowed:
                msg = f"rolling options: {field} {value!r}: use one of {', '.join(allowed)}"
                raise ScenarioError(msg)

    def durations(self, step: pd.Timedelta) -> tuple[pd.Timedelta, pd.Timedelta]:
        """Horizon and commit as durations; checks they fit the step and each other."""
        try:
            horizon, commit = pd.Timedelta(self.horizon), pd.Timedelta(self.commit)
            lead = pd.Timedelta(self.lead)
        except ValueError as exc:
            raise ScenarioError(f"rolling options: not a duration ({exc})") from None
        for name, value in (("horizon", horizon), ("commit", commit)):
            if value <= pd.Timedelta(0) or value % step:
                raise ScenarioError(f"rolling options: {name} {value} is not a multiple of {step}")
        if horizon < commit:
            raise ScenarioError(
                f"rolling options: horizon {horizon} is shorter than commit {commit}"
            )
        if lead < pd.Timedelta(0):
            raise ScenarioError(f"rolling options: lead {lead} is negative")
        if self.plan_time_local is not None:
            if commit % DAY:
                msg = "rolling options: plan_time_local needs a commit of whole days (e.g. 1D)"
                raise ScenarioError(msg)
            time_of_day(self.plan_time_local, "rolling options: plan_time_local")
        return horizon, commit


@dataclasses.dataclass(frozen=True)
class Window:
    """One planning window.

    Attributes
    ----------
    number : int
        1-based position in the run.
    issued_at : Timestamp
        When the plan and its forecasts are made (UTC).
    index : DatetimeIndex
        Model steps of the window (UTC, fixed freq).
    commit_steps : int
        Leading steps of the window that are executed.
    period_end : Timestamp
        End of the simulated period (UTC).
    """

    number: int
    issued_at: pd.Timestamp
    index: pd.DatetimeIndex
    commit_steps: int
    period_end: pd.Timestamp

    @property
    def start(self) -> pd.Timestamp:
        """First interval start (UTC)."""
        return self.index[0]

    @property
    def commit_end(self) -> pd.Timestamp:
        """End of the committed part (UTC)."""
        return self.start + self.commit_steps * index_step(self.index)


def plan_windows(period: pd.DatetimeIndex, timezone: str, options: RollingOptions) -> list[Window]:
    """Windows covering ``period`` (a model index from ``make_index``)."""
    step = index_step(period)
    horizon, commit = options.durations(step)
    end = period[-1] + step
    starts = _window_starts(period[0], end, commit, timezone)
    windows = []
    for number, start in enumerate(starts, start=1):
        commit_end = starts[number] if number < len(starts) else end
        stop = min(max(start + horizon, commit_end), end)
        first, last = period.get_loc(start), period.searchsorted(stop)
        index = period[first:last]
        issued_at = _issue_time(start, timezone, options)
        steps = int((commit_end - start) / step)
        windows.append(Window(number, issued_at, index, steps, end))
    return windows


def _window_starts(
    first: pd.Timestamp, end: pd.Timestamp, commit: pd.Timedelta, timezone: str
) -> list[pd.Timestamp]:
    if commit % DAY:
        return list(pd.date_range(first, end, freq=commit, inclusive="left"))
    local_first = first.tz_convert(timezone).tz_localize(None)
    if local_first != local_first.normalize():
        msg = f"a daily commit needs the period to start at local midnight, not {local_first}"
        raise ScenarioError(msg)
    days = int(commit / DAY)
    starts = []
    day = local_first
    while (stamp := day.tz_localize(timezone).tz_convert("UTC")) < end:
        starts.append(stamp)
        day += pd.Timedelta(days=days)
    return starts


def _issue_time(start: pd.Timestamp, timezone: str, options: RollingOptions) -> pd.Timestamp:
    if options.plan_time_local is None:
        return start - pd.Timedelta(options.lead)
    local_day = start.tz_convert(timezone).tz_localize(None).normalize()
    issue = local_day - DAY + time_of_day(options.plan_time_local)
    return issue.tz_localize(timezone, ambiguous=True, nonexistent="shift_forward").tz_convert(
        "UTC"
    )


def peak_price_factor(
    index: pd.DatetimeIndex, period_end: pd.Timestamp, timezone: str
) -> dict[str, float]:
    """Share of each billing month's remaining hours a window covers [0-1].

    A window that raises a month's peak pays the monthly demand charge for it
    once, but the higher peak then serves every remaining hour of the month.
    Seen from a window of ``H`` hours with ``R`` hours of the month left (up to
    the period end), the rise is worth about ``R / H`` windows of savings, so a
    window prices it at ``rate * H / R`` (1 in the month's last window). This
    removes most of the under-investment in peak a myopic window shows.
    """
    step = index_step(index)
    months = index.tz_convert(timezone).strftime("%Y-%m")
    factors = {}
    for month in sorted(set(months)):
        first = pd.Timestamp(f"{month}-01").tz_localize(timezone)
        month_end = (first + pd.offsets.MonthBegin(1)).tz_convert("UTC")
        remaining = min(month_end, period_end) - max(index[0], first.tz_convert("UTC"))
        covered = (months == month).sum() * step
        factors[month] = float(min(1.0, covered / remaining))
    return factors
