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
from sympy.matrices.expressions.matexpr import MatrixExpr

from . import tensors as T
from .tensors import Tensor, elementwise, is_matrix

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
    """A SymPy function whose derivative, spellings and value come from its row in the table.
    Applied to a matrix it acts entry by entry (``relu(X @ W)``)."""

    def __new__(cls, *args, **kwargs):
        if any(is_matrix(arg) for arg in args):
            return Tensor(elementwise(lambda *a: cls(*a), *args, what=cls.__name__))
        return super().__new__(cls, *args, **kwargs)

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
        if len(args) == 2 and all(is_matrix(a) for a in args):  # mean over every entry
            difference = elementwise(lambda p, t: p - t, *args, what="mse")
            return T.sum_squares_of(difference) / (
                T.shape_of(difference)[0] * T.shape_of(difference)[1]
            )
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
        if len(args) == 1 and is_matrix(args[0]):  # every entry squared, summed
            return T.sum_squares_of(args[0])
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
    """Every kink argument of the non-smooth primitives inside ``expr``: expressions that are
    zero where a primitive is not differentiable (matrices of them inside an Elementwise)."""
    out: list[sympy.Expr] = []

    def visit(node):
        if isinstance(node, T.Elementwise):
            template = node.template
            for kink in kinks_of(template.expr):
                out.append(T.Elementwise(sympy.Lambda(template.variables, kink), *node.operands))
            for operand in node.operands:
                visit(operand)
            return
        rule = rule_for(node) if isinstance(node, Application) else None
        if rule is not None:
            out.extend(rule.kinks(node))
        for arg in node.args:
            visit(arg)

    visit(sympy.sympify(expr))
    return tuple(dict.fromkeys(out))


# --- matrix operations ------------------------------------------------------------------------
#
# A matrix operation's row holds its backward rule: given G, the adjoint of the operation's
# result, and ``ans``, the result itself (the node's symbol when the operation is a whole node),
# the adjoint of each argument, written as a matrix expression; None where no gradient flows (an
# axis, integer labels). Elementwise has no fixed rule: its partials come from the scalar rows
# above, applied entry by entry, and the derivation assembles them (``elementwise_pullback``).
# Code spellings are functions of the operation and its printed arguments.


@dataclass(frozen=True)
class MatrixRule:
    name: str
    operation: type
    pullback: Callable | None  # (op, G, ans) -> one adjoint (or None) per op.args
    numpy: Callable[[sympy.Basic, Sequence[str]], str]
    torch: Callable[[sympy.Basic, Sequence[str]], str]
    latex: Callable[[sympy.Basic, Sequence[str]], str]
    text: Callable[[sympy.Basic, Sequence[str]], str]
    summary: str
    textbook: str  # the rule as a formula, for the documentation of the table


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
        raise T.SymgradError(f"the exponent of {op} must be a constant")
    return (elementwise(lambda gg, b: gg * exponent * b ** (exponent - 1), g, base), None)


def _inverse_pullback(op, g, ans):
    return ((-sympy.MatMul(ans.T, g, ans.T)).doit(), None)  # SymPy's Inverse is A**-1


def _matpow_pullback(op, g, ans):
    base, n = op.args
    if not (n.is_Integer and n > 0):
        raise T.SymgradError(
            f"symgrad differentiates a matrix power A**n for n = 1, 2, …, not {op}"
        )
    n = int(n)
    power = lambda k: sympy.Identity(T.shape_of(base)[0]) if k == 0 else base.T**k  # noqa: E731
    terms = [sympy.MatMul(power(k), g, power(n - 1 - k)).doit() for k in range(n)]
    return (sympy.MatAdd(*terms).doit() if len(terms) > 1 else terms[0], None)


def _trace_pullback(op, g, ans):
    n = T.shape_of(op.arg)[0]
    return (elementwise(lambda gg, i: gg * i, g, sympy.Identity(n)),)


def _determinant_pullback(op, g, ans):
    return (sympy.MatMul(g * ans, sympy.Inverse(op.arg).T).doit(),)


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
        return (
            f"{module}.sum({args[0]}, {'axis' if module == 'np' else 'dim'}={op.axis}, {keep}=True)"
        )

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


# fmt: off
MATRIX_RULES: tuple[MatrixRule, ...] = (
    MatrixRule(
        "matmul", sympy.MatMul, _matmul_pullback,
        numpy=_matmul_code, torch=_matmul_code,
        latex=_matmul_math(r"\,"), text=_matmul_math(" "),
        summary="matrix product A B (with a scalar factor c)",
        textbook="∂/∂A: G Bᵀ,  ∂/∂B: Aᵀ G,  ∂/∂c: sum(G ⊙ AB)",
    ),
    MatrixRule(
        "matadd", sympy.MatAdd, lambda op, g, ans: tuple(g for _ in op.args),
        numpy=lambda op, a: " + ".join(a), torch=lambda op, a: " + ".join(a),
        latex=lambda op, a: " + ".join(a), text=lambda op, a: " + ".join(a),
        summary="sum of matrices of one shape", textbook="∂/∂Aᵢ: G",
    ),
    MatrixRule(
        "transpose", sympy.Transpose, lambda op, g, ans: (g.T,),
        numpy=lambda op, a: f"{_grouped(a[0])}.T", torch=lambda op, a: f"{_grouped(a[0])}.T",
        latex=lambda op, a: f"{a[0]}^{{\\top}}", text=lambda op, a: f"{a[0]}ᵀ",
        summary="transpose", textbook="∂/∂A: Gᵀ",
    ),
    MatrixRule(
        "hadamard", sympy.HadamardProduct, _hadamard_pullback,
        numpy=lambda op, a: " * ".join(map(_grouped, a)), torch=lambda op, a: " * ".join(map(_grouped, a)),
        latex=lambda op, a: r" \odot ".join(a), text=lambda op, a: " ⊙ ".join(a),
        summary="entry-by-entry product A ⊙ B", textbook="∂/∂A: G ⊙ B",
    ),
    MatrixRule(
        "hadamard_power", sympy.HadamardPower, _hadamard_power_pullback,
        numpy=lambda op, a: f"{_grouped(a[0])}**{_grouped(a[1])}",
        torch=lambda op, a: f"{_grouped(a[0])}**{_grouped(a[1])}",
        latex=lambda op, a: f"{a[0]}^{{\\circ {a[1]}}}", text=lambda op, a: f"{a[0]}^∘{a[1]}",
        summary="entry-by-entry power A^∘n", textbook="∂/∂A: G ⊙ n A^∘(n−1)",
    ),
    MatrixRule(
        "inverse", sympy.Inverse, _inverse_pullback,
        numpy=_fixed("np.linalg.inv({0})"), torch=_fixed("torch.linalg.inv({0})"),
        latex=lambda op, a: f"{a[0]}^{{-1}}", text=lambda op, a: f"{a[0]}⁻¹",
        summary="matrix inverse", textbook="∂/∂A: −A⁻ᵀ G A⁻ᵀ",
    ),
    MatrixRule(
        "matrix_power", sympy.MatPow, _matpow_pullback,
        numpy=lambda op, a: f"np.linalg.matrix_power({a[0]}, {a[1]})",
        torch=lambda op, a: f"torch.linalg.matrix_power({a[0]}, {a[1]})",
        latex=lambda op, a: f"{a[0]}^{{{a[1]}}}", text=lambda op, a: f"{a[0]}^{a[1]}",
        summary="matrix power Aⁿ, n = 1, 2, … (A @ A)", textbook="∂/∂A: Σₖ (Aᵀ)ᵏ G (Aᵀ)ⁿ⁻¹⁻ᵏ",
    ),
    MatrixRule(
        "trace", sympy.Trace, _trace_pullback,
        numpy=_fixed("np.trace({0})"), torch=_fixed("torch.trace({0})"),
        latex=lambda op, a: rf"\operatorname{{tr}}\left({a[0]}\right)", text=lambda op, a: f"tr({a[0]})",
        summary="trace (a scalar)", textbook="∂/∂A: G I",
    ),
    MatrixRule(
        "det", sympy.Determinant, _determinant_pullback,
        numpy=_fixed("np.linalg.det({0})"), torch=_fixed("torch.linalg.det({0})"),
        latex=lambda op, a: rf"\det\left({a[0]}\right)", text=lambda op, a: f"det({a[0]})",
        summary="determinant (a scalar); log det is log of it", textbook="∂/∂A: G det(A) A⁻ᵀ",
    ),
    MatrixRule(
        "sum", T.Total, _total_pullback,
        numpy=_fixed("np.sum({0})"), torch=_fixed("torch.sum({0})"),
        latex=lambda op, a: rf"\operatorname{{sum}}\left({a[0]}\right)", text=lambda op, a: f"sum({a[0]})",
        summary="sum of every entry (a scalar); mean, sum_squares and norms are built on it",
        textbook="∂/∂A: G 𝟙 (G repeated to A's shape)",
    ),
    MatrixRule(
        "axis_sum", T.AxisSum, _axis_sum_pullback,
        numpy=_reduce_code("np", "keepdims"), torch=_reduce_code("torch", "keepdim"),
        latex=lambda op, a: rf"\operatorname{{sum}}_{{{op.axis}}}\left({a[0]}\right)",
        text=lambda op, a: f"sum_{op.axis}({a[0]})",
        summary="sum along an axis, kept as a row or a column", textbook="∂/∂A: G repeated along the axis",
    ),
    MatrixRule(
        "broadcast", T.Broadcast, _broadcast_pullback,
        numpy=lambda op, a: f"np.broadcast_to({a[0]}, {op.shape})",
        torch=lambda op, a: f"_broadcast({a[0]}, {op.shape[0]}, {op.shape[1]}, dtype, device)",
        latex=lambda op, a: a[0], text=lambda op, a: a[0],
        summary="a scalar, row or column repeated to a shape", textbook="∂/∂v: G summed back to v's shape",
    ),
    MatrixRule(
        "softmax", T.Softmax, _softmax_pullback,
        numpy=lambda op, a: f"_softmax({a[0]}, {op.axis})",
        torch=lambda op, a: f"torch.softmax({a[0]}, dim={op.axis})",
        latex=lambda op, a: rf"\operatorname{{softmax}}\left({a[0]}\right)", text=lambda op, a: f"softmax({a[0]})",
        summary="exp normalised along an axis", textbook="∂/∂A: S ⊙ (G − sum(G ⊙ S) along the axis)",
    ),
    MatrixRule(
        "log_softmax", T.LogSoftmax, _log_softmax_pullback,
        numpy=lambda op, a: f"_log_softmax({a[0]}, {op.axis})",
        torch=lambda op, a: f"torch.log_softmax({a[0]}, dim={op.axis})",
        latex=lambda op, a: rf"\log\operatorname{{softmax}}\left({a[0]}\right)",
        text=lambda op, a: f"log softmax({a[0]})",
        summary="log of the softmax, computed stably", textbook="∂/∂A: G − softmax(A) ⊙ sum(G) along the axis",
    ),
    MatrixRule(
        "one_hot", T.OneHot, lambda op, g, ans: (None, None),
        numpy=lambda op, a: f"_one_hot({a[0]}, {op.classes})",
        torch=lambda op, a: f"_one_hot({a[0]}, {op.classes})",
        latex=lambda op, a: rf"\operatorname{{onehot}}\left({a[0]}\right)", text=lambda op, a: f"onehot({a[0]})",
        summary="integer labels as rows of the identity (no gradient)", textbook="none: labels are integers",
    ),
    MatrixRule(
        "spectral_norm", T.SpectralNorm, _spectral_pullback,
        numpy=_fixed("np.linalg.norm({0}, 2)"), torch=_fixed("torch.linalg.matrix_norm({0}, ord=2)"),
        latex=lambda op, a: rf"\left\lVert {a[0]} \right\rVert_{{2}}", text=lambda op, a: f"‖{a[0]}‖₂",
        summary="largest singular value", textbook="∂/∂A: G u₁v₁ᵀ (top singular pair, when simple)",
    ),
    MatrixRule(
        "singular_outer", T.SingularOuter, None,
        numpy=_fixed("_singular_outer({0})"), torch=_fixed("_singular_outer({0})"),
        latex=lambda op, a: rf"u_{{1}} v_{{1}}^{{\top}}\left({a[0]}\right)", text=lambda op, a: f"u₁v₁ᵀ({a[0]})",
        summary="u₁v₁ᵀ of the top singular pair (appears in gradients; not differentiated)",
        textbook="refused: no second derivative of the spectral norm",
    ),
    MatrixRule(
        "identity", sympy.Identity, lambda op, g, ans: (None,),
        numpy=_numpy_constant("eye"), torch=_torch_constant("eye"),
        latex=lambda op, a: "I", text=lambda op, a: "I",
        summary="identity matrix", textbook="constant",
    ),
    MatrixRule(
        "ones", sympy.OneMatrix, lambda op, g, ans: (None, None),
        numpy=_numpy_constant("ones"), torch=_torch_constant("ones"),
        latex=lambda op, a: r"\mathbf{1}", text=lambda op, a: "𝟙",
        summary="matrix of ones", textbook="constant",
    ),
    MatrixRule(
        "zeros", sympy.ZeroMatrix, lambda op, g, ans: (None, None),
        numpy=_numpy_constant("zeros"), torch=_torch_constant("zeros"),
        latex=lambda op, a: r"\mathbf{0}", text=lambda op, a: "0",
        summary="matrix of zeros", textbook="constant",
    ),
)
# fmt: on

MATRIX_RULES_BY_OPERATION: dict[type, MatrixRule] = {rule.operation: rule for rule in MATRIX_RULES}


def matrix_rule_for(expr) -> MatrixRule | None:
    """The row of a matrix operation (SymPy's or symgrad's), or None."""
    for cls in type(expr).__mro__:
        if cls in MATRIX_RULES_BY_OPERATION:
            return MATRIX_RULES_BY_OPERATION[cls]
    return None


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
