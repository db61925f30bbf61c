"""``energyopt opcua``: the OPC UA server alone, and its certificates.

* ``energyopt opcua [--endpoint opc.tcp://0.0.0.0:4840]`` serves the plants of
  the service's store over OPC UA until interrupted (no HTTP API, no daily
  planning; ``RequestReplan`` plans in this process);
* ``energyopt opcua certs`` makes the server certificate (``--hostname`` for
  each name clients use), a client certificate (``--client NAME``, trusted at
  once) or trusts a client's own certificate (``--trust FILE``).

``energyopt serve --opcua-endpoint ...`` starts the same server next to the
HTTP service. Settings come from the environment (``ENERGYOPT_OPCUA_*``).
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from energyopt.errors import EnergyOptError

opcua_app = typer.Typer(
    help="OPC UA server for plant control systems, and its certificates.",
    invoke_without_command=True,
)
console = Console()
err_console = Console(stderr=True)
EndpointOption = typer.Option(
    None, "--endpoint", help="opc.tcp://HOST:PORT (default: ENERGYOPT_OPCUA_ENDPOINT)"
)


def _fail(exc: Exception) -> None:
    err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


def _settings(data_dir: Path | None, database_url: str | None, endpoint: str | None = None):
    """Service settings with the command's overrides (exported like ``serve`` does)."""
    from energyopt.service.cli import _apply_overrides

    if endpoint is not None:
        os.environ["ENERGYOPT_OPCUA_ENDPOINT"] = endpoint
    try:
        return _apply_overrides(data_dir, database_url)
    except ValueError as exc:  # pydantic's ValidationError: a bad endpoint or mode
        _fail(EnergyOptError(" ".join(str(exc).split())))


#: asyncua logs every node of its standard address space at INFO when it starts
QUIET_LOGGERS = ("asyncua",)


def start_server(settings, store):
    """A started :class:`ServerThread` for ``settings.opcua_endpoint`` on ``store``
    (asyncua's own logging at WARNING and above)."""
    import logging

    from energyopt.service.control.opcua.server import ControlServer, ServerThread

    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))

    thread = ServerThread(ControlServer(settings, store))
    thread.start()
    return thread


@opcua_app.callback()
def opcua(
    ctx: typer.Context,
    endpoint: str | None = EndpointOption,
    data_dir: Path | None = typer.Option(None, "--data-dir", help="service data directory"),
    database_url: str | None = typer.Option(None, "--database-url", help="SQLAlchemy URL"),
) -> None:
    """Serve the store's plants over OPC UA until interrupted (Ctrl-C)."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = (data_dir, database_url)
        return
    settings = _settings(data_dir, database_url, endpoint)
    if settings.opcua_endpoint is None:
        _fail(EnergyOptError("--endpoint: no OPC UA endpoint (or ENERGYOPT_OPCUA_ENDPOINT)"))
    store = settings.open_store()
    store.migrate()
    try:
        thread = start_server(settings, store)
    except (EnergyOptError, OSError) as exc:
        _fail(exc)
    modes = ",".join(settings.opcua_security)
    console.print(f"energyopt OPC UA server on {settings.opcua_endpoint} (security {modes})")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        stop.wait()
    finally:
        thread.stop()
        console.print("OPC UA server stopped")


@opcua_app.command()
def certs(
    ctx: typer.Context,
    hostname: list[str] = typer.Option(
        [], "--hostname", help="name or address clients connect to (repeatable)"
    ),
    client: str | None = typer.Option(None, help="also make a trusted client certificate"),
    trust_file: Path | None = typer.Option(
        None, "--trust", help="trust a client's certificate (DER or PEM)"
    ),
    replace: bool = typer.Option(False, "--replace", help="make new files over existing ones"),
) -> None:
    """Make the server certificate (kept if it exists), client certificates, trust."""
    from energyopt.service.control.opcua.certs import (
        Pki,
        make_client_certificate,
        make_server_certificate,
        trust,
    )

    data_dir, database_url = ctx.obj or (None, None)
    pki = Pki(_settings(data_dir, database_url).opcua_pki)
    try:
        server = make_server_certificate(pki, hostname or None, replace=replace)
        console.print(f"server certificate {server.certificate}, key {server.private_key}")
        if client is not None:
            files = make_client_certificate(pki, client, replace=replace)
            console.print(
                f"client {client}: certificate {files.certificate}, key {files.private_key} "
                f"(trusted)"
            )
        if trust_file is not None:
            console.print(f"trusted {trust(pki, trust_file)}")
    except EnergyOptError as exc:
        _fail(exc)
    console.print(f"trust list: {pki.trusted}")
