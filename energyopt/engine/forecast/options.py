"""Forecast options of a run and the set of providers they make."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from energyopt.engine.forecast.files import FileForecast
from energyopt.engine.forecast.providers import (
    NoiseSpec,
    NoisyForecast,
    PerfectForecast,
    PersistenceForecast,
)
from energyopt.engine.forecast.sources import ActualSource, DayAheadRule, ForecastProvider
from energyopt.errors import ForecastError


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
