"""Helpers of the API tests: settings, a client with one key per role, a tiny scenario.

Imported by ``conftest.py`` and by the test modules (``from service_helpers import ...``).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from api.main import create_app
from energyopt.service.jobs import RunExecutor
from energyopt.service.settings import Settings
from energyopt.service.store import keys as key_store

with warnings.catch_warnings():
    # Starlette 1.x prefers the package httpx2 for its test client; httpx works the same.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
ROLES = ("viewer", "planner", "admin")
#: longest a test waits for a run [s]
RUN_TIMEOUT_S = 120


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Service settings on a tmp data directory and the repository's scenarios."""
    return Settings(data_dir=tmp_path / "data", scenarios_dir=SCENARIOS, **overrides)


class ApiClient:
    """A TestClient with one token per role and small helpers."""

    def __init__(self, client: TestClient, tokens: dict[str, str]) -> None:
        self.http = client
        self.tokens = tokens
        self.app = client.app

    def headers(self, role: str) -> dict[str, str]:
        """``X-API-Key`` header of a key with ``role``."""
        return {"X-API-Key": self.tokens[role]}

    def _merged(self, role: str, kw: dict[str, Any]) -> dict[str, str]:
        return {**self.headers(role), **kw.pop("headers", {})}

    def get(self, url: str, role: str = "viewer", **kw: Any):
        return self.http.get(url, headers=self._merged(role, kw), **kw)

    def post(self, url: str, role: str = "planner", **kw: Any):
        return self.http.post(url, headers=self._merged(role, kw), **kw)

    def put(self, url: str, role: str = "planner", **kw: Any):
        return self.http.put(url, headers=self._merged(role, kw), **kw)

    def delete(self, url: str, role: str = "planner", **kw: Any):
        return self.http.delete(url, headers=self._merged(role, kw), **kw)

    @property
    def store(self):
        return self.app.state.store

    def wait(self, run_id: str, timeout_s: float = RUN_TIMEOUT_S) -> dict[str, Any]:
        """Poll a run until it is done, failed or cancelled; returns its last state."""
        return self.wait_for(f"/api/v1/runs/{run_id}", timeout_s)

    def wait_for(self, url: str, timeout_s: float) -> dict[str, Any]:
        """Poll a run or study until its status is done, failed or cancelled."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            state = self.get(url).json()
            if state["status"] in ("done", "failed", "cancelled"):
                return state
            time.sleep(0.05)
        raise AssertionError(f"{url} did not finish within {timeout_s} s: {state}")


def open_client(settings: Settings, executor: RunExecutor) -> Iterator[ApiClient]:
    """Start the app (lifespan) and create one key per role."""
    app = create_app(settings, executor=executor)
    with TestClient(app) as client:
        tokens = {
            role: key_store.create_key(app.state.store, name=f"test {role}", role=role)[1]
            for role in ROLES
        }
        yield ApiClient(client, tokens)


def tiny_document(*, load_kw: float = 1000.0, import_max_kw: float = 2000.0, **period) -> dict:
    """Grid + constant load, French day-ahead prices; one local day at 1 h by default."""
    return {
        "name": "tiny",
        "site": {
            "name": "Lille",
            "latitude": 50.63,
            "longitude": 3.06,
            "timezone": "Europe/Paris",
            "series": {
                "price_eur_per_mwh": {
                    "file": "data/prices_FR_2023.csv",
                    "column": "price_eur_per_mwh",
                }
            },
        },
        "tariffs": {"grid_fee_eur_per_mwh": 30.0},
        "period": {"start": "2023-06-05", "days": 1, "step": "1h", **period},
        "plant": {
            "assets": [
                {"type": "grid", "name": "grid", "import_max_kw": import_max_kw},
                {"type": "fixed_load", "name": "machines", "power_kw": load_kw},
            ]
        },
    }
