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
    """Undo broadcasting: sum G down to ``shape`` (a scalar, a row, a column or G's own)."""
    have = T.shape_of(g)
    if have == shape:
        return g
    if not shape or (shape == (1, 1) and have != (1, 1)):
        total = T.Total(g)
        return total if not shape else T.Broadcast(total, 1, 1)
    if shape[0] == 1 and have[0] != 1:
        g = T.AxisSum(g, 0)
    if shape[1] == 1 and T.shape_of(g)[1] != 1:
        g = T.AxisSum(g, 1)
    return g


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
    r, c = T.shape_of(op.matrix)
    return (T.Broadcast(g, r, c),)


def _axis_sum_pullback(op, g, ans):
    r, c = T.shape_of(op.matrix)
    return (T.Broadcast(g, r, c), None)


def _broadcast_pullback(op, g, ans):
    return (sum_to(g, T.shape_of(op.value)), None, None)


def _softmax_pullback(op, g, ans):
    inner = T.AxisSum(elementwise(lambda gg, s: gg * s, g, ans), op.axis)
    return (elementwise(lambda s, gg, t: s * (gg - t), ans, g, inner), None)


def _log_softmax_pullback(op, g, ans):
    total = T.AxisSum(g, op.axis)
    return (elementwise(lambda gg, lp, t: gg - exp(lp) * t, g, ans, total), None)


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


def _reduce_code(module, keep):
    def spelling(op, args):
        axis = "axis" if module == "np" else "dim"
        return f"{module}.sum({args[0]}, {axis}={op.axis}, {keep}=True)"

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


def _by_entries(op, *explicit_args):
    """Rebuild ``op`` on explicit matrices and read its entries (the operations symgrad defines
    know their entries)."""
    rebuilt = op.func(*[_as_matrix_expr(a) for a in explicit_args])
    rows, cols = T.shape_of(op)
    return sympy.ImmutableMatrix(rows, cols, lambda i, j: rebuilt._entry(i, j))


def _as_matrix_expr(value):
    if isinstance(value, sympy.MatrixBase):
        return sympy.ImmutableMatrix(value)
    return value


def _chained(combine):
    def unroll(op, *parts):
        out = parts[0]
        for part in parts[1:]:
            out = combine(out, part)
        return out

    return unroll


def _no_unroll(why):
    def unroll(op, *parts):
        raise SymgradError(f"symgrad cannot unroll {why}")

    return unroll


# --- example arguments (the tests and the docs build each operation from them) ---------------------

_RNG = np.random.default_rng(7)
_A = _RNG.normal(size=(3, 4))
_B = _RNG.normal(size=(4, 2))
_S = _RNG.normal(size=(3, 3)) + 3 * np.eye(3)  # well conditioned, positive determinant
_ROW = _RNG.normal(size=(1, 4))


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
        unroll=_chained(lambda a, b: a * b),
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
        textbook="∂/∂A: G ⊙ B", unroll=_chained(lambda a, b: a.multiply_elementwise(b)),
    ),
    Rule(
        "hadamard_power", sympy.HadamardPower, "matrix", "entry-by-entry power A^∘n", ("A", "n"),
        ((np.abs(_A) + 0.5, 3),), pullback=_hadamard_power_pullback,
        build=lambda a, n: sympy.HadamardPower(a, n),
        numpy=lambda op, a: f"{_grouped(a[0])}**{_grouped(a[1])}",
        torch=lambda op, a: f"{_grouped(a[0])}**{_grouped(a[1])}",
        latex=lambda op, a: f"{a[0]}^{{\\circ {a[1]}}}", text=lambda op, a: f"{a[0]}^∘{a[1]}",
        textbook="∂/∂A: G ⊙ n A^∘(n−1)",
        unroll=lambda op, base, n: base.applyfunc(lambda e: e**n),
    ),
    Rule(
        "inverse", sympy.Inverse, "matrix", "matrix inverse", ("A",), ((_S,),),
        pullback=_inverse_pullback, build=lambda a: sympy.Inverse(a),
        numpy=_fixed("np.linalg.inv({0})"), torch=_fixed("torch.linalg.inv({0})"),
        latex=lambda op, a: f"{a[0]}^{{-1}}", text=lambda op, a: f"{a[0]}⁻¹",
        textbook="∂/∂A: −A⁻ᵀ G A⁻ᵀ", unroll=lambda op, a, *rest: a.inv(),
    ),
    Rule(
        "matrix_power", sympy.MatPow, "matrix", "matrix power Aⁿ for whole n (A⁻² = (A⁻¹)², A⁰ = I)",
        ("A", "n"), ((_S, 2), (_S, -2)), pullback=_matpow_pullback,
        build=lambda a, n: sympy.MatPow(a, n),
        numpy=_matpow_code("np"), torch=_matpow_code("torch"),
        latex=lambda op, a: f"{a[0]}^{{{a[1]}}}", text=lambda op, a: f"{a[0]}^{a[1]}",
        textbook="∂/∂A: Σₖ (Aᵀ)ᵏ G (Aᵀ)ⁿ⁻¹⁻ᵏ; for n < 0 through A⁻¹",
        unroll=lambda op, a, n: a ** int(n),
    ),
    Rule(
        "trace", sympy.Trace, "matrix", "trace (a scalar)", ("A",), ((_S,),),
        pullback=_trace_pullback, build=lambda a: sympy.Trace(a),
        numpy=_fixed("np.trace({0})"), torch=_fixed("torch.trace({0})"),
        latex=lambda op, a: rf"\operatorname{{tr}}\left({a[0]}\right)", text=lambda op, a: f"tr({a[0]})",
        textbook="∂/∂A: G I", unroll=lambda op, a: a.trace(),
    ),
    Rule(
        "det", sympy.Determinant, "matrix", "determinant (a scalar)", ("A",), ((_S,),),
        pullback=_determinant_pullback, build=lambda a: sympy.Determinant(a),
        numpy=_fixed("np.linalg.det({0})"), torch=_fixed("torch.linalg.det({0})"),
        latex=lambda op, a: rf"\det\left({a[0]}\right)", text=lambda op, a: f"det({a[0]})",
        textbook="∂/∂A: G det(A) A⁻ᵀ", unroll=lambda op, a: a.det(),
    ),
    Rule(
        "logdet", T.LogDet, "matrix", "log det A (a scalar; det A > 0), without overflow", ("A",),
        ((_S,),), pullback=_logdet_pullback, build=lambda a: T.LogDet(a),
        numpy=_fixed("_logdet({0})"), torch=_fixed("_logdet({0})"),
        latex=lambda op, a: rf"\log\det\left({a[0]}\right)", text=lambda op, a: f"log det({a[0]})",
        textbook="∂/∂A: G A⁻ᵀ", unroll=lambda op, a: sympy.log(a.det()),
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
        "sum", T.Total, "matrix", "sum of every entry (a scalar); mean, sum_squares and norms build on it",
        ("A",), ((_A,),), pullback=_total_pullback, build=lambda a: T.Total(a),
        numpy=_fixed("np.sum({0})"), torch=_fixed("torch.sum({0})"),
        latex=lambda op, a: rf"\operatorname{{sum}}\left({a[0]}\right)", text=lambda op, a: f"sum({a[0]})",
        textbook="∂/∂A: G 𝟙 (G repeated to A's shape)", unroll=lambda op, a: sympy.Add(*a),
    ),
    Rule(
        "axis_sum", T.AxisSum, "matrix", "sum along an axis, kept as a row or a column", ("A", "axis"),
        ((_A, 0), (_A, 1)), pullback=_axis_sum_pullback, build=lambda a, axis: T.AxisSum(a, axis),
        numpy=_reduce_code("np", "keepdims"), torch=_reduce_code("torch", "keepdim"),
        latex=lambda op, a: rf"\operatorname{{sum}}_{{{op.axis}}}\left({a[0]}\right)",
        text=lambda op, a: f"sum_{op.axis}({a[0]})",
        textbook="∂/∂A: G repeated along the axis", unroll=_by_entries,
    ),
    Rule(
        "broadcast", T.Broadcast, "matrix", "a scalar, row or column repeated to a shape",
        ("v", "rows", "cols"), ((_ROW, 3, 4),), pullback=_broadcast_pullback,
        build=lambda v, r, c: T.Broadcast(v, r, c),
        numpy=lambda op, a: f"np.broadcast_to({a[0]}, {op.shape})",
        torch=lambda op, a: f"_broadcast({a[0]}, {op.shape[0]}, {op.shape[1]}, dtype, device)",
        latex=lambda op, a: a[0], text=lambda op, a: a[0],
        textbook="∂/∂v: G summed back to v's shape", unroll=_by_entries,
        helpers={"torch": {"_broadcast": """\
def _broadcast(value, rows, cols, dtype, device):
    return torch.as_tensor(value, dtype=dtype, device=device).expand(rows, cols)
"""}},
    ),
    Rule(
        "softmax", T.Softmax, "matrix", "exp normalised along an axis", ("A", "axis"),
        ((_A, 1), (_A, 0)), pullback=_softmax_pullback, build=lambda a, axis: T.Softmax(a, axis),
        numpy=lambda op, a: f"_softmax({a[0]}, {op.axis})",
        torch=lambda op, a: f"torch.softmax({a[0]}, dim={op.axis})",
        latex=lambda op, a: rf"\operatorname{{softmax}}\left({a[0]}\right)", text=lambda op, a: f"softmax({a[0]})",
        textbook="∂/∂A: S ⊙ (G − sum(G ⊙ S) along the axis)", unroll=_by_entries,
        helpers={"numpy": {"_softmax": """\
def _softmax(a, axis):
    e = np.exp(a - np.max(a, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)
"""}},
    ),
    Rule(
        "log_softmax", T.LogSoftmax, "matrix", "log of the softmax, computed stably", ("A", "axis"),
        ((_A, 1),), pullback=_log_softmax_pullback, build=lambda a, axis: T.LogSoftmax(a, axis),
        numpy=lambda op, a: f"_log_softmax({a[0]}, {op.axis})",
        torch=lambda op, a: f"torch.log_softmax({a[0]}, dim={op.axis})",
        latex=lambda op, a: rf"\log\operatorname{{softmax}}\left({a[0]}\right)",
        text=lambda op, a: f"log softmax({a[0]})",
        textbook="∂/∂A: G − softmax(A) ⊙ sum(G) along the axis", unroll=_by_entries,
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
        unroll=lambda op, *rest: sympy.ImmutableMatrix(op.as_explicit()),
    ),
    Rule(
        "ones", sympy.OneMatrix, "matrix constant", "matrix of ones", ("rows", "cols"), ((3, 4),),
        pullback=lambda op, g, ans: (None, None), build=lambda r, c: sympy.OneMatrix(r, c),
        numpy=_numpy_constant("ones"), torch=_torch_constant("ones"),
        latex=lambda op, a: r"\mathbf{1}", text=lambda op, a: "𝟙", textbook="constant",
        unroll=lambda op, *rest: sympy.ImmutableMatrix(op.as_explicit()),
    ),
    Rule(
        "zeros", sympy.ZeroMatrix, "matrix constant", "matrix of zeros", ("rows", "cols"), ((3, 4),),
        pullback=lambda op, g, ans: (None, None), build=lambda r, c: sympy.ZeroMatrix(r, c),
        numpy=_numpy_constant("zeros"), torch=_torch_constant("zeros"),
        latex=lambda op, a: r"\mathbf{0}", text=lambda op, a: "0", textbook="constant",
        unroll=lambda op, *rest: sympy.ImmutableMatrix(op.as_explicit()),
    ),
)
# fmt: on

for _rule in RULES:
    register(_rule)
