"""The batches one planning window knows: releases inside it, batches that
wait from before, and batches still running on racks (the carried state).

State handed between windows (JSON-able)::

    {"step_h": 0.25,
     "running": [{"released_at": ISO, "started_at": ISO,
                  "charge_kw": [...], "discharge_kw": [...]}, ...],
     "pending_released_at": [ISO, ...]}

``charge_kw`` and ``discharge_kw`` are a running batch's remaining DC profile
from the window start, one value per step of ``step_h`` [kW]; a window on
another step re-grids them energy-exactly.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from energyopt.assets.base import BuildContext
from energyopt.assets.formation.recipe import (
    GRID_TOL,
    BatchProfile,
    FormationParams,
    batch_profile,
    phase_profile_kw,
    release_times,
)
from energyopt.errors import ModelBuildError
from energyopt.inputs.timeseries import fmt_time, index_step


@dataclasses.dataclass(frozen=True)
class BatchWindow:
    """Batches of one window.

    Attributes
    ----------
    released_at : dict
        Release step relative to the window start (negative: waiting from an
        earlier window) -> release time stamp, for every batch not yet started.
    running : list of dict
        Batches on racks at the window start, profiles on the window's step.
    overdue : tuple of str
        Soft mode: waiting batches past their latest start, left out of the
        plan (each named with its times).
    """

    released_at: dict[int, pd.Timestamp]
    running: list[dict[str, Any]]
    overdue: tuple[str, ...] = ()

    def carried(self, key: str, n: int) -> np.ndarray:
        """Sum of the running batches' ``key`` profile over the window [kW]."""
        total = np.zeros(n)
        for entry in self.running:
            profile = np.asarray(entry[key], dtype=float)[:n]
            total[: len(profile)] += profile
        return total

    def carried_count(self, n: int) -> np.ndarray:
        """Racks held by running batches in each step."""
        count = np.zeros(n)
        for entry in self.running:
            count[: min(len(entry["charge_kw"]), n)] += 1
        return count


def running_entry(
    released_at: pd.Timestamp, started_at: pd.Timestamp, prof: BatchProfile, offset: int
) -> dict[str, Any]:
    """State entry of a batch ``offset`` steps into its run."""
    return {
        "released_at": released_at.isoformat(),
        "started_at": started_at.isoformat(),
        "charge_kw": prof.charge_kw[offset:].tolist(),
        "discharge_kw": prof.discharge_kw[offset:].tolist(),
    }


def window_batches(p: FormationParams, name: str, ctx: BuildContext) -> BatchWindow:
    """Releases in the window plus the waiting and running batches it inherits.

    Without a carried state for ``name``, every batch released before the
    window started at its release (the baseline rule); a measured
    ``running_count`` keeps only that many of them, the latest released.
    """
    prof = batch_profile(p, ctx.dt_h)
    step = index_step(ctx.index)
    start = ctx.index[0]
    releases = release_times(
        p, ctx.site.timezone, start - prof.n_steps * step, ctx.index[-1] + step
    )
    steps = grid_steps(releases, start, step, name)
    released = {int(r): at for r, at in zip(steps, releases, strict=True) if r >= 0}
    state = ctx.state.get(name)
    if state is None or "running" not in state:
        running = [
            running_entry(at, at, prof, int(-r))
            for r, at in zip(steps, releases, strict=True)
            if -prof.n_steps < r < 0
        ]
        if state is not None and "running_count" in state:
            running = _latest_running(running, state["running_count"], name)
        return BatchWindow(released, running)
    overdue: list[str] = []
    for text in state.get("pending_released_at", []):
        at = pd.Timestamp(text).tz_convert("UTC")
        r = int(grid_steps(pd.DatetimeIndex([at]), start, step, name)[0])
        late = _check_pending(at, r, prof, ctx, name)
        if late is None:
            released[r] = at
        elif ctx.soft_limits:
            overdue.append(f"{late}: left out of the plan")
        else:
            raise ModelBuildError(late)
    step_h = float(state.get("step_h", ctx.dt_h))
    running = [_carried_entry(e, step_h, ctx.dt_h, name) for e in state.get("running", [])]
    return BatchWindow(released, running, tuple(overdue))


def _latest_running(assumed: list[dict[str, Any]], count: Any, name: str) -> list[dict[str, Any]]:
    """Keep the ``count`` most recently released of the batches assumed running.

    A measured count of batches on the racks (``running_count``, from the
    control system) says how many of the releases of the last batch duration
    are still running; they are taken to be the latest ones, started at their
    release, and the older ones to have finished.
    """
    n = int(count)
    if n < 0 or n > len(assumed):
        msg = (
            f"asset {name!r}: {n} batches measured running, but only {len(assumed)} "
            "were released within one batch duration before the window"
        )
        raise ModelBuildError(msg)
    ordered = sorted(assumed, key=lambda entry: entry["released_at"])
    return ordered[len(ordered) - n :]


def grid_steps(
    stamps: pd.DatetimeIndex, start: pd.Timestamp, step: pd.Timedelta, name: str
) -> np.ndarray:
    """Steps from ``start`` of time stamps that must lie on the model grid."""
    exact = np.asarray((stamps - start) / step, dtype=float)
    steps = np.round(exact).astype(int)
    off = np.abs(exact - steps) > GRID_TOL
    if off.any():
        msg = (
            f"asset {name!r}: release at {fmt_time(stamps[off][0])} is not on the {step} "
            "model grid; choose first_release_h and batches_per_day so releases fall on "
            "model steps"
        )
        raise ModelBuildError(msg)
    return steps


def _check_pending(
    at: pd.Timestamp, r: int, prof: BatchProfile, ctx: BuildContext, name: str
) -> str | None:
    """Raises for a waiting batch inside the window; returns why one is overdue, or None."""
    if r >= 0:
        msg = (
            f"asset {name!r}: waiting batch released at {fmt_time(at)} lies in the window "
            f"starting {fmt_time(ctx.index[0])}, not before it"
        )
        raise ModelBuildError(msg)
    if r + prof.latest < 0:
        latest = at + prof.latest * index_step(ctx.index)
        return (
            f"asset {name!r}: batch released at {fmt_time(at)} had to start by "
            f"{fmt_time(latest)}, before the window start {fmt_time(ctx.index[0])}"
        )
    return None


def _carried_entry(entry: dict[str, Any], step_h: float, dt_h: float, name: str) -> dict:
    """A running batch from the state, its remaining profile on step ``dt_h``."""
    try:
        charge = np.asarray(entry["charge_kw"], dtype=float)
        discharge = np.asarray(entry["discharge_kw"], dtype=float)
        pd.Timestamp(entry["released_at"]), pd.Timestamp(entry["started_at"])
    except (KeyError, TypeError, ValueError) as exc:
        msg = f"asset {name!r}: a running batch in the initial state is malformed ({exc!r})"
        raise ModelBuildError(msg) from None
    if charge.shape != discharge.shape or (charge < 0).any() or (discharge < 0).any():
        msg = f"asset {name!r}: running batch profiles must be equally long and >= 0"
        raise ModelBuildError(msg)
    if abs(step_h - dt_h) > GRID_TOL:
        durations = np.full(len(charge), step_h)
        charge = phase_profile_kw(durations, charge * step_h, dt_h)
        discharge = phase_profile_kw(durations, discharge * step_h, dt_h)
    return {**entry, "charge_kw": charge.tolist(), "discharge_kw": discharge.tolist()}
