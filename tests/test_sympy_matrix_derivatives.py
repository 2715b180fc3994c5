"""SymPy's matrix-derivative tests (``sympy/matrices/expressions/tests/test_derivatives.py``,
most of them the Matrix Cookbook's examples) as symgrad models, checked against PyTorch.

SymPy asserts the *form* of a derivative at a symbolic size ``k``; here each case is the same
function at k = 3 (vectors 3 × 1, ``Z`` 3 × 2, the 2 × 2 matrices of SymPy's own 2 × 2 tests),
written once as SymPy writes it (or, where the case says so, with symgrad's functions) and once
in torch. A matrix-valued expression becomes the scalar ``sum(W ⊙ expr)`` with a random input
``W``; a scalar or 1 × 1 one is the loss itself. Every case is checked with respect to every
variable in it (not only the one SymPy differentiates by): the loss, the gradient in both
backends and H·v against torch autograd. SymPy's symbols that are numbers (``k``, ``N``, ``d``,
the exponent of Cookbook 121/122) are 3.

Ported, by SymPy's test function (a case id names it and the Cookbook number):
``matrix_derivative_by_scalar`` (all 15), ``one_matrix``, ``matrix_derivative_non_matrix_result``
(5), ``trivial_cases``, ``of_determinant`` (Cookbook 49, 51, 52, 54 with Z 3 × 2, 55, 57, 58
with exponent 5), ``issue_28708`` (``X**0``, ``X**-1``), ``issue_28838`` (3),
``with_inverse`` (61–64), ``vectors_and_scalars`` (69–83, ``x x^T x``, ``(x^T a)[0, 0]``),
``of_traces`` (99–104, 106–119, 120 as ``Trace(X)*Trace(X)``, 121 and 122 at k = 3, 123–127),
``complicated_matrix_expr``, ``mixed_deriv_mixed_expressions`` (5; the constant ``k`` is the
loss 3, whose gradient is 0), ``matrix_norms`` (8), ``elementwise_applyfunc`` (13),
``of_hadamard_expressions`` (7), issues 24021, the Stack Overflow question (x 2 × 1), 25118,
24725 (N = 3), 23492, 23364, 21597, 23931 (d = 3), 17229 (``M[1, 2]``, ``M.as_explicit()``),
15651, 15667, ``matpow_derivative`` (exponents 2, 3, 0, −1), and
``matexpr_derivative_by_matrix_element`` (its functions ``X + Y`` and ``X + a Y``).

SymPy's own spellings are accepted and checked beside symgrad's: ``x.applyfunc(sin)`` (and
``symgrad.sin(x)``, the spelling all 13 ``applyfunc`` cases use), a fractional power of a 1 × 1
matrix (``(x^T y)**(1/2)``), ``HadamardPower(x, i)`` with a symbol exponent (and ``x ** i``),
an explicit ``Matrix`` of entries, scalars or numbers (``X.as_explicit()``,
``MatPow(Matrix([[0, m], [n, 0]]), 3)``, the Stack Overflow constants; symgrad makes it the
stack of its entries), element access (``M[1, 2]``, ``w[0, 0]``, ``(x^T a)[0, 0]``,
``trace(A.as_explicit())``) and ``KroneckerProduct`` (SymPy's answer for ``x x^T x``,
``KroneckerProduct(I, x^T x) + 2 x x^T``, stated as a function).

Out of scope: derivatives with respect to an entry at a *symbolic* index (``x[i, 0].diff(x[m,
0])``, ``expr[i, j].diff(A[m, n])``, ``(X + a*Y).diff(X[a, 0])``, the ``rewrite(Sum)`` forms and
the printed entry derivative of Cookbook 83): SymPy's index calculus, not a function of concrete
matrices (the same functions are checked entry by entry through their gradient);
``Determinant(X**j)`` and ``MatPow(base, i)``, whose exponent is a symbol, and
``MatrixSymbol(a, a, a)``, whose size is; Cookbook 105 and 120 by ``TensorProduct``, which SymPy
does not differentiate either (commented out there). Derivatives of a matrix by a matrix (``A``
by ``A``, ``x x^T x`` by ``x``, …) are checked as the gradient of ``sum(W ⊙ expr)``, that is
the Jacobian applied to ``W``. Nothing in that file is complex-valued.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import sympy
from sympy import (
    Determinant,
    HadamardPower,
    Identity,
    Inverse,
    KroneckerProduct,
    MatAdd,
    MatMul,
    MatPow,
    OneMatrix,
    Rational,
    S,
    Trace,
    hadamard_product,
    trace,
)
from sympy.matrices.expressions import hadamard_power

import symgrad
from symgrad import Model

torch = pytest.importorskip("torch")

K = 3
SHAPES = {
    **{name: (K, K) for name in ["X", "A", "B", "C", "D", "E", "F", "M", "Y"]},
    **{name: (K, 1) for name in ["x", "y", "a", "b", "c", "d", "w"]},
    "Z": (K, 2),
    **{name: () for name in ["i", "j", "mu", "m", "n"]},
}


def draw(rng, shape, kind):
    """A value of ``shape``: standard normal, or ``pos`` in [0.5, 1.5], ``angle`` in
    [0.3, 2.8] (sin > 0), ``near_identity`` 2I + 0.3·N (det > 0, well conditioned)."""
    if kind == "pos":
        return rng.uniform(0.5, 1.5, size=shape)
    if kind == "angle":
        return rng.uniform(0.3, 2.8, size=shape)
    if kind == "stackoverflow_m1":
        return np.array([[1.0, 2.0], [4.0, 7.0]])
    if kind == "stackoverflow_m3":
        return np.array([[3.0], [5.0]])
    if kind == "near_identity":
        return 2 * np.eye(shape[0]) + 0.3 * rng.normal(size=shape)
    return rng.normal(size=shape)


def check(spelling, variables, ours, theirs, values, shapes):
    """``ours`` (SymPy's objects, or symgrad's Tensors for ``spelling="symgrad"``) against
    ``theirs`` (torch): loss and gradient in both backends, and H·v in NumPy."""
    names = variables.split()
    shape = {n: shapes[n] if n in shapes else SHAPES[n] for n in names}
    rng = np.random.default_rng(15)
    point = {n: np.asarray(draw(rng, shape[n], values.get(n)), dtype=np.float64) for n in names}

    m = Model("sympy_case")
    declared = {n: m.param(n, shape[n]) for n in names}
    if spelling == "sympy":
        declared = {n: getattr(t, "expr", t) for n, t in declared.items()}
    expr = ours(SimpleNamespace(**declared))
    expr_shape = tuple(int(n) for n in getattr(expr, "shape", ()))
    weighted = expr_shape not in ((), (1, 1))
    if weighted:
        weights = rng.normal(size=expr_shape)
        m.loss("L", symgrad.sum(m.input("W", expr_shape) * m.node("E", expr)))
        m.example(W=weights, **point)
    else:
        m.loss("L", expr)
        m.example(**point)

    leaves = {n: torch.tensor(point[n], requires_grad=True) for n in names}
    value = theirs(SimpleNamespace(**leaves))
    loss = (torch.tensor(weights) * value).sum() if weighted else value.reshape(())
    grads = torch.autograd.grad(loss, list(leaves.values()), create_graph=True, allow_unused=True)
    grads = [
        torch.zeros_like(leaves[n]) if g is None else g for n, g in zip(names, grads, strict=True)
    ]
    directions = {n: rng.normal(size=shape[n]) for n in names}
    directional = sum(
        (g * torch.tensor(directions[n])).sum() for n, g in zip(names, grads, strict=True)
    )
    hvp = (
        torch.autograd.grad(directional, list(leaves.values()), allow_unused=True)
        if directional.requires_grad
        else [None] * len(names)
    )

    d = symgrad.derive(m)
    assert set(d.wrt) == set(names)
    for backend in ("numpy", "torch"):
        got_loss, gradient = symgrad.compile(d, backend)(**d.example)
        assert float(got_loss) == pytest.approx(loss.item(), rel=1e-11, abs=1e-12), backend
        for name, want in zip(names, grads, strict=True):
            close(gradient[name], want.detach().numpy(), f"{backend} ∂L/∂{name}")
    products = symgrad.hessian(m).compile("numpy").hvp(directions, **d.example)
    for name, want in zip(names, hvp, strict=True):
        close(products[name], np.zeros(shape[name]) if want is None else want.numpy(), f"Hv {name}")


def close(got, want, what):
    got = np.asarray(got.numpy() if hasattr(got, "numpy") else got, dtype=np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, torch {want.shape}"
    scale = max(float(np.abs(want).max(initial=0.0)), 1.0)
    assert np.abs(got - want).max(initial=0.0) <= 1e-10 * scale, (
        f"{what}:\nsymgrad {got.ravel()}\ntorch   {want.ravel()}"
    )


def case(name, variables, ours, theirs, *, values=None, shapes=None, spelling="sympy", marks=()):
    return pytest.param(
        spelling, variables, ours, theirs, values or {}, shapes or {}, id=name, marks=marks
    )


t_tr = torch.trace
t_det = torch.linalg.det
t_inv = torch.linalg.inv
I3 = Identity(K)
POSITIVE = dict.fromkeys("xyabcdX", "pos")


BY_SCALAR = [
    case("by_scalar-A", "A i", lambda v: v.A, lambda t: t.A),
    case("by_scalar-A(X+B)c", "A X B c i", lambda v: v.A * (v.X + v.B) * v.c,
         lambda t: t.A @ (t.X + t.B) @ t.c),
    case("by_scalar-x", "x i", lambda v: v.x, lambda t: t.x),
    case("by_scalar-xTy", "x y i", lambda v: v.x.T * v.y, lambda t: t.x.T @ t.y),
    case("by_scalar-xxT", "x i", lambda v: v.x * v.x.T, lambda t: t.x @ t.x.T),
    case("by_scalar-x+y", "x y i", lambda v: v.x + v.y, lambda t: t.x + t.y),
    case("by_scalar-hadamard_power(x,2)", "x i", lambda v: hadamard_power(v.x, 2),
         lambda t: t.x**2),
    case("by_scalar-x**i", "x i", lambda v: v.x**v.i, lambda t: t.x**t.i, values={"x": "pos"},
         spelling="symgrad"),
    case("by_scalar-hadamard_power(x,i)", "x i", lambda v: hadamard_power(v.x, v.i),
         lambda t: t.x**t.i, values={"x": "pos"}),
    case("by_scalar-hadamard_product(x,y)", "x y i", lambda v: hadamard_product(v.x, v.y),
         lambda t: t.x * t.y),
    case("by_scalar-hadamard_product(i1,x,y)", "x y i",
         lambda v: hadamard_product(v.i * OneMatrix(K, 1), v.x, v.y),
         lambda t: t.i * t.x * t.y),
    case("by_scalar-ix", "x i", lambda v: v.i * v.x, lambda t: t.i * t.x),
    case("by_scalar-sin(i)ABx", "A B x i", lambda v: sympy.sin(v.i) * v.A * v.B * v.x,
         lambda t: torch.sin(t.i) * t.A @ t.B @ t.x),
    case("by_scalar-sin(x)", "x i", lambda v: symgrad.sin(v.x), lambda t: torch.sin(t.x),
         spelling="symgrad"),
    case("by_scalar-x.applyfunc(sin)", "x i", lambda v: v.x.applyfunc(sympy.sin),
         lambda t: torch.sin(t.x)),
    case("by_scalar-Trace(i**2X)", "X i", lambda v: Trace(v.i**2 * v.X),
         lambda t: t_tr(t.i**2 * t.X)),
    case("by_scalar-2mu x", "x mu", lambda v: 2 * v.mu * v.x, lambda t: 2 * t.mu * t.x),
    case("one_matrix-xT1", "x", lambda v: MatMul(v.x.T, OneMatrix(K, 1)),
         lambda t: t.x.T @ torch.ones(K, 1, dtype=torch.float64)),
    case("non_matrix_result-A", "A", lambda v: v.A, lambda t: t.A),
    case("non_matrix_result-AT", "A", lambda v: v.A.T, lambda t: t.A.T),
    case("non_matrix_result-2A", "A", lambda v: 2 * v.A, lambda t: 2 * t.A),
    case("non_matrix_result-MatAdd(A,A)", "A", lambda v: MatAdd(v.A, v.A),
         lambda t: t.A + t.A),
    case("non_matrix_result-A+B", "A B", lambda v: v.A + v.B, lambda t: t.A + t.B),
    case("trivial_cases-X.diff(A)", "X A", lambda v: v.X, lambda t: t.X),
]  # fmt: skip

DETERMINANTS = [
    case("det-49-det(X)", "X", lambda v: Determinant(v.X), lambda t: t_det(t.X)),
    case("det-51-det(AXB)", "A X B", lambda v: Determinant(v.A * v.X * v.B),
         lambda t: t_det(t.A @ t.X @ t.B)),
    case("det-52-det(XTAX)", "X A", lambda v: Determinant(v.X.T * v.A * v.X),
         lambda t: t_det(t.X.T @ t.A @ t.X)),
    case("det-54-det(ZTAZ)", "Z A", lambda v: Determinant(v.Z.T * v.A * v.Z),
         lambda t: t_det(t.Z.T @ t.A @ t.Z)),
    case("det-55-logdet(XTX)", "X", lambda v: sympy.log(Determinant(v.X.T * v.X)),
         lambda t: torch.log(t_det(t.X.T @ t.X))),
    case("det-57-logdet(X)", "X", lambda v: sympy.log(Determinant(v.X)),
         lambda t: torch.log(t_det(t.X)), values={"X": "near_identity"}),
    case("det-58-det(X**5)", "X", lambda v: Determinant(v.X**5),
         lambda t: t_det(torch.linalg.matrix_power(t.X, 5))),
    case("issue_28708-det(X**0)", "X", lambda v: Determinant((v.X ** sympy.Symbol("j")).subs("j", 0)),
         lambda t: t_det(torch.linalg.matrix_power(t.X, 0))),
    case("issue_28708-det(X**-1)", "X", lambda v: Determinant((v.X ** sympy.Symbol("j")).subs("j", -1)),
         lambda t: t_det(t_inv(t.X))),
    case("issue_28838-k det(X)", "X", lambda v: K * Determinant(v.X), lambda t: K * t_det(t.X)),
    case("issue_28838-1/det(X)", "X", lambda v: 1 / Determinant(v.X), lambda t: 1 / t_det(t.X)),
    case("issue_28838-k/det(X)", "X", lambda v: K / Determinant(v.X), lambda t: K / t_det(t.X)),
    case("inverse-61-aT inv(X) b", "a X b", lambda v: v.a.T * Inverse(v.X) * v.b,
         lambda t: t.a.T @ t_inv(t.X) @ t.b),
    case("inverse-62-det(inv(X))", "X", lambda v: Determinant(Inverse(v.X)),
         lambda t: t_det(t_inv(t.X))),
    case("inverse-63-Trace(A inv(X) B)", "A X B", lambda v: Trace(v.A * Inverse(v.X) * v.B),
         lambda t: t_tr(t.A @ t_inv(t.X) @ t.B)),
    case("inverse-64-Trace(inv(X+A))", "X A", lambda v: Trace(Inverse(v.X + v.A)),
         lambda t: t_tr(t_inv(t.X + t.A))),
]  # fmt: skip

VECTORS = [
    case("vectors-x", "x", lambda v: v.x, lambda t: t.x),
    case("vectors-xT", "x", lambda v: v.x.T, lambda t: t.x.T),
    case("vectors-69-xTa", "x a", lambda v: v.x.T * v.a, lambda t: t.x.T @ t.a),
    case("vectors-69-(xTa)[0,0]", "x a", lambda v: (v.x.T @ v.a)[0, 0],
         lambda t: (t.x.T @ t.a)[0, 0], spelling="symgrad"),
    case("vectors-69-(xTa)[0,0]-sympy", "x a", lambda v: (v.x.T * v.a)[0, 0],
         lambda t: (t.x.T @ t.a)[0, 0]),
    case("vectors-69-aTx", "x a", lambda v: v.a.T * v.x, lambda t: t.a.T @ t.x),
    case("vectors-70-aTXb", "a X b", lambda v: v.a.T * v.X * v.b, lambda t: t.a.T @ t.X @ t.b),
    case("vectors-71-aTXTb", "a X b", lambda v: v.a.T * v.X.T * v.b,
         lambda t: t.a.T @ t.X.T @ t.b),
    case("vectors-72-aTXa", "a X", lambda v: v.a.T * v.X * v.a, lambda t: t.a.T @ t.X @ t.a),
    case("vectors-72-aTXTa", "a X", lambda v: v.a.T * v.X.T * v.a,
         lambda t: t.a.T @ t.X.T @ t.a),
    case("vectors-77-bTXTXc", "b X c", lambda v: v.b.T * v.X.T * v.X * v.c,
         lambda t: t.b.T @ t.X.T @ t.X @ t.c),
    case("vectors-78-(Bx+b)TC(Dx+d)", "B x b C D d",
         lambda v: (v.B * v.x + v.b).T * v.C * (v.D * v.x + v.d),
         lambda t: (t.B @ t.x + t.b).T @ t.C @ (t.D @ t.x + t.d)),
    case("vectors-81-xTBx", "x B", lambda v: v.x.T * v.B * v.x, lambda t: t.x.T @ t.B @ t.x),
    case("vectors-82-bTXTDXc", "b X D c", lambda v: v.b.T * v.X.T * v.D * v.X * v.c,
         lambda t: t.b.T @ t.X.T @ t.D @ t.X @ t.c),
    case("vectors-83-(Xb+c)TD(Xb+c)", "X b c D",
         lambda v: (v.X * v.b + v.c).T * v.D * (v.X * v.b + v.c),
         lambda t: (t.X @ t.b + t.c).T @ t.D @ (t.X @ t.b + t.c)),
    case("vectors-xxTx", "x", lambda v: v.x * v.x.T * v.x, lambda t: t.x @ t.x.T @ t.x),
    case("vectors-xxTx-answer-KroneckerProduct", "x",
         lambda v: KroneckerProduct(I3, v.x.T * v.x) + 2 * v.x * v.x.T,
         lambda t: (t.x.T @ t.x) * torch.eye(K, dtype=torch.float64) + 2 * t.x @ t.x.T),
]  # fmt: skip

TRACES = [
    case("traces-Trace(A)A", "A", lambda v: Trace(v.A) * v.A, lambda t: t_tr(t.A) * t.A),
    case("traces-99-Trace(X)", "X", lambda v: Trace(v.X), lambda t: t_tr(t.X)),
    case("traces-100-Trace(XA)", "X A", lambda v: Trace(v.X * v.A), lambda t: t_tr(t.X @ t.A)),
    case("traces-101-Trace(AXB)", "A X B", lambda v: Trace(v.A * v.X * v.B),
         lambda t: t_tr(t.A @ t.X @ t.B)),
    case("traces-102-Trace(AXTB)", "A X B", lambda v: Trace(v.A * v.X.T * v.B),
         lambda t: t_tr(t.A @ t.X.T @ t.B)),
    case("traces-103-Trace(XTA)", "X A", lambda v: Trace(v.X.T * v.A),
         lambda t: t_tr(t.X.T @ t.A)),
    case("traces-104-Trace(AXT)", "A X", lambda v: Trace(v.A * v.X.T),
         lambda t: t_tr(t.A @ t.X.T)),
    case("traces-106-Trace(X**2)", "X", lambda v: Trace(v.X**2), lambda t: t_tr(t.X @ t.X)),
    case("traces-107-Trace(X**2B)", "X B", lambda v: Trace(v.X**2 * v.B),
         lambda t: t_tr(t.X @ t.X @ t.B)),
    case("traces-107-Trace(MatMul(X,X,B))", "X B", lambda v: Trace(MatMul(v.X, v.X, v.B)),
         lambda t: t_tr(t.X @ t.X @ t.B)),
    case("traces-108-Trace(XTBX)", "X B", lambda v: Trace(v.X.T * v.B * v.X),
         lambda t: t_tr(t.X.T @ t.B @ t.X)),
    case("traces-109-Trace(BXXT)", "X B", lambda v: Trace(v.B * v.X * v.X.T),
         lambda t: t_tr(t.B @ t.X @ t.X.T)),
    case("traces-110-Trace(XXTB)", "X B", lambda v: Trace(v.X * v.X.T * v.B),
         lambda t: t_tr(t.X @ t.X.T @ t.B)),
    case("traces-111-Trace(XBXT)", "X B", lambda v: Trace(v.X * v.B * v.X.T),
         lambda t: t_tr(t.X @ t.B @ t.X.T)),
    case("traces-112-Trace(BXTX)", "X B", lambda v: Trace(v.B * v.X.T * v.X),
         lambda t: t_tr(t.B @ t.X.T @ t.X)),
    case("traces-113-Trace(XTXB)", "X B", lambda v: Trace(v.X.T * v.X * v.B),
         lambda t: t_tr(t.X.T @ t.X @ t.B)),
    case("traces-114-Trace(AXBX)", "A X B", lambda v: Trace(v.A * v.X * v.B * v.X),
         lambda t: t_tr(t.A @ t.X @ t.B @ t.X)),
    case("traces-115-Trace(XTX)", "X", lambda v: Trace(v.X.T * v.X), lambda t: t_tr(t.X.T @ t.X)),
    case("traces-115-Trace(XXT)", "X", lambda v: Trace(v.X * v.X.T), lambda t: t_tr(t.X @ t.X.T)),
    case("traces-116-Trace(BTXTCXB)", "B X C", lambda v: Trace(v.B.T * v.X.T * v.C * v.X * v.B),
         lambda t: t_tr(t.B.T @ t.X.T @ t.C @ t.X @ t.B)),
    case("traces-117-Trace(XTBXC)", "X B C", lambda v: Trace(v.X.T * v.B * v.X * v.C),
         lambda t: t_tr(t.X.T @ t.B @ t.X @ t.C)),
    case("traces-118-Trace(AXBXTC)", "A X B C", lambda v: Trace(v.A * v.X * v.B * v.X.T * v.C),
         lambda t: t_tr(t.A @ t.X @ t.B @ t.X.T @ t.C)),
    case("traces-119-Trace((AXB+C)(AXB+C)T)", "A X B C",
         lambda v: Trace((v.A * v.X * v.B + v.C) * (v.A * v.X * v.B + v.C).T),
         lambda t: t_tr((t.A @ t.X @ t.B + t.C) @ (t.A @ t.X @ t.B + t.C).T)),
    case("traces-120-Trace(X)Trace(X)", "X", lambda v: Trace(v.X) * Trace(v.X),
         lambda t: t_tr(t.X) * t_tr(t.X)),
    case("traces-121-Trace(X**k)", "X", lambda v: Trace(v.X**K),
         lambda t: t_tr(torch.linalg.matrix_power(t.X, K))),
    case("traces-122-Trace(AX**k)", "A X", lambda v: Trace(v.A * v.X**K),
         lambda t: t_tr(t.A @ torch.linalg.matrix_power(t.X, K))),
    case("traces-123-Trace(BTXTCXXTCXB)", "B X C",
         lambda v: Trace(v.B.T * v.X.T * v.C * v.X * v.X.T * v.C * v.X * v.B),
         lambda t: t_tr(t.B.T @ t.X.T @ t.C @ t.X @ t.X.T @ t.C @ t.X @ t.B)),
    case("traces-124-Trace(AX**-1B)", "A X B", lambda v: Trace(v.A * v.X ** (-1) * v.B),
         lambda t: t_tr(t.A @ t_inv(t.X) @ t.B)),
    case("traces-125-Trace(inv(XTCX)A)", "X C A", lambda v: Trace(Inverse(v.X.T * v.C * v.X) * v.A),
         lambda t: t_tr(t_inv(t.X.T @ t.C @ t.X) @ t.A)),
    case("traces-126-Trace(inv(XTCX)XTBX)", "X C B",
         lambda v: Trace((v.X.T * v.C * v.X).inv() * (v.X.T * v.B * v.X)),
         lambda t: t_tr(t_inv(t.X.T @ t.C @ t.X) @ (t.X.T @ t.B @ t.X))),
    case("traces-127-Trace(inv(A+XTCX)XTBX)", "A X C B",
         lambda v: Trace((v.A + v.X.T * v.C * v.X).inv() * (v.X.T * v.B * v.X)),
         lambda t: t_tr(t_inv(t.A + t.X.T @ t.C @ t.X) @ (t.X.T @ t.B @ t.X))),
]  # fmt: skip


def complicated(v):
    a, b, A, B, C, D, X = v.a, v.b, v.A, v.B, v.C, v.D, v.X
    return (
        a.T
        * (
            A * X * (X.T * B + X * A)
            + B.T
            * X.T
            * (
                a * b.T * (X * D * X.T + X * (X.T * B + A * X) * D * B - X.T * C.T * A) * B
                + B * (X * D.T + B * A * X * A.T - 3 * X * D)
            )
            * B
            + 42 * X * B * X.T * A.T * (X + X.T)
        )
        * b
    )


def complicated_torch(t):
    a, b, A, B, C, D, X = t.a, t.b, t.A, t.B, t.C, t.D, t.X
    inner = a @ b.T @ (X @ D @ X.T + X @ (X.T @ B + A @ X) @ D @ B - X.T @ C.T @ A) @ B
    inner = inner + B @ (X @ D.T + B @ A @ X @ A.T - 3 * X @ D)
    middle = A @ X @ (X.T @ B + X @ A) + B.T @ X.T @ inner @ B
    return a.T @ (middle + 42 * X @ B @ X.T @ A.T @ (X + X.T)) @ b


def nested_trace(v):
    return Trace(Trace(Trace(v.A) * v.A) * v.A)


MIXED_AND_NORMS = [
    case("complicated_matrix_expr", "a b A B C D X", complicated, complicated_torch),
    case("mixed-3Trace(A)", "A", lambda v: 3 * Trace(v.A), lambda t: 3 * t_tr(t.A)),
    case("mixed-k", "A", lambda v: S(K), lambda t: K + 0 * t.A.sum()),
    case("mixed-Trace(A)**2", "A", lambda v: Trace(v.A) ** 2, lambda t: t_tr(t.A) ** 2),
    case("mixed-Trace(Trace(A)A)", "A", lambda v: Trace(Trace(v.A) * v.A),
         lambda t: t_tr(t_tr(t.A) * t.A)),
    case("mixed-Trace(Trace(Trace(A)A)A)", "A", nested_trace,
         lambda t: t_tr(t_tr(t_tr(t.A) * t.A) * t.A)),
    case("norms-xTy", "x y", lambda v: v.x.T * v.y, lambda t: t.x.T @ t.y),
    case("norms-(xTy)**(1/2)", "x y", lambda v: symgrad.sqrt(v.x.T @ v.y),
         lambda t: torch.sqrt(t.x.T @ t.y), values=POSITIVE, spelling="symgrad"),
    case("norms-(xTy)**(1/2)-sympy", "x y", lambda v: (v.x.T * v.y) ** S.Half,
         lambda t: torch.sqrt(t.x.T @ t.y), values=POSITIVE),
    case("norms-(xTx)**(1/2)", "x", lambda v: symgrad.sqrt(v.x.T @ v.x),
         lambda t: torch.sqrt(t.x.T @ t.x), spelling="symgrad"),
    case("norms-(cTaxTb)**(1/2)", "c a x b", lambda v: symgrad.sqrt(v.c.T @ v.a @ v.x.T @ v.b),
         lambda t: torch.sqrt(t.c.T @ t.a @ t.x.T @ t.b), values=POSITIVE, spelling="symgrad"),
    case("norms-(cTaxTb)**(1/3)", "c a x b",
         lambda v: (v.c.T @ v.a @ v.x.T @ v.b) ** Rational(1, 3),
         lambda t: (t.c.T @ t.a @ t.x.T @ t.b) ** (1 / 3), values=POSITIVE, spelling="symgrad"),
    case("norms-(aTXb)**(1/2)", "a X b", lambda v: symgrad.sqrt(v.a.T @ v.X @ v.b),
         lambda t: torch.sqrt(t.a.T @ t.X @ t.b), values=POSITIVE, spelling="symgrad"),
    case("norms-dTx(aTXb)**(1/2)yTc", "d x a X b y c",
         lambda v: v.d.T @ v.x @ symgrad.sqrt(v.a.T @ v.X @ v.b) @ v.y.T @ v.c,
         lambda t: t.d.T @ t.x @ torch.sqrt(t.a.T @ t.X @ t.b) @ t.y.T @ t.c,
         values=POSITIVE, spelling="symgrad"),
    case("norms-sqrt(Trace(XTX))", "X", lambda v: sympy.sqrt(Trace(v.X.T * v.X)),
         lambda t: torch.sqrt(t_tr(t.X.T @ t.X))),
]  # fmt: skip

APPLY = [
    case("applyfunc-tan(x)", "x", lambda v: symgrad.tan(v.x), lambda t: torch.tan(t.x)),
    case("applyfunc-sin(i**2x)", "i x", lambda v: symgrad.sin(v.i**2 * v.x),
         lambda t: torch.sin(t.i**2 * t.x)),
    case("applyfunc-sin(log(i)AB)", "i A B", lambda v: symgrad.sin(sympy.log(v.i) * (v.A @ v.B)),
         lambda t: torch.sin(torch.log(t.i) * (t.A @ t.B)), values={"i": "pos"}),
    case("applyfunc-A exp(x)", "A x", lambda v: v.A @ symgrad.exp(v.x),
         lambda t: t.A @ torch.exp(t.x)),
    case("applyfunc-xTAx+k sin(y)Tx", "x A y",
         lambda v: v.x.T @ v.A @ v.x + K * symgrad.sin(v.y).T @ v.x,
         lambda t: t.x.T @ t.A @ t.x + K * torch.sin(t.y).T @ t.x),
    case("applyfunc-sin(x)Ty", "x y", lambda v: symgrad.sin(v.x).T @ v.y,
         lambda t: torch.sin(t.x).T @ t.y),
    case("applyfunc-sin(aTXb)", "a X b", lambda v: symgrad.sin(v.a.T @ v.X @ v.b),
         lambda t: torch.sin(t.a.T @ t.X @ t.b)),
    case("applyfunc-aT sin(X) b", "a X b", lambda v: v.a.T @ symgrad.sin(v.X) @ v.b,
         lambda t: t.a.T @ torch.sin(t.X) @ t.b),
    case("applyfunc-aT sin(AXB) b", "a A X B b",
         lambda v: v.a.T @ symgrad.sin(v.A @ v.X @ v.B) @ v.b,
         lambda t: t.a.T @ torch.sin(t.A @ t.X @ t.B) @ t.b),
    case("applyfunc-aT sin(AXb) bT", "a A X b",
         lambda v: v.a.T @ symgrad.sin(v.A @ v.X @ v.b) @ v.b.T,
         lambda t: t.a.T @ torch.sin(t.A @ t.X @ t.b) @ t.b.T),
    case("applyfunc-aTA sin(X) Bb", "a A X B b",
         lambda v: v.a.T @ v.A @ symgrad.sin(v.X) @ v.B @ v.b,
         lambda t: t.a.T @ t.A @ torch.sin(t.X) @ t.B @ t.b),
    case("applyfunc-aT log(A sin(X) B) b", "a A X B b",
         lambda v: v.a.T @ symgrad.log(v.A @ symgrad.sin(v.X) @ v.B) @ v.b,
         lambda t: t.a.T @ torch.log(t.A @ torch.sin(t.X) @ t.B) @ t.b,
         values={"A": "pos", "B": "pos", "X": "angle"}),
    case("applyfunc-aT log(sin(X)) b", "a X b",
         lambda v: v.a.T @ symgrad.log(symgrad.sin(v.X)) @ v.b,
         lambda t: t.a.T @ torch.log(torch.sin(t.X)) @ t.b, values={"X": "angle"}),
]  # fmt: skip
APPLY = [  # symgrad's entrywise functions for SymPy's applyfunc (SymPy's: see by_scalar)
    pytest.param("symgrad", *p.values[1:], id=p.id) for p in APPLY
]

HADAMARD = [
    case("hadamard-hadamard_product(a,x,b)", "a x b", lambda v: hadamard_product(v.a, v.x, v.b),
         lambda t: t.a * t.x * t.b),
    case("hadamard-aT hadamard_product(A,X,B) b", "a A X B b",
         lambda v: v.a.T * hadamard_product(v.A, v.X, v.B) * v.b,
         lambda t: t.a.T @ (t.A * t.X * t.B) @ t.b),
    case("hadamard-hadamard_power(x,2)", "x", lambda v: hadamard_power(v.x, 2),
         lambda t: t.x**2),
    case("hadamard-hadamard_power(xT,2)", "x", lambda v: hadamard_power(v.x.T, 2),
         lambda t: t.x.T**2),
    case("hadamard-hadamard_power(x,1/2)", "x", lambda v: hadamard_power(v.x, S.Half),
         lambda t: torch.sqrt(t.x), values={"x": "pos"}),
    case("hadamard-hadamard_power(aTXb,2)", "a X b",
         lambda v: hadamard_power(v.a.T * v.X * v.b, 2), lambda t: (t.a.T @ t.X @ t.b) ** 2),
    case("hadamard-hadamard_power(aTXb,1/2)", "a X b",
         lambda v: hadamard_power(v.a.T * v.X * v.b, S.Half),
         lambda t: torch.sqrt(t.a.T @ t.X @ t.b), values=POSITIVE),
    case("hadamard-HadamardPower(x,i)", "x i", lambda v: HadamardPower(v.x, v.i),
         lambda t: t.x**t.i, values={"x": "pos"}),
]  # fmt: skip


def stackoverflow(v):
    m1 = sympy.Matrix([[1, 2], [4, 7]])
    m3 = sympy.Matrix([3, 5])
    return v.x.T * MatMul(m1, v.x) + v.x.T * sympy.Matrix(m3) + 6 * Identity(1)


def stackoverflow_symgrad(v):
    """The constants m1, m3 as variables of the model (checked with respect to them too)."""
    return v.x.T @ v.m1 @ v.x + v.x.T @ v.m3 + 6


def stackoverflow_torch(t):
    m1 = torch.tensor([[1.0, 2.0], [4.0, 7.0]], dtype=torch.float64)
    m3 = torch.tensor([[3.0], [5.0]], dtype=torch.float64)
    m1, m3 = getattr(t, "m1", m1), getattr(t, "m3", m3)
    return t.x.T @ m1 @ t.x + t.x.T @ m3 + 6


def explicit_2x2(*rows):
    """SymPy's Matrix([[…], […]]) of scalars, as symgrad builds an array of scalars."""
    return symgrad.stack([symgrad.stack(list(row)) for row in rows])


def torch_2x2(*rows):
    return torch.stack([torch.stack(list(row)) for row in rows])


def matpow_cases(base, exponents):
    """SymPy's MatPow(Matrix(base), e): SymPy's spelling, and symgrad's, whose stack of
    scalars is raised by SymPy's matrix power on its ``.expr``."""
    name = "[[m,0],[0,m]]" if base == "diagonal" else "[[0,m],[n,0]]"
    variables = "m" if base == "diagonal" else "m n"

    def rows(v, zero):
        if base == "diagonal":
            return ((v.m, zero), (zero, v.m))
        return ((zero, v.m), (v.n, zero))

    for e in exponents:
        theirs = lambda t, e=e: torch.linalg.matrix_power(torch_2x2(*rows(t, 0 * t.m)), e)  # noqa: E731
        yield case(f"matpow-{name}**{e}", variables,
                   lambda v, e=e: explicit_2x2(*rows(v, 0 * v.m)).expr ** e, theirs,
                   spelling="symgrad", values={"m": "pos", "n": "pos"})  # fmt: skip
        yield case(f"matpow-{name}**{e}-sympy", variables,
                   lambda v, e=e: MatPow(sympy.Matrix(rows(v, 0)), e), theirs,
                   values={"m": "pos", "n": "pos"})  # fmt: skip


MATPOW = [
    *matpow_cases("diagonal", (2,)),
    *matpow_cases("antidiagonal", (3, 0, -1)),
]


ISSUES = [
    case("issue_24021-Trace(E)**2+Trace(EET)", "E", lambda v: Trace(v.E) ** 2 + Trace(v.E * v.E.T),
         lambda t: t_tr(t.E) ** 2 + t_tr(t.E @ t.E.T)),
    case("stackoverflow-xTm1x+xTm3+6", "x m1 m3", stackoverflow_symgrad, stackoverflow_torch,
         shapes={"x": (2, 1), "m1": (2, 2), "m3": (2, 1)}, spelling="symgrad",
         values={"m1": "stackoverflow_m1", "m3": "stackoverflow_m3"}),
    case("stackoverflow-xTm1x+xTm3+6-sympy", "x", stackoverflow, stackoverflow_torch,
         shapes={"x": (2, 1)}),
    case("issue_25118-trace(F)-1", "F", lambda v: trace(v.F) - 1, lambda t: t_tr(t.F) - 1),
    case("issue_25118-Trace(FTF)-3", "F", lambda v: Trace(v.F.T * v.F) - 3,
         lambda t: t_tr(t.F.T @ t.F) - 3),
    case("issue_24725-Trace(dTd)", "x m",
         lambda v: Trace((v.x - v.m * OneMatrix(K, 1)).T @ (v.x - v.m * OneMatrix(K, 1))),
         lambda t: t_tr((t.x - t.m).T @ (t.x - t.m))),
    case("issue_24725-Trace(xTw)+b", "x w b", lambda v: Trace(v.x.T @ v.w) + v.b,
         lambda t: t_tr(t.x.T @ t.w) + t.b, shapes={"b": ()}),
    case("issue_24725-w[0,0]", "w", lambda v: v.w[0, 0], lambda t: t.w[0, 0], spelling="symgrad"),
    case("issue_24725-w[0,0]-sympy", "w", lambda v: v.w[0, 0], lambda t: t.w[0, 0]),
    case("issue_23492-trace(A)", "A", lambda v: trace(v.A), lambda t: t_tr(t.A)),
    case("issue_23492-trace(A.as_explicit())", "A", lambda v: trace(v.A.as_explicit()),
         lambda t: t_tr(t.A)),
    case("issue_23492-trace(A)+trace(A**2)", "A", lambda v: trace(v.A) + trace(v.A**2),
         lambda t: t_tr(t.A) + t_tr(t.A @ t.A)),
    case("issue_23364-(xF)**2", "F x", lambda v: (v.x * v.F) ** 2,
         lambda t: (t.x * t.F) @ (t.x * t.F), shapes={"x": ()}),
    case("issue_21597-b-Fc", "b F c", lambda v: v.b - v.F * v.c, lambda t: t.b - t.F @ t.c),
    case("issue_23931-1/trace(F)", "F", lambda v: 1 / trace(v.F), lambda t: 1 / t_tr(t.F)),
    case("issue_23931-x/trace(xTx)", "x", lambda v: v.x / trace(v.x.T @ v.x),
         lambda t: t.x / t_tr(t.x.T @ t.x)),
    case("issue_17229-M[1,2]", "M", lambda v: v.M[1, 2], lambda t: t.M[1, 2], spelling="symgrad"),
    case("issue_17229-M[1,2]-sympy", "M", lambda v: v.M[1, 2], lambda t: t.M[1, 2]),
    case("issue_17229-M.as_explicit()", "M", lambda v: v.M.as_explicit(), lambda t: t.M),
    case("issue_15651-X.as_explicit()X", "X", lambda v: v.X.as_explicit() * v.X,
         lambda t: t.X @ t.X),
    case("issue_15651-XX", "X", lambda v: v.X @ v.X, lambda t: t.X @ t.X, spelling="symgrad"),
    case("issue_15667-Trace(A)A", "A", lambda v: Trace(v.A) * v.A, lambda t: t_tr(t.A) * t.A),
    *MATPOW,
    case("matexpr_by_element-X+Y", "X Y", lambda v: v.X + v.Y, lambda t: t.X + t.Y,
         shapes={"X": (2, 2), "Y": (2, 2)}),
    case("matexpr_by_element-X+aY", "X Y Z a", lambda v: v.X + v.a * v.Y,
         lambda t: t.X + t.a * t.Y, shapes={"X": (2, 2), "Y": (2, 2), "Z": (2, 2), "a": ()}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("spelling", "variables", "ours", "theirs", "values", "shapes"),
    BY_SCALAR + DETERMINANTS + VECTORS + TRACES + MIXED_AND_NORMS + APPLY + HADAMARD + ISSUES,
)
def test_sympy_case_equals_torch(spelling, variables, ours, theirs, values, shapes):
    check(spelling, variables, ours, theirs, values, shapes)


def test_a_sympy_expressions_shape_declares_an_input():
    """``expr.shape`` of a SymPy matrix expression holds SymPy Integers (the weights above are
    declared with ``int``s for this reason)."""
    m = Model("shape")
    X = m.param("X", (3, 3))
    W = m.input("W", (X.expr * X.expr).shape)
    assert W.shape == (3, 3)
