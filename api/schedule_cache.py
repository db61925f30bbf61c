"""The schedule cache of the control-system endpoints.

It lives in :mod:`energyopt.service.control.schedule_cache`, shared with the
OPC UA server and the MQTT publisher (which never import the HTTP face); the
names are re-exported here for the routes.
"""

from __future__ import annotations

from energyopt.service.control.schedule_cache import (
    DEFAULT_TTL_S,
    MAX_VERSIONS,
    CachedSchedule,
    ScheduleCache,
    schedule_meta,
)

__all__ = ["DEFAULT_TTL_S", "MAX_VERSIONS", "CachedSchedule", "ScheduleCache", "schedule_meta"]
