"""Declaring a model: inputs, parameters, named nodes, a loss and an example point.

A model file is plain Python::

    m = Model("chain_rule")
    x, y = m.inputs("x y")
    w = m.params("w")
    y_hat = m.node("y_hat", x * w)
    s = m.node("s", y_hat - y)
    m.loss("L", s**2)
    m.example(x=1, w=1, y=2)

Every declaration is checked when it is made, and an error names the file and line of the
declaration at fault. A ``Model`` only records; ``symgrad.derive`` is where differentiation
happens.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
import sympy
from sympy.core.function import AppliedUndef

from .errors import SymgradError, caller_location
from .names import check_name

REDUCTIONS = ("mean", "sum")


@dataclass(frozen=True)
class Variable:
    """An input (data) or a parameter (what gradients are taken with respect to by default)."""

    name: str
    symbol: sympy.Symbol
    role: str  # "input" or "param"
    where: str | None = None


@dataclass(frozen=True)
class Node:
    """A named intermediate quantity ``name = expr``; the loss is the last node."""

    name: str
    symbol: sympy.Symbol
    expr: sympy.Expr
    where: str | None = None
    is_loss: bool = False


class Model:
    """A symbolic model built by declarations; see the module docstring for an example."""

    def __init__(self, name: str):
        if not isinstance(name, str) or not name.strip():
            raise SymgradError(f"a model needs a name, got {name!r}", caller_location())
        self.name = name
        self._variables: dict[str, Variable] = {}
        self._nodes: dict[str, Node] = {}
        self._names_by_symbol: dict[sympy.Symbol, str] = {}
        self._loss: str | None = None
        self._reduction = "mean"
        self._example: dict[str, float | np.ndarray] = {}

    def __repr__(self) -> str:
        inputs = [v.name for v in self._variables.values() if v.role == "input"]
        params = [v.name for v in self._variables.values() if v.role == "param"]
        return (
            f"Model({self.name!r}: inputs {inputs}, params {params}, "
            f"{len(self._nodes)} nodes, loss {self._loss!r})"
        )

    # --- declarations ---------------------------------------------------------------------

    def inputs(self, names: str):
        """Declare data symbols. ``"x"`` gives one symbol, ``"x1 x2"`` or ``"x1:3"`` a tuple."""
        return self._declare(names, "input", caller_location())

    def params(self, names: str):
        """Declare parameters, the default variables of the gradient (``"W1:7"`` → W1…W6)."""
        return self._declare(names, "param", caller_location())

    def node(self, name: str, expr) -> sympy.Symbol:
        """Name an intermediate quantity; returns a symbol that stands for it."""
        return self._add_node(name, expr, caller_location(), is_loss=False)

    def loss(self, name: str, expr, *, reduction: str = "mean") -> sympy.Symbol:
        """Name the scalar loss. Over a batch the per-sample losses are reduced by
        ``reduction``: ``"mean"`` (PyTorch's default for its losses) or ``"sum"``."""
        where = caller_location()
        if self._loss is not None:
            raise SymgradError(
                f"model {self.name!r} already has the loss {self._loss!r}; a model has one loss",
                where,
            )
        if reduction not in REDUCTIONS:
            raise SymgradError(
                f"loss {name!r}: reduction must be one of {', '.join(REDUCTIONS)}, "
                f"got {reduction!r}",
                where,
            )
        symbol = self._add_node(name, expr, where, is_loss=True)
        self._loss = name
        self._reduction = reduction
        return symbol

    def example(self, **values) -> None:
        """The point of the worked example: a number (or an array, for a batch) per variable."""
        where = caller_location()
        for name, value in values.items():
            if name not in self._variables:
                what = "a node" if name in self._nodes else "not declared"
                raise SymgradError(
                    f"example gives {name!r}, which is {what}; "
                    "an example gives inputs and parameters",
                    where,
                )
            self._example[name] = as_value(value, f"example value for {name!r}", where)

    # --- reading ------------------------------------------------------------------------

    @property
    def variables(self) -> tuple[Variable, ...]:
        return tuple(self._variables.values())

    @property
    def nodes(self) -> tuple[Node, ...]:
        """Every node in declaration order, the loss included."""
        return tuple(self._nodes.values())

    @property
    def loss_node(self) -> Node | None:
        return self._nodes[self._loss] if self._loss else None

    @property
    def reduction(self) -> str:
        return self._reduction

    @property
    def example_point(self) -> dict[str, float | np.ndarray]:
        return dict(self._example)

    def name_of(self, symbol: sympy.Symbol) -> str:
        return self._names_by_symbol[symbol]

    # --- checks ---------------------------------------------------------------------------

    def _declare(self, names, role: str, where: str | None):
        if not isinstance(names, str):
            raise SymgradError(
                f"{role} names must be a string such as 'x1 x2', got {names!r}", where
            )
        try:
            parsed = sympy.symbols(names, real=True)
        except (ValueError, TypeError) as error:
            raise SymgradError(f"cannot read {role} names {names!r}: {error}", where) from None
        symbols = parsed if isinstance(parsed, tuple) else (parsed,)
        if not symbols:
            raise SymgradError(f"no {role} names in {names!r}", where)
        for symbol in symbols:
            self._claim(check_name(symbol.name, role, where), where)
            self._variables[symbol.name] = Variable(symbol.name, symbol, role, where)
            self._names_by_symbol[symbol] = symbol.name
        return parsed

    def _claim(self, name: str, where: str | None) -> None:
        previous = self._variables.get(name) or self._nodes.get(name)
        if previous is not None:
            kind = previous.role if isinstance(previous, Variable) else "node"
            at = f" at {previous.where}" if previous.where else ""
            raise SymgradError(f"name {name!r} is already declared as {kind}{at}", where)

    def _add_node(self, name: str, expr, where: str | None, *, is_loss: bool) -> sympy.Symbol:
        what = "loss" if is_loss else "node"
        check_name(name, what, where)
        self._claim(name, where)
        expr = self._check_expression(expr, f"{what} {name!r}", where)
        symbol = sympy.Symbol(name, real=True)
        self._nodes[name] = Node(name, symbol, expr, where, is_loss)
        self._names_by_symbol[symbol] = name
        return symbol

    def _check_expression(self, expr, what: str, where: str | None) -> sympy.Expr:
        if isinstance(expr, (list, tuple, sympy.MatrixBase, np.ndarray)):
            raise SymgradError(
                f"{what} must be a scalar expression, got a {type(expr).__name__} "
                f"of {len(expr)} entries",
                where,
            )
        if isinstance(expr, (str, bool)):
            raise SymgradError(
                f"{what} must be a SymPy expression, got the {type(expr).__name__} {expr!r}", where
            )
        try:
            expr = sympy.sympify(expr, strict=True)
        except (sympy.SympifyError, TypeError):
            raise SymgradError(
                f"{what} must be a SymPy expression, got {type(expr).__name__} {expr!r}", where
            ) from None
        if not isinstance(expr, sympy.Expr):
            raise SymgradError(
                f"{what} must be a scalar expression, got {type(expr).__name__} {expr}", where
            )
        for symbol in sorted(expr.free_symbols, key=str):
            if self._names_by_symbol.get(symbol) != getattr(symbol, "name", None):
                raise SymgradError(
                    f"{what} uses {symbol}, which this model has not declared "
                    "(declare it with m.inputs, m.params or m.node, and use the symbol it returns)",
                    where,
                )
        for applied in expr.atoms(AppliedUndef):
            raise SymgradError(
                f"{what} uses the undefined function {applied.func}; symgrad can only "
                "differentiate functions SymPy or its rule table knows",
                where,
            )
        for bad, why in (
            (sympy.I, "is not real (it contains I)"),
            (sympy.zoo, "is undefined (it contains zoo, a division by zero)"),
            (sympy.nan, "is undefined (it contains nan)"),
            (sympy.oo, "is infinite"),
            (sympy.Derivative, "contains an unevaluated Derivative"),
            (sympy.Integral, "contains an Integral"),
        ):
            if expr.has(bad):
                raise SymgradError(f"{what} {why}", where)
        return expr


def as_value(value, what: str, where: str | None = None) -> float | np.ndarray:
    """A point value as float64: a real number, or an array of them for a batch."""
    if isinstance(value, (bool, np.bool_)):
        raise SymgradError(f"{what} must be a number, got {value!r}", where)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, sympy.Expr) and value.is_number and value.is_extended_real:
        return float(value)
    try:
        array = np.asarray(value)
    except (ValueError, TypeError, RuntimeError):
        array = None
    if array is None or array.dtype.kind not in "iuf" or array.dtype == object:
        torch_value = _from_torch(value)
        if torch_value is not None:
            return torch_value
        raise SymgradError(
            f"{what} must be a real number or an array of them, got {value!r}", where
        )
    if array.ndim == 0:
        return float(array)
    return array.astype(np.float64)


def _from_torch(value) -> float | np.ndarray | None:
    """Accept torch tensors as point values without importing torch otherwise."""
    module = type(value).__module__ or ""
    if not module.startswith("torch"):
        return None
    array = value.detach().cpu().double().numpy()
    return float(array) if array.ndim == 0 else array
