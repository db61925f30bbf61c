"""Setpoint intervals at an instant: what a control system is told to do now and next.

The interval that contains an instant and the ones after it come from the
newest published version of each local delivery day they fall in (looked up
in a :class:`~energyopt.service.control.schedule_cache.ScheduleCache`). One
interval is a dict:

* ``valid_from``, ``valid_to``: its bounds, UTC, ``YYYY-MM-DDTHH:MM:SSZ``;
* ``delivery_date``: the local day of the version it comes from;
* ``schedule_version``, ``is_fallback``, ``has_violations``: that version;
* ``setpoints``: per asset, in the control-system convention of
  :mod:`energyopt.service.control.setpoints`.

``GET .../setpoints/current``, the OPC UA server and the MQTT publisher all
build their intervals here, so they agree for the same instant.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from energyopt.service.control.schedule_cache import CachedSchedule, ScheduleCache
from energyopt.service.store import PlantRecord

#: delivery days searched from the one of the instant on
MAX_DAYS = 4
#: text form of interval bounds
STAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def interval(entry: CachedSchedule, position: int) -> dict[str, Any]:
    """The interval at ``position`` of a cached version (see the module docstring)."""
    record = entry.record
    start = pd.Timestamp(int(entry.starts_ns[position]), tz="UTC")
    return {
        "valid_from": start.strftime(STAMP_FORMAT),
        "valid_to": (start + entry.step).strftime(STAMP_FORMAT),
        "delivery_date": record.delivery_date.isoformat(),
        "schedule_version": record.version,
        "is_fallback": record.is_fallback,
        "has_violations": record.has_violations,
        "setpoints": entry.setpoints[position],
    }


def covering(
    cache: ScheduleCache, plant: PlantRecord, now: dt.datetime, count: int
) -> list[tuple[CachedSchedule, int]]:
    """The version and position of the interval containing ``now`` and up to ``count`` more.

    Empty when no published version covers ``now``; shorter than ``count + 1``
    when the versions published end earlier.
    """
    found: list[tuple[CachedSchedule, int]] = []
    at = pd.Timestamp(now).tz_convert("UTC")
    day = at.tz_convert(plant.timezone).date()
    for _ in range(MAX_DAYS):  # the instant's day and the next ones until enough are found
        entry = cache.latest(plant.id, day)
        if entry is None or not len(entry.starts_ns):
            break
        starts = entry.starts_ns
        step_ns = int(entry.step.total_seconds() * 1e9)
        first = int(np.searchsorted(starts, at.value, side="right")) - 1
        if not found and (first < 0 or at.value >= starts[first] + step_ns):
            break  # the current interval is not covered
        for position in range(max(first, 0), len(starts)):
            found.append((entry, position))
            if len(found) > count:
                return found
        day = day + dt.timedelta(days=1)
    return found


def intervals_at(
    cache: ScheduleCache, plant: PlantRecord, now: dt.datetime, count: int
) -> list[dict[str, Any]]:
    """The intervals of :func:`covering` as dicts."""
    return [interval(entry, position) for entry, position in covering(cache, plant, now, count)]


def signature(intervals: list[dict[str, Any]]) -> tuple[tuple[str, str, int], ...]:
    """What identifies a list of intervals: start, delivery day and version of each.

    Two lists with the same signature carry the same setpoints (versions are
    immutable), so a face republishes only when it changes: at an interval
    boundary or when a new version is published.
    """
    return tuple((i["valid_from"], i["delivery_date"], i["schedule_version"]) for i in intervals)


def name_segment(name: str) -> str:
    """A plant or asset name as one segment of a topic or node path.

    Letters, digits, ``_``, ``.`` and ``-`` are kept; anything else (``/``,
    MQTT wildcards, spaces) becomes ``_``.
    """
    return "".join(c if c.isascii() and (c.isalnum() or c in "_.-") else "_" for c in name)
