"""The matrix operations: one record each, with its backward rule as a matrix expression.

A matrix record's ``pullback(op, g, ans)`` gets G, the adjoint of the operation's result, and
``ans``, the result itself (the node's symbol when the operation is a whole node); it returns the
adjoint of each argument, or None where no gradient flows (an axis, integer labels). Elementwise
operations have no record of their own: their partials come from the scalar records, applied
entry by entry (``elementwise_pullback``). ``unroll`` writes the operation out entry by entry
from explicit (SymPy ``Matrix``) arguments, for ``--unroll``.
"""

from __future__ import annotations

import numpy as np
import sympy
from sympy import exp
from sympy.matrices.expressions.matexpr import MatrixExpr

from .. import tensors as T
from ..errors import SymgradError
from ..tensors import elementwise
from .record import Rule, register


def sum_to(g, shape: tuple[int, ...]):
    """Undo broadcasting: sum G down to ``shape`` (NumPy's rule read backwards: the leading
    axes G has more, and the axes where ``shape`` has a 1)."""
    have = T.shape_of(g)
    if have == shape:
        return g
    if not shape:
        return T.Total(g)
    lead = len(have) - len(shape)
    ones = tuple(lead + k for k, n in enumerate(shape) if n == 1 and have[lead + k] != 1)
    if lead:
        g = T.Reduce(g, "sum", tuple(range(lead)), False) if lead < len(have) else T.Total(g)
        ones = tuple(k - lead for k in ones)
    if ones:
        g = T.Reduce(g, "sum", ones, True)
    return g


def _kept(op, g):
    """The adjoint of a reduction with the reduced axes kept as 1s (to broadcast back)."""
    if not T.shape_of(g):  # a scalar: it broadcasts as it is
        return g
    return g if op.keepdims else T.Reshape(g, op.kept_shape)


def _answer(op, ans):
    """The value of a reduction at the kept shape, to compare each entry with."""
    if isinstance(op, T.ReduceAll) or not T.shape_of(ans):
        return ans
    return ans if op.keepdims else T.Reshape(ans, op.kept_shape)


def _axes(op):
    return tuple(range(len(T.shape_of(op.matrix)))) if isinstance(op, T.ReduceAll) else op.axes


def _product(factors):
    factors = list(factors)
    if not factors:
        return None
    return factors[0] if len(factors) == 1 else sympy.MatMul(*factors).doit()


# --- pullbacks ---------------------------------------------------------------------------------


def _matmul_pullback(op, g, ans):
    scalars = [a for a in op.args if not isinstance(a, MatrixExpr)]
    matrices = [a for a in op.args if isinstance(a, MatrixExpr)]
    coefficient = sympy.Mul(*scalars)
    if isinstance(g, T.Broadcast) and g.shape == (1, 1) and not isinstance(g.value, MatrixExpr):
        # G is a 1×1 [s] (a 1×1 product used as the loss): Aᵀ[s]Bᵀ is s AᵀBᵀ
        scalars, coefficient, g = [*scalars, g.value], coefficient * g.value, None
    out = []
    position = 0  # among the matrices (a factor may repeat: A Aᵀ A)
    for arg in op.args:
        if isinstance(arg, MatrixExpr):
            i, position = position, position + 1
            left, right = _product(matrices[:i]), _product(matrices[i + 1 :])
            factors = [left.T] if left is not None else []
            factors += [g] if g is not None else []
            factors += [right.T] if right is not None else []
            adjoint = _product(factors)
            out.append(adjoint if coefficient == 1 else sympy.MatMul(coefficient, adjoint).doit())
        else:
            k = next(j for j, s in enumerate(scalars) if s is arg)
            others = sympy.Mul(*(scalars[:k] + scalars[k + 1 :]))
            picked = (
                _product(matrices)
                if g is None
                else elementwise(lambda a, b: a * b, g, _product(matrices))
            )
            out.append(others * T.Total(picked))
    return tuple(out)


def _hadamard_pullback(op, g, ans):
    out = []
    for i in range(len(op.args)):
        others = op.args[:i] + op.args[i + 1 :]
        out.append(elementwise(lambda *a: sympy.Mul(*a), g, *others))
    return tuple(out)


def _hadamard_power_pullback(op, g, ans):
    base, exponent = op.args
    if exponent.free_symbols:
        raise SymgradError(f"the exponent of {op} must be a constant")
    return (elementwise(lambda gg, b: gg * exponent * b ** (exponent - 1), g, base), None)


def _inverse_pullback(op, g, ans):
    return ((-sympy.MatMul(ans.T, g, ans.T)).doit(), None)  # SymPy's Inverse is A**-1


def _matpow_pullback(op, g, ans):
    """Aⁿ: Σₖ (Aᵀ)ᵏ G (Aᵀ)ⁿ⁻¹⁻ᵏ; for n < 0, Aⁿ = (A⁻¹)^|n|, then A⁻¹'s rule; A⁰ = I."""
    base, n = op.args
    if not n.is_Integer:
        raise SymgradError(f"symgrad differentiates a matrix power A**n for whole n, not {op}")
    n = int(n)
    size = T.shape_of(base)[0]
    if n == 0:  # A⁰ = I whatever A is
        return (sympy.ZeroMatrix(size, size), None)
    inner = base if n > 0 else sympy.Inverse(base)
    power = lambda k: sympy.Identity(size) if k == 0 else inner.T**k  # noqa: E731
    terms = [sympy.MatMul(power(k), g, power(abs(n) - 1 - k)).doit() for k in range(abs(n))]
    share = sympy.MatAdd(*terms).doit() if len(terms) > 1 else terms[0]
    if n < 0:
        share = (-sympy.MatMul(inner.T, share, inner.T)).doit()
    return (share, None)


def _trace_pullback(op, g, ans):
    n = T.shape_of(op.arg)[0]
    return (elementwise(lambda gg, i: gg * i, g, sympy.Identity(n)),)


def _determinant_pullback(op, g, ans):
    return (sympy.MatMul(g * ans, sympy.Inverse(op.arg).T).doit(),)


def _logdet_pullback(op, g, ans):
    return (sympy.MatMul(g, sympy.Inverse(op.arg).T).doit(),)


def _total_pullback(op, g, ans):
    return (T.Broadcast(g, T.shape_of(op.matrix)),)


def _sum_pullback(op, g, ans):
    if isinstance(op, T.Total):
        return _total_pullback(op, g, ans)
    return (T.Broadcast(_kept(op, g), T.shape_of(op.matrix)), None, None, None)


def _extremum_pullback(op, g, ans):
    """G to the entries that equal the max (or min), shared equally among ties: torch.amax's
    and jax's subgradient."""
    matrix, axes = op.matrix, _axes(op)
    mask = elementwise(
        lambda a, m: sympy.Piecewise((1, sympy.Eq(a, m)), (0, True)), matrix, _answer(op, ans)
    )
    count = T.Total(mask) if isinstance(op, T.ReduceAll) else T.Reduce(mask, "sum", axes, True)
    share = elementwise(lambda gg, k, c: gg * k / c, _kept(op, g), mask, count)
    return (share, *([None] * (len(op.args) - 1)))


def _prod_pullback(op, g, ans):
    others = T.ProdOthers(op.matrix, _axes(op))
    share = elementwise(lambda gg, p: gg * p, _kept(op, g), others)
    return (share, *([None] * (len(op.args) - 1)))


def _prod_others_pullback(op, h, ans):
    """∂(Π_{i≠k} x_i)/∂x_j, written for entries away from 0: the product over x_j times
    (Σ_i h_i/x_i − h_j/x_j)."""
    x, axes = op.matrix, op.axes
    total = (
        T.Reduce(x, "prod", axes, True)
        if len(axes) < len(T.shape_of(x))
        else T.ReduceAll(x, "prod")
    )
    ratio = elementwise(lambda hh, xx: hh / xx, h, x)
    summed = (
        T.Reduce(ratio, "sum", axes, True) if len(axes) < len(T.shape_of(x)) else T.Total(ratio)
    )
    share = elementwise(lambda p, xx, s, r: p / xx * (s - r), total, x, summed, ratio)
    return (share, None)


def _logsumexp_pullback(op, g, ans):
    share = elementwise(lambda gg, a, m: gg * exp(a - m), _kept(op, g), op.matrix, _answer(op, ans))
    return (share, *([None] * (len(op.args) - 1)))


def _broadcast_pullback(op, g, ans):
    return (sum_to(g, T.shape_of(op.value)), None)


def _softmax_pullback(op, g, ans):
    inner = T.Reduce(elementwise(lambda gg, s: gg * s, g, ans), "sum", (op.axis,), True)
    return (elementwise(lambda s, gg, t: s * (gg - t), ans, g, inner), None)


def _log_softmax_pullback(op, g, ans):
    total = T.Reduce(g, "sum", (op.axis,), True)
    return (elementwise(lambda gg, lp, t: gg - exp(lp) * t, g, ans, total), None)


def _cumulative_pullback(op, g, ans):
    """A running sum's adjoint is the running sum of G from the other end; a running product's
    is that of G ⊙ ans, over the entry (written for entries away from 0)."""
    if op.kind_name == "sum":
        return (T.Cumulative(g, "sum", op.axis, not op.reverse), None, None, None)
    backward = T.Cumulative(
        elementwise(lambda gg, y: gg * y, g, ans), "sum", op.axis, not op.reverse
    )
    return (elementwise(lambda s, x: s / x, backward, op.matrix), None, None, None)


def _cumulative_code(module: str):
    def spelling(op, args):
        function = f"{module}.cum{op.kind_name}"
        if module == "np":
            if op.reverse:
                return (
                    f"np.flip({function}(np.flip({args[0]}, {op.axis}), axis={op.axis}), {op.axis})"
                )
            return f"{function}({args[0]}, axis={op.axis})"
        if op.reverse:
            return f"torch.flip({function}(torch.flip({args[0]}, ({op.axis},)), {op.axis}), ({op.axis},))"
        return f"{function}({args[0]}, {op.axis})"

    return spelling


def _cumulative_math(latex: bool):
    def spelling(op, args):
        name = f"cum{op.kind_name}"
        if latex:
            mark = r"^{\leftarrow}" if op.reverse else ""
            return rf"\operatorname{{{name}}}{mark}_{{{op.axis}}}\left({args[0]}\right)"
        return f"{name}{'←' if op.reverse else ''}({args[0]}, axis={op.axis})"

    return spelling


def _cumulative_unroll(op, cells, *rest):
    moved = np.moveaxis(cells, op.axis, -1)
    out = np.empty(moved.shape, dtype=object)
    for index in np.ndindex(*moved.shape[:-1]):
        row = list(moved[index])[::-1] if op.reverse else list(moved[index])
        running, values = None, []
        for cell in row:
            running = (
                cell
                if running is None
                else (running + cell if op.kind_name == "sum" else running * cell)
            )
            values.append(running)
        out[index] = np.array(values[::-1] if op.reverse else values, dtype=object)
    return np.moveaxis(out, -1, op.axis)


def _reshape_pullback(op, g, ans):
    return (T.Reshape(g, T.shape_of(op.matrix)), None)


def _permute_pullback(op, g, ans):
    return (T.Permute(g, T.inverse_permutation(op.axes)), None)


def _index_pullback(op, g, ans):
    return (T.Embed(g, op.parts, T.shape_of(op.matrix)), None)


def _embed_pullback(op, h, ans):
    """The values were placed at the key: their adjoint is the adjoint read at the key."""
    values_shape = T.shape_of(op.values)
    picked = T.Entry(h, op.parts) if not values_shape else T.Index(h, op.parts)
    have = T.shape_of(picked)
    if values_shape and have != values_shape:  # values broadcast over the key
        if len(have) < len(values_shape):
            picked = T.Reshape(picked, (1,) * (len(values_shape) - len(have)) + have)
        picked = sum_to(picked, values_shape)
    return (picked, None, None)


def _concatenate_pullback(op, g, ans):
    out = [None]
    shape = T.shape_of(op)
    for array, start in zip(op.arrays, op.offsets(), strict=True):
        size = T.shape_of(array)[op.axis]
        parts = [
            slice(start, start + size, 1) if k == op.axis else slice(0, n, 1)
            for k, n in enumerate(shape)
        ]
        out.append(T.Index(g, T.key_parts(parts)))
    return tuple(out)


def _element_pullback(op, g, ans):
    """SymPy's A[i, j]: G placed at (i, j)."""
    parent, i, j = op.args
    return (T.Embed(g, T.key_parts((int(i), int(j))), T.shape_of(parent)), None, None)


def _kronecker_pullback(op, g, ans):
    """A ⊗ B, with G seen as G[i, k, j, l] = G[i·p + k, j·q + l]: ∂A = Σ_kl G ⊙ B, ∂B = Σ_ij G ⊙ A."""
    if len(op.args) != 2:
        raise SymgradError("symgrad differentiates the Kronecker product of two matrices")
    a, b = op.args
    (m, n), (p, q) = T.shape_of(a), T.shape_of(b)
    blocks = T.Permute(T.Reshape(g, (m, p, n, q)), (0, 2, 1, 3))  # G[i, j, k, l]
    da = T.Reduce(elementwise(lambda gg, bb: gg * bb, blocks, b), "sum", (2, 3), False)
    spread = T.Reshape(a, (m, n, 1, 1))
    db = T.Reduce(elementwise(lambda gg, aa: gg * aa, blocks, spread), "sum", (0, 1), False)
    return (da, db)


def _swap_last(x):
    """x with its last two axes swapped (a matrix's transpose)."""
    rank = len(T.shape_of(x))
    if rank == 2:
        return x.T
    return T.Permute(x, (*range(rank - 2), rank - 1, rank - 2))


def _matmul_general(a, b):
    if len(T.shape_of(a)) == 2 and len(T.shape_of(b)) == 2:
        return sympy.MatMul(a, b).doit()
    return T.MatMul(a, b)


def _matmul_nd_pullback(op, g, ans):
    """As for matrices (G Bᵀ and Aᵀ G), with a vector side promoted to a matrix and its
    promoted axis put back, and batch axes summed back where they were broadcast."""
    a, b = op.left, op.right
    sa, sb = T.shape_of(a), T.shape_of(b)
    a2 = T.Reshape(a, (1, sa[0])) if len(sa) == 1 else a
    b2 = T.Reshape(b, (sb[0], 1)) if len(sb) == 1 else b
    promoted = T.matmul_shape(T.shape_of(a2), T.shape_of(b2))
    g2 = T.Reshape(g, promoted) if T.shape_of(g) != promoted else g
    da = sum_to(_matmul_general(g2, _swap_last(b2)), T.shape_of(a2))
    db = sum_to(_matmul_general(_swap_last(a2), g2), T.shape_of(b2))
    if len(sa) == 1:
        da = T.Reshape(da, sa)
    if len(sb) == 1:
        db = T.Reshape(db, sb)
    return (da, db)


def _spectral_pullback(op, g, ans):
    return (elementwise(lambda gg, u: gg * u, g, T.SingularOuter(op.matrix)),)


def _not_differentiated(what):
    def pullback(op, g, ans):
        raise SymgradError(f"symgrad has no proven rule to differentiate {what}")

    return pullback


def elementwise_pullback(op: T.Elementwise, g, partials, ans=None) -> tuple:
    """Adjoints of an Elementwise's operands from the scalar partials of its template
    (``partials[i]``: a Lambda of the template's variables, plus ``ans`` as the last one when
    given): G ⊙ ∂f/∂aᵢ entry by entry, summed back over broadcast axes."""
    out = []
    for operand, partial in zip(op.operands, partials, strict=True):
        if partial is None:
            out.append(None)
            continue
        values = (*op.operands, ans) if ans is not None else op.operands
        full = elementwise(lambda gg, *a, d=partial: gg * d(*a), g, *values)
        out.append(sum_to(full, T.shape_of(operand)))
    return (None, *out)  # nothing flows to the template itself


# --- spellings ---------------------------------------------------------------------------------


def _grouped(text: str) -> str:
    simple = text.replace("_", "").replace(".", "").isalnum()
    return text if simple else f"({text})"


def _matmul_code(op, args):
    scalars = [p for a, p in zip(op.args, args, strict=True) if not isinstance(a, MatrixExpr)]
    matrices = [
        _grouped(p) for a, p in zip(op.args, args, strict=True) if isinstance(a, MatrixExpr)
    ]
    product = " @ ".join(matrices)
    return " * ".join([*map(_grouped, scalars), _grouped(product) if scalars else product])


def _matmul_math(joiner):
    def spelling(op, args):
        # ∂L/∂y w₂ᵀ would read as ∂L/∂(y w₂ᵀ) in text: a dot after a slash
        slashed = any("/" in a and not a.startswith("(") for a in args[:-1])
        glue = " · " if joiner == " " and slashed else joiner
        return glue.join(args)

    return spelling


_NUMPY_REDUCE = {"sum": "np.sum", "max": "np.max", "min": "np.min", "prod": "np.prod",
                 "logsumexp": "_logsumexp"}  # fmt: skip
_TORCH_REDUCE = {"sum": "torch.sum", "max": "torch.amax", "min": "torch.amin", "prod": "_prod",
                 "logsumexp": "torch.logsumexp"}  # fmt: skip


def _reduce_code(module: str):
    def spelling(op, args):
        names = _NUMPY_REDUCE if module == "np" else _TORCH_REDUCE
        function = names[op.kind_name]
        if not isinstance(op, T.Reduce):  # every entry
            if module == "torch" and op.kind_name in ("logsumexp", "prod"):
                return f"{function}({_grouped(args[0])}.reshape(-1), 0)"
            return f"{function}({args[0]})"
        axes = op.axes[0] if len(op.axes) == 1 else op.axes
        if module == "np":
            keep = ", keepdims=True" if op.keepdims else ""
            return f"{function}({args[0]}, axis={axes}{keep})"
        keep = ", keepdim=True" if op.keepdims else ""
        return f"{function}({args[0]}, {axes}{keep})"

    return spelling


_REDUCE_MATH = {"sum": "sum", "max": "max", "min": "min", "prod": "prod", "logsumexp": "logsumexp"}


def _reduce_math(latex: bool):
    def spelling(op, args):
        name = _REDUCE_MATH[op.kind_name]
        if not isinstance(op, T.Reduce):
            return (
                rf"\operatorname{{{name}}}\left({args[0]}\right)" if latex else f"{name}({args[0]})"
            )
        axes = ",".join(map(str, op.axes))
        keep = ", keepdims" if op.keepdims else ""
        if latex:
            return rf"\operatorname{{{name}}}_{{{axes}}}\left({args[0]}\right)"
        return f"{name}({args[0]}, axis={axes}{keep})"

    return spelling


def _slice_text(part, size: int) -> str:
    start, stop, step = (int(v) for v in part)
    text = "" if (step > 0 and start == 0) or (step < 0 and start == size - 1) else str(start)
    end = "" if (step > 0 and stop >= size) or (step < 0 and stop < 0) else str(stop)
    return f"{text}:{end}" + ("" if step == 1 else f":{step}")


def _key_text(op, arrays, matrix_shape, arrays_as=None, module="np") -> str:
    """The key of an Index, Entry or Embed as NumPy code writes it (``1:3, ::2, 0``)."""
    out, printed = [], iter(arrays)
    for axis, part in enumerate(op.parts):
        if isinstance(part, sympy.Tuple):
            out.append(_slice_text(part, matrix_shape[axis]))
        elif isinstance(part, sympy.Integer):
            out.append(_integer_code(op, int(part), module))
        else:
            text = next(printed)
            out.append(arrays_as.format(text) if arrays_as else text)
    return ", ".join(out)


def _integer_code(op, k: int, module: str) -> str:
    """An integer of a key. Beside index arrays NumPy reads it as one more index array (which
    decides where the arrays' axes go); torch would read a plain int as a select."""
    if module == "torch" and any(isinstance(p, MatrixExpr) for p in op.parts):
        return f"torch.tensor([{k}], device=device)"
    return str(k)


def _index_code(module: str):
    def spelling(op, args):
        integer = "{}.astype(np.intp)" if module == "np" else "{}.long()"
        key = _key_text(op, args[1:], T.shape_of(op.matrix), integer, module)
        if module == "torch" and any(
            isinstance(p, sympy.Tuple) and int(p[2]) < 0 for p in op.parts
        ):
            return f"_index({args[0]}, {_key_code(op, args[1:], integer, module)})"
        return f"{_grouped(args[0])}[{key}]"

    return spelling


def _key_code(op, arrays, integer: str, module: str) -> str:
    """The key as a Python tuple expression (for the helpers)."""
    out, printed = [], iter(arrays)
    for part in op.parts:
        if isinstance(part, sympy.Tuple):
            start, stop, step = (int(v) for v in part)
            out.append(f"slice({start}, {None if stop < 0 else stop}, {step})")
        elif isinstance(part, sympy.Integer):
            out.append(_integer_code(op, int(part), module))
        else:
            out.append(integer.format(next(printed)))
    return "(" + ", ".join(out) + ("," if len(out) == 1 else "") + ")"


def _index_math(latex: bool):
    def spelling(op, args):
        key = _key_text(op, args[1:], T.shape_of(op.matrix))
        if latex:
            spaced = key.replace(", ", r",\,")
            return rf"{args[0]}\left[{spaced}\right]"
        return f"{args[0]}[{key}]"

    return spelling


def _embed_code(module: str):
    def spelling(op, args):
        integer = "{}.astype(np.intp)" if module == "np" else "{}.long()"
        key = _key_code(op, args[1:], integer, module)
        if module == "np":
            return f"_embed({args[0]}, {key}, {T.shape_of(op)})"
        return f"_embed({args[0]}, {key}, {T.shape_of(op)}, dtype, device)"

    return spelling


def _embed_math(latex: bool):
    def spelling(op, args):
        key = _key_text(op, args[1:], T.shape_of(op))
        if latex:
            return rf"\operatorname{{scatter}}_{{[{key}]}}\left({args[0]}\right)"
        return f"scatter[{key}]({args[0]})"

    return spelling


def _index_domains(op) -> dict:
    """An array of indices into an axis of n entries holds whole numbers 0 … n − 1."""
    shape = T.shape_of(op.matrix)
    return {
        (part, "index"): ("labels", shape[axis])
        for axis, part in enumerate(op.parts)
        if isinstance(part, MatrixExpr)
    }


def _index_parts(op):
    return [op.matrix, *[p for p in op.parts if isinstance(p, MatrixExpr)]]


def _embed_parts(op):
    return [op.values, *[p for p in op.parts if isinstance(p, MatrixExpr)]]


def _concatenate_code(module: str):
    def spelling(op, args):
        if module == "np":
            return f"np.concatenate([{', '.join(args[1:])}], axis={op.axis})"
        return f"torch.cat([{', '.join(args[1:])}], dim={op.axis})"

    return spelling


def _broadcast_numpy(op, args) -> str:
    # a number fills a fresh array of float64 (np.broadcast_to(0, …) would be int64)
    if op.value.is_number:
        return f"np.full({op.shape}, {float(op.value)!r})"
    return f"np.broadcast_to({args[0]}, {op.shape})"


def _times_latex(shape) -> str:
    return r"\times ".join(map(str, shape))


def _constant_math(op, latex: bool) -> str:
    """A short constant by its numbers (an index table [0, 1, 2]), a long one by its shape."""
    array = op.array
    if array.ndim == 1 and array.size <= 8:
        numbers = ", ".join(f"{v:g}" for v in array)
        return rf"\left[{numbers}\right]" if latex else f"[{numbers}]"
    if latex:
        return rf"\mathrm{{const}}_{{{_times_latex(op.shape)}}}"
    return f"const({'×'.join(map(str, op.shape))})"


def _constant_code(module: str):
    def spelling(op, args):
        values = op.array.tolist()
        if module == "np":
            return f"np.array({values!r})"
        return f"torch.tensor({values!r}, dtype=dtype, device=device)"

    return spelling


def _torch_constant(kind):
    def spelling(op, args):
        shape = f"{op.shape[0]}, {op.shape[1]}" if kind != "eye" else f"{op.shape[0]}"
        return f"torch.{kind}({shape}, dtype=dtype, device=device)"

    return spelling


def _numpy_constant(kind):
    def spelling(op, args):
        return f"np.eye({op.shape[0]})" if kind == "eye" else f"np.{kind}({op.shape})"

    return spelling


def _fixed(text):
    return lambda op, args: text.format(*args)


def _matpow_code(module):
    def spelling(op, args):
        if int(op.args[1]) < 0:
            return (
                f"{module}.linalg.matrix_power({module}.linalg.inv({args[0]}), {-int(op.args[1])})"
            )
        return f"{module}.linalg.matrix_power({args[0]}, {args[1]})"

    return spelling


# --- writing out entry by entry ------------------------------------------------------------------


def _cells(value) -> np.ndarray:
    """An explicit SymPy matrix as an array of its entries."""
    return np.array(value.tolist(), dtype=object)


def _matrix(cells):
    return sympy.ImmutableMatrix(cells.tolist())


def _times(a, b):
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return np.matmul(a, b)
    return a * b


def _chained(combine):
    def unroll(op, *parts):
        out = parts[0]
        for part in parts[1:]:
            out = combine(out, part)
        return out

    return unroll


def _along_axis(function):
    """Softmax-like operations written out along their axis."""

    def unroll(op, cells, *rest):
        moved = np.moveaxis(cells, op.axis, -1)
        out = np.empty(moved.shape, dtype=object)
        for index in np.ndindex(*moved.shape[:-1]):
            out[index] = function(list(moved[index]))
        return np.moveaxis(out, -1, op.axis)

    return unroll


def _softmax_cells(row):
    total = sympy.Add(*[sympy.exp(c) for c in row])
    return np.array([sympy.exp(c) / total for c in row], dtype=object)


def _log_softmax_cells(row):
    total = sympy.Add(*[sympy.exp(c) for c in row])
    return np.array([c - sympy.log(total) for c in row], dtype=object)


def _no_unroll(why):
    def unroll(op, *parts):
        raise SymgradError(f"symgrad cannot unroll {why}")

    return unroll


def _reduction_builder(kind: str):
    def build(a, kind_given=None, axes=None, keepdims=False):
        if axes is None:
            return T.Total(a) if kind == "sum" else T.ReduceAll(a, kind)
        return T.Reduce(a, kind, axes, keepdims)

    return build


def _reduction_unroll(op, cells, *rest):
    axes = tuple(range(cells.ndim)) if not isinstance(op, T.Reduce) else op.axes
    moved = np.moveaxis(cells, axes, tuple(range(-len(axes), 0)))
    flat = moved.reshape((*moved.shape[: moved.ndim - len(axes)], -1))
    out = np.empty(flat.shape[:-1], dtype=object)
    for index in np.ndindex(*flat.shape[:-1]):
        out[index] = T.combine(op.kind_name, list(flat[index]))
    if not isinstance(op, T.Reduce):
        return out.item()
    return out.reshape(op.shape)


def _index_unroll(op, cells, *rest):
    if isinstance(op, T.Entry):
        return cells[op.index]
    if op.advanced:
        raise SymgradError("symgrad cannot unroll indexing by an array of labels")
    return cells[T.python_key(op.parts)]


def _constant_cells(shape, fill):
    return np.array(fill(shape), dtype=object)


# --- example arguments (the tests and the docs build each operation from them) ---------------------

_RNG = np.random.default_rng(7)
_A = _RNG.normal(size=(3, 4))
_B = _RNG.normal(size=(4, 2))
_S = _RNG.normal(size=(3, 3)) + 3 * np.eye(3)  # well conditioned, positive determinant
_ROW = _RNG.normal(size=(1, 4))
_B3 = _RNG.normal(size=(2, 3, 4))


def _labels(n, classes):
    return np.asarray(_RNG.integers(0, classes, size=(n, 1)), dtype=np.float64)


# fmt: off
RULES: tuple[Rule, ...] = (
    Rule(
        "matmul", sympy.MatMul, "matrix", "matrix product A B (with a scalar factor c)",
        ("A", "B"), ((_A, _B),), pullback=_matmul_pullback,
        build=lambda a, b: sympy.MatMul(a, b),
        numpy=_matmul_code, torch=_matmul_code, latex=_matmul_math(r"\,"), text=_matmul_math(" "),
        textbook="∂/∂A: G Bᵀ,  ∂/∂B: Aᵀ G,  ∂/∂c: sum(G ⊙ AB)",
        unroll=_chained(_times),
    ),
    Rule(
        "matadd", sympy.MatAdd, "matrix", "sum of matrices of one shape", ("A", "B"), ((_A, _A * 0.5),),
        pullback=lambda op, g, ans: tuple(g for _ in op.args), build=lambda a, b: sympy.MatAdd(a, b),
        numpy=lambda op, a: " + ".join(a), torch=lambda op, a: " + ".join(a),
        latex=lambda op, a: " + ".join(a), text=lambda op, a: " + ".join(a),
        textbook="∂/∂Aᵢ: G", unroll=_chained(lambda a, b: a + b),
    ),
    Rule(
        "transpose", sympy.Transpose, "matrix", "transpose", ("A",), ((_A,),),
        pullback=lambda op, g, ans: (g.T,), build=lambda a: sympy.Transpose(a),
        numpy=lambda op, a: f"{_grouped(a[0])}.T", torch=lambda op, a: f"{_grouped(a[0])}.T",
        latex=lambda op, a: f"{a[0]}^{{\\top}}", text=lambda op, a: f"{a[0]}ᵀ",
        textbook="∂/∂A: Gᵀ", unroll=lambda op, a: a.T,
    ),
    Rule(
        "hadamard", sympy.HadamardProduct, "matrix", "entry-by-entry product A ⊙ B", ("A", "B"),
        ((_A, _A * 0.3),), pullback=_hadamard_pullback, build=lambda a, b: sympy.HadamardProduct(a, b),
        numpy=lambda op, a: " * ".join(map(_grouped, a)), torch=lambda op, a: " * ".join(map(_grouped, a)),
        latex=lambda op, a: r" \odot ".join(a), text=lambda op, a: " ⊙ ".join(a),
        textbook="∂/∂A: G ⊙ B", unroll=_chained(lambda a, b: a * b),
    ),
    Rule(
        "hadamard_power", sympy.HadamardPower, "matrix", "entry-by-entry power A^∘n", ("A", "n"),
        ((np.abs(_A) + 0.5, 3),), pullback=_hadamard_power_pullback,
        build=lambda a, n: sympy.HadamardPower(a, n),
        numpy=lambda op, a: f"{_grouped(a[0])}**{_grouped(a[1])}",
        torch=lambda op, a: f"{_grouped(a[0])}**{_grouped(a[1])}",
        latex=lambda op, a: f"{a[0]}^{{\\circ {a[1]}}}", text=lambda op, a: f"{a[0]}^∘{a[1]}",
        textbook="∂/∂A: G ⊙ n A^∘(n−1)",
        unroll=lambda op, base, n: np.vectorize(lambda e: e**n, otypes=[object])(base),
    ),
    Rule(
        "inverse", sympy.Inverse, "matrix", "matrix inverse", ("A",), ((_S,),),
        pullback=_inverse_pullback, build=lambda a: sympy.Inverse(a),
        numpy=_fixed("np.linalg.inv({0})"), torch=_fixed("torch.linalg.inv({0})"),
        latex=lambda op, a: f"{a[0]}^{{-1}}", text=lambda op, a: f"{a[0]}⁻¹",
        textbook="∂/∂A: −A⁻ᵀ G A⁻ᵀ", unroll=lambda op, a, *rest: _cells(_matrix(a).inv()),
    ),
    Rule(
        "matrix_power", sympy.MatPow, "matrix", "matrix power Aⁿ for whole n (A⁻² = (A⁻¹)², A⁰ = I)",
        ("A", "n"), ((_S, 2), (_S, -2)), pullback=_matpow_pullback,
        build=lambda a, n: sympy.MatPow(a, n),
        numpy=_matpow_code("np"), torch=_matpow_code("torch"),
        latex=lambda op, a: f"{a[0]}^{{{a[1]}}}", text=lambda op, a: f"{a[0]}^{a[1]}",
        textbook="∂/∂A: Σₖ (Aᵀ)ᵏ G (Aᵀ)ⁿ⁻¹⁻ᵏ; for n < 0 through A⁻¹",
        unroll=lambda op, a, n: _cells(_matrix(a) ** int(n)),
    ),
    Rule(
        "trace", sympy.Trace, "matrix", "trace (a scalar)", ("A",), ((_S,),),
        pullback=_trace_pullback, build=lambda a: sympy.Trace(a),
        numpy=_fixed("np.trace({0})"), torch=_fixed("torch.trace({0})"),
        latex=lambda op, a: rf"\operatorname{{tr}}\left({a[0]}\right)", text=lambda op, a: f"tr({a[0]})",
        textbook="∂/∂A: G I", unroll=lambda op, a: sympy.Add(*np.diagonal(a)),
    ),
    Rule(
        "det", sympy.Determinant, "matrix", "determinant (a scalar)", ("A",), ((_S,),),
        pullback=_determinant_pullback, build=lambda a: sympy.Determinant(a),
        numpy=_fixed("np.linalg.det({0})"), torch=_fixed("torch.linalg.det({0})"),
        latex=lambda op, a: rf"\det\left({a[0]}\right)", text=lambda op, a: f"det({a[0]})",
        textbook="∂/∂A: G det(A) A⁻ᵀ", unroll=lambda op, a: _matrix(a).det(),
    ),
    Rule(
        "logdet", T.LogDet, "matrix", "log det A (a scalar; det A > 0), without overflow", ("A",),
        ((_S,),), pullback=_logdet_pullback, build=lambda a: T.LogDet(a),
        numpy=_fixed("_logdet({0})"), torch=_fixed("_logdet({0})"),
        latex=lambda op, a: rf"\log\det\left({a[0]}\right)", text=lambda op, a: f"log det({a[0]})",
        textbook="∂/∂A: G A⁻ᵀ", unroll=lambda op, a: sympy.log(_matrix(a).det()),
        helpers={
            "numpy": {"_logdet": """\
def _logdet(a):
    sign, logabs = np.linalg.slogdet(a)
    return logabs if sign > 0 else np.nan  # log det A needs det A > 0
"""},
            "torch": {"_logdet": """\
def _logdet(a):
    sign, logabs = torch.linalg.slogdet(a)
    return torch.where(sign > 0, logabs, torch.full_like(logabs, float("nan")))
"""},
        },
    ),
    Rule(
        "sum", (T.Total, T.Reduce), "reduction",
        "sum of every entry (a scalar), or along axes (dropped unless keepdims), as np.sum",
        ("A", "kind", "axes", "keepdims"), ((_A,), (_A, "sum", (1,), False), (_B3, "sum", (0, 2), True)),
        pullback=_sum_pullback, build=_reduction_builder("sum"),
        matches=lambda op: op.kind_name == "sum",
        numpy=_reduce_code("np"), torch=_reduce_code("torch"),
        latex=_reduce_math(True), text=_reduce_math(False),
        textbook="∂/∂A: G repeated along the summed axes", unroll=_reduction_unroll,
    ),
    Rule(
        "max", (T.ReduceAll, T.Reduce), "reduction",
        "largest entry, or along axes, as np.max; ties share the gradient equally (torch.amax)",
        ("A", "kind", "axes", "keepdims"), ((_A, "max"), (_A, "max", (0,), False), (_B3, "max", (1, 2), True)),
        pullback=_extremum_pullback, build=_reduction_builder("max"),
        matches=lambda op: op.kind_name == "max",
        numpy=_reduce_code("np"), torch=_reduce_code("torch"),
        latex=_reduce_math(True), text=_reduce_math(False),
        textbook="∂/∂A: G ⊙ 𝟙[A = max] / (number of ties)", unroll=_reduction_unroll,
    ),
    Rule(
        "min", (T.ReduceAll, T.Reduce), "reduction",
        "smallest entry, or along axes, as np.min; ties share the gradient equally",
        ("A", "kind", "axes", "keepdims"), ((_A, "min"), (_A, "min", (1,), True)),
        pullback=_extremum_pullback, build=_reduction_builder("min"),
        matches=lambda op: op.kind_name == "min",
        numpy=_reduce_code("np"), torch=_reduce_code("torch"),
        latex=_reduce_math(True), text=_reduce_math(False),
        textbook="∂/∂A: G ⊙ 𝟙[A = min] / (number of ties)", unroll=_reduction_unroll,
    ),
    Rule(
        "prod", (T.ReduceAll, T.Reduce), "reduction", "product of the entries, or along axes",
        ("A", "kind", "axes", "keepdims"), ((_A, "prod"), (_A, "prod", (1,), False)),
        pullback=_prod_pullback, build=_reduction_builder("prod"),
        matches=lambda op: op.kind_name == "prod",
        numpy=_reduce_code("np"), torch=_reduce_code("torch"),
        latex=_reduce_math(True), text=_reduce_math(False),
        textbook="∂/∂A: G ⊙ (product of the other entries)", unroll=_reduction_unroll,
        helpers={"torch": {"_prod": """\
def _prod(a, dims, keepdim=False):
    dims = (dims,) if isinstance(dims, int) else dims
    for dim in sorted(dims, reverse=True):
        a = torch.prod(a, dim, keepdim=keepdim)
    return a
"""}},
    ),
    Rule(
        "prod_others", T.ProdOthers, "reduction",
        "for each entry the product of the others along the axes (∂prod/∂entry, exact at 0)",
        ("A", "axes"), ((_A, (1,)),), pullback=_prod_others_pullback,
        build=lambda a, axes: T.ProdOthers(a, axes),
        numpy=lambda op, a: f"_prod_others({a[0]}, {op.axes})",
        torch=lambda op, a: f"_prod_others({a[0]}, {op.axes})",
        latex=lambda op, a: rf"\operatorname{{prod}}_{{\neq}}\left({a[0]}\right)",
        text=lambda op, a: f"prod_others({a[0]})",
        textbook="for entries away from 0: ∂/∂A_j: (P/A_j)(Σᵢ Hᵢ/Aᵢ − H_j/A_j)",
        unroll=_no_unroll("the product of the other entries"),
        helpers={
            "numpy": {"_prod_others": """\
def _prod_others(a, axes):
    # the product of the entries before and after each one, along the axes flattened
    moved = np.moveaxis(a, axes, tuple(range(-len(axes), 0)))
    flat = moved.reshape(moved.shape[: moved.ndim - len(axes)] + (-1,))
    ones = np.ones(flat.shape[:-1] + (1,))
    before = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    after = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    return np.moveaxis((before * after).reshape(moved.shape), tuple(range(-len(axes), 0)), axes)
"""},
            "torch": {"_prod_others": """\
def _prod_others(a, axes):
    last = tuple(range(-len(axes), 0))
    moved = torch.movedim(a, axes, last)
    flat = moved.reshape(moved.shape[: moved.dim() - len(axes)] + (-1,))
    ones = torch.ones(flat.shape[:-1] + (1,), dtype=a.dtype, device=a.device)
    before = torch.cumprod(torch.cat([ones, flat[..., :-1]], dim=-1), dim=-1)
    after = torch.cumprod(torch.cat([ones, flat.flip(-1)[..., :-1]], dim=-1), dim=-1).flip(-1)
    return torch.movedim((before * after).reshape(moved.shape), last, axes)
"""},
        },
    ),
    Rule(
        "logsumexp", (T.ReduceAll, T.Reduce), "reduction",
        "log Σ exp of the entries, or along axes, computed stably", ("A", "kind", "axes", "keepdims"),
        ((_A, "logsumexp"), (_A, "logsumexp", (1,), False)),
        pullback=_logsumexp_pullback, build=_reduction_builder("logsumexp"),
        matches=lambda op: op.kind_name == "logsumexp",
        numpy=_reduce_code("np"), torch=_reduce_code("torch"),
        latex=_reduce_math(True), text=_reduce_math(False),
        textbook="∂/∂A: G ⊙ exp(A − logsumexp(A)) (the softmax)", unroll=_reduction_unroll,
        helpers={"numpy": {"_logsumexp": """\
def _logsumexp(a, axis=None, keepdims=False):
    top = np.max(a, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    out = np.log(np.sum(np.exp(a - top), axis=axis, keepdims=True)) + top
    return out if keepdims else np.squeeze(out, axis=axis)
"""}},
    ),
    Rule(
        "cumsum", T.Cumulative, "reduction", "running sums along an axis (np.cumsum)",
        ("A", "kind", "axis", "reverse"), ((_A, "sum", 1), (_B3, "sum", 0, True)),
        pullback=_cumulative_pullback, build=lambda a, kind, axis, reverse=False: T.Cumulative(a, "sum", axis, reverse),
        matches=lambda op: op.kind_name == "sum",
        numpy=_cumulative_code("np"), torch=_cumulative_code("torch"),
        latex=_cumulative_math(True), text=_cumulative_math(False),
        textbook="∂/∂A: the running sum of G from the other end", unroll=_cumulative_unroll,
    ),
    Rule(
        "cumprod", T.Cumulative, "reduction", "running products along an axis (np.cumprod; entries ≠ 0)",
        ("A", "kind", "axis", "reverse"), ((_A, "prod", 1), (_B3, "prod", 2)),
        pullback=_cumulative_pullback, build=lambda a, kind, axis, reverse=False: T.Cumulative(a, "prod", axis, reverse),
        matches=lambda op: op.kind_name == "prod",
        numpy=_cumulative_code("np"), torch=_cumulative_code("torch"),
        latex=_cumulative_math(True), text=_cumulative_math(False),
        textbook="∂/∂A: (running sum of G ⊙ ans from the other end) / A", unroll=_cumulative_unroll,
    ),
    Rule(
        "broadcast", T.Broadcast, "array", "a scalar or array repeated to a shape (np.broadcast_to)",
        ("v", "shape"), ((_ROW, (3, 4)), (_B, (3, 4, 2))), pullback=_broadcast_pullback,
        build=lambda v, shape: T.Broadcast(v, shape),
        numpy=_broadcast_numpy,
        torch=lambda op, a: f"_broadcast({a[0]}, {op.shape}, dtype, device)",
        latex=lambda op, a: a[0], text=lambda op, a: a[0],
        textbook="∂/∂v: G summed back to v's shape",
        unroll=lambda op, v, *rest: np.broadcast_to(np.asarray(v, dtype=object), op.shape),
        helpers={"torch": {"_broadcast": """\
def _broadcast(value, shape, dtype, device):
    return torch.as_tensor(value, dtype=dtype, device=device).expand(shape)
"""}},
    ),
    Rule(
        "reshape", T.Reshape, "array", "the same entries in another shape, C order (np.reshape)",
        ("A", "shape"), ((_A, (2, 6)), (_A, (12,)), (_B3, (4, 3, 2))), pullback=_reshape_pullback,
        build=lambda a, shape: T.Reshape(a, shape),
        numpy=lambda op, a: f"np.reshape({a[0]}, {op.shape})",
        torch=lambda op, a: f"{_grouped(a[0])}.reshape({op.shape})",
        latex=lambda op, a: rf"\operatorname{{reshape}}_{{{_times_latex(op.shape)}}}\left({a[0]}\right)",
        text=lambda op, a: f"reshape({a[0]}, {'×'.join(map(str, op.shape))})",
        textbook="∂/∂A: G in A's shape", unroll=lambda op, a, *rest: a.reshape(op.shape),
    ),
    Rule(
        "permute", T.Permute, "array", "the axes in another order (np.transpose(a, axes))",
        ("A", "axes"), ((_B3, (2, 0, 1)),), pullback=_permute_pullback,
        build=lambda a, axes: T.Permute(a, axes),
        numpy=lambda op, a: f"np.transpose({a[0]}, {op.axes})",
        torch=lambda op, a: f"{_grouped(a[0])}.permute{op.axes}",
        latex=lambda op, a: rf"{a[0]}^{{\top{list(op.axes)}}}".replace("[", "(").replace("]", ")"),
        text=lambda op, a: f"{a[0]}ᵀ{op.axes}",
        textbook="∂/∂A: G with the axes put back", unroll=lambda op, a, *rest: a.transpose(op.axes),
    ),
    Rule(
        "index", (T.Index, T.Entry), "array",
        "NumPy's indexing: integers, slices with steps, arrays of indices (a gather)",
        ("A", "key"), ((_A, (1, slice(None, None, 2))), (_A, (-1, 2)), (_B3, (slice(1, 3), 0, [2, 0, 1]))),
        pullback=_index_pullback, build=lambda a, key: T.unwrap(T.index(a, key)), parts=_index_parts,
        domains=_index_domains,
        numpy=_index_code("np"), torch=_index_code("torch"),
        latex=_index_math(True), text=_index_math(False),
        textbook="∂/∂A: G scattered back to where it was read (added up where read twice)",
        unroll=_index_unroll,
        helpers={"torch": {"_index": """\
def _index(a, key):
    # torch slices have no negative step: flip those axes first
    flipped, plain = [], []
    for axis, part in enumerate(key):
        if isinstance(part, slice) and part.step < 0:
            size = a.shape[axis]
            start = part.start
            stop = -1 if part.stop is None else part.stop
            flipped.append(axis)
            plain.append(slice(size - 1 - start, size - 1 - stop, -part.step))
        else:
            plain.append(part)
    return torch.flip(a, flipped)[tuple(plain)]
"""}},
    ),
    Rule(
        "scatter", T.Embed, "array", "zeros but for values placed at a key (np.add.at): indexing's pullback",
        ("values", "key", "shape"), ((_ROW[0].copy(), (1, slice(None)), (3, 4)), (_ROW, (slice(0, 3, 2), slice(None)), (3, 4))), pullback=_embed_pullback,
        build=lambda v, key, shape: T.Embed(v, T.key_parts(T.concrete_key(key, shape)), shape),
        parts=_embed_parts, numpy=_embed_code("np"), torch=_embed_code("torch"),
        latex=_embed_math(True), text=_embed_math(False),
        textbook="∂/∂values: the adjoint read at the key", unroll=_no_unroll("a scatter"),
        helpers={
            "numpy": {"_embed": """\
def _embed(values, key, shape):
    out = np.zeros(shape)
    np.add.at(out, key, values)
    return out
"""},
            "torch": {"_embed": """\
def _embed(values, key, shape, dtype, device):
    # the flat positions the key reads, found by NumPy on a table of positions; index_add
    # adds values that land on one entry twice, as np.add.at does
    import numpy

    numbers = numpy.arange(int(numpy.prod(shape))).reshape(shape)
    picked = numbers[tuple(p.cpu().numpy() if isinstance(p, torch.Tensor) else p for p in key)]
    flat = torch.as_tensor(numpy.ascontiguousarray(picked).reshape(-1), device=device)
    values = torch.as_tensor(values, dtype=dtype, device=device).expand(picked.shape)
    out = torch.zeros(int(numpy.prod(shape)), dtype=dtype, device=device)
    return out.index_add(0, flat, values.reshape(-1)).reshape(shape)
"""},
        },
    ),
    Rule(
        "concatenate", T.Concatenate, "array", "arrays joined along an axis (np.concatenate)",
        ("axis", "A", "B"), ((0, _A, _A * 0.5), (1, _A, _ROW[:, :3].repeat(3, 0))),
        pullback=_concatenate_pullback, build=lambda axis, *arrays: T.Concatenate(axis, *arrays),
        numpy=_concatenate_code("np"), torch=_concatenate_code("torch"),
        latex=lambda op, a: rf"\operatorname{{concat}}_{{{op.axis}}}\left({', '.join(a[1:])}\right)",
        text=lambda op, a: f"concat_{op.axis}({', '.join(a[1:])})",
        textbook="∂/∂Aᵢ: G's slice where Aᵢ was put",
        unroll=lambda op, axis, *parts: np.concatenate(parts, axis=op.axis),
    ),
    Rule(
        "element", sympy.matrices.expressions.matexpr.MatrixElement, "array",
        "SymPy's A[i, j] of a matrix (a scalar)", ("A", "i", "j"), ((_A, 1, 2),),
        pullback=_element_pullback, build=lambda a, i, j: a[i, j],
        numpy=lambda op, a: f"{_grouped(a[0])}[{a[1]}, {a[2]}]", torch=lambda op, a: f"{_grouped(a[0])}[{a[1]}, {a[2]}]",
        latex=lambda op, a: rf"{a[0]}\left[{a[1]},\,{a[2]}\right]", text=lambda op, a: f"{a[0]}[{a[1]}, {a[2]}]",
        textbook="∂/∂A: G at (i, j), 0 elsewhere", unroll=lambda op, a, i, j: a[int(i), int(j)],
    ),
    Rule(
        "kronecker", sympy.KroneckerProduct, "matrix", "Kronecker product A ⊗ B (np.kron)",
        ("A", "B"), ((_A[:2, :3].copy(), _B),), pullback=_kronecker_pullback,
        build=lambda a, b: sympy.KroneckerProduct(a, b),
        numpy=lambda op, a: f"np.kron({a[0]}, {a[1]})", torch=lambda op, a: f"torch.kron({a[0]}, {a[1]})",
        latex=lambda op, a: r" \otimes ".join(a), text=lambda op, a: " ⊗ ".join(a),
        textbook="∂/∂A: Σ_kl G[ip+k, jq+l] B[k, l]; ∂/∂B: Σ_ij G[ip+k, jq+l] A[i, j]",
        unroll=lambda op, a, b: np.kron(a, b),
    ),
    Rule(
        "matmul_nd", T.MatMul, "array", "a @ b with a vector side or batch axes (np.matmul)",
        ("A", "B"), ((_B3, _B), (_B[:, 0].copy(), _B3.transpose(0, 2, 1).copy())),
        pullback=_matmul_nd_pullback, build=lambda a, b: T.MatMul(a, b),
        numpy=lambda op, a: f"{_grouped(a[0])} @ {_grouped(a[1])}",
        torch=lambda op, a: f"{_grouped(a[0])} @ {_grouped(a[1])}",
        latex=_matmul_math(r"\,"), text=_matmul_math(" "),
        textbook="as A B, a vector side promoted, batch axes summed back",
        unroll=lambda op, a, b: np.matmul(a, b),
    ),
    Rule(
        "constant", T.Constant, "array", "an array of numbers given in the model", ("values",),
        ((_A,),), pullback=lambda op, g, ans: (None,), build=lambda v: v,
        numpy=_constant_code("np"), torch=_constant_code("torch"),
        latex=lambda op, a: _constant_math(op, True), text=lambda op, a: _constant_math(op, False),
        textbook="constant",
        unroll=lambda op, *rest: np.asarray(op.array, dtype=object),
    ),
    Rule(
        "softmax", T.Softmax, "matrix", "exp normalised along an axis", ("A", "axis"),
        ((_A, 1), (_A, 0), (_B3, 2)), pullback=_softmax_pullback, build=lambda a, axis: T.Softmax(a, axis),
        numpy=lambda op, a: f"_softmax({a[0]}, {op.axis})",
        torch=lambda op, a: f"torch.softmax({a[0]}, dim={op.axis})",
        latex=lambda op, a: rf"\operatorname{{softmax}}\left({a[0]}\right)", text=lambda op, a: f"softmax({a[0]})",
        textbook="∂/∂A: S ⊙ (G − sum(G ⊙ S) along the axis)", unroll=_along_axis(_softmax_cells),
        helpers={"numpy": {"_softmax": """\
def _softmax(a, axis):
    e = np.exp(a - np.max(a, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)
"""}},
    ),
    Rule(
        "log_softmax", T.LogSoftmax, "matrix", "log of the softmax, computed stably", ("A", "axis"),
        ((_A, 1), (_B3, 0)), pullback=_log_softmax_pullback, build=lambda a, axis: T.LogSoftmax(a, axis),
        numpy=lambda op, a: f"_log_softmax({a[0]}, {op.axis})",
        torch=lambda op, a: f"torch.log_softmax({a[0]}, dim={op.axis})",
        latex=lambda op, a: rf"\log\operatorname{{softmax}}\left({a[0]}\right)",
        text=lambda op, a: f"log softmax({a[0]})",
        textbook="∂/∂A: G − softmax(A) ⊙ sum(G) along the axis", unroll=_along_axis(_log_softmax_cells),
        helpers={"numpy": {"_log_softmax": """\
def _log_softmax(a, axis):
    shifted = a - np.max(a, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
"""}},
    ),
    Rule(
        "one_hot", T.OneHot, "matrix", "integer labels as rows of the identity (no gradient)",
        ("labels", "classes"), ((_labels(3, 4), 4),), pullback=lambda op, g, ans: (None, None),
        build=lambda labels, classes: T.OneHot(labels, classes),
        domains=lambda op: (("labels", op.classes), None),
        numpy=lambda op, a: f"_one_hot({a[0]}, {op.classes})",
        torch=lambda op, a: f"_one_hot({a[0]}, {op.classes})",
        latex=lambda op, a: rf"\operatorname{{onehot}}\left({a[0]}\right)", text=lambda op, a: f"onehot({a[0]})",
        textbook="none: labels are integers",
        unroll=_no_unroll("one_hot: its entries depend on the labels' values"),
        helpers={
            "numpy": {"_one_hot": """\
def _one_hot(labels, classes):
    return np.eye(classes)[np.asarray(labels).astype(np.int64).ravel()]
"""},
            "torch": {"_one_hot": """\
def _one_hot(labels, classes):
    picked = torch.nn.functional.one_hot(labels.long().reshape(-1), classes)
    return picked.to(labels.dtype)
"""},
        },
    ),
    Rule(
        "spectral_norm", T.SpectralNorm, "matrix", "largest singular value", ("A",), ((_A,),),
        pullback=_spectral_pullback, build=lambda a: T.SpectralNorm(a),
        numpy=_fixed("np.linalg.norm({0}, 2)"), torch=_fixed("torch.linalg.matrix_norm({0}, ord=2)"),
        latex=lambda op, a: rf"\left\lVert {a[0]} \right\rVert_{{2}}", text=lambda op, a: f"‖{a[0]}‖₂",
        textbook="∂/∂A: G u₁v₁ᵀ (top singular pair, when simple)",
        unroll=_no_unroll("the spectral norm: its entries have no closed form"),
    ),
    Rule(
        "singular_outer", T.SingularOuter, "matrix",
        "u₁v₁ᵀ of the top singular pair (appears in gradients; not differentiated)", ("A",),
        ((_A,),), pullback=_not_differentiated("u₁v₁ᵀ of the spectral norm's singular pair"),
        build=lambda a: T.SingularOuter(a),
        numpy=_fixed("_singular_outer({0})"), torch=_fixed("_singular_outer({0})"),
        latex=lambda op, a: rf"u_{{1}} v_{{1}}^{{\top}}\left({a[0]}\right)", text=lambda op, a: f"u₁v₁ᵀ({a[0]})",
        textbook="refused: no second derivative of the spectral norm",
        unroll=_no_unroll("u₁v₁ᵀ: its entries have no closed form"),
        helpers={
            "numpy": {"_singular_outer": """\
def _singular_outer(a):
    u, _, vt = np.linalg.svd(a)
    return np.outer(u[:, 0], vt[0])
"""},
            "torch": {"_singular_outer": """\
def _singular_outer(a):
    u, _, vh = torch.linalg.svd(a)
    return torch.outer(u[:, 0], vh[0])
"""},
        },
    ),
    Rule(
        "identity", sympy.Identity, "matrix constant", "identity matrix", ("n",), ((3,),),
        pullback=lambda op, g, ans: (None,), build=lambda n: sympy.Identity(n),
        numpy=_numpy_constant("eye"), torch=_torch_constant("eye"),
        latex=lambda op, a: "I", text=lambda op, a: "I", textbook="constant",
        unroll=lambda op, *rest: _cells(op.as_explicit()),
    ),
    Rule(
        "ones", sympy.OneMatrix, "matrix constant", "matrix of ones", ("rows", "cols"), ((3, 4),),
        pullback=lambda op, g, ans: (None, None), build=lambda r, c: sympy.OneMatrix(r, c),
        numpy=_numpy_constant("ones"), torch=_torch_constant("ones"),
        latex=lambda op, a: r"\mathbf{1}", text=lambda op, a: "𝟙", textbook="constant",
        unroll=lambda op, *rest: _cells(op.as_explicit()),
    ),
    Rule(
        "zeros", sympy.ZeroMatrix, "matrix constant", "matrix of zeros", ("rows", "cols"), ((3, 4),),
        pullback=lambda op, g, ans: (None, None), build=lambda r, c: sympy.ZeroMatrix(r, c),
        numpy=_numpy_constant("zeros"), torch=_torch_constant("zeros"),
        latex=lambda op, a: r"\mathbf{0}", text=lambda op, a: "0", textbook="constant",
        unroll=lambda op, *rest: _cells(op.as_explicit()),
    ),
)
# fmt: on

for _rule in RULES:
    register(_rule)
