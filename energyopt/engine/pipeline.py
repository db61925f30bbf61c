"""The one-shot pipeline: scenario -> inputs -> model -> HiGHS -> dispatch and KPIs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Hashable, Sequence

import pandas as pd

from energyopt.assets import BuildContext, create_asset
from energyopt.assets.requirements import Violation
from energyopt.errors import DataError
from energyopt.inputs.config import Scenario
from energyopt.inputs.timeseries import (
    BoundaryFill,
    fill_in_use,
    fmt_step,
    index_step,
    make_index,
    read_series_file,
    read_site_file,
    to_model_grid,
)
from energyopt.inputs.weather import load_weather, weather_on_grid
from energyopt.model import PlantSession, build_model
from energyopt.model.read import Reading
from energyopt.model.solve import SolveReport
from energyopt.outputs.results import compute_kpis

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class RunResult:
    """A solved run: plan, KPIs, solver report."""

    scenario: Scenario
    dispatch: pd.DataFrame
    kpis: dict[str, float | str]
    report: SolveReport
    plant: PlantSession | None = None
    #: requirements the plan misses (soft mode) and what the pre-checks found
    violations: tuple[Violation, ...] = ()
    prechecks: tuple[str, ...] = ()


def period_index(
    scenario: Scenario,
    start: dt.date | None = None,
    days: int | None = None,
    step: str | None = None,
) -> pd.DatetimeIndex:
    """Model index of the scenario period, with optional overrides."""
    period = scenario.period
    return make_index(
        start or period.start,
        days or period.days,
        step or period.step,
        scenario.site.timezone,
    )


def load_inputs(scenario: Scenario, index: pd.DatetimeIndex) -> pd.DataFrame:
    """All input series of the site on ``index``: weather columns and named series.

    Files that cover a UTC calendar year are extended to the site's local year
    (typical years wrap, real years pad; see
    :func:`energyopt.inputs.timeseries.fill_year_boundary`). The fills that
    ``index`` reaches are logged as warnings and listed in the result's
    ``attrs["boundary_fills"]`` (a tuple of ``BoundaryFill``, empty if none).

    Raises
    ------
    DataError
        If a file is invalid or does not cover ``index`` (names file and time).
    """
    site = scenario.site
    columns: dict[Hashable, pd.Series] = {}
    fills: list[BoundaryFill | None] = []
    if site.weather is not None:
        weather = load_weather(
            site.weather.file,
            site.latitude,
            site.longitude,
            site.altitude_m,
            site.weather.cloud_cover_overcast_frac,
            timezone=site.timezone,
        )
        fills.append(weather.attrs.get("boundary_fill"))
        columns.update(weather_on_grid(weather, index, str(site.weather.file)).items())
    for name, source in site.series.items():
        frame, fill = read_site_file(source.file, site.timezone)
        fills.append(fill)
        if source.column not in frame.columns:
            known = ", ".join(frame.columns)
            raise DataError(f"{source.file}: no column {source.column!r} (has {known})")
        label = f"{source.file}: {source.column}"
        columns[name] = (
            to_model_grid(frame[source.column], index, source.resample, label) * source.scale
        )
    inputs = pd.DataFrame(columns, index=index)
    used = tuple(dict.fromkeys(f for f in fills if f is not None and fill_in_use(f, index)))
    for fill in used:
        logger.warning("%s", fill.text())
    inputs.attrs["boundary_fills"] = used
    return inputs


def input_coverage(scenario: Scenario) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """Span every input file of the site covers: (first stamp, end of last interval), UTC.

    None if the site has no input files.
    """
    site = scenario.site
    files = [source.file for source in site.series.values()]
    if site.weather is not None:
        files.append(site.weather.file)
    spans = []
    for path in files:
        stamps = read_series_file(path).index
        spans.append((stamps[0], stamps[-1] + (stamps[-1] - stamps[-2])))
    if not spans:
        return None
    return max(s for s, _ in spans), min(e for _, e in spans)


def month_weights(index: pd.DatetimeIndex, timezone: str) -> dict[str, float]:
    """Share of each billing month (site local time) that ``index`` covers [0-1]."""
    local = index.tz_convert(timezone)
    step = index_step(index)
    weights = {}
    for month in sorted(set(local.strftime("%Y-%m"))):
        first = pd.Timestamp(f"{month}-01").tz_localize(timezone)
        length = (first + pd.offsets.MonthBegin(1)) - first
        covered = (local.strftime("%Y-%m") == month).sum() * step
        weights[month] = float(covered / length)
    return weights


def make_context(
    scenario: Scenario,
    index: pd.DatetimeIndex,
    series: pd.DataFrame,
    state: dict | None = None,
    month_weight: dict[str, float] | None = None,
) -> BuildContext:
    """Build context of one window."""
    return BuildContext(
        index=index,
        series=series,
        site=scenario.site,
        tariffs=scenario.tariffs,
        state=state or {},
        demand_charge_month_weight=month_weight
        if month_weight is not None
        else month_weights(index, scenario.site.timezone),
        soft_limits=scenario.process_limits == "soft",
    )


def build_plant(scenario: Scenario, ctx: BuildContext) -> PlantSession:
    """Fresh asset instances and the plant model for ``ctx``."""
    assets = [create_asset(params) for params in scenario.plant.assets]
    return build_model(assets, ctx)


def run_scenario(
    scenario: Scenario,
    *,
    start: dt.date | None = None,
    days: int | None = None,
    step: str | None = None,
) -> RunResult:
    """Solve the scenario period in one go (perfect foresight of the inputs)."""
    started = time.perf_counter()
    index = period_index(scenario, start, days, step)
    ctx = make_context(scenario, index, load_inputs(scenario, index))
    plant = build_plant(scenario, ctx)
    plant.build_s = time.perf_counter() - started
    report = plant.solve(scenario.solver)
    result = summarize(scenario, plant, report)
    logger.info("run %s: %s in %.2f s", scenario.name, report.status, report.solve_s)
    return result


def summarize(
    scenario: Scenario,
    plant: PlantSession,
    report: SolveReport,
    reading: Reading | None = None,
    prechecks: Sequence[str] | None = None,
) -> RunResult:
    """Dispatch table, KPIs and solver figures of a solved full-period plant, or of a
    period solved in parts (its joined ``reading`` and ``prechecks``, the last part's
    ``plant``)."""
    reading = reading or plant.read()
    index = reading.ctx.index
    dispatch = reading.dispatch
    kpis: dict[str, float | str] = dict(compute_kpis(reading, scenario.plant.annual_capacity_gwh))
    kpis.update(
        solve_status=report.status,
        objective_eur=report.objective_eur,
        mip_gap=report.mip_gap,
        build_s=report.build_s,
        solve_s=report.solve_s,
        n_variables=report.n_variables,
        n_constraints=report.n_constraints,
        n_binaries=report.n_binaries,
        period_start=index[0].isoformat(),
        period_end=(index[-1] + index_step(index)).isoformat(),
        step=fmt_step(index_step(index)),
    )
    return RunResult(
        scenario=scenario,
        dispatch=dispatch,
        kpis=kpis,
        report=report,
        plant=plant,
        violations=reading.violations,
        prechecks=tuple(plant.prechecks() if prechecks is None else prechecks),
    )
