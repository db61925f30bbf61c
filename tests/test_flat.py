"""Flat linear expressions equal the nested sums they replace."""

from __future__ import annotations

import pyomo.environ as pyo
import pytest
from numpy.testing import assert_allclose
from pyomo.core.expr.numeric_expr import LinearExpression
from pyomo.repn import generate_standard_repn

from energyopt.model.flat import flat_sum, linear_sum


def linear_form(expr) -> tuple[dict[str, float], float]:
    repn = generate_standard_repn(expr, compute_values=True)
    assert repn.nonlinear_expr is None
    coefficients: dict[str, float] = {}
    for var, coefficient in zip(repn.linear_vars, repn.linear_coefs, strict=True):
        coefficients[var.name] = coefficients.get(var.name, 0.0) + coefficient
    return coefficients, float(repn.constant)


@pytest.fixture
def m():
    m = pyo.ConcreteModel()
    m.x = pyo.Var(range(3))
    m.p = pyo.Param(range(2), mutable=True, initialize={0: 2.0, 1: -0.5})
    m.heat = pyo.Expression(expr=2.3 * m.x[0] + m.p[0] * m.x[1] + 1000 * m.x[2] / 0.25)
    m.e = pyo.Expression(expr=m.x[0] - m.p[1])
    return m


def test_flat_sum_equals_the_nested_sum_and_follows_parameters(m):
    terms = [0 + -1 * m.heat, m.x[1] - m.x[2], -(m.e * 3), m.p[1], 4.0, (m.x[2] - 2) / 4]
    flat = flat_sum(terms)
    assert isinstance(flat, LinearExpression)
    for p0, p1 in ((2.0, -0.5), (7.0, 3.0)):
        m.p[0], m.p[1] = p0, p1
        coefficients, constant = linear_form(flat)
        expected, expected_constant = linear_form(sum(terms))
        assert coefficients == pytest.approx(expected)
        assert constant == pytest.approx(expected_constant)
    assert coefficients == pytest.approx({"x[0]": -5.3, "x[1]": -6.0, "x[2]": -4000.75})


def test_flat_sum_keeps_a_form_it_does_not_read(m):
    terms = [m.x[0] * m.x[1], m.x[2]]
    assert not isinstance(flat_sum(terms), LinearExpression)
    for value, var in zip((1.0, 2.0, 3.0), m.x.values(), strict=True):
        var.set_value(value)
    assert pyo.value(flat_sum(terms)) == pytest.approx(5.0)


def test_linear_sum_merges_terms_and_collects_numbers(m):
    expr = linear_sum([(2.0, m.x[0]), (-2.0, m.x[0]), (1.5, m.x[1]), (3.0, 2.0), (1.0, m.x[2])])
    coefficients, constant = linear_form(expr)
    assert coefficients == {"x[1]": 1.5, "x[2]": 1.0}
    assert constant == 6.0
    assert linear_sum([]) == 0.0


def test_a_model_with_flat_balances_compiles_to_the_same_matrix(m):
    """The balance rows of the plant use flat sums: same matrix as the nested sum."""
    from energyopt.model.standard_form import compile_model

    m.objective = pyo.Objective(expr=m.x[0] + m.x[1] + m.x[2])
    m.x[0].setlb(0)
    terms = [-m.heat, m.x[1] + 2 * m.x[2], m.e]
    m.nested = pyo.Constraint(expr=sum(terms) == 0)
    nested = compile_model(m)
    m.nested.deactivate()
    m.flat = pyo.Constraint(expr=flat_sum(terms) == 0)
    flat = compile_model(m)
    assert_allclose(flat.matrix.toarray(), nested.matrix.toarray())
    assert_allclose(flat.rhs, nested.rhs)
