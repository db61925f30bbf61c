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

from collections.abc import Callable, Iterable
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
    if all(scaled_leaves(expr, 1, args, _linear_leaf, _constant_factor) for expr in exprs):
        return LinearExpression(args)
    return sum(exprs)


def scaled_leaves(
    expr: Any,
    scale: Any,
    out: list,
    take_leaf: Callable[[Any, Any, list], bool],
    factor: Callable[[Any], Any],
) -> bool:
    """Hand every leaf of ``scale * expr`` to ``take_leaf(leaf, scale, out)``.

    ``expr`` is read as a tree of sums, negations, named expressions, and
    products and quotients with a factor (``factor(arg)`` returns the factor's
    value, or None when ``arg`` is not one); ``take_leaf`` returns False for a
    node that is not a leaf. Returns False at any other node (``out`` then
    holds a partial list).
    """
    if take_leaf(expr, scale, out):
        return True
    if expr.__class__ in native_numeric_types:
        return False
    if expr.is_named_expression_type():
        return scaled_leaves(expr.expr, scale, out, take_leaf, factor)
    if isinstance(expr, SumExpression):  # LinearExpression included
        for arg in expr.args:  # noqa: SIM110 - a plain loop: all() over a generator is slower here
            if not scaled_leaves(arg, scale, out, take_leaf, factor):
                return False
        return True
    if isinstance(expr, NegationExpression):
        return scaled_leaves(expr.args[0], -scale, out, take_leaf, factor)
    if isinstance(expr, ProductExpression):  # MonomialTermExpression included
        left, right = expr.args
        value = factor(left)
        if value is not None:
            return scaled_leaves(right, _times(scale, value), out, take_leaf, factor)
        value = factor(right)
        if value is not None:
            return scaled_leaves(left, _times(scale, value), out, take_leaf, factor)
        return False
    if isinstance(expr, DivisionExpression):
        divisor = factor(expr.args[1])
        if divisor is not None and not _is_zero(divisor):
            return scaled_leaves(expr.args[0], scale / divisor, out, take_leaf, factor)
    return False


def _linear_leaf(expr: Any, scale: Any, out: list) -> bool:
    """Append a number, a variable or a term without variables, scaled, as a
    ``LinearExpression`` argument; False for anything else."""
    if expr.__class__ in native_numeric_types:
        if expr:
            out.append(scale * expr)
        return True
    if expr.is_variable_type():
        out.append(expr if _is_one(scale) else MonomialTermExpression((scale, expr)))
        return True
    if not expr.is_potentially_variable():
        out.append(expr if _is_one(scale) else scale * expr)
        return True
    return False


def _constant_factor(arg: Any) -> Any:
    """``arg`` when it holds no variable (a number or parameter expression), else None."""
    if arg.__class__ in native_numeric_types or not arg.is_potentially_variable():
        return arg
    return None


def _times(scale: Any, value: Any) -> Any:
    if _is_one(scale):
        return value
    return scale if _is_one(value) else scale * value


def _is_zero(value: Any) -> bool:
    return value.__class__ in native_numeric_types and value == 0


def _is_one(scale: Any) -> bool:
    """True for the number 1 (a parameter expression is never compared: Pyomo would
    build a relation from ``==``)."""
    return scale.__class__ in native_numeric_types and scale == 1
