"""A model reused window after window: refreshed matrices and cached expression
readings equal a fresh compile and plain evaluation."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyomo.environ as pyo
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from energyopt.engine.rolling import RollingEngine, prepare_rolling
from energyopt.engine.state import SystemState
from energyopt.inputs.config import load_scenario
from energyopt.model import PlantSession
from energyopt.model.evaluation import LinearValues
from energyopt.model.param_items import ParamItems, affine_in_params
from energyopt.model.read import dispatch_table
from energyopt.model.solve import solve
from energyopt.model.standard_form import StandardForm, compile_model
from tests.conftest import SCENARIOS

JAN_9 = dt.date(2023, 1, 9)


def rolling_engine(name: str, days: int, step: str) -> tuple[RollingEngine, list]:
    """An engine over ``days`` local days of a bundled scenario, perfect forecasts."""
    scenario = load_scenario(SCENARIOS / name)
    return prepare_rolling(scenario, JAN_9, JAN_9 + dt.timedelta(days=days - 1), step)


def snapshot(form: StandardForm) -> dict[str, np.ndarray]:
    """Copies of everything HiGHS gets from a compiled model."""
    return {
        "matrix": form.matrix.toarray(),
        "rhs": form.rhs.copy(),
        "row_kind": form.row_kind.copy(),
        "cost": form.cost.copy(),
        "offset": np.array([form.offset]),
        "col_lower": form.col_lower.copy(),
        "col_upper": form.col_upper.copy(),
        "is_integer": form.is_integer.copy(),
    }


@pytest.mark.parametrize("name", ["example.yaml", "gigafactory.yaml"])
def test_refreshed_windows_equal_a_fresh_compile(name):
    engine, windows = rolling_engine(name, 5, "1h")
    state = SystemState()
    first = None
    for window in windows[:3]:
        _, state, report = engine.step(window, state)
        first = first or snapshot(engine.plant.compilation.current)
    assert report.action == "update"
    refreshed = engine.plant.compilation.current
    assert refreshed._template is not None, "the last window was refreshed, not compiled"
    fresh = compile_model(engine.plant.model)
    assert [id(v) for v in refreshed.columns] == [id(v) for v in fresh.columns]
    assert [id(c) for c in refreshed.row_constraints] == [id(c) for c in fresh.row_constraints]
    got, want = snapshot(refreshed), snapshot(fresh)
    for key in want:
        assert_allclose(got[key], want[key], rtol=1e-12, atol=1e-12, err_msg=key)
    changed = [key for key in want if not np.array_equal(first[key], want[key])]
    assert {"rhs", "cost"} <= set(changed), "the windows must differ for the test to mean much"


def test_a_refreshed_plan_solves_to_the_fresh_optimum():
    engine, windows = rolling_engine("example.yaml", 4, "1h")
    state = SystemState()
    reports = []
    for window in windows[:2]:
        _, state, report = engine.step(window, state)
        reports.append(report)
    assert [r.action for r in reports] == ["build", "update"]
    plant = engine.plant
    refreshed_objective = reports[-1].objective_eur
    plant.compilation.structure_changed()  # force a fresh compile of the same (updated) model
    fresh = solve(plant, engine.scenario.solver)
    gap = engine.scenario.solver.mip_rel_gap
    assert refreshed_objective == pytest.approx(fresh.objective_eur, rel=2 * gap)


def test_fixed_variables_after_a_solve_are_compiled_afresh():
    engine, windows = rolling_engine("example.yaml", 1, "1h")
    engine.step(windows[0], SystemState())
    plant = engine.plant
    before = plant.compilation.current
    battery = next(n for n, a in plant.assets.items() if a.kind == "battery")
    charge = plant.block(battery).charge_kw
    charge.fix(0.0)
    form = plant.standard_form()
    assert form is not before
    assert not any(v is charge[0] for v in form.columns)
    assert_array_equal(form.row_kind, compile_model(plant.model).row_kind)


def test_dispatch_of_an_updated_model_equals_plain_evaluation():
    """Cached linear forms give the same table as walking every expression."""
    engine, windows = rolling_engine("gigafactory.yaml", 5, "1h")
    state = SystemState()
    for window in windows[:3]:
        _, state, _ = engine.step(window, state)
    plant = engine.plant
    assert plant.n_updates == 2
    assert plant.value_cache, "the engine read the updated model through the cache"
    cached = dispatch_table(plant)
    plant.n_updates = 0  # read as a model solved once: plain evaluation
    plain = dispatch_table(plant)
    assert list(cached.columns) == list(plain.columns)
    assert_allclose(cached.to_numpy(), plain.to_numpy(), rtol=1e-12, atol=1e-9)
    assert np.isfinite(cached.to_numpy()).all()


def test_linear_values_follow_parameters_and_fixed_variables():
    m = pyo.ConcreteModel()
    m.T = pyo.RangeSet(0, 2)
    m.p = pyo.Param(m.T, mutable=True, initialize={0: 1.0, 1: 2.0, 2: 3.0})
    m.x = pyo.Var(m.T, initialize=10.0)
    m.e = pyo.Expression(m.T, rule=lambda m, t: m.p[t] * m.x[t] + 2 * m.x[t] - m.p[t] + 0.5)
    form = LinearValues([m.e[t] for t in m.T])
    assert_allclose(form.evaluate(), [pyo.value(m.e[t]) for t in m.T])
    m.p[1] = -4.0
    m.x[2].fix(7.0)
    m.x[0].set_value(1.0)
    assert_allclose(form.evaluate(), [pyo.value(m.e[t]) for t in m.T])


def test_a_model_the_refresh_cannot_follow_is_compiled_and_not_refreshed_again():
    """A parameter coefficient that was zero at compile time left its variable out."""
    m = pyo.ConcreteModel()
    m.p = pyo.Param(mutable=True, initialize=0.0)
    m.x = pyo.Var(bounds=(0, 10))
    m.y = pyo.Var(bounds=(0, 1))
    m.need = pyo.Constraint(expr=m.x + m.p * m.y >= 1)
    m.objective = pyo.Objective(expr=m.x)
    form = compile_model(m)
    assert [v.name for v in form.columns] == ["x"]
    m.p = 2.0
    assert not form.refresh()
    assert_array_equal(form.matrix.toarray(), [[1.0]])  # left as compiled
    m.p = 0.0
    plant = PlantSession(model=m, assets={}, ctx=None, terms={}, carriers=[], build_s=0.0)
    first = plant.standard_form()
    m.p = 2.0
    plant.compilation.parameters_changed()  # what update() does
    second = plant.standard_form()
    assert second is not first
    assert not plant.compilation.refreshable
    assert [v.name for v in second.columns] == ["x", "y"]
    assert_array_equal(second.matrix.toarray(), [[1.0, 2.0]])
    plant.compilation.parameters_changed()
    assert plant.standard_form() is not second  # compiled again, no refresh tried


def test_param_items_evaluate_affine_forms_in_one_step_and_the_rest_by_pyomo():
    m = pyo.ConcreteModel()
    m.T = pyo.RangeSet(0, 2)
    m.p = pyo.Param(m.T, mutable=True, initialize={0: 1.0, 1: 2.0, 2: 3.0})
    m.q = pyo.Param(mutable=True, initialize=0.5)
    items = [
        4.0,
        0.25 * m.p[0],
        -m.p[0] - m.p[1] - m.p[2] + 7.0,  # affine in three parameters
        m.p[1] / 1000 - 3 + m.q * 0.202,
        m.q * m.p[2],  # a product of parameters: evaluated by Pyomo
        m.p[0] ** 2,
    ]
    found = ParamItems.of(items)
    assert found.positions == [4, 5]
    assert len(found.params) == 4
    for p0, p1, p2, q in ((1.0, 2.0, 3.0, 0.5), (-2.0, 10.0, 0.0, 3.0), (0.0, 0.0, 0.0, 0.0)):
        m.p[0], m.p[1], m.p[2], m.q = p0, p1, p2, q
        expected = [4.0, 0.25 * p0, 7 - p0 - p1 - p2, p1 / 1000 - 3 + 0.202 * q, q * p2, p0**2]
        assert_allclose(found.evaluate(), expected, rtol=1e-12, atol=1e-12)


def test_affinity_check_restores_the_parameters():
    m = pyo.ConcreteModel()
    m.p = pyo.Param(mutable=True, initialize=2.0)
    m.q = pyo.Param(mutable=True, initialize=-1.0)
    assert affine_in_params(m.p * m.q) is None
    slopes, intercept = affine_in_params(3 * m.p - m.q + 1)
    assert [s for _, s in slopes] == pytest.approx([3.0, -1.0])
    assert intercept == pytest.approx(1.0)
    assert (pyo.value(m.p), pyo.value(m.q)) == (2.0, -1.0)


def test_affine_forms_read_from_the_tree_match_their_values():
    m = pyo.ConcreteModel()
    m.p = pyo.Param([0, 1], mutable=True, initialize={0: 1.5, 1: -2.0})
    m.q = pyo.Param(mutable=True, initialize=2.0)
    m.c = pyo.Param(initialize=3.0)
    m.e = pyo.Expression(expr=2 * m.p[0] - m.q)
    cases = [
        (0.25 * m.p[0], {"p[0]": 0.25}, 0.0),
        (m.p[0] / 1000 - 3, {"p[0]": 0.001}, -3.0),
        (-m.p[0] - m.p[1] + 7, {"p[0]": -1.0, "p[1]": -1.0}, 7.0),
        (2 * (m.p[0] + m.q) + m.c, {"p[0]": 2.0, "q": 2.0}, 3.0),
        (m.p[0] + m.p[0], {"p[0]": 2.0}, 0.0),
        (m.e * 3, {"p[0]": 6.0, "q": -3.0}, 0.0),
        (m.p[0] / m.q, None, None),
        (m.q * m.p[0], None, None),
    ]
    for expr, slopes, intercept in cases:
        found = affine_in_params(expr)
        if slopes is None:
            assert found is None, str(expr)
            continue
        assert {p.name: s for p, s in found[0]} == pytest.approx(slopes), str(expr)
        assert found[1] == pytest.approx(intercept), str(expr)
        assert found[1] + sum(s * p.value for p, s in found[0]) == pytest.approx(pyo.value(expr))
