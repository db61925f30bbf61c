"""The plant model as matrices for HiGHS, refreshed in place for new parameter values.

:func:`compile_model` turns a built Pyomo model into the standard form HiGHS
takes (Pyomo's ``LinearStandardFormCompiler``, mixed form)::

    min  cost @ x + offset
    s.t. row_lower <= A @ x <= row_upper,   col_lower <= x <= col_upper

A rolling horizon re-solves the same model with new mutable parameter values
(prices, PV, loads, initial state) hundreds of times. Compiling walks every
expression of the model again (about 0.3 s for 48 h at 1 h on the default
plant); :meth:`StandardForm.refresh` instead re-evaluates only what depends on
mutable parameters: the rows, objective coefficients and variable bounds that
contain one. On its first call it records those entries (each row's linear
form with coefficients kept as parameter expressions); later calls evaluate
the recorded expressions and write them into the matrices. Everything else
(sparsity, constant rows, integrality, column order) is kept from the
compile.

``refresh`` is only valid while the model's structure is unchanged: no new or
deactivated components, no fixed or unfixed variables, parameters changed in
value only. :class:`Compilation` is the one object that decides between the
two, under the contract in its docstring; the session reports changes to it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pyomo.environ as pyo
from pyomo.common.errors import InfeasibleConstraintException
from pyomo.common.gc_manager import PauseGC
from pyomo.core.expr.visitor import identify_mutable_parameters
from pyomo.repn import generate_standard_repn
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler
from scipy import sparse

from energyopt.errors import SolveError
from energyopt.model.param_items import ParamItems

#: row kinds of the mixed form: ``==``, ``<= upper``, ``>= lower``
EQUAL, UPPER, LOWER = 0, 1, -1


class TemplateUnavailable(Exception):  # noqa: N818 - internal control flow, not an error
    """The model has a form :meth:`StandardForm.refresh` cannot re-evaluate."""


@dataclasses.dataclass
class StandardForm:
    """A compiled model: matrix, bounds, costs and the variables of its columns.

    ``row_kind`` per row: 0 equality (``A x == rhs``), 1 ``A x <= rhs``,
    -1 ``A x >= rhs``. Costs in the model's objective unit [EUR].
    """

    model: pyo.ConcreteModel
    columns: list
    row_constraints: list
    row_kind: np.ndarray
    matrix: sparse.csc_matrix
    rhs: np.ndarray
    cost: np.ndarray
    offset: float
    col_lower: np.ndarray
    col_upper: np.ndarray
    is_integer: np.ndarray
    _template: _Template | None = None

    @property
    def row_lower(self) -> np.ndarray:
        """Lower row bounds (-inf where none)."""
        return np.where(self.row_kind <= 0, self.rhs, -np.inf)

    @property
    def row_upper(self) -> np.ndarray:
        """Upper row bounds (+inf where none)."""
        return np.where(self.row_kind >= 0, self.rhs, np.inf)

    def refresh(self) -> bool:
        """Re-evaluate the parameter-dependent entries after a parameter update.

        Returns False (and changes nothing) when the model holds a form the
        refresh cannot follow (a parameter-dependent term on a variable that
        is no column); compile it again then.

        Raises
        ------
        InfeasibleConstraintException
            A constraint without variables is violated by the new values.
        """
        if self._template is None:
            try:
                self._template = _Template.record(self)
            except TemplateUnavailable:
                return False
        self._template.apply(self)
        return True


class Compilation:
    """The compile-and-refresh path of one model: the only owner of its matrices.

    Contract
    --------
    :meth:`form` returns the standard form of the model as it is now. Between
    two calls the owner of the model reports what it changed:

    * :meth:`parameters_changed` -- only values of mutable parameters changed
      (a new window's prices, forecasts, initial state). :meth:`form` then
      refreshes the parameter-dependent entries in place: the same object,
      the same sparsity, rows and columns in the same order.
    * :meth:`structure_changed` -- anything else: components added, removed,
      activated or deactivated, variables fixed or unfixed, the objective
      replaced. :meth:`form` compiles afresh.
    * nothing reported, or both -- compiled afresh (a model changed by hand
      is never refreshed on trust).

    A model whose parameters enter in a form the refresh cannot follow (a
    coefficient that was zero at the compile, so its variable is no column)
    is compiled on every call from then on (:attr:`refreshable` is False).
    """

    def __init__(self, model: pyo.ConcreteModel) -> None:
        self.model = model
        self.current: StandardForm | None = None
        self.refreshable = True
        self._params_only = False
        self._structure = False
        self._size: dict[str, int] | None = None

    def parameters_changed(self) -> None:
        """Report that mutable parameter values changed (and nothing else)."""
        self._params_only = True

    def structure_changed(self) -> None:
        """Report any other change of the model."""
        self._structure = True

    def form(self) -> StandardForm:
        """The model's standard form now (refreshed or compiled, see the contract).

        Raises
        ------
        InfeasibleConstraintException
            A constraint without variables cannot hold.
        """
        form = self.current
        refresh = form is not None and self._params_only and not self._structure
        if form is not None and refresh and self.refreshable and form.refresh():
            self._params_only = False
            return form
        if refresh:  # a refresh was due and could not follow the model
            self.refreshable = False
        form = self.current = compile_model(self.model)
        self._size = None
        self._params_only = self._structure = False
        return form

    def size(self) -> dict[str, int]:
        """Counts of variables, constraints and binaries (kept while only parameters change)."""
        if self._size is None:
            m = self.model
            binaries = sum(1 for v in m.component_data_objects(pyo.Var) if v.is_binary())
            self._size = {
                "n_variables": m.nvariables(),
                "n_constraints": m.nconstraints(),
                "n_binaries": binaries,
            }
        return dict(self._size)


def compile_model(model: pyo.ConcreteModel) -> StandardForm:
    """Compile ``model`` (one objective, minimised) to its standard form.

    Raises
    ------
    InfeasibleConstraintException
        A constraint without variables cannot hold.
    SolveError
        The model has a maximised objective or the compiler eliminated a variable.
    """
    with PauseGC():
        repn = LinearStandardFormCompiler().write(model, mixed_form=True, set_sense=None)
    if repn.eliminated_vars:
        raise SolveError("the model compiler eliminated variables; cannot map the solution")
    if any(o.sense != pyo.minimize for o in repn.objectives):
        raise SolveError("the plant objective must be minimised")
    columns = list(repn.columns)
    return StandardForm(
        model=model,
        columns=columns,
        row_constraints=[row.constraint for row in repn.rows],
        row_kind=np.array([row.bound_type for row in repn.rows], dtype=int),
        matrix=repn.A.tocsc(),
        rhs=np.asarray(repn.rhs, dtype=float),
        cost=np.asarray(repn.c.toarray()[0], dtype=float),
        offset=float(repn.c_offset[0]),
        col_lower=np.array([-np.inf if v.lb is None else v.lb for v in columns], dtype=float),
        col_upper=np.array([np.inf if v.ub is None else v.ub for v in columns], dtype=float),
        is_integer=np.array([v.is_integer() for v in columns], dtype=bool),
    )


def _has_params(*exprs: Any) -> bool:
    """True if any expression contains a mutable parameter."""
    return any(
        e is not None and next(identify_mutable_parameters(e), None) is not None for e in exprs
    )


def _varies(bound: Any) -> bool:
    """True if a variable bound is a parameter expression (not a number or None)."""
    return bound is not None and not isinstance(bound, int | float) and not bound.is_constant()


@dataclasses.dataclass
class _Template:
    """Where parameters enter a compiled model, and how to re-evaluate them."""

    param_rows: np.ndarray  # rows rebuilt from their recorded linear forms
    coefficients: ParamItems  # per entry of the rebuilt rows
    constants: ParamItems  # per rebuilt row: the body's constant
    bounds: ParamItems  # per rebuilt row: the bound its rhs comes from
    fixed_data: np.ndarray  # matrix entries of the other rows (never change)
    order: np.ndarray  # position of each combined entry in the CSC data
    cost_columns: np.ndarray
    cost_items: ParamItems
    cost_base: np.ndarray  # cost without the recorded parameter-dependent terms
    offset_item: Any
    lower_columns: np.ndarray
    upper_columns: np.ndarray
    constant_checks: list  # constraints without variables: (lower, body, upper)

    @classmethod
    def record(cls, form: StandardForm) -> _Template:
        """Find the parameter-dependent entries of ``form`` (its current values are kept)."""
        position = {id(v): j for j, v in enumerate(form.columns)}
        rows, coefficients, constants, bounds, entry_rows, entry_cols = [], [], [], [], [], []
        for i, (con, kind) in enumerate(zip(form.row_constraints, form.row_kind, strict=True)):
            lower, body, upper = con.to_bounded_expression()
            if not _has_params(lower, body, upper):
                continue
            repn = generate_standard_repn(body, compute_values=False, quadratic=False)
            rows.append(i)
            for var, coefficient in zip(repn.linear_vars, repn.linear_coefs, strict=True):
                entry_rows.append(i)
                entry_cols.append(_column(position, var))
                coefficients.append(coefficient)
            constants.append(repn.constant)
            bounds.append(lower if kind == LOWER else upper)
        # the objective first: it may still give up, and the layout changes the matrix
        cost_columns, cost_items, cost_base, offset_item = _objective_terms(form, position)
        fixed_data, order = _matrix_layout(form.matrix, rows, entry_rows, entry_cols)
        return cls(
            param_rows=np.array(rows, dtype=int),
            coefficients=ParamItems.of(coefficients),
            constants=ParamItems.of(constants),
            bounds=ParamItems.of(bounds),
            fixed_data=fixed_data,
            order=order,
            cost_columns=cost_columns,
            cost_items=ParamItems.of(cost_items),
            cost_base=cost_base,
            offset_item=offset_item,
            lower_columns=np.array(
                [j for j, v in enumerate(form.columns) if _varies(v.lower)], dtype=int
            ),
            upper_columns=np.array(
                [j for j, v in enumerate(form.columns) if _varies(v.upper)], dtype=int
            ),
            constant_checks=_constant_constraints(form),
        )

    def apply(self, form: StandardForm) -> None:
        """Write the current parameter values into ``form``."""
        self._check_constant_constraints()
        data = np.concatenate([self.fixed_data, self.coefficients.evaluate()])
        form.matrix.data = data[self.order]
        form.rhs[self.param_rows] = self.bounds.evaluate() - self.constants.evaluate()
        form.cost = self.cost_base.copy()
        np.add.at(form.cost, self.cost_columns, self.cost_items.evaluate())
        form.offset = float(pyo.value(self.offset_item))
        columns = form.columns
        form.col_lower[self.lower_columns] = [
            _bound(columns[j].lb, -np.inf) for j in self.lower_columns
        ]
        form.col_upper[self.upper_columns] = [
            _bound(columns[j].ub, np.inf) for j in self.upper_columns
        ]

    def _check_constant_constraints(self) -> None:
        for con in self.constant_checks:
            lower, body, upper = con.to_bounded_expression()
            value = pyo.value(body)
            tolerance = 1e-9 * max(1.0, abs(value))
            if (lower is not None and pyo.value(lower) > value + tolerance) or (
                upper is not None and pyo.value(upper) < value - tolerance
            ):
                msg = f"model contains a trivially infeasible constraint, '{con.name}'"
                raise InfeasibleConstraintException(msg)


def _bound(value: float | None, default: float) -> float:
    return default if value is None else value


def _column(position: dict[int, int], var: Any) -> int:
    try:
        return position[id(var)]
    except KeyError:
        raise TemplateUnavailable(var.name) from None


def _matrix_layout(
    matrix: sparse.csc_matrix, rows: list[int], entry_rows: list[int], entry_cols: list[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Entries of the rows that stay, and where every entry lands in the CSC data.

    The matrix keeps the entries of parameter-free rows as compiled and gets
    those of the recorded rows appended; its sparsity is fixed from here on
    (a recorded coefficient that evaluates to zero stays an explicit zero).
    """
    coo = matrix.tocoo()
    keep = ~np.isin(coo.row, np.asarray(rows, dtype=int))
    all_rows = np.concatenate([coo.row[keep], np.asarray(entry_rows, dtype=int)])
    all_cols = np.concatenate([coo.col[keep], np.asarray(entry_cols, dtype=int)])
    tags = np.arange(1, all_rows.size + 1, dtype=float)
    layout = sparse.csc_matrix((tags, (all_rows, all_cols)), shape=matrix.shape)
    layout.sort_indices()
    if layout.nnz != all_rows.size:
        raise TemplateUnavailable("a row holds the same variable twice")
    order = layout.data.astype(np.int64) - 1
    matrix.indices, matrix.indptr = layout.indices, layout.indptr
    return coo.data[keep], order


def _objective_terms(form: StandardForm, position: dict[int, int]) -> tuple:
    """Parameter-dependent cost coefficients and the constant of the objective."""
    objective = next(form.model.component_data_objects(pyo.Objective, active=True))
    repn = generate_standard_repn(objective.expr, compute_values=False, quadratic=False)
    columns, items = [], []
    base = np.zeros(len(form.columns))
    for var, coefficient in zip(repn.linear_vars, repn.linear_coefs, strict=True):
        j = _column(position, var)
        if _has_params(coefficient):
            columns.append(j)
            items.append(coefficient)
        else:
            base[j] += pyo.value(coefficient)
    return np.array(columns, dtype=int), items, base, repn.constant


def _constant_constraints(form: StandardForm) -> list:
    """Active constraints the compiler left out because they hold no variable."""
    compiled = {id(c) for c in form.row_constraints}
    return [
        con
        for con in form.model.component_data_objects(pyo.Constraint, active=True)
        if id(con) not in compiled and con.has_lb() | con.has_ub()
    ]
