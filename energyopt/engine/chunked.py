"""Long periods solved month by month: the baseline and the replay of a year.

A year of the full plant as one model holds millions of rows: several GiB of
memory and a solve that grows faster than the period. The baseline and the
replay of a rolling plan do not look ahead (the baseline follows rules, the
replay follows the plan), so a period longer than :data:`BY_MONTH_AFTER_DAYS`
is solved per local calendar month, which is also the demand charge's
billing month: each month is built on its slice of the actual inputs and
starts from the state the month before ended in (store levels, room
moisture, ovens and batches). No month but the last has end-of-window
conditions (``BuildContext.free_end``): the next month carries on. The
months' tables are joined and priced as one period (:func:`joined_reading`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from energyopt.assets.base import BuildContext
from energyopt.engine.pipeline import build_plant
from energyopt.engine.state import SystemState
from energyopt.inputs.config import Scenario
from energyopt.inputs.timeseries import index_step
from energyopt.model import PlantSession
from energyopt.model.read import Reading
from energyopt.model.solve import SolveReport

#: periods longer than this are solved month by month [d]
BY_MONTH_AFTER_DAYS = 62

#: solve_part(plant of the part, its positions in the period) -> the solve's report
PartSolver = Callable[[PlantSession, slice], SolveReport]


@dataclasses.dataclass
class Solved:
    """A period solved in parts: the joined reading and report, the last part's plant."""

    reading: Reading
    report: SolveReport
    plant: PlantSession
    n_parts: int
    prechecks: list[str]


def month_parts(index: pd.DatetimeIndex, timezone: str) -> list[slice]:
    """Positions of each local calendar month of ``index``, in order."""
    local = index.tz_convert(timezone)
    months = np.asarray(local.year * 12 + local.month)
    edges = [0, *(np.flatnonzero(np.diff(months)) + 1).tolist(), len(index)]
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True)]


def period_parts(scenario: Scenario, index: pd.DatetimeIndex) -> list[slice]:
    """The parts a period is solved in: one, or its months when it is long."""
    days = len(index) * index_step(index) / pd.Timedelta("1D")
    if days <= BY_MONTH_AFTER_DAYS:
        return [slice(0, len(index))]
    return month_parts(index, scenario.site.timezone)


def part_context(ctx: BuildContext, part: slice, state: SystemState, last: bool) -> BuildContext:
    """``ctx`` cut to ``part``, starting from ``state``; free at its end unless ``last``."""
    return dataclasses.replace(
        ctx,
        index=ctx.index[part],
        series=ctx.series.iloc[part],
        state=state.for_context(),
        free_end=not last,
    )


def solve_by_parts(scenario: Scenario, ctx: BuildContext, solve_part: PartSolver) -> Solved:
    """Build, prepare and solve each part of the period of ``ctx`` in turn.

    ``solve_part`` turns a part's fresh plant into what is solved (rules,
    tracking) and solves it; each part then hands its end state to the next.
    Only the last part's model stays in memory.
    """
    parts = period_parts(scenario, ctx.index)
    state = SystemState(values=ctx.state)
    readings: list[Reading] = []
    reports: list[SolveReport] = []
    prechecks: list[str] = []
    plant: PlantSession | None = None
    for i, part in enumerate(parts):
        part_ctx = part_context(ctx, part, state, last=i == len(parts) - 1)
        plant = build_plant(scenario, part_ctx)
        prechecks += plant.prechecks()
        reports.append(solve_part(plant, part))
        readings.append(plant.read())
        end = part_ctx.index[-1] + index_step(part_ctx.index)
        state = state.advance(end, plant.final_states(part_ctx.n_steps))
    assert plant is not None  # a period has at least one part
    if len(parts) == 1:
        return Solved(readings[0], reports[0], plant, 1, prechecks)
    reading, report = joined_reading(readings, ctx), joined_report(reports)
    return Solved(reading, report, plant, len(parts), prechecks)


def joined_reading(readings: Sequence[Reading], ctx: BuildContext) -> Reading:
    """The parts' readings as one over the whole period of ``ctx``: tables joined,
    costs [EUR] and CO2 [kg] summed, misses in time order."""
    costs: dict[str, float] = {}
    for reading in readings:
        for category, value in reading.costs_eur.items():
            costs[category] = costs.get(category, 0.0) + value
    dispatch = pd.concat([r.dispatch for r in readings])
    dispatch.index = ctx.index
    return Reading(
        dispatch=dispatch,
        costs_eur=costs,
        co2_kg=sum(r.co2_kg for r in readings),
        assets=readings[-1].assets,
        ctx=ctx,
        violations=tuple(v for r in readings for v in r.violations),
    )


def joined_report(reports: Sequence[SolveReport]) -> SolveReport:
    """One report for the parts: objectives, bounds and times summed, the gap of the
    sums, the worst status, and the sizes of the largest part."""
    objective = sum(r.objective_eur for r in reports)
    bounds = [r.bound_eur for r in reports]
    bound = (
        None if any(b is None for b in bounds) else float(sum(b for b in bounds if b is not None))
    )
    gap = max(r.mip_gap for r in reports)
    if bound is not None and objective != 0:
        gap = max(0.0, (objective - bound) / abs(objective))
    largest = max(reports, key=lambda r: r.n_variables)
    statuses = {r.status for r in reports}
    return SolveReport(
        status="optimal" if statuses == {"optimal"} else sorted(statuses - {"optimal"})[0],
        objective_eur=objective,
        bound_eur=bound,
        mip_gap=gap,
        build_s=sum(r.build_s for r in reports),
        solve_s=sum(r.solve_s for r in reports),
        n_variables=largest.n_variables,
        n_constraints=largest.n_constraints,
        n_binaries=largest.n_binaries,
        compile_s=sum(r.compile_s for r in reports),
        handoff_s=sum(r.handoff_s for r in reports),
        highs_s=sum(r.highs_s for r in reports),
        load_s=sum(r.load_s for r in reports),
    )
