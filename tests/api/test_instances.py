"""Service instances: real ``energyopt serve`` processes on one database.

* SQLite allows one instance: a second on the same file is refused (exit 2);
* two instances on one PostgreSQL schema plan a plant's planning instant once;
* a run of an instance killed with SIGKILL is taken over by the other once
  the dead one's heartbeat is older than the timeout.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from service_helpers import SCENARIOS
from store_backends import new_schema, postgres_unavailable, postgres_url

from energyopt.service.planning import RUN_MODE
from energyopt.service.setup import ensure_plant
from energyopt.service.store import Store
from energyopt.service.store import instances as instance_store
from energyopt.service.store import keys as key_store
from energyopt.service.store import runs as run_store
from energyopt.service.store import schedules as schedule_store

#: heartbeat timing of the instances in these tests [s]
FAST_INSTANCES = {
    "ENERGYOPT_INSTANCE_HEARTBEAT_S": "0.5",
    "ENERGYOPT_INSTANCE_TIMEOUT_S": "3",
    "ENERGYOPT_RUN_POLL_S": "0.5",
}
TIMEOUT_S = 3.0
START_TIMEOUT_S = 90


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Service:
    """One ``energyopt serve`` process in its own process group (it and its workers)."""

    def __init__(self, tmp_path: Path, name: str, env: dict[str, str]) -> None:
        self.name = name
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = (tmp_path / f"{name}.log").open("w+b")
        environment = {"PATH": "/usr/bin:/bin", "ENERGYOPT_SCENARIOS_DIR": str(SCENARIOS), **env}
        command = [sys.executable, "-m", "energyopt.cli", "serve", "--port", str(self.port)]
        command += ["--data-dir", str(tmp_path / "data"), "--log-level", "warning"]
        self.process = subprocess.Popen(
            command,
            env=environment,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def wait_healthy(self) -> dict[str, Any]:
        """The first answer of ``/health`` (fails if the process ends first)."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert self.process.poll() is None, f"{self.name} ended:\n{self.output()}"
            try:
                return httpx.get(f"{self.url}/health", timeout=2).json()
            except httpx.TransportError:
                assert time.monotonic() < deadline, f"{self.name} did not answer:\n{self.output()}"
                time.sleep(0.2)

    def health(self) -> dict[str, Any]:
        return httpx.get(f"{self.url}/health", timeout=5).json()

    def kill(self) -> None:
        """SIGKILL the service and its worker processes (a machine dying)."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> int:
        """SIGINT (a clean stop); its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                raise
        self.log.close()
        return self.process.returncode


@contextlib.contextmanager
def _services(tmp_path: Path, env: dict[str, str], count: int) -> Iterator[list[Service]]:
    """``count`` instances started together; stopped (or already killed) afterwards."""
    services = [Service(tmp_path, f"instance{i}", env) for i in range(count)]
    try:
        for service in services:
            service.wait_healthy()
        yield services
    finally:
        for service in services:
            service.stop()


@pytest.fixture
def pg_schema() -> Iterator[tuple[Store, dict[str, str]]]:
    """A fresh migrated schema on the test server and the environment naming it."""
    reason = postgres_unavailable()
    if reason:
        pytest.skip(reason)
    store = Store(postgres_url(), schema=new_schema())
    store.migrate()
    env = {"ENERGYOPT_DATABASE_URL": postgres_url(), "ENERGYOPT_DATABASE_SCHEMA": store.schema}
    try:
        yield store, env
    finally:
        store.drop_schema()
        store.close()


def _until(condition: Callable[[], Any], timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (value := condition()):
        assert time.monotonic() < deadline, f"{what} within {timeout_s} s"
        time.sleep(0.1)
    return value


def test_a_second_instance_on_the_same_sqlite_file_is_refused(tmp_path):
    with _services(tmp_path, {}, 1) as (first,):
        second = Service(tmp_path, "second", {})
        assert second.process.wait(timeout=60) == 2
        message = second.output()
        assert "another service instance" in message
        assert "SQLite allows one instance" in message
        assert first.health()["database"]["ok"]  # the first one is unharmed
        store = Store(f"sqlite:///{tmp_path / 'data' / 'energyopt.sqlite3'}")
        try:
            assert len(instance_store.list_instances(store)) == 1
        finally:
            store.close()
    with _services(tmp_path, {}, 1) as (again,):  # the lock went with the first one
        assert again.health()["database"]["ok"]


def test_two_instances_plan_a_planning_instant_once(tmp_path, pg_schema):
    store, env = pg_schema
    plant_id, _ = ensure_plant(store, SCENARIOS, "example", "example.yaml")
    with _services(tmp_path, env, 2) as services:

        def outcomes() -> list[str | None]:
            found = []
            for service in services:
                plants = service.health()["scheduler"]["detail"]["plants"]
                last = plants[str(plant_id)]["last_planning_run"]
                found.append(last and last["status"])
            return found

        _until(lambda: "published" in outcomes(), 90, "no instance published the plan")
        time.sleep(2.0)  # the other instance's start-up plan, if it tried, has ended
        statuses = outcomes()
    # the other instance either tried and found the instant claimed, or started after
    # the publication and saw the plant planned already
    assert statuses.count("published") == 1
    assert set(statuses) <= {"published", "skipped", None}
    schedules = schedule_store.list_schedules(store, plant_id=plant_id, limit=10)
    assert [row["version"] for row in schedules] == [1]
    plans = [r for r in run_store.list_runs(store, limit=50) if r.mode == RUN_MODE]
    assert len(plans) == 1  # the second instance never solved
    claims = instance_store.planning_claims(store, plant_id=plant_id)
    assert len(claims) == 1
    assert claims[0][1] == plans[0].instance_id
    assert instance_store.list_instances(store) == []  # both stopped cleanly


def test_a_killed_instance_s_run_is_taken_over_after_the_heartbeat_timeout(tmp_path, pg_schema):
    store, env = pg_schema
    _, token = key_store.create_key(store, name="test planner", role="planner")
    with _services(tmp_path, {**env, **FAST_INSTANCES}, 2) as services:
        by_pid = {s.process.pid: s for s in services}
        body = {"scenario_id": None, "mode": "rolling", "days": 30, "step": "15min"}
        created = httpx.post(
            f"{services[0].url}/api/v1/scenarios",
            json={"path": "example.yaml"},
            headers={"X-API-Key": token},
        )
        body["scenario_id"] = created.json()["id"]
        answer = httpx.post(
            f"{services[0].url}/api/v1/runs", json=body, headers={"X-API-Key": token}
        )
        assert answer.status_code == 202, answer.text
        run_id = answer.json()["id"]

        def running() -> Any:
            run = run_store.get_run(store, run_id=run_id)
            return run if run.status == "running" and run.windows_done >= 2 else None

        first = _until(running, 60, "the run did not start")
        pids = {i.id: i.pid for i in instance_store.list_instances(store)}
        owner = by_pid[pids[first.instance_id]]
        survivor = next(s for s in services if s is not owner)
        owner.kill()
        killed_at = time.monotonic()

        def retried() -> Any:
            run = run_store.get_run(store, run_id=run_id)
            return run if run.attempts == 2 else None

        second = _until(retried, 30, "the run was not taken over")
        taken_over_s = time.monotonic() - killed_at
        done = _until(
            lambda: (r := run_store.get_run(store, run_id=run_id)).is_finished and r,
            90,
            "the taken-over run did not finish",
        )
        assert survivor.process.poll() is None
    assert TIMEOUT_S - 1.0 <= taken_over_s <= TIMEOUT_S + 10.0
    assert second.instance_id != first.instance_id
    assert done.status == "done", done.error
    assert done.instance_id == second.instance_id
    assert done.windows_done == done.windows_total
