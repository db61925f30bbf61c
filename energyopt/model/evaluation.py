"""Repeated evaluation of a model's linear expressions after each solve.

Reading a plan evaluates thousands of Pyomo expressions (net injections, heat
drawn by an oven, ...); Pyomo walks each expression tree on every call. A
rolling horizon reads the same expressions of the same model after every
window, so :class:`LinearValues` turns a list of linear expressions into a
sparse matrix over their variables once (coefficients and constants that
contain mutable parameters are kept and evaluated each time, see
:mod:`energyopt.model.param_items`) and evaluates it as ``matrix @ x + constant``.

:func:`reading` switches this on for the code inside the ``with`` block:
:func:`energyopt.assets.base.values` then evaluates expression components and
mappings through the cache it is given.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pyomo.environ as pyo
from pyomo.common.numeric_types import native_numeric_types
from pyomo.repn import generate_standard_repn
from scipy import sparse

from energyopt.model.param_items import ParamItems

_CACHE: contextvars.ContextVar[dict | None] = contextvars.ContextVar("linear_values", default=None)


class LinearValues:
    """Values of a fixed list of expressions, linear in the model's variables."""

    def __init__(self, exprs: Sequence[Any]) -> None:
        self.variables: list = []
        self.other: list[tuple[int, Any]] = []  # not linear: evaluated as they are
        rows, cols, data, constants = [], [], [], []
        param_entries, param_coefficients = [], []
        position: dict[int, int] = {}
        for i, expr in enumerate(exprs):
            if expr.__class__ in native_numeric_types:
                constants.append(expr)
                continue
            repn = generate_standard_repn(expr, compute_values=False, quadratic=False)
            if repn.nonlinear_expr is not None:
                self.other.append((i, expr))
                constants.append(0.0)
                continue
            for var, coefficient in zip(repn.linear_vars, repn.linear_coefs, strict=True):
                j = position.setdefault(id(var), len(self.variables))
                if j == len(self.variables):
                    self.variables.append(var)
                if coefficient.__class__ in native_numeric_types:
                    rows.append(i)
                    cols.append(j)
                    data.append(coefficient)
                else:
                    param_entries.append((i, j))
                    param_coefficients.append(coefficient)
            constants.append(repn.constant)
        shape = (len(exprs), len(self.variables))
        self.matrix = sparse.csr_matrix((data, (rows, cols)), shape=shape)
        self.constants = ParamItems.of(constants)
        self.coefficients = ParamItems.of(param_coefficients)
        entries = np.array(param_entries, dtype=int).reshape(-1, 2)
        self.coefficient_rows, self.coefficient_columns = entries[:, 0], entries[:, 1]

    @property
    def size(self) -> int:
        """Number of expressions."""
        return self.matrix.shape[0]

    def evaluate(self) -> np.ndarray:
        """Current values [the expressions' unit]; NaN where a variable has no value."""
        found = [v.value for v in self.variables]
        x = np.array([np.nan if v is None else v for v in found], dtype=float)
        out = self.matrix @ x + self.constants.evaluate()
        if self.coefficient_rows.size:
            terms = self.coefficients.evaluate() * x[self.coefficient_columns]
            np.add.at(out, self.coefficient_rows, terms)
        for i, expr in self.other:
            out[i] = pyo.value(expr)
        return out


@contextlib.contextmanager
def reading(cache: dict | None) -> Iterator[None]:
    """Evaluate expression components through ``cache`` inside the block (None: off).

    ``cache`` maps ``id(component)`` to ``(component, LinearValues)``; it must
    live as long as the model (e.g. on its :class:`~energyopt.model.PlantSession`).
    """
    token = _CACHE.set(cache)
    try:
        yield
    finally:
        _CACHE.reset(token)


def cached_values(component: Any, n_steps: int) -> np.ndarray | None:
    """Values of ``component[0 .. n_steps-1]`` through the active cache, or None if off."""
    cache = _CACHE.get()
    if cache is None:
        return None
    entry = cache.get(id(component))
    if entry is None or entry[0] is not component or entry[1].size != n_steps:
        entry = (component, LinearValues([component[t] for t in range(n_steps)]))
        cache[id(component)] = entry
    return entry[1].evaluate()
