"""Input time series: the model's time grid, CSV loading, validation, resampling.

Conventions (also in the README):

* Time stamps are tz-aware UTC and label the *start* of their interval.
* A model index is built only by :func:`make_index`: a ``DatetimeIndex`` named
  ``time``, UTC, fixed ``freq`` (the model step). Energy = power * ``dt_h``.
* Input CSV files have a ``timestamp_utc`` column (ISO 8601 with ``Z`` or
  ``+00:00``) and value columns whose names carry their unit.
* Putting coarser data on a finer step: ``hold`` repeats the interval's value
  (prices, energies, interval-mean powers); ``interpolate`` (temperatures,
  humidity, pressure, irradiance) takes every value as belonging to the middle
  of its interval, draws straight lines between those middles and reads them at
  the middle of each model interval; before the first and after the last
  middle the nearest value is held. A series already on the model step is
  used as it is by both rules. Finer data on a coarser step is averaged over
  each model interval.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np
import pandas as pd

from energyopt.errors import DataError, ScenarioError

if TYPE_CHECKING:
    from pandas.tseries.offsets import Tick

TIME_COLUMN = "timestamp_utc"

# Physically plausible ranges by unit suffix of the column name: (min, max).
_RANGES: list[tuple[str, tuple[float, float]]] = [
    (r"_pct$", (0.0, 100.0)),
    (r"_frac$", (0.0, 1.0)),
    (r"^temp_.*_(c|degc)$", (-90.0, 70.0)),
    (r"^dew_point_(c|degc)$", (-100.0, 50.0)),
    (r"_w_m2$|_w_per_m2$", (0.0, 1500.0)),
    (r"_pa$", (30_000.0, 110_000.0)),
    (r"_m_s$|_m_per_s$", (0.0, 100.0)),
    (r"_eur_per_mwh$", (-5_000.0, 20_000.0)),
    (r"_g_per_kwh$", (0.0, 2_000.0)),
    (r"_kg_per_kwh$", (0.0, 2.0)),
    (r"_kw$|_kwh$", (0.0, float("inf"))),
]


def make_index(start: dt.date, days: int, step: str, timezone: str) -> pd.DatetimeIndex:
    """Model time grid from local midnight of ``start`` for ``days`` local days.

    Parameters
    ----------
    start : date
        First local calendar day at the site.
    days : int
        Number of local days (a DST day has 23 or 25 hours).
    step : str
        Model step, e.g. ``"15min"`` or ``"1h"``.
    timezone : str
        IANA time zone of the site.

    Returns
    -------
    DatetimeIndex
        UTC, left-labelled, ``freq=step``, named ``time``.

    Raises
    ------
    ScenarioError
        If ``step`` is not a duration that divides a day.
    """
    check_step(step)
    first = pd.Timestamp(start).tz_localize(timezone).tz_convert("UTC")
    last = (pd.Timestamp(start) + pd.Timedelta(days=days)).tz_localize(timezone)
    index = pd.date_range(first, last.tz_convert("UTC"), freq=step, inclusive="left")
    index.name = "time"
    return index


def check_step(step: str) -> pd.Timedelta:
    """The model step as a Timedelta; it must be positive and divide a day."""
    try:
        delta = pd.Timedelta(step)
    except ValueError:
        msg = f"step {step!r} is not a duration (use e.g. 15min or 1h)"
        raise ScenarioError(msg) from None
    if delta <= pd.Timedelta(0) or pd.Timedelta("1D") % delta:
        msg = f"step {step!r} must be positive and divide a day (e.g. 15min or 1h)"
        raise ScenarioError(msg)
    return delta


def index_step(index: pd.Index) -> pd.Timedelta:
    """The step of a time index: ``pd.Timedelta(index.freq)``."""
    # pandas-stubs type ``freq`` as any offset (or None); a model index's step is a Tick
    return pd.Timedelta(cast("Tick", cast(pd.DatetimeIndex, index).freq))


def dt_h(index: pd.DatetimeIndex) -> float:
    """Length of one step of a model index [h]."""
    if index.freq is None:
        msg = "time index has no fixed step (freq); build it with make_index()"
        raise DataError(msg)
    return index_step(index) / pd.Timedelta("1h")


def fmt_step(step: pd.Timedelta | str) -> str:
    """A step as people write it: ``15min``, ``1h``, ``30s``, ``1D``."""
    delta = pd.Timedelta(step)
    for unit, text in (("1D", "D"), ("1h", "h"), ("1min", "min"), ("1s", "s")):
        if delta >= pd.Timedelta(unit) and not delta % pd.Timedelta(unit):
            return f"{delta // pd.Timedelta(unit)}{text}"
    return str(delta)


def fmt_time(stamp: pd.Timestamp) -> str:
    """ISO 8601 UTC text of a time stamp, as used in every message."""
    return pd.Timestamp(stamp).tz_convert("UTC").strftime("%Y-%m-%dT%H:%MZ")


@functools.lru_cache(maxsize=64)
def _read_cached(path: str, mtime_ns: int) -> pd.DataFrame:
    return _read_and_validate(Path(path))


def read_series_file(path: str | Path) -> pd.DataFrame:
    """Read and validate a ``timestamp_utc`` CSV file (cached per file version).

    Raises
    ------
    DataError
        On an unreadable file, non-UTC or unparsable time stamps, unsorted or
        duplicate stamps, gaps, NaN values or values out of physical range;
        the message names the file, the column and the first bad time stamp.
    """
    path = Path(path)
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as exc:
        raise DataError(f"{path}: cannot read file ({exc.strerror})") from None
    except ValueError:  # a NUL character in the name
        raise DataError(f"{path!r}: not a valid file name") from None
    return _read_cached(str(path), mtime).copy()  # callers must not alter the cached frame


def _read_and_validate(path: Path) -> pd.DataFrame:
    try:
        raw = pd.read_csv(path, dtype={TIME_COLUMN: str})
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable CSV file ({exc})") from None
    if TIME_COLUMN not in raw.columns:
        raise DataError(f"{path}: no '{TIME_COLUMN}' column")
    index = _parse_utc(path, raw[TIME_COLUMN])
    frame = raw.drop(columns=[TIME_COLUMN]).set_index(index)
    _check_order(path, cast(pd.DatetimeIndex, frame.index))
    for column in frame.columns:
        frame[column] = _numeric_column(path, frame[column])
    return frame


def _parse_utc(path: Path, stamps: pd.Series) -> pd.DatetimeIndex:
    index = pd.DatetimeIndex(parse_utc_stamps(path, stamps.rename(TIME_COLUMN), DataError))
    index.name = "time"
    return index


def parse_utc_stamps(
    path: Path, stamps: pd.Series, error: type[Exception] = DataError
) -> pd.Series:
    """ISO 8601 UTC text (``Z`` or ``+00:00``) to tz-aware UTC time stamps.

    Raises ``error`` naming the file, the column (the series name) and the
    first row that is not UTC or cannot be parsed.
    """
    text = stamps.astype(str).str.strip()
    not_utc = ~text.str.contains(r"(?:Z|[+-]00:?00)$", regex=True)
    if not_utc.any():
        row = int(np.flatnonzero(not_utc.to_numpy())[0])
        msg = (
            f"{path}: {stamps.name} row {row + 2} ({text.iloc[row]!r}) is not UTC; "
            "write time stamps as ISO 8601 with 'Z'"
        )
        raise error(msg)
    try:
        return pd.to_datetime(text, utc=True, format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise error(f"{path}: {stamps.name}: unparsable time stamp ({exc})") from None


def _check_order(path: Path, index: pd.DatetimeIndex) -> None:
    if len(index) < 2:
        raise DataError(f"{path}: needs at least two rows")
    deltas = index[1:] - index[:-1]
    bad = np.flatnonzero(deltas <= pd.Timedelta(0))
    if bad.size:
        i = int(bad[0]) + 1
        kind = "duplicate" if deltas[i - 1] == pd.Timedelta(0) else "unsorted"
        raise DataError(f"{path}: {kind} time stamp {fmt_time(index[i])}")
    step = pd.Series(deltas).mode().iloc[0]
    gaps = np.flatnonzero(deltas != step)
    if gaps.size:
        i = int(gaps[0])
        msg = (
            f"{path}: gap after {fmt_time(index[i])}: next row is "
            f"{fmt_time(index[i + 1])}, expected {fmt_time(index[i] + step)}"
        )
        raise DataError(msg)


def _numeric_column(path: Path, values: pd.Series) -> pd.Series:
    name = str(values.name)
    if values.dtype == bool or values.dtype == object and name == "data_estimated":
        return values
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna()
    if bad.any():
        stamp = values.index[bad.to_numpy()][0]
        raise DataError(f"{path}: column {name}: missing or non-numeric value at {fmt_time(stamp)}")
    infinite = np.isinf(numbers.to_numpy(dtype=float))
    if infinite.any():
        stamp = values.index[infinite][0]
        raise DataError(f"{path}: column {name}: infinite value at {fmt_time(stamp)}")
    low, high = _range_for(name)
    out = (numbers < low) | (numbers > high)
    if out.any():
        stamp = numbers.index[out.to_numpy()][0]
        msg = (
            f"{path}: column {name}: value {numbers[stamp]} at {fmt_time(stamp)} "
            f"is outside the physical range [{low}, {high}]"
        )
        raise DataError(msg)
    return numbers.astype(float)


def _range_for(column: str) -> tuple[float, float]:
    lowered = column.lower()
    for pattern, bounds in _RANGES:
        if re.search(pattern, lowered):
            return bounds
    return (-np.inf, np.inf)


def to_model_grid(
    series: pd.Series, index: pd.DatetimeIndex, method: str, source: str = ""
) -> pd.Series:
    """Put a validated series on the model index.

    Parameters
    ----------
    series : Series
        Data on its own regular UTC index (left-labelled intervals).
    index : DatetimeIndex
        Model index from :func:`make_index`.
    method : {"hold", "interpolate"}
        How coarser data fills finer steps (see the module docstring).
    source : str
        Name used in error messages (file and column).

    Raises
    ------
    DataError
        If the data does not cover the whole model period.
    """
    data_step = series.index[1] - series.index[0]
    model_step = index_step(index)
    end = index[-1] + model_step
    if index[0] < series.index[0] or end > series.index[-1] + data_step:
        msg = (
            f"{source}: data covers {fmt_time(series.index[0])} to "
            f"{fmt_time(series.index[-1] + data_step)} but the model needs "
            f"{fmt_time(index[0])} to {fmt_time(end)}"
        )
        raise DataError(msg)
    if data_step < model_step:
        window = series[(series.index >= index[0]) & (series.index < end)]
        return window.resample(model_step, origin=index[0]).mean().reindex(index)
    if data_step == model_step and index[0] in series.index:
        return series.reindex(index)
    # coarser data, or data on the model step but shifted (half-hour time zones)
    return _refine(series, index, method)


def _refine(series: pd.Series, index: pd.DatetimeIndex, method: str) -> pd.Series:
    if method == "hold":
        return series.reindex(index, method="ffill")
    if method != "interpolate":
        raise ValueError(f"unknown resample method {method!r}")
    data_step = series.index[1] - series.index[0]
    points = pd.Series(series.to_numpy(dtype=float), index=series.index + data_step / 2)
    middles = index + index_step(index) / 2
    union = points.index.union(middles)
    filled = points.reindex(union).interpolate(method="time", limit_area="inside")
    values = filled.ffill().bfill().reindex(middles).to_numpy()
    return pd.Series(values, index=index, name=series.name)
