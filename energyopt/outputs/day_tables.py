"""A delivery day's tables: the plan in force from its versions, readings per interval.

A day can have several schedule versions (the day-ahead plan, re-plans). In
each interval the newest version issued at or before the interval's start is
in force (:func:`in_force`); :func:`stitch` makes one table of the day from
the versions' tables. Meter readings are averaged per interval
(:func:`interval_means`). Tables in, tables out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from energyopt.inputs.timeseries import index_step


@dataclasses.dataclass(frozen=True)
class PlanVersion:
    """One schedule version: its number, when it was issued and its delivery-day dispatch."""

    version: int
    issued_at: pd.Timestamp
    dispatch: pd.DataFrame


def in_force(versions: Iterable[PlanVersion], index: pd.DatetimeIndex) -> np.ndarray:
    """The number of the version in force in each interval of ``index`` (0: none).

    In force at ``t``: the newest version (by ``issued_at``, then number) issued
    at or before ``t`` whose dispatch has the interval.
    """
    numbers = np.zeros(len(index), dtype=int)
    for version in sorted(versions, key=lambda v: (v.issued_at, v.version)):
        mask = np.asarray(index >= version.issued_at) & index.isin(version.dispatch.index)
        numbers[mask] = version.version
    return numbers


def stitch(
    frames: Mapping[int, pd.DataFrame], numbers: np.ndarray, index: pd.DatetimeIndex
) -> pd.DataFrame:
    """One table on ``index``: each interval's row from the frame of its version number."""
    columns = list(dict.fromkeys(c for frame in frames.values() for c in frame.columns))
    out = pd.DataFrame(0.0, index=index, columns=columns)
    for number, frame in frames.items():
        rows = index[numbers == number]
        if len(rows):
            out.loc[rows, frame.columns] = frame.loc[rows].to_numpy(dtype=float)
    return out


def interval_means(readings: pd.DataFrame, index: pd.DatetimeIndex) -> pd.DataFrame:
    """Readings averaged per interval of ``index``: one column ``<asset>.<quantity>``.

    ``readings`` has the columns ``asset``, ``quantity``, ``value`` and
    ``measured_at`` (UTC); a reading belongs to the interval its time falls in.
    Intervals without a reading are NaN.
    """
    if readings.empty:
        return pd.DataFrame(index=index)
    stamps = pd.DatetimeIndex(pd.to_datetime(readings["measured_at"], utc=True))
    position = index.searchsorted(stamps, side="right") - 1
    inside = (position >= 0) & (stamps < index[np.maximum(position, 0)] + index_step(index))
    keys = readings["asset"].astype(str) + "." + readings["quantity"].astype(str)
    table = pd.DataFrame({"key": keys[inside].to_numpy(), "slot": position[inside]})
    table["value"] = readings["value"].to_numpy(dtype=float)[inside]
    means = table.groupby(["slot", "key"])["value"].mean().unstack("key")
    return means.reindex(range(len(index))).set_axis(index)
