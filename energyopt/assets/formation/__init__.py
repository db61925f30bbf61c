"""Formation: first charge and grading of assembled cells on cycler racks.

Batches
    The plan releases ``batches_per_day`` batches per local day, evenly spaced
    from ``first_release_h`` after local midnight, in production time of the
    ``calendar`` only. A batch holds ``cells_kwh_per_day / batches_per_day``
    kWh of cells, runs uninterrupted through its ``phases`` (each a duration
    with the DC energy charged into and discharged from the cells per kWh of
    cells) and must end by ``due_after_release_h`` after its release: it may
    start at release + ``j`` steps for every offset ``j`` on the
    ``start_every_h`` raster up to the latest start ``L = floor((due - duration)
    / dt_h)``. It holds its rack for ``m = ceil(duration_h / dt_h)`` steps.
    Releases must fall on model steps.

Variables and constraints (release steps ``r`` run from ``-L``, batches
released before the window that still wait, to ``n - 1``; one binary
``start[r, j]`` per release step and feasible offset with ``0 <= r + j < n``)::

    sum_j start[r, j] == batch_released[r]   if the latest start r + L < n
    sum_j start[r, j] <= batch_released[r]   otherwise (it may start after the window)
    started_so_far[t] == started_so_far[t-1] + sum over r + j == t of start[r, j]
    carried_running[t] + sum_{i<m} batches_started[t-i] <= racks
    charge_dc_kw[t] == carried_charge_kw[t] + sum_i charge_profile_kw[i] * batches_started[t-i]
    discharge_dc_kw[t] == carried_discharge_kw[t] + sum_i discharge_profile_kw[i] * (same)
    recuperated_kw[t] <= recuperation_efficiency_frac * discharge_dc_kw[t]

with ``batches_started[t] = started_so_far[t] - started_so_far[t-1]`` (starts
in step ``t``, ``started_so_far[-1] = 0``). The profile sums are written over
runs of equal profile values, ``sum_{a<=i<b} batches_started[t-i] =
started_so_far[t-a] - started_so_far[t-b]``: a handful of terms per row
instead of one per step of the batch (18 h = 72 steps at 15 min), the same
constraints in a much sparser matrix.

``batch_released`` (1 where a batch is released, or waits from an earlier
window) and the ``carried_*`` series are mutable parameters, so the structure
depends only on the window length and step; the solver sees binaries only for
release steps that hold a batch. The per-step profiles spread each phase's
energy over the steps it overlaps (exact for any step). Electricity and losses::

    power_el_kw[t] = charge_dc_kw[t] / converter_efficiency_frac - recuperated_kw[t]
    heat_loss_kw[t] = power_el_kw[t] - (charge_dc_kw[t] - discharge_dc_kw[t])

``power_el_kw`` is drawn from ``electricity`` (negative in a step where
discharging racks return more than charging racks draw). Discharge energy that
is not recuperated (at most the efficiency, less where nothing on the site can
take it) is burnt in the cyclers. With a ``cooling_carrier``,
``heat_to_cooling_frac * heat_loss_kw`` is a load on it.

Results
    Dispatch columns ``charge_dc_kw``, ``discharge_dc_kw``, ``power_el_kw``,
    ``recuperated_kw``, ``heat_loss_kw``, ``batches_released``,
    ``batches_started`` and ``batches_running``;
    :meth:`Formation.batch_schedule` lists every batch with its release,
    start, end, latest start, due time and status (carried, started,
    waiting). KPI ``cells_produced_kwh``: cells of the batches released in the
    period.

Rolling horizons
    :meth:`Formation.final_state` hands over ``running`` (every batch still on
    a rack: release and start time and its remaining DC profile on steps of
    ``step_h``) and ``pending_released_at`` (released, not started). The next
    window runs the remaining profiles as fixed loads that also hold racks and
    must start the waiting batches by their latest start. Without a carried
    state, every batch released before the window is taken to have started at
    its release (the baseline rule), so a first window starts in steady
    operation, not with empty racks. At the end of a window, batches whose
    latest start lies beyond it may wait, and the profile of a batch that runs
    past the end counts only up to the end: single solves of a period
    under-count formation energy by up to the batches of the last start window.

Defaults (the physics estimate of formation energy in the battery-plant
reference: charge balance plus converter losses, with figures from the
Keysight and atomfair pages on regenerative cyclers and the TRI/SLAC Joule
formation study): 1.05 kWh DC charged per kWh of cells ("~1.0-1.1 kWh DC per
kWh"); 0.65 kWh/kWh discharged for grading ("0.5-0.8 kWh/kWh"); converter
efficiency 0.9 per direction ("~90 % per conversion", 85-92 % for modern
bidirectional converters); regenerative cyclers return 0.9 of the discharge
energy (set 0 for cyclers that burn it). That gives 1.05 / 0.9 - 0.65 * 0.9 =
0.58 kWh_el per kWh of cells with regeneration and 1.17 without, the
reference's "~0.6 (regen) to ~1.2 (no regen) kWh_el/kWh". Batch duration 18 h
(a cost calculator's default; industrial 10-48 h, TRI/SLAC baseline 10 h) and
due 30 h after release, i.e. a 12 h start window (plant reference, default
plant: "start time free inside a +/-12-48 h WIP window", an assumption).
Starts on a 1 h raster are an operating assumption: with hourly prices finer
starts gain little and multiply the binaries. A 20 GWh/a plant forms about
55 MWh of cells a day (20 GWh / 365 d).

Example::

    - type: formation
      name: formation
      cells_kwh_per_day: 54800      # 20 GWh/a
      batches_per_day: 12
      racks: 10
      cooling_carrier: cooling
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from energyopt.assets._process import ProcessAsset
from energyopt.assets.base import AssetTerms, BuildContext, register, values
from energyopt.assets.declarations import QuantitySpec, column_setpoint
from energyopt.assets.formation.recipe import (
    DEFAULT_PHASES,
    BatchProfile,
    FormationParams,
    FormationPhase,
    batch_profile,
    equal_runs,
    list_schedule,
    phase_profile_kw,
    release_times,
)
from energyopt.assets.formation.window import BatchWindow, running_entry, window_batches
from energyopt.assets.requirements import Requirement, per_interval
from energyopt.errors import ModelBuildError
from energyopt.inputs.timeseries import index_step
from energyopt.model.flat import linear_sum

if TYPE_CHECKING:
    from pandas.api.typing import NaTType

__all__ = [
    "DEFAULT_PHASES",
    "BatchProfile",
    "BatchWindow",
    "Formation",
    "FormationParams",
    "FormationPhase",
    "batch_profile",
    "convolve",
    "equal_runs",
    "list_schedule",
    "phase_profile_kw",
    "release_times",
]


def started_until(b: pyo.Block, t: int):
    """Batches started in the window up to the end of step ``t`` (0 before the window)."""
    return b.started_so_far[t] if t >= 0 else 0.0


def convolve(b: pyo.Block, runs: list[tuple[float, int, int]], t: int):
    """``sum_i profile[i] * batches_started[t - i]`` from the profile's runs of equal values."""
    terms = []
    for value, first, stop in runs:
        if first <= t:
            terms += [(value, started_until(b, t - first)), (-value, started_until(b, t - stop))]
    return linear_sum(terms)


@register
class Formation(ProcessAsset):
    """Formation racks: batches with schedulable, uninterrupted runs."""

    kind = "formation"
    process = "formation"
    Params = FormationParams
    params: FormationParams
    carries_state = True
    setpoints = {"batches_to_start": column_setpoint("batches_started", 0)}
    quantities = {
        "batches_running": QuantitySpec(
            lambda p: (0.0, float(p.racks)),
            "batches on cycler racks [-]",
            is_integer=True,
            to_state=lambda _p, value, _at, _c: {"running_count": int(value)},
        ),
    }

    def _window(self, ctx: BuildContext) -> BatchWindow:
        """Batches the window knows (computed once per context)."""
        return self.cached(ctx, lambda c: window_batches(self.params, self.name, c))

    # ---- model --------------------------------------------------------------------

    def build(self, b: pyo.Block, ctx: BuildContext) -> AssetTerms:
        """Batch starts, rack limit, DC profiles, electricity and losses."""
        p = self.params
        prof = batch_profile(p, ctx.dt_h)
        n = ctx.n_steps
        problem = self._rack_problem(ctx)
        if problem is not None and not ctx.soft_limits:
            raise ModelBuildError(problem)
        b.RELEASES = pyo.RangeSet(-prof.latest, n - 1)
        b.STARTS = pyo.Set(
            dimen=2,
            initialize=[(r, j) for r in b.RELEASES for j in prof.offsets if 0 <= r + j < n],
        )
        b.start = pyo.Var(b.STARTS, domain=pyo.Binary)
        released = self.table_param(b, "batch_released", b.RELEASES, ctx, self._released)
        self._add_starts(b, ctx, prof, released)
        self._add_profiles(b, ctx, prof)
        return self._terms(b, ctx)

    def _add_starts(self, b: pyo.Block, ctx: BuildContext, prof: BatchProfile, released) -> None:
        T = b.model().T
        n = ctx.n_steps
        offsets = prof.offsets
        missed = self._missed(b, ctx)

        @b.Constraint(b.RELEASES)
        def start_once(b, r):
            total = sum(b.start[r, j] for j in offsets if 0 <= r + j < n)
            if r + prof.latest <= n - 1:
                return total + missed[r + prof.latest] == released[r]
            return total <= released[r]

        b.started_so_far = pyo.Var(T, domain=pyo.NonNegativeReals)

        @b.Constraint(T)
        def count_starts(b, t):
            now = sum(b.start[t - j, j] for j in offsets)
            return b.started_so_far[t] == started_until(b, t - 1) + now

        b.batches_started = pyo.Expression(
            T, rule=lambda b, t: started_until(b, t) - started_until(b, t - 1)
        )

    def _missed(self, b: pyo.Block, ctx: BuildContext) -> Any:
        """Soft mode: batches that cannot start by their latest start, per latest-start
        step ``t`` (the batch released at ``t - L``); zeros in hard mode."""
        p = self.params
        requirement = Requirement(
            self.name,
            "batch not formed by its due time",
            "kWh of cells",
            per_interval(ctx.n_steps),
            None,
            p.missed_penalty_eur_per_kwh_cell,
            weight_h=p.batch_cells_kwh,
        )
        return self.shortfall(b, ctx, requirement)

    def _add_profiles(self, b: pyo.Block, ctx: BuildContext, prof: BatchProfile) -> None:
        T = b.model().T
        racks = self.params.racks
        carried_running = self.series_param(
            b, "carried_running", ctx, lambda c: self._window(c).carried_count(c.n_steps)
        )
        carried_charge = self.series_param(
            b, "carried_charge_kw", ctx, lambda c: self._window(c).carried("charge_kw", c.n_steps)
        )
        carried_discharge = self.series_param(
            b,
            "carried_discharge_kw",
            ctx,
            lambda c: self._window(c).carried("discharge_kw", c.n_steps),
        )
        b.charge_dc_kw = pyo.Var(T, domain=pyo.NonNegativeReals)
        b.discharge_dc_kw = pyo.Var(T, domain=pyo.NonNegativeReals)

        occupied, charge, discharge = (
            equal_runs(profile)
            for profile in (np.ones(prof.n_steps), prof.charge_kw, prof.discharge_kw)
        )
        # soft mode: batches carried in beyond the racks (a measured fact) hold theirs
        limit = self.series_param(
            b,
            "racks_usable",
            ctx,
            lambda c: np.maximum(racks, self._window(c).carried_count(c.n_steps)),
        )
        b.rack_limit = pyo.Constraint(
            T, rule=lambda b, t: carried_running[t] + convolve(b, occupied, t) <= limit[t]
        )
        b.charge_profile = pyo.Constraint(
            T, rule=lambda b, t: b.charge_dc_kw[t] == carried_charge[t] + convolve(b, charge, t)
        )
        b.discharge_profile = pyo.Constraint(
            T,
            rule=lambda b, t: (
                b.discharge_dc_kw[t] == carried_discharge[t] + convolve(b, discharge, t)
            ),
        )

    def _terms(self, b: pyo.Block, ctx: BuildContext) -> AssetTerms:
        p = self.params
        T = b.model().T
        b.recuperated_kw = pyo.Var(T, domain=pyo.NonNegativeReals)
        b.recuperation_limit = pyo.Constraint(
            T,
            rule=lambda b, t: (
                b.recuperated_kw[t] <= p.recuperation_efficiency_frac * b.discharge_dc_kw[t]
            ),
        )
        b.power_el_kw = pyo.Expression(
            T,
            rule=lambda b, t: b.charge_dc_kw[t] / p.converter_efficiency_frac - b.recuperated_kw[t],
        )
        b.heat_loss_kw = pyo.Expression(
            T,
            rule=lambda b, t: b.power_el_kw[t] - (b.charge_dc_kw[t] - b.discharge_dc_kw[t]),
        )
        injections = {"electricity": {t: -b.power_el_kw[t] for t in T}}
        if p.cooling_carrier is not None:
            injections[p.cooling_carrier] = {
                t: -p.heat_to_cooling_frac * b.heat_loss_kw[t] for t in T
            }
        return AssetTerms(injections=injections)

    def _released(self, ctx: BuildContext) -> dict[int, float]:
        prof = batch_profile(self.params, ctx.dt_h)
        window = self._window(ctx)
        return {r: float(r in window.released_at) for r in range(-prof.latest, ctx.n_steps)}

    def _rack_problem(self, ctx: BuildContext) -> str | None:
        """Why the batches carried in do not fit the racks; None if they do."""
        held = self._window(ctx).carried_count(ctx.n_steps)
        if len(held) and held.max() > self.params.racks:
            return (
                f"asset {self.name!r}: {int(held.max())} batches carried in as running hold "
                f"more than racks={self.params.racks}"
            )
        return None

    def prechecks(self, ctx: BuildContext) -> tuple[str, ...]:
        """Batches carried in beyond the racks, waiting batches already overdue."""
        problem = self._rack_problem(ctx)
        return (*(() if problem is None else (problem,)), *self._window(ctx).overdue)

    def structure_key(self, ctx: BuildContext) -> float:
        """Start offsets and run length depend on the step only."""
        return ctx.dt_h

    # ---- results ------------------------------------------------------------------

    def solved_starts(self, b: pyo.Block, ctx: BuildContext) -> dict[int, int]:
        """Start step per release step of every batch started in the window."""
        return {
            r: r + j for (r, j), var in b.start.items() if var.value is not None and var.value > 0.5
        }

    def batch_schedule(self, b: pyo.Block, ctx: BuildContext) -> pd.DataFrame:
        """One row per batch the window knows: carried, started or waiting.

        Columns: ``released_at``, ``started_at`` (NaT while waiting),
        ``ended_at``, ``latest_start_at``, ``due_at``, ``status``.
        """
        p = self.params
        prof = batch_profile(p, ctx.dt_h)
        step = index_step(ctx.index)
        window = self._window(ctx)
        starts = self.solved_starts(b, ctx)
        rows: list[tuple[pd.Timestamp, pd.Timestamp | NaTType, str]] = [
            (pd.Timestamp(e["released_at"]), pd.Timestamp(e["started_at"]), "carried")
            for e in window.running
        ]
        for r, at in sorted(window.released_at.items()):
            t = starts.get(r)
            started = ctx.index[0] + t * step if t is not None else pd.NaT
            rows.append((at, started, "started" if t is not None else "waiting"))
        frame = pd.DataFrame(rows, columns=["released_at", "started_at", "status"])
        for column in ("released_at", "started_at"):
            frame[column] = pd.to_datetime(frame[column], utc=True)
        duration = pd.Timedelta(hours=p.duration_h)
        frame["ended_at"] = frame["started_at"] + duration
        frame["latest_start_at"] = frame["released_at"] + prof.latest * step
        frame["due_at"] = frame["released_at"] + pd.Timedelta(hours=p.due_after_release_h)
        return frame[
            ["released_at", "started_at", "ended_at", "latest_start_at", "due_at", "status"]
        ]

    def extract(self, b: pyo.Block, ctx: BuildContext) -> pd.DataFrame:
        """DC flows, net electricity, recuperation, losses and batch counts."""
        p = self.params
        n = ctx.n_steps
        prof = batch_profile(p, ctx.dt_h)
        started = np.round(values(b.batches_started, n))
        running = values(b.carried_running, n) + np.convolve(started, np.ones(prof.n_steps))[:n]
        discharge = values(b.discharge_dc_kw, n)
        released = np.zeros(n)
        for r in self._window(ctx).released_at:
            if r >= 0:
                released[r] += 1
        frame = {
            "charge_dc_kw": values(b.charge_dc_kw, n),
            "discharge_dc_kw": discharge,
            "power_el_kw": values(b.power_el_kw, n),
            "recuperated_kw": values(b.recuperated_kw, n),
            "heat_loss_kw": values(b.heat_loss_kw, n),
            "batches_released": released,
            "batches_started": started,
            "batches_running": running,
        }
        return pd.DataFrame(frame, index=ctx.index)

    def final_state(self, b: pyo.Block, ctx: BuildContext, steps: int) -> dict[str, Any]:
        """Running batches (remaining profiles) and waiting batches after ``steps``."""
        prof = batch_profile(self.params, ctx.dt_h)
        step = index_step(ctx.index)
        window = self._window(ctx)
        starts = self.solved_starts(b, ctx)
        running = [
            {**e, "charge_kw": e["charge_kw"][steps:], "discharge_kw": e["discharge_kw"][steps:]}
            for e in window.running
            if len(e["charge_kw"]) > steps
        ]
        pending = []
        for r, at in sorted(window.released_at.items()):
            t = starts.get(r)
            if t is not None and t < steps and t + prof.n_steps > steps:
                started_at = ctx.index[0] + t * step
                running.append(running_entry(at, started_at, prof, steps - t))
            elif (t is None or t >= steps) and r < steps:
                pending.append(at.isoformat())
        return {"step_h": ctx.dt_h, "running": running, "pending_released_at": pending}

    def apply_baseline(self, b: pyo.Block, ctx: BuildContext) -> None:
        """Start each batch at its release, or as soon as a rack is free."""
        prof = batch_profile(self.params, ctx.dt_h)
        window = self._window(ctx)
        try:
            starts = list_schedule(
                list(window.released_at),
                prof.offsets,
                window.carried_count(ctx.n_steps),
                prof.n_steps,
                self.params.racks,
            )
        except ModelBuildError as exc:
            raise ModelBuildError(f"asset {self.name!r}: baseline: {exc}") from None
        for (r, j), var in b.start.items():
            var.fix(1 if starts.get(r) == r + j else 0)

    def kpis(self, dispatch: pd.DataFrame, ctx: BuildContext) -> dict[str, float]:
        """Cells released to formation in the window [kWh of cells]."""
        batches = float(dispatch[f"{self.name}.batches_released"].sum())
        return {"cells_produced_kwh": batches * self.params.batch_cells_kwh}
