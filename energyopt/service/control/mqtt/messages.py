"""What the MQTT face publishes and reads: topics, message bodies, payload checks.

Pure functions; the threads and the broker connection are in
:mod:`energyopt.service.control.mqtt.bridge`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import urllib.parse
from collections.abc import Iterable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from energyopt.errors import ControlFaceError, MeasurementError
from energyopt.service.control.intervals import MAX_DAYS, interval, name_segment
from energyopt.service.control.schedule_cache import CachedSchedule, ScheduleCache, schedule_meta
from energyopt.service.control.setpoints import CONVENTION
from energyopt.service.store import PlantRecord

#: largest measurement message accepted [bytes]
PAYLOAD_LIMIT_BYTES = 256 * 1024
#: time stamps of the messages (as ``generated_at`` of ``setpoints/current``)
STAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


@dataclasses.dataclass(frozen=True)
class BrokerAddress:
    """Where the broker listens and how to log in (from ``mqtt_url``)."""

    host: str
    port: int
    username: str | None = None
    password: str | None = dataclasses.field(default=None, repr=False)
    tls: bool = False

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        """Read ``mqtt[s]://[user[:password]@]host[:port]`` (default port 1883, TLS 8883).

        User and password are percent-decoded. Raises :class:`ControlFaceError`
        (without the password) when the URL is not of that form.
        """
        parts = urllib.parse.urlsplit(url)
        shown = f"{parts.scheme}://{parts.hostname or ''}"
        try:
            port = parts.port
        except ValueError:
            port = -1
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname or port == -1:
            msg = f"mqtt_url: {shown}... is not mqtt[s]://[user:password@]host[:port]"
            raise ControlFaceError(msg)
        tls = parts.scheme == "mqtts"
        unquote = urllib.parse.unquote
        return cls(
            host=parts.hostname,
            port=port or (8883 if tls else 1883),
            username=None if parts.username is None else unquote(parts.username),
            password=None if parts.password is None else unquote(parts.password),
            tls=tls,
        )

    def __str__(self) -> str:
        """The address without credentials."""
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def plant_segments(plants: Iterable[PlantRecord]) -> dict[int, str]:
    """Topic segment of each plant (by id): its name through :func:`name_segment`.

    Characters MQTT reserves (``/``, ``+``, ``#``) and any other outside
    ``[A-Za-z0-9_.-]`` become ``_``. When names give the same segment, the
    plant registered first (lowest id) keeps it and the others get ``~<id>``
    appended (``~`` never comes out of :func:`name_segment`). Pass every plant,
    active or not, so a plant's topic never changes.
    """
    taken: set[str] = set()
    segments: dict[int, str] = {}
    for plant in sorted(plants, key=lambda p: p.id):
        segment = name_segment(plant.name) or "_"
        if segment in taken:
            segment = f"{segment}~{plant.id}"
        taken.add(segment)
        segments[plant.id] = segment
    return segments


def newest_version(
    cache: ScheduleCache, plant: PlantRecord, now: dt.datetime
) -> CachedSchedule | None:
    """The version published last among the plant's delivery days from the local day of
    ``now`` on, or the latest day's when none is that recent; None without a schedule."""
    latest = cache.latest(plant.id)
    if latest is None:
        return None
    day = now.astimezone(ZoneInfo(plant.timezone)).date()
    found = [latest]
    while day < latest.record.delivery_date and len(found) <= MAX_DAYS:
        entry = cache.latest(plant.id, day)
        if entry is not None:
            found.append(entry)
        day += dt.timedelta(days=1)
    return max(found, key=lambda entry: entry.record.id)


def schedule_message(plant: PlantRecord, entry: CachedSchedule) -> dict[str, Any]:
    """A schedule version as published: the metadata of ``GET .../schedules/...``
    (version, delivery date, issued and created time, flags ``is_fallback``,
    ``has_violations``, ``is_incumbent``), the plant's name, the violations, and
    every interval as ``setpoints/current`` shows it."""
    meta = schedule_meta(entry.record)
    return {
        "plant": plant.name,
        **meta,
        "convention": CONVENTION,
        "violations": entry.payload.get("violations", []),
        "intervals": [interval(entry, i) for i in range(len(entry.starts_ns))],
    }


def setpoint_messages(
    plant: PlantRecord, intervals: Sequence[dict[str, Any]], now: dt.datetime
) -> dict[str, dict[str, Any]]:
    """The ``current`` and ``next`` messages of the intervals found at ``now``.

    ``current`` is the body ``GET .../setpoints/current?intervals=0`` answers
    at ``now``; ``next`` has the same head with the following interval. An
    interval not covered is left out (``complete`` false); when the current one
    is not covered, ``detail`` says so (where the endpoint answers 404).
    """
    head = {
        "plant_id": plant.id,
        "plant": plant.name,
        "generated_at": now.astimezone(dt.UTC).strftime(STAMP_FORMAT),
        "convention": CONVENTION,
    }
    messages = {}
    for slot, chosen in (("current", intervals[:1]), ("next", intervals[1:2])):
        messages[slot] = {**head, "complete": len(chosen) == 1, "intervals": list(chosen)}
    if not intervals:
        stamp = now.astimezone(dt.UTC)
        detail = f"plant {plant.id}: no published schedule covers {stamp:%Y-%m-%dT%H:%MZ}"
        messages["current"]["detail"] = detail
    return messages


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_payload(payload: bytes, limit_bytes: int = PAYLOAD_LIMIT_BYTES) -> Any:
    """The JSON document of a message; :class:`MeasurementError` (field ``payload``)
    when it is larger than ``limit_bytes``, not UTF-8, holds a NUL or is not JSON.

    Integers are read as floats, so numbers of any length stay numbers (an
    overlong one is infinite and fails the range check).
    """
    if len(payload) > limit_bytes:
        msg = f"payload: {len(payload)} bytes, more than the limit of {limit_bytes} bytes"
        raise MeasurementError(msg, field="payload")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MeasurementError(f"payload: not UTF-8 text ({exc.reason})", field="payload") from None
    if "\x00" in text:
        raise MeasurementError("payload: contains a NUL character", field="payload")
    try:
        return json.loads(text, parse_int=float, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise MeasurementError(f"payload: not JSON ({exc})", field="payload") from None


def rejected(field: str | None, detail: str) -> dict[str, Any]:
    """The reply to a refused measurement message."""
    return {"status": "rejected", "field": field, "detail": detail}
