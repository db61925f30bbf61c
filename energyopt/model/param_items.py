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
from scipy import sparse

from energyopt.model.flat import scaled_leaves


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

    Read from the expression tree: sums, negations and products or quotients
    with numbers. Any other form is left to Pyomo's evaluation. On the bundled
    plants that covers every affine item; what is left are products of two
    parameters (default plant, 48 h windows at 1 h: 50 items, the CO2 price
    times the grid's CO2 intensity and demand-charge month weights times
    shares). Parameter values are never changed while reading.
    """
    leaves: list[tuple[float, Any]] = []
    if not scaled_leaves(expr, 1.0, leaves, _param_leaf, _number_factor):
        return None
    slopes: dict[int, list] = {}
    constant = 0.0
    for scale, leaf in leaves:
        if leaf.__class__ in native_numeric_types or leaf.is_constant():
            constant += scale * float(pyo.value(leaf))
        else:
            slopes.setdefault(id(leaf), [leaf, 0.0])[1] += scale
    return [(param, slope) for param, slope in slopes.values()], constant


def _param_leaf(expr: Any, scale: float, out: list) -> bool:
    """Collect a number or a parameter with its scale."""
    if expr.__class__ in native_numeric_types or expr.is_parameter_type():
        out.append((scale, expr))
        return True
    return False


def _number_factor(arg: Any) -> float | None:
    """The value of a number or constant parameter, else None."""
    if arg.__class__ in native_numeric_types or arg.is_constant():
        return float(pyo.value(arg))
    return None
