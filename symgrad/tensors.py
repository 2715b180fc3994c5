"""Tensor quantities of a model: arrays that behave as NumPy arrays of their shape.

``Tensor`` is what a model file holds: a symbolic array, scalar to rank 4, with NumPy's
operators and methods. ``@`` is NumPy's matmul (batched at rank 3 and 4); ``+ - * / **`` act
entry by entry and broadcast as NumPy does; ``< <= > >=`` give masks for ``where``; indexing and
slicing are NumPy's; ``.sum() .mean() .max() .min() .prod() .var() .std()`` reduce along
``axis`` and drop it unless ``keepdims=True``. Every shape is checked when the expression is
built, by NumPy's own rules, and an operation or keyword symgrad cannot honour exactly is
refused by name, never reinterpreted or dropped.

The operations themselves are in ``symgrad/arrays.py``; their backward rules are records of the
rule table (``symgrad/rules/``). Nothing here differentiates.
"""

from __future__ import annotations

import builtins
import itertools
from collections.abc import Callable, Sequence

import numpy as np
import sympy
from sympy import Integer, Lambda, Tuple
from sympy.matrices.expressions.matexpr import MatrixExpr

from .arrays import (
    MAX_RANK,
    ArrayExpr,
    ArraySymbol,
    Broadcast,
    Concatenate,
    Constant,
    Conv,
    ConvInput,
    ConvWeight,
    Cumulative,
    Elementwise,
    Embed,
    Entry,
    Index,
    LogDet,
    LogSoftmax,
    MatMul,
    OneHot,
    Permute,
    Pool,
    PoolBack,
    PoolPick,
    ProdOthers,
    Reduce,
    ReduceAll,
    Reshape,
    SingularOuter,
    Softmax,
    SpectralNorm,
    Total,
    array_symbol,
    brief,
    broadcast,
    check_rank,
    combine,
    entry,
    inverse_permutation,
    key_parts,
    matmul_shape,
    normalise_axes,
    python_key,
    shape_of,
    show_shape,
    stand_in,
    window_out,
)
from .errors import SymgradError

__all__ = [
    "MAX_RANK",
    "ArrayExpr",
    "ArraySymbol",
    "Broadcast",
    "Concatenate",
    "Constant",
    "Conv",
    "ConvInput",
    "ConvWeight",
    "Cumulative",
    "Elementwise",
    "Embed",
    "Entry",
    "Index",
    "LogDet",
    "LogSoftmax",
    "MatMul",
    "OneHot",
    "Permute",
    "Pool",
    "PoolBack",
    "PoolPick",
    "ProdOthers",
    "Reduce",
    "ReduceAll",
    "Reshape",
    "SingularOuter",
    "Softmax",
    "SpectralNorm",
    "Tensor",
    "Total",
    "array_symbol",
    "broadcast",
    "combine",
    "entry",
    "inverse_permutation",
    "key_parts",
    "matmul_shape",
    "python_key",
    "shape_of",
    "show_shape",
    "window_out",
]

Shape = tuple[int, ...]


def is_matrix(expr) -> bool:
    """An array (of any rank), as opposed to a scalar."""
    return isinstance(expr, (MatrixExpr, Tensor))


def is_zero(expr) -> bool:
    """An expression that is 0 everywhere (a scalar 0, a zero matrix, a broadcast 0)."""
    if isinstance(expr, sympy.ZeroMatrix):
        return True
    if isinstance(expr, Broadcast):
        return is_zero(expr.value)
    return not isinstance(expr, MatrixExpr) and expr == 0


def unwrap(value):
    return value.expr if isinstance(value, Tensor) else value


def as_operand(value, what: str):
    """A Tensor, SymPy expression, number or NumPy array as a SymPy object."""
    value = unwrap(value)
    if isinstance(value, (MatrixExpr, sympy.Expr)):
        return value
    if isinstance(value, np.ndarray) or (
        isinstance(value, (list, tuple)) and value and not isinstance(value[0], sympy.Basic)
    ):
        array = np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise SymgradError(f"{what}: {value!r} is not an array of numbers")
        if array.ndim == 0:
            return sympy.Float(float(array)) if array.dtype.kind == "f" else Integer(int(array))
        check_rank(array.shape, what)
        return Constant(array)
    if isinstance(value, sympy.logic.boolalg.Boolean):  # a comparison of scalars: a mask
        return sympy.Piecewise((1, value), (0, True))
    try:
        return sympy.sympify(value, strict=True)
    except (sympy.SympifyError, TypeError):
        raise SymgradError(f"{what}: {value!r} is not a number or an expression") from None


def zeros(shape: Shape):
    if len(shape) == 2:
        return sympy.ZeroMatrix(*shape)
    return Broadcast(sympy.S.Zero, shape)


def add_arrays(like, terms: list):
    """The sum of array terms shaped like ``like`` (its zero when there are none)."""
    shape = shape_of(like)
    terms = [t for t in terms if not is_zero(t)]
    if not terms:
        return zeros(shape)
    if len(terms) == 1:
        return terms[0]
    if len(shape) == 2 and all(shape_of(t) == shape for t in terms):
        return sympy.MatAdd(*terms).doit()
    return elementwise(lambda *a: sympy.Add(*a), *terms, what="a sum")


# --- entry by entry ---------------------------------------------------------------------------

_DUMMY_PREFIX = "_e"


def template_symbols(n: int) -> list[sympy.Symbol]:
    return [sympy.Symbol(f"{_DUMMY_PREFIX}{i}", real=True) for i in range(n)]


def elementwise(function: Callable, *operands, what: str = "an elementwise operation"):
    """``function`` (of scalars) applied entry by entry to ``operands``, broadcasting.

    Operands that are themselves unnamed Elementwise expressions are fused into one template,
    so ``(A + B) * C`` is one Elementwise of three operands. Numbers go into the template.
    """
    try:
        return _elementwise(function, operands, what, fuse=True)
    except (AssertionError, ValueError, TypeError):
        # SymPy cannot build a choice whose condition holds another choice (where() compares
        # a where(); elu's x > 0 of a where() of a clamp fails in its rewriting, with a
        # ValueError); unfused, the inner one stays an operand of its own
        try:
            return _elementwise(function, operands, what, fuse=False)
        except AssertionError:
            raise SymgradError(NESTED_CHOICE.format(what=what)) from None


# SymPy's Piecewise cannot hold a condition that holds another Piecewise
NESTED_CHOICE = (
    "{what} compares a value chosen by another where() (or max, relu, abs) in its condition, "
    "which SymPy cannot write as one formula; name that value with m.node first"
)


def _elementwise(function: Callable, operands, what: str, *, fuse: bool):
    operands = [as_operand(o, what) for o in operands]
    full_shape = broadcast([shape_of(o) for o in operands], operands, what)
    check_rank(full_shape, what)
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
        if isinstance(operand, Broadcast) and not shape_of(operand.value):
            operand = operand.value  # a repeated scalar: broadcasting does the repeating
        if isinstance(operand, Elementwise) and fuse:
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
    # Keep only the operands the formula uses; if that shrinks the shape, broadcast back.
    used = [k for k, p in enumerate(placeholders) if p in body.free_symbols]
    kept = [inputs[k] for k in used]
    renamed = template_symbols(len(kept))
    body = body.xreplace({placeholders[k]: renamed[i] for i, k in enumerate(used)})
    kept_shape = broadcast([shape_of(o) for o in kept], kept, what)
    if not any(isinstance(o, MatrixExpr) for o in kept):
        try:
            value = body.xreplace(dict(zip(renamed, kept, strict=True)))
        except AssertionError:
            raise SymgradError(NESTED_CHOICE.format(what=what)) from None
        if full_shape and value == 0:
            return zeros(full_shape)
        return Broadcast(value, full_shape) if full_shape else value
    if body == renamed[0] and len(kept) == 1 and kept_shape == full_shape:
        return kept[0]  # the identity: no operation at all
    result = Elementwise(Lambda(tuple(renamed), body), *kept)
    if kept_shape != full_shape and full_shape:
        return Broadcast(result, full_shape)
    return result


def _mask(condition):
    """A comparison as a 0/1 mask entry (the form ``where`` reads)."""
    return sympy.Piecewise((1, condition), (0, True))


def _condition(mask):
    """The condition a mask entry stands for: its comparison, or "not 0"."""
    if (
        isinstance(mask, sympy.Piecewise)
        and len(mask.args) == 2
        and mask.args[0].expr == 1
        and mask.args[1].expr == 0
        and mask.args[1].cond == sympy.true
    ):
        return mask.args[0].cond
    return sympy.Ne(mask, 0)


# --- the user-facing Tensor -------------------------------------------------------------------


class Tensor:
    """An array quantity of a model, with NumPy's operators, indexing and methods."""

    # is_labels: a model input declared as class labels, the one array of the model that may
    # index another (its entries are whole numbers)
    __slots__ = ("expr", "is_labels")
    _op_priority = 1000.0  # SymPy defers to our operators when a Tensor is involved
    __array_priority__ = 1000.0

    def __init__(self, expr, is_labels: bool = False):
        if not isinstance(expr, MatrixExpr):
            raise TypeError(f"a Tensor holds an array expression, not {expr!r}")
        self.expr = expr
        self.is_labels = is_labels

    # SymPy interoperation
    def _sympy_(self):
        return self.expr

    @property
    def shape(self) -> Shape:
        return shape_of(self.expr)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def T(self) -> Tensor:
        return transpose(self)

    def __repr__(self) -> str:
        return f"Tensor({self.expr}, shape={show_shape(self.shape)})"

    __str__ = __repr__

    # NumPy's == and != compare entry by entry and give masks; so, as a NumPy array, a Tensor
    # is no dictionary key (compare expressions with a.expr == b.expr)
    __hash__ = None

    def __eq__(self, other):
        return _binary(lambda a, b: _mask(sympy.Eq(a, b)), self, other, "==")

    def __ne__(self, other):
        return _binary(lambda a, b: _mask(sympy.Ne(a, b)), self, other, "!=")

    def __bool__(self):
        raise SymgradError(
            "a symbolic array has no truth value (an if on it cannot be traced); "
            "use symgrad.where(condition, a, b)"
        )

    def __iter__(self):
        raise SymgradError(
            "a symbolic array cannot be looped over; index it (Z[0], Z[:, 1]) or use a "
            "reduction (symgrad.sum(Z, axis=0))"
        )

    # the matrix product
    def __matmul__(self, other):
        return matmul(self, other)

    def __rmatmul__(self, other):
        return matmul(other, self)

    # entry by entry, broadcasting
    def __add__(self, other):
        return _binary(lambda a, b: a + b, self, other, "+")

    def __radd__(self, other):
        return _binary(lambda a, b: a + b, other, self, "+")

    def __sub__(self, other):
        return _binary(lambda a, b: a - b, self, other, "-")

    def __rsub__(self, other):
        return _binary(lambda a, b: a - b, other, self, "-")

    def __mul__(self, other):
        return _binary(lambda a, b: a * b, self, other, "*")

    def __rmul__(self, other):
        return _binary(lambda a, b: a * b, other, self, "*")

    def __truediv__(self, other):
        return _binary(lambda a, b: a / b, self, other, "/")

    def __rtruediv__(self, other):
        return _binary(lambda a, b: a / b, other, self, "/")

    def __pow__(self, other):
        return _binary(lambda a, b: a**b, self, other, "**")

    def __rpow__(self, other):
        return _binary(lambda a, b: a**b, other, self, "**")

    def __abs__(self):
        return Tensor(elementwise(sympy.Abs, self, what=f"abs({brief(self)})"))

    def __neg__(self):
        return Tensor(elementwise(lambda a: -a, self))

    def __pos__(self):
        return self

    # comparisons give masks (1 where true, 0 elsewhere) for where
    def __lt__(self, other):
        return _binary(lambda a, b: _mask(a < b), self, other, "<")

    def __le__(self, other):
        return _binary(lambda a, b: _mask(a <= b), self, other, "<=")

    def __gt__(self, other):
        return _binary(lambda a, b: _mask(a > b), self, other, ">")

    def __ge__(self, other):
        return _binary(lambda a, b: _mask(a >= b), self, other, ">=")

    # NumPy's own functions called on a Tensor (np.exp(Z), np.sum(Z, axis=1), ndarray + Z)
    def __array_ufunc__(self, ufunc, method, *inputs, **keywords):
        name = ufunc.__name__
        if method != "__call__":
            raise SymgradError(f"symgrad cannot take np.{name}.{method} of a symbolic array")
        _no_keywords(f"np.{name} of a symbolic array", keywords)
        if name in _UFUNC_OPERATORS:
            function, symbol = _UFUNC_OPERATORS[name]
            if len(inputs) == 1:
                return Tensor(elementwise(function, inputs[0], what=f"{symbol}{brief(inputs[0])}"))
            return _binary(function, *inputs, symbol)
        if name == "matmul":
            return matmul(*inputs)
        return _numpy_function(_UFUNC_NAMES.get(name, name))(*inputs)

    def __array_function__(self, function, types, args, keywords):
        name = function.__name__
        return _numpy_function(_ARRAY_FUNCTION_NAMES.get(name, name))(*args, **keywords)

    # indexing
    def __getitem__(self, key):
        return index(self, key)

    # NumPy's methods (a keyword NumPy takes and symgrad cannot honour is refused by name)
    def sum(self, axis=None, keepdims=False, **keywords):
        return sum(self, axis=axis, keepdims=keepdims, **keywords)

    def mean(self, axis=None, keepdims=False, **keywords):
        return mean(self, axis=axis, keepdims=keepdims, **keywords)

    def max(self, axis=None, keepdims=False, **keywords):
        return max(self, axis=axis, keepdims=keepdims, **keywords)

    def min(self, axis=None, keepdims=False, **keywords):
        return min(self, axis=axis, keepdims=keepdims, **keywords)

    def prod(self, axis=None, keepdims=False, **keywords):
        return prod(self, axis=axis, keepdims=keepdims, **keywords)

    def var(self, axis=None, keepdims=False, ddof=0, **keywords):
        return var(self, axis=axis, keepdims=keepdims, ddof=ddof, **keywords)

    def std(self, axis=None, keepdims=False, ddof=0, **keywords):
        return std(self, axis=axis, keepdims=keepdims, ddof=ddof, **keywords)

    def reshape(self, *shape, **keywords):
        _no_keywords("reshape", keywords)
        return reshape(self, shape[0] if len(shape) == 1 else shape)

    def transpose(self, *axes):
        if len(axes) == 1 and axes[0] is not None and not isinstance(axes[0], (tuple, list)):
            return transpose(self, axes)  # a.transpose(0) of a vector
        return transpose(self, axes[0] if len(axes) == 1 else (axes or None))

    def swapaxes(self, axis1, axis2):
        return swapaxes(self, axis1, axis2)

    def squeeze(self, axis=None):
        return squeeze(self, axis)

    def cumsum(self, axis=None, **keywords):
        return cumsum(self, axis, **keywords)

    def cumprod(self, axis=None, **keywords):
        return cumprod(self, axis, **keywords)

    def clip(self, a_min=None, a_max=None, **keywords):
        """ndarray.clip: bounds by position, or NumPy 2's min= and max=."""
        clip = record_function("clip")
        lo, hi = keywords.pop("min", a_min), keywords.pop("max", a_max)
        _no_keywords("clip", keywords)
        if lo is None and hi is None:
            raise SymgradError("clip needs a lower or an upper bound")
        if hi is None:
            return Tensor(elementwise(sympy.Max, self, lo, what="clip"))
        if lo is None:
            return Tensor(elementwise(sympy.Min, self, hi, what="clip"))
        return clip(self, lo, hi)

    def inv(self) -> Tensor:
        return inv(self)


# NumPy's ufuncs that are operators, by their names
_UFUNC_OPERATORS = {
    "add": (lambda a, b: a + b, "+"),
    "subtract": (lambda a, b: a - b, "-"),
    "multiply": (lambda a, b: a * b, "*"),
    "divide": (lambda a, b: a / b, "/"),
    "power": (lambda a, b: a**b, "**"),
    "float_power": (lambda a, b: a**b, "**"),
    "negative": (lambda a: -a, "-"),
    "positive": (lambda a: a, "+"),
    "less": (lambda a, b: _mask(a < b), "<"),
    "less_equal": (lambda a, b: _mask(a <= b), "<="),
    "greater": (lambda a, b: _mask(a > b), ">"),
    "greater_equal": (lambda a, b: _mask(a >= b), ">="),
    "equal": (lambda a, b: _mask(sympy.Eq(a, b)), "=="),
    "not_equal": (lambda a, b: _mask(sympy.Ne(a, b)), "!="),
}
_UFUNC_NAMES = {"absolute": "abs", "true_divide": "divide", "fabs": "abs"}
_ARRAY_FUNCTION_NAMES = {"amax": "max", "amin": "min", "round_": "round"}


# The rule table's functions by NumPy's name (exp, maximum, clip, …), as rules lends them: the
# records act on this module's arrays, so this module does not import them back.
_RECORD_FUNCTIONS: list[Callable[[], dict]] = []


def find_record_functions_with(lookup: Callable[[], dict]) -> None:
    _RECORD_FUNCTIONS[:] = [lookup]


def record_function(name: str) -> Callable | None:
    return _RECORD_FUNCTIONS[0]().get(name) if _RECORD_FUNCTIONS else None


def _numpy_function(name: str) -> Callable:
    """symgrad's function of NumPy's name: an array operation of this module, or a record's
    function (exp, maximum, …)."""
    function = record_function(name) or _ARRAY_FUNCTIONS.get(name)
    if function is None:
        raise SymgradError(
            f"symgrad has no np.{name} for symbolic arrays; write the model with symgrad's "
            "functions (symgrad.public_functions() lists them)"
        )
    return function


def _binary(function, left, right, symbol: str) -> Tensor:
    what = f"{brief(left)} {symbol} {brief(right)}"
    return Tensor(elementwise(function, left, right, what=what))


def _array(value, what: str):
    value = as_operand(value, what)
    if not isinstance(value, MatrixExpr):
        raise SymgradError(f"{what} needs an array, got the scalar {value}")
    return value


def _result(expr):
    """A Tensor for an array, the expression itself for a scalar."""
    return Tensor(expr) if isinstance(expr, MatrixExpr) else expr


def _no_keywords(what: str, keywords: dict) -> None:
    if keywords:
        raise SymgradError(f"{what} takes no keyword {next(iter(keywords))!r}")


# --- products ---------------------------------------------------------------------------------


def matmul(a, b):
    """NumPy's ``a @ b``: a matrix product; a vector side is promoted and dropped again
    (a vector @ a vector is their dot product); leading axes are batches."""
    what = f"{brief(a)} @ {brief(b)}"
    left, right = _array(a, what), _array(b, what)
    shape = matmul_shape(shape_of(left), shape_of(right), left, right)
    if len(shape_of(left)) == 2 and len(shape_of(right)) == 2:
        return Tensor(sympy.MatMul(left, right).doit())
    if not shape:  # vector · vector
        return Total(elementwise(lambda x, y: x * y, left, right, what=what))
    return Tensor(MatMul(left, right))


def hadamard(a, b) -> Tensor:
    """The entry-by-entry product A ⊙ B (also ``A * B``)."""
    return Tensor(elementwise(lambda x, y: x * y, a, b, what=f"{brief(a)} ⊙ {brief(b)}"))


# --- shapes -----------------------------------------------------------------------------------


def transpose(a, axes=None):
    """The axes reversed (``a.T``), or in the order ``axes`` (np.transpose)."""
    array = _array(a, "transpose")
    rank = len(shape_of(array))
    if axes is None:
        order = tuple(reversed(range(rank)))
    else:
        order = tuple(int(k) % rank for k in axes) if rank else ()
        if sorted(order) != list(range(rank)):
            raise SymgradError(
                f"transpose: axes {tuple(axes)!r} are not a permutation of the {rank} axes "
                f"of {brief(array)}"
            )
    if order == tuple(range(rank)):
        return Tensor(array)
    if rank == 2:
        return Tensor(array.T)
    return Tensor(Permute(array, order))


def swapaxes(a, axis1: int, axis2: int):
    array = _array(a, "swapaxes")
    rank = len(shape_of(array))
    first, second = (
        normalise_axes(axis1, rank, "swapaxes")[0],
        normalise_axes(axis2, rank, "swapaxes")[0],
    )
    order = list(range(rank))
    order[first], order[second] = order[second], order[first]
    return transpose(array, order)


def reshape(a, shape):
    """The same entries in ``shape`` (one size may be −1), in C order as np.reshape."""
    array = as_operand(a, "reshape")
    have = shape_of(array)
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    size = int(np.prod(have))
    try:
        dims = [int(n) for n in shape]
    except (TypeError, ValueError):
        dims = None
    unknown = [k for k, n in enumerate(dims or []) if n == -1]
    good = dims is not None and len(unknown) <= 1 and all(n >= -1 for n in dims)
    if good and unknown:
        rest = int(np.prod([n for n in dims if n != -1]))
        good = rest > 0 and size % rest == 0
        if good:
            dims[unknown[0]] = size // rest
    if not good or int(np.prod(dims)) != size:
        raise SymgradError(
            f"reshape: {brief(array)} of shape {show_shape(have)} has {size} entries; it "
            f"cannot take the shape {shape!r}"
        )
    new = tuple(dims)
    check_rank(new, "reshape")
    if new == have:
        return _result(array)
    if not new:
        return entry_of(array, (0,) * len(have))
    if not have:  # a scalar as an array of one entry
        return Tensor(Broadcast(array, new))
    return Tensor(Reshape(array, new))


def expand_dims(a, axis):
    array = _array(a, "expand_dims")
    have = shape_of(array)
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    rank = len(have) + len(axes)
    positions = normalise_axes(tuple(axes), rank, "expand_dims")
    shape, rest = [], list(have)
    for k in range(rank):
        shape.append(1 if k in positions else rest.pop(0))
    return reshape(array, tuple(shape))


def squeeze(a, axis=None):
    array = _array(a, "squeeze")
    have = shape_of(array)
    axes = (
        tuple(k for k, n in enumerate(have) if n == 1)
        if axis is None
        else normalise_axes(axis, len(have), "squeeze")
    )
    for k in axes:
        if have[k] != 1:
            raise SymgradError(f"squeeze: axis {k} of {brief(array)} has size {have[k]}, not 1")
    return reshape(array, tuple(n for k, n in enumerate(have) if k not in axes))


def concatenate(arrays: Sequence, axis: int = 0):
    """Arrays joined along ``axis`` (np.concatenate); ``axis=None`` joins them flattened."""
    if axis is None:
        return concatenate([reshape(a, (-1,)) for a in arrays], 0)
    parts = [_array(a, "concatenate") for a in arrays]
    if not parts:
        raise SymgradError("concatenate needs at least one array")
    shapes = [shape_of(p) for p in parts]
    rank = len(shapes[0])
    if rank == 0 or any(len(s) != rank for s in shapes):
        described = ", ".join(
            f"{brief(p)} is {show_shape(s)}" for p, s in zip(parts, shapes, strict=True)
        )
        raise SymgradError(f"concatenate needs arrays of one rank: {described}")
    axis = normalise_axes(axis, rank, "concatenate")[0]
    for s in shapes:
        if any(s[k] != shapes[0][k] for k in range(rank) if k != axis):
            described = ", ".join(
                f"{brief(q)} is {show_shape(t)}" for q, t in zip(parts, shapes, strict=True)
            )
            raise SymgradError(
                f"concatenate along axis {axis}: the other axes differ ({described})"
            )
    if len(parts) == 1:
        return Tensor(parts[0])
    return Tensor(Concatenate(axis, *parts))


def stack(arrays: Sequence, axis: int = 0):
    """Arrays of one shape stacked along a new ``axis`` (np.stack)."""
    if axis is None:
        raise SymgradError("stack needs a whole number for axis (NumPy refuses axis=None)")
    parts = [as_operand(a, "stack") for a in arrays]
    if not parts:
        raise SymgradError("stack needs at least one array")
    shapes = {shape_of(p) for p in parts}
    if len(shapes) > 1:
        described = ", ".join(f"{brief(p)} is {show_shape(shape_of(p))}" for p in parts)
        raise SymgradError(f"stack needs arrays of one shape: {described}")
    shape = shapes.pop()
    rank = len(shape) + 1
    axis = normalise_axes(axis, rank, "stack")[0]
    new_shape = (*shape[:axis], 1, *shape[axis:])
    lifted = [
        Broadcast(p, new_shape) if not shape else unwrap(reshape(p, new_shape)) for p in parts
    ]
    return concatenate(lifted, axis)


# --- indexing ---------------------------------------------------------------------------------


def entry_of(array, index: tuple):
    return Entry(array, Tuple(*[Integer(k) for k in index]))


def index(a, key):
    """``a[key]`` with NumPy's indexing: integers (negative from the end), slices with steps,
    ``None`` for a new axis, ``...``, and arrays of integer indices (constants, or a model's
    integer labels)."""
    array = _array(a, "indexing")
    shape = shape_of(array)
    key = key if isinstance(key, tuple) else (key,)
    parts = []
    for part in key:
        if part is Ellipsis or part is None or isinstance(part, slice):
            parts.append(part)
        elif isinstance(part, (int, np.integer, Integer)) and not isinstance(part, bool):
            parts.append(int(part))
        else:
            parts.append(_index_array(part, array))
    # NumPy decides the shape, the bounds of constant index arrays included, and refuses what
    # it refuses
    numpy_key = tuple(_numpy_part(p) for p in parts)
    try:
        result_shape = tuple(int(n) for n in stand_in(shape)[numpy_key].shape)
    except IndexError as error:
        raise SymgradError(f"{brief(array)}[…] of shape {show_shape(shape)}: {error}") from None
    if 0 in result_shape:
        raise SymgradError(
            f"{brief(array)}[…] of shape {show_shape(shape)} selects no entries (shape "
            f"{show_shape(result_shape)}); symgrad's arrays are not empty"
        )
    check_rank(result_shape, "indexing")
    plain = concrete_key([p for p in parts if p is not None], shape)
    if all(
        isinstance(p, slice) and (p.start, p.stop, p.step) == (0, n, 1)
        for p, n in zip(plain, shape, strict=True)
    ):
        picked = array  # the whole array
    elif all(isinstance(p, int) for p in plain):
        picked = entry_of(array, tuple(plain))
    else:
        picked = Index(array, key_parts(plain))
        if any(p is None for p in parts) and picked.advanced:
            picked = _place_advanced_axes(picked, parts, shape)
    if shape_of(picked) != result_shape:  # a None added axes
        if not result_shape:
            return picked
        if not shape_of(picked):
            return Tensor(Broadcast(picked, result_shape))
        picked = Reshape(picked, result_shape)
    return _result(picked)


def _place_advanced_axes(picked, parts: list, shape: Shape):
    """NumPy puts the axes of the index arrays where the first of them stands when they stand
    together, and in front when a slice, ``...`` or a new axis (None) parts them. Without its
    None the key may keep them together: move them where the key with None puts them."""
    size = len(shape_of(picked)) - builtins.sum(
        1 for p in concrete_key([p for p in parts if p is not None], shape) if isinstance(p, slice)
    )
    before = _axes_before_advanced(parts, shape)
    before_without_none = _axes_before_advanced([p for p in parts if p is not None], shape)
    if before == before_without_none:
        return picked
    rest = [
        k
        for k in range(len(shape_of(picked)))
        if not before_without_none <= k < before_without_none + size
    ]
    block = list(range(before_without_none, before_without_none + size))
    return Permute(picked, tuple(rest[:before] + block + rest[before:]))


def _axes_before_advanced(parts: list, shape: Shape) -> int:
    """How many sliced axes come before the axes of the index arrays in NumPy's result."""
    advanced = [k for k, p in enumerate(parts) if isinstance(p, (int, MatrixExpr))]
    if advanced[-1] - advanced[0] + 1 != len(advanced):  # parted: in front
        return 0
    width = len(shape) - builtins.sum(1 for p in parts if p is not Ellipsis and p is not None)
    return builtins.sum(
        width if p is Ellipsis else 1 for p in parts[: advanced[0]] if p is not None
    )


def concrete_key(parts, shape: Shape) -> list:
    """One part per axis, without ``...``: integers from the front, slices with their start,
    stop (−1: past the front, for a negative step) and step made explicit."""
    plain, axis = [], 0
    width = len(shape) - builtins.sum(1 for p in parts if p is not Ellipsis)
    for part in parts:
        if part is Ellipsis:
            plain += [slice(0, shape[axis + k], 1) for k in range(width)]
            axis += width
            continue
        if isinstance(part, slice):
            start, stop, step = part.indices(shape[axis])
            if step < 0 and stop < 0:
                stop = -1
            plain.append(slice(start, stop, step))
        elif isinstance(part, (int, np.integer)):
            plain.append(int(part) % shape[axis])
        elif isinstance(part, Constant):  # NumPy has checked the bounds
            plain.append(Constant(part.array % shape[axis]))
        else:
            plain.append(part)
        axis += 1
    plain += [slice(0, shape[k], 1) for k in range(axis, len(shape))]
    return plain


def _index_array(part, array):
    """An index array: a constant of whole numbers, or a model input declared as labels."""
    if isinstance(part, Tensor) and part.is_labels:
        return part.expr
    if isinstance(part, (Tensor, MatrixExpr, sympy.Basic)):
        if isinstance(part, Tensor) and _is_mask(part.expr):
            raise _mask_refusal()
        raise SymgradError(
            f"{brief(array)}[{brief(part)}]: an index array holds whole numbers; of a model's "
            "arrays only an input declared with domain=('labels', C) can index"
        )
    values = np.asarray(part)
    if values.dtype == bool:
        raise _mask_refusal()
    if values.dtype.kind not in "iu":
        raise SymgradError(
            f"an index must be a whole number, a slice or an array of them, got {part!r}"
        )
    if values.ndim == 0:  # NumPy reads it as the integer
        return int(values)
    return Constant(values)


def _is_mask(expr) -> bool:
    """An array of comparisons (0/1 entries), what ``Z > 0`` gives."""
    return isinstance(expr, Elementwise) and _condition(expr.template.expr) != sympy.Ne(
        expr.template.expr, 0
    )


def _mask_refusal() -> SymgradError:
    return SymgradError(
        "indexing by a boolean mask gives a shape that depends on the values; "
        "use symgrad.where(mask, a, b)"
    )


def _numpy_part(part):
    """A part of an index key as NumPy takes it: a constant's values, a stand-in for labels."""
    if isinstance(part, Constant):
        return part.array.astype(np.intp)
    if isinstance(part, MatrixExpr):
        return np.zeros(shape_of(part), dtype=np.intp)
    return part


# --- reductions -------------------------------------------------------------------------------


def _reduce(kind: str, a, axis, keepdims: bool):
    if not isinstance(keepdims, (bool, np.bool_)):
        raise SymgradError(f"{kind}: keepdims is True or False, got {keepdims!r}")
    value = as_operand(a, kind)
    if not isinstance(value, MatrixExpr):
        if axis not in (None, 0, -1, ()):
            raise SymgradError(f"{kind} of a scalar has no axis {axis!r}")
        return value
    rank = len(shape_of(value))
    axes = normalise_axes(axis, rank, kind)
    if not axes:
        return Tensor(value)
    if len(axes) == rank and not keepdims:
        return Total(value) if kind == "sum" else ReduceAll(value, kind)
    return Tensor(Reduce(value, kind, axes, bool(keepdims)))


def sum(a, axis=None, keepdims=False, **keywords):
    """np.sum: every entry (a scalar), or along ``axis`` (an int or a tuple), which is dropped
    unless ``keepdims``."""
    _no_keywords("sum", keywords)
    return _reduce("sum", a, axis, keepdims)


def max(a, axis=None, keepdims=False, **keywords):
    """np.max: the largest entry, or along ``axis``; ties share the gradient equally (as
    torch.amax)."""
    _no_keywords("max", keywords)
    return _reduce("max", a, axis, keepdims)


def min(a, axis=None, keepdims=False, **keywords):
    """np.min: the smallest entry, or along ``axis``; ties share the gradient equally."""
    _no_keywords("min", keywords)
    return _reduce("min", a, axis, keepdims)


def prod(a, axis=None, keepdims=False, **keywords):
    """np.prod: the product of the entries, or along ``axis``."""
    _no_keywords("prod", keywords)
    return _reduce("prod", a, axis, keepdims)


def logsumexp(a, axis=None, keepdims=False, **keywords):
    """log Σ exp, computed stably (scipy.special.logsumexp)."""
    _no_keywords("logsumexp", keywords)
    return _reduce("logsumexp", a, axis, keepdims)


def _count(value, axis) -> int:
    shape = shape_of(value)
    return int(np.prod([shape[k] for k in normalise_axes(axis, len(shape), "mean")]))


def mean(a, axis=None, keepdims=False, **keywords):
    """np.mean: the sum over the count, along ``axis`` or over every entry."""
    _no_keywords("mean", keywords)
    value = as_operand(a, "mean")
    if not isinstance(value, MatrixExpr):
        return sum(value, axis, keepdims)
    count = _count(value, axis)
    total = sum(value, axis=axis, keepdims=keepdims)
    if isinstance(total, Tensor):
        return Tensor(elementwise(lambda s: s / count, total, what="mean"))
    return total / count


def var(a, axis=None, keepdims=False, ddof=0, **keywords):
    """np.var: the mean squared deviation from the mean, divided by N − ddof."""
    _no_keywords("var", keywords)
    value = _array(a, "var")
    count = _count(value, axis)
    if not isinstance(ddof, int) or not 0 <= ddof < count:
        raise SymgradError(f"var: ddof must be a whole number below {count}, got {ddof!r}")
    centre = mean(value, axis=axis, keepdims=True)
    deviation = Tensor(value) - centre
    squares = sum(deviation * deviation, axis=axis, keepdims=keepdims)
    return squares / (count - ddof)


def std(a, axis=None, keepdims=False, ddof=0, **keywords):
    """np.std: the square root of var, whose derivative is 0 where it is 0 (norm_sqrt's record:
    PyTorch's convention where every entry is equal)."""
    _no_keywords("std", keywords)
    return norm_sqrt(var(a, axis=axis, keepdims=keepdims, ddof=ddof), "std")


def norm_sqrt(squares, what: str):
    """√ of a sum of squares, entry by entry, with the derivative PyTorch takes at 0."""
    from .rules.functions import norm_sqrt as root  # the rule table is downstream of tensors

    if is_matrix(squares):
        return Tensor(elementwise(root, squares, what=what))
    return root(squares)


def cumsum(a, axis=None, **keywords):
    """np.cumsum: running sums along ``axis`` (None: of the entries flattened)."""
    _no_keywords("cumsum", keywords)
    return _cumulative("sum", a, axis)


def cumprod(a, axis=None, **keywords):
    """np.cumprod: running products along ``axis`` (None: of the entries flattened)."""
    _no_keywords("cumprod", keywords)
    return _cumulative("prod", a, axis)


def _cumulative(kind: str, a, axis):
    value = _array(a, f"cum{kind}")
    if axis is None:
        value = unwrap(reshape(value, (-1,)))
        axis = 0
    rank = len(shape_of(value))
    return Tensor(Cumulative(value, kind, normalise_axes(axis, rank, f"cum{kind}")[0]))


def sum_squares_of(a):
    """‖A‖² as the sum of its squared entries."""
    return Total(elementwise(lambda x: x**2, a, what="sum_squares"))


# --- choosing ---------------------------------------------------------------------------------


def where(condition, a, b):
    """np.where: ``a`` where ``condition`` holds (a mask from ``<``, ``>``, …, or an array that
    is not 0), ``b`` elsewhere. The gradient flows to the side chosen."""
    condition = as_operand(condition, "where")
    if not any(is_matrix(v) for v in (condition, a, b)):
        return sympy.Piecewise(
            (as_operand(a, "where"), _condition(condition)), (as_operand(b, "where"), True)
        )
    return Tensor(
        elementwise(
            lambda c, x, y: sympy.Piecewise((x, _condition(c)), (y, True)),
            condition,
            a,
            b,
            what="where",
        )
    )


# --- linear algebra ---------------------------------------------------------------------------


def trace(a):
    return sympy.Trace(_square(a, "trace"))


def det(a):
    return sympy.Determinant(_square(a, "det"))


def logdet(a):
    """log det A (A with a positive determinant)."""
    return LogDet(_square(a, "logdet"))


def inv(a) -> Tensor:
    return Tensor(sympy.Inverse(_square(a, "inv")))


def _square(a, what: str):
    matrix = _array(a, what)
    shape = shape_of(matrix)
    if len(shape) != 2 or shape[0] != shape[1]:
        raise SymgradError(f"{what} needs a square matrix; {brief(matrix)} is {show_shape(shape)}")
    return matrix


def norm(a, ord="fro"):
    """The Frobenius norm (``ord="fro"``), or the 2-norm (``ord=2``: the Euclidean norm of a
    vector, the largest singular value of a matrix)."""
    array = _array(a, "norm")
    shape = shape_of(array)
    if ord == "fro" or (ord == 2 and (len(shape) == 1 or 1 in shape)):
        return norm_sqrt(sum_squares_of(array), "norm")
    if ord == 2 and len(shape) == 2:
        return SpectralNorm(array)
    raise SymgradError(f"norm: ord must be 'fro' or 2 (of a vector or a matrix), got {ord!r}")


# --- along an axis ----------------------------------------------------------------------------


def softmax(a, axis: int = -1) -> Tensor:
    """exp normalised along ``axis`` (the last by default, as torch.softmax(dim=-1))."""
    array = _array(a, "softmax")
    return Tensor(Softmax(array, normalise_axes(axis, len(shape_of(array)), "softmax")[0]))


def log_softmax(a, axis: int = -1) -> Tensor:
    array = _array(a, "log_softmax")
    return Tensor(LogSoftmax(array, normalise_axes(axis, len(shape_of(array)), "log_softmax")[0]))


def one_hot(labels, classes: int) -> Tensor:
    """Integer labels (n of them) as the rows of the C×C identity they pick: n × C."""
    array = _array(labels, "one_hot")
    shape = shape_of(array)
    if len(shape) > 2 or (len(shape) == 2 and 1 not in shape):
        raise SymgradError(
            f"one_hot needs a vector of labels; {brief(array)} is {show_shape(shape)}"
        )
    return Tensor(OneHot(array, int(classes)))


def cross_entropy(logits, targets, classes: int | None = None):
    """Mean over the rows of −log softmax(logits)[row, target]: PyTorch's
    ``F.cross_entropy``. ``targets`` is one-hot (n × C) or a vector of n class labels."""
    z = _array(logits, "cross_entropy")
    shape = shape_of(z)
    if len(shape) != 2:
        raise SymgradError(f"cross_entropy needs logits n × C; {brief(z)} is {show_shape(shape)}")
    n, c = shape
    y = _array(targets, "cross_entropy")
    if shape_of(y) != (n, c):
        if int(np.prod(shape_of(y))) == n and builtins.max(shape_of(y)) == n:
            y = OneHot(y, c if classes is None else classes)
        else:
            raise SymgradError(
                f"cross_entropy: targets {brief(y)} are {show_shape(shape_of(y))}; give "
                f"one-hot targets of {n}×{c} or a vector of {n} class labels"
            )
    picked = elementwise(lambda t, lp: t * lp, y, LogSoftmax(z, 1), what="cross_entropy")
    return -Total(picked) / n


# --- convolution and pooling (NumPy has none: PyTorch's, in its layout) -------------------------


def _per_axis(value, dims: int, what: str, name: str) -> tuple[int, ...]:
    values = (value,) * dims if isinstance(value, (int, np.integer)) else tuple(value)
    if (
        len(values) != dims
        or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in values)
        or any(v < (0 if name == "padding" else 1) for v in values)
    ):
        raise SymgradError(
            f"{what}: {name} must be a whole number or {dims} of them"
            f"{' (≥ 0)' if name == 'padding' else ' (≥ 1)'}, got {value!r}"
        )
    return tuple(int(v) for v in values)


def _conv(x, w, stride, padding, dilation, dims: int):
    what = f"conv{dims}d"
    x, w = _array(x, what), _array(w, what)
    xs, ws = shape_of(x), shape_of(w)
    if len(xs) != dims + 2 or len(ws) != dims + 2:
        spatial = "length" if dims == 1 else "height, width"
        raise SymgradError(
            f"{what} takes x of shape (batch, channels, {spatial}) "
            f"and w of shape (out channels, channels, kernel…); {brief(x)} is {show_shape(xs)}, "
            f"{brief(w)} is {show_shape(ws)}"
        )
    if xs[1] != ws[1]:
        raise SymgradError(f"{what}: {brief(x)} has {xs[1]} channels, {brief(w)} expects {ws[1]}")
    if isinstance(padding, str):
        raise SymgradError(
            f"{what}: padding={padding!r} is not supported; give the number of zeros"
        )
    options = {
        "stride": _per_axis(stride, dims, what, "stride"),
        "padding": _per_axis(padding, dims, what, "padding"),
        "dilation": _per_axis(dilation, dims, what, "dilation"),
    }
    out = tuple(
        window_out(n, k, s, p, d)
        for n, k, s, p, d in zip(xs[2:], ws[2:], *options.values(), strict=True)
    )
    if any(m < 1 for m in out):
        raise SymgradError(
            f"{what}: the kernel {ws[2:]} does not fit the input {xs[2:]} with {options}"
        )
    return Tensor(Conv(x, w, **options, shape=(xs[0], ws[0], *out)))


def conv1d(x, w, stride=1, padding=0, dilation=1):
    """F.conv1d without bias: x (N, C, L) cross-correlated with w (O, C, K)."""
    return _conv(x, w, stride, padding, dilation, 1)


def conv2d(x, w, stride=1, padding=0, dilation=1):
    """F.conv2d without bias: x (N, C, H, W) cross-correlated with w (O, C, KH, KW)."""
    return _conv(x, w, stride, padding, dilation, 2)


def _pool(kind: str, x, kernel_size, stride, padding, dims: int):
    what = f"{kind}_pool{dims}d"
    x = _array(x, what)
    xs = shape_of(x)
    if len(xs) != dims + 2:
        raise SymgradError(
            f"{what} takes x of rank {dims + 2} (batch, channels, …); "
            f"{brief(x)} is {show_shape(xs)}"
        )
    kernel = _per_axis(kernel_size, dims, what, "kernel_size")
    stride = kernel if stride is None else _per_axis(stride, dims, what, "stride")
    padding = _per_axis(padding, dims, what, "padding")
    if any(2 * p > k for p, k in zip(padding, kernel, strict=True)):
        raise SymgradError(f"{what}: padding {padding} may be at most half the kernel {kernel}")
    out = tuple(
        window_out(n, k, s, p) for n, k, s, p in zip(xs[2:], kernel, stride, padding, strict=True)
    )
    if any(m < 1 for m in out):
        raise SymgradError(f"{what}: the window {kernel} does not fit the input {xs[2:]}")
    return Tensor(
        Pool(kind, x, stride=stride, padding=padding, dilation=kernel, shape=(*xs[:2], *out))
    )


def max_pool1d(x, kernel_size, stride=None, padding=0):
    """F.max_pool1d: the largest entry of each window; the gradient goes to the first largest."""
    return _pool("max", x, kernel_size, stride, padding, 1)


def max_pool2d(x, kernel_size, stride=None, padding=0):
    """F.max_pool2d."""
    return _pool("max", x, kernel_size, stride, padding, 2)


def avg_pool1d(x, kernel_size, stride=None, padding=0):
    """F.avg_pool1d, padding counted as PyTorch counts it (count_include_pad)."""
    return _pool("avg", x, kernel_size, stride, padding, 1)


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """F.avg_pool2d."""
    return _pool("avg", x, kernel_size, stride, padding, 2)


# --- checking an expression's shapes (SymPy's own operations included) ------------------------


def check_shapes(expr, what: str) -> None:
    """Walk ``expr`` and check that every operation's operands fit; SymPy builds some
    expressions without checking."""
    for node in sympy.preorder_traversal(expr):
        if isinstance(node, sympy.MatMul):
            matrices = [a for a in node.args if isinstance(a, MatrixExpr)]
            for left, right in itertools.pairwise(matrices):
                if (
                    len(shape_of(left)) != 2
                    or len(shape_of(right)) != 2
                    or shape_of(left)[1] != shape_of(right)[0]
                ):
                    raise SymgradError(
                        f"{what}: matrix product of {brief(left)} ({show_shape(shape_of(left))})"
                        f" and {brief(right)} ({show_shape(shape_of(right))}) does not fit"
                    )
        elif isinstance(node, (sympy.MatAdd, sympy.HadamardProduct)):
            shapes = {shape_of(a) for a in node.args}
            if len(shapes) > 1:
                described = ", ".join(f"{brief(a)} is {show_shape(shape_of(a))}" for a in node.args)
                raise SymgradError(f"{what}: operands of different shapes: {described}")
        elif isinstance(node, Elementwise):
            broadcast([shape_of(o) for o in node.operands], node.operands, what)
        elif isinstance(node, (sympy.Inverse, sympy.Trace, sympy.Determinant, LogDet)):
            shape = shape_of(node.arg)
            if len(shape) != 2 or shape[0] != shape[1]:
                raise SymgradError(
                    f"{what}: {type(node).__name__.lower()} needs a square matrix; "
                    f"{brief(node.arg)} is {show_shape(shape)}"
                )


# NumPy's array functions that symgrad implements here, by NumPy's names
_ARRAY_FUNCTIONS = {
    function.__name__: function
    for function in (sum, mean, max, min, prod, var, std, cumsum, cumprod, reshape, transpose,
                     swapaxes, squeeze, expand_dims, concatenate, stack, where, matmul, trace,
                     det, inv, norm)
}  # fmt: skip
