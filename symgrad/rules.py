"""The rule table: every primitive symgrad differentiates, one row each.

A row says everything about a primitive: its derivative the way a textbook writes it (with the
forward value ``ans`` where a textbook does: ``σ(1 − σ)``, ``1 − tanh²``), its NumPy and Torch
spelling, its LaTeX and plain-text spelling, and, for a non-smooth primitive, where its kink is.
Adding a primitive is adding a row; ``tests/test_rules.py`` checks every row against SymPy's
own derivative of the row's definition, so a reviewer can trust the table.

Spellings use ``#1``, ``#2`` for the printed arguments (as a TeX macro does) or are a function
of the list of printed arguments when the primitive takes any number of them. A code spelling of
``None`` means "print the row's definition" (the losses). A spelling that names a helper
(``_sigmoid``) gets that helper from the target's printer.

symgrad's own primitives (``sigmoid``, ``relu``, ``softplus`` and the losses) are SymPy functions
whose derivative comes from this table. SymPy's functions (``exp``, ``tanh``, ``Max``, …) keep
SymPy's derivative; their rows document it and the tests prove the two agree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sympy
from sympy import Abs, Heaviside, Max, Min, Pow, cos, exp, log, sign, sin, tanh
from sympy.core.function import Application, Function

Spelling = str | Callable[[Sequence[str]], str] | None


@dataclass(frozen=True)
class Rule:
    """One primitive. ``derivative(ans, *args)`` returns one partial per argument."""

    name: str
    function: type
    derivative: Callable[..., tuple]
    numpy: Spelling
    torch: Spelling
    latex: Spelling
    text: Spelling
    kind: str
    summary: str
    definition: Callable[..., sympy.Expr] | None = None
    kink: Callable[..., tuple] | None = None

    def partials(self, applied: sympy.Expr) -> tuple:
        """The textbook partials of this primitive applied to ``applied.args``."""
        return tuple(self.derivative(applied, *applied.args))

    def kinks(self, applied: sympy.Expr) -> tuple:
        """Expressions that are zero exactly where this application is not differentiable."""
        return tuple(self.kink(*applied.args)) if self.kink else ()


def spell(spelling: Spelling, args: Sequence[str]) -> str:
    """Fill a spelling with printed arguments."""
    if callable(spelling):
        return spelling(args)
    out = spelling
    for i in range(len(args), 0, -1):  # #10 before #1
        out = out.replace(f"#{i}", args[i - 1])
    return out


class Primitive(Function):
    """A SymPy function whose derivative, spellings and value come from its row in the table."""

    @property
    def rule(self) -> Rule:
        return RULES_BY_FUNCTION[type(self)]

    def fdiff(self, argindex=1):
        return self.rule.partials(self)[argindex - 1]

    def expand_definition(self) -> sympy.Expr:
        return self.rule.definition(*self.args)

    def _eval_evalf(self, prec):
        if all(arg.is_number for arg in self.args):
            return self.expand_definition()._evalf(prec)
        return None

    def _eval_rewrite_as_exp(self, *args, **kwargs):
        return self.rule.definition(*args)

    def _eval_is_real(self):
        if all(arg.is_extended_real for arg in self.args):
            return True
        return None

    def _latex(self, printer):
        return spell(self.rule.latex, [printer._print(arg) for arg in self.args])

    def _sympystr(self, printer):
        return f"{self.func.__name__}({', '.join(printer._print(a) for a in self.args)})"


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


class softplus(Primitive):
    """log(1 + e^x), the smooth relu."""

    nargs = 1

    def _eval_is_positive(self):
        return True if self.args[0].is_extended_real else None


class bce(Primitive):
    """Binary cross-entropy −(y log p + (1 − y) log(1 − p)) of a probability p and a target y."""

    nargs = 2


class squared_error(Primitive):
    """(prediction − target)²."""

    nargs = 2


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

    def __new__(cls, *args, **kwargs):
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

    def __new__(cls, *args, **kwargs):
        if len(args) == 1 and isinstance(args[0], (list, tuple, sympy.MatrixBase)):
            args = tuple(_flatten(args[0]))
        return super().__new__(cls, *args, **kwargs)


# --- helpers for the variadic rows ------------------------------------------------------------


def _pairs(args):
    n = len(args) // 2
    return args[:n], args[n:]


def _times(coefficient, expr) -> sympy.Expr:
    """c·(a − b) kept as written: SymPy would distribute a number over a sum (2a − 2b)."""
    return sympy.Mul(sympy.sympify(coefficient), expr, evaluate=False)


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
    """∂ max(a1, …)/∂ai = 𝟙[ai > max(others)] (½ at a tie), likewise for min."""

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


def _nested(function: str) -> Callable[[Sequence[str]], str]:
    def spelling(args: Sequence[str]) -> str:
        out = args[0]
        for arg in args[1:]:
            out = f"{function}({out}, {arg})"
        return out

    return spelling


def _joined(head: str, sep: str, tail: str) -> Callable[[Sequence[str]], str]:
    return lambda args: head + sep.join(args) + tail


def _mse_text(args: Sequence[str]) -> str:
    preds, targets = _pairs(list(args))
    return f"MSE({', '.join(preds)}; {', '.join(targets)})"


def _mse_latex(args: Sequence[str]) -> str:
    preds, targets = _pairs(list(args))
    return rf"\operatorname{{MSE}}\left({', '.join(preds)};\ {', '.join(targets)}\right)"


def _heaviside_numpy(args: Sequence[str]) -> str:
    return f"np.heaviside({args[0]}, {args[1]})"


def _heaviside_latex(args: Sequence[str]) -> str:
    if args[1] == "0":
        return rf"\mathbf{{1}}\left[{args[0]} > 0\right]"
    return rf"H\left({args[0]}\right)"


def _heaviside_text(args: Sequence[str]) -> str:
    return f"𝟙[{args[0]} > 0]" if args[1] == "0" else f"H({args[0]})"


# --- the table ----------------------------------------------------------------------------------

# fmt: off
RULES: tuple[Rule, ...] = (
    # Activations
    Rule(
        "sigmoid", sigmoid, lambda ans, x: (ans * (1 - ans),),
        numpy="_sigmoid(#1)", torch="torch.sigmoid(#1)",
        latex=r"\sigma\left(#1\right)", text="σ(#1)",
        kind="activation", summary="logistic function 1/(1 + e^(−x))",
        definition=lambda x: 1 / (1 + exp(-x)),
    ),
    Rule(
        "tanh", tanh, lambda ans, x: (1 - ans**2,),
        numpy="np.tanh(#1)", torch="torch.tanh(#1)",
        latex=r"\tanh\left(#1\right)", text="tanh(#1)",
        kind="activation", summary="hyperbolic tangent",
    ),
    Rule(
        "relu", relu, lambda ans, x: (Heaviside(x, 0),),
        numpy="np.maximum(#1, 0.0)", torch="torch.relu(#1)",
        latex=r"\operatorname{relu}\left(#1\right)", text="relu(#1)",
        kind="activation", summary="max(0, x), derivative 0 at the kink",
        definition=lambda x: Max(0, x), kink=lambda x: (x,),
    ),
    Rule(
        "softplus", softplus, lambda ans, x: (sigmoid(x),),
        numpy="np.logaddexp(0.0, #1)", torch="_softplus(#1)",
        latex=r"\operatorname{softplus}\left(#1\right)", text="softplus(#1)",
        kind="activation", summary="log(1 + e^x)",
        definition=lambda x: log(1 + exp(x)),
    ),
    # Elementary functions
    Rule(
        "exp", exp, lambda ans, x: (ans,),
        numpy="np.exp(#1)", torch="torch.exp(#1)",
        latex=r"e^{#1}", text="e^(#1)",
        kind="elementary", summary="exponential",
    ),
    Rule(
        "log", log, lambda ans, x: (1 / x,),
        numpy="np.log(#1)", torch="torch.log(#1)",
        latex=r"\log\left(#1\right)", text="log(#1)",
        kind="elementary", summary="natural logarithm, x > 0",
    ),
    Rule(
        "sqrt", Pow, lambda ans, x: (1 / (2 * ans),),
        numpy="np.sqrt(#1)", torch="torch.sqrt(#1)",
        latex=r"\sqrt{#1}", text="√(#1)",
        kind="elementary", summary="square root, x ≥ 0 (SymPy's x**(1/2))",
        definition=lambda x: sympy.sqrt(x),
    ),
    Rule(
        "pow", Pow, lambda ans, x, n: (n * x ** (n - 1), ans * log(x)),
        numpy="#1**#2", torch="#1**#2",
        latex=r"#1^{#2}", text="#1^#2",
        kind="elementary", summary="power x^n (∂/∂n needs x > 0)",
        definition=lambda x, n: x**n,
    ),
    Rule(
        "sin", sin, lambda ans, x: (cos(x),),
        numpy="np.sin(#1)", torch="torch.sin(#1)",
        latex=r"\sin\left(#1\right)", text="sin(#1)",
        kind="elementary", summary="sine",
    ),
    Rule(
        "cos", cos, lambda ans, x: (-sin(x),),
        numpy="np.cos(#1)", torch="torch.cos(#1)",
        latex=r"\cos\left(#1\right)", text="cos(#1)",
        kind="elementary", summary="cosine",
    ),
    # Non-smooth functions
    Rule(
        "abs", Abs, lambda ans, x: (sign(x),),
        numpy="np.abs(#1)", torch="torch.abs(#1)",
        latex=r"\left|#1\right|", text="|#1|",
        kind="non-smooth", summary="absolute value, kink at 0",
        kink=lambda x: (x,),
    ),
    Rule(
        "Max", Max, _extremum_derivative(Max),
        numpy=_nested("np.maximum"), torch=_nested("_maximum"),
        latex=_joined(r"\max\left(", ", ", r"\right)"), text=_joined("max(", ", ", ")"),
        kind="non-smooth", summary="largest argument, kink where the largest two tie",
        kink=_extremum_kink(Max),
    ),
    Rule(
        "Min", Min, _extremum_derivative(Min),
        numpy=_nested("np.minimum"), torch=_nested("_minimum"),
        latex=_joined(r"\min\left(", ", ", r"\right)"), text=_joined("min(", ", ", ")"),
        kind="non-smooth", summary="smallest argument, kink where the smallest two tie",
        kink=_extremum_kink(Min),
    ),
    Rule(
        "sign", sign, lambda ans, x: (sympy.S.Zero,),
        numpy="np.sign(#1)", torch="torch.sign(#1)",
        latex=r"\operatorname{sign}\left(#1\right)", text="sign(#1)",
        kind="non-smooth", summary="sign of x; derivative 0 except at the jump at 0",
        kink=lambda x: (x,),
    ),
    Rule(
        "Heaviside", Heaviside, lambda ans, x, h0: (sympy.S.Zero, sympy.S.Zero),
        numpy=_heaviside_numpy, torch="_heaviside(#1, #2)",
        latex=_heaviside_latex, text=_heaviside_text,
        kind="non-smooth", summary="unit step, value h0 at 0; derivative 0 except at the jump",
        kink=lambda x, h0: (x,),
    ),
    # Losses
    Rule(
        "bce", bce, lambda ans, p, y: (-y / p + (1 - y) / (1 - p), log(1 - p) - log(p)),
        numpy=None, torch=None,
        latex=r"\operatorname{BCE}\left(#1, #2\right)", text="BCE(#1, #2)",
        kind="loss", summary="binary cross-entropy of a probability p ∈ (0, 1) and a target y",
        definition=lambda p, y: -(y * log(p) + (1 - y) * log(1 - p)),
    ),
    Rule(
        "squared_error", squared_error, lambda ans, p, y: (_times(2, p - y), _times(-2, p - y)),
        numpy=None, torch=None,
        latex=r"\left(#1 - #2\right)^{2}", text="(#1 − #2)²",
        kind="loss", summary="(prediction − target)²",
        definition=lambda p, y: (p - y) ** 2,
    ),
    Rule(
        "mse", mse, _mse_derivative,
        numpy=None, torch=None, latex=_mse_latex, text=_mse_text,
        kind="loss", summary="mean of (prediction − target)² over the pairs",
        definition=_mse_definition,
    ),
    Rule(
        "sum_squares", sum_squares, lambda ans, *xs: tuple(2 * x for x in xs),
        numpy=None, torch=None,
        latex=_joined(r"\operatorname{SS}\left(", ", ", r"\right)"),
        text=_joined("SS(", ", ", ")"),
        kind="loss", summary="sum of squares x1² + x2² + …",
        definition=lambda *xs: sympy.Add(*[x**2 for x in xs]),
    ),
)
# fmt: on

RULES_BY_NAME: dict[str, Rule] = {rule.name: rule for rule in RULES}
# Pow has two rows (sqrt and pow); printers choose between them by the exponent. Max and Min
# are SymPy Applications but not Functions.
RULES_BY_FUNCTION: dict[type, Rule] = {
    rule.function: rule for rule in RULES if issubclass(rule.function, Application)
}


def rule_for(expr: sympy.Expr) -> Rule | None:
    """The row for an applied function, or None when it is not in the table."""
    return RULES_BY_FUNCTION.get(type(expr))


def kinks_of(expr: sympy.Expr) -> tuple[sympy.Expr, ...]:
    """Every kink argument of the non-smooth primitives inside ``expr``."""
    out: list[sympy.Expr] = []
    for applied in sympy.preorder_traversal(expr):
        rule = rule_for(applied) if isinstance(applied, Application) else None
        if rule is not None:
            out.extend(rule.kinks(applied))
    return tuple(out)
