"""Flat linear expressions: built in one step, compiled without a deep walk.

Pyomo builds ``a + b + c`` term by term and wraps named expressions, sums and
products in nested nodes; compiling the model to matrices then walks every
node of every row. A row built as one :class:`LinearExpression` of
coefficient-variable terms compiles several times faster. :func:`linear_sum`
builds such a row from ``(coefficient, variable)`` pairs;
:func:`flat_sum` flattens a sum of linear expressions (named expressions,
sums, negations, products and quotients with constants) into one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pyomo.common.numeric_types import native_numeric_types
from pyomo.core.expr.numeric_expr import (
    DivisionExpression,
    LinearExpression,
    MonomialTermExpression,
    NegationExpression,
    ProductExpression,
    SumExpression,
)


def linear_sum(terms: Iterable[tuple[float, Any]]) -> Any:
    """``sum(coefficient * variable)`` as one flat linear expression.

    Coefficients are numbers (parameters belong on the other side of the
    relation, or in :func:`flat_sum`). Terms on the same variable are merged;
    a number in place of a variable adds ``coefficient * number`` to the
    constant.
    """
    merged: dict[int, list] = {}
    constant = 0.0
    for coefficient, var in terms:
        if var.__class__ in native_numeric_types:
            constant += coefficient * var
        else:
            merged.setdefault(id(var), [var, 0.0])[1] += coefficient
    args: list[Any] = [constant] if constant else []
    for var, coefficient in merged.values():
        if coefficient == 1.0:
            args.append(var)
        elif coefficient != 0.0:
            args.append(MonomialTermExpression((coefficient, var)))
    return LinearExpression(args) if args else 0.0


def flat_sum(exprs: Iterable[Any]) -> Any:
    """The sum of ``exprs`` as one flat linear expression.

    Falls back to the plain sum when a term holds a form not read here (a
    product of variables, say): the model stays the same, only less flat.
    """
    exprs = list(exprs)
    args: list[Any] = []
    if all(_append_terms(expr, 1, args) for expr in exprs):
        return LinearExpression(args)
    return sum(exprs)


def _append_terms(expr: Any, scale: Any, args: list[Any]) -> bool:
    """Append the terms of ``scale * expr`` to ``args``; False for an unread form."""
    if expr.__class__ in native_numeric_types:
        if expr:
            args.append(scale * expr)
        return True
    if expr.is_variable_type():
        args.append(expr if _is_one(scale) else MonomialTermExpression((scale, expr)))
        return True
    if not expr.is_potentially_variable():  # a parameter or an expression of them
        args.append(expr if _is_one(scale) else scale * expr)
        return True
    if expr.is_named_expression_type():
        return _append_terms(expr.expr, scale, args)
    if isinstance(expr, MonomialTermExpression):
        coefficient, var = expr.args
        args.append(
            MonomialTermExpression((coefficient if _is_one(scale) else scale * coefficient, var))
        )
        return True
    if isinstance(expr, SumExpression):  # LinearExpression included
        return all(_append_terms(arg, scale, args) for arg in expr.args)
    if isinstance(expr, NegationExpression):
        return _append_terms(expr.args[0], -scale, args)
    if isinstance(expr, ProductExpression):
        left, right = expr.args
        if _is_constant(left):
            return _append_terms(right, left if _is_one(scale) else scale * left, args)
        if _is_constant(right):
            return _append_terms(left, right if _is_one(scale) else scale * right, args)
        return False
    if isinstance(expr, DivisionExpression) and _is_constant(expr.args[1]):
        return _append_terms(expr.args[0], scale / expr.args[1], args)
    return False


def _is_one(scale: Any) -> bool:
    """True for the number 1 (a parameter expression is never compared: Pyomo would
    build a relation from ``==``)."""
    return scale.__class__ in native_numeric_types and scale == 1


def _is_constant(arg: Any) -> bool:
    """A number or an expression of parameters only."""
    return arg.__class__ in native_numeric_types or not arg.is_potentially_variable()
