"""`energyopt serve` starts a real HTTP server that answers and stops cleanly."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
from service_helpers import SCENARIOS


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def _server(tmp_path, log_level: str, **env: str) -> Iterator[tuple[str, list[str]]]:
    """A real ``energyopt serve``: its base URL, and its output once it stopped (exit 0)."""
    port = _free_port()
    environment = {"PATH": "/usr/bin:/bin", "ENERGYOPT_SCENARIOS_DIR": str(SCENARIOS), **env}
    command = [sys.executable, "-m", "energyopt.cli", "serve", "--port", str(port)]
    command += ["--data-dir", str(tmp_path / "data"), "--log-level", log_level]
    server = subprocess.Popen(
        command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    output: list[str] = []
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stdout.read().decode()
            try:
                httpx.get(f"{url}/health", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "server did not answer within 60 s"
                time.sleep(0.2)
        yield url, output
    finally:
        server.send_signal(signal.SIGINT)
        try:
            out, _ = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            raise
        output.append(out.decode())
    assert server.returncode == 0


def test_serve_answers_health_and_refuses_without_key(tmp_path):
    with _server(tmp_path, "warning") as (url, _):
        health = httpx.get(f"{url}/health", timeout=2)
        assert health.status_code == 200
        assert health.json()["database"]["detail"]["dialect"] == "sqlite"
        assert httpx.get(f"{url}/api/v1/runs").status_code == 401
        assert (tmp_path / "data" / "energyopt.sqlite3").exists()


def test_a_key_given_in_the_url_never_reaches_the_access_log(tmp_path):
    """The dashboard's ``/?key=`` is redacted in the real server's access log."""
    token = "dashboard-token-" + "x" * 32
    with _server(tmp_path, "info", ENERGYOPT_ADMIN_TOKEN=token) as (url, output):
        opened = httpx.get(f"{url}/?key={token}", timeout=2)
        assert opened.status_code == 303
        assert opened.headers["location"] == "/"
    log = output[0]
    assert "GET /?key=[redacted]" in log  # the request was logged ...
    assert token not in log  # ... without the key
