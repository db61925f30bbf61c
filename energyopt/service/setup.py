"""``energyopt service``: the service with an example plant, ready to look at.

Used by ``make run``. On the embedded SQLite store in ``--data-dir`` it

1. migrates the store;
2. registers the plant ``--plant-name`` on the scenario ``--scenario`` (a
   YAML file of the scenarios directory) unless a plant of that name exists
   (idempotent), with replayed inputs (the bundled series are from 2023);
3. creates an admin API key named :data:`ADMIN_KEY_NAME` the first time and
   prints its token once (only its hash is stored; later starts say so);
4. prints the dashboard URL and starts ``energyopt serve``; a plant without a
   schedule is planned right after start-up by the scheduler.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from energyopt.errors import EnergyOptError

if TYPE_CHECKING:
    from energyopt.service.store import Store

ADMIN_KEY_NAME = "service admin (energyopt service)"
console = Console()


def ensure_plant(store: Store, scenarios_dir: Path, name: str, scenario: str) -> tuple[int, bool]:
    """Id of the plant ``name``, registered on ``scenario`` if missing; True if new."""
    from energyopt.service.planning import PlanningOptions
    from energyopt.service.store import plants as plant_store
    from energyopt.service.store import scenarios as scenario_store
    from energyopt.service.store.documents import document_from_file

    existing = plant_store.find_plant(store, name=name)
    if existing is not None:
        return existing.id, False
    document = document_from_file(scenario, scenarios_dir=scenarios_dir)
    stored = scenario_store.create_scenario(
        store, name=document["name"], description=document.get("description", ""), document=document
    )
    plant = plant_store.create_plant(
        store,
        name=name,
        scenario_id=stored.id,
        planning_time=dt.time(11, 0),
        timezone=document["site"]["timezone"],
        options=PlanningOptions(inputs="replay").model_dump(),
    )
    return plant.id, True


def ensure_admin_key(store: Store) -> str | None:
    """Token of a new admin key on the first start; None when it exists already."""
    from energyopt.service.store import keys as key_store

    if any(k.name == ADMIN_KEY_NAME and k.is_active for k in key_store.list_keys(store)):
        return None
    _, token = key_store.create_key(store, name=ADMIN_KEY_NAME, role="admin")
    return token


def service(
    host: str = typer.Option("127.0.0.1", help="address to listen on"),
    port: int = typer.Option(8000, min=1, max=65535, help="TCP port"),
    data_dir: Path = typer.Option(Path("out/service"), help="service data directory"),
    scenario: str = typer.Option("example.yaml", help="scenario file of the scenarios directory"),
    plant_name: str = typer.Option("example", help="name of the plant to register"),
) -> None:
    """Run the service with an example plant registered and planned (``make run``)."""
    from energyopt.service.cli import serve
    from energyopt.service.instances import check_sqlite_free
    from energyopt.service.settings import get_settings

    os.environ["ENERGYOPT_DATA_DIR"] = str(data_dir)
    get_settings.cache_clear()
    settings = get_settings()
    try:
        store = settings.open_store()
        check_sqlite_free(store)  # before writing anything: a running instance has it
        store.migrate()
        plant_id, is_new = ensure_plant(store, settings.scenarios_dir, plant_name, scenario)
        token = ensure_admin_key(store)
        store.close()
    except EnergyOptError as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(code=2) from None
    url = f"http://{host}:{port}/"
    state = "registered" if is_new else "registered earlier"
    console.print(f"plant {plant_name!r} (id {plant_id}) {state}; data in {settings.data_dir}")
    if token is not None:
        console.print("admin API key (shown once, only its hash is stored):")
        typer.echo(f"  {token}")
        typer.echo(f"dashboard: {url}?key={token}")
    else:
        console.print(
            f"the admin key {ADMIN_KEY_NAME!r} was printed when it was created; make another "
            "with `energyopt keys create --role admin --name NAME`"
        )
        typer.echo(f"dashboard: {url} (enter an API key)")
    serve(host=host, port=port, data_dir=data_dir, database_url=None, log_level="info")
