"""Issued forecasts read from a file: the latest issue at or before the issue time wins."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from energyopt.engine.forecast.providers import _KnownThenForecast
from energyopt.engine.forecast.sources import ActualSource
from energyopt.errors import ForecastError
from energyopt.inputs.timeseries import fmt_time, parse_utc_stamps

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
            raw[column] = parse_utc_stamps(path, raw[column], ForecastError)
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
