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
* Year files and the site's local year (:func:`fill_year_boundary`): a file
  that starts or ends at a UTC new year (the bundled 2023 files run from
  2023-01-01T00:00Z to 2024-01-01T00:00Z) lacks the hours a site's *local*
  calendar year reaches past it: 2022-12-31T23:00Z for Europe/Berlin (one
  hour), two for Europe/Helsinki, hours after the end for sites west of UTC.
  Those hours, and only those, are filled: a **typical year** (a file with a
  ``tmy_source_year`` column, or with ``tmy`` in its name: each month taken
  from another real year) **wraps**: the hours before its start repeat its
  last hours, one year later (the same clock hours of 31 December), and the
  hours after its end repeat its first hours. A **real year** **pads**: the
  hours before its start take its first hour again, the hours after its end
  its last hour. Every fill is returned as a :class:`BoundaryFill` naming the
  file, the rule and the hours, so that callers can flag it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

import numpy as np
import pandas as pd

from energyopt.errors import DataError, ScenarioError

if TYPE_CHECKING:
    from pandas.tseries.offsets import Tick

TIME_COLUMN = "timestamp_utc"
#: a column that marks a file as a typical year: the real year each row was taken from
TYPICAL_YEAR_COLUMN = "tmy_source_year"

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


# ------------------------------------------------------------------ year boundary


@dataclasses.dataclass(frozen=True)
class BoundaryFill:
    """Hours of a site's local year that a year file lacks, and how they were filled.

    ``rule`` is ``wrap`` (typical year: the other end of the same year) or
    ``pad`` (real year: the file's first or last row again); ``first`` and
    ``last`` are the first and last filled interval starts (ISO 8601 UTC),
    ``hours`` the filled length [h].
    """

    file: str
    rule: Literal["wrap", "pad"]
    first: str
    last: str
    hours: float

    def text(self) -> str:
        """One line for logs and reports."""
        how = (
            "typical year, wrapped from the other end of the year"
            if self.rule == "wrap"
            else "real year, padded with its first or last hour"
        )
        span = self.first if self.first == self.last else f"{self.first} to {self.last}"
        return f"{self.file}: {self.hours:g} h at the year boundary filled ({how}): {span}"


def is_typical_year(path: str | Path, frame: pd.DataFrame) -> bool:
    """True for a typical-year file: a ``tmy_source_year`` column or ``tmy`` in its name."""
    return TYPICAL_YEAR_COLUMN in frame.columns or "tmy" in Path(path).name.lower()


def _utc_new_year(stamp: pd.Timestamp) -> bool:
    return bool(stamp == pd.Timestamp(year=stamp.year, month=1, day=1, tz="UTC"))


def _local_new_year(year: int, timezone: str) -> pd.Timestamp:
    """Local midnight of 1 January ``year`` at the site, in UTC."""
    return pd.Timestamp(year=year, month=1, day=1).tz_localize(timezone).tz_convert("UTC")


def _missing_edges(
    index: pd.DatetimeIndex, timezone: str
) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    """Interval starts of the local year(s) before the file's first and after its last row."""
    step = index[1] - index[0]
    first, end = index[0], index[-1] + step
    before = after = pd.DatetimeIndex([], tz="UTC")
    if _utc_new_year(first):
        local = _local_new_year(first.year, timezone).floor(step)
        before = pd.date_range(local, first, freq=step, inclusive="left")
    if _utc_new_year(end):
        local = _local_new_year(end.year, timezone).ceil(step)
        after = pd.date_range(end, local, freq=step, inclusive="left")
    return before, after


def fill_year_boundary(
    frame: pd.DataFrame, path: str | Path, timezone: str
) -> tuple[pd.DataFrame, BoundaryFill | None]:
    """Extend a year file to the site's local calendar year (see the module docstring).

    Parameters
    ----------
    frame : DataFrame
        A validated file (:func:`read_series_file`) on its regular UTC index.
    path : str or Path
        The file, for :func:`is_typical_year` and the report.
    timezone : str
        IANA time zone of the site.

    Returns
    -------
    (DataFrame, BoundaryFill or None)
        The frame with the filled rows (unchanged if the file does not start
        or end at a UTC new year or the local year lies inside it) and what
        was filled.
    """
    index = cast(pd.DatetimeIndex, frame.index)
    before, after = _missing_edges(index, timezone)
    if not len(before) and not len(after):
        return frame, None
    step = index[1] - index[0]
    span = index[-1] + step - index[0]
    one_year = _utc_new_year(index[0]) and index[0] + pd.DateOffset(years=1) == index[-1] + step
    wrap = one_year and is_typical_year(path, frame)
    if wrap:
        head = frame.loc[before + span].set_axis(before)
        tail = frame.loc[after - span].set_axis(after)
    else:
        head = pd.DataFrame([frame.iloc[0]] * len(before), index=before, columns=frame.columns)
        tail = pd.DataFrame([frame.iloc[-1]] * len(after), index=after, columns=frame.columns)
    filled = pd.concat([head, frame, tail]).astype(frame.dtypes.to_dict())
    filled.index.name = index.name
    stamps = before.append(after)
    fill = BoundaryFill(
        file=str(path),
        rule="wrap" if wrap else "pad",
        first=fmt_time(stamps[0]),
        last=fmt_time(stamps[-1]),
        hours=len(stamps) * step / pd.Timedelta("1h"),
    )
    return filled, fill


def read_site_file(
    path: str | Path, timezone: str | None
) -> tuple[pd.DataFrame, BoundaryFill | None]:
    """A validated file (:func:`read_series_file`), extended to the site's local year.

    ``timezone`` None reads the file as it is.
    """
    frame = read_series_file(path)
    if timezone is None:
        return frame, None
    return fill_year_boundary(frame, path, timezone)


def fill_in_use(fill: BoundaryFill | None, index: pd.DatetimeIndex) -> bool:
    """True if ``index`` reaches a filled hour of ``fill``."""
    if fill is None or not len(index):
        return False
    first = pd.Timestamp(fill.first)
    end = index[-1] + index_step(index)
    return bool(index[0] < first + pd.Timedelta(hours=fill.hours) and end > first)
