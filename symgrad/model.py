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
from sympy.core.function import Application, AppliedUndef
from sympy.matrices.expressions.matexpr import MatrixExpr

from .as_written import as_written
from .domains import Domain, as_domain
from .errors import SymgradError, caller_location
from .names import check_name
from .rules import canonical, rule_for
from .tensors import (
    MAX_RANK,
    Tensor,
    Total,
    array_symbol,
    check_shapes,
    elementwise,
    shape_of,
    show_shape,
    unwrap,
)

REDUCTIONS = ("mean", "sum")


@dataclass(frozen=True)
class Variable:
    """An input (data) or a parameter (what gradients are taken with respect to by default)."""

    name: str
    symbol: sympy.Symbol | sympy.MatrixSymbol
    role: str  # "input" or "param"
    where: str | None = None
    shape: tuple[int, ...] = ()  # as declared: () a scalar, (n,) a row vector, (r, c) a matrix
    domain: Domain | None = None  # where its values may lie, when the model says

    @property
    def is_tensor(self) -> bool:
        return bool(self.shape)


@dataclass(frozen=True)
class Node:
    """A named intermediate quantity ``name = expr``; the loss is the last node."""

    name: str
    symbol: sympy.Symbol | sympy.MatrixSymbol
    expr: sympy.Expr
    where: str | None = None
    is_loss: bool = False
    written: sympy.Expr | None = None  # expr in the author's order of terms, where it differs

    @property
    def shape(self) -> tuple[int, ...]:
        return shape_of(self.symbol)


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
        # the code a front end traced the model from (from_torch): it runs that code at any
        # point, so verify can judge the code's own gradient
        self.origin = None

    def __repr__(self) -> str:
        inputs = [v.name for v in self._variables.values() if v.role == "input"]
        params = [v.name for v in self._variables.values() if v.role == "param"]
        return (
            f"Model({self.name!r}: inputs {inputs}, params {params}, "
            f"{len(self._nodes)} nodes, loss {self._loss!r})"
        )

    # --- declarations ---------------------------------------------------------------------

    def inputs(self, names: str, *, domain=None):
        """Declare data symbols. ``"x"`` gives one symbol, ``"x1 x2"`` or ``"x1:3"`` a tuple.

        ``domain`` says where their values lie, for the verifier's random points: a name
        (``"positive"``, ``"nonnegative"``, ``"probability"`` for (0, 1), ``"unit"`` for
        [0, 1], ``"binary"``, …) or a closed interval ``(low, high)``.
        """
        return self._declare(names, "input", caller_location(), domain)

    def params(self, names: str, *, domain=None):
        """Declare parameters, the default variables of the gradient (``"W1:7"`` → W1…W6);
        ``domain`` as for ``inputs``."""
        return self._declare(names, "param", caller_location(), domain)

    def input(self, name: str, shape: tuple[int, ...] | int | None = None, *, domain=None):
        """Declare one data symbol with a shape: ``()`` a scalar, ``(n,)`` a vector, ``(r, c)`` a
        matrix, up to rank 4; anything but a scalar is a ``Tensor``, a NumPy array of its
        shape."""
        return self._declare_one(name, "input", shape, caller_location(), domain)

    def param(self, name: str, shape: tuple[int, ...] | int | None = None, *, domain=None):
        """Declare one parameter with a shape (see ``input``)."""
        return self._declare_one(name, "param", shape, caller_location(), domain)

    def node(self, name: str, expr):
        """Name an intermediate quantity; returns a symbol (a ``Tensor`` for a matrix) that
        stands for it."""
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

    def example(self, random: int | None = None, **values) -> None:
        """The point of the worked example: a number (or an array, for a batch) per scalar
        variable, an array of its shape per tensor. ``random=SEED`` fills every variable not
        given with standard normal values drawn by ``numpy.random.default_rng(SEED)``."""
        where = caller_location()
        for name, value in values.items():
            if name not in self._variables:
                what = "a node" if name in self._nodes else "not declared"
                raise SymgradError(
                    f"example gives {name!r}, which is {what}; "
                    "an example gives inputs and parameters",
                    where,
                )
            variable = self._variables[name]
            self._example[name] = as_value(
                value, f"example value for {name!r}", where, shape=variable.shape or None
            )
            if not np.all(np.isfinite(self._example[name])):  # a worked example of NaNs
                raise SymgradError(
                    f"example value for {name!r} is not finite ({value!r:.40}); give numbers",
                    where,
                )
            if variable.domain is not None and not variable.domain.contains(self._example[name]):
                raise SymgradError(
                    f"example value for {name!r} lies outside its domain {variable.domain}",
                    where,
                )
        if random is not None:
            rng = np.random.default_rng(random)
            for variable in self._variables.values():
                if variable.name not in values:
                    if variable.domain is not None and variable.domain.name != "real":
                        draw = variable.domain.sample(rng, variable.shape)
                    elif variable.shape:
                        draw = rng.standard_normal(variable.shape)
                    else:
                        draw = rng.standard_normal()
                    self._example[variable.name] = as_value(draw, variable.name, where)

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

    def symbol(self, name: str):
        """The SymPy symbol of a declared variable or node."""
        item = self._variables.get(name) or self._nodes.get(name)
        if item is None:
            raise SymgradError(f"model {self.name!r} declares no {name!r}")
        return item.symbol

    # --- checks ---------------------------------------------------------------------------

    def _declare(self, names, role: str, where: str | None, domain=None):
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
        domain = None if domain is None else as_domain(domain, f"{role} {names!r}", where)
        for symbol in symbols:
            self._claim(check_name(symbol.name, role, where), where)
            self._variables[symbol.name] = Variable(symbol.name, symbol, role, where, domain=domain)
            self._names_by_symbol[symbol] = symbol.name
        return parsed

    def _declare_one(self, name, role: str, shape, where: str | None, domain=None):
        check_name(name, role, where)
        self._claim(name, where)
        shape = _check_shape(shape, f"{role} {name!r}", where)
        domain = None if domain is None else as_domain(domain, f"{role} {name!r}", where)
        symbol = array_symbol(name, shape)
        self._variables[name] = Variable(name, symbol, role, where, shape, domain)
        self._names_by_symbol[symbol] = name
        is_labels = role == "input" and domain is not None and domain.is_labels
        return Tensor(symbol, is_labels) if shape else symbol

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
        if is_loss and isinstance(expr, MatrixExpr):
            shape = shape_of(expr)
            if any(n != 1 for n in shape):
                raise SymgradError(
                    f"loss {name!r} must be a scalar; it has shape {show_shape(shape)} "
                    "(reduce it with sum, mean or sum_squares)",
                    where,
                )
            expr = Total(expr)  # a result with a single entry counts as a scalar
        symbol = array_symbol(name, shape_of(expr))
        self._nodes[name] = Node(name, symbol, expr, where, is_loss, as_written(expr))
        self._names_by_symbol[symbol] = name
        return Tensor(symbol) if isinstance(symbol, MatrixExpr) else symbol

    def _check_expression(self, expr, what: str, where: str | None) -> sympy.Expr:
        expr = unwrap(expr)
        if isinstance(expr, MatrixExpr):
            return self._check_matrix_expression(expr, what, where)
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
        if any(isinstance(e, MatrixExpr) for e in sympy.preorder_traversal(expr)):
            return self._check_matrix_expression(expr, what, where)
        self._check_symbols_and_functions(expr, what, where)
        return canonical(expr)

    def _check_matrix_expression(self, expr, what: str, where: str | None):
        """A matrix expression, or a scalar one built from matrices (a trace, a sum)."""
        # SymPy applies a scalar function to a matrix symbol without complaint (tanh(X)), and
        # then takes 1 + tanh(X) for a scalar sum: make both what they must mean, as in NumPy,
        # entry by entry (bottom up, so the sum sees the function's matrix).
        expr = expr.replace(
            lambda e: (
                isinstance(e, (Application, sympy.Add, sympy.Mul, sympy.Pow))
                and not isinstance(e, MatrixExpr)
                and any(isinstance(a, MatrixExpr) for a in e.args)
            ),
            lambda e: elementwise(e.func, *e.args, what=f"{e.func.__name__} in {what}"),
        )
        if isinstance(expr, sympy.MatrixBase):  # whose own replace acts entry by entry
            expr = _as_array_operations(expr)
        expr = expr.replace(lambda e: isinstance(e, MatrixExpr), _as_array_operations)
        for node in sympy.preorder_traversal(expr):
            if isinstance(node, sympy.MatPow) and not node.exp.is_Integer:
                raise SymgradError(
                    f"{what}: matrix power {node}; symgrad takes A**n for whole n (and inv(A))",
                    where,
                )
        try:
            check_shapes(expr, what)
        except SymgradError as error:
            raise SymgradError(error.message, where) from None
        self._check_symbols_and_functions(expr, what, where)
        return canonical(expr)

    def _check_symbols_and_functions(self, expr, what: str, where: str | None) -> None:
        for symbol in sorted(expr.free_symbols, key=str):
            if self._names_by_symbol.get(symbol) != getattr(symbol, "name", None):
                raise SymgradError(
                    f"{what} uses {symbol}, which this model has not declared "
                    "(declare it with m.inputs, m.params or m.node, and use the symbol it returns)",
                    where,
                )
        for applied in expr.atoms(AppliedUndef):
            raise SymgradError(
                f"{what} uses the undefined function {applied.func}; declare a function of your "
                f"own with symgrad.primitive({str(applied.func)!r}, definition)",
                where,
            )
        for applied in expr.atoms(Application):
            if rule_for(applied) is None and not isinstance(applied, sympy.logic.boolalg.Boolean):
                name = applied.func.__name__
                raise SymgradError(
                    f"{what} uses {name}, which symgrad has no rule for; use one of symgrad's "
                    f"functions (symgrad rules lists them) or declare it with "
                    f"symgrad.primitive({name!r}, definition)",
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


def _as_array_operations(expr):
    """SymPy's spellings of what symgrad has array operations for: an explicit Matrix (of numbers
    or expressions) as the stack of its entries, ``X.applyfunc(f)`` and a Hadamard power as
    entry-by-entry functions, a power of a 1×1 matrix as the power of its entry."""
    from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

    from .tensors import stack

    if isinstance(expr, sympy.MatrixBase):
        rows = [stack(list(row)) for row in expr.tolist()]
        return unwrap(stack(rows))
    if isinstance(expr, ElementwiseApplyFunction):
        return elementwise(expr.function, expr.expr, what=str(expr))
    if isinstance(expr, sympy.HadamardPower):
        return elementwise(lambda a, n: a**n, expr.base, expr.exp, what=str(expr))
    if isinstance(expr, sympy.MatPow) and not expr.exp.is_Integer and shape_of(expr.base) == (1, 1):
        return elementwise(lambda a, n: a**n, expr.base, expr.exp, what=str(expr))
    return expr


def _check_shape(shape, what: str, where: str | None) -> tuple[int, ...]:
    if shape is None:
        return ()
    if isinstance(shape, (int, sympy.Integer)) and not isinstance(shape, bool):
        shape = (shape,)
    if isinstance(shape, (tuple, list, sympy.Tuple)) and all(
        isinstance(n, sympy.Integer) or (isinstance(n, int) and not isinstance(n, bool))
        for n in shape
    ):
        shape = tuple(int(n) for n in shape)
    if (
        not isinstance(shape, tuple)
        or len(shape) > MAX_RANK
        or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in shape)
    ):
        raise SymgradError(
            f"{what}: shape must be a tuple of up to {MAX_RANK} positive integers ((), (n,), "
            f"(rows, cols), …), got {shape!r}",
            where,
        )
    return shape


def as_value(
    value, what: str, where: str | None = None, shape: tuple[int, ...] | None = None
) -> float | np.ndarray:
    """A point value as float64: a real number, or an array of them (for a batch, or of the
    declared ``shape`` of a tensor variable)."""
    if shape:
        array = as_value(value, what, where)
        if np.shape(array) != tuple(shape):
            raise SymgradError(
                f"{what} has shape {np.shape(array)}, but the variable is declared {tuple(shape)}",
                where,
            )
        return array
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
