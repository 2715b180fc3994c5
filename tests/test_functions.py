"""Acceptance tests for issue #14: every elementary function a model may use, entry by entry on
tensors and as itself on scalars, spelled as NumPy spells it (``symgrad.arcsin``,
``symgrad.fmod``, …).

Oracles, never symgrad itself: NumPy for values (``np.fmod`` keeps the dividend's sign,
``np.remainder`` the divisor's, ``np.round`` rounds half to even; a function NumPy lacks is
written from its definition in NumPy and ``math``), PyTorch autograd in float64 for gradients
and for Hessian-vector products (double backward). Step functions (floor, ceil, round, sign,
heaviside) have derivative 0 away from their jumps, as torch and JAX give.

Each row of FUNCTIONS is one function: the symgrad expression, its torch and NumPy
counterparts, and for each argument a domain that keeps clear of kinks, poles, jumps and branch
cuts. A model declares each argument a parameter of a given shape and a fixed random input
weight ``c`` of the output's shape; its loss is sum(c ⊙ f(x, y, …)) (c·f(x) for scalars).

Coverage, all of it cheap (deriving and compiling one of these models takes milliseconds, so
the whole file, about 1,450 tests, runs in about 20 s on two cores, most of it pytest's own
bookkeeping):
- first order, both backends, every function at every shape of JAX's lax_autodiff_test:
  scalar, (3,), (3, 4), (3, 1), (1, 4); for two arguments every ordered pair of the broadcasting
  group {(), (3, 4), (3, 1), (1, 4)} plus (3,) with (3,), with a scalar and with (3, 1); for
  clip's three a few same-shape and broadcasting triples;
- second order (H·v, and the full Hessian at scalars), both backends, at all-scalar arguments
  and at one broadcasting set per function ((3, 4) alone, (3, 1) with (1, 4), and (3, 4), (3, 1),
  (1, 4) for clip): every shape is already proven at first order, and the second derivation
  reuses the first one's shapes;
- the function's export and its row in `symgrad rules`, its worked example in LaTeX, Markdown
  and text, and one standalone LaTeX document with every function, compiled by pdflatex;
- NumPy's semantics where they differ from the obvious (round half to even, fmod against
  remainder, real cube roots of negatives, heaviside's value at 0);
- powers: x ** y at a zero base, X ** Y with a tensor exponent, 2 ** X and a ** X, and a loss
  SymPy folds to a constant; Piecewise losses (Huber, smooth L1) on scalars and batches;
- symgrad.hessian as a top-level function, with ``wrt`` giving a block of the Hessian.

JAX's LAX_GRAD_OPS (jax-ml/jax, tests/lax_autodiff_test.py at cec06d1, August 2026), the real
entries and the row that tests each (LAX_GRAD_OPS below holds the same table and a test keeps
it honest):

    lax.neg → negative (-x)        lax.floor → floor         lax.ceil → ceil
    lax.round → round              lax.exp → exp             lax.exp2 → exp2
    lax.expm1 → expm1              lax.log → log             lax.log1p → log1p
    lax.sinh → sinh                lax.cosh → cosh           lax.tanh → tanh
    lax.sin → sin                  lax.cos → cos             lax.tan → tan
    lax.asin → arcsin              lax.acos → arccos         lax.atan2 → arctan2
    lax.erf → erf                  lax.erfc → erfc           lax.erf_inv → erfinv
    lax.bessel_i0e → i0e           lax.bessel_i1e → i1e      lax.abs → abs
    lax.pow → power (x ** y)       lax.sqrt → sqrt           lax.rsqrt → rsqrt
    lax.cbrt → cbrt                lax.logistic → sigmoid    lax.add → add (x + y)
    lax.sub → subtract (x - y)     lax.mul → multiply (x * y)
    lax.div → divide (x / y)       lax.max → maximum         lax.min → minimum

The same file tests more outside the list, and so do these rows: lax.atan (special values) →
arctan; lax.rem (testRemainder) → fmod; lax.clamp (testClampGrad) → clip; integer powers at
zero (testPowIntPowerAtZero) → power_3 and the pow tests below; 1/x to high order
(testHigherOrderGradientOfReciprocal) → reciprocal. jax's tests/lax_numpy_test.py
GRAD_TEST_RECORDS adds jnp.arcsinh, jnp.arccosh, jnp.arctanh, jnp.logaddexp → the rows of those
names. lax.square, lax.integer_pow and lax.reciprocal are not in LAX_GRAD_OPS; square,
power_3 / power_minus_2 and reciprocal test them anyway.

Out of scope (OUT_OF_SCOPE below): lax.real, lax.imag, lax.conj and the complex dtypes of every
op (symgrad's variables are real); lax.complex (builds a complex number); lax.lgamma (commented
out of LAX_GRAD_OPS by JAX itself, and NumPy has no lgamma or digamma to be the value oracle);
jnp.logaddexp2 (not among #14's functions; logaddexp is).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import pytest
import sympy

import symgrad
from symgrad import Model

from .oracles import assert_close, autograd, both_signs, draw, second_order, seeded, torch

F = torch.nn.functional

# --- NumPy's values for what NumPy lacks, from definitions ------------------------------------


def _vectorized(function):
    return np.vectorize(function, otypes=[float])


np_erf = _vectorized(math.erf)
np_erfc = _vectorized(math.erfc)


def np_erfinv(y):
    """Newton's method on erf(x) = y from 0; converges to the last bit for |y| < 0.9."""
    y = np.asarray(y, dtype=np.float64)
    x = np.zeros_like(y)
    for _ in range(60):
        x = x - (np_erf(x) - y) / (2 / math.sqrt(math.pi) * np.exp(-x * x))
    return x


def np_i0e(x):
    return np.i0(x) * np.exp(-np.abs(x))


def np_i1e(x):
    """exp(−|x|) I₁(x) from I₁'s series Σ (x/2)^(2k+1) / (k! (k+1)!), exact to float64 for |x| ≤ 3."""
    x = np.asarray(x, dtype=np.float64)
    term = x / 2
    total = term.copy()
    for k in range(1, 40):
        term = term * (x / 2) ** 2 / (k * (k + 1))
        total = total + term
    return total * np.exp(-np.abs(x))


def np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def np_gelu(x):
    return 0.5 * x * (1 + np_erf(x / math.sqrt(2)))


def np_gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def np_elu(alpha):
    return lambda x: np.where(np.asarray(x) > 0, x, alpha * np.expm1(x))


def np_leaky_relu(slope):
    return lambda x: np.where(np.asarray(x) > 0, x, slope * np.asarray(x))


def torch_cbrt(x):  # torch has no cbrt
    return torch.sign(x) * torch.abs(x) ** (1 / 3)


def torch_clip(x, low, high):
    # torch.clamp's backward cannot reduce a broadcast input; broadcasting first can
    return torch.clamp(*torch.broadcast_tensors(x, low, high))


def torch_heaviside(x):  # no derivative in torch; its derivative is 0 away from 0
    return torch.heaviside(x.detach(), torch.tensor(0.5, dtype=torch.float64))


# --- domains ---------------------------------------------------------------------------------

REAL = ((-3.0, 3.0),)
SMALL = ((-2.0, 2.0),)
POSITIVE = ((0.2, 3.0),)
UNIT = ((-0.8, 0.8),)
NONZERO = both_signs(0.1, 3.0)
AWAY_FROM_INTEGERS = tuple((k + 0.15, k + 0.85) for k in range(-3, 3))
AWAY_FROM_HALVES = tuple(
    interval for k in range(-3, 3) for interval in ((k + 0.1, k + 0.4), (k + 0.6, k + 0.9))
)
# |x / y| ∈ (0.105, 0.875) ∪ (1.05, 1.875): never within 0.05 of an integer
DIVIDEND = both_signs(0.2, 1.4) + both_signs(2.0, 3.0)
DIVISOR = both_signs(1.6, 1.9)
# every a is at least 0.2 from every b, and either may be the larger
LARGER = ((-2.0, -1.1), (0.1, 0.9))
SMALLER = ((-0.9, -0.1), (1.1, 2.0))
# clip's x is at least 0.2 from its bounds, below, between and above them
CLIPPED = ((-2.5, -1.4), (-0.6, 0.6), (1.4, 2.5))
LOW = ((-1.2, -0.8),)
HIGH = ((0.8, 1.2),)


# --- the table ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Function:
    """One row: ``id`` names it in test ids; ``build`` makes symgrad's expression from the
    arguments; ``torch`` and ``numpy`` are the oracles; one domain per argument; ``rule`` is
    the row `symgrad rules` must list (None for Python's operators + − × ÷)."""

    id: str
    build: object
    torch: object
    numpy: object
    domains: tuple
    rule: str | None = None
    keywords: dict = field(default_factory=dict)

    @property
    def arity(self) -> int:
        return len(self.domains)


def function(name, torch_f, numpy_f, *domains, id=None, constants=(), **keywords):
    """A row for ``symgrad.<name>``, looked up when a test runs (so a missing function fails
    its own tests, not the file's import); ``constants`` follow the arguments (heaviside's
    value at 0), ``keywords`` are passed as they are."""

    def build(*args):
        found = getattr(symgrad, name, None)
        assert found is not None, f"symgrad.{name} does not exist"
        return found(*args, *constants, **keywords)

    label = id or name
    return Function(label, build, torch_f, numpy_f, tuple(domains), name, keywords)


def operation(id, spelling, *domains, rule=None):
    """A row for Python's operators, which symgrad, torch and NumPy all spell the same way."""
    return Function(id, spelling, spelling, spelling, tuple(domains), rule)


FUNCTIONS = [
    # trigonometric
    function("sin", torch.sin, np.sin, REAL),
    function("cos", torch.cos, np.cos, REAL),
    function("tan", torch.tan, np.tan, ((-1.3, 1.3),)),
    function("arcsin", torch.asin, np.arcsin, UNIT),
    function("arccos", torch.acos, np.arccos, UNIT),
    function("arctan", torch.atan, np.arctan, REAL),
    function("arctan2", torch.atan2, np.arctan2, both_signs(0.3, 2.0), both_signs(0.3, 2.0)),
    function("hypot", torch.hypot, np.hypot, both_signs(0.2, 2.0), both_signs(0.2, 2.0)),
    # hyperbolic
    function("sinh", torch.sinh, np.sinh, SMALL),
    function("cosh", torch.cosh, np.cosh, SMALL),
    function("tanh", torch.tanh, np.tanh, REAL),
    function("arcsinh", torch.asinh, np.arcsinh, REAL),
    function("arccosh", torch.acosh, np.arccosh, ((1.2, 3.0),)),
    function("arctanh", torch.atanh, np.arctanh, UNIT),
    # exponentials and logarithms
    function("exp", torch.exp, np.exp, SMALL),
    function("exp2", torch.exp2, np.exp2, SMALL),
    function("expm1", torch.expm1, np.expm1, SMALL),
    function("log", torch.log, np.log, POSITIVE),
    function("log2", torch.log2, np.log2, POSITIVE),
    function("log10", torch.log10, np.log10, POSITIVE),
    function("log1p", torch.log1p, np.log1p, ((-0.7, 3.0),)),
    function("logaddexp", torch.logaddexp, np.logaddexp, SMALL, SMALL),
    # powers and roots
    function("sqrt", torch.sqrt, np.sqrt, POSITIVE),
    function("rsqrt", torch.rsqrt, lambda x: 1 / np.sqrt(x), POSITIVE),
    function("cbrt", torch_cbrt, np.cbrt, both_signs(0.2, 3.0)),
    function("square", torch.square, np.square, SMALL),
    function("reciprocal", torch.reciprocal, np.reciprocal, both_signs(0.3, 2.0)),
    operation("add", lambda x, y: x + y, SMALL, SMALL),
    operation("subtract", lambda x, y: x - y, SMALL, SMALL),
    operation("multiply", lambda x, y: x * y, SMALL, SMALL),
    operation("divide", lambda x, y: x / y, SMALL, both_signs(0.5, 2.0)),
    operation("negative", lambda x: -x, SMALL),
    operation("power", lambda x, y: x**y, ((0.3, 2.0),), SMALL, rule="pow"),
    operation("power_3", lambda x: x**3, SMALL, rule="pow"),
    operation("power_minus_2", lambda x: x**-2, both_signs(0.3, 2.0), rule="pow"),
    operation("base_2_power", lambda x: 2**x, SMALL, rule="pow"),
    # special functions
    function("erf", torch.erf, np_erf, SMALL),
    function("erfc", torch.erfc, np_erfc, SMALL),
    function("erfinv", torch.special.erfinv, np_erfinv, UNIT),
    function("i0e", torch.special.i0e, np_i0e, both_signs(0.2, 3.0)),
    function("i1e", torch.special.i1e, np_i1e, both_signs(0.2, 3.0)),
    # steps, kinks and remainders
    function("sign", torch.sign, np.sign, NONZERO),
    function("abs", torch.abs, np.abs, NONZERO),
    function("floor", torch.floor, np.floor, AWAY_FROM_INTEGERS),
    function("ceil", torch.ceil, np.ceil, AWAY_FROM_INTEGERS),
    function("round", torch.round, np.round, AWAY_FROM_HALVES),
    function("fmod", torch.fmod, np.fmod, DIVIDEND, DIVISOR),
    function("remainder", torch.remainder, np.remainder, DIVIDEND, DIVISOR),
    function("maximum", torch.maximum, np.maximum, LARGER, SMALLER),
    function("minimum", torch.minimum, np.minimum, LARGER, SMALLER),
    function("clip", torch_clip, np.clip, CLIPPED, LOW, HIGH),
    function(
        "heaviside", torch_heaviside, lambda x: np.heaviside(x, 0.5), NONZERO, constants=(0.5,)
    ),
    # activations
    function("sigmoid", torch.sigmoid, np_sigmoid, REAL),
    function("softplus", F.softplus, lambda x: np.logaddexp(0.0, x), REAL),
    function("relu", torch.relu, lambda x: np.maximum(x, 0.0), NONZERO),
    function("leaky_relu", F.leaky_relu, np_leaky_relu(0.01), NONZERO),
    function(
        "leaky_relu",
        lambda x: F.leaky_relu(x, 0.2),
        np_leaky_relu(0.2),
        NONZERO,
        id="leaky_relu_0.2",
        negative_slope=0.2,
    ),
    function("elu", F.elu, np_elu(1.0), NONZERO),
    function("elu", lambda x: F.elu(x, 0.5), np_elu(0.5), NONZERO, id="elu_0.5", alpha=0.5),
    function("selu", F.selu, lambda x: SELU_SCALE * np_elu(SELU_ALPHA)(x), NONZERO),
    function("silu", F.silu, lambda x: x * np_sigmoid(x), REAL),
    function("gelu", F.gelu, np_gelu, REAL),
    function(
        "gelu",
        lambda x: F.gelu(x, approximate="tanh"),
        np_gelu_tanh,
        REAL,
        id="gelu_tanh",
        approximate="tanh",
    ),
    function("mish", F.mish, lambda x: x * np.tanh(np.log1p(np.exp(x))), REAL),
]
BY_ID = {row.id: row for row in FUNCTIONS}
assert len(BY_ID) == len(FUNCTIONS), "two rows share an id"

# JAX's gradient tests (see the module docstring): each op → the row that tests it here.
LAX_GRAD_OPS = {
    "lax.neg": "negative",
    "lax.floor": "floor",
    "lax.ceil": "ceil",
    "lax.round": "round",
    "lax.exp": "exp",
    "lax.exp2": "exp2",
    "lax.expm1": "expm1",
    "lax.log": "log",
    "lax.log1p": "log1p",
    "lax.sinh": "sinh",
    "lax.cosh": "cosh",
    "lax.tanh": "tanh",
    "lax.sin": "sin",
    "lax.cos": "cos",
    "lax.tan": "tan",
    "lax.asin": "arcsin",
    "lax.acos": "arccos",
    "lax.atan2": "arctan2",
    "lax.erf": "erf",
    "lax.erfc": "erfc",
    "lax.erf_inv": "erfinv",
    "lax.bessel_i0e": "i0e",
    "lax.bessel_i1e": "i1e",
    "lax.abs": "abs",
    "lax.pow": "power",
    "lax.sqrt": "sqrt",
    "lax.rsqrt": "rsqrt",
    "lax.cbrt": "cbrt",
    "lax.logistic": "sigmoid",
    "lax.add": "add",
    "lax.sub": "subtract",
    "lax.mul": "multiply",
    "lax.div": "divide",
    "lax.max": "maximum",
    "lax.min": "minimum",
}
JAX_OTHER_GRAD_TESTS = {
    "lax.atan (LAX_GRAD_SPECIAL_VALUE_TESTS)": "arctan",
    "lax.rem (testRemainder)": "fmod",
    "lax.clamp (testClampGrad)": "clip",
    "x ** n (testPowIntPowerAtZero)": "power_3",
    "1 / x (testHigherOrderGradientOfReciprocal)": "reciprocal",
    "jnp.arcsinh (GRAD_TEST_RECORDS)": "arcsinh",
    "jnp.arccosh (GRAD_TEST_RECORDS)": "arccosh",
    "jnp.arctanh (GRAD_TEST_RECORDS)": "arctanh",
    "jnp.logaddexp (GRAD_TEST_RECORDS)": "logaddexp",
}
OUT_OF_SCOPE = {
    "lax.real": "complex argument; symgrad's variables are real",
    "lax.imag": "complex argument; symgrad's variables are real",
    "lax.conj": "complex conjugate; the identity on reals",
    "lax.complex": "builds a complex number from two reals",
    "complex dtypes of exp, log, sin, sqrt, rsqrt, …": "symgrad's variables are real",
    "lax.lgamma": "commented out of LAX_GRAD_OPS by JAX; NumPy has no lgamma to be the oracle",
    "jnp.logaddexp2 (GRAD_TEST_RECORDS)": "not among #14's functions (logaddexp is)",
}


def test_every_real_op_of_jaxs_gradient_tests_has_a_row():
    named = {**LAX_GRAD_OPS, **JAX_OTHER_GRAD_TESTS}
    missing = {op: row for op, row in named.items() if row not in BY_ID}
    assert not missing, f"ops whose row is missing from FUNCTIONS: {missing}"
    assert not set(named) & set(OUT_OF_SCOPE), "an op both tested and out of scope"


# --- shapes ------------------------------------------------------------------------------------

BROADCASTING = [(), (3, 4), (3, 1), (1, 4)]  # JAX's compatible_shapes group
SHAPES = {
    1: [((),), ((3,),), ((3, 4),), ((3, 1),), ((1, 4),)],
    2: [(a, b) for a in BROADCASTING for b in BROADCASTING]
    + [((3,), (3,)), ((3,), ()), ((), (3,)), ((3, 1), (3,))],
    3: [
        ((), (), ()),
        ((3,), (3,), (3,)),
        ((3, 4), (3, 4), (3, 4)),
        ((3, 4), (), ()),
        ((), (3, 4), ()),
        ((), (), (3, 4)),
        ((3, 4), (3, 1), (1, 4)),
        ((3, 1), (1, 4), ()),
        ((1, 4), (3, 1), (3, 4)),
    ],
}
SECOND_ORDER_SHAPES = {
    1: [((),), ((3, 4),)],
    2: [((), ()), ((3, 1), (1, 4))],
    3: [((), (), ()), ((3, 4), (3, 1), (1, 4))],
}
ARGUMENTS = ("x", "y", "z")
BACKENDS = ["numpy", "torch"]


def shape_label(shapes) -> str:
    return ",".join("x".join(map(str, s)) if s else "scalar" for s in shapes)


def cases(shapes_by_arity):
    return [
        pytest.param(row, shapes, id=f"{row.id}-{shape_label(shapes)}")
        for row in FUNCTIONS
        for shapes in shapes_by_arity[row.arity]
    ]


@cache
def function_model(row_id: str, shapes: tuple) -> tuple[Model, dict]:
    """The model sum(c ⊙ f(x, y, …)) with arguments of ``shapes`` and its point, drawn from
    the row's domains."""
    row = BY_ID[row_id]
    names = ARGUMENTS[: row.arity]
    rng = seeded(row_id, shapes)
    out = np.broadcast_shapes(*shapes)
    values = {n: draw(rng, d, s) for n, d, s in zip(names, row.domains, shapes, strict=True)}
    values["c"] = float(rng.normal()) if out == () else rng.normal(size=out)
    m = Model(f"{row_id} at {shape_label(shapes)}")
    arguments = [m.param(n, s or None) for n, s in zip(names, shapes, strict=True)]
    c = m.input("c", out or None)
    f = row.build(*arguments)
    m.loss("L", c * f if out == () else symgrad.sum(c * f))
    m.example(**values)
    return m, values


@cache
def derivation(row_id: str, shapes: tuple):
    return symgrad.derive(function_model(row_id, shapes)[0])


@cache
def second_derivation(row_id: str, shapes: tuple):
    return second_order(function_model(row_id, shapes)[0])


def torch_loss(row: Function):
    names = ARGUMENTS[: row.arity]
    return lambda t: (t["c"] * row.torch(*[t[n] for n in names])).sum()


# --- first order -------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("row", "shapes"), cases(SHAPES))
def test_loss_equals_numpys_and_gradient_equals_autograds(row, shapes, backend):
    _, values = function_model(row.id, shapes)
    names = ARGUMENTS[: row.arity]
    loss, gradient = symgrad.compile(derivation(row.id, shapes), backend)(**values)
    terms = values["c"] * row.numpy(*[values[n] for n in names])
    where = f"{row.id} at {shape_label(shapes)} ({backend})"
    assert_close(
        loss, np.sum(terms), f"{where}: the loss", rtol=0, atol=1e-12 * np.sum(np.abs(terms))
    )
    _, expected = autograd(torch_loss(row), values, names)
    for name in names:
        assert_close(gradient[name], expected[name], f"{where}: ∂L/∂{name}")


# --- second order ------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("row", "shapes"), cases(SECOND_ORDER_SHAPES))
def test_hessian_vector_product_equals_autograds(row, shapes, backend):
    _, values = function_model(row.id, shapes)
    names = ARGUMENTS[: row.arity]
    rng = seeded("direction", row.id, shapes)
    v = {n: draw(rng, ((-1.0, 1.0),), s) for n, s in zip(names, shapes, strict=True)}
    compiled = second_derivation(row.id, shapes).compile(backend)
    product = compiled.hvp(v, **values)
    _, _, expected = autograd(torch_loss(row), values, names, v)
    where = f"{row.id} at {shape_label(shapes)} ({backend})"
    for name in names:
        assert_close(product[name], expected[name], f"{where}: (H v) for {name}")
    if all(s == () for s in shapes):  # a scalar model: the whole Hessian, column by column
        columns = []
        for j in range(row.arity):
            unit = {n: float(i == j) for i, n in enumerate(names)}
            columns.append([autograd(torch_loss(row), values, names, unit)[2][n] for n in names])
        assert_close(compiled.hessian(**values), np.array(columns).T, f"{where}: the Hessian")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("row_id", ["tanh", "exp", "sigmoid", "sin", "log"])
def test_hessian_of_a_loss_that_is_one_function_of_a_parameter(row_id, backend):
    """L = f(a) with no node between: the second derivation meets the first one's adjoint
    dL_da (this failed at HEAD ef1d86b for tanh, exp and sigmoid, whose derivatives are
    written with the forward value)."""
    row = BY_ID[row_id]
    m = Model(f"{row_id} of a")
    a = m.params("a")
    m.loss("L", row.build(a))
    values = {"a": 0.7}
    _, _, expected = autograd(lambda t: row.torch(t["a"]), values, ["a"], {"a": 1.0})
    compiled = second_order(m).compile(backend)
    assert_close(
        compiled.hessian(**values), [[expected["a"]]], f"{row_id}(a) ({backend}): the Hessian"
    )
    assert_close(
        compiled.hvp({"a": 1.0}, **values)["a"], expected["a"], f"{row_id}(a) ({backend}): H v"
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_hessian_with_respect_to_some_variables_is_that_block(backend):
    m = Model("block")
    x, y = m.params("x y")
    m.loss("L", x**2 * symgrad.sin(y) + symgrad.exp(x * y))
    values = {"x": 0.4, "y": -1.1}

    def loss(t):
        return t["x"] ** 2 * torch.sin(t["y"]) + torch.exp(t["x"] * t["y"])

    full = torch.autograd.functional.hessian(
        lambda x, y: loss({"x": x, "y": y}),
        (torch.tensor(0.4, dtype=torch.float64), torch.tensor(-1.1, dtype=torch.float64)),
    )
    for wrt, block in (
        (["y"], [[full[1][1].item()]]),
        (
            ["y", "x"],
            [[full[1][1].item(), full[1][0].item()], [full[0][1].item(), full[0][0].item()]],
        ),
    ):
        got = second_order(m, wrt=wrt).compile(backend).hessian(**values)
        assert_close(got, block, f"the Hessian in {wrt} ({backend})")


def test_hessian_is_a_top_level_function():
    found = getattr(symgrad, "hessian", None)
    assert callable(found), f"symgrad.hessian is {found!r}, not a function"
    assert "hessian" in symgrad.__all__


# --- the rule table, exports and worked examples ------------------------------------------------

NAMES = sorted({row.rule for row in FUNCTIONS if row.rule})


def test_every_function_is_exported_by_its_numpy_name():
    missing = [
        name
        for name in NAMES
        if name != "pow"
        and (name not in symgrad.__all__ or not callable(getattr(symgrad, name, None)))
    ]
    assert not missing, f"symgrad does not export {', '.join(missing)}"


@pytest.fixture(scope="module")
def rules_text():
    from click.testing import CliRunner

    from symgrad.cli import main

    result = CliRunner().invoke(main, ["rules"])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("name", NAMES)
def test_rules_command_has_a_row_for_the_function(name, rules_text):
    headings = [
        line.split()[0] for line in rules_text.splitlines() if line and not line[0].isspace()
    ]
    assert name in headings, f"`symgrad rules` has no row headed {name!r}; rows: {headings}"


RAW_PYTHON = re.compile(
    r"\bnp\.|\bnumpy\b|\btorch\b|\bmath\.|\blambda\b|\bDummy|\b_[A-Za-z]\w*\(|Error"
)


@pytest.mark.parametrize("row", FUNCTIONS, ids=[row.id for row in FUNCTIONS])
def test_worked_example_typesets_the_function(row):
    d = derivation(row.id, ((),) * row.arity)
    for target in ("latex", "markdown", "text"):
        written = symgrad.render(d, target)
        raw = RAW_PYTHON.findall(written)
        assert not raw, f"{row.id}: the {target} worked example has {raw}:\n{written}"


def test_a_document_with_every_function_compiles(pdflatex, tmp_path):
    m = Model("every function")
    rng = seeded("every function")
    values, total = {}, 0
    for k, row in enumerate(FUNCTIONS):
        arguments = []
        for name, domain in zip("pqr", row.domains, strict=False):
            arguments.append(m.params(f"{name}{k}"))
            values[f"{name}{k}"] = draw(rng, domain, ())
        total = total + m.node(f"f{k}", row.build(*arguments))
    m.loss("L", total)
    m.example(**values)
    code, log, _ = pdflatex(symgrad.render(symgrad.derive(m), "latex", standalone=True), tmp_path)
    assert code == 0, log[-2000:]


# --- NumPy's semantics at the points that tell them apart ----------------------------------------

SPECIAL_VALUES = {
    "round": [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, -0.4999],  # half to even
    "floor": [-2.0, -0.5, 0.0, 0.5, 3.0],
    "ceil": [-2.0, -0.5, 0.0, 0.5, 3.0],
    "sign": [-2.0, 0.0, 3.0],
    "abs": [-2.0, 0.0, 3.0],
    "heaviside": [-2.0, 0.0, 3.0],  # 0.5 at 0
    "relu": [-2.0, 0.0, 3.0],
    "cbrt": [-27.0, -8.0, -1.0, -0.001, 0.0, 8.0],  # real cube roots, negative for negatives
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("row_id", sorted(SPECIAL_VALUES))
def test_values_at_jumps_halves_and_negatives_are_numpys(row_id, backend):
    """f's values, read as ∂L/∂c of sum(c ⊙ f(X)) with c a parameter and X data."""
    row = BY_ID[row_id]
    points = np.array([SPECIAL_VALUES[row_id]])
    m = Model(f"{row_id} at special values")
    X = m.input("X", points.shape)
    c = m.param("c", points.shape)
    m.loss("L", symgrad.sum(c * row.build(X)))
    _, gradient = symgrad.compile(symgrad.derive(m), backend)(X=points, c=np.ones(points.shape))
    assert_close(
        gradient["c"],
        row.numpy(points),
        f"{row_id}{points.tolist()} ({backend})",
        rtol=1e-15,
        atol=1e-15,
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_fmod_keeps_the_dividends_sign_and_remainder_the_divisors(backend):
    x = np.array([[5.5, -5.5, 5.5, -5.5, 0.75]])
    y = np.array([[2.0, 2.0, -2.0, -2.0, 0.5]])
    for row_id, spelled in (
        ("fmod", [1.5, -1.5, 1.5, -1.5, 0.25]),
        ("remainder", [1.5, 0.5, -0.5, -1.5, 0.25]),
    ):
        row = BY_ID[row_id]
        assert np.allclose(row.numpy(x, y), spelled)  # the oracle is the one we mean
        m = Model(row_id)
        X, Y, c = m.param("X", x.shape), m.param("Y", y.shape), m.param("c", x.shape)
        m.loss("L", symgrad.sum(c * row.build(X, Y)))
        values = {"X": x, "Y": y, "c": np.full(x.shape, 1.5)}
        _, gradient = symgrad.compile(symgrad.derive(m), backend)(**values)
        _, expected = autograd(
            lambda t, row=row: (t["c"] * row.torch(t["X"], t["Y"])).sum(), values, ["X", "Y", "c"]
        )
        for name in ("X", "Y", "c"):  # ∂/∂Y is −trunc(x/y) for fmod, −floor(x/y) for remainder
            assert_close(gradient[name], expected[name], f"{row_id} ({backend}): ∂L/∂{name}")


# --- powers ----------------------------------------------------------------------------------


def power_model(shape=()):
    m = Model("power")
    if shape:
        x, y, c = m.param("x", shape), m.param("y", shape), m.input("c", shape)
        m.loss("L", symgrad.sum(c * x**y))
    else:
        x, y = m.params("x y")
        c = m.inputs("c")
        m.loss("L", c * x**y)
    return m


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("exponent", [1.0, 2.0, 3.0])
def test_power_at_a_zero_base_has_autograds_finite_gradient(exponent, backend):
    """d(x^y)/dx at x = 0 is y·0^(y−1) (1, 0, 0), and d/dy is 0 there, as torch gives."""
    values = {"x": 0.0, "y": exponent, "c": 1.25}
    loss, gradient = symgrad.compile(symgrad.derive(power_model()), backend)(**values)
    want_loss, expected = autograd(lambda t: t["c"] * t["x"] ** t["y"], values, ["x", "y"])
    assert_close(loss, want_loss, f"0 ** {exponent} ({backend})")
    for name in ("x", "y"):
        assert_close(gradient[name], expected[name], f"0 ** {exponent} ({backend}): ∂L/∂{name}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_power_over_a_batch_with_zero_bases_has_autograds_gradient(backend):
    values = {
        "x": np.array([0.0, 0.0, 0.0, 1.5, 0.5]),
        "y": np.array([1.0, 2.0, 3.0, 2.5, -1.5]),
        "c": np.array([1.0, -2.0, 0.5, 1.5, 0.75]),
    }
    loss, gradient = symgrad.compile(symgrad.derive(power_model()), backend)(**values)
    want_loss, expected = autograd(lambda t: (t["c"] * t["x"] ** t["y"]).mean(), values, ["x", "y"])
    assert_close(loss, want_loss, f"a batch of powers ({backend})")
    for name in ("x", "y"):
        assert_close(gradient[name], expected[name], f"a batch of powers ({backend}): ∂L/∂{name}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_tensor_power_with_zero_bases_has_autograds_gradient(backend):
    x = np.array([[0.0, 0.0, 0.0, 1.5], [0.3, 0.0, 2.0, 0.7], [1.1, 0.9, 0.0, 0.2]])
    y = np.array([[1.0, 2.0, 3.0, -0.5], [1.5, 2.5, 0.5, 2.0], [3.0, -2.0, 1.0, 1.0]])
    c = seeded("tensor power").normal(size=(3, 4))
    values = {"x": x, "y": y, "c": c}
    loss, gradient = symgrad.compile(symgrad.derive(power_model((3, 4))), backend)(**values)
    want_loss, expected = autograd(lambda t: (t["c"] * t["x"] ** t["y"]).sum(), values, ["x", "y"])
    assert_close(loss, want_loss, f"X ** Y ({backend})")
    for name in ("x", "y"):
        assert_close(gradient[name], expected[name], f"X ** Y ({backend}): ∂L/∂{name}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_scalar_base_to_a_tensor_power_has_autograds_gradient(backend):
    m = Model("powers of a scalar")
    a = m.params("a")
    X = m.param("X", (3, 4))
    m.loss("L", symgrad.sum(2**X) + symgrad.sum(a**X) + symgrad.sum(X**a))
    values = {"a": 1.7, "X": seeded("powers of a scalar").uniform(0.3, 2.0, size=(3, 4))}
    loss, gradient = symgrad.compile(symgrad.derive(m), backend)(**values)
    want_loss, expected = autograd(
        lambda t: (2 ** t["X"]).sum() + (t["a"] ** t["X"]).sum() + (t["X"] ** t["a"]).sum(),
        values,
        ["a", "X"],
    )
    assert_close(loss, want_loss, f"2 ** X + a ** X + X ** a ({backend})")
    for name in ("a", "X"):
        assert_close(
            gradient[name], expected[name], f"2 ** X + a ** X + X ** a ({backend}): ∂L/∂{name}"
        )


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_loss_sympy_folds_to_a_constant_has_gradient_zero(backend):
    m = Model("constant")
    a = m.params("a")
    m.loss("L", a - a)
    loss, gradient = symgrad.compile(symgrad.derive(m), backend)(a=1.3)
    assert_close(loss, 0.0, f"a - a ({backend})")
    assert_close(gradient["a"], 0.0, f"a - a ({backend}): ∂L/∂a")
    assert_close(
        second_order(m).compile(backend).hessian(a=1.3), [[0.0]], f"a - a ({backend}): the Hessian"
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_tensor_loss_sympy_folds_to_a_constant_has_gradient_zero(backend):
    m = Model("constant tensor")
    A = m.param("A", (3, 4))
    m.loss("L", symgrad.sum(A - A))
    loss, gradient = symgrad.compile(symgrad.derive(m), backend)(A=np.ones((3, 4)))
    assert_close(loss, 0.0, f"sum(A - A) ({backend})")
    assert_close(gradient["A"], np.zeros((3, 4)), f"sum(A - A) ({backend}): ∂L/∂A")


# --- Piecewise with real conditions (scalar models) ----------------------------------------------


def huber(r, delta):
    return sympy.Piecewise(
        (r**2 / 2, sympy.Abs(r) <= delta), (delta * (sympy.Abs(r) - delta / 2), True)
    )


def smooth_l1(r, beta):
    return sympy.Piecewise(
        (r**2 / (2 * beta), sympy.Abs(r) < beta), (sympy.Abs(r) - beta / 2, True)
    )


PIECEWISE_LOSSES = {
    # name: (symgrad's loss of the residual, torch's loss of prediction and target, the kink)
    "huber": (lambda r: huber(r, 1), lambda p, t: F.huber_loss(p, t, delta=1.0), 1.0),
    "huber_delta_2": (lambda r: huber(r, 2), lambda p, t: F.huber_loss(p, t, delta=2.0), 2.0),
    "smooth_l1": (
        lambda r: smooth_l1(r, sympy.Rational(1, 2)),
        lambda p, t: F.smooth_l1_loss(p, t, beta=0.5),
        0.5,
    ),
}


def piecewise_point(rng, kink, shape, sides):
    """x, t, w, b whose residual w·x + b − t lies on the given sides of the kink (inside
    (−kink, kink), outside it or either), 0.2·kink clear of it."""
    inside = ((-0.8 * kink, 0.8 * kink),)
    outside = ((-3 * kink, -1.2 * kink), (1.2 * kink, 3 * kink))
    r = draw(rng, {"inside": inside, "outside": outside, "both": inside + outside}[sides], shape)
    x = draw(rng, SMALL, shape)
    w, b = draw(rng, SMALL, ()), draw(rng, SMALL, ())
    return {"x": x, "t": w * x + b - r, "w": w, "b": b}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(PIECEWISE_LOSSES))
def test_piecewise_loss_has_autograds_gradient_and_hessian(name, backend):
    loss_of, reference, kink = PIECEWISE_LOSSES[name]
    m = Model(name)
    x, t = m.inputs("x t")
    w, b = m.params("w b")
    p = m.node("p", w * x + b)
    r = m.node("r", p - t)
    m.loss("L", loss_of(r))
    compiled = symgrad.compile(symgrad.derive(m), backend)
    hessian = second_order(m).compile(backend)
    rng = seeded("piecewise", name)
    for sides, shape in [("inside", ()), ("outside", ()), ("outside", ()), ("both", (6,))] * 2:
        values = piecewise_point(rng, kink, shape, sides)

        def torch_loss(v):
            return reference(v["w"] * v["x"] + v["b"], v["t"])

        direction = {"w": draw(rng, SMALL, ()), "b": draw(rng, SMALL, ())}
        want_loss, expected, expected_hv = autograd(torch_loss, values, ["w", "b"], direction)
        loss, gradient = compiled(**values)
        where = f"{name} at {values} ({backend})"
        assert_close(loss, want_loss, f"{where}: the loss")
        product = hessian.hvp(direction, **values)
        for var in ("w", "b"):
            assert_close(gradient[var], expected[var], f"{where}: ∂L/∂{var}")
            assert_close(product[var], expected_hv[var], f"{where}: (H v) for {var}")
