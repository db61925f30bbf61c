"""Formation recipe and plan: parameters, per-step batch profiles, release
times and the rule-based schedule (plain functions, no Pyomo)."""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from energyopt.assets.base import AssetParams
from energyopt.errors import ModelBuildError
from energyopt.inputs.production import ProductionCalendar, in_production

#: tolerance when comparing times on the model grid [steps]
GRID_TOL = 1e-6


class FormationPhase(BaseModel):
    """One phase of the formation recipe: constant charge and discharge power."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    duration_h: float = Field(gt=0, description="phase length [h]")
    charge_kwh_per_kwh_cell: float = Field(
        0.0, ge=0, description="DC energy charged in the phase per kWh of cells [kWh/kWh]"
    )
    discharge_kwh_per_kwh_cell: float = Field(
        0.0, ge=0, description="DC energy discharged in the phase per kWh of cells [kWh/kWh]"
    )


DEFAULT_PHASES = (
    FormationPhase(duration_h=14.0, charge_kwh_per_kwh_cell=1.05),
    FormationPhase(duration_h=4.0, discharge_kwh_per_kwh_cell=0.65),
)


class FormationParams(AssetParams):
    """Formation parameters (defaults and sources in the module docstring)."""

    type: Literal["formation"]
    cells_kwh_per_day: float = Field(gt=0, description="cells formed per local day [kWh]")
    batches_per_day: int = Field(12, ge=1, le=288, description="batches released per day")
    first_release_h: float = Field(
        0.0, ge=0, lt=24, description="first release after local midnight [h]"
    )
    calendar: ProductionCalendar = Field(
        ProductionCalendar(), description="batches are released only in production time"
    )
    due_after_release_h: float = Field(
        30.0, gt=0, description="formation must end this long after release [h]"
    )
    phases: tuple[FormationPhase, ...] = Field(DEFAULT_PHASES, min_length=1)
    start_every_h: float = Field(
        1.0, gt=0, description="batches start this often after release (on model steps) [h]"
    )
    racks: int = Field(ge=1, description="batches that can run at once (cycler racks)")
    converter_efficiency_frac: float = Field(0.9, gt=0, le=1, description="AC->DC [frac]")
    recuperation_efficiency_frac: float = Field(
        0.9, ge=0, le=1, description="share of discharge energy returned as AC [frac]"
    )
    cooling_carrier: str | None = Field(None, description="carrier that removes the losses")
    heat_to_cooling_frac: float = Field(
        1.0, ge=0, le=1, description="share of the losses removed by cooling_carrier [frac]"
    )
    process: str = Field("formation", description="process group for per-process KPIs")
    missed_penalty_eur_per_kwh_cell: float = Field(
        100.0,
        ge=0,
        description="soft mode: price of cells not formed by their due time [EUR/kWh of cells]",
    )

    @model_validator(mode="after")
    def _feasible_plan(self) -> FormationParams:
        duration = self.duration_h
        if self.due_after_release_h < duration:
            msg = (
                f"due_after_release_h={self.due_after_release_h} is shorter than the "
                f"phases ({duration} h)"
            )
            raise ValueError(msg)
        if self.first_release_h >= self.release_spacing_h:
            msg = f"first_release_h must be below the release spacing {self.release_spacing_h} h"
            raise ValueError(msg)
        needed = math.ceil(duration / self.release_spacing_h - 1e-9)
        if self.racks < needed:
            msg = (
                f"racks={self.racks} is too few: {needed} batches of {duration} h run at "
                f"once when {self.batches_per_day} start per day"
            )
            raise ValueError(msg)
        if not any(p.charge_kwh_per_kwh_cell > 0 for p in self.phases):
            raise ValueError("phases: no phase charges the cells")
        return self

    @property
    def duration_h(self) -> float:
        """Length of one batch [h]."""
        return float(sum(p.duration_h for p in self.phases))

    @property
    def release_spacing_h(self) -> float:
        """Time between two releases [h]."""
        return 24.0 / self.batches_per_day

    @property
    def batch_cells_kwh(self) -> float:
        """Cells in one batch [kWh]."""
        return self.cells_kwh_per_day / self.batches_per_day


def phase_profile_kw(durations_h, energies_kwh, dt_h: float) -> np.ndarray:
    """Mean power per model step of a profile of constant-power phases [kW].

    Parameters
    ----------
    durations_h : array-like
        Length of each phase, back to back from the start of step 0. [h]
    energies_kwh : array-like
        Energy of each phase, spread evenly over it. [kWh]
    dt_h : float
        Model step. [h]

    Returns
    -------
    ndarray
        One value per step the profile touches (``ceil(total / dt_h)``); a
        step the profile only partly covers holds the mean over the whole step.
    """
    edges = np.concatenate([[0.0], np.cumsum(np.asarray(durations_h, dtype=float))])
    cumulative = np.concatenate([[0.0], np.cumsum(np.asarray(energies_kwh, dtype=float))])
    n_steps = math.ceil(edges[-1] / dt_h - GRID_TOL)
    at_steps = np.interp(np.arange(n_steps + 1) * dt_h, edges, cumulative)
    return np.diff(at_steps) / dt_h


@dataclasses.dataclass(frozen=True)
class BatchProfile:
    """One batch on the model grid."""

    charge_kw: np.ndarray  # DC charge per step [kW]
    discharge_kw: np.ndarray  # DC discharge per step [kW]
    offsets: tuple[int, ...]  # feasible start steps after release, ascending

    @property
    def latest(self) -> int:
        """Latest start after release [steps]."""
        return self.offsets[-1]

    @property
    def n_steps(self) -> int:
        """Steps a batch occupies its rack (m)."""
        return len(self.charge_kw)


def equal_runs(profile: np.ndarray) -> list[tuple[float, int, int]]:
    """Runs of equal non-zero values of a per-step profile: ``(value, first, stop)``.

    ``stop`` is exclusive; zero runs are left out.
    """
    values = np.asarray(profile, dtype=float)
    if values.size == 0:
        return []
    edges = np.flatnonzero(values[1:] != values[:-1]) + 1
    firsts = np.r_[0, edges]
    stops = np.r_[edges, values.size]
    return [
        (float(values[a]), int(a), int(z)) for a, z in zip(firsts, stops, strict=True) if values[a]
    ]


def batch_profile(p: FormationParams, dt_h: float) -> BatchProfile:
    """Per-step DC profile and start flexibility of one batch on step ``dt_h``."""
    durations = [ph.duration_h for ph in p.phases]
    cells = p.batch_cells_kwh
    charge = phase_profile_kw(
        durations, [ph.charge_kwh_per_kwh_cell * cells for ph in p.phases], dt_h
    )
    discharge = phase_profile_kw(
        durations, [ph.discharge_kwh_per_kwh_cell * cells for ph in p.phases], dt_h
    )
    slack_steps = math.floor((p.due_after_release_h - p.duration_h) / dt_h + GRID_TOL)
    raster = np.arange(slack_steps + 1) * dt_h / p.start_every_h
    on_raster = np.abs(raster - np.round(raster)) < GRID_TOL
    return BatchProfile(charge, discharge, tuple(int(j) for j in np.flatnonzero(on_raster)))


def release_times(
    p: FormationParams, timezone: str, start: pd.Timestamp, end: pd.Timestamp
) -> pd.DatetimeIndex:
    """Release time stamps (UTC) in ``[start, end)``.

    Releases are local wall-clock times; on the spring DST day a time that does
    not exist moves forward to the first valid time, on the autumn day a time
    that occurs twice is taken at its first occurrence.
    """
    first_day = start.tz_convert(timezone).normalize().tz_localize(None) - pd.Timedelta(days=1)
    last_day = end.tz_convert(timezone).normalize().tz_localize(None) + pd.Timedelta(days=1)
    days = pd.date_range(first_day, last_day, freq="D")
    offsets = pd.to_timedelta(
        p.first_release_h + np.arange(p.batches_per_day) * p.release_spacing_h, unit="h"
    )
    wall = pd.DatetimeIndex((days.values[:, None] + offsets.values[None, :]).ravel())
    local = wall.tz_localize(
        timezone, ambiguous=np.ones(len(wall), dtype=bool), nonexistent="shift_forward"
    )
    utc = local.tz_convert("UTC")
    utc = utc[(utc >= start) & (utc < end)]
    return utc[in_production(utc, timezone, p.calendar)]


def list_schedule(
    release_steps: list[int],
    offsets: tuple[int, ...],
    carried_running: np.ndarray,
    occupancy_steps: int,
    racks: int,
) -> dict[int, int | None]:
    """Rule-based starts: each batch (in release order) at the first step from
    its release with a free rack for its whole run.

    Parameters
    ----------
    release_steps : list of int
        Release step of each batch relative to the window (negative: waiting).
    offsets : tuple of int
        Feasible start offsets after release, ascending. [steps]
    carried_running : ndarray
        Racks already held by running batches in each window step.
    occupancy_steps : int
        Steps a batch holds its rack (m).
    racks : int
        Racks available.

    Returns
    -------
    dict
        Start step per release step; None if it may and does wait past the window.

    Raises
    ------
    ModelBuildError
        If a batch finds no free rack before its latest start inside the window.
    """
    n = len(carried_running)
    busy = np.concatenate([np.asarray(carried_running, dtype=float), np.zeros(occupancy_steps)])
    starts: dict[int, int | None] = {}
    for r in sorted(release_steps):
        latest = r + offsets[-1]
        chosen = next(
            (
                r + j
                for j in offsets
                if 0 <= r + j < n and np.all(busy[r + j : r + j + occupancy_steps] < racks - 0.5)
            ),
            None,
        )
        if chosen is None and latest <= n - 1:
            msg = f"no free rack for the batch released at step {r} before its latest start"
            raise ModelBuildError(msg)
        if chosen is not None:
            busy[chosen : chosen + occupancy_steps] += 1
        starts[r] = chosen
    return starts
