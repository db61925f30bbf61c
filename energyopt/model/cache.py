"""Built plant models kept between the daily plans of a long-running service.

A plant planned every day, and re-planned on demand, builds the same model
structure again and again. Keeping the last model of each scenario lets the
next plan update its parameters and refresh its compiled matrices instead
(:meth:`energyopt.model.PlantSession.update`): on the default plant at 15 min
the optimised plan's build and solve take about 1 s instead of 2 s (the
baseline solved next to it for comparison is still built for every plan).
The rolling engine rebuilds the model anyway when the new window does not
fit its structure.

Models are keyed by the validated scenario (its JSON form, so any change to
the plant, tariffs or solver options gives a new key); the least recently
used goes first. :meth:`ModelCache.take` removes the model it returns, so a
model is never used by two plans at once.
"""

from __future__ import annotations

import collections
import hashlib
import threading

from energyopt.inputs.config import Scenario
from energyopt.model.plant import PlantSession

#: models kept per process (each about 50-150 MB for the default plant at 15 min)
DEFAULT_SIZE = 4


def scenario_key(scenario: Scenario) -> str:
    """A key that changes with any field of the scenario."""
    return hashlib.sha256(scenario.model_dump_json().encode()).hexdigest()


class ModelCache:
    """The last built model of each of a few scenarios (least recently used evicted)."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size = size
        self._models: collections.OrderedDict[str, PlantSession] = collections.OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str) -> PlantSession | None:
        """Remove and return the model kept under ``key`` (None if there is none)."""
        with self._lock:
            return self._models.pop(key, None)

    def keep(self, key: str, plant: PlantSession) -> None:
        """Keep ``plant`` for the next plan of the same scenario."""
        with self._lock:
            self._models[key] = plant
            self._models.move_to_end(key)
            while len(self._models) > self.size:
                self._models.popitem(last=False)

    def clear(self) -> None:
        """Forget every kept model."""
        with self._lock:
            self._models.clear()

    def __len__(self) -> int:
        return len(self._models)


#: the process's models for daily planning (:mod:`energyopt.service.planning`)
WARM_MODELS = ModelCache()
