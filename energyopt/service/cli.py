"""Service commands of ``energyopt``: ``serve`` and ``keys create|list|revoke``.

They read the service settings from the environment (``ENERGYOPT_*``, see
:mod:`energyopt.service.settings`); ``--data-dir`` and ``--database-url`` override them.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from energyopt.errors import EnergyOptError

keys_app = typer.Typer(no_args_is_help=True, help="API keys of the service.")
console = Console()
err_console = Console(stderr=True)

#: modules of the ``service`` extra the service commands need
SERVICE_MODULES = (
    "fastapi",
    "uvicorn",
    "sqlalchemy",
    "alembic",
    "pydantic_settings",
    "apscheduler",
)
#: the HTTP app's factory (imported by name: the library does not import the HTTP face)
APP_FACTORY = "api.main:create_app"
DataDirOption = typer.Option(None, "--data-dir", help="service data directory")
DatabaseOption = typer.Option(None, "--database-url", help="SQLAlchemy URL (default: SQLite)")


def require_service_stack() -> None:
    """Exit with a one-line reason when the ``service`` extra is not installed."""
    import importlib.util

    missing = [m for m in SERVICE_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        reason = f"the service needs {', '.join(missing)}: pip install 'energyopt[service]'"
        err_console.print(f"[bold red]error:[/] {escape(reason)}", highlight=False)
        raise typer.Exit(code=2)


def _apply_overrides(data_dir: Path | None, database_url: str | None):
    """Settings with command-line overrides (also exported for the server process)."""
    require_service_stack()
    from energyopt.service.settings import get_settings

    if data_dir is not None:
        os.environ["ENERGYOPT_DATA_DIR"] = str(data_dir)
    if database_url is not None:
        os.environ["ENERGYOPT_DATABASE_URL"] = database_url
    get_settings.cache_clear()
    return get_settings()


def _open_store(data_dir: Path | None, database_url: str | None):
    settings = _apply_overrides(data_dir, database_url)
    store = settings.open_store()
    store.migrate()
    return store


def serve(
    host: str = typer.Option("127.0.0.1", help="address to listen on (0.0.0.0: all)"),
    port: int = typer.Option(8000, min=1, max=65535, help="TCP port"),
    data_dir: Path | None = DataDirOption,
    database_url: str | None = DatabaseOption,
    log_level: str = typer.Option("info", help="uvicorn log level"),
    opcua_endpoint: str | None = typer.Option(
        None,
        "--opcua-endpoint",
        help="also serve OPC UA, e.g. opc.tcp://0.0.0.0:4840 (or ENERGYOPT_OPCUA_ENDPOINT)",
    ),
    mqtt_url: str | None = typer.Option(
        None,
        "--mqtt-url",
        help="also publish to an MQTT broker, e.g. mqtt://user:password@127.0.0.1:1883 "
        "(or ENERGYOPT_MQTT_URL)",
    ),
) -> None:
    """Run the HTTP service (API under /api/v1, health at /health, docs at /docs).

    The process is one instance of the service on its database
    (:mod:`energyopt.service.instances`): a second one on the same SQLite
    file is refused (exit code 2); on PostgreSQL instances share the work.
    With an OPC UA endpoint the OPC UA server runs next to it on the same store,
    with a broker URL the MQTT bridge (:mod:`energyopt.service.control.mqtt`).
    """
    require_service_stack()
    import dataclasses
    import logging

    import uvicorn
    from uvicorn.importer import import_from_string

    from energyopt.service.instances import ServiceInstance

    if opcua_endpoint is not None:
        os.environ["ENERGYOPT_OPCUA_ENDPOINT"] = opcua_endpoint
    if mqtt_url is not None:
        os.environ["ENERGYOPT_MQTT_URL"] = mqtt_url
    try:
        settings = _apply_overrides(data_dir, database_url)
    except ValueError as exc:  # pydantic's ValidationError: e.g. a malformed endpoint
        err_console.print(f"[bold red]error:[/] {escape(_without_password(exc))}")
        raise typer.Exit(code=2) from None
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    app = import_from_string(APP_FACTORY)(settings)
    app.state.scheduler_config = dataclasses.replace(
        app.state.scheduler_config, claim_stale_after_s=settings.instance_timeout_s
    )
    instance = ServiceInstance(settings, app.state.executor)
    control = bridge = None
    try:
        instance.start()
        if settings.opcua_endpoint is not None or settings.mqtt_url is not None:
            store = settings.open_store()
            store.migrate()
        if settings.opcua_endpoint is not None:
            from energyopt.service.control.opcua.cli import start_server

            control = start_server(settings, store)
        if settings.mqtt_url is not None:
            bridge = _start_mqtt(settings, store)
    except (EnergyOptError, OSError) as exc:
        if control is not None:
            control.stop()
        instance.stop()
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(code=2) from None
    opcua = f", OPC UA on {settings.opcua_endpoint}" if control is not None else ""
    mqtt = f", MQTT on {bridge.address} ({bridge.prefix}/...)" if bridge is not None else ""
    console.print(
        f"energyopt service on http://{host}:{port} (docs /docs){opcua}{mqtt}, "
        f"database {settings.db_url.split('@')[-1]}, instance {settings.instance_id}"
    )
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level)
    finally:
        if bridge is not None:
            bridge.stop()
        if control is not None:
            control.stop()
        instance.stop()


def _without_password(exc: Exception) -> str:
    """A settings error in one line, with the password of a broker URL masked."""
    import re

    return re.sub(r"(mqtts?://[^:@/\s]*:)[^@/\s]*@", r"\1***@", " ".join(str(exc).split()))


def _start_mqtt(settings, store):
    """The started MQTT bridge; an error naming the missing package without paho-mqtt."""
    try:
        from energyopt.service.control.mqtt import start_bridge
    except ModuleNotFoundError as exc:
        reason = f"--mqtt-url needs {exc.name}: pip install 'energyopt[service]'"
        raise EnergyOptError(reason) from None
    return start_bridge(settings, store)


@keys_app.command("create")
def create_key(
    role: str = typer.Option(..., help="viewer, planner or admin"),
    name: str = typer.Option(..., help="who or what uses the key"),
    data_dir: Path | None = DataDirOption,
    database_url: str | None = DatabaseOption,
) -> None:
    """Create an API key and print its token (shown once; only its hash is stored)."""
    from energyopt.service.store import keys

    try:
        store = _open_store(data_dir, database_url)
        record, token = keys.create_key(store, name=name, role=role)
    except EnergyOptError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(code=2) from None
    err_console.print(f"created key {record.id} {record.name!r} ({record.role}); token:")
    typer.echo(token)


@keys_app.command("list")
def list_keys(
    data_dir: Path | None = DataDirOption, database_url: str | None = DatabaseOption
) -> None:
    """List API keys (without tokens)."""
    from energyopt.service.store import keys

    table = Table(show_header=True, header_style="bold")
    for column in ("id", "name", "role", "prefix", "created (UTC)", "revoked (UTC)"):
        table.add_column(column)
    for key in keys.list_keys(_open_store(data_dir, database_url)):
        revoked = f"{key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else ""
        table.add_row(
            str(key.id), key.name, key.role, key.prefix, f"{key.created_at:%Y-%m-%d %H:%M}", revoked
        )
    console.print(table)


@keys_app.command("revoke")
def revoke_key(
    key_id: int = typer.Argument(..., help="key id (see `energyopt keys list`)"),
    data_dir: Path | None = DataDirOption,
    database_url: str | None = DatabaseOption,
) -> None:
    """Revoke an API key."""
    from energyopt.service.store import keys

    try:
        record = keys.revoke_key(_open_store(data_dir, database_url), key_id=key_id)
    except EnergyOptError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(code=2) from None
    console.print(f"revoked key {record.id} {record.name!r}")
