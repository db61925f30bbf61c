"""Load benchmark of the control-system endpoints against ``energyopt serve`` (uvicorn).

Measures ``GET /api/v1/plants/{id}/schedules/latest`` and
``GET /api/v1/plants/{id}/setpoints/current`` with a real HTTP load generator
(Debian's ``wrk``, a Lua script reports latency percentiles) on loopback,
against the service on its default embedded SQLite store, and prints requests
per second and latency percentiles against the targets: >= 300 requests/s
with p99 <= 50 ms on a 2-core machine. Every request carries a viewer API key
(authentication is part of what is measured).

Usage: ``python benchmarks/bench_api.py [--duration 10] [--connections 8]``.
``wrk`` is installed with apt-get when missing (Debian).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, Row, machine, print_table  # noqa: E402

from energyopt.service.planning import DataPaths, plan_plant, planning_instant  # noqa: E402
from energyopt.service.settings import Settings  # noqa: E402
from energyopt.service.store import keys as key_store  # noqa: E402
from energyopt.service.store import plants as plant_store  # noqa: E402
from energyopt.service.store import scenarios as scenario_store  # noqa: E402
from energyopt.service.store.documents import document_from_file  # noqa: E402

TARGET_RPS = 300.0
TARGET_P99_MS = 50.0
LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %.1f %.1f %.1f %.1f %d\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max,
    e.connect + e.read + e.write + e.timeout + e.status))
end
"""


def ensure_wrk() -> str:
    """Path of ``wrk``; installs Debian's package when missing."""
    path = shutil.which("wrk")
    if path is None and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], env=env, check=False)
        path = shutil.which("wrk")
    if path is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    return path


def prepare(data_dir: Path) -> tuple[int, str]:
    """A store with the example plant, today's schedule and a viewer key."""
    scenarios = ROOT / "scenarios"
    settings = Settings(data_dir=data_dir, scenarios_dir=scenarios)
    store = settings.open_store()
    store.migrate()
    document = document_from_file("example.yaml", scenarios_dir=scenarios)
    scenario = scenario_store.create_scenario(store, name="example", document=document)
    plant = plant_store.create_plant(
        store,
        name="bench",
        scenario_id=scenario.id,
        planning_time=dt.time(11, 0),
        timezone="Europe/Paris",
        options={"inputs": "replay"},
    )
    now = dt.datetime.now(dt.UTC)
    midnight = pd.Timestamp(now).tz_convert("Europe/Paris").normalize()
    instant = planning_instant(dt.time(11, 0), "Europe/Paris", midnight)  # delivery: today
    outcome = plan_plant(
        store, plant.id, DataPaths((scenarios,), scenarios), now=now, issued_at=instant
    )
    if outcome.status != "published":
        sys.exit(f"planning failed: {outcome.error}")
    _, token = key_store.create_key(store, name="bench", role="viewer")
    store.close()
    return plant.id, token


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_service(data_dir: Path, port: int) -> subprocess.Popen:
    """``energyopt serve`` on loopback; returns once /health answers."""
    env = {
        **os.environ,
        "ENERGYOPT_SCENARIOS_DIR": str(ROOT / "scenarios"),
        "ENERGYOPT_LOG_LEVEL": "WARNING",
    }
    command = [
        str(Path(sys.executable).with_name("energyopt")),
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code in (200, 503):
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.terminate()
    sys.exit("the service did not start")


def load(
    wrk: str, url: str, token: str, script: Path, seconds: int, connections: int
) -> dict[str, float]:
    """One wrk run; requests per second, latency percentiles [ms] and errors."""
    command = [
        wrk,
        "-t2",
        f"-c{connections}",
        f"-d{seconds}s",
        "-s",
        str(script),
        "-H",
        f"X-API-Key: {token}",
        url,
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(x for x in output.splitlines() if x.startswith("RESULT"))
    requests, duration_us, p50, p90, p99, worst, errors = (float(x) for x in line.split()[1:])
    return {
        "rps": requests / (duration_us / 1e6),
        "p50_ms": p50 / 1e3,
        "p90_ms": p90 / 1e3,
        "p99_ms": p99 / 1e3,
        "max_ms": worst / 1e3,
        "errors": errors,
        "requests": requests,
    }


def run(seconds: int = 10, connections: int = 8) -> list[Row]:
    """Measure both endpoints; rows for the table."""
    wrk = ensure_wrk()
    with tempfile.TemporaryDirectory(prefix="energyopt-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        plant_id, token = prepare(data_dir)
        script = Path(tmp) / "report.lua"
        script.write_text(LUA)
        port = free_port()
        service = start_service(data_dir, port)
        rows: list[Row] = []
        try:
            base = f"http://127.0.0.1:{port}/api/v1/plants/{plant_id}"
            for name, path in (
                ("schedules/latest", "/schedules/latest"),
                ("setpoints/current", "/setpoints/current?intervals=4"),
            ):
                check = httpx.get(base + path, headers={"X-API-Key": token}, timeout=10)
                check.raise_for_status()
                load(wrk, base + path, token, script, 2, connections)  # warm-up
                result = load(wrk, base + path, token, script, seconds, connections)
                rows += [
                    Row(f"{name}: throughput", result["rps"], "req/s", TARGET_RPS, False),
                    Row(f"{name}: p50 latency", result["p50_ms"], "ms"),
                    Row(f"{name}: p99 latency", result["p99_ms"], "ms", TARGET_P99_MS),
                    Row(f"{name}: max latency", result["max_ms"], "ms"),
                    Row(f"{name}: failed requests", result["errors"], "", 0.0),
                    Row(f"{name}: response size", len(check.content) / 1024, "KiB"),
                ]
        finally:
            service.terminate()
            service.wait(timeout=30)
    return rows


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns 1 if a target was missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per endpoint")
    parser.add_argument("--connections", type=int, default=8, help="open connections")
    args = parser.parse_args(argv)
    print(f"machine: {machine()}; wrk, 2 threads, {args.connections} connections, loopback")
    rows = run(args.duration, args.connections)
    print_table(rows, f"API load ({args.duration} s per endpoint, SQLite store)")
    return 1 if any(r.verdict == "MISSED" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
