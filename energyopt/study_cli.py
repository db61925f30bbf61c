"""``energyopt study validate|run|report`` and ``energyopt compare``."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from energyopt.errors import EnergyOptError

study_app = typer.Typer(no_args_is_help=True, help="Site studies: sites x variants over a period.")
console = Console()
err_console = Console(stderr=True)

STUDY_ARG = typer.Argument(..., help="study YAML file")
RESULTS_OPTION = typer.Option(Path("out/studies"), "--results", help="folder of study results")


def _fail(exc: Exception) -> None:
    err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


def _load(path: Path):
    from energyopt.studies.spec import load_study

    try:
        return load_study(path)
    except EnergyOptError as exc:
        _fail(exc)


@study_app.command()
def validate(study: Path = STUDY_ARG) -> None:
    """Resolve and check every case of a study without running it."""
    loaded = _load(study)
    table = Table(title=f"{loaded.name}: {len(loaded.cases)} cases", header_style="bold")
    for heading in ("case", "modes", "forecast", "assets", "period"):
        table.add_column(heading)
    for case in loaded.cases:
        period = f"{case.start} to {case.end}, {case.step}"
        assets = str(len(case.scenario.plant.assets))
        table.add_row(case.name, ", ".join(case.modes), case.forecast, assets, period)
    console.print(table)


@study_app.command()
def run(
    study: Path = STUDY_ARG,
    executor: str = typer.Option("local", help="local (process pool) or dask"),
    scheduler: str | None = typer.Option(
        None, help="Dask scheduler address (tcp://host:8786); default: a LocalCluster"
    ),
    workers: int | None = typer.Option(None, min=1, help="worker processes"),
    results: Path = RESULTS_OPTION,
) -> None:
    """Run the cases that have no current result; finished cases are kept."""
    from energyopt.studies.runner import pending_cases, run_study
    from energyopt.studies.store import StudyStore

    loaded = _load(study)
    store = StudyStore(results, loaded.name)
    todo, reused = pending_cases(loaded, store)
    console.print(f"{loaded.name}: {len(todo)} to run, {len(reused)} current")
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
    )
    with progress:
        cases = progress.add_task("cases", total=len(todo))
        windows: dict[str, TaskID] = {}

        def on_case(name: str, status: str, done: int, total: int) -> None:
            progress.update(cases, completed=done)
            if name in windows:
                progress.remove_task(windows.pop(name))
            word = "[green]done[/]" if status == "done" else "[red]failed[/]"
            progress.console.print(f"{word} {escape(name)}")

        def on_window(name: str, done: int, total: int) -> None:
            if name not in windows:
                windows[name] = progress.add_task(f"  {name} windows", total=total)
            progress.update(windows[name], completed=done, total=total)

        try:
            outcome = run_study(
                loaded,
                store,
                executor=executor,  # type: ignore[arg-type]  # checked by run_study
                workers=workers,
                scheduler=scheduler,
                on_case=on_case,
                on_window=on_window if executor == "local" else None,
            )
        except EnergyOptError as exc:
            _fail(exc)
    for name, reason in outcome.failed.items():
        err_console.print(f"[red]failed:[/] {escape(name)}: {escape(reason)}", soft_wrap=True)
    console.print(
        f"{len(outcome.computed) - len(outcome.failed)} done, {len(outcome.failed)} failed, "
        f"{len(outcome.reused)} reused; results in {store.dir}"
    )
    if outcome.failed:
        raise typer.Exit(code=1)


@study_app.command()
def report(
    study: Path = STUDY_ARG,
    results: Path = RESULTS_OPTION,
    out: Path | None = typer.Option(None, help="HTML file (default <results>/<study>/report.html)"),
) -> None:
    """Print the case table and ranking and write the HTML report."""
    from energyopt.studies.report import case_table, printable, ranking, write_report
    from energyopt.studies.store import StudyStore

    loaded = _load(study)
    store = StudyStore(results, loaded.name)
    table = case_table(loaded, store)
    console.print(_rich(printable(table), f"{loaded.name}: per year"))
    console.print(_rich(ranking(table, loaded.spec.mip_rel_gap), "ranking (EUR/kWh cell)"))
    console.print(f"wrote {write_report(loaded, store, out)}")


def _rich(frame, title: str) -> Table:
    table = Table(title=title, header_style="bold")
    table.add_column(frame.index.name or "")
    for column in frame.columns:
        table.add_column(str(column), justify="right")
    for name, row in frame.iterrows():
        table.add_row(str(name), *(_text(v) for v in row))
    return table


def _text(value) -> str:
    if isinstance(value, float):
        return f"{value:,.4f}" if abs(value) < 10 else f"{value:,.1f}"
    return str(value)


def compare(
    outputs: list[Path] = typer.Argument(
        ..., help="run output folders (energyopt run --out) or study case folders"
    ),
) -> None:
    """KPIs of runs or study cases side by side."""
    from energyopt.studies.report import plan_mode

    runs = {}
    for folder in outputs:
        path = folder / "kpis.json"
        try:
            kpis = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            _fail(EnergyOptError(f"{path}: no readable kpis.json ({exc})"))
        if "modes" in kpis:  # a study case: its plan mode
            kpis = {**kpis["modes"][plan_mode(kpis["modes"])], **kpis}
        runs[str(folder)] = kpis
    keys = [
        k
        for k in next(iter(runs.values()))
        if all(isinstance(r.get(k), int | float) and "." not in k for r in runs.values())
    ]
    table = Table(title="comparison", header_style="bold")
    table.add_column("KPI")
    for name in runs:
        table.add_column(escape(name), justify="right")
    for key in keys:
        table.add_row(key, *(_text(float(r[key])) for r in runs.values()))
    console.print(table)
