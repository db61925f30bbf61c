"""Live input data for users with internet, cached in the package's CSV format.

Three sources, each written as a ``timestamp_utc`` CSV that
:func:`energyopt.inputs.timeseries.read_series_file` reads, with a YAML
snippet that names the file for a scenario's ``site:`` section:

* :func:`pvgis_tmy`: a PVGIS typical meteorological year through
  ``pvlib.iotools.get_pvgis_tmy`` (JSON output, time stamps UTC, each month
  from another real year; the rows are placed on a nominal non-leap year and
  keep the real year in ``tmy_source_year``, which marks the file as a
  typical year). PVGIS labels hours HH:00 UTC; the stamps are kept as the
  interval starts, as in the bundled Lille file (its irradiance refers to
  about HH:10, see scenarios/data/README.md). Licence: PVGIS (c) European
  Union / JRC, free re-use with acknowledgement.
* :func:`entsoe_day_ahead`: day-ahead prices of a bidding zone through
  entsoe-py's ``EntsoePandasClient.query_day_ahead_prices`` with the
  security token from ``ENTSOE_API_TOKEN``. The prices are put on a regular
  step (finer ones averaged per step, coarser ones held): the day-ahead
  market moved from hourly to 15-minute products on 1 October 2025, so a
  year can hold both. Licence: ENTSO-E Transparency Platform terms (re-use
  with attribution).
* :func:`open_meteo_archive`: hourly reanalysis weather from the Open-Meteo
  archive API (``https://archive-api.open-meteo.com/v1/archive``, time in
  GMT, wind in m/s). Temperature, humidity, pressure, wind and cloud cover
  are values at the full hour; Open-Meteo gives radiation as the mean of the
  *preceding* hour, so radiation labelled HH:00 is moved to the interval
  starting an hour earlier (one extra day is requested for the year's last
  hour). Licence: CC BY 4.0, "Weather data by Open-Meteo.com".

Network libraries are imported inside the functions: the package imports
without them, and tests replay recorded responses.
"""

from __future__ import annotations

import contextlib
import json
import os
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from energyopt.errors import DataError
from energyopt.inputs.timeseries import (
    TIME_COLUMN,
    TYPICAL_YEAR_COLUMN,
    fmt_time,
    index_step,
    read_series_file,
)

#: environment variable with the ENTSO-E Transparency Platform security token
ENTSOE_TOKEN_VARIABLE = "ENTSOE_API_TOKEN"
OPEN_METEO_ARCHIVE_URL = "https://archive-api.open-meteo.com/v1/archive"
#: pvlib's names of PVGIS TMY variables -> file column (all already in the file's unit)
PVGIS_COLUMNS = {
    "temp_air": "temp_air_C",
    "relative_humidity": "relative_humidity_pct",
    "ghi": "ghi_W_m2",
    "dni": "dni_W_m2",
    "dhi": "dhi_W_m2",
    "wind_speed": "wind_speed_m_s",
    "pressure": "pressure_Pa",
}
#: Open-Meteo hourly variable -> (file column, factor to the file's unit)
OPEN_METEO_COLUMNS: dict[str, tuple[str, float]] = {
    "temperature_2m": ("temp_air_C", 1.0),
    "relative_humidity_2m": ("relative_humidity_pct", 1.0),
    "surface_pressure": ("pressure_Pa", 100.0),  # hPa -> Pa
    "wind_speed_10m": ("wind_speed_m_s", 1.0),  # requested in m/s
    "cloud_cover": ("cloud_cover_pct", 1.0),
    "shortwave_radiation": ("ghi_W_m2", 1.0),
    "direct_normal_irradiance": ("dni_W_m2", 1.0),
    "diffuse_radiation": ("dhi_W_m2", 1.0),
}
#: Open-Meteo variables that are means of the preceding hour
OPEN_METEO_PRECEDING_HOUR = ("shortwave_radiation", "direct_normal_irradiance", "diffuse_radiation")
#: longest product of the day-ahead market; a longer step between prices is a gap
DAY_AHEAD_MAX_RESOLUTION = pd.Timedelta("1h")
HTTP_TIMEOUT_S = 60


@contextlib.contextmanager
def _source_errors(what: str) -> Iterator[None]:
    """A failure inside a data source's library as a :class:`DataError` naming the request.

    Network libraries raise their own errors (HTTP status, no matching data,
    unknown zone); the user gets one line instead of a traceback.
    """
    try:
        yield
    except DataError:
        raise
    except Exception as exc:
        raise DataError(f"{what}: {type(exc).__name__}: {exc}") from None


def year_index(year: int, step: str = "1h") -> pd.DatetimeIndex:
    """Interval starts of the UTC calendar ``year`` on ``step``."""
    start = pd.Timestamp(year=year, month=1, day=1, tz="UTC")
    return pd.date_range(start, start + pd.DateOffset(years=1), freq=step, inclusive="left")


# ------------------------------------------------------------------------- PVGIS


def pvgis_tmy(
    latitude: float,
    longitude: float,
    *,
    year: int = 2023,
    startyear: int | None = None,
    endyear: int | None = None,
) -> pd.DataFrame:
    """PVGIS typical year at a point, placed on the nominal ``year`` (UTC).

    Returns the file columns (``temp_air_C`` ... ``pressure_Pa``) and
    ``tmy_source_year`` on the hourly interval starts of ``year``.

    Raises
    ------
    DataError
        If ``year`` is a leap year (a typical year has no 29 February) or the
        answer does not fill the year.
    """
    if pd.Timestamp(year=year, month=1, day=1).is_leap_year:
        raise DataError(f"PVGIS typical year: {year} is a leap year; place it on a common year")
    from pvlib import iotools

    with _source_errors(f"PVGIS typical year at {latitude}, {longitude}"):
        result = iotools.get_pvgis_tmy(
            latitude,
            longitude,
            outputformat="json",
            startyear=startyear,
            endyear=endyear,
            map_variables=True,
            coerce_year=year,
        )
    data, meta = result[0], result[-1]
    # pvlib >= 0.13 keeps the months in ``meta``; older versions return them second
    months = meta.get("months_selected") if isinstance(meta, Mapping) else None
    if months is None:
        months = result[1]
    frame = _pvgis_frame(data, months)
    return _on_year(frame, year, "PVGIS typical year")


def _pvgis_frame(data: pd.DataFrame, months: list[Mapping[str, int]]) -> pd.DataFrame:
    missing = sorted(set(PVGIS_COLUMNS) - set(data.columns))
    if missing:
        raise DataError(f"PVGIS typical year: the answer lacks {', '.join(missing)}")
    frame = data[list(PVGIS_COLUMNS)].rename(columns=PVGIS_COLUMNS)
    frame.index = pd.DatetimeIndex(data.index).tz_convert("UTC")
    source_year = {int(m["month"]): int(m["year"]) for m in months}
    frame[TYPICAL_YEAR_COLUMN] = [source_year[m] for m in frame.index.month]
    return frame.sort_index()


def _on_year(frame: pd.DataFrame, year: int, what: str) -> pd.DataFrame:
    """``frame`` on exactly the hours of ``year``; a missing hour is named."""
    grid = year_index(year)
    missing = grid.difference(pd.DatetimeIndex(frame.index))
    if len(missing):
        raise DataError(f"{what}: no value for {fmt_time(missing[0])} ({len(missing)} hours)")
    return frame.reindex(grid)


# ----------------------------------------------------------------------- ENTSO-E


def entsoe_token(environ: Mapping[str, str] | None = None) -> str:
    """The ENTSO-E security token from the environment.

    Raises
    ------
    DataError
        Naming the variable to set, if it is missing or empty.
    """
    token = (os.environ if environ is None else environ).get(ENTSOE_TOKEN_VARIABLE, "")
    if not token.strip():
        msg = (
            f"ENTSO-E prices need a security token in {ENTSOE_TOKEN_VARIABLE} "
            "(Transparency Platform account: 'Web API Security Token')"
        )
        raise DataError(msg)
    return token.strip()


def entsoe_day_ahead(zone: str, year: int, token: str, step: str = "1h") -> pd.DataFrame:
    """Day-ahead prices of bidding ``zone`` (entsoe-py code: ``FR``, ``DE_LU``,
    ``SE_1``) for the UTC calendar ``year`` on ``step`` [EUR/MWh]."""
    from entsoe import EntsoePandasClient

    grid = year_index(year, step)
    end = grid[-1] + pd.Timedelta(step)
    client = EntsoePandasClient(api_key=token)
    with _source_errors(f"ENTSO-E day-ahead prices {zone} {year}"):
        prices = client.query_day_ahead_prices(zone, start=grid[0], end=end)
    series = regular_prices(pd.Series(prices, dtype=float), grid, f"ENTSO-E {zone}")
    return series.to_frame("price_eur_per_mwh")


def regular_prices(prices: pd.Series, grid: pd.DatetimeIndex, what: str) -> pd.Series:
    """Prices (each valid until the next stamp) as the mean over each ``grid`` interval.

    ``grid`` is a regular UTC index with a ``freq``; finer prices are averaged (four 15-minute
    prices make the hour's mean), coarser ones repeat in every finer interval.

    Raises
    ------
    DataError
        Naming the first stamp without a price: before the first price, after
        the last product or across a gap longer than an hour.
    """
    step = index_step(grid)
    stamps = pd.DatetimeIndex(prices.index).tz_convert("UTC")
    values = pd.Series(prices.to_numpy(dtype=float), index=stamps).sort_index()
    values = values[~values.index.duplicated()].dropna()
    end = grid[-1] + step
    values = values[(values.index < end)]
    if values.empty or values.index[0] > grid[0]:
        first = fmt_time(values.index[0]) if len(values) else "none"
        raise DataError(f"{what}: no price for {fmt_time(grid[0])} (first price: {first})")
    deltas = values.index[1:] - values.index[:-1]
    gaps = np.flatnonzero(deltas > DAY_AHEAD_MAX_RESOLUTION)
    if gaps.size:
        after = values.index[gaps[0]]
        raise DataError(f"{what}: no price after {fmt_time(after)} for more than an hour")
    last_step = deltas[-1] if len(deltas) else step
    last_end = values.index[-1] + last_step
    if last_end < end:
        raise DataError(f"{what}: no price for {fmt_time(last_end)}")
    base = min(step, deltas.min()) if len(deltas) else step
    fine = values.reindex(pd.date_range(grid[0], end, freq=base, inclusive="left"), method="ffill")
    return fine.resample(step, origin=grid[0]).mean().reindex(grid).rename("price_eur_per_mwh")


# ---------------------------------------------------------------------- Open-Meteo


def open_meteo_archive(latitude: float, longitude: float, year: int) -> pd.DataFrame:
    """Hourly Open-Meteo reanalysis weather for the UTC calendar ``year``.

    Returns the file columns of every variable the answer holds, on the
    hourly interval starts of ``year`` (radiation moved back by its hour).
    """
    params = {
        "latitude": latitude,
        "longitude": longitude,
        "start_date": f"{year}-01-01",
        "end_date": f"{year + 1}-01-01",  # the year's last radiation hour is labelled 00:00
        "hourly": ",".join(OPEN_METEO_COLUMNS),
        "timezone": "GMT",
        "wind_speed_unit": "ms",
    }
    answer = http_get_json(OPEN_METEO_ARCHIVE_URL, params)
    return _on_year(open_meteo_frame(answer), year, "Open-Meteo archive")


def http_get_json(url: str, params: Mapping[str, Any]) -> Any:
    """GET ``url`` with query ``params`` and decode the JSON body.

    Raises
    ------
    DataError
        On a network or HTTP error or a body that is not JSON, naming the URL.
    """
    full = f"{url}?{urllib.parse.urlencode(params)}"
    try:
        with urllib.request.urlopen(full, timeout=HTTP_TIMEOUT_S) as response:
            body = response.read()
    except OSError as exc:  # URLError and HTTPError are OSErrors
        raise DataError(f"{url}: request failed ({exc})") from None
    try:
        return json.loads(body)
    except ValueError:
        raise DataError(f"{url}: the answer is not JSON") from None


def open_meteo_frame(answer: Mapping[str, Any]) -> pd.DataFrame:
    """File columns from an Open-Meteo ``hourly`` answer (time in GMT)."""
    if answer.get("utc_offset_seconds", 0) != 0:
        raise DataError("Open-Meteo archive: the answer is not in GMT (utc_offset_seconds != 0)")
    hourly = answer.get("hourly")
    if not isinstance(hourly, Mapping) or "time" not in hourly:
        raise DataError("Open-Meteo archive: the answer has no hourly time series")
    times = [str(t) for t in hourly["time"]]
    stamps = pd.DatetimeIndex(pd.to_datetime(times, format="ISO8601")).tz_localize("UTC")
    frame = pd.DataFrame(index=stamps)
    for variable, (column, factor) in OPEN_METEO_COLUMNS.items():
        if variable in hourly:
            values = pd.Series(np.asarray(hourly[variable], dtype=float) * factor, index=stamps)
            if variable in OPEN_METEO_PRECEDING_HOUR:
                values = values.shift(-1)
            frame[column] = values
    return frame


# -------------------------------------------------------------------- files, snippet


def write_series_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as a ``timestamp_utc`` CSV that the series loader accepts.

    The rows go to ``<path>.part`` first and are read back with the loader's
    checks; only a file that passes replaces ``path``.

    Raises
    ------
    DataError
        From the loader's checks (naming the column and time stamp); nothing
        is left at ``path`` then.
    """
    out = frame.copy()
    out.insert(0, TIME_COLUMN, pd.DatetimeIndex(frame.index).strftime("%Y-%m-%dT%H:%M:%SZ"))
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    out.to_csv(part, index=False, float_format="%.6g")
    try:
        read_series_file(part)
    except DataError as exc:
        part.unlink()
        raise DataError(str(exc).replace(str(part), str(path))) from None
    part.replace(path)


def merge_snippet(path: Path, site: Mapping[str, Any], note: str) -> None:
    """Add ``site`` keys to the YAML snippet at ``path`` (a ``site:`` mapping).

    Keys fetched before stay: ``series`` entries merge by name, every other
    key (``weather``, ``latitude``) is replaced. ``note`` (source and licence)
    joins the comment lines at the top of the file.
    """
    notes: list[str] = []
    document: dict[str, Any] = {}
    if path.exists():
        text = path.read_text(encoding="utf-8")
        notes = [line for line in text.splitlines() if line.startswith("# ")]
        loaded = yaml.safe_load(text)
        document = loaded if isinstance(loaded, dict) else {}
    old = document.setdefault("site", {})
    for key, value in site.items():
        if key == "series" and isinstance(old.get("series"), dict):
            old["series"].update(value)
        else:
            old[key] = value
    if f"# {note}" not in notes:
        notes.append(f"# {note}")
    body = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(notes) + "\n" + body, encoding="utf-8")
