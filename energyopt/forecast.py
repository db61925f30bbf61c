"""Forecast providers: what the planner knows about an input series at issue time.

Every provider answers one call::

    provider.get(quantity, index, issued_at) -> Series on exactly ``index``

``quantity`` is a column of the model's input series (weather columns such as
``temp_air_degc`` or ``ghi_w_per_m2``, and the site's named series such as
``price_eur_per_mwh``). PV is not forecast as a power: the weather columns are,
and the PV asset turns them into available power through the same pvlib chain
as the actuals.

What is known at ``issued_at`` comes from the :class:`ActualSource`:

* measured quantities (weather, loads, grid CO2): the value of interval ``t``
  is known once the interval has ended, ``t + step <= issued_at``;
* day-ahead prices (:class:`DayAheadRule`): all prices of delivery day ``D``
  are published at the auction on day ``D-1`` (default 12:00 Europe/Brussels,
  the SDAC gate closure), so a plan made at 11:00 still forecasts tomorrow.

Providers return known values as they are and forecast the rest:

``perfect``
    the actual values everywhere (benchmarks only: it looks ahead);
``persistence``
    the value one ``lag`` earlier (default one day; ``7D`` for last week),
    going back further lags until a known value is found;
``noisy``
    the actual values plus seeded, time-correlated errors whose spread grows
    linearly with lead time (:class:`NoiseSpec`, per quantity);
``file``
    issued forecasts from a CSV file with ``issued_at_utc``, ``timestamp_utc``
    and value columns; for each time stamp the latest issue at or before
    ``issued_at`` wins.

No provider except ``perfect`` reads an actual value that is not known at
``issued_at`` -- ``noisy`` is the one exception by construction: it perturbs the
actuals and never hands one out unchanged.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import pandas as pd

from energyopt.errors import ForecastError, ScenarioError
from energyopt.timeseries import fmt_time

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
        self.step = pd.Timedelta(frame.index.freq)
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


class _KnownThenForecast:
    """Known values as they are; the rest from :meth:`_forecast`."""

    name = "base"

    def __init__(self, actuals: ActualSource) -> None:
        self.actuals = actuals

    def get(self, quantity: str, index: pd.DatetimeIndex, issued_at: pd.Timestamp) -> pd.Series:
        """Values of ``quantity`` on ``index`` as known at ``issued_at``."""
        issued_at = check_request(index, issued_at)
        known = self.actuals.known(quantity, index, issued_at)
        values = np.empty(len(index))
        if known.any():
            values[known] = self.actuals.read(quantity, index[known])
        if not known.all():
            values[~known] = self._forecast(quantity, index[~known], issued_at)
        if not np.all(np.isfinite(values)):
            bad = index[~np.isfinite(values)][0]
            raise ForecastError(f"{self.name} forecast of {quantity} is not finite at {bad}")
        return pd.Series(values, index=index, name=quantity)

    def _forecast(
        self, quantity: str, stamps: pd.DatetimeIndex, issued_at: pd.Timestamp
    ) -> np.ndarray:
        raise NotImplementedError


class PerfectForecast:
    """The actual values, also those after the issue time (benchmarks only)."""

    name = "perfect"

    def __init__(self, actuals: ActualSource) -> None:
        self.actuals = actuals

    def get(self, quantity: str, index: pd.DatetimeIndex, issued_at: pd.Timestamp) -> pd.Series:
        """Actual values of ``quantity`` on ``index``."""
        check_request(index, issued_at)
        return pd.Series(self.actuals.read(quantity, index), index=index, name=quantity)


class PersistenceForecast(_KnownThenForecast):
    """Naive forecast: the latest known value at the same time of day one ``lag`` back.

    Parameters
    ----------
    actuals : ActualSource
        Known values (with history before the first issue time).
    lag : str
        Pandas duration, a multiple of the step: ``1D`` (same hour yesterday) or
        ``7D`` (same hour last week). The value at ``t`` is the actual at
        ``t - k * lag`` for the smallest ``k >= 1`` known at issue time.
    """

    name = "persistence"
    max_lags = 16

    def __init__(self, actuals: ActualSource, lag: str = "1D") -> None:
        super().__init__(actuals)
        self.lag = pd.Timedelta(lag)
        if self.lag <= pd.Timedelta(0) or self.lag % actuals.step:
            raise ForecastError(f"persistence lag {lag!r} must be a multiple of the step")

    def _forecast(
        self, quantity: str, stamps: pd.DatetimeIndex, issued_at: pd.Timestamp
    ) -> np.ndarray:
        values = np.full(len(stamps), np.nan)
        todo = np.ones(len(stamps), dtype=bool)
        for k in range(1, self.max_lags + 1):
            lagged = stamps - k * self.lag
            usable = todo & self.actuals.known(quantity, lagged, issued_at)
            if usable.any():
                values[usable] = self.actuals.read(quantity, lagged[usable])
                todo &= ~usable
            if not todo.any():
                return values
        bad = stamps[todo][0]
        raise ForecastError(f"persistence: no known value of {quantity} for {fmt_time(bad)}")


@dataclasses.dataclass(frozen=True)
class NoiseSpec:
    """Error model of one quantity in the noisy forecast.

    The error at lead time ``L`` [h] is ``sigma(L) * z`` with
    ``sigma(L) = sigma_0 + (sigma_24h - sigma_0) * L / 24`` and ``z`` a standard
    normal AR(1) sequence with correlation time ``correlation_h``.
    ``absolute`` errors are added in the quantity's unit; ``relative`` errors
    scale the value by ``max(0, 1 + error)`` (zero stays zero, e.g. at night).
    Quantities of one ``group`` share the random sequence (irradiance
    components move together, as a cloud error would move them).
    """

    mode: Literal["absolute", "relative"]
    sigma_24h: float
    sigma_0: float = 0.0
    correlation_h: float = 6.0
    lower: float | None = None
    upper: float | None = None
    group: str | None = None

    def sigma(self, lead_h: np.ndarray) -> np.ndarray:
        """Standard deviation of the error at each lead time [unit or frac]."""
        return self.sigma_0 + (self.sigma_24h - self.sigma_0) * np.maximum(lead_h, 0.0) / 24.0


#: Default error models by quantity name (first match wins). Orders of
#: magnitude of day-ahead forecast errors; assumptions to be calibrated per site:
#: day-ahead price forecasts reach a mean absolute error of about 5-15 EUR/MWh
#: (Lago et al., Applied Energy 293 (2021) 116983, higher in the 2022-23
#: markets); NWP 2 m temperature about 1-2 K, irradiance 20-40 % relative RMSE
#: for day-ahead forecasts (Lorenz et al., IEEE JSTARS 2 (2009) 2-10).
DEFAULT_NOISE: tuple[tuple[str, NoiseSpec], ...] = (
    (r"_eur_per_mwh$", NoiseSpec("absolute", 12.0, sigma_0=3.0, correlation_h=4.0)),
    (r"^(temp_.*|dew_point)_degc$", NoiseSpec("absolute", 1.5, sigma_0=0.5)),
    (r"_frac$", NoiseSpec("absolute", 0.06, sigma_0=0.02, lower=0.0, upper=1.0)),
    (r"_w_per_m2$", NoiseSpec("relative", 0.30, sigma_0=0.1, lower=0.0, group="irradiance")),
    (r"_m_per_s$", NoiseSpec("relative", 0.25, sigma_0=0.1, lower=0.0)),
    (r"_pa$", NoiseSpec("absolute", 150.0, sigma_0=50.0)),
    (r"_g_per_kwh$", NoiseSpec("relative", 0.10, sigma_0=0.03, lower=0.0)),
    (r"_(kw|kwh|kg_per_h)$", NoiseSpec("relative", 0.05, sigma_0=0.02, lower=0.0)),
)


def noise_spec_for(quantity: str, overrides: Mapping[str, NoiseSpec] | None = None) -> NoiseSpec:
    """Error model of ``quantity``: an override by exact name, else the default table."""
    if overrides and quantity in overrides:
        return overrides[quantity]
    for pattern, spec in DEFAULT_NOISE:
        if re.search(pattern, quantity):
            return spec
    raise ForecastError(f"noisy forecast: no error model for {quantity!r}; give a NoiseSpec")


def ar1_normal(rng: np.random.Generator, n: int, phi: float) -> np.ndarray:
    """Standard normal AR(1) sequence of length ``n`` with lag-one correlation ``phi``."""
    shocks = rng.standard_normal(n)
    z = np.empty(n)
    if n:
        z[0] = shocks[0]
    scale = np.sqrt(1.0 - phi**2)
    for k in range(1, n):
        z[k] = phi * z[k - 1] + scale * shocks[k]
    return z


class NoisyForecast(_KnownThenForecast):
    """Actual values plus seeded errors that grow with lead time (benchmarks).

    Parameters
    ----------
    actuals : ActualSource
        The truth the errors are added to.
    seed : int
        Same seed, quantity and issue time give the same forecast.
    specs : mapping, optional
        Error models by quantity name, overriding :data:`DEFAULT_NOISE`.
    scale : float
        Factor on every error spread (0 gives the actual values). [-]
    """

    name = "noisy"

    def __init__(
        self,
        actuals: ActualSource,
        seed: int = 0,
        specs: Mapping[str, NoiseSpec] | None = None,
        scale: float = 1.0,
    ) -> None:
        super().__init__(actuals)
        if scale < 0:
            raise ForecastError(f"noise scale must be >= 0, got {scale}")
        self.seed, self.specs, self.scale = int(seed), dict(specs or {}), float(scale)

    def _forecast(
        self, quantity: str, stamps: pd.DatetimeIndex, issued_at: pd.Timestamp
    ) -> np.ndarray:
        spec = noise_spec_for(quantity, self.specs)
        truth = self.actuals.read(quantity, stamps)
        lead_h = np.asarray((stamps - issued_at) / HOUR, dtype=float)
        group = spec.group or quantity
        rng = np.random.default_rng(
            [self.seed, zlib.crc32(group.encode()), int(issued_at.value // 10**9)]
        )
        phi = float(np.exp(-(self.actuals.step / HOUR) / spec.correlation_h))
        error = self.scale * spec.sigma(lead_h) * ar1_normal(rng, len(stamps), phi)
        relative = spec.mode == "relative"
        values = truth * np.maximum(1.0 + error, 0.0) if relative else truth + error
        low = -np.inf if spec.lower is None else spec.lower
        high = np.inf if spec.upper is None else spec.upper
        return np.clip(values, low, high)


ISSUE_COLUMN = "issued_at_utc"
TIME_COLUMN = "timestamp_utc"


class FileForecast(_KnownThenForecast):
    """Issued forecasts from a table: the latest issue at or before ``issued_at`` wins.

    Parameters
    ----------
    table : DataFrame
        Columns ``issued_at_utc`` and ``timestamp_utc`` (tz-aware UTC) and one
        value column per quantity (units in the names, as the input series).
        Time stamps lie on the model grid or on a coarser grid (a value then
        holds for its whole interval).
    actuals : ActualSource
        Values known at issue time (the past, published prices).
    source : str
        Name used in messages (the file).
    """

    name = "file"

    def __init__(self, table: pd.DataFrame, actuals: ActualSource, source: str = "<table>"):
        super().__init__(actuals)
        self.source = source
        self.table = table.sort_values([ISSUE_COLUMN, TIME_COLUMN]).reset_index(drop=True)
        self.quantities = [c for c in table.columns if c not in (ISSUE_COLUMN, TIME_COLUMN)]
        stamps = pd.DatetimeIndex(self.table[TIME_COLUMN].drop_duplicates().sort_values())
        self.step = pd.Series(stamps[1:] - stamps[:-1]).min() if len(stamps) > 1 else None
        if self.step is not None and self.step % actuals.step:
            msg = f"{source}: forecast step {self.step} is not a multiple of the model step"
            raise ForecastError(msg)

    @classmethod
    def from_csv(
        cls, path: str | Path, actuals: ActualSource, quantity: str | None = None
    ) -> FileForecast:
        """Read a forecast CSV file; a single ``value`` column is named ``quantity``."""
        path = Path(path)
        try:
            raw = pd.read_csv(path)
        except (OSError, ValueError) as exc:
            raise ForecastError(f"{path}: not a readable CSV file ({exc})") from None
        for column in (ISSUE_COLUMN, TIME_COLUMN):
            if column not in raw.columns:
                raise ForecastError(f"{path}: no {column!r} column")
            raw[column] = _parse_utc_column(path, raw[column])
        if "value" in raw.columns:
            if quantity is None:
                raise ForecastError(f"{path}: a 'value' column needs the quantity it forecasts")
            raw = raw.rename(columns={"value": quantity})
        for column in raw.columns.drop([ISSUE_COLUMN, TIME_COLUMN]):
            numbers = pd.to_numeric(raw[column], errors="coerce")
            if numbers.isna().any():
                row = int(np.flatnonzero(numbers.isna().to_numpy())[0])
                raise ForecastError(f"{path}: column {column}: bad value in row {row + 2}")
            raw[column] = numbers.astype(float)
        return cls(raw, actuals, source=str(path))

    def _forecast(
        self, quantity: str, stamps: pd.DatetimeIndex, issued_at: pd.Timestamp
    ) -> np.ndarray:
        if quantity not in self.quantities:
            raise ForecastError(f"{self.source}: no forecast of {quantity!r}")
        issued = self.table[self.table[ISSUE_COLUMN] <= issued_at]
        latest = issued.drop_duplicates(TIME_COLUMN, keep="last").set_index(TIME_COLUMN)[quantity]
        lookup = stamps if self.step is None else stamps.floor(self.step)
        values = latest.reindex(lookup).to_numpy(dtype=float)
        if np.isnan(values).any():
            bad = stamps[np.isnan(values)][0]
            msg = (
                f"{self.source}: no forecast of {quantity} for {fmt_time(bad)} issued "
                f"at or before {fmt_time(issued_at)}"
            )
            raise ForecastError(msg)
        return values


def _parse_utc_column(path: Path, text: pd.Series) -> pd.Series:
    text = text.astype(str).str.strip()
    not_utc = ~text.str.contains(r"(?:Z|[+-]00:?00)$", regex=True)
    if not_utc.any():
        row = int(np.flatnonzero(not_utc.to_numpy())[0])
        msg = f"{path}: {text.name} row {row + 2} ({text.iloc[row]!r}) is not UTC"
        raise ForecastError(msg)
    try:
        return pd.to_datetime(text, utc=True, format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise ForecastError(f"{path}: {text.name}: unparsable time stamp ({exc})") from None


class ForecastSet:
    """One provider per quantity (a default plus overrides); builds window inputs."""

    def __init__(
        self, default: ForecastProvider, overrides: Mapping[str, ForecastProvider] | None = None
    ) -> None:
        self.default = default
        self.overrides = dict(overrides or {})

    def provider(self, quantity: str) -> ForecastProvider:
        """The provider used for ``quantity``."""
        return self.overrides.get(quantity, self.default)

    def frame(
        self, quantities: Iterable[str], index: pd.DatetimeIndex, issued_at: pd.Timestamp
    ) -> pd.DataFrame:
        """All ``quantities`` on ``index`` as known at ``issued_at``."""
        columns = {}
        for quantity in quantities:
            series = self.provider(quantity).get(quantity, index, issued_at)
            if not series.index.equals(index):
                msg = f"{quantity}: forecast is not on the requested index"
                raise ForecastError(msg)
            columns[quantity] = series.to_numpy(dtype=float)
        return pd.DataFrame(columns, index=index)


FORECAST_KINDS = ("perfect", "persistence", "noisy")


def make_provider(
    kind: str,
    actuals: ActualSource,
    *,
    seed: int = 0,
    lag: str = "1D",
    noise_scale: float = 1.0,
    noise_specs: Mapping[str, NoiseSpec] | None = None,
) -> ForecastProvider:
    """A provider by name: ``perfect``, ``persistence`` or ``noisy``."""
    if kind == "perfect":
        return PerfectForecast(actuals)
    if kind == "persistence":
        return PersistenceForecast(actuals, lag=lag)
    if kind == "noisy":
        return NoisyForecast(actuals, seed=seed, specs=noise_specs, scale=noise_scale)
    known = ", ".join(FORECAST_KINDS)
    raise ForecastError(f"unknown forecast kind {kind!r} (use one of {known}, or a file)")


@dataclasses.dataclass(frozen=True)
class ForecastOptions:
    """Which forecasts a rolling run plans with.

    Attributes
    ----------
    kind : str
        ``perfect``, ``persistence`` or ``noisy`` for every quantity.
    seed, noise_scale, noise_specs :
        Noisy forecasts (see :class:`NoisyForecast`).
    lag : str
        Persistence lag (``1D`` or ``7D``).
    files : mapping
        Quantity -> forecast CSV file (``issued_at_utc``, ``timestamp_utc``,
        ``value``); these quantities use the file instead of ``kind``.
    auction : DayAheadRule
        When day-ahead prices are published.
    day_ahead : tuple of str or None
        Quantities that are day-ahead prices; None: every ``*_eur_per_mwh`` series.
    """

    kind: str = "perfect"
    seed: int = 0
    lag: str = "1D"
    noise_scale: float = 1.0
    noise_specs: Mapping[str, NoiseSpec] = dataclasses.field(default_factory=dict)
    files: Mapping[str, str] = dataclasses.field(default_factory=dict)
    auction: DayAheadRule = DayAheadRule()
    day_ahead: tuple[str, ...] | None = None

    def day_ahead_rules(self, quantities: Iterable[str]) -> dict[str, DayAheadRule]:
        """Publication rule of each day-ahead price quantity."""
        names = self.day_ahead
        if names is None:
            names = tuple(q for q in quantities if q.endswith("_eur_per_mwh"))
        return dict.fromkeys(names, self.auction)

    def history(self, horizon: pd.Timedelta) -> pd.Timedelta:
        """How much history before the period the forecasts may read."""
        lag = pd.Timedelta(self.lag)
        reach = horizon + 2 * pd.Timedelta("1D")
        return lag * (int(np.ceil(reach / lag)) + 1)

    def describe(self) -> str:
        """Short text for reports, e.g. ``noisy(seed=1, scale=1.0)``."""
        detail = {
            "noisy": f"(seed={self.seed}, scale={self.noise_scale:g})",
            "persistence": f"(lag={self.lag})",
        }.get(self.kind, "")
        files = f" + files for {', '.join(sorted(self.files))}" if self.files else ""
        return f"{self.kind}{detail}{files}"


def build_forecasts(options: ForecastOptions, actuals: ActualSource) -> ForecastSet:
    """The forecast set of a run: ``options.kind`` for all, files where given."""
    default = make_provider(
        options.kind,
        actuals,
        seed=options.seed,
        lag=options.lag,
        noise_scale=options.noise_scale,
        noise_specs=options.noise_specs,
    )
    overrides = {
        quantity: FileForecast.from_csv(path, actuals, quantity=quantity)
        for quantity, path in options.files.items()
    }
    return ForecastSet(default, overrides)
