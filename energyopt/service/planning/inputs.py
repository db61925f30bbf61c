"""What a plan starts from: the window's input series (live or replayed from a
data year by whole weeks) and the initial state from measurements."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from energyopt.assets.declarations import STANDARD_PRESSURE_PA
from energyopt.engine.pipeline import input_coverage, load_inputs
from energyopt.errors import DataError
from energyopt.inputs.config import Scenario
from energyopt.inputs.timeseries import fmt_time, index_step
from energyopt.service.measurements import (
    Reading,
    StateContext,
    StateSource,
    state_from_readings,
)
from energyopt.service.planning.options import PlanningOptions
from energyopt.service.store import PlantRecord, Store
from energyopt.service.store import measurements as measurement_store

WEEK = pd.Timedelta("7D")
DAYS_PER_YEAR = 365.2425


def replay_shift(
    needed: tuple[pd.Timestamp, pd.Timestamp], coverage: tuple[pd.Timestamp, pd.Timestamp]
) -> pd.Timedelta:
    """Whole weeks to subtract so that the ``needed`` span falls inside the data ``coverage``.

    Among the shifts that fit, the one nearest to a whole number of years is
    taken (the same season of the data year).

    Raises
    ------
    DataError
        If the data span is shorter than what a plan needs.
    """
    first, end = needed
    k_min = math.ceil((end - coverage[1]) / WEEK)
    k_max = math.floor((first - coverage[0]) / WEEK)
    if k_min > k_max:
        msg = (
            f"input replay: a plan needs {(end - first) / pd.Timedelta('1D'):.1f} days of data, "
            f"the series files cover {fmt_time(coverage[0])} to {fmt_time(coverage[1])}"
        )
        raise DataError(msg)

    def off_season_days(k: int) -> float:
        days = 7 * k
        return abs(days - round(days / DAYS_PER_YEAR) * DAYS_PER_YEAR)

    return min(range(k_min, k_max + 1), key=lambda k: (off_season_days(k), k)) * WEEK


def window_inputs(
    scenario: Scenario,
    options: PlanningOptions,
    index: pd.DatetimeIndex,
    history: pd.Timedelta,
) -> tuple[pd.DataFrame, pd.Timedelta | None]:
    """Actual input series from ``history`` before the window to its end, as far as known.

    Live inputs stop where the files stop (the forecasts fill the rest);
    replayed inputs come from the data year, shifted onto the window.
    Returns the frame on the real time axis and the replay shift (None: live).
    """
    step = index_step(index)
    first, end = index[0] - history, index[-1] + step
    coverage = input_coverage(scenario)
    shift = None
    if options.inputs == "replay":
        if coverage is None:
            raise DataError("input replay: the scenario names no series files")
        shift = replay_shift((first, end), coverage)
    elif coverage is not None:
        first = max(first, first + math.ceil((coverage[0] - first) / step) * step)
        end = min(end, first + math.floor((coverage[1] - first) / step) * step)
    if end <= index[0]:
        msg = (
            f"inputs end at {fmt_time(end)}, before the planning window starts at "
            f"{fmt_time(index[0])}; update the series files or plan with inputs: replay"
        )
        raise DataError(msg)
    real = pd.date_range(first, end, freq=step, inclusive="left", name="time")
    frame = load_inputs(scenario, real if shift is None else real - shift)
    return frame.set_axis(real), shift


def initial_state(
    store: Store,
    plant: PlantRecord,
    scenario: Scenario,
    at: pd.Timestamp,
    max_age: pd.Timedelta,
    pressure_pa: float,
) -> tuple[dict[str, dict[str, Any]], list[StateSource]]:
    """State per asset from the latest readings at or before ``at``, at most ``max_age`` old."""
    records = measurement_store.latest_measurements(store, plant_id=plant.id, at=at.to_pydatetime())
    readings = [
        Reading(r.asset, r.quantity, r.value, r.measured_at)
        for r in records
        if at - pd.Timestamp(r.measured_at) <= max_age
    ]
    context = StateContext(timezone=plant.timezone, pressure_pa=pressure_pa)
    return state_from_readings(scenario, readings, context)


def pressure_at(frame: pd.DataFrame, at: pd.Timestamp) -> float:
    """Air pressure of the interval starting at ``at`` (or the last known) [Pa]."""
    if "pressure_pa" not in frame:
        return STANDARD_PRESSURE_PA
    known = frame.loc[frame.index <= at, "pressure_pa"]
    return float(known.iloc[-1]) if len(known) else STANDARD_PRESSURE_PA
