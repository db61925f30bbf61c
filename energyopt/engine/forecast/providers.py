"""Forecast providers built on the actual series: perfect, persistence, noisy."""

from __future__ import annotations

import dataclasses
import re
import zlib
from collections.abc import Mapping
from typing import Literal

import numpy as np
import pandas as pd

from energyopt.engine.forecast.sources import HOUR, ActualSource, check_request
from energyopt.errors import ForecastError
from energyopt.inputs.timeseries import fmt_time


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
        self.lag, self.lag_text = pd.Timedelta(lag), lag
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
                try:
                    values[usable] = self.actuals.read(quantity, lagged[usable])
                except ForecastError as exc:
                    raise ForecastError(f"persistence (lag {self.lag_text}): {exc}") from None
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
