"""Formation: batch profiles, releases, uninterrupted runs in their windows, rack limit,
net electricity by hand, carried batches across windows, baseline and bad input."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pandas as pd
import pyomo.environ as pyo
import pytest
from helpers import EXACT, assets_from, context, grid, index, load, scenario_doc, solve_assets
from numpy.testing import assert_allclose
from pyomo.repn import generate_standard_repn

from energyopt.assets.formation import (
    batch_profile,
    convolve,
    equal_runs,
    list_schedule,
    phase_profile_kw,
    release_times,
    window_batches,
)
from energyopt.engine.baseline import apply_baseline_rules
from energyopt.errors import InfeasibleError, ModelBuildError, ScenarioError
from energyopt.inputs.config import Site, scenario_from_dict
from energyopt.model import build_model
from energyopt.model.read import dispatch_table
from energyopt.model.solve import solve
from energyopt.outputs.results import compute_kpis

#: three-hour recipe: 2 h charge (1.05 kWh/kWh), 1 h grading discharge (0.65 kWh/kWh)
SHORT_PHASES = [
    {"duration_h": 2.0, "charge_kwh_per_kwh_cell": 1.05},
    {"duration_h": 1.0, "discharge_kwh_per_kwh_cell": 0.65},
]


def formation(**extra) -> dict:
    """4 batches a day (every 6 h) of 100 kWh cells, 3 h runs, due 5 h after release."""
    doc = {
        "type": "formation",
        "name": "form",
        "cells_kwh_per_day": 400.0,
        "batches_per_day": 4,
        "phases": SHORT_PHASES,
        "due_after_release_h": 5.0,
        "racks": 1,
    }
    return {**doc, **extra}


def schedule(solved, name: str = "form") -> pd.DataFrame:
    plant = solved.plant
    return plant.assets[name].batch_schedule(plant.block(name), plant.ctx)


def running_from_schedule(sched: pd.DataFrame, idx: pd.DatetimeIndex) -> np.ndarray:
    """Batches on racks per interval, re-derived from start and end times."""
    started = sched.dropna(subset=["started_at"])
    return np.array(
        [((started.started_at <= t) & (started.ended_at > t)).sum() for t in idx], dtype=float
    )


# ---------------------------------------------------------------------------- plain functions


def test_phase_profile_spreads_energy_exactly_over_the_steps():
    """Phases of 0.5 h (10 kWh) and 1 h (30 kWh) on 1 h steps: 25 kW then 15 kW."""
    assert_allclose(phase_profile_kw([0.5, 1.0], [10.0, 30.0], 1.0), [25.0, 15.0])
    quarter = phase_profile_kw([0.5, 1.0], [10.0, 30.0], 0.25)
    assert_allclose(quarter, [20.0, 20.0, 30.0, 30.0, 30.0, 30.0])
    assert quarter.sum() * 0.25 == pytest.approx(40.0)


def test_batch_profile_offsets_follow_the_start_raster():
    """Due 5 h, 3 h run: 2 h of start slack; on 15 min steps starts every hour by default."""
    params = assets_from([formation()])[0].params
    hourly = batch_profile(params, 1.0)
    assert hourly.offsets == (0, 1, 2)
    assert hourly.n_steps == 3
    assert_allclose(hourly.charge_kw, [52.5, 52.5, 0.0])
    assert_allclose(hourly.discharge_kw, [0.0, 0.0, 65.0])
    quarter = batch_profile(params, 0.25)
    assert quarter.offsets == (0, 4, 8)
    assert quarter.n_steps == 12
    fine = assets_from([formation(start_every_h=0.25)])[0].params
    assert batch_profile(fine, 0.25).offsets == tuple(range(9))


def test_releases_follow_local_time_and_skip_shutdown_days():
    params = assets_from(
        [
            formation(
                batches_per_day=2, first_release_h=6.0, calendar={"shutdown_dates": ["2023-03-27"]}
            )
        ]
    )[0].params
    start = pd.Timestamp("2023-03-25T23:00Z")  # Berlin midnight before the spring DST day
    releases = release_times(params, "Europe/Berlin", start, start + pd.Timedelta(days=3))
    local = releases.tz_convert("Europe/Berlin")
    assert [t.strftime("%m-%d %H:%M") for t in local] == [
        "03-26 06:00",
        "03-26 18:00",
        "03-28 06:00",
        "03-28 18:00",
    ]
    assert str(releases[0]) == "2023-03-26 04:00:00+00:00"  # CEST: UTC+2


def test_list_schedule_waits_for_a_free_rack():
    """Racks=1, 3-step runs, carried batch holds the rack for 2 steps."""
    starts = list_schedule([0, 1], (0, 1, 2, 3, 4), np.array([1, 1, 0, 0, 0, 0, 0, 0]), 3, 1)
    assert starts == {0: 2, 1: 5}
    with pytest.raises(ModelBuildError, match="no free rack"):
        list_schedule([0, 1], (0, 1), np.zeros(8), 3, 1)


# ---------------------------------------------------------------------------- model


def test_block_has_one_binary_per_batch_and_feasible_start_in_the_solver():
    ctx = context(index(11), {"price_eur_per_mwh": 50.0})
    plant = build_model(assets_from([grid(), load(100.0), formation()]), ctx)
    b = plant.block("form")
    for name in ("start", "batch_released", "start_once", "rack_limit", "charge_profile"):
        assert b.component(name) is not None, name
    released = [r for r in b.RELEASES if b.batch_released[r].value > 0.5]
    assert released == [0, 6]  # releases at 00:00 and 06:00; 12:00 lies outside
    feasible = [(r, j) for (r, j) in b.start if r in released]
    assert len(feasible) == 6  # 2 batches x 3 starts, all inside the window


PRICES = [80.0, 20.0, 20.0, 150.0, 60.0, 70.0, 90.0, 10.0, 10.0, 120.0, 30.0]


def test_two_batches_net_energy_and_optimum_by_hand():
    """Per batch: 105 kWh DC in (2 x 52.5 kW), 65 kWh out.

    Electricity 105 / 0.9 - 0.9 * 65 = 58.17 kWh, losses 58.17 - 40 = 18.17 kWh.
    The starts are the cheapest of all 3 x 3 combinations, computed here.
    """
    ctx = context(index(11), {"price_eur_per_mwh": PRICES})
    solved = solve_assets([grid(), load(100.0), formation()], ctx)
    d = solved.dispatch
    assert d["form.power_el_kw"].sum() == pytest.approx(2 * (105 / 0.9 - 0.9 * 65))
    assert d["form.heat_loss_kw"].sum() == pytest.approx(2 * (105 / 0.9 - 0.9 * 65 - 40))
    assert d["form.charge_dc_kw"].sum() == pytest.approx(210.0)
    assert d["form.recuperated_kw"].sum() == pytest.approx(2 * 0.9 * 65)
    assert_allclose(d["form.net_electricity_kw"], -d["form.power_el_kw"], atol=1e-9)
    per_step = np.array([105 / 0.9 / 2, 105 / 0.9 / 2, -0.9 * 65])
    price = np.array(PRICES) / 1000

    def cost(s1: int, s2: int) -> float:
        draw = np.full(11, 100.0)
        for s in (s1, s2):
            draw[s : s + 3] += per_step
        return float(draw @ price)

    best = min(itertools.product([0, 1, 2], [6, 7, 8]), key=lambda s: cost(*s))
    assert best == (1, 7)
    assert solved.report.objective_eur == pytest.approx(cost(*best))
    started = schedule(solved).started_at.tolist()
    assert started == [ctx.index[1], ctx.index[7]]


def test_batches_run_whole_inside_their_windows_and_racks_hold():
    """8 batches a day, 6 h runs, 2 racks; a cheap afternoon pulls every batch towards it.

    The DC profile re-built from each batch's start equals the plan, so every
    batch ran its recipe without interruption; starts and ends lie inside
    [release, due]; at most 2 batches run at once and the limit binds.
    """
    idx = index(48)
    prices = np.where((idx.hour >= 12) & (idx.hour < 18), 10.0, 100.0)
    doc = formation(
        cells_kwh_per_day=800.0,
        batches_per_day=8,
        phases=[
            {"duration_h": 5.0, "charge_kwh_per_kwh_cell": 1.05},
            {"duration_h": 1.0, "discharge_kwh_per_kwh_cell": 0.65},
        ],
        due_after_release_h=12.0,
        racks=2,
    )
    ctx = context(idx, {"price_eur_per_mwh": prices})
    solved = solve_assets([grid(), load(500.0), doc], ctx)
    sched = schedule(solved)
    started = sched[sched.status == "started"]
    assert len(started) >= 12
    assert (started.started_at >= started.released_at).all()
    assert (started.started_at <= started.latest_start_at).all()
    assert (started.ended_at <= started.due_at).all()
    prof = batch_profile(solved.plant.assets["form"].params, 1.0)
    rebuilt = np.zeros(len(idx) + prof.n_steps)
    for _, row in sched.dropna(subset=["started_at"]).iterrows():
        offset = int((row.started_at - idx[0]) / pd.Timedelta("1h"))
        skip = max(-offset, 0)
        rebuilt[offset + skip : offset + prof.n_steps] += prof.charge_kw[skip:]
    assert_allclose(solved.dispatch["form.charge_dc_kw"], rebuilt[: len(idx)], atol=1e-6)
    running = running_from_schedule(sched, idx)
    assert_allclose(solved.dispatch["form.batches_running"], running)
    assert running.max() == 2
    more_racks = solve_assets([grid(), load(500.0), {**doc, "racks": 4}], ctx)
    assert more_racks.report.objective_eur < solved.report.objective_eur - 1.0


def test_a_batch_carried_from_the_previous_window_finishes():
    """Window A commits 6 h with a batch mid-run; window B runs its rest and waits for its rack."""
    cheap_a = [100.0] * 4 + [10.0] * 3 + [200.0] * 5
    doc = formation(
        phases=[
            {"duration_h": 3.0, "charge_kwh_per_kwh_cell": 1.05},
            {"duration_h": 1.0, "discharge_kwh_per_kwh_cell": 0.65},
        ],
        due_after_release_h=8.0,
    )
    ctx_a = context(index(12), {"price_eur_per_mwh": cheap_a})
    a = solve_assets([grid(), load(200.0), doc], ctx_a)
    assert schedule(a).started_at.iloc[0] == ctx_a.index[4]
    state = a.plant.assets["form"].final_state(a.plant.block("form"), ctx_a, 6)
    assert [e["started_at"] for e in state["running"]] == [ctx_a.index[4].isoformat()]
    assert_allclose(state["running"][0]["charge_kw"], [35.0, 0.0])
    assert_allclose(state["running"][0]["discharge_kw"], [0.0, 65.0])
    assert state["pending_released_at"] == []

    ctx_b = context(
        index(12, start="2023-06-05T06:00Z"), {"price_eur_per_mwh": 50.0}, state={"form": state}
    )
    b = solve_assets([grid(), load(200.0), doc], ctx_b)
    d = b.dispatch
    assert d["form.charge_dc_kw"].iloc[0] == pytest.approx(35.0)
    assert d["form.discharge_dc_kw"].iloc[1] == pytest.approx(65.0)
    committed_a = a.dispatch["form.charge_dc_kw"].iloc[:6].sum()
    assert committed_a + d["form.charge_dc_kw"].iloc[0] == pytest.approx(105.0)
    sched = schedule(b)
    assert sched.status.tolist() == ["carried", "started", "started"]  # released 06:00, 12:00
    new = sched[sched.status == "started"].iloc[0]
    assert new.started_at >= ctx_b.index[2]  # racks=1: waits until the carried batch ends
    assert d["form.batches_running"].max() == 1


def test_a_waiting_batch_starts_by_its_latest_start_in_the_next_window():
    doc = formation(due_after_release_h=7.0)  # latest start 4 h after release
    ctx_a = context(index(12), {"price_eur_per_mwh": [50.0] * 9 + [1.0] * 3})
    a = solve_assets([grid(), load(200.0), doc], ctx_a)
    state = a.plant.assets["form"].final_state(a.plant.block("form"), ctx_a, 8)
    assert state["pending_released_at"] == ["2023-06-05T06:00:00+00:00"]
    late_cheap = [100.0, 90.0, 80.0, 70.0, 60.0, 50.0] + [1.0] * 6
    ctx_b = context(
        index(12, start="2023-06-05T08:00Z"),
        {"price_eur_per_mwh": late_cheap},
        state={"form": state},
    )
    b = solve_assets([grid(), load(200.0), doc], ctx_b)
    waiting = schedule(b).iloc[0]
    assert waiting.released_at == pd.Timestamp("2023-06-05T06:00Z")
    assert waiting.started_at == pd.Timestamp("2023-06-05T10:00Z")  # its latest start


def test_an_overdue_waiting_batch_is_reported():
    state = {"step_h": 1.0, "running": [], "pending_released_at": ["2023-06-05T00:00:00+00:00"]}
    ctx = context(
        index(6, start="2023-06-05T06:00Z"), {"price_eur_per_mwh": 50.0}, state={"form": state}
    )
    with pytest.raises(ModelBuildError, match=r"had to start by 2023-06-05T02:00Z"):
        build_model(assets_from([grid(), formation()]), ctx)


def test_soft_mode_plans_a_batch_the_racks_cannot_take_and_names_it():
    """The one rack is held for 8 h by a batch carried in (a measured fact): the batch
    released at 00:00 must start by 02:00 and cannot; it is missed (100 kWh of cells at
    100 EUR/kWh), the one released at 06:00 starts at 08:00; hard mode has no plan."""
    running = {
        "released_at": "2023-06-04T22:00:00+00:00",
        "started_at": "2023-06-04T22:00:00+00:00",
        "charge_kw": [10.0] * 8,
        "discharge_kw": [0.0] * 8,
    }
    state = {"form": {"step_h": 1.0, "running": [running], "pending_released_at": []}}
    ctx = context(index(11), {"price_eur_per_mwh": 50.0}, state=state)
    docs = [grid(), formation()]
    with pytest.raises(InfeasibleError, match="form: batch not formed by its due time") as info:
        solve_assets(docs, ctx)
    # HiGHS's irreducible subset: the batch's start row, the rack limit while it is held
    names = {(e.owner, e.name) for e in info.value.iis}
    assert ("asset 'form'", "rack_limit") in names
    assert any(name.startswith("start_once[") for _, name in names)
    solved = solve_assets(docs, dataclasses.replace(ctx, soft_limits=True))
    (missed,) = solved.plant.read().violations
    assert missed.requirement == "batch not formed by its due time"
    assert (missed.amount, missed.unit) == (pytest.approx(100.0), "kWh of cells")
    assert missed.penalty_eur == pytest.approx(10_000.0)
    assert missed.start == ctx.index[2]  # the batch's latest start
    started = schedule(solved).started_at.dropna().tolist()
    assert [t for t in started if t >= ctx.index[0]] == [ctx.index[8]]


def test_soft_mode_leaves_an_overdue_waiting_batch_out_and_names_it():
    state = {"step_h": 1.0, "running": [], "pending_released_at": ["2023-06-05T00:00:00+00:00"]}
    ctx = context(
        index(6, start="2023-06-05T06:00Z"), {"price_eur_per_mwh": 50.0}, state={"form": state}
    )
    plant = build_model(
        assets_from([grid(), formation()]), dataclasses.replace(ctx, soft_limits=True)
    )
    (line,) = plant.prechecks()
    assert "had to start by 2023-06-05T02:00Z" in line
    assert line.endswith("left out of the plan")


def test_update_for_the_next_window_equals_a_fresh_build():
    doc = formation(due_after_release_h=7.0)
    ctx_a = context(index(12), {"price_eur_per_mwh": [50.0] * 9 + [1.0] * 3})
    plant = build_model(assets_from([grid(), load(200.0), doc]), ctx_a)
    solve(plant, EXACT)
    state = plant.assets["form"].final_state(plant.block("form"), ctx_a, 8)
    ctx_b = context(
        index(12, start="2023-06-05T08:00Z"),
        {"price_eur_per_mwh": np.linspace(90.0, 10.0, 12)},
        state={"form": state},
    )
    assert plant.can_update(ctx_b)
    plant.update(ctx_b)
    updated = solve(plant, EXACT)
    fresh = solve_assets([grid(), load(200.0), doc], ctx_b)
    assert updated.objective_eur == pytest.approx(fresh.report.objective_eur)
    assert_allclose(dispatch_table(plant)["form.charge_dc_kw"], fresh.dispatch["form.charge_dc_kw"])


def test_same_plan_on_15_min_and_1_h_steps():
    """Hourly prices and an hourly start raster: the optimum does not depend on the step."""
    hourly = [60.0, 20.0, 20.0, 150.0, 60.0, 70.0, 90.0, 10.0, 10.0, 120.0, 30.0, 50.0]
    coarse = solve_assets(
        [grid(), load(100.0), formation()], context(index(12), {"price_eur_per_mwh": hourly})
    )
    fine_idx = index(48, "15min")
    fine = solve_assets(
        [grid(), load(100.0), formation()],
        context(fine_idx, {"price_eur_per_mwh": np.repeat(hourly, 4)}),
    )
    assert fine.report.objective_eur == pytest.approx(coarse.report.objective_eur)
    for column in ("form.power_el_kw", "form.charge_dc_kw", "form.heat_loss_kw"):
        assert fine.dispatch[column].sum() * 0.25 == pytest.approx(coarse.dispatch[column].sum())


def test_default_recipe_uses_0_58_kwh_per_kwh_of_cells_in_steady_operation():
    """Defaults, baseline starts, one day: 1.05 / 0.9 - 0.65 * 0.9 = 0.5817 kWh_el/kWh."""
    doc = {"type": "formation", "name": "form", "cells_kwh_per_day": 54_800.0, "racks": 10}
    ctx = context(index(24), {"price_eur_per_mwh": 80.0})
    plant = build_model(assets_from([grid(20_000.0), load(5_000.0), doc]), ctx)
    apply_baseline_rules(plant)
    solve(plant, EXACT)
    d = dispatch_table(plant)
    assert d["form.power_el_kw"].sum() / 54_800.0 == pytest.approx(1.05 / 0.9 - 0.65 * 0.9)
    assert (d["form.batches_started"] == d["form.batches_released"]).all()  # start at release
    assert compute_kpis(plant.read())["cells_produced_kwh"] == pytest.approx(54_800.0)


def test_without_regeneration_the_discharge_becomes_heat():
    ctx = context(index(11), {"price_eur_per_mwh": PRICES})
    solved = solve_assets([grid(), load(100.0), formation(recuperation_efficiency_frac=0.0)], ctx)
    d = solved.dispatch
    assert d["form.power_el_kw"].sum() == pytest.approx(2 * 105 / 0.9)
    assert d["form.heat_loss_kw"].sum() == pytest.approx(2 * (105 / 0.9 - 40))


def test_losses_load_the_cooling_carrier():
    ctx = context(index(11), {"price_eur_per_mwh": PRICES, "temp_air_degc": 25.0})
    chiller = {"type": "chiller", "name": "chiller", "cooling_max_kw": 500.0}
    doc = formation(cooling_carrier="cooling", heat_to_cooling_frac=0.8)
    d = solve_assets([grid(), load(100.0), chiller, doc], ctx).dispatch
    assert_allclose(d["form.net_cooling_kw"], -0.8 * d["form.heat_loss_kw"], atol=1e-9)
    assert d["chiller.cooling_kw"].sum() == pytest.approx(0.8 * 2 * (105 / 0.9 - 0.9 * 65 - 40))


def test_recuperation_is_burnt_when_nothing_can_take_it():
    """No other load and no export: discharge energy that cannot be fed back is burnt."""
    ctx = context(index(11), {"price_eur_per_mwh": 50.0})
    d = solve_assets([grid(), formation()], ctx).dispatch
    assert (d["grid.import_kw"] >= -1e-9).all()
    assert (d["form.power_el_kw"] >= -1e-6).all()
    assert d["form.recuperated_kw"].sum() < 0.9 * 130.0


def test_release_off_the_model_grid_is_reported():
    ctx = context(index(8, "1h"), {"price_eur_per_mwh": 50.0})
    with pytest.raises(ModelBuildError, match="not on the"):
        build_model(assets_from([grid(), formation(first_release_h=0.5)]), ctx)


def test_site_time_zone_sets_the_release_times():
    site = Site(name="b", latitude=52.5, longitude=13.4, timezone="Europe/Berlin")
    ctx = context(index(12, start="2023-06-04T22:00Z"), {"price_eur_per_mwh": 50.0}, site=site)
    plant = build_model(assets_from([grid(), load(200.0), formation()]), ctx)
    b = plant.block("form")
    assert [r for r in b.RELEASES if b.batch_released[r].value > 0.5] == [0, 6]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"racks": 1, "batches_per_day": 12}, "racks=1 is too few"),
        ({"due_after_release_h": 2.0}, "shorter than the phases"),
        ({"first_release_h": 7.0}, "below the release spacing"),
        ({"phases": [{"duration_h": 2.0}]}, "no phase charges"),
        ({"recuperation_efficiency_frac": 1.2}, "recuperation_efficiency_frac"),
    ],
)
def test_invalid_formation_names_the_asset(tmp_path, extra, message):
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(scenario_doc(tmp_path, [grid(), formation(**extra)]), "f.yaml")
    assert message in str(info.value)
    assert "'form'" in str(info.value)


def test_carried_profiles_are_re_gridded_to_the_window_step():
    """A running batch reported on 1 h steps continues exactly on 15 min steps."""
    entry = {
        "released_at": "2023-06-04T23:00:00+00:00",
        "started_at": "2023-06-04T23:00:00+00:00",
        "charge_kw": [52.5, 0.0],
        "discharge_kw": [0.0, 65.0],
    }
    state = {"step_h": 1.0, "running": [entry], "pending_released_at": []}
    ctx = context(index(12, "15min"), {"price_eur_per_mwh": 50.0}, state={"form": state})
    d = solve_assets([grid(), load(200.0), formation()], ctx).dispatch
    assert_allclose(d["form.charge_dc_kw"].iloc[:4], 52.5)
    assert_allclose(d["form.discharge_dc_kw"].iloc[4:8], 65.0)
    assert_allclose(d["form.batches_running"].iloc[:8] >= 1, True)
    broken = {**state, "running": [{"charge_kw": [1.0]}]}
    bad = context(index(12, "15min"), {"price_eur_per_mwh": 50.0}, state={"form": broken})
    with pytest.raises(ModelBuildError, match="malformed"):
        build_model(assets_from([grid(), formation()]), bad)


def test_a_measured_count_of_running_batches_keeps_the_latest_releases():
    """batches_running from the control system: the latest releases are on the racks."""
    phases = [
        {"duration_h": 12.0, "charge_kwh_per_kwh_cell": 1.05},
        {"duration_h": 1.0, "discharge_kwh_per_kwh_cell": 0.65},
    ]
    doc = formation(phases=phases, due_after_release_h=14.0, racks=3)
    params = assets_from([doc])[0].params
    start = "2023-06-05T12:00Z"
    assumed = window_batches(params, "form", context(index(12, start=start), {}))
    measured = window_batches(
        params, "form", context(index(12, start=start), {}, state={"form": {"running_count": 1}})
    )
    assert len(assumed.running) == 2  # released 00:00 and 06:00, 13 h runs
    assert [e["released_at"] for e in measured.running] == [assumed.running[-1]["released_at"]]
    with pytest.raises(ModelBuildError, match="3 batches measured running"):
        window_batches(
            params,
            "form",
            context(index(12, start=start), {}, state={"form": {"running_count": 3}}),
        )


def test_equal_runs_cover_every_non_zero_step():
    profile = np.array([2.0, 2.0, 0.5, 0.0, 0.0, 3.0, 3.0, 3.0])
    assert equal_runs(profile) == [(2.0, 0, 2), (0.5, 2, 3), (3.0, 5, 8)]
    rebuilt = np.zeros_like(profile)
    for value, first, stop in equal_runs(profile):
        rebuilt[first:stop] = value
    assert_allclose(rebuilt, profile)


def test_profile_rows_sum_runs_and_equal_the_full_convolution():
    """Each DC row holds a few cumulative counts, and evaluates to the step-by-step sum."""
    idx = index(96, "15min")
    plant = build_model(assets_from([formation()]), context(idx, {"price_eur_per_mwh": 50.0}))
    b = plant.block("form")
    prof = batch_profile(plant.assets["form"].params, 0.25)
    rng = np.random.default_rng(3)
    started = rng.integers(0, 2, size=96).astype(float)
    for t, total in enumerate(np.cumsum(started)):
        b.started_so_far[t].set_value(total)
    expected = np.convolve(started, prof.charge_kw)[:96]
    runs = equal_runs(prof.charge_kw)
    assert_allclose([pyo.value(convolve(b, runs, t)) for t in range(96)], expected, atol=1e-9)
    assert_allclose([pyo.value(b.batches_started[t]) for t in range(96)], started)
    repn = generate_standard_repn(b.charge_profile[50].body)
    assert len(repn.linear_vars) <= 2 * len(runs) + 1
