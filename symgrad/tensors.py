"""Tensor quantities: matrices (and row or column vectors) in a model.

Two layers live here:

* ``Tensor``, what a model file holds: a matrix expression with NumPy's operator semantics.
  ``@`` is the matrix product; ``+ - * / **`` act entry by entry and broadcast scalars, rows
  and columns as NumPy does; every shape is checked when the expression is built, and a
  mismatch names both operands and their shapes.
* The matrix operations symgrad adds to SymPy's own (``MatMul``, ``MatAdd``, ``Transpose``,
  ``HadamardProduct``, ``Inverse``, ``Trace``, ``Determinant``): ``Elementwise`` (a scalar formula
  applied entry by entry, with broadcasting), ``Total`` and ``AxisSum`` (sums), ``Broadcast``,
  ``Softmax`` and ``LogSoftmax``, ``OneHot``, ``SpectralNorm`` and its ``SingularOuter``.

Their backward rules are rows of the rule table (``symgrad/rules.py``); nothing here
differentiates.
"""

from __future__ import annotations

import builtins
import itertools
from collections.abc import Callable, Sequence

import sympy
from sympy import Basic, Integer, Lambda
from sympy.matrices.expressions.matexpr import MatrixExpr

from .errors import SymgradError

Shape = tuple[int, ...]


# --- shapes -------------------------------------------------------------------------------------


def is_matrix(expr) -> bool:
    return isinstance(expr, (MatrixExpr, Tensor))


def shape_of(expr) -> Shape:
    """(rows, cols) of a matrix expression; () of a scalar."""
    expr = unwrap(expr)
    if isinstance(expr, MatrixExpr):
        return (int(expr.rows), int(expr.cols))
    return ()


def show_shape(shape: Shape) -> str:
    return "a scalar" if not shape else "×".join(str(n) for n in shape)


def broadcast(shapes: Sequence[Shape], operands: Sequence, what: str) -> Shape:
    """NumPy's broadcasting of 2-D shapes (a scalar broadcasts everywhere)."""
    result: list[int] = [1, 1]
    matrices = [(s, o) for s, o in zip(shapes, operands, strict=True) if s]
    if not matrices:
        return ()
    for axis in (0, 1):
        sizes = {s[axis] for s, _ in matrices if s[axis] != 1}
        if len(sizes) > 1:
            described = ", ".join(f"{_brief(o)} is {show_shape(s)}" for s, o in matrices)
            raise SymgradError(f"shapes do not broadcast in {what}: {described}")
        result[axis] = sizes.pop() if sizes else 1
    return (result[0], result[1])


def _brief(expr) -> str:
    text = str(unwrap(expr))
    return text if len(text) <= 40 else text[:37] + "…"


def unwrap(value):
    return value.expr if isinstance(value, Tensor) else value


def as_operand(value, what: str):
    """A Tensor, SymPy expression or number as a SymPy object."""
    value = unwrap(value)
    if isinstance(value, (MatrixExpr, sympy.Expr)):
        return value
    try:
        return sympy.sympify(value, strict=True)
    except (sympy.SympifyError, TypeError):
        raise SymgradError(f"{what}: {value!r} is not a number or an expression") from None


# --- symgrad's matrix operations -------------------------------------------------------------


class Elementwise(MatrixExpr):
    """``template`` (a SymPy Lambda of scalars) applied entry by entry to ``operands``, which
    broadcast against each other as NumPy arrays do. ``X W + b``, ``relu(Z)``, ``A ⊙ B`` and
    ``2A − 1`` are all Elementwise."""

    is_commutative = False

    def __new__(cls, template: Lambda, *operands):
        return Basic.__new__(cls, template, *operands)

    @property
    def template(self) -> Lambda:
        return self.args[0]

    @property
    def operands(self) -> tuple:
        return self.args[1:]

    @property
    def shape(self):
        shapes = [shape_of(o) for o in self.operands]
        return broadcast(shapes, self.operands, "an elementwise operation")

    def _entry(self, i, j, **kwargs):
        values = []
        for operand in self.operands:
            if isinstance(operand, MatrixExpr):
                r, c = shape_of(operand)
                values.append(operand._entry(i if r > 1 else 0, j if c > 1 else 0))
            else:
                values.append(operand)
        return self.template(*values)

    def _eval_transpose(self):
        return Elementwise(self.template, *[_transposed(o) for o in self.operands])


def _transposed(expr):
    return expr.T if isinstance(expr, MatrixExpr) else expr


class Total(sympy.Expr):
    """The sum of every entry of a matrix (a scalar)."""

    is_commutative = True

    def __new__(cls, matrix):
        return Basic.__new__(cls, matrix)

    @property
    def matrix(self):
        return self.args[0]

    def _eval_is_real(self):
        return True


class AxisSum(MatrixExpr):
    """Sums along one axis, keeping it: axis 0 gives a row (1×c), axis 1 a column (r×1)."""

    is_commutative = False

    def __new__(cls, matrix, axis):
        return Basic.__new__(cls, matrix, Integer(axis))

    @property
    def matrix(self):
        return self.args[0]

    @property
    def axis(self) -> int:
        return int(self.args[1])

    @property
    def shape(self):
        r, c = shape_of(self.matrix)
        return (1, c) if self.axis == 0 else (r, 1)

    def _entry(self, i, j, **kwargs):
        r, c = shape_of(self.matrix)
        if self.axis == 0:
            return sympy.Add(*[self.matrix._entry(k, j) for k in range(r)])
        return sympy.Add(*[self.matrix._entry(i, k) for k in range(c)])


class Broadcast(MatrixExpr):
    """A scalar, row or column repeated to ``rows × cols`` (NumPy's broadcast_to)."""

    is_commutative = False

    def __new__(cls, value, rows, cols):
        return Basic.__new__(cls, value, Integer(rows), Integer(cols))

    @property
    def value(self):
        return self.args[0]

    @property
    def shape(self):
        return (int(self.args[1]), int(self.args[2]))

    def _entry(self, i, j, **kwargs):
        if not isinstance(self.value, MatrixExpr):
            return self.value
        r, c = shape_of(self.value)
        return self.value._entry(i if r > 1 else 0, j if c > 1 else 0)


class Softmax(MatrixExpr):
    """exp(A) normalised to sum 1 along ``axis`` (1: each row is a distribution)."""

    is_commutative = False

    def __new__(cls, matrix, axis=1):
        return Basic.__new__(cls, matrix, Integer(axis))

    @property
    def matrix(self):
        return self.args[0]

    @property
    def axis(self) -> int:
        return int(self.args[1])

    @property
    def shape(self):
        return shape_of(self.matrix)

    def _entry(self, i, j, **kwargs):
        r, c = self.shape
        cells = [(i, k) for k in range(c)] if self.axis == 1 else [(k, j) for k in range(r)]
        denominator = sympy.Add(*[sympy.exp(self.matrix._entry(a, b)) for a, b in cells])
        return sympy.exp(self.matrix._entry(i, j)) / denominator


class LogSoftmax(Softmax):
    """log(softmax(A)) along ``axis``, computed without forming the softmax."""

    def _entry(self, i, j, **kwargs):
        r, c = self.shape
        cells = [(i, k) for k in range(c)] if self.axis == 1 else [(k, j) for k in range(r)]
        total = sympy.Add(*[sympy.exp(self.matrix._entry(a, b)) for a, b in cells])
        return self.matrix._entry(i, j) - sympy.log(total)


class OneHot(MatrixExpr):
    """Rows of the identity picked by integer class labels: labels (n, 1) or (1, n) → n × C."""

    is_commutative = False

    def __new__(cls, labels, classes):
        return Basic.__new__(cls, labels, Integer(classes))

    @property
    def labels(self):
        return self.args[0]

    @property
    def classes(self) -> int:
        return int(self.args[1])

    @property
    def shape(self):
        r, c = shape_of(self.labels)
        return (max(r, c), self.classes)


class LogDet(sympy.Expr):
    """log det A of a square matrix with a positive determinant (a scalar)."""

    is_commutative = True

    def __new__(cls, matrix):
        return Basic.__new__(cls, matrix)

    @property
    def arg(self):
        return self.args[0]

    def _eval_is_real(self):
        return True


class SpectralNorm(sympy.Expr):
    """The largest singular value of a matrix (its 2-norm)."""

    is_commutative = True

    def __new__(cls, matrix):
        return Basic.__new__(cls, matrix)

    @property
    def matrix(self):
        return self.args[0]

    def _eval_is_real(self):
        return True


class SingularOuter(MatrixExpr):
    """u₁v₁ᵀ for the top singular pair of a matrix: the gradient of its spectral norm where the
    largest singular value is simple."""

    is_commutative = False

    def __new__(cls, matrix):
        return Basic.__new__(cls, matrix)

    @property
    def matrix(self):
        return self.args[0]

    @property
    def shape(self):
        return shape_of(self.matrix)


# --- building elementwise expressions ---------------------------------------------------------

_DUMMY_PREFIX = "_e"


def template_symbols(n: int) -> list[sympy.Symbol]:
    return [sympy.Symbol(f"{_DUMMY_PREFIX}{i}", real=True) for i in range(n)]


def elementwise(function: Callable, *operands, what: str = "an elementwise operation"):
    """``function`` (of scalars) applied entry by entry to ``operands``, broadcasting.

    Operands that are themselves unnamed Elementwise expressions are fused into one template,
    so ``(A + B) * C`` is one Elementwise of three operands. Numbers go into the template.
    """
    operands = [as_operand(o, what) for o in operands]
    broadcast([shape_of(o) for o in operands], operands, what)
    inputs: list = []
    placeholders: list = []

    def placeholder_for(operand):
        for k, existing in enumerate(inputs):
            if existing == operand:
                return placeholders[k]
        symbol = sympy.Symbol(f"{_DUMMY_PREFIX}{len(inputs)}", real=True)
        inputs.append(operand)
        placeholders.append(symbol)
        return symbol

    arguments = []
    for operand in operands:
        if isinstance(operand, Broadcast):  # broadcasting is implied by the other operands
            operand = operand.value
        if isinstance(operand, Elementwise):
            inner = [placeholder_for(o) for o in operand.operands]
            arguments.append(operand.template(*inner))
        elif isinstance(operand, MatrixExpr):
            arguments.append(placeholder_for(operand))
        elif operand.is_number:
            arguments.append(operand)
        else:  # a scalar expression (a parameter, a node): an operand, so its gradient is kept
            arguments.append(placeholder_for(operand))
    body = unwrap(function(*arguments))
    if isinstance(body, MatrixExpr):
        raise SymgradError(f"{what} did not give a scalar formula for one entry: {body}")
    full_shape = broadcast([shape_of(o) for o in inputs], inputs, what)
    # Keep only the operands the formula uses; if that shrinks the shape, broadcast back.
    used = [k for k, p in enumerate(placeholders) if p in body.free_symbols]
    kept = [inputs[k] for k in used]
    renamed = template_symbols(len(kept))
    body = body.xreplace({placeholders[k]: renamed[i] for i, k in enumerate(used)})
    kept_shape = broadcast([shape_of(o) for o in kept], kept, what)
    if not any(isinstance(o, MatrixExpr) for o in kept):
        value = body.xreplace(dict(zip(renamed, kept, strict=True)))
        if full_shape and value == 0:
            return sympy.ZeroMatrix(*full_shape)
        return Broadcast(value, *full_shape) if full_shape else value
    if body == renamed[0] and len(kept) == 1 and kept_shape == full_shape:
        return kept[0]  # the identity: no operation at all
    result = Elementwise(Lambda(tuple(renamed), body), *kept)
    if kept_shape != full_shape and full_shape:
        return Broadcast(result, *full_shape)
    return result


def entry_by_entry(function: Callable) -> Callable:
    """``function`` (SymPy's exp, tanh, Max, …) that acts entry by entry on a Tensor argument
    and as itself on scalars."""

    def applied(*args, **kwargs):
        if any(is_matrix(a) for a in args):
            return Tensor(elementwise(lambda *a: function(*a, **kwargs), *args, what=name))
        return function(*args, **kwargs)

    name = getattr(function, "__name__", str(function))
    applied.__name__ = applied.__qualname__ = name
    applied.__doc__ = f"SymPy's {name}; on a matrix, entry by entry."
    return applied


# --- the user-facing Tensor -------------------------------------------------------------------


class Tensor:
    """A matrix quantity of a model, with NumPy's operators.

    ``A @ B`` is the matrix product; ``A * B``, ``A / B``, ``A ** 2``, ``A + b``, ``1 - A`` act
    entry by entry and broadcast scalars, rows (1×n) and columns (n×1); ``A.T`` transposes.
    SymPy's own matrix functions accept it (``sympy.Trace(A)``).
    """

    __slots__ = ("expr",)
    _op_priority = 1000.0  # SymPy defers to our operators when a Tensor is involved
    __array_priority__ = 1000.0

    def __init__(self, expr):
        if not isinstance(expr, MatrixExpr):
            raise TypeError(f"a Tensor holds a matrix expression, not {expr!r}")
        self.expr = expr

    # SymPy interoperation
    def _sympy_(self):
        return self.expr

    @property
    def shape(self) -> Shape:
        return shape_of(self.expr)

    @property
    def T(self) -> Tensor:
        return Tensor(self.expr.T)

    def transpose(self) -> Tensor:
        return self.T

    def inv(self) -> Tensor:
        return inv(self)

    def __repr__(self) -> str:
        return f"Tensor({self.expr}, shape={show_shape(self.shape)})"

    __str__ = __repr__

    def __hash__(self):
        return hash(self.expr)

    def __eq__(self, other):
        return isinstance(other, Tensor) and self.expr == other.expr

    # the matrix product
    def __matmul__(self, other):
        return matmul(self, other)

    def __rmatmul__(self, other):
        return matmul(other, self)

    # entry by entry, broadcasting
    def __add__(self, other):
        return Tensor(elementwise(lambda a, b: a + b, self, other, what=_op(self, "+", other)))

    def __radd__(self, other):
        return Tensor(elementwise(lambda a, b: a + b, other, self, what=_op(other, "+", self)))

    def __sub__(self, other):
        return Tensor(elementwise(lambda a, b: a - b, self, other, what=_op(self, "-", other)))

    def __rsub__(self, other):
        return Tensor(elementwise(lambda a, b: a - b, other, self, what=_op(other, "-", self)))

    def __mul__(self, other):
        return Tensor(elementwise(lambda a, b: a * b, self, other, what=_op(self, "*", other)))

    def __rmul__(self, other):
        return Tensor(elementwise(lambda a, b: a * b, other, self, what=_op(other, "*", self)))

    def __truediv__(self, other):
        return Tensor(elementwise(lambda a, b: a / b, self, other, what=_op(self, "/", other)))

    def __rtruediv__(self, other):
        return Tensor(elementwise(lambda a, b: a / b, other, self, what=_op(other, "/", self)))

    def __pow__(self, other):
        return Tensor(elementwise(lambda a, b: a**b, self, other, what=_op(self, "**", other)))

    def __rpow__(self, other):
        return Tensor(elementwise(lambda a, b: a**b, other, self, what=_op(other, "**", self)))

    def __abs__(self):
        return Tensor(elementwise(sympy.Abs, self, what=f"abs({_brief(self)})"))

    def __neg__(self):
        return Tensor(elementwise(lambda a: -a, self))

    def __pos__(self):
        return self


def _op(left, symbol: str, right) -> str:
    return f"{_brief(left)} {symbol} {_brief(right)}"


# --- the matrix functions a model file uses -------------------------------------------------------


def _matrix(value, what: str):
    value = as_operand(value, what)
    if not isinstance(value, MatrixExpr):
        raise SymgradError(f"{what} needs a matrix, got the scalar {value}")
    return value


def matmul(a, b) -> Tensor:
    what = _op(a, "@", b)
    left, right = _matrix(a, what), _matrix(b, what)
    (r1, c1), (r2, c2) = shape_of(left), shape_of(right)
    if c1 != r2:
        raise SymgradError(
            f"matrix product {what}: {_brief(left)} is {r1}×{c1} and {_brief(right)} is "
            f"{r2}×{c2}; the inner sizes {c1} and {r2} differ"
        )
    return Tensor(sympy.MatMul(left, right).doit())


def hadamard(a, b) -> Tensor:
    """The entry-by-entry product A ⊙ B (also ``A * B``)."""
    return Tensor(elementwise(lambda x, y: x * y, a, b, what=_op(a, "⊙", b)))


def transpose(a) -> Tensor:
    return Tensor(_matrix(a, "transpose").T)


def sum(a, axis: int | None = None):
    """The sum of all entries (a scalar), or along ``axis`` (0: a row, 1: a column)."""
    matrix = _matrix(a, "sum")
    if axis is None:
        return Total(matrix)
    return Tensor(AxisSum(matrix, _axis(axis, "sum")))


def mean(a, axis: int | None = None):
    matrix = _matrix(a, "mean")
    r, c = shape_of(matrix)
    if axis is None:
        return Total(matrix) / (r * c)
    axis = _axis(axis, "mean")
    return Tensor(elementwise(lambda s: s / (r if axis == 0 else c), AxisSum(matrix, axis)))


def _axis(axis, what: str) -> int:
    if axis not in (0, 1, -1, -2):
        raise SymgradError(f"{what}: axis must be 0 or 1, got {axis!r}")
    return int(axis) % 2


def sum_squares_of(a):
    """‖A‖² as the sum of its squared entries."""
    return Total(elementwise(lambda x: x**2, a, what="sum_squares"))


def trace(a):
    matrix = _square(a, "trace")
    return sympy.Trace(matrix)


def det(a):
    return sympy.Determinant(_square(a, "det"))


def logdet(a):
    """log det A (A with a positive determinant)."""
    return LogDet(_square(a, "logdet"))


def inv(a) -> Tensor:
    return Tensor(sympy.Inverse(_square(a, "inv")))


def _square(a, what: str):
    matrix = _matrix(a, what)
    r, c = shape_of(matrix)
    if r != c:
        raise SymgradError(f"{what} needs a square matrix; {_brief(matrix)} is {r}×{c}")
    return matrix


def norm(a, ord="fro"):
    """The Frobenius norm (``ord="fro"``) or the 2-norm (``ord=2``: the Euclidean norm of a
    vector, the largest singular value of a matrix)."""
    matrix = _matrix(a, "norm")
    if ord == "fro" or (ord == 2 and 1 in shape_of(matrix)):
        return sympy.sqrt(sum_squares_of(matrix))
    if ord == 2:
        return SpectralNorm(matrix)
    raise SymgradError(f"norm: ord must be 'fro' or 2, got {ord!r}")


def softmax(a, axis: int = 1) -> Tensor:
    return Tensor(Softmax(_matrix(a, "softmax"), _axis(axis, "softmax")))


def log_softmax(a, axis: int = 1) -> Tensor:
    return Tensor(LogSoftmax(_matrix(a, "log_softmax"), _axis(axis, "log_softmax")))


def one_hot(labels, classes: int) -> Tensor:
    matrix = _matrix(labels, "one_hot")
    if 1 not in shape_of(matrix):
        raise SymgradError(
            f"one_hot needs a vector of labels; {_brief(matrix)} is {show_shape(shape_of(matrix))}"
        )
    return Tensor(OneHot(matrix, int(classes)))


def cross_entropy(logits, targets, classes: int | None = None):
    """Mean over the rows of −log softmax(logits)[row, target]: PyTorch's
    ``F.cross_entropy``. ``targets`` is one-hot (n × C) or a vector of class labels."""
    z = _matrix(logits, "cross_entropy")
    n, c = shape_of(z)
    y = _matrix(targets, "cross_entropy")
    if shape_of(y) != (n, c):
        if 1 in shape_of(y) and builtins.max(shape_of(y)) == n:
            y = OneHot(y, c if classes is None else classes)
        else:
            raise SymgradError(
                f"cross_entropy: targets {_brief(y)} are {show_shape(shape_of(y))}; give "
                f"one-hot targets of {n}×{c} or a vector of {n} class labels"
            )
    picked = elementwise(lambda t, lp: t * lp, y, LogSoftmax(z, 1), what="cross_entropy")
    return -Total(picked) / n


# --- checking a tensor expression's shapes (SymPy's own operations included) ---------------------


def check_shapes(expr, what: str) -> None:
    """Walk ``expr`` and check that every operation's operands fit; SymPy builds some
    expressions without checking."""
    for node in sympy.preorder_traversal(expr):
        if isinstance(node, sympy.MatMul):
            matrices = [a for a in node.args if isinstance(a, MatrixExpr)]
            for left, right in itertools.pairwise(matrices):
                if shape_of(left)[1] != shape_of(right)[0]:
                    raise SymgradError(
                        f"{what}: matrix product of {_brief(left)} ({show_shape(shape_of(left))})"
                        f" and {_brief(right)} ({show_shape(shape_of(right))}) does not fit"
                    )
        elif isinstance(node, (sympy.MatAdd, sympy.HadamardProduct)):
            shapes = {shape_of(a) for a in node.args}
            if len(shapes) > 1:
                described = ", ".join(
                    f"{_brief(a)} is {show_shape(shape_of(a))}" for a in node.args
                )
                raise SymgradError(f"{what}: operands of different shapes: {described}")
        elif isinstance(node, Elementwise):
            broadcast([shape_of(o) for o in node.operands], node.operands, what)
        elif isinstance(node, (sympy.Inverse, sympy.Trace, sympy.Determinant, LogDet)):
            r, c = shape_of(node.arg)
            if r != c:
                raise SymgradError(
                    f"{what}: {type(node).__name__.lower()} needs a square matrix; "
                    f"{_brief(node.arg)} is {r}×{c}"
                )
