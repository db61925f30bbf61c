"""The plant's state between planning windows.

A :class:`SystemState` holds, per asset name, what the asset's
``final_state`` returned after the committed part of the previous window
(storage levels ``level_kwh``, month-to-date peaks ``peak_kw:YYYY-MM``, and
whatever process assets carry: moisture, on/off with time in state, batches
running, volumes taken). It is immutable: each window produces a new state
with :meth:`SystemState.advance`, so a run can keep every state it passed
through. It serialises to plain JSON (for storage or a control system that
reports measured state).
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import pandas as pd


def _frozen(values: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Mapping[str, Any]]:
    return MappingProxyType(
        {asset: MappingProxyType(copy.deepcopy(dict(keys))) for asset, keys in values.items()}
    )


@dataclasses.dataclass(frozen=True)
class SystemState:
    """State of every asset at time ``at`` (the start of the next window).

    Attributes
    ----------
    at : Timestamp or None
        UTC time the state refers to (None: the scenario's initial values).
    values : mapping
        ``{asset name: {key: JSON-able value}}``; assets not listed start from
        their configured initial values.
    """

    at: pd.Timestamp | None = None
    values: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", _frozen(self.values))

    def for_context(self) -> dict[str, dict[str, Any]]:
        """Plain (mutable) copy for a :class:`~energyopt.assets.BuildContext`."""
        return {asset: copy.deepcopy(dict(keys)) for asset, keys in self.values.items()}

    def advance(self, at: pd.Timestamp, updates: Mapping[str, Mapping[str, Any]]) -> SystemState:
        """New state at ``at``: each asset's entry replaced by its update if it has one."""
        merged = {asset: dict(keys) for asset, keys in self.values.items()}
        for asset, keys in updates.items():
            if keys:
                merged[asset] = dict(keys)
        return SystemState(at=at, values=merged)

    def get(self, asset: str, key: str, default: Any = None) -> Any:
        """One value, or ``default``."""
        return self.values.get(asset, {}).get(key, default)

    def to_json(self) -> str:
        """JSON text: ``{"at": ISO time or null, "values": {...}}``."""
        at = None if self.at is None else pd.Timestamp(self.at).isoformat()
        return json.dumps({"at": at, "values": self.for_context()}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> SystemState:
        """Inverse of :meth:`to_json`."""
        data = json.loads(text)
        at = None if data.get("at") is None else pd.Timestamp(data["at"])
        return cls(at=at, values=data.get("values", {}))
