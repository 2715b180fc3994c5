"""Unrolling a small tensor model into scalars, for a worked example entry by entry.

Every matrix variable becomes one scalar per entry, named by its 1-based position: ``W`` of
2×2 gives ``W_1_1`` … ``W_2_2``; a row or column gives ``b_1`` … ``b_n``; a 1×1 keeps its name.
Every matrix node becomes one scalar node per entry, whose definition is that entry of the
matrix formula. The result is an ordinary scalar model: ``derive`` then works it the way a
lecture does by hand.
"""

from __future__ import annotations

import numpy as np
import sympy
from sympy.matrices.expressions.matexpr import MatrixExpr

from . import tensors as T
from .errors import SymgradError
from .model import Model, Variable
from .rules import rule_for

LIMIT = 400  # entries: beyond this a worked example is no longer something to read


def entry_name(name: str, index: tuple[int, ...], shape: tuple[int, ...]) -> str:
    """``W_2_1`` for the entry (1, 0) of a matrix; an axis of size 1 is not named (a row's
    entries are ``b_1`` … ``b_n``), and a single entry keeps the name."""
    picked = [str(k + 1) for k, n in zip(index, shape, strict=True) if n > 1]
    return "_".join([name, *picked])


def unroll(model: Model, *, limit: int = LIMIT) -> Model:
    """The scalar model with one quantity per entry of each array of ``model``."""
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
        if isinstance(value, np.ndarray):
            cells = np.empty(value.shape, dtype=object)
            for index in np.ndindex(*value.shape):
                cells[index] = out._add_node(  # its errors point at the array node's line
                    entry_name(node.name, index, value.shape), value[index], node.where,
                    is_loss=False,
                )  # fmt: skip
            env[node.symbol] = cells
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
        array = np.asarray(value)
        for index in np.ndindex(*variable.shape):
            point[entry_name(name, index, variable.shape)] = float(array[index])
    if point:
        out.example(**point)
    return out


def entry_names(model: Model, name: str) -> list[str]:
    """The names ``unroll`` gives the entries of ``name`` (a scalar keeps its name)."""
    variable = next((v for v in model.variables if v.name == name), None)
    if variable is None or not variable.shape:
        return [name]
    return [entry_name(name, index, variable.shape) for index in np.ndindex(*variable.shape)]


def _size(shape) -> int:
    return int(np.prod(shape)) if shape else 1


def _declare(out: Model, variable: Variable):
    declare = out.inputs if variable.role == "input" else out.params
    if not variable.shape:
        return declare(variable.name)
    cells = np.empty(variable.shape, dtype=object)
    for index in np.ndindex(*variable.shape):
        cells[index] = declare(entry_name(variable.name, index, variable.shape))
    return cells


def explicit(expr, env: dict):
    """``expr`` written out entry by entry: a scalar formula, or a NumPy array (of objects) of
    scalar formulas in the expression's shape. Each array operation is written out by its
    record's ``unroll``, each scalar function as itself."""
    if isinstance(expr, (sympy.MatrixSymbol, T.ArraySymbol)):
        return env[expr]
    if isinstance(expr, sympy.Symbol):
        return env.get(expr, expr)
    if isinstance(expr, T.Elementwise):
        operands = [explicit(a, env) for a in expr.operands]
        shape = T.shape_of(expr)
        cells = np.empty(shape, dtype=object)
        spread = [np.broadcast_to(o, shape) if isinstance(o, np.ndarray) else o for o in operands]
        for index in np.ndindex(*shape):
            cells[index] = expr.template(
                *[o[index] if isinstance(o, np.ndarray) else o for o in spread]
            )
        return cells
    rule = rule_for(expr)
    if rule is not None and rule.is_matrix:
        if rule.unroll is None:
            raise SymgradError(f"symgrad cannot unroll {rule.name}: its record has no entry form")
        return rule.unroll(expr, *[explicit(a, env) for a in expr.args])
    if isinstance(expr, MatrixExpr):
        raise SymgradError(f"symgrad cannot unroll the array operation {type(expr).__name__}")
    if not expr.args:
        return expr
    return expr.func(*[explicit(arg, env) for arg in expr.args])
