"""Array expressions: the operations symgrad adds to SymPy's matrix algebra, at any rank.

A quantity of a model is a scalar (a SymPy expression), a matrix (rank 2: SymPy's
``MatrixSymbol`` and matrix algebra, ``MatMul``, ``Transpose``, ``Inverse`` …, which write the
textbook's matrix formulas), or an array of rank 1, 3 or 4 (``ArraySymbol``). The classes here
act at any rank; each is a SymPy ``MatrixExpr`` so that at rank 2 it mixes with SymPy's matrix
algebra, and each result's shape follows NumPy's rules exactly: broadcasting, reductions that
drop their axes unless ``keepdims``, indexing and slicing, reshapes, batched matrix products.
Shapes are worked out by NumPy itself on a zero-strided stand-in array (no memory), so a shape
symgrad accepts is the shape NumPy gives, and a shape NumPy refuses is refused.

Their backward rules are records of the rule table (``symgrad/rules/matrix.py``); nothing here
differentiates.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numpy as np
import sympy
from sympy import Basic, Integer, Lambda, Tuple
from sympy.core.symbol import Str
from sympy.matrices.expressions.matexpr import MatrixExpr

from .errors import SymgradError

Shape = tuple[int, ...]
MAX_RANK = 4


# --- shapes -----------------------------------------------------------------------------------


def shape_of(expr) -> Shape:
    """The shape of an expression: () for a scalar."""
    expr = getattr(expr, "expr", expr)  # a Tensor
    if isinstance(expr, MatrixExpr):
        return _matrix_shape(expr)
    return ()


@functools.lru_cache(maxsize=1 << 16)
def _matrix_shape(expr) -> Shape:
    # an expression's shape is asked again and again as bigger ones are built on it (and
    # each asks its operands'): once per expression keeps that linear in the expression's size
    return tuple(int(n) for n in expr.shape)


def show_shape(shape: Shape) -> str:
    if not shape:
        return "a scalar"
    return f"({shape[0]},)" if len(shape) == 1 else "×".join(str(n) for n in shape)


def stand_in(shape: Shape) -> np.ndarray:
    """An array of ``shape`` that takes no memory, for NumPy to work out result shapes on."""
    return np.lib.stride_tricks.as_strided(
        np.zeros(1), shape=shape, strides=(0,) * len(shape), writeable=False
    )


_SPELLING: list[Callable[[object], str]] = []


def spell_operands_with(spelling: Callable[[object], str]) -> None:
    """How messages write an operand: the rendering stage lends its text printer."""
    _SPELLING[:] = [spelling]


def brief(expr) -> str:
    from .names import text_name  # the names as a reader knows them

    expr = getattr(expr, "expr", expr)
    if isinstance(expr, (sympy.Symbol, sympy.MatrixSymbol, ArraySymbol)):
        return text_name(str(expr.name))
    if isinstance(expr, Constant) or (isinstance(expr, np.ndarray) and expr.ndim > 0):
        return f"an array of shape {show_shape(tuple(expr.shape))}"
    # as the worked example writes it (σ(X) − y), not SymPy's Elementwise(Lambda(…)): in the
    # spelling rendering lends (arrays is upstream of it and does not import it)
    try:
        text = _SPELLING[0](expr) if _SPELLING else str(expr)
    except Exception:  # a message must not fail for want of a spelling
        text = str(expr)
    text = " ".join(text.split())  # one line
    text = text if len(text) <= 40 else text[:37] + "…"
    return f"({text})" if " " in text else text  # (σ(X) − y) @ W, not σ(X) − y @ W


def broadcast(shapes: Sequence[Shape], operands: Sequence, what: str) -> Shape:
    """NumPy's broadcasting of the operands' shapes; a mismatch names every operand."""
    try:
        return tuple(int(n) for n in np.broadcast_shapes(*shapes))
    except ValueError:
        described = ", ".join(
            f"{brief(o)} is {show_shape(s)}" for s, o in zip(shapes, operands, strict=True) if s
        )
        raise SymgradError(f"shapes do not broadcast in {what}: {described}") from None


def check_rank(shape: Shape, what: str) -> None:
    if len(shape) > MAX_RANK:
        raise SymgradError(
            f"{what} would have rank {len(shape)}; symgrad takes arrays up to rank {MAX_RANK}"
        )


def normalise_axes(axis, rank: int, what: str) -> tuple[int, ...]:
    """``axis`` (None, an int or a tuple of ints, negatives from the end) as sorted axes."""
    if axis is None:
        return tuple(range(rank))
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    out = []
    for a in axes:
        if isinstance(a, bool) or not isinstance(a, (int, np.integer, Integer)):
            raise SymgradError(f"{what}: an axis is a whole number, got {a!r}")
        a = int(a)
        if not -rank <= a < rank:
            raise SymgradError(f"{what}: axis {a} is out of bounds for an array of rank {rank}")
        out.append(a % rank)
    if len(set(out)) != len(out):
        raise SymgradError(f"{what}: axis {axis!r} repeats an axis")
    return tuple(sorted(out))


# --- the base and the names -------------------------------------------------------------------


class ArrayExpr(MatrixExpr):
    """An array operation of symgrad's, at any rank. At rank 2 it is a matrix to SymPy."""

    is_commutative = False

    @property
    def shape(self) -> Shape:
        raise NotImplementedError

    @property
    def rank(self) -> int:
        return len(self.shape)

    # SymPy's matrix machinery (cse's temporaries) reads rows and cols of any MatrixExpr
    @property
    def rows(self):
        return self.shape[0] if self.shape else 1

    @property
    def cols(self):
        return int(np.prod(self.shape[1:])) if len(self.shape) > 1 else 1

    def _eval_transpose(self):
        if self.rank != 2:
            return Permute(self, tuple(reversed(range(self.rank))))
        return None


class ArraySymbol(ArrayExpr):
    """A named array of rank 1, 3 or 4 (rank 2 is SymPy's MatrixSymbol)."""

    def __new__(cls, name: str, shape: Shape):
        return Basic.__new__(cls, Str(str(name)), Tuple(*[Integer(n) for n in shape]))

    @property
    def name(self) -> str:
        return str(self.args[0])

    @property
    def shape(self) -> Shape:
        return tuple(int(n) for n in self.args[1])

    @property
    def free_symbols(self):
        return {self}

    def _sympystr(self, printer):
        return self.name


def array_symbol(name: str, shape: Shape):
    """The symbol of a quantity of ``shape``: a scalar, a matrix, or an array."""
    if not shape:
        return sympy.Symbol(name, real=True)
    if len(shape) == 2:
        return sympy.MatrixSymbol(name, *shape)
    return ArraySymbol(name, shape)


class Constant(ArrayExpr):
    """A constant array of numbers given in a model (a mask, an index table, a kernel)."""

    def __new__(cls, values):
        array = np.asarray(values, dtype=np.float64)
        return Basic.__new__(cls, sympy.ImmutableDenseNDimArray(array.tolist(), array.shape))

    @property
    def array(self) -> np.ndarray:
        values = self.args[0]
        return np.array(values.tolist(), dtype=np.float64).reshape(self.shape)

    @property
    def shape(self) -> Shape:
        return tuple(int(n) for n in self.args[0].shape)


# --- entry by entry ---------------------------------------------------------------------------


class Elementwise(ArrayExpr):
    """``template`` (a SymPy Lambda of scalars) applied entry by entry to ``operands``, which
    broadcast against each other as NumPy arrays do. ``X W + b``, ``relu(Z)``, ``A ⊙ B`` and
    ``2A − 1`` are all Elementwise."""

    def has(self, *patterns):
        """As Basic.has, except that a Piecewise inside the template does not count: the
        template is a function of its own variables, and SymPy's piecewise_fold, which asks,
        would pull the choice out of it with those variables unbound (a where() inside a sum
        compared in another where())."""
        if patterns == (sympy.Piecewise,):
            return any(operand.has(sympy.Piecewise) for operand in self.operands)
        return super().has(*patterns)

    def __new__(cls, template: Lambda, *operands):
        return Basic.__new__(cls, template, *operands)

    @property
    def template(self) -> Lambda:
        return self.args[0]

    @property
    def operands(self) -> tuple:
        return self.args[1:]

    @property
    def shape(self) -> Shape:
        shapes = [shape_of(o) for o in self.operands]
        return broadcast(shapes, self.operands, "an elementwise operation")

    def _entry(self, i, j, **kwargs):
        values = []
        for operand in self.operands:
            shape = shape_of(operand)
            if len(shape) == 2:
                values.append(operand._entry(i if shape[0] > 1 else 0, j if shape[1] > 1 else 0))
            elif len(shape) == 1:
                values.append(entry(operand, (j if shape[0] > 1 else 0,)))
            else:
                values.append(operand)
        return self.template(*values)

    def _eval_transpose(self):
        if self.rank != 2:
            return super()._eval_transpose()
        return Elementwise(self.template, *[_transposed(o) for o in self.operands])


def _transposed(expr):
    shape = shape_of(expr)
    if len(shape) == 2:
        return expr.T
    if len(shape) == 1:  # a row of a 2-D broadcast is a column of its transpose
        return Reshape(expr, (shape[0], 1))
    return expr


class Broadcast(ArrayExpr):
    """A scalar or array repeated to ``shape`` by NumPy's broadcasting (np.broadcast_to)."""

    def __new__(cls, value, shape: Shape):
        return Basic.__new__(cls, value, Tuple(*[Integer(n) for n in shape]))

    @property
    def value(self):
        return self.args[0]

    @property
    def shape(self) -> Shape:
        return tuple(int(n) for n in self.args[1])

    def _entry(self, i, j, **kwargs):
        if not isinstance(self.value, MatrixExpr):
            return self.value
        return entry(self.value, _broadcast_index((i, j), shape_of(self.value)))


def _broadcast_index(index, shape):
    """The entry of an array of ``shape`` that broadcasting puts at ``index``."""
    index = index[len(index) - len(shape) :]
    return tuple(k if n > 1 else 0 for k, n in zip(index, shape, strict=True))


def entry(expr, index: tuple):
    """One entry of an array expression (for unrolling): an explicit scalar formula."""
    shape = shape_of(expr)
    if not shape:
        return expr
    if len(shape) == 2:
        return expr._entry(*index)
    if isinstance(expr, ArraySymbol):
        return sympy.Symbol(f"{expr.name}[{','.join(map(str, index))}]", real=True)
    return expr._entry_nd(index)


# --- reductions -------------------------------------------------------------------------------

REDUCTIONS = ("sum", "max", "min", "prod", "logsumexp")


class Total(sympy.Expr):
    """The sum of every entry of an array (a scalar)."""

    is_commutative = True

    def __new__(cls, matrix):
        return Basic.__new__(cls, matrix)

    @property
    def matrix(self):
        return self.args[0]

    @property
    def kind_name(self) -> str:
        return "sum"

    def _eval_is_real(self):
        return True


class ReduceAll(sympy.Expr):
    """max, min, prod or logsumexp of every entry of an array (a scalar)."""

    is_commutative = True

    def __new__(cls, matrix, kind: str):
        return Basic.__new__(cls, matrix, Str(str(kind)))

    @property
    def matrix(self):
        return self.args[0]

    @property
    def kind_name(self) -> str:
        return str(self.args[1])

    def _eval_is_real(self):
        return True


class Reduce(ArrayExpr):
    """``kind`` (sum, max, min, prod, logsumexp) along ``axes``: NumPy's ``np.sum(a, axis,
    keepdims)``, the axes dropped unless ``keepdims``."""

    def __new__(cls, matrix, kind: str, axes: Sequence[int], keepdims: bool):
        return Basic.__new__(
            cls, matrix, Str(str(kind)), Tuple(*[Integer(a) for a in axes]), sympy.sympify(keepdims)
        )

    @property
    def matrix(self):
        return self.args[0]

    @property
    def kind_name(self) -> str:
        return str(self.args[1])

    @property
    def axes(self) -> tuple[int, ...]:
        return tuple(int(a) for a in self.args[2])

    @property
    def keepdims(self) -> bool:
        return bool(self.args[3])

    @property
    def kept_shape(self) -> Shape:
        """The shape with the reduced axes kept as 1s."""
        shape = shape_of(self.matrix)
        return tuple(1 if k in self.axes else n for k, n in enumerate(shape))

    @property
    def shape(self) -> Shape:
        shape = shape_of(self.matrix)
        if self.keepdims:
            return self.kept_shape
        return tuple(n for k, n in enumerate(shape) if k not in self.axes)

    def _entry(self, i, j, **kwargs):
        return self._entry_nd((i, j))

    def _entry_nd(self, index):
        shape = shape_of(self.matrix)
        kept = list(index) if self.keepdims else None
        if kept is None:
            kept, rest = [], list(index)
            for k in range(len(shape)):
                kept.append(0 if k in self.axes else rest.pop(0))
        cells = []
        for picked in np.ndindex(*[shape[k] for k in self.axes]):
            full = list(kept)
            for k, p in zip(self.axes, picked, strict=True):
                full[k] = p
            cells.append(entry(self.matrix, tuple(full)))
        return combine(self.kind_name, cells)


def combine(kind: str, cells: list):
    """The scalar formula of a reduction of ``cells``."""
    if kind == "sum":
        return sympy.Add(*cells)
    if kind == "prod":
        return sympy.Mul(*cells)
    if kind == "max":
        return sympy.Max(*cells)
    if kind == "min":
        return sympy.Min(*cells)
    return sympy.log(sympy.Add(*[sympy.exp(c) for c in cells]))


class ProdOthers(ArrayExpr):
    """For every entry, the product of the other entries along ``axes`` (∂prod/∂entry),
    computed without dividing, so exact where an entry is 0."""

    def __new__(cls, matrix, axes: Sequence[int]):
        return Basic.__new__(cls, matrix, Tuple(*[Integer(a) for a in axes]))

    @property
    def matrix(self):
        return self.args[0]

    @property
    def axes(self) -> tuple[int, ...]:
        return tuple(int(a) for a in self.args[1])

    @property
    def shape(self) -> Shape:
        return shape_of(self.matrix)


# --- shape changes ----------------------------------------------------------------------------


class Reshape(ArrayExpr):
    """The same entries in another shape, in C order (np.reshape)."""

    def __new__(cls, matrix, shape: Shape):
        return Basic.__new__(cls, matrix, Tuple(*[Integer(n) for n in shape]))

    @property
    def matrix(self):
        return self.args[0]

    @property
    def shape(self) -> Shape:
        return tuple(int(n) for n in self.args[1])

    def _entry(self, i, j, **kwargs):
        return self._entry_nd((i, j))

    def _entry_nd(self, index):
        flat = int(np.ravel_multi_index(index, self.shape))
        return entry(
            self.matrix, tuple(int(k) for k in np.unravel_index(flat, shape_of(self.matrix)))
        )


class Permute(ArrayExpr):
    """The axes in another order (np.transpose(a, axes)); a matrix's transpose is SymPy's."""

    def __new__(cls, matrix, axes: Sequence[int]):
        return Basic.__new__(cls, matrix, Tuple(*[Integer(a) for a in axes]))

    @property
    def matrix(self):
        return self.args[0]

    @property
    def axes(self) -> tuple[int, ...]:
        return tuple(int(a) for a in self.args[1])

    @property
    def shape(self) -> Shape:
        shape = shape_of(self.matrix)
        return tuple(shape[a] for a in self.axes)

    def _entry(self, i, j, **kwargs):
        return self._entry_nd((i, j))

    def _entry_nd(self, index):
        source = [0] * len(index)
        for position, axis in enumerate(self.axes):
            source[axis] = index[position]
        return entry(self.matrix, tuple(source))


def inverse_permutation(axes: Sequence[int]) -> tuple[int, ...]:
    return tuple(int(k) for k in np.argsort(axes))


# --- indexing ---------------------------------------------------------------------------------

# A key is a tuple of parts, one per axis it reads: an integer (the axis goes), a slice
# (start, stop, step) with stop −1 meaning "past the front" for a negative step, or an index
# array (a Constant of integers, or an integer-valued variable of the model): NumPy's basic and
# advanced indexing.


def key_parts(key) -> Tuple:
    parts = []
    for part in key:
        if isinstance(part, slice):
            parts.append(Tuple(Integer(part.start), Integer(part.stop), Integer(part.step)))
        elif isinstance(part, (int, np.integer)):
            parts.append(Integer(int(part)))
        else:
            parts.append(part)
    return Tuple(*parts)


def python_key(parts) -> tuple:
    """The key as NumPy reads it, index arrays replaced by stand-ins of their shape."""
    out = []
    for part in parts:
        if isinstance(part, Tuple):
            start, stop, step = (int(v) for v in part)
            out.append(slice(start, None if stop < 0 else stop, step))
        elif isinstance(part, Integer):
            out.append(int(part))
        else:
            out.append(np.zeros(shape_of(part), dtype=np.intp))
    return tuple(out)


class Index(ArrayExpr):
    """``A[key]``: integers, slices with steps, and index arrays, as NumPy indexes."""

    def __new__(cls, matrix, parts: Tuple):
        return Basic.__new__(cls, matrix, parts)

    @property
    def matrix(self):
        return self.args[0]

    @property
    def parts(self) -> Tuple:
        return self.args[1]

    @property
    def advanced(self) -> bool:
        return any(isinstance(p, MatrixExpr) for p in self.parts)

    @property
    def shape(self) -> Shape:
        return tuple(int(n) for n in stand_in(shape_of(self.matrix))[python_key(self.parts)].shape)

    def _entry(self, i, j, **kwargs):
        return self._entry_nd((i, j))

    def _entry_nd(self, index):
        if self.advanced:
            raise SymgradError("symgrad cannot unroll indexing by an array of labels")
        position = np.zeros(shape_of(self.matrix), dtype=bool)
        numbers = np.arange(position.size).reshape(position.shape)
        flat = int(numbers[python_key(self.parts)][index])
        return entry(self.matrix, tuple(int(k) for k in np.unravel_index(flat, position.shape)))


class Entry(sympy.Expr):
    """One entry ``A[i, j, …]`` of an array (a scalar)."""

    is_commutative = True

    def __new__(cls, matrix, parts: Tuple):
        return Basic.__new__(cls, matrix, parts)

    @property
    def matrix(self):
        return self.args[0]

    @property
    def parts(self) -> Tuple:
        return self.args[1]

    @property
    def index(self) -> tuple[int, ...]:
        shape = shape_of(self.matrix)
        return tuple(int(p) % n for p, n in zip(self.parts, shape, strict=True))

    def _eval_is_real(self):
        return True


class Embed(ArrayExpr):
    """An array of ``shape``, zero but at ``key``, where it holds ``values`` (added up where
    an index array repeats an entry): the pullback of indexing (np.add.at on zeros)."""

    def __new__(cls, values, parts: Tuple, shape: Shape):
        return Basic.__new__(cls, values, parts, Tuple(*[Integer(n) for n in shape]))

    @property
    def values(self):
        return self.args[0]

    @property
    def parts(self) -> Tuple:
        return self.args[1]

    @property
    def shape(self) -> Shape:
        return tuple(int(n) for n in self.args[2])


class Concatenate(ArrayExpr):
    """Arrays joined along ``axis`` (np.concatenate)."""

    def __new__(cls, axis: int, *arrays):
        return Basic.__new__(cls, Integer(axis), *arrays)

    @property
    def axis(self) -> int:
        return int(self.args[0])

    @property
    def arrays(self) -> tuple:
        return self.args[1:]

    @property
    def shape(self) -> Shape:
        first = list(shape_of(self.arrays[0]))
        first[self.axis] = sum(shape_of(a)[self.axis] for a in self.arrays)
        return tuple(first)

    def offsets(self) -> list[int]:
        out, at = [], 0
        for a in self.arrays:
            out.append(at)
            at += shape_of(a)[self.axis]
        return out

    def _entry(self, i, j, **kwargs):
        return self._entry_nd((i, j))

    def _entry_nd(self, index):
        for array, start in zip(self.arrays, self.offsets(), strict=True):
            size = shape_of(array)[self.axis]
            if start <= index[self.axis] < start + size:
                inner = list(index)
                inner[self.axis] -= start
                return entry(array, tuple(inner))
        raise IndexError(index)


# --- products ---------------------------------------------------------------------------------


class MatMul(ArrayExpr):
    """NumPy's ``a @ b`` where either side is not a matrix: a vector is promoted (and the
    promoted axis dropped again), leading axes are batches that broadcast. Matrix times matrix
    is SymPy's MatMul."""

    def __new__(cls, left, right):
        return Basic.__new__(cls, left, right)

    @property
    def left(self):
        return self.args[0]

    @property
    def right(self):
        return self.args[1]

    @property
    def shape(self) -> Shape:
        return matmul_shape(shape_of(self.left), shape_of(self.right), self.left, self.right)

    def _entry(self, i, j, **kwargs):
        return self._entry_nd((i, j))

    def _entry_nd(self, index):
        a, b = shape_of(self.left), shape_of(self.right)
        full = list(index)
        if len(b) == 1:
            full.append(0)
        if len(a) == 1:
            full.insert(len(full) - 1, 0)
        *batch, row, col = full
        inner = a[-1]
        terms = []
        for k in range(inner):
            left = (*batch, row, k) if len(a) > 1 else (k,)
            right = (*batch, k, col) if len(b) > 1 else (k,)
            terms.append(
                entry(self.left, _broadcast_index(left, a) if len(a) > 1 else left)
                * entry(self.right, _broadcast_index(right, b) if len(b) > 1 else right)
            )
        return sympy.Add(*terms)


def matmul_shape(a: Shape, b: Shape, left=None, right=None) -> Shape:
    """NumPy's shape of ``a @ b``: a vector promoted to a matrix and the promoted axis dropped
    again, leading (batch) axes broadcast."""

    def what() -> str:  # written out only for an error: a long operand takes long to print
        return f"matrix product {brief(left)} @ {brief(right)}"

    if not a or not b:
        raise SymgradError(f"{what()}: @ needs arrays on both sides; a scalar multiplies with *")
    a2 = (1, *a) if len(a) == 1 else a
    b2 = (*b, 1) if len(b) == 1 else b
    if a2[-1] != b2[-2]:
        raise SymgradError(
            f"{what()}: {brief(left)} is {show_shape(a)} and {brief(right)} is {show_shape(b)}; "
            f"the inner sizes {a2[-1]} and {b2[-2]} differ"
        )
    try:
        batch = tuple(int(n) for n in np.broadcast_shapes(a2[:-2], b2[:-2]))
    except ValueError:
        raise SymgradError(
            f"{what()}: the batch shapes {show_shape(a2[:-2])} and {show_shape(b2[:-2])} "
            "do not broadcast"
        ) from None
    shape = [*batch, a2[-2], b2[-1]]
    if len(b) == 1:
        shape.pop(-1)
    if len(a) == 1:
        shape.pop(-2 if len(b) > 1 else -1)
    return tuple(shape)


# --- along an axis ----------------------------------------------------------------------------


class Softmax(ArrayExpr):
    """exp(A) normalised to sum 1 along ``axis``."""

    def __new__(cls, matrix, axis=-1):
        return Basic.__new__(cls, matrix, Integer(axis))

    @property
    def matrix(self):
        return self.args[0]

    @property
    def axis(self) -> int:
        return int(self.args[1])

    @property
    def shape(self) -> Shape:
        return shape_of(self.matrix)

    def _cells(self, index):
        cells = []
        for k in range(self.shape[self.axis]):
            other = list(index)
            other[self.axis] = k
            cells.append(entry(self.matrix, tuple(other)))
        return cells

    def _entry(self, i, j, **kwargs):
        return self._entry_nd((i, j))

    def _entry_nd(self, index):
        denominator = sympy.Add(*[sympy.exp(c) for c in self._cells(index)])
        return sympy.exp(entry(self.matrix, tuple(index))) / denominator


class LogSoftmax(Softmax):
    """log(softmax(A)) along ``axis``, computed without forming the softmax."""

    def _entry_nd(self, index):
        total = sympy.Add(*[sympy.exp(c) for c in self._cells(index)])
        return entry(self.matrix, tuple(index)) - sympy.log(total)


class Cumulative(ArrayExpr):
    """The running sum (or product) along ``axis`` (np.cumsum, np.cumprod); ``reverse`` runs it
    from the end (the pullback of a running sum is the reverse running sum)."""

    def __new__(cls, matrix, kind: str, axis: int, reverse: bool = False):
        return Basic.__new__(cls, matrix, Str(str(kind)), Integer(axis), sympy.sympify(reverse))

    @property
    def matrix(self):
        return self.args[0]

    @property
    def kind_name(self) -> str:
        return str(self.args[1])

    @property
    def axis(self) -> int:
        return int(self.args[2])

    @property
    def reverse(self) -> bool:
        return bool(self.args[3])

    @property
    def shape(self) -> Shape:
        return shape_of(self.matrix)


# --- windows: convolution and pooling, PyTorch's layout (batch, channels, length[, width]) -------


def window_out(size: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> int:
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


class Windowed(ArrayExpr):
    """An operation over sliding windows of the spatial axes (all after the first two), with
    its stride, padding and dilation, one each per spatial axis."""

    def __new__(cls, *operands, stride=None, padding=None, dilation=None, shape=None):
        if stride is None:  # SymPy rebuilding from args: the numbers are the last four
            return Basic.__new__(cls, *operands)

        def numbers(values):
            return Tuple(*[Integer(v) for v in values])

        return Basic.__new__(
            cls, *operands, numbers(stride), numbers(padding), numbers(dilation), numbers(shape)
        )

    @property
    def operands(self) -> tuple:
        return self.args[:-4]

    def _numbers(self, k: int) -> tuple[int, ...]:
        return tuple(int(v) for v in self.args[k])

    @property
    def stride(self) -> tuple[int, ...]:
        return self._numbers(-4)

    @property
    def padding(self) -> tuple[int, ...]:
        return self._numbers(-3)

    @property
    def dilation(self) -> tuple[int, ...]:
        return self._numbers(-2)

    @property
    def shape(self) -> Shape:
        return self._numbers(-1)

    @property
    def options(self) -> dict:
        return {"stride": self.stride, "padding": self.padding, "dilation": self.dilation}

    @classmethod
    def rebuild(cls, *operands, like):
        return cls(*operands, **like.options, shape=like.shape)


class Conv(Windowed):
    """Cross-correlation of x (N, C, *spatial) with w (O, C, *kernel): F.conv1d / F.conv2d."""

    @property
    def x(self):
        return self.operands[0]

    @property
    def w(self):
        return self.operands[1]


class ConvInput(Windowed):
    """The gradient of a convolution with respect to its input: G (N, O, *out) carried back
    through w to x's shape (torch.nn.grad.conv2d_input)."""

    @property
    def g(self):
        return self.operands[0]

    @property
    def w(self):
        return self.operands[1]


class ConvWeight(Windowed):
    """The gradient of a convolution with respect to its kernel: x (N, C, …) against
    G (N, O, *out), in w's shape (torch.nn.grad.conv2d_weight)."""

    @property
    def x(self):
        return self.operands[0]

    @property
    def g(self):
        return self.operands[1]


class Pool(Windowed):
    """max or avg over windows of ``kernel`` (F.max_pool2d, F.avg_pool2d with padding counted,
    as PyTorch counts it); the kernel is kept in ``dilation``'s place as the window size."""

    def __new__(cls, kind, *operands, stride=None, padding=None, dilation=None, shape=None):
        return super().__new__(
            cls, Str(str(kind)), *operands, stride=stride, padding=padding, dilation=dilation,
            shape=shape,
        )  # fmt: skip

    @property
    def kind_name(self) -> str:
        return str(self.args[0])

    @property
    def operands(self) -> tuple:
        return self.args[1:-4]

    @property
    def kernel(self) -> tuple[int, ...]:
        return self.dilation

    @property
    def options(self) -> dict:
        return {"stride": self.stride, "padding": self.padding, "dilation": self.kernel}

    @classmethod
    def rebuild(cls, *operands, like):
        return cls(like.kind_name, *operands, **like.options, shape=like.shape)


class PoolBack(Pool):
    """The gradient of pooling with respect to its input: G spread over the windows (avg) or
    put where each window's max was (max: the first of a tie, as PyTorch)."""


class PoolPick(Pool):
    """For each window of x, the entry of h where x's max is (the second-order partner of
    max pooling's gradient)."""


class OneHot(ArrayExpr):
    """Rows of the identity picked by integer class labels: labels of n entries → n × C."""

    def __new__(cls, labels, classes):
        return Basic.__new__(cls, labels, Integer(classes))

    @property
    def labels(self):
        return self.args[0]

    @property
    def classes(self) -> int:
        return int(self.args[1])

    @property
    def shape(self) -> Shape:
        return (int(np.prod(shape_of(self.labels))), self.classes)


# --- linear algebra of a square matrix --------------------------------------------------------


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


class SingularOuter(ArrayExpr):
    """u₁v₁ᵀ for the top singular pair of a matrix: the gradient of its spectral norm where the
    largest singular value is simple."""

    def __new__(cls, matrix):
        return Basic.__new__(cls, matrix)

    @property
    def matrix(self):
        return self.args[0]

    @property
    def shape(self) -> Shape:
        return shape_of(self.matrix)
