"""Unrolling a small tensor model into scalars, for a worked example entry by entry.

Every matrix variable becomes one scalar per entry, named by its 1-based position: ``W`` of
2×2 gives ``W_1_1`` … ``W_2_2``; a row or column gives ``b_1`` … ``b_n``; a 1×1 keeps its name.
Every matrix node becomes one scalar node per entry, whose definition is that entry of the
matrix formula. The result is an ordinary scalar model: ``derive`` then works it the way a
lecture does by hand.
"""

from __future__ import annotations

import sympy
from sympy.matrices.expressions.matexpr import MatrixExpr

from . import tensors as T
from .errors import SymgradError
from .model import Model, Variable
from .rules import rule_for

LIMIT = 400  # entries: beyond this a worked example is no longer something to read


def entry_name(name: str, index: tuple[int, int], shape: tuple[int, int]) -> str:
    rows, cols = shape
    if (rows, cols) == (1, 1):
        return name
    if rows == 1:
        return f"{name}_{index[1] + 1}"
    if cols == 1:
        return f"{name}_{index[0] + 1}"
    return f"{name}_{index[0] + 1}_{index[1] + 1}"


def unroll(model: Model, *, limit: int = LIMIT) -> Model:
    """The scalar model with one quantity per entry of each matrix of ``model``."""
    size = sum(_size(v.shape) for v in model.variables) + sum(_size(n.shape) for n in model.nodes)
    if size > limit:
        raise SymgradError(
            f"model {model.name!r} has {size} scalar entries; unrolling is for small models "
            f"(at most {limit})"
        )
    out = Model(f"{model.name} (unrolled)")
    env: dict = {}
    for variable in model.variables:
        env[variable.symbol] = _declare(out, variable)
    for node in model.nodes:
        value = explicit(node.expr, env)
        if isinstance(value, sympy.MatrixBase):
            rows, cols = value.shape
            symbols = [
                [
                    out._add_node(  # its errors point at the matrix node's declaration
                        entry_name(node.name, (i, j), (rows, cols)),
                        value[i, j],
                        node.where,
                        is_loss=False,
                    )
                    for j in range(cols)
                ]
                for i in range(rows)
            ]
            env[node.symbol] = sympy.ImmutableMatrix(symbols)
        elif node.is_loss:
            env[node.symbol] = out.loss(node.name, value, reduction=model.reduction)
        else:
            env[node.symbol] = out._add_node(node.name, value, node.where, is_loss=False)
    point = {}
    for name, value in model.example_point.items():
        variable = next(v for v in model.variables if v.name == name)
        if not variable.shape:
            point[name] = value
            continue
        shape = T.shape_of(variable.symbol)
        for index, entry in _entries(variable, value):
            point[entry_name(name, index if len(index) == 2 else (0, index[0]), shape)] = entry
    if point:
        out.example(**point)
    return out


def entry_names(model: Model, name: str) -> list[str]:
    """The names ``unroll`` gives the entries of ``name`` (a scalar keeps its name)."""
    variable = next((v for v in model.variables if v.name == name), None)
    if variable is None or not variable.shape:
        return [name]
    rows, cols = T.shape_of(variable.symbol)
    return [entry_name(name, (i, j), (rows, cols)) for i in range(rows) for j in range(cols)]


def _size(shape) -> int:
    size = 1
    for n in shape:
        size *= n
    return size


def _declare(out: Model, variable: Variable):
    declare = out.inputs if variable.role == "input" else out.params
    if not variable.shape:
        return declare(variable.name)
    rows, cols = T.shape_of(variable.symbol)
    return sympy.ImmutableMatrix(
        [
            [declare(entry_name(variable.name, (i, j), (rows, cols))) for j in range(cols)]
            for i in range(rows)
        ]
    )


def _entries(variable: Variable, value):
    import numpy as np

    array = np.asarray(value)
    for index in np.ndindex(*variable.shape):
        yield index, float(array[index])


def explicit(expr, env: dict):
    """``expr`` with every matrix written out entry by entry (a SymPy Matrix or a scalar): each
    matrix operation by its record's ``unroll``, each scalar function as itself."""
    if isinstance(expr, sympy.MatrixSymbol):
        return env[expr]
    if isinstance(expr, sympy.Symbol):
        return env.get(expr, expr)
    rule = rule_for(expr)
    if rule is not None and rule.is_matrix:
        if rule.unroll is None:
            raise SymgradError(f"symgrad cannot unroll {rule.name}: its record has no entry form")
        return rule.unroll(expr, *[explicit(a, env) for a in expr.args])
    if isinstance(expr, T.Elementwise):
        parts = [_as_matrix_expr(explicit(a, env)) for a in expr.operands]
        rebuilt = T.Elementwise(expr.template, *parts)
        rows, cols = T.shape_of(expr)
        return sympy.ImmutableMatrix(rows, cols, lambda i, j: rebuilt._entry(i, j))
    if isinstance(expr, MatrixExpr):
        raise SymgradError(f"symgrad cannot unroll the matrix operation {type(expr).__name__}")
    if not expr.args:
        return expr
    return expr.func(*[explicit(arg, env) for arg in expr.args])


def _as_matrix_expr(value):
    """An explicit Matrix where a matrix argument is expected (for ``_entry``)."""
    if isinstance(value, sympy.MatrixBase):
        return sympy.ImmutableMatrix(value)
    return value
