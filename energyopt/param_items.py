"""Numbers and parameter expressions of a Pyomo model, evaluated together as an array.

A model re-solved with new mutable parameter values re-evaluates the same
coefficient, bound and constant expressions again and again. Most of them are
numbers or affine in their parameters (``0.25 * p``, ``-p``, ``p / 1000 - 3``,
``-p[1] - p[2]``): :class:`ParamItems` stores those as intercepts and a sparse
slope matrix over the parameters and evaluates them in one array operation;
only the rest (products of parameters, say) goes through Pyomo's expression
walk.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pyomo.environ as pyo
from pyomo.common.numeric_types import native_numeric_types
from pyomo.core.expr.numeric_expr import (
    DivisionExpression,
    NegationExpression,
    ProductExpression,
    SumExpression,
)
from pyomo.core.expr.visitor import identify_mutable_parameters
from scipy import sparse

#: expressions of more parameters than this are left to Pyomo
MAX_PARAMS = 16


@dataclasses.dataclass
class ParamItems:
    """A list of numbers and parameter expressions, evaluated as one array."""

    numbers: np.ndarray  # numbers in place (and intercepts), 0 elsewhere
    params: list  # parameters the affine items depend on
    slopes: sparse.csr_matrix  # items x params
    positions: list[int]  # other expressions
    expressions: list

    @classmethod
    def of(cls, items: list) -> ParamItems:
        """Split ``items`` into numbers, expressions affine in their parameters and the rest."""
        numbers = np.zeros(len(items))
        params: list = []
        column: dict[int, int] = {}
        rows, cols, data, positions, expressions = [], [], [], [], []
        for i, item in enumerate(items):
            if item.__class__ in native_numeric_types:
                numbers[i] = item
                continue
            line = affine_in_params(item)
            if line is None:
                positions.append(i)
                expressions.append(item)
                continue
            slopes, numbers[i] = line
            for param, slope in slopes:
                j = column.setdefault(id(param), len(params))
                if j == len(params):
                    params.append(param)
                rows.append(i)
                cols.append(j)
                data.append(slope)
        shape = (len(items), len(params))
        matrix = sparse.csr_matrix((data, (rows, cols)), shape=shape)
        return cls(numbers, params, matrix, positions, expressions)

    def evaluate(self) -> np.ndarray:
        """Current values."""
        out = self.numbers.copy()
        if self.params:
            out += self.slopes @ np.array([p.value for p in self.params], dtype=float)
        if self.expressions:
            out[self.positions] = [pyo.value(x) for x in self.expressions]
        return out


def affine_in_params(expr: Any) -> tuple[list[tuple[Any, float]], float] | None:
    """``([(param, slope), ...], intercept)`` if ``expr`` is affine in its scalar
    parameter values, else None.

    Sums, negations and products or quotients with numbers are read from the
    expression tree; any other form is probed numerically (checked at one more
    point than it has parameters).
    """
    try:
        terms, constant = _read_affine(expr)
    except _NotAffine:
        return _probe_affine(expr)
    return [(param, slope) for param, slope in terms.values()], constant


class _NotAffine(Exception):  # noqa: N818 - internal control flow
    """The expression tree holds a form :func:`_read_affine` does not read."""


def _read_affine(expr: Any) -> tuple[dict[int, list], float]:
    """``({id(param): [param, slope]}, constant)`` of a sum/negation/scaling tree."""
    if expr.__class__ in native_numeric_types:
        return {}, float(expr)
    if expr.is_parameter_type():
        if expr.is_constant():
            return {}, float(pyo.value(expr))
        return {id(expr): [expr, 1.0]}, 0.0
    if expr.is_named_expression_type():
        return _read_affine(expr.expr)
    if not expr.is_expression_type() or expr.is_potentially_variable():
        raise _NotAffine
    if isinstance(expr, SumExpression):
        terms: dict[int, list] = {}
        constant = 0.0
        for arg in expr.args:
            more, number = _read_affine(arg)
            constant += number
            for key, (param, slope) in more.items():
                terms.setdefault(key, [param, 0.0])[1] += slope
        return terms, constant
    if isinstance(expr, NegationExpression):
        return _scaled(_read_affine(expr.args[0]), -1.0)
    if isinstance(expr, ProductExpression):
        left, right = expr.args
        if _is_number(left):
            return _scaled(_read_affine(right), float(pyo.value(left)))
        if _is_number(right):
            return _scaled(_read_affine(left), float(pyo.value(right)))
    if isinstance(expr, DivisionExpression) and _is_number(expr.args[1]):
        divisor = float(pyo.value(expr.args[1]))
        if divisor != 0.0:
            return _scaled(_read_affine(expr.args[0]), 1.0 / divisor)
    raise _NotAffine


def _is_number(arg: Any) -> bool:
    return arg.__class__ in native_numeric_types or arg.is_constant()


def _scaled(form: tuple[dict[int, list], float], factor: float) -> tuple[dict[int, list], float]:
    terms, constant = form
    return {key: [param, slope * factor] for key, (param, slope) in terms.items()}, (
        constant * factor
    )


def _probe_affine(expr: Any) -> tuple[list[tuple[Any, float]], float] | None:
    """Affinity by evaluation at the current values and shifted ones."""
    params = list(identify_mutable_parameters(expr))
    if not params or len(params) > MAX_PARAMS or any(p.value is None for p in params):
        return None
    original = [p.value for p in params]
    try:
        base = float(pyo.value(expr))
        pairs = zip(params, original, strict=True)
        slopes = [_slope(expr, param, value, base) for param, value in pairs]
        for param, value in zip(params, original, strict=True):
            param.set_value(value + 3.0)
        combined = float(pyo.value(expr))
    except (ValueError, TypeError, ArithmeticError):
        return None  # a parameter with a restricted domain, or not a plain number
    finally:
        for param, value in zip(params, original, strict=True):
            param.set_value(value)
    intercept = base - sum(s * v for s, v in zip(slopes, original, strict=True))
    expected = base + 3.0 * sum(slopes)
    tolerance = 1e-9 * max(1.0, abs(combined))
    if not np.isfinite([base, combined, *slopes]).all() or abs(expected - combined) > tolerance:
        return None
    return list(zip(params, slopes, strict=True)), intercept


def _slope(expr: Any, param: Any, value: float, base: float) -> float:
    """Change of ``expr`` when ``param`` goes up by 1 (the parameter is restored)."""
    param.set_value(value + 1.0)
    try:
        return float(pyo.value(expr)) - base
    finally:
        param.set_value(value)
