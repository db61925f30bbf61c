"""`energyopt serve` starts a real HTTP server that answers and stops cleanly."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

import httpx
from service_helpers import SCENARIOS


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_answers_health_and_refuses_without_key(tmp_path):
    port = _free_port()
    env = {"PATH": "/usr/bin:/bin", "ENERGYOPT_SCENARIOS_DIR": str(SCENARIOS)}
    command = [sys.executable, "-m", "energyopt.cli", "serve", "--port", str(port)]
    command += ["--data-dir", str(tmp_path / "data"), "--log-level", "warning"]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stdout.read().decode()
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "server did not answer within 60 s"
                time.sleep(0.2)
        assert health.status_code == 200
        assert health.json()["database"]["detail"]["dialect"] == "sqlite"
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/runs").status_code == 401
        assert (tmp_path / "data" / "energyopt.sqlite3").exists()
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            raise
    assert server.returncode == 0


def test_a_key_given_in_the_url_never_reaches_the_access_log(tmp_path):
    """The dashboard's ``/?key=`` is redacted in the real server's access log."""
    port = _free_port()
    token = "dashboard-token-" + "x" * 32
    env = {
        "PATH": "/usr/bin:/bin",
        "ENERGYOPT_SCENARIOS_DIR": str(SCENARIOS),
        "ENERGYOPT_ADMIN_TOKEN": token,
    }
    command = [sys.executable, "-m", "energyopt.cli", "serve", "--port", str(port)]
    command += ["--data-dir", str(tmp_path / "data"), "--log-level", "info"]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stdout.read().decode()
            try:
                opened = httpx.get(f"http://127.0.0.1:{port}/?key={token}", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "server did not answer within 60 s"
                time.sleep(0.2)
        assert opened.status_code == 303
        assert opened.headers["location"] == "/"
    finally:
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=30)
    log = output.decode()
    assert "GET /?key=[redacted]" in log  # the request was logged ...
    assert token not in log  # ... without the key
