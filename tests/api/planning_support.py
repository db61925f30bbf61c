"""Helpers of the plant, schedule, measurement, setpoint and scheduler tests (not fixtures).

The service runs with its planning scheduler in-process and without the
start-up plan of new plants, so each test plans exactly when it says so.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api.main import create_app
from energyopt.service.planning import DataPaths, PlanningOutcome, plan_plant
from energyopt.service.scheduler import SchedulerConfig
from energyopt.service.settings import Settings
from energyopt.service.store import keys as key_store
from energyopt.service.store import measurements as measurement_store

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
ROLES = ("viewer", "planner", "admin")
UTC = dt.UTC
#: 12:30 in Paris: after the 11:00 planning time, so the delivery day is 2026-06-11
SUMMER_NOW = dt.datetime(2026, 6, 10, 10, 30, tzinfo=UTC)
REPLAY = {"inputs": "replay"}


class PlanningClient:
    """A TestClient with one token per role and planning helpers."""

    def __init__(self, client: TestClient, tokens: dict[str, str], settings: Settings) -> None:
        self.http = client
        self.app = client.app
        self.tokens = tokens
        self.settings = settings

    def headers(self, role: str) -> dict[str, str]:
        return {"X-API-Key": self.tokens[role]}

    def get(self, url: str, role: str = "viewer", **kw: Any):
        return self.http.get(url, headers={**self.headers(role), **kw.pop("headers", {})}, **kw)

    def post(self, url: str, role: str = "planner", **kw: Any):
        return self.http.post(url, headers=self.headers(role), **kw)

    @property
    def store(self):
        return self.app.state.store

    @property
    def scheduler(self):
        return self.app.state.scheduler

    @property
    def paths(self) -> DataPaths:
        return DataPaths(self.settings.allowed_data_roots, self.settings.scenarios_dir)

    def register(self, name: str = "pilot", **body: Any) -> dict[str, Any]:
        """Register a plant (admin) on the example scenario with replayed inputs."""
        payload = {"name": name, "scenario_path": "example.yaml", "options": REPLAY, **body}
        answer = self.post("/api/v1/plants", role="admin", json=payload)
        assert answer.status_code == 201, answer.text
        return answer.json()

    def plan(self, plant_id: int, now: dt.datetime = SUMMER_NOW, **kw: Any) -> PlanningOutcome:
        """Plan a plant as of ``now`` (in this process) and drop cached pointers."""
        outcome = plan_plant(self.store, plant_id, self.paths, now=now, **kw)
        self.app.state.schedule_cache.invalidate(plant_id)
        return outcome


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Service settings on a tmp data directory and the repository's scenarios."""
    return Settings(data_dir=tmp_path / "data", scenarios_dir=SCENARIOS, **overrides)


@contextlib.contextmanager
def planning_client(
    settings: Settings, executor, config: SchedulerConfig | None = None
) -> Iterator[PlanningClient]:
    """The service with an in-process scheduler and one key per role."""
    app = create_app(settings, executor=executor)
    app.state.scheduler_config = config or SchedulerConfig(
        in_process=True, plan_missing_at_start=False
    )
    with TestClient(app) as client:
        tokens = {
            role: key_store.create_key(app.state.store, name=f"test {role}", role=role)[1]
            for role in ROLES
        }
        yield PlanningClient(client, tokens, settings)


def balance_residual_kw(payload: dict[str, Any], carrier: str) -> float:
    """Largest |sum of net injections| of a carrier over the schedule's intervals [kW]."""
    columns = [c for c in payload["columns"] if c.endswith(f".net_{carrier}_kw")]
    assert columns, f"no {carrier} flows in the schedule"
    n = len(payload["time"])
    return max(abs(sum(payload["columns"][c][i] for c in columns)) for i in range(n))


def store_power_readings(
    store, plant_id: int, payload: dict[str, Any], powers_kw: dict[str, Any], offset_min: int = 10
) -> None:
    """``power_kw`` readings of the schedule's intervals, ``offset_min`` after each start:
    ``powers_kw[asset]`` holds one value per interval [kW, positive into the plant]."""
    starts = [dt.datetime.fromisoformat(t.replace("Z", "+00:00")) for t in payload["time"]]
    offset = dt.timedelta(minutes=offset_min)
    items = [
        measurement_store.Measurement(asset, "power_kw", float(values[i]), start + offset)
        for asset, values in powers_kw.items()
        for i, start in enumerate(starts)
    ]
    measurement_store.add_measurements(store, plant_id=plant_id, items=items)


def planned_powers_kw(payload: dict[str, Any]) -> dict[str, list[float]]:
    """Every asset's planned net electricity [kW] of a schedule (the plant as planned)."""
    suffix = ".net_electricity_kw"
    return {
        column.removesuffix(suffix): values
        for column, values in payload["columns"].items()
        if column.endswith(suffix)
    }
