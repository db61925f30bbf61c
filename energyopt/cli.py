"""The ``energyopt`` command."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, cast

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from energyopt.errors import EnergyOptError

if TYPE_CHECKING:
    from energyopt.engine.rolling.windows import DemandChargeRule, PeakFloor

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Energy planning for battery-cell plants.",
)
console = Console()
err_console = Console(stderr=True)
#: loggers of libraries that log an exception raised in code they call before re-raising it
RE_RAISING_LOGGERS = ("pyomo.core",)


def drop_own_errors(record: logging.LogRecord) -> bool:
    """Logging filter: False for a record about an energyopt error, which the CLI reports."""
    args = record.args if isinstance(record.args, tuple) else ()
    raised = record.exc_info[1] if record.exc_info else None
    return not any(isinstance(item, EnergyOptError) for item in (*args, raised))


for _name in RE_RAISING_LOGGERS:
    logging.getLogger(_name).addFilter(drop_own_errors)


def load_scenario(path: Path):
    """The scenario at ``path``; the model stack loads here, so ``--help`` answers at once."""
    from energyopt.inputs.config import load_scenario as load

    return load(path)


def _fail(exc: Exception) -> None:
    # escaped: messages name indexed rows (``balance[heat_ht]``), not console markup
    err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


@app.command()
def validate(scenario: Path = typer.Argument(..., help="scenario YAML file")) -> None:
    """Check a scenario file and its input series without solving."""
    from energyopt.engine.pipeline import load_inputs, period_index

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
    soft: bool = typer.Option(
        False,
        "--soft",
        help="process requirements the plant cannot meet are missed at a penalty and "
        "listed, instead of leaving no plan (scenario key process_limits)",
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Solve the scenario period and write dispatch.csv, kpis.json, violations.json,
    dispatch.html and sankey.html."""
    from energyopt.engine.pipeline import run_scenario
    from energyopt.outputs.reporting import write_outputs

    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING)
    try:
        loaded = load_scenario(scenario)
        if soft:
            loaded = loaded.model_copy(update={"process_limits": "soft"})
        with console.status(f"solving {loaded.name} ..."):
            result = run_scenario(
                loaded, start=start.date() if start else None, days=days, step=step
            )
        paths = write_outputs(result, out)
    except EnergyOptError as exc:
        _fail(exc)
    console.print(kpi_table(result.kpis, title=f"{loaded.name}: {result.report.status}"))
    for word, lines in (
        ("pre-check", result.prechecks),
        ("missed", [v.text() for v in result.violations]),
    ):
        for line in lines:
            console.print(f"[yellow]{word}:[/] {escape(line)}", highlight=False, soft_wrap=True)
    for path in paths:
        console.print(f"wrote {path}")


@app.command()
def size(
    scenario: Path = typer.Argument(..., help="scenario YAML file"),
    start: dt.datetime | None = typer.Option(None, formats=["%Y-%m-%d"], help="first local day"),
    days: int | None = typer.Option(None, min=1, help="number of days"),
    step: str | None = typer.Option(None, help="time step: 15min or 1h"),
    output: Path | None = typer.Option(
        None, "--output", help="directory for sizing.json, capacities.csv and dispatch.csv"
    ),
    soft: bool = typer.Option(False, "--soft", help="process requirements soft, as for run"),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Choose the extendable capacities for the least annual cost over the scenario period
    (one perfect-foresight solve; operating cost scaled to a year)."""
    from energyopt.studies.sizing import size_scenario, write_sizing

    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING)
    try:
        loaded = load_scenario(scenario)
        if soft:
            loaded = loaded.model_copy(update={"process_limits": "soft"})
        with console.status(f"sizing {loaded.name} ..."):
            result = size_scenario(
                loaded, start=start.date() if start else None, days=days, step=step
            )
        paths = write_sizing(result, output) if output is not None else []
    except EnergyOptError as exc:
        _fail(exc)
    console.print(capacity_rich_table(result.capacities, f"{loaded.name}: {result.report.status}"))
    console.print(annual_table(result.kpis))
    for path in paths:
        console.print(f"wrote {path}")


def capacity_rich_table(capacities, title: str) -> Table:
    """The chosen capacities with their bounds and annualised cost."""
    table = Table(title=title, show_header=True, header_style="bold")
    for heading in ("capacity", "chosen", "unit", "min", "max", "capex [EUR/a]"):
        table.add_column(heading, justify="left" if heading == "capacity" else "right")
    for row in capacities.to_dict(orient="records"):
        table.add_row(
            f"{row['asset']}.{row['capacity']}",
            _fmt(float(row["value"])),
            str(row["unit"]),
            _fmt(float(row["min"])),
            _fmt(float(row["max"])),
            _fmt(float(row["capex_eur_per_a"])),
        )
    return table


def annual_table(kpis: dict) -> Table:
    """Annualised capex, fixed O&M, operating cost, total and CO2 per year."""
    from energyopt.outputs.sizing import ANNUAL_KPIS

    return kpi_table({key: kpis[key] for key in ANNUAL_KPIS}, title="per year")


@app.command()
def simulate(
    scenario: Path = typer.Argument(..., help="scenario YAML file"),
    start: dt.datetime = typer.Option(..., formats=["%Y-%m-%d"], help="first local day"),
    end: dt.datetime = typer.Option(..., formats=["%Y-%m-%d"], help="last local day (included)"),
    mode: str = typer.Option("all", help="rolling, perfect, baseline or all"),
    forecast: str = typer.Option("perfect", help="perfect, persistence or noisy"),
    step: str | None = typer.Option(None, help="time step: 15min or 1h (default: scenario)"),
    out: Path = typer.Option(Path("out/simulate"), help="output directory"),
    horizon: str = typer.Option("48h", help="look-ahead of every plan"),
    commit: str = typer.Option("1D", help="executed part of every plan (1D = next local day)"),
    plan_time: str = typer.Option(
        "11:00", help="local time daily plans are made; 'none' plans at window start"
    ),
    seed: int = typer.Option(0, help="seed of noisy forecasts"),
    noise_scale: float = typer.Option(1.0, min=0, help="factor on noisy forecast errors"),
    lag: str = typer.Option("1D", help="persistence lag: 1D (yesterday) or 7D (last week)"),
    forecast_file: list[str] = typer.Option(
        [], help="QUANTITY=FILE: issued forecasts for one input series (repeatable)"
    ),
    baseline_order: list[str] = typer.Option(
        [], help="CARRIER=A,B: baseline converters of a carrier, default source first"
    ),
    demand_charge: str = typer.Option(
        "full", help="peak rise in a window: full (monthly rate, as billed) or prorated"
    ),
    peak_floor: str = typer.Option(
        "baseline", help="expected monthly peak, free to reach: baseline, window or none"
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="log one line per window"),
) -> None:
    """Simulate days of operation: rolling horizon, perfect foresight and baseline."""
    from rich.logging import RichHandler
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from energyopt.engine.forecast import FORECAST_KINDS, ForecastOptions
    from energyopt.engine.rolling import MODES, RollingOptions
    from energyopt.engine.rolling import simulate as run_simulation
    from energyopt.engine.rolling.output import write_simulation

    modes = MODES if mode == "all" else (mode,)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("windows"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err_console,
    )
    handler = RichHandler(console=progress.console, show_path=False)
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler])
    logging.getLogger("pyomo").setLevel(logging.WARNING)
    try:
        if mode not in (*MODES, "all") or forecast not in FORECAST_KINDS:
            msg = f"--mode {mode!r} / --forecast {forecast!r}: use one of {MODES + ('all',)}"
            raise typer.BadParameter(f"{msg} and one of {FORECAST_KINDS}")
        files = dict(
            _name_value(text, "--forecast-file", "QUANTITY=FILE") for text in forecast_file
        )
        order = {
            carrier: names.split(",")
            for carrier, names in (
                _name_value(text, "--baseline-order", "CARRIER=A,B") for text in baseline_order
            )
        }
        options = ForecastOptions(
            kind=forecast, seed=seed, lag=lag, noise_scale=noise_scale, files=files
        )
        rolling = RollingOptions(
            horizon=horizon,
            commit=commit,
            plan_time_local=None if plan_time.lower() == "none" else plan_time,
            # checked by RollingOptions
            demand_charge=cast("DemandChargeRule", demand_charge),
            peak_floor=cast("PeakFloor", peak_floor),
        )
        loaded = load_scenario(scenario)
        with progress:
            task = progress.add_task(f"{loaded.name}: rolling", total=None)

            def on_window(report, total: int) -> None:
                progress.update(task, total=total, completed=report.number)

            sim = run_simulation(
                loaded,
                start.date(),
                end.date(),
                modes=modes,
                step=step,
                forecast=options,
                rolling=rolling,
                on_window=on_window,
                baseline_order=order,
            )
        paths = write_simulation(sim, out)
    except EnergyOptError as exc:
        _fail(exc)
    console.print(comparison_table(sim.runs, sim.comparison, title=loaded.name))
    for path in paths:
        console.print(f"wrote {path}")


def _name_value(text: str, option: str, form: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name or not value:
        raise typer.BadParameter(f"{option} {text!r}: write {form}")
    return name, value


#: KPIs shown by ``simulate`` for each mode
SIMULATE_KPIS = (
    "total_cost_eur",
    "cost_energy_eur",
    "cost_demand_charge_eur",
    "cost_fuel_eur",
    "cost_co2_eur",
    "revenue_eur",
    "energy_cost_eur_per_kwh_cell",
    "total_cost_eur_per_kwh_cell",
    "co2_t",
    "grid_import_kwh",
    "peak_import_kw",
    "deviation_grid_kwh",
    "deviation_setpoint_kwh",
    "n_windows",
    "n_fallbacks",
    "window_s_median",
    "wall_s",
)


def comparison_table(runs: dict, comparison: dict, title: str = "") -> Table:
    """KPIs of several runs side by side, then the comparison figures."""
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("KPI")
    for mode in runs:
        table.add_column(mode, justify="right")
    for key in SIMULATE_KPIS:
        if any(key in run.kpis for run in runs.values()):
            table.add_row(key, *(_fmt(run.kpis.get(key, "")) for run in runs.values()))
    for key, value in comparison.items():
        if key.endswith("_pct"):
            table.add_row(key, _fmt(value), *[""] * (len(runs) - 1))
    return table


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:,.4f}" if abs(value) < 10 else f"{value:,.1f}"
    return str(value)


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


from energyopt.data_cli import data_app  # noqa: E402
from energyopt.service.cli import keys_app, serve  # noqa: E402
from energyopt.service.control.opcua.cli import opcua_app  # noqa: E402
from energyopt.service.setup import service  # noqa: E402
from energyopt.study_cli import compare, study_app  # noqa: E402

app.command()(serve)
app.command("service")(service)
app.add_typer(keys_app, name="keys")
app.add_typer(data_app, name="data")
app.add_typer(opcua_app, name="opcua")
app.add_typer(study_app, name="study")
app.command()(compare)


if __name__ == "__main__":  # pragma: no cover
    app()
