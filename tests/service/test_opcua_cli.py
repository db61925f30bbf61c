"""``energyopt opcua certs``, ``energyopt opcua`` alone and ``energyopt serve
--opcua-endpoint``: real processes, a real asyncua client over encrypted sessions with
the certificates the command made, on loopback."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

asyncua = pytest.importorskip("asyncua", reason="the service extra (asyncua) is not installed")
from asyncua import Client, ua  # noqa: E402
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256  # noqa: E402

from energyopt.service.control.opcua.address_space import NAMESPACE  # noqa: E402
from energyopt.service.control.opcua.certs import client_uri  # noqa: E402

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _env(data: Path) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "ENERGYOPT_SCENARIOS_DIR": str(SCENARIOS),
        "ENERGYOPT_DATA_DIR": str(data),
        "HOME": str(data),
    }


def _energyopt(data: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "energyopt.cli", *args],
        env=_env(data),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _planner_token(data: Path) -> str:
    made = _energyopt(data, "keys", "create", "--role", "planner", "--name", "scada")
    assert made.returncode == 0, made.stderr
    return made.stdout.strip().splitlines()[-1]


def test_certs_command_makes_server_and_client_certificates_and_keeps_them(tmp_path):
    data = tmp_path / "data"
    first = _energyopt(data, "opcua", "certs", "--hostname", "127.0.0.1", "--client", "scada")
    assert first.returncode == 0, first.stderr
    pki = data / "opcua"
    server_cert = (pki / "server_cert.der").read_bytes()
    assert (pki / "clients" / "scada" / "client_key.pem").stat().st_mode & 0o077 == 0
    assert (pki / "trusted" / "scada.der").is_file()
    again = _energyopt(data, "opcua", "certs")
    assert again.returncode == 0, again.stderr
    assert (pki / "server_cert.der").read_bytes() == server_cert  # kept
    replaced = _energyopt(data, "opcua", "certs", "--replace")
    assert (pki / "server_cert.der").read_bytes() != server_cert
    assert replaced.returncode == 0
    junk = tmp_path / "junk.der"
    junk.write_bytes(b"not a certificate")
    refused = _energyopt(data, "opcua", "certs", "--trust", str(junk))
    assert refused.returncode == 2
    assert "junk.der" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_a_malformed_endpoint_is_refused_with_its_setting_named(tmp_path):
    done = _energyopt(tmp_path / "data", "opcua", "--endpoint", "http://nowhere")
    assert done.returncode == 2
    assert "opcua_endpoint" in done.stderr
    assert "Traceback" not in done.stderr


async def _read_plants_folder(url: str, token: str, pki: Path) -> list[str]:
    """Open a SignAndEncrypt session as the planner and list the Plants folder."""
    client = Client(url=url, timeout=10)
    client.application_uri = client_uri("scada")
    client.set_user("scada")
    client.set_password(token)
    await client.set_security(
        SecurityPolicyBasic256Sha256,
        certificate=str(pki / "clients" / "scada" / "client_cert.der"),
        private_key=str(pki / "clients" / "scada" / "client_key.pem"),
        server_certificate=str(pki / "server_cert.der"),
        mode=ua.MessageSecurityMode.SignAndEncrypt,
    )
    async with client:
        namespace = await client.get_namespace_index(NAMESPACE)
        plants = await client.nodes.objects.get_child(f"{namespace}:Plants")
        return [(await n.read_browse_name()).Name for n in await plants.get_children()]


def _wait_for_opcua(process: subprocess.Popen, url: str, token: str, pki: Path) -> list[str]:
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, process.communicate()[0]
        try:
            return asyncio.run(_read_plants_folder(url, token, pki))
        except (TimeoutError, OSError, ua.UaError):
            assert time.monotonic() < deadline, "OPC UA server did not answer within 60 s"
            time.sleep(0.3)


def _wait_for_http(process: subprocess.Popen, url: str) -> httpx.Response:
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, process.communicate()[0]
        try:
            return httpx.get(url, timeout=5)
        except httpx.ConnectError:
            assert time.monotonic() < deadline, f"{url} did not answer within 60 s"
            time.sleep(0.3)


def _stop(process: subprocess.Popen, sig: int) -> str:
    process.send_signal(sig)
    out, _ = process.communicate(timeout=30)
    return out


@pytest.mark.parametrize("how", ["alone", "with the service"])
def test_opcua_server_starts_from_the_command_line(tmp_path, how):
    data = tmp_path / "data"
    assert _energyopt(data, "opcua", "certs", "--hostname", "127.0.0.1", "--client", "scada")
    token = _planner_token(data)
    url = f"opc.tcp://127.0.0.1:{_free_port()}/energyopt/"
    command = [sys.executable, "-m", "energyopt.cli"]
    if how == "alone":
        command += ["opcua", "--endpoint", url]
    else:
        port = _free_port()
        command += ["serve", "--port", str(port), "--opcua-endpoint", url]
        command += ["--log-level", "warning"]
    process = subprocess.Popen(
        command,
        env=_env(data),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert _wait_for_opcua(process, url, token, data / "opcua") == []  # no plants yet
        if how == "with the service":  # uvicorn binds its socket after the start-up
            assert _wait_for_http(process, f"http://127.0.0.1:{port}/health").status_code == 200
    finally:
        out = _stop(process, signal.SIGINT if how != "alone" else signal.SIGTERM)
    assert process.returncode == 0, out
    assert "OPC UA" in out
    assert url in out
    assert "add_node" not in out  # asyncua's start-up chatter stays quiet
