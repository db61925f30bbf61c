"""The ``energyopt`` command."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from energyopt.config import load_scenario
from energyopt.errors import EnergyOptError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Energy planning for battery-cell plants.",
)
console = Console()
err_console = Console(stderr=True)


def _fail(exc: Exception) -> None:
    err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


@app.command()
def validate(scenario: Path = typer.Argument(..., help="scenario YAML file")) -> None:
    """Check a scenario file and its input series without solving."""
    from energyopt.pipeline import load_inputs, period_index

    try:
        loaded = load_scenario(scenario)
        index = period_index(loaded)
        load_inputs(loaded, index)
    except EnergyOptError as exc:
        _fail(exc)
    console.print(
        f"[green]ok[/] {scenario}: {len(loaded.plant.assets)} assets, "
        f"{len(index)} steps of {loaded.period.step} from {index[0]:%Y-%m-%d %H:%M}Z"
    )


@app.command()
def run(
    scenario: Path = typer.Argument(..., help="scenario YAML file"),
    start: dt.datetime | None = typer.Option(None, formats=["%Y-%m-%d"], help="first local day"),
    days: int | None = typer.Option(None, min=1, help="number of days"),
    step: str | None = typer.Option(None, help="time step: 15min or 1h"),
    out: Path = typer.Option(Path("out"), help="output directory"),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Solve the scenario period and write dispatch.csv, kpis.json, dispatch.html."""
    from energyopt.pipeline import run_scenario
    from energyopt.reporting import write_outputs

    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING)
    try:
        loaded = load_scenario(scenario)
        with console.status(f"solving {loaded.name} ..."):
            result = run_scenario(
                loaded, start=start.date() if start else None, days=days, step=step
            )
        paths = write_outputs(result, out)
    except EnergyOptError as exc:
        _fail(exc)
    console.print(kpi_table(result.kpis, title=f"{loaded.name}: {result.report.status}"))
    for path in paths:
        console.print(f"wrote {path}")


def kpi_table(kpis: dict, title: str = "KPIs") -> Table:
    """A readable two-column table of the KPIs."""
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("KPI")
    table.add_column("value", justify="right")
    for key, value in kpis.items():
        if isinstance(value, float):
            text = f"{value:,.4f}" if abs(value) < 10 else f"{value:,.1f}"
        elif isinstance(value, dict):
            text = json.dumps(value)
        else:
            text = str(value)
        table.add_row(key, text)
    return table


from energyopt.service_cli import keys_app, serve  # noqa: E402

app.command()(serve)
app.add_typer(keys_app, name="keys")


if __name__ == "__main__":  # pragma: no cover
    app()
