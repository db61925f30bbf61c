"""Published schedule documents as tables: CSV export and differences between versions.

A schedule document (``energyopt.schedule/1``, see :mod:`energyopt.service.schedule`)
holds ``time`` (UTC interval starts), ``step_s`` and ``columns`` (dispatch
quantities, units in the names). Differences are ``new - old`` per quantity
and interval; totals aggregate each quantity by its unit:

* powers ``*_kw`` -> energy over the day [kWh] (sum x step in hours);
* flows ``*_kg_per_h`` -> mass [kg];
* everything else (levels ``*_kwh``, ``*_kg``, fractions, temperatures,
  prices, counts) -> the mean over the intervals both versions cover.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import pandas as pd

from energyopt.service.schedule import to_frame

#: changes smaller than this are not reported [unit of the quantity]
DIFF_TOL = 1e-6


def to_csv(payload: Mapping[str, Any]) -> str:
    """CSV: ``timestamp_utc``, ``timestamp_local`` (plant zone), then one column per quantity."""
    frame = to_frame(payload)
    local = cast(pd.DatetimeIndex, frame.index).tz_convert(payload["plant"]["timezone"])
    frame.insert(0, "timestamp_local", local.strftime("%Y-%m-%dT%H:%M:%S%z"))
    return frame.to_csv(index_label="timestamp_utc", date_format="%Y-%m-%dT%H:%M:%SZ")


def aggregate(quantity: str, values: pd.Series, step_h: float) -> tuple[str, float]:
    """How a quantity adds up over the day, and that total (see the module docstring)."""
    if quantity.endswith("_kw"):
        return "energy_kwh", float(values.sum() * step_h)
    if quantity.endswith("_kg_per_h"):
        return "mass_kg", float(values.sum() * step_h)
    return "mean", float(values.mean()) if len(values) else float("nan")


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """Per quantity and interval ``new - old`` on the intervals both cover, with totals.

    Quantities only one version has are listed as ``added``/``removed``.
    """
    a, b = to_frame(old), to_frame(new)
    common = a.index.intersection(b.index)
    shared = [c for c in b.columns if c in a.columns]
    delta = b.loc[common, shared] - a.loc[common, shared]
    step_h = float(new["step_s"]) / 3600.0
    changed = [c for c in shared if (delta[c].abs() > DIFF_TOL).any()]
    totals = {}
    for column in changed:
        kind, before = aggregate(column, a.loc[common, column], step_h)
        _, after = aggregate(column, b.loc[common, column], step_h)
        totals[column] = {"aggregate": kind, "old": before, "new": after, "change": after - before}
    return {
        "time": [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in common],
        "changed": {c: delta[c].round(6).tolist() for c in changed},
        "totals": totals,
        "unchanged": [c for c in shared if c not in changed],
        "added": [c for c in b.columns if c not in a.columns],
        "removed": [c for c in a.columns if c not in b.columns],
        "intervals_only_old": int(len(a.index.difference(b.index))),
        "intervals_only_new": int(len(b.index.difference(a.index))),
    }
