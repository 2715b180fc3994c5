"""The scalar primitives: one record each, grouped as a calculus book groups them.

Each record reads as a row of a table: the function, its derivative in textbook form (``ans`` is
the function's own value, as in autograd's ``defvjp``), its spellings for NumPy, Torch, Python
floats, LaTeX and text, its kinks and the domain its arguments need, and example arguments. The
tests walk every record against SymPy's own derivative of its definition and torch autograd.

SymPy's functions (``exp``, ``tanh``, ``asin``, …) are found by their SymPy class; symgrad's own
(``sigmoid``, ``relu``, ``log1p``, …) are ``Primitive`` classes defined here. A composite
(``square``, ``exp2``) has no class: a model holds its definition and the chain rule goes
through it.
"""

from __future__ import annotations

import builtins

import sympy
from sympy import (
    Abs,
    Heaviside,
    Max,
    Min,
    Piecewise,
    acos,
    acosh,
    asin,
    asinh,
    atan,
    atan2,
    atanh,
    ceiling,
    cos,
    cosh,
    erf,
    erfc,
    erfinv,
    exp,
    floor,
    log,
    pi,
    sign,
    sin,
    sinh,
    sqrt,
    tan,
    tanh,
)

from .. import tensors as T
from ..errors import SymgradError
from ..tensors import is_matrix
from .record import Primitive, Rule, register

# --- symgrad's own functions (SymPy has no class for them, or would rewrite them on sight) ------


class sigmoid(Primitive):
    """The logistic function σ(x) = 1 / (1 + e^{−x})."""

    nargs = 1

    def _eval_is_positive(self):
        return True if self.args[0].is_extended_real else None


class relu(Primitive):
    """max(0, x); its derivative is taken as 0 at x = 0, as PyTorch does."""

    nargs = 1

    def _eval_is_nonnegative(self):
        return True if self.args[0].is_extended_real else None


class leaky_relu(Primitive):
    """x for x > 0, else negative_slope · x."""

    nargs = 2
    parameters = ("x", "negative_slope")
    defaults = {"negative_slope": sympy.Float(0.01)}  # noqa: RUF012 (read only)


class elu(Primitive):
    """x for x > 0, else α(e^x − 1)."""

    nargs = 2
    parameters = ("x", "alpha")
    defaults = {"alpha": sympy.S.One}  # noqa: RUF012


class selu(Primitive):
    """λ·elu(x, α) with the self-normalising constants λ ≈ 1.0507, α ≈ 1.6733."""

    nargs = 1


class silu(Primitive):
    """x σ(x) (also called swish)."""

    nargs = 1


class softsign(Primitive):
    """x / (1 + |x|)."""

    nargs = 1


class gelu(Primitive):
    """x Φ(x), Φ the standard normal CDF: the erf form of GELU."""

    nargs = 1


class gelu_tanh(Primitive):
    """GELU's tanh approximation ½x(1 + tanh(√(2/π)(x + 0.044715x³)))."""

    nargs = 1


class softplus(Primitive):
    """log(1 + e^x), the smooth relu."""

    nargs = 1

    def _eval_is_positive(self):
        return True if self.args[0].is_extended_real else None


class mish(Primitive):
    """x tanh(softplus(x))."""

    nargs = 1


class expm1(Primitive):
    """e^x − 1, accurate for small x."""

    nargs = 1


class log1p(Primitive):
    """log(1 + x), accurate for small x."""

    nargs = 1


class log2(Primitive):
    """The logarithm to base 2."""

    nargs = 1


class log10(Primitive):
    """The logarithm to base 10."""

    nargs = 1


class cbrt(Primitive):
    """The real cube root (negative for negative x)."""

    nargs = 1


class norm_sqrt(Primitive):
    """√x of a sum of squares (a std, a 2-norm): its derivative is taken as 0 where the root is
    0, as PyTorch's std and vector_norm take it (their cone point, where √'s 1/(2·0) would
    meet the sum's 0 and give NaN)."""

    nargs = 1

    def _eval_is_nonnegative(self):
        return True if self.args[0].is_extended_real else None


class hypot(Primitive):
    """√(x² + y²) without overflow."""

    nargs = 2
    parameters = ("x", "y")


class logaddexp(Primitive):
    """log(e^x + e^y) without overflow."""

    nargs = 2
    parameters = ("x", "y")


class xlogy(Primitive):
    """x log y, and 0 where x = 0 (the limit): the derivative of xʸ in y at x = 0."""

    nargs = 2
    parameters = ("x", "y")


class i0e(Primitive):
    """The exponentially scaled modified Bessel function of order 0: e^{−|x|} I₀(x)."""

    nargs = 1


class i1e(Primitive):
    """The exponentially scaled modified Bessel function of order 1: e^{−|x|} I₁(x)."""

    nargs = 1


class round(Primitive):
    """Rounding to the nearest integer, halves to even (NumPy's and Torch's rule)."""

    nargs = 1

    def _eval_evalf(self, prec):
        if self.args[0].is_number:
            return sympy.Float(builtins.round(float(self.args[0])), prec)
        return None


class trunc(Primitive):
    """Rounding toward zero."""

    nargs = 1


class fmod(Primitive):
    """x − y·trunc(x/y): the remainder with the sign of x (C's fmod, NumPy's fmod)."""

    nargs = 2
    parameters = ("x", "y")


class remainder(Primitive):
    """x − y·floor(x/y): the remainder with the sign of y (Python's %, NumPy's remainder)."""

    nargs = 2
    parameters = ("x", "y")


class clip(Primitive):
    """x limited to [lo, hi]."""

    nargs = 3
    parameters = ("x", "lo", "hi")


class bce(Primitive):
    """Binary cross-entropy −(y log p + (1 − y) log(1 − p)) of a probability p and a target y."""

    nargs = 2
    parameters = ("p", "y")


class squared_error(Primitive):
    """(prediction − target)²."""

    nargs = 2
    parameters = ("prediction", "target")


def _flatten(values) -> list:
    if isinstance(values, (list, tuple)):
        return list(values)
    if isinstance(values, sympy.MatrixBase):
        return list(values)
    return [values]


class mse(Primitive):
    """Mean squared error of predictions and targets: ``mse(p, y)`` or ``mse([p1, p2], [y1, y2])``.

    Stored flat as ``mse(p1, …, pn, y1, …, yn)``. For a scalar model evaluated on a batch, the
    mean over the batch is the loss reduction (``m.loss(..., reduction="mean")``).
    """

    variadic = True

    def __new__(cls, *args, **kwargs):
        if len(args) == 2 and all(is_matrix(a) for a in args):  # mean over every entry
            difference = T.elementwise(lambda p, t: p - t, *args, what="mse")
            rows, cols = T.shape_of(difference)
            return T.sum_squares_of(difference) / (rows * cols)
        if len(args) == 2 and isinstance(args[0], (list, tuple, sympy.MatrixBase)):
            preds, targets = _flatten(args[0]), _flatten(args[1])
            if len(preds) != len(targets):
                raise ValueError(
                    f"mse needs as many predictions as targets, got {len(preds)} and {len(targets)}"
                )
            args = (*preds, *targets)
        if len(args) % 2:
            raise ValueError("mse takes predictions and targets in pairs")
        return super().__new__(cls, *args, **kwargs)


class sum_squares(Primitive):
    """x1² + x2² + … (``sum_squares(a, b)`` or ``sum_squares([a, b])``)."""

    variadic = True

    def __new__(cls, *args, **kwargs):
        if len(args) == 1 and is_matrix(args[0]):  # every entry squared, summed
            return T.sum_squares_of(args[0])
        if len(args) == 1 and isinstance(args[0], (list, tuple, sympy.MatrixBase)):
            args = tuple(_flatten(args[0]))
        return super().__new__(cls, *args, **kwargs)


# --- small pieces the rows share ---------------------------------------------------------------


def _times(coefficient, expr):
    """c·(a − b) kept as written: SymPy would distribute a number over a sum (2a − 2b)."""
    return sympy.Mul(sympy.sympify(coefficient), expr, evaluate=False)


def _step(x):
    """𝟙[x > 0]: the derivative of relu, 0 at the kink as PyTorch takes it."""
    return Heaviside(x, 0)


def _pairs(args):
    n = len(args) // 2
    return args[:n], args[n:]


def _mse_definition(*args):
    preds, targets = _pairs(args)
    squares = sympy.Add(*[(p - t) ** 2 for p, t in zip(preds, targets, strict=True)])
    return squares if len(preds) == 1 else squares / len(preds)


def _mse_derivative(ans, *args):
    preds, targets = _pairs(args)
    c = sympy.Rational(2, len(preds))
    d_pred = [_times(c, p - t) for p, t in zip(preds, targets, strict=True)]
    return (*d_pred, *[_times(-c, p - t) for p, t in zip(preds, targets, strict=True)])


def _extremum_derivative(pick):
    """∂ max(a1, …)/∂ai = 𝟙[ai > max(others)] (½ at a tie, as torch.maximum), likewise min."""

    def derivative(ans, *args):
        out = []
        for i, arg in enumerate(args):
            others = args[:i] + args[i + 1 :]
            rest = others[0] if len(others) == 1 else pick(*others)
            out.append(Heaviside(arg - rest) if pick is Max else Heaviside(rest - arg))
        return tuple(out)

    return derivative


def _extremum_kink(pick):
    def kink(*args):
        out = []
        for i, arg in enumerate(args):
            others = args[:i] + args[i + 1 :]
            out.append(arg - (others[0] if len(others) == 1 else pick(*others)))
        return tuple(out)

    return kink


def _nested(function: str):
    def spelling(op, args) -> str:
        out = args[0]
        for arg in args[1:]:
            out = f"{function}({out}, {arg})"
        return out

    return spelling


def _joined(head: str, sep: str, tail: str):
    return lambda op, args: head + sep.join(args) + tail


def _mse_text(op, args) -> str:
    preds, targets = _pairs(list(args))
    return f"MSE({', '.join(preds)}; {', '.join(targets)})"


def _mse_latex(op, args) -> str:
    preds, targets = _pairs(list(args))
    return rf"\operatorname{{MSE}}\left({', '.join(preds)};\ {', '.join(targets)}\right)"


def _heaviside_latex(op, args) -> str:
    if args[1] == "0":
        return rf"\mathbf{{1}}\left[{args[0]} > 0\right]"
    return rf"H\left({args[0]}\right)"


def _heaviside_text(op, args) -> str:
    return f"𝟙[{args[0]} > 0]" if args[1] == "0" else f"H({args[0]})"


def _power_domains(op) -> tuple:
    """xⁿ for a whole n is defined for every x; otherwise (x^0.5, x^y) x must be positive."""
    return (None, None) if op.exp.is_integer else ("positive", None)


def _power_derivative(ans, x, n):
    """∂/∂x = n x^(n−1) (finite at x = 0 where n ≥ 1, as autograd's is); ∂/∂n = xⁿ log x,
    whose limit at x = 0 is 0 (xlogy)."""
    if not n.free_symbols:
        return (n * x ** (n - 1), sympy.S.Zero)
    by_exponent = ans * log(x) if x.is_positive else xlogy(ans, x)
    return (n * x ** (n - 1), by_exponent)


def _norm_sqrt_derivative(ans, x):
    """1/(2√x), and 0 where √x = 0 (PyTorch's std_backward and norm_backward mask it there);
    the condition reads the root where it is a name (a node's σ), else the shorter argument."""
    positive = ans > 0 if isinstance(ans, sympy.Symbol) else x > 0
    return (Piecewise((1 / (2 * ans), positive), (0, True)),)


def _sqrt_code(module: str):
    return f"{module}.sqrt(#1)"


# The pieces of a Piecewise, flattened for its spellings: value₁, condition₁, value₂, …
def _piecewise_parts(op):
    out = []
    for value, condition in op.args:
        out += [value, condition]
    return out


def _float_literal(text: str) -> str:
    """A whole number written as a float: np.where of two whole numbers would be int64."""
    return f"{text}.0" if text.lstrip("-").isdigit() else text


def _piecewise_code(where: str, nan: str, constant="{}"):
    """Nested ``where``s; ``constant`` wraps a value that is a plain number (torch.where of two
    numbers would be float32)."""
    wrap = constant.format if isinstance(constant, str) else constant

    def spelling(op, args) -> str:
        args = [
            wrap(text) if i % 2 == 0 and op.args[i // 2].expr.is_number else text
            for i, text in enumerate(args)
        ]
        pairs = list(zip(args[::2], args[1::2], strict=True))
        out = pairs.pop()[0] if op.args[-1].cond == sympy.true else nan
        for value, condition in reversed(pairs):
            out = f"{where}({condition}, {value}, {out})"
        return out

    return spelling


def _piecewise_python(op, args) -> str:
    pairs = list(zip(args[::2], args[1::2], strict=True))
    out = pairs.pop()[0] if op.args[-1].cond == sympy.true else 'float("nan")'
    for value, condition in reversed(pairs):
        out = f"({value} if {condition} else {out})"
    return out


def _is_indicator(op) -> bool:
    """1 where a condition holds, else 0: written 𝟙[condition], as lectures write it."""
    return (
        len(op.args) == 2
        and op.args[0].expr == 1
        and op.args[1].expr == 0
        and op.args[1].cond == sympy.true
    )


def _piecewise_latex(op, args) -> str:
    if _is_indicator(op):
        return rf"\mathbf{{1}}\left[{args[1]}\right]"
    rows = []
    for (value, condition), piece in zip(
        zip(args[::2], args[1::2], strict=True), op.args, strict=True
    ):
        when = r"\text{otherwise}" if piece.cond == sympy.true else rf"\text{{if }} {condition}"
        rows.append(f"{value} & {when}")
    return r"\begin{cases} " + r" \\ ".join(rows) + r" \end{cases}"


def _piecewise_text(op, args) -> str:
    if _is_indicator(op):
        return f"𝟙[{args[1]}]"
    rows = []
    for (value, condition), piece in zip(
        zip(args[::2], args[1::2], strict=True), op.args, strict=True
    ):
        rows.append(f"{value} otherwise" if piece.cond == sympy.true else f"{value} if {condition}")
        if piece.cond == sympy.true:
            break
    return "{" + "; ".join(rows) + "}"


def _piecewise_through(op, differentiate):
    """The derivative of a function given piece by piece is given piece by piece."""
    return Piecewise(*[(differentiate(value), condition) for value, condition in op.args])


def _piecewise_kinks(*pieces):
    """Where a condition changes: each comparison's two sides equal."""
    out = []
    for piece in pieces:
        for relation in piece.cond.atoms(sympy.core.relational.Relational):
            out.append(relation.lhs - relation.rhs)
    return tuple(out)


# Helper sources the spellings call, per target.
_SIGMOID_NUMPY = """\
def _sigmoid(x, out=None):
    \"\"\"1/(1 + e^(−x)); into out, when given, with no temporary (a large batch's code).\"\"\"
    if out is None:
        return 1.0 / (1.0 + np.exp(-x))
    np.negative(x, out=out)
    np.exp(out, out=out)
    np.add(out, 1.0, out=out)
    return np.reciprocal(out, out=out)
"""
_SIGMOID_PYTHON = """\
def _f_sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))
"""
_SOFTPLUS_PYTHON = """\
def _f_softplus(x):
    return x + math.log1p(math.exp(-x)) if x > 0 else math.log1p(math.exp(x))
"""

SELU_SCALE = sympy.Float("1.0507009873554804934193349852946", 30)
SELU_ALPHA = sympy.Float("1.6732632423543772848170429916717", 30)
_GELU_C = sympy.Float("0.044715")
_SCIPY = {"numpy": ("scipy.special",), "python": ("scipy.special",)}


def _gelu(x, approximate: str = "none"):
    """GELU in its erf form, or PyTorch's ``approximate="tanh"`` form."""
    if approximate == "none":
        return gelu(x)
    if approximate == "tanh":
        return gelu_tanh(x)
    raise SymgradError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def _gelu_inner(x):
    return sympy.sqrt(2 / pi) * (x + _GELU_C * x**3)


_x = "x"

# fmt: off
RULES: tuple[Rule, ...] = (
    # --- Activations -----------------------------------------------------------------------
    Rule(
        "sigmoid", sigmoid, "activation", "logistic function 1/(1 + e^(−x))", (_x,), ((0.3,), (-1.7,)),
        derivative=lambda ans, x: (ans * (1 - ans),),
        definition=lambda x: 1 / (1 + exp(-x)),
        numpy="_sigmoid(#1)", torch="torch.sigmoid(#1)", python="_f_sigmoid(#1)",
        latex=r"\sigma\left(#1\right)", text="σ(#1)",
        helpers={"numpy": {"_sigmoid": _SIGMOID_NUMPY}, "python": {"_f_sigmoid": _SIGMOID_PYTHON}},
        expand=True,
    ),
    Rule(
        "tanh", tanh, "activation", "hyperbolic tangent", (_x,), ((0.4,), (-1.1,)),
        derivative=lambda ans, x: (1 - ans**2,),
        numpy="np.tanh(#1)", torch="torch.tanh(#1)", python="math.tanh(#1)",
        latex=r"\tanh\left(#1\right)", text="tanh(#1)",
    ),
    Rule(
        "relu", relu, "activation", "max(0, x), derivative 0 at the kink", (_x,), ((0.7,), (-0.4,)),
        derivative=lambda ans, x: (_step(x),),
        definition=lambda x: Max(0, x), kink=lambda x: (x,),
        numpy="np.maximum(#1, 0.0)", torch="torch.relu(#1)", python="max(#1, 0.0)",
        latex=r"\operatorname{relu}\left(#1\right)", text="relu(#1)",
        expand=True,
    ),
    Rule(
        "leaky_relu", leaky_relu, "activation", "x for x > 0, else negative_slope · x",
        ("x", "a"), ((0.8, 0.01), (-0.6, 0.2)),
        derivative=lambda ans, x, a: (Piecewise((1, x > 0), (a, True)), Min(x, 0)),
        definition=lambda x, a: Piecewise((x, x > 0), (a * x, True)), kink=lambda x, a: (x,),
        numpy="np.where(#1 > 0, #1, #2 * #1)", torch="torch.where(#1 > 0, #1, #2 * #1)",
        python="(#1 if #1 > 0 else #2 * #1)",
        latex=r"\operatorname{leaky\,relu}\left(#1, #2\right)", text="leaky_relu(#1, #2)",
    ),
    Rule(
        "elu", elu, "activation", "x for x > 0, else α(e^x − 1)", ("x", "alpha"),
        ((0.5, 1.0), (-0.9, 1.3)),
        derivative=lambda ans, x, a: (
            Piecewise((1, x > 0), (ans + a, True)), Piecewise((0, x > 0), (expm1(x), True)),
        ),
        definition=lambda x, a: Piecewise((x, x > 0), (a * (exp(x) - 1), True)),
        kink=lambda x, a: (x,),
        numpy="np.where(#1 > 0, #1, #2 * np.expm1(np.minimum(#1, 0.0)))",
        torch="torch.where(#1 > 0, #1, #2 * torch.expm1(torch.clamp(#1, max=0.0)))",
        python="(#1 if #1 > 0 else #2 * math.expm1(#1))",
        latex=r"\operatorname{elu}\left(#1, #2\right)", text="elu(#1, #2)",
    ),
    Rule(
        "selu", selu, "activation", "λ·elu(x, α), λ ≈ 1.0507, α ≈ 1.6733", (_x,), ((0.5,), (-0.8,)),
        derivative=lambda ans, x: (Piecewise((SELU_SCALE, x > 0), (ans + SELU_SCALE * SELU_ALPHA, True)),),
        definition=lambda x: SELU_SCALE * Piecewise((x, x > 0), (SELU_ALPHA * (exp(x) - 1), True)),
        kink=lambda x: (x,),
        numpy=f"np.where(#1 > 0, {float(SELU_SCALE)!r} * #1, "
              f"{float(SELU_SCALE * SELU_ALPHA)!r} * np.expm1(np.minimum(#1, 0.0)))",
        torch="torch.selu(#1)",
        python=f"({float(SELU_SCALE)!r} * #1 if #1 > 0 else "
               f"{float(SELU_SCALE * SELU_ALPHA)!r} * math.expm1(#1))",
        latex=r"\operatorname{selu}\left(#1\right)", text="selu(#1)",
    ),
    Rule(
        "silu", silu, "activation", "x σ(x), also called swish", (_x,), ((0.6,), (-1.4,)),
        derivative=lambda ans, x: (sigmoid(x) * (1 + x * (1 - sigmoid(x))),),
        definition=lambda x: x / (1 + exp(-x)),
        numpy="(#1 * _sigmoid(#1))", torch="torch.nn.functional.silu(#1)",
        python="(#1 * _f_sigmoid(#1))",
        latex=r"\operatorname{silu}\left(#1\right)", text="silu(#1)",
        helpers={"numpy": {"_sigmoid": _SIGMOID_NUMPY}, "python": {"_f_sigmoid": _SIGMOID_PYTHON}},
    ),
    Rule(
        "softsign", softsign, "activation", "x/(1 + |x|)", (_x,), ((0.6,), (-1.4,)),
        derivative=lambda ans, x: (1 / (1 + Abs(x)) ** 2,),
        definition=lambda x: x / (1 + Abs(x)),
        numpy="(#1 / (1.0 + np.abs(#1)))", torch="torch.nn.functional.softsign(#1)",
        python="(#1 / (1.0 + abs(#1)))",
        latex=r"\operatorname{softsign}\left(#1\right)", text="softsign(#1)",
    ),
    Rule(
        "gelu", gelu, "activation", "x Φ(x), Φ the standard normal CDF (the erf form)",
        (_x,), ((0.7,), (-1.2,)),
        derivative=lambda ans, x: ((1 + erf(x / sqrt(2))) / 2 + x * exp(-(x**2) / 2) / sqrt(2 * pi),),
        definition=lambda x: x * (1 + erf(x / sqrt(2))) / 2,
        numpy="(0.5 * #1 * (1.0 + scipy.special.erf(#1 * 0.7071067811865476)))",
        torch="torch.nn.functional.gelu(#1)",
        python="(0.5 * #1 * (1.0 + math.erf(#1 * 0.7071067811865476)))",
        latex=r"\operatorname{GELU}\left(#1\right)", text="GELU(#1)",
        requires={"numpy": ("scipy.special",)},
        expand=True, api=_gelu,
    ),
    Rule(
        "gelu_tanh", gelu_tanh, "activation", "GELU's tanh approximation", (_x,), ((0.7,), (-1.2,)),
        derivative=lambda ans, x: (
            (1 + tanh(_gelu_inner(x))) / 2
            + x * (1 - tanh(_gelu_inner(x)) ** 2) * sqrt(2 / pi) * (1 + 3 * _GELU_C * x**2) / 2,
        ),
        definition=lambda x: x * (1 + tanh(_gelu_inner(x))) / 2,
        numpy="(0.5 * #1 * (1.0 + np.tanh(0.7978845608028654 * (#1 + 0.044715 * #1**3))))",
        torch='torch.nn.functional.gelu(#1, approximate="tanh")',
        python="(0.5 * #1 * (1.0 + math.tanh(0.7978845608028654 * (#1 + 0.044715 * #1**3))))",
        latex=r"\operatorname{GELU}_{\tanh}\left(#1\right)", text="GELU_tanh(#1)",
        expand=True,
    ),
    Rule(
        "softplus", softplus, "activation", "log(1 + e^x)", (_x,), ((0.5,), (-2.0,)),
        derivative=lambda ans, x: (sigmoid(x),),
        definition=lambda x: log(1 + exp(x)),
        numpy="np.logaddexp(0.0, #1)", torch="torch.logaddexp(#1, torch.zeros_like(#1))",
        python="_f_softplus(#1)",
        latex=r"\operatorname{softplus}\left(#1\right)", text="softplus(#1)",
        helpers={"python": {"_f_softplus": _SOFTPLUS_PYTHON}},
        expand=True,
    ),
    Rule(
        "mish", mish, "activation", "x tanh(softplus(x))", (_x,), ((0.6,), (-1.3,)),
        derivative=lambda ans, x: (
            tanh(softplus(x)) + x * sigmoid(x) * (1 - tanh(softplus(x)) ** 2),
        ),
        definition=lambda x: x * tanh(log(1 + exp(x))),
        numpy="(#1 * np.tanh(np.logaddexp(0.0, #1)))", torch="torch.nn.functional.mish(#1)",
        python="(#1 * math.tanh(_f_softplus(#1)))",
        latex=r"\operatorname{mish}\left(#1\right)", text="mish(#1)",
        helpers={"python": {"_f_softplus": _SOFTPLUS_PYTHON}},
    ),
    # --- Exponentials and logarithms ---------------------------------------------------------
    Rule(
        "exp", exp, "exponential", "exponential e^x", (_x,), ((0.3,), (-1.5,)),
        derivative=lambda ans, x: (ans,),
        numpy="np.exp(#1)", torch="torch.exp(#1)", python="math.exp(#1)",
        latex=r"e^{#1}", text="e^(#1)",
    ),
    Rule(
        "exp2", None, "exponential", "2^x, written as the power it is", (_x,), ((0.3,), (-1.5,)),
        definition=lambda x: 2**x,
        numpy="np.exp2(#1)", torch="torch.exp2(#1)", python="(2.0 ** #1)",
        latex=r"2^{#1}", text="2^(#1)",
    ),
    Rule(
        "expm1", expm1, "exponential", "e^x − 1, accurate near 0", (_x,), ((0.01,), (-0.8,)),
        derivative=lambda ans, x: (ans + 1,),
        definition=lambda x: exp(x) - 1,
        numpy="np.expm1(#1)", torch="torch.expm1(#1)", python="math.expm1(#1)",
        latex=r"\operatorname{expm1}\left(#1\right)", text="expm1(#1)",
    ),
    Rule(
        "log", log, "exponential", "natural logarithm, x > 0", (_x,), ((0.7,), (2.5,)),
        derivative=lambda ans, x: (1 / x,), domains=("positive",),
        numpy="np.log(#1)", torch="torch.log(#1)", python="math.log(#1)",
        latex=r"\log\left(#1\right)", text="log(#1)",
        # log det A is one record of its own: its rule is simpler and its code cannot overflow
        canonical=lambda e: T.LogDet(e.args[0].arg) if isinstance(e.args[0], sympy.Determinant) else None,
    ),
    Rule(
        "log2", log2, "exponential", "logarithm to base 2, x > 0", (_x,), ((0.7,), (3.0,)),
        derivative=lambda ans, x: (1 / (x * log(2)),), definition=lambda x: log(x) / log(2),
        domains=("positive",),
        numpy="np.log2(#1)", torch="torch.log2(#1)", python="math.log2(#1)",
        latex=r"\log_{2}\left(#1\right)", text="log₂(#1)",
    ),
    Rule(
        "log10", log10, "exponential", "logarithm to base 10, x > 0", (_x,), ((0.7,), (3.0,)),
        derivative=lambda ans, x: (1 / (x * log(10)),), definition=lambda x: log(x) / log(10),
        domains=("positive",),
        numpy="np.log10(#1)", torch="torch.log10(#1)", python="math.log10(#1)",
        latex=r"\log_{10}\left(#1\right)", text="log₁₀(#1)",
    ),
    Rule(
        "log1p", log1p, "exponential", "log(1 + x), accurate near 0, x > −1", (_x,), ((0.01,), (-0.5,)),
        derivative=lambda ans, x: (1 / (1 + x),), definition=lambda x: log(1 + x),
        domains=("above -1",),
        numpy="np.log1p(#1)", torch="torch.log1p(#1)", python="math.log1p(#1)",
        latex=r"\operatorname{log1p}\left(#1\right)", text="log1p(#1)",
    ),
    Rule(
        "logaddexp", logaddexp, "exponential", "log(e^x + e^y) without overflow", ("x", "y"),
        ((0.3, -0.4), (2.0, 1.5)),
        derivative=lambda ans, x, y: (exp(x - ans), exp(y - ans)),
        definition=lambda x, y: log(exp(x) + exp(y)),
        numpy="np.logaddexp(#1, #2)", torch="torch.logaddexp(#1, #2)",
        latex=r"\operatorname{logaddexp}\left(#1, #2\right)", text="logaddexp(#1, #2)",
    ),
    Rule(
        "xlogy", xlogy, "exponential", "x log y, 0 where x = 0", ("x", "y"), ((0.3, 0.8), (1.2, 2.5)),
        derivative=lambda ans, x, y: (log(y), x / y), definition=lambda x, y: x * log(y),
        domains=(None, "positive"),
        numpy="_xlogy(#1, #2)", torch="torch.xlogy(#1, #2)", python="_f_xlogy(#1, #2)",
        latex=r"#1 \log\left(#2\right)", text="#1·log(#2)",
        helpers={
            "numpy": {"_xlogy": """\
def _xlogy(x, y):
    # x log y with the limit 0 where x = 0 (also for y = 0): NumPy has no such ufunc
    x, y = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    zero = x == 0
    out = x * np.log(np.where(zero, 1.0, y))
    return np.where(zero, 0.0, out)[()]
"""},
            "python": {"_f_xlogy": """\
def _f_xlogy(x, y):
    return 0.0 if x == 0 else x * math.log(y)
"""},
        },
    ),
    # --- Powers and roots ------------------------------------------------------------------
    Rule(
        "sqrt", sympy.Pow, "power", "square root, x > 0 (SymPy's x**(1/2))", (_x,), ((0.7,), (2.5,)),
        derivative=lambda ans, x, half: (1 / (2 * ans), sympy.S.Zero),
        build=sqrt, matches=lambda e: e.exp == sympy.S.Half, domains=("positive", None),
        numpy="np.sqrt(#1)", torch="torch.sqrt(#1)", python="math.sqrt(#1)",
        latex=r"\sqrt{#1}", text="√(#1)",
    ),
    Rule(
        "norm_sqrt", norm_sqrt, "power",
        "√x of a sum of squares (std, 2-norm); derivative 0 where it is 0, as PyTorch takes it",
        (_x,), ((0.7,), (2.5,)),
        derivative=_norm_sqrt_derivative, definition=lambda x: sqrt(x), domains=("nonnegative",),
        numpy="np.sqrt(#1)", torch="_norm_sqrt(#1)", python="math.sqrt(#1)",
        latex=r"\sqrt{#1}", text="√(#1)",
        helpers={"torch": {"_norm_sqrt": """\
def _norm_sqrt(x):
    # √x whose gradient is 0 where x = 0, as torch.std and torch.linalg.vector_norm take it
    positive = x > 0
    return torch.where(positive, torch.sqrt(torch.where(positive, x, 1.0)), 0.0)
"""}},
        public=False,
    ),
    Rule(
        "pow", sympy.Pow, "power", "power x^y (x > 0 unless y is whole)", ("x", "y"),
        ((0.7, 2.0), (1.3, -0.6)),
        derivative=_power_derivative, build=lambda x, n: sympy.Pow(x, n, evaluate=False),
        domains=_power_domains, public=False,
        numpy="#1**#2", torch="#1**#2", latex=r"#1^{#2}", text="#1^#2",
    ),
    Rule(
        "square", None, "power", "x², written as the power it is", (_x,), ((0.7,), (-1.3,)),
        definition=lambda x: x**2,
        numpy="np.square(#1)", torch="torch.square(#1)", python="(#1**2)",
        latex=r"#1^{2}", text="#1²",
    ),
    Rule(
        "reciprocal", None, "power", "1/x, written as the power it is", (_x,), ((0.7,), (-1.3,)),
        definition=lambda x: 1 / x,
        numpy="np.reciprocal(#1)", torch="torch.reciprocal(#1)", python="(1.0 / #1)",
        latex=r"\frac{1}{#1}", text="1/#1",
    ),
    Rule(
        "rsqrt", None, "power", "1/√x, written as the power it is", (_x,), ((0.7,), (2.5,)),
        definition=lambda x: 1 / sqrt(x),
        numpy="(1.0 / np.sqrt(#1))", torch="torch.rsqrt(#1)", python="(1.0 / math.sqrt(#1))",
        latex=r"\frac{1}{\sqrt{#1}}", text="1/√(#1)",
    ),
    Rule(
        "cbrt", cbrt, "power", "real cube root", (_x,), ((0.7,), (-2.5,)),
        derivative=lambda ans, x: (1 / (3 * ans**2),),
        definition=lambda x: sign(x) * Abs(x) ** sympy.Rational(1, 3),
        numpy="np.cbrt(#1)", torch="_cbrt(#1)", python="_f_cbrt(#1)",
        latex=r"\sqrt[3]{#1}", text="∛(#1)",
        helpers={
            "torch": {"_cbrt": """\
def _cbrt(x):
    return torch.sign(x) * torch.abs(x) ** (1.0 / 3.0)
"""},
            "python": {"_f_cbrt": """\
def _f_cbrt(x):
    return math.copysign(abs(x) ** (1.0 / 3.0), x)
"""},
        },
    ),
    Rule(
        "hypot", hypot, "power", "√(x² + y²) without overflow", ("x", "y"), ((0.3, -0.4), (1.5, 2.0)),
        derivative=lambda ans, x, y: (x / ans, y / ans), definition=lambda x, y: sqrt(x**2 + y**2),
        numpy="np.hypot(#1, #2)", torch="torch.hypot(#1, #2)", python="math.hypot(#1, #2)",
        latex=r"\operatorname{hypot}\left(#1, #2\right)", text="hypot(#1, #2)",
    ),
    # --- Trigonometric and hyperbolic functions --------------------------------------------------
    Rule(
        "sin", sin, "trigonometric", "sine", (_x,), ((0.4,), (-2.1,)),
        derivative=lambda ans, x: (cos(x),),
        numpy="np.sin(#1)", torch="torch.sin(#1)", python="math.sin(#1)",
        latex=r"\sin\left(#1\right)", text="sin(#1)",
    ),
    Rule(
        "cos", cos, "trigonometric", "cosine", (_x,), ((0.4,), (-2.1,)),
        derivative=lambda ans, x: (-sin(x),),
        numpy="np.cos(#1)", torch="torch.cos(#1)", python="math.cos(#1)",
        latex=r"\cos\left(#1\right)", text="cos(#1)",
    ),
    Rule(
        "tan", tan, "trigonometric", "tangent", (_x,), ((0.4,), (-1.1,)),
        derivative=lambda ans, x: (1 + ans**2,),
        numpy="np.tan(#1)", torch="torch.tan(#1)", python="math.tan(#1)",
        latex=r"\tan\left(#1\right)", text="tan(#1)",
    ),
    Rule(
        "arcsin", asin, "trigonometric", "inverse sine, −1 < x < 1", (_x,), ((0.4,), (-0.7,)),
        derivative=lambda ans, x: (1 / sqrt(1 - x**2),), domains=("(-1, 1)",),
        numpy="np.arcsin(#1)", torch="torch.asin(#1)", python="math.asin(#1)",
        latex=r"\arcsin\left(#1\right)", text="arcsin(#1)",
    ),
    Rule(
        "arccos", acos, "trigonometric", "inverse cosine, −1 < x < 1", (_x,), ((0.4,), (-0.7,)),
        derivative=lambda ans, x: (-1 / sqrt(1 - x**2),), domains=("(-1, 1)",),
        numpy="np.arccos(#1)", torch="torch.acos(#1)", python="math.acos(#1)",
        latex=r"\arccos\left(#1\right)", text="arccos(#1)",
    ),
    Rule(
        "arctan", atan, "trigonometric", "inverse tangent", (_x,), ((0.4,), (-2.7,)),
        derivative=lambda ans, x: (1 / (1 + x**2),),
        numpy="np.arctan(#1)", torch="torch.atan(#1)", python="math.atan(#1)",
        latex=r"\arctan\left(#1\right)", text="arctan(#1)",
    ),
    Rule(
        "arctan2", atan2, "trigonometric", "angle of the point (x, y), arctan2(y, x)", ("y", "x"),
        ((0.4, 0.9), (-0.7, 0.3)),
        derivative=lambda ans, y, x: (x / (x**2 + y**2), -y / (x**2 + y**2)),
        numpy="np.arctan2(#1, #2)", torch="torch.atan2(#1, #2)", python="math.atan2(#1, #2)",
        latex=r"\operatorname{arctan2}\left(#1, #2\right)", text="arctan2(#1, #2)",
    ),
    Rule(
        "sinh", sinh, "hyperbolic", "hyperbolic sine", (_x,), ((0.4,), (-1.6,)),
        derivative=lambda ans, x: (cosh(x),),
        numpy="np.sinh(#1)", torch="torch.sinh(#1)", python="math.sinh(#1)",
        latex=r"\sinh\left(#1\right)", text="sinh(#1)",
    ),
    Rule(
        "cosh", cosh, "hyperbolic", "hyperbolic cosine", (_x,), ((0.4,), (-1.6,)),
        derivative=lambda ans, x: (sinh(x),),
        numpy="np.cosh(#1)", torch="torch.cosh(#1)", python="math.cosh(#1)",
        latex=r"\cosh\left(#1\right)", text="cosh(#1)",
    ),
    Rule(
        "arcsinh", asinh, "hyperbolic", "inverse hyperbolic sine", (_x,), ((0.4,), (-1.6,)),
        derivative=lambda ans, x: (1 / sqrt(x**2 + 1),),
        numpy="np.arcsinh(#1)", torch="torch.asinh(#1)", python="math.asinh(#1)",
        latex=r"\operatorname{arsinh}\left(#1\right)", text="arsinh(#1)",
    ),
    Rule(
        "arccosh", acosh, "hyperbolic", "inverse hyperbolic cosine, x > 1", (_x,), ((1.4,), (3.2,)),
        derivative=lambda ans, x: (1 / sqrt(x**2 - 1),), domains=("above 1",),
        numpy="np.arccosh(#1)", torch="torch.acosh(#1)", python="math.acosh(#1)",
        latex=r"\operatorname{arcosh}\left(#1\right)", text="arcosh(#1)",
    ),
    Rule(
        "arctanh", atanh, "hyperbolic", "inverse hyperbolic tangent, −1 < x < 1", (_x,), ((0.4,), (-0.7,)),
        derivative=lambda ans, x: (1 / (1 - x**2),), domains=("(-1, 1)",),
        numpy="np.arctanh(#1)", torch="torch.atanh(#1)", python="math.atanh(#1)",
        latex=r"\operatorname{artanh}\left(#1\right)", text="artanh(#1)",
    ),
    # --- Special functions -----------------------------------------------------------------
    Rule(
        "erf", erf, "special", "error function", (_x,), ((0.4,), (-1.2,)),
        derivative=lambda ans, x: (2 * exp(-(x**2)) / sqrt(pi),),
        numpy="scipy.special.erf(#1)", torch="torch.erf(#1)", python="math.erf(#1)",
        latex=r"\operatorname{erf}\left(#1\right)", text="erf(#1)",
        requires={"numpy": ("scipy.special",)},
    ),
    Rule(
        "erfc", erfc, "special", "complementary error function 1 − erf(x)", (_x,), ((0.4,), (-1.2,)),
        derivative=lambda ans, x: (-2 * exp(-(x**2)) / sqrt(pi),),
        numpy="scipy.special.erfc(#1)", torch="torch.erfc(#1)", python="math.erfc(#1)",
        latex=r"\operatorname{erfc}\left(#1\right)", text="erfc(#1)",
        requires={"numpy": ("scipy.special",)},
    ),
    Rule(
        "erfinv", erfinv, "special", "inverse error function, −1 < x < 1", (_x,), ((0.4,), (-0.7,)),
        derivative=lambda ans, x: (sqrt(pi) * exp(ans**2) / 2,), domains=("(-1, 1)",),
        numpy="scipy.special.erfinv(#1)", torch="torch.erfinv(#1)",
        python="float(scipy.special.erfinv(#1))",
        latex=r"\operatorname{erf}^{-1}\left(#1\right)", text="erfinv(#1)",
        requires={"numpy": ("scipy.special",), "python": ("scipy.special",)},
    ),
    Rule(
        "i0e", i0e, "special", "e^(−|x|) I₀(x), the scaled modified Bessel function of order 0",
        (_x,), ((0.4,), (-1.7,)),
        derivative=lambda ans, x: (i1e(x) - sign(x) * ans,),
        definition=lambda x: exp(-Abs(x)) * sympy.besseli(0, x),
        numpy="scipy.special.i0e(#1)", torch="torch.special.i0e(#1)",
        python="float(scipy.special.i0e(#1))",
        latex=r"\operatorname{i0e}\left(#1\right)", text="i0e(#1)",
        requires={"numpy": ("scipy.special",), "python": ("scipy.special",)},
    ),
    Rule(
        "i1e", i1e, "special", "e^(−|x|) I₁(x), the scaled modified Bessel function of order 1",
        (_x,), ((0.4,), (-1.7,)),
        derivative=lambda ans, x: (i0e(x) - ans * (sign(x) + 1 / x),),
        definition=lambda x: exp(-Abs(x)) * sympy.besseli(1, x),
        numpy="scipy.special.i1e(#1)", torch="torch.special.i1e(#1)",
        python="float(scipy.special.i1e(#1))",
        latex=r"\operatorname{i1e}\left(#1\right)", text="i1e(#1)",
        requires={"numpy": ("scipy.special",), "python": ("scipy.special",)},
    ),
    # --- Non-smooth functions: derivative 0 or a step, with their kinks ---------------------------
    Rule(
        "abs", Abs, "non-smooth", "absolute value, kink at 0", (_x,), ((0.6,), (-1.1,)),
        derivative=lambda ans, x: (sign(x),), kink=lambda x: (x,),
        numpy="np.abs(#1)", torch="torch.abs(#1)", python="abs(#1)",
        latex=r"\left|#1\right|", text="|#1|", aliases=("Abs",),
    ),
    Rule(
        "maximum", Max, "non-smooth", "the larger argument, kink where they tie (½ each)", ("a", "b"),
        ((0.6, -0.3), (-1.1, 0.4)),
        derivative=_extremum_derivative(Max), kink=_extremum_kink(Max),
        numpy=_nested("np.maximum"), torch=_nested("_maximum"),
        python=lambda op, args: f"max({', '.join(args)})",
        latex=_joined(r"\max\left(", ", ", r"\right)"), text=_joined("max(", ", ", ")"),
        helpers={"torch": {"_maximum": """\
def _maximum(a, b):
    if not isinstance(a, torch.Tensor):
        return torch.clamp(b, min=a)
    if not isinstance(b, torch.Tensor):
        return torch.clamp(a, min=b)
    return torch.maximum(a, b)
"""}},
        aliases=("Max",),
    ),
    Rule(
        "minimum", Min, "non-smooth", "the smaller argument, kink where they tie (½ each)", ("a", "b"),
        ((0.6, -0.3), (-1.1, 0.4)),
        derivative=_extremum_derivative(Min), kink=_extremum_kink(Min),
        numpy=_nested("np.minimum"), torch=_nested("_minimum"),
        python=lambda op, args: f"min({', '.join(args)})",
        latex=_joined(r"\min\left(", ", ", r"\right)"), text=_joined("min(", ", ", ")"),
        helpers={"torch": {"_minimum": """\
def _minimum(a, b):
    if not isinstance(a, torch.Tensor):
        return torch.clamp(b, max=a)
    if not isinstance(b, torch.Tensor):
        return torch.clamp(a, max=b)
    return torch.minimum(a, b)
"""}},
        aliases=("Min",),
    ),
    Rule(
        "clip", clip, "non-smooth", "x limited to [lo, hi]", ("x", "lo", "hi"),
        ((0.2, -0.5, 0.5), (0.9, -0.5, 0.5)),
        derivative=lambda ans, x, lo, hi: (
            Heaviside(x - lo, 1) * Heaviside(hi - x, 1), _step(lo - x), _step(x - hi),
        ),
        definition=lambda x, lo, hi: Min(Max(x, lo), hi), kink=lambda x, lo, hi: (x - lo, x - hi),
        numpy="np.clip(#1, #2, #3)", torch="torch.clamp(#1, #2, #3)",
        python="min(max(#1, #2), #3)",
        latex=r"\operatorname{clip}\left(#1, #2, #3\right)", text="clip(#1, #2, #3)",
    ),
    Rule(
        "sign", sign, "non-smooth", "sign of x; derivative 0 except at the jump at 0", (_x,),
        ((0.6,), (-1.1,)),
        derivative=lambda ans, x: (sympy.S.Zero,), kink=lambda x: (x,),
        numpy="np.sign(#1)", torch="torch.sign(#1)", python="_f_sign(#1)",
        latex=r"\operatorname{sign}\left(#1\right)", text="sign(#1)",
        helpers={"python": {"_f_sign": """\
def _f_sign(x):
    return 1.0 if x > 0 else -1.0 if x < 0 else 0.0
"""}},
    ),
    Rule(
        "heaviside", Heaviside, "non-smooth", "unit step, value h0 at 0; derivative 0 off the jump",
        ("x", "h0"), ((0.6, 0.5), (-1.1, 0.0)),
        derivative=lambda ans, x, h0: (sympy.S.Zero, sympy.S.Zero), kink=lambda x, h0: (x,),
        numpy="np.heaviside(#1, #2)", torch="_heaviside(#1, #2)", python="_f_heaviside(#1, #2)",
        latex=_heaviside_latex, text=_heaviside_text,
        helpers={
            "torch": {"_heaviside": """\
def _heaviside(x, at_zero):
    step = (x > 0).to(x.dtype)
    return step + at_zero * (x == 0).to(x.dtype) if at_zero else step
"""},
            "python": {"_f_heaviside": """\
def _f_heaviside(x, at_zero):
    return 1.0 if x > 0 else 0.0 if x < 0 else float(at_zero)
"""},
        },
        aliases=("Heaviside",),
    ),
    Rule(
        "floor", floor, "non-smooth", "the largest integer ≤ x; derivative 0 off its jumps", (_x,),
        ((0.4,), (-1.3,)),
        derivative=lambda ans, x: (sympy.S.Zero,), kink=lambda x: (sin(pi * x),),
        numpy="np.floor(#1)", torch="torch.floor(#1)", python="float(math.floor(#1))",
        latex=r"\left\lfloor #1 \right\rfloor", text="⌊#1⌋",
    ),
    Rule(
        "ceil", ceiling, "non-smooth", "the smallest integer ≥ x; derivative 0 off its jumps", (_x,),
        ((0.4,), (-1.3,)),
        derivative=lambda ans, x: (sympy.S.Zero,), kink=lambda x: (sin(pi * x),),
        numpy="np.ceil(#1)", torch="torch.ceil(#1)", python="float(math.ceil(#1))",
        latex=r"\left\lceil #1 \right\rceil", text="⌈#1⌉",
    ),
    Rule(
        "round", round, "non-smooth", "the nearest integer, halves to even; derivative 0", (_x,),
        ((0.3,), (-1.2,)),
        derivative=lambda ans, x: (sympy.S.Zero,), kink=lambda x: (cos(pi * x),),
        numpy="np.round(#1)", torch="torch.round(#1)", python="float(round(#1))",
        latex=r"\operatorname{round}\left(#1\right)", text="round(#1)",
    ),
    Rule(
        "trunc", trunc, "non-smooth", "rounding toward zero; derivative 0 off its jumps", (_x,),
        ((0.4,), (-1.3,)),
        derivative=lambda ans, x: (sympy.S.Zero,), kink=lambda x: (sin(pi * x),),
        definition=lambda x: sign(x) * floor(Abs(x)),
        numpy="np.trunc(#1)", torch="torch.trunc(#1)", python="float(math.trunc(#1))",
        latex=r"\operatorname{trunc}\left(#1\right)", text="trunc(#1)",
    ),
    Rule(
        "fmod", fmod, "non-smooth", "x − y·trunc(x/y), the sign of x", ("x", "y"),
        ((1.7, 0.6), (-2.3, 0.7)),
        derivative=lambda ans, x, y: (sympy.S.One, -trunc(x / y)),
        definition=lambda x, y: x - y * sign(x / y) * floor(Abs(x / y)),
        kink=lambda x, y: (sin(pi * x / y),),
        numpy="np.fmod(#1, #2)", torch="torch.fmod(#1, #2)", python="math.fmod(#1, #2)",
        latex=r"\operatorname{fmod}\left(#1, #2\right)", text="fmod(#1, #2)",
    ),
    Rule(
        "remainder", remainder, "non-smooth", "x − y·floor(x/y), the sign of y", ("x", "y"),
        ((1.7, 0.6), (-2.3, 0.7)),
        derivative=lambda ans, x, y: (sympy.S.One, -floor(x / y)),
        definition=lambda x, y: x - y * floor(x / y), kink=lambda x, y: (sin(pi * x / y),),
        numpy="np.remainder(#1, #2)", torch="torch.remainder(#1, #2)", python="(#1 % #2)",
        latex=r"#1 \bmod #2", text="#1 mod #2",
    ),
    Rule(
        "piecewise", Piecewise, "non-smooth",
        "a function given piece by piece (Huber, smooth L1); kinks where a condition flips",
        ("x",), ((0.3,), (-1.4,)),
        through=_piecewise_through, parts=_piecewise_parts,
        build=lambda x: Piecewise((x**2 / 2, Abs(x) <= 1), (Abs(x) - sympy.S.Half, True)),
        kink=_piecewise_kinks,
        numpy=_piecewise_code("np.where", "np.nan", _float_literal), torch=_piecewise_code(
            "torch.where", 'float("nan")', "torch.as_tensor({}, dtype=dtype, device=device)"
        ),
        python=_piecewise_python, latex=_piecewise_latex, text=_piecewise_text, public=False,
    ),
    # --- Losses ------------------------------------------------------------------------------
    Rule(
        "bce", bce, "loss", "binary cross-entropy of a probability p ∈ (0, 1) and a target y",
        ("p", "y"), ((0.3, 1.0), (0.8, 0.25)),
        derivative=lambda ans, p, y: (-y / p + (1 - y) / (1 - p), log(1 - p) - log(p)),
        definition=lambda p, y: -(y * log(p) + (1 - y) * log(1 - p)),
        domains=("probability", "unit"),
        latex=r"\operatorname{BCE}\left(#1, #2\right)", text="BCE(#1, #2)", expand=True,
    ),
    Rule(
        "squared_error", squared_error, "loss", "(prediction − target)²", ("p", "y"),
        ((0.3, 1.0), (-0.8, 0.25)),
        derivative=lambda ans, p, y: (_times(2, p - y), _times(-2, p - y)),
        definition=lambda p, y: (p - y) ** 2,
        latex=r"\left(#1 - #2\right)^{2}", text="(#1 − #2)²", expand=True,
    ),
    Rule(
        "mse", mse, "loss", "mean of (prediction − target)² over the pairs", ("p1", "p2", "y1", "y2"),
        ((0.3, -0.2, 1.0, 0.5),),
        derivative=_mse_derivative, definition=_mse_definition,
        latex=_mse_latex, text=_mse_text, expand=True,
    ),
    Rule(
        "sum_squares", sum_squares, "loss", "sum of squares x1² + x2² + …", ("x1", "x2"),
        ((0.3, -0.7),),
        derivative=lambda ans, *xs: tuple(2 * x for x in xs),
        definition=lambda *xs: sympy.Add(*[x**2 for x in xs]),
        latex=_joined(r"\operatorname{SS}\left(", ", ", r"\right)"), text=_joined("SS(", ", ", ")"),
        expand=True,
    ),
)
# fmt: on

for _rule in RULES:
    register(_rule)
