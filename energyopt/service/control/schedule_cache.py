"""In-memory cache of published schedules, so the control-system faces stay cheap.

Used by the HTTP endpoints (``api/``), the OPC UA server and the MQTT
publisher alike. Versions are immutable, so a version is cached by its row id
for as long as it is used (least recently used first out). Which version is
the *latest* of a plant (or of a plant and day) is a pointer that is re-read
from the store after ``ttl_s`` seconds, or at once after this process
published (the planning scheduler and the re-plan endpoint call
:meth:`ScheduleCache.invalidate`). Another process publishing is seen within
``ttl_s``.

Plant records are re-read after ``ttl_s`` as well (every request names its
plant). A cached version holds the ready JSON body of ``GET .../schedules/...``
(metadata plus the payload text exactly as stored, never re-encoded), and,
when first asked for, the parsed payload and its setpoints per interval.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from energyopt.service.control.setpoints import setpoint_rows
from energyopt.service.schedule import interval_starts
from energyopt.service.store import PlantRecord, ScheduleRecord, Store
from energyopt.service.store import plants as plant_store
from energyopt.service.store import schedules as schedule_store
from energyopt.service.store.db import dumps

#: versions kept in memory [-]
MAX_VERSIONS = 64
#: how long a "latest version" pointer is trusted [s]
DEFAULT_TTL_S = 1.0


def schedule_meta(record: ScheduleRecord) -> dict[str, Any]:
    """Metadata of a version (everything but the payload)."""
    return {
        "id": record.id,
        "plant_id": record.plant_id,
        "delivery_date": record.delivery_date.isoformat(),
        "version": record.version,
        "created_at": record.created_at.isoformat(),
        "issued_at": None if record.issued_at is None else record.issued_at.isoformat(),
        "run_id": record.run_id,
        "solve_status": record.solve_status,
        "is_incumbent": record.is_incumbent,
        "mip_gap": record.mip_gap,
        "is_fallback": record.is_fallback,
        "fallback_reason": record.fallback_reason,
        "has_violations": record.has_violations,
    }


@dataclasses.dataclass
class CachedSchedule:
    """One version: its record, ready response body and lazily derived views."""

    record: ScheduleRecord
    body: bytes
    _payload: dict[str, Any] | None = None
    _setpoints: list[dict[str, Any]] | None = None
    _starts_ns: np.ndarray | None = None
    _derived: dict[str, Any] = dataclasses.field(default_factory=dict)
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    @classmethod
    def of(cls, record: ScheduleRecord) -> CachedSchedule:
        """Cache entry of a stored version."""
        head = dumps(schedule_meta(record))
        body = f'{head[:-1]},"schedule":{record.payload}}}'.encode()
        return cls(record=record, body=body)

    @property
    def payload(self) -> dict[str, Any]:
        """The schedule document, parsed once."""
        with self._lock:
            if self._payload is None:
                self._payload = self.record.payload_data()
            return self._payload

    @property
    def setpoints(self) -> list[dict[str, Any]]:
        """Setpoints of every interval (control-system convention), computed once."""
        payload = self.payload
        with self._lock:
            if self._setpoints is None:
                self._setpoints = setpoint_rows(payload)
            return self._setpoints

    @property
    def starts_ns(self) -> np.ndarray:
        """Interval starts as UTC nanoseconds (sorted)."""
        payload = self.payload
        with self._lock:
            if self._starts_ns is None:
                stamps = interval_starts(payload)
                self._starts_ns = np.asarray(stamps.as_unit("ns").asi8, dtype=np.int64)
            return self._starts_ns

    def derived(self, name: str, compute: Callable[[CachedSchedule], Any]) -> Any:
        """A view computed once from this version (e.g. serialized setpoint intervals)."""
        with self._lock:
            if name in self._derived:
                return self._derived[name]
        value = compute(self)
        with self._lock:
            return self._derived.setdefault(name, value)

    @property
    def step(self) -> dt.timedelta:
        """Interval length."""
        return dt.timedelta(seconds=self.payload["step_s"])


class ScheduleCache:
    """Versions by id (LRU); latest-version pointers and plants with a short time to live."""

    def __init__(self, store: Store, ttl_s: float = DEFAULT_TTL_S) -> None:
        self.store = store
        self.ttl_s = ttl_s
        self._versions: collections.OrderedDict[int, CachedSchedule] = collections.OrderedDict()
        self._pointers: dict[tuple[int, dt.date | None], tuple[float, int | None]] = {}
        self._plants: dict[int, tuple[float, PlantRecord]] = {}
        self._lock = threading.Lock()

    def version(self, schedule_id: int) -> CachedSchedule:
        """The cached version ``schedule_id`` (read from the store once)."""
        with self._lock:
            entry = self._versions.get(schedule_id)
            if entry is not None:
                self._versions.move_to_end(schedule_id)
                return entry
        entry = CachedSchedule.of(
            schedule_store.get_schedule_by_id(self.store, schedule_id=schedule_id)
        )
        with self._lock:
            self._versions[schedule_id] = entry
            while len(self._versions) > MAX_VERSIONS:
                self._versions.popitem(last=False)
        return entry

    def add(self, record: ScheduleRecord) -> CachedSchedule:
        """Cache a record already read (e.g. a version asked for by number)."""
        with self._lock:
            entry = self._versions.get(record.id)
        return entry if entry is not None else self.version(record.id)

    def latest(self, plant_id: int, day: dt.date | None = None) -> CachedSchedule | None:
        """Newest version of a plant's latest day (``day`` None) or of ``day``; None if none."""
        key = (plant_id, day)
        now = time.monotonic()
        with self._lock:
            cached = self._pointers.get(key)
        if cached is not None and now - cached[0] < self.ttl_s:
            schedule_id = cached[1]
        else:
            found: tuple[int, dt.date, int] | tuple[int, int] | None
            if day is None:
                found = schedule_store.latest_ids(self.store, plant_id=plant_id)
            else:
                found = schedule_store.latest_version_ids(
                    self.store, plant_id=plant_id, delivery_date=day
                )
            schedule_id = None if found is None else found[0]
            with self._lock:
                self._pointers[key] = (now, schedule_id)
        return None if schedule_id is None else self.version(schedule_id)

    def plant(self, plant_id: int) -> PlantRecord:
        """The plant record, re-read after ``ttl_s`` (raises NotFoundError like the store)."""
        now = time.monotonic()
        with self._lock:
            cached = self._plants.get(plant_id)
        if cached is not None and now - cached[0] < self.ttl_s:
            return cached[1]
        record = plant_store.get_plant(self.store, plant_id=plant_id)
        with self._lock:
            self._plants[plant_id] = (now, record)
        return record

    def invalidate(self, plant_id: int) -> None:
        """Forget the latest-version pointers of a plant (after a publish)."""
        with self._lock:
            for key in [k for k in self._pointers if k[0] == plant_id]:
                del self._pointers[key]
            self._plants.pop(plant_id, None)
