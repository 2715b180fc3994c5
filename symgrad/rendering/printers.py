"""Printers for formulas that people read: the layout of sums, products, fractions and powers
is shared, and each surface gives its own symbols: ``TextPrinter`` (Unicode for the terminal) and
``LatexPrinter`` (LaTeX for documents, and the math of Markdown).

Every printer has two modes. Symbolic prints a formula as written (``σ₃(1 − σ₃)``). Numeric,
given the values of the symbols, prints the same formula with each symbol replaced by its number
(``0.4154(1 − 0.4154)``), negative numbers in parentheses, products made explicit: the
substitution step of a worked example.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from contextlib import contextmanager

import numpy as np
import sympy
from sympy.core.function import Application
from sympy.logic.boolalg import Boolean
from sympy.matrices.expressions.matexpr import MatrixExpr
from sympy.printing.precedence import PRECEDENCE, precedence
from sympy.printing.str import StrPrinter

from .. import arrays
from ..derivation import ARRAY_PARTIALS, NAMED_ARRAYS, Partial, SecondPartial
from ..names import latex_name, text_name
from ..rules import rule_for, spell
from ..tensors import Elementwise

# A matrix this small is shown with its numbers (amsmath's bmatrix takes up to 10 columns); a
# larger one by its shape alone.
SMALL_MATRIX = (10, 10)


def format_number(value, digits: int = 4, *, fixed: bool = False) -> str:
    """A float as a worked example prints it: ``digits`` decimals, correctly rounded from the
    float64 value; integers without decimals; very small or large magnitudes in scientific
    notation so that no significant digit is lost to the fixed point (``fixed``: decimals
    always, for the columns of a matrix)."""
    value = float(value)
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    magnitude = abs(value)
    if not fixed and (magnitude < 10.0 ** -(digits - 1) or magnitude >= 1e6):
        text = f"{value:.{max(digits - 1, 1)}e}"
    else:
        text = f"{value:.{digits}f}"
    if text.startswith("-") and not any(ch in "123456789" for ch in text.split("e")[0]):
        text = text[1:]  # -0.0000 is 0.0000
    return text


def format_value(value, digits: int = 4, limit: int = 8) -> str:
    """A number, or an array shown as a short list."""
    array = np.asarray(value)
    if array.ndim == 0:
        return format_number(array, digits)
    flat = [format_number(v, digits) for v in array.ravel()[:limit]]
    more = ", …" if array.size > limit else ""
    return (
        "[" + ", ".join(flat) + more + "]" + (f" (shape {array.shape})" if array.ndim > 1 else "")
    )


class MathPrinter(StrPrinter):
    """Layout shared by the human-facing printers; subclasses define the symbols."""

    minus = "-"
    times = "*"  # between numbers, and around ∂ symbols

    def __init__(self, values: Mapping[str, object] | None = None, digits: int = 4):
        super().__init__()
        self.values = values
        self.digits = digits

    # --- the hooks a surface defines -----------------------------------------------------

    def name(self, symbol: sympy.Symbol) -> str:
        raise NotImplementedError

    def partial(self, of: str, wrt: str) -> str:
        raise NotImplementedError

    def second_partial(self, of: str, first: str, second: str) -> str:
        raise NotImplementedError

    def fraction(
        self, numerator: str, denominator: str, *, sum_above: bool, product_below: bool
    ) -> str:
        """``sum_above``: the numerator is a sum; ``product_below``: the denominator is a
        product or a sum (an inline a/b must group them)."""
        raise NotImplementedError

    def power(self, base: str, exponent: str) -> str:
        raise NotImplementedError

    def root(self, radicand: str) -> str:
        raise NotImplementedError

    def group(self, text: str) -> str:
        return f"({text})"

    def negative_number(self, text: str) -> str:
        """A negative number inside a substitution: ``(−0.1419)``."""
        return f"({text})"

    ellipsis = "…"

    def shape(self, shape: tuple[int, ...]) -> str:
        return f" (shape {shape})"

    def function(self, expr) -> str:
        rule = rule_for(expr)
        parts = rule.printed_parts(expr) if rule is not None else expr.args
        args = [self.argument(arg) for arg in parts]
        spelling = self.spelling(rule) if rule is not None else None
        if spelling is None:
            return f"{expr.func.__name__}({', '.join(args)})"
        return spell(spelling, args, expr)

    def spelling(self, rule):
        raise NotImplementedError

    def argument(self, arg) -> str:
        """A function's argument: its spelling delimits it, so a negative value needs no
        parentheses of its own (σ(−1.05), not σ((−1.05)))."""
        if self.values is not None and isinstance(arg, sympy.Symbol) and arg.name in self.values:
            return self.number(self.values[arg.name])
        return self._print(arg)

    def juxtapose(self, left: sympy.Expr, right: sympy.Expr) -> str:
        """The glue between two factors of a product in symbolic mode."""
        return self.times

    # --- the layout ------------------------------------------------------------------------

    def value(self, value, limit: int = 8) -> str:
        """A number, an array shown as a short list (a batch of values), a small matrix with its
        entries, a large one by its shape."""
        array = np.asarray(value)
        if array.ndim == 0:
            return self.number(array)
        if array.ndim == 2:
            if is_small(array):  # columns of decimals, not a mix of scientific notation
                return self.matrix([[self.number(v, fixed=True) for v in row] for row in array])
            return self.matrix_summary(array.shape)
        if array.ndim > 2:  # an image batch is read by its shape, not its first numbers
            return self.matrix_summary(array.shape)
        flat = [self.number(v) for v in array.ravel()[:limit]]
        if array.size > limit:
            flat.append(self.ellipsis)
        shape = self.shape(array.shape) if array.ndim > 1 else ""
        return self.list(flat) + shape

    def list(self, items: list[str]) -> str:
        return "[" + ", ".join(items) + "]"

    def matrix(self, rows: list[list[str]]) -> str:
        return "[" + ", ".join("[" + ", ".join(row) + "]" for row in rows) + "]"

    def matrix_summary(self, shape: tuple[int, ...]) -> str:
        what = "matrix" if len(shape) == 2 else "array"
        return f"({'×'.join(map(str, shape))} {what})"

    def member_of(self, shape: tuple[int, ...]) -> str:
        """`` ∈ ℝ^{r×c}``: where an array quantity lives."""
        return f" ∈ ℝ^({'×'.join(map(str, shape))})"

    hadamard = " ⊙ "

    def matrix_spelling(self, rule):
        raise NotImplementedError

    @contextmanager
    def ordered(self, keep_order: bool):
        """Within the block, print sums in the order their terms were built (a chain)."""
        previous = self._settings.get("order")
        self._settings["order"] = "none" if keep_order else None
        try:
            yield self
        finally:
            self._settings["order"] = previous

    def doprint(self, expr) -> str:
        expr = sympy.sympify(expr)
        if self.values is not None and isinstance(expr, sympy.Symbol):
            return self.number(self.values[expr.name])  # a lone value needs no parentheses
        return super().doprint(expr)

    def number(self, value, *, fixed: bool = False) -> str:
        text = format_number(value, self.digits, fixed=fixed)
        return text.replace("-", self.minus)

    def _print(self, expr, **kwargs):
        if isinstance(expr, Application) and not isinstance(expr, Boolean):
            return self.function(expr)
        if expr in self._placeholders:
            return self._placeholders[expr]
        if isinstance(expr, Elementwise):
            return self._print_elementwise(expr)
        if isinstance(expr, ARRAY_PARTIALS):
            return self.partial(expr.of, expr.wrt)
        if isinstance(expr, NAMED_ARRAYS):
            return self.name(expr)
        rule = rule_for(expr)
        if rule is not None and rule.is_matrix:
            args = [
                self._operand(expr, a) if isinstance(a, sympy.Basic) else str(a)
                for a in rule.printed_parts(expr)
            ]
            return self.matrix_spelling(rule)(expr, args)
        if rule is not None and rule.through is not None:  # a Piecewise
            return self.function(expr)
        return super()._print(expr, **kwargs)

    # --- matrices ---------------------------------------------------------------------------

    # Set while an Elementwise is printed: each template variable's operand, printed, and
    # grouped for where it is a factor or a base; the variables that stand for matrices.
    _placeholders: dict = {}  # noqa: RUF012
    _grouped_placeholders: dict = {}  # noqa: RUF012
    _matrix_placeholders: frozenset = frozenset()

    def _operand(self, op, arg) -> str:
        """An argument of a matrix operation, grouped where juxtaposition would misread it:
        X(A + B), (XW)ᵀ."""
        text = self._print(arg)
        if isinstance(arg, ARRAY_PARTIALS) and isinstance(op, (sympy.Transpose, sympy.Inverse)):
            return self.group(text)  # (∂L/∂z)ᵀ: on a fraction's corner it reads as z's
        if _is_matrix_atom(arg):
            return text
        juxtaposed = isinstance(op, (sympy.MatMul, sympy.Transpose, sympy.Inverse, sympy.MatPow))
        sum_like = isinstance(arg, (sympy.MatAdd, Elementwise, sympy.Add))
        product_under = not isinstance(op, sympy.MatMul) and isinstance(arg, sympy.MatMul)
        return self.group(text) if juxtaposed and (sum_like or product_under) else text

    def _print_elementwise(self, expr: Elementwise) -> str:
        """The template's formula, its variables replaced by the operands; a product of two
        matrices in it is the entry-by-entry ⊙."""
        printed, grouped, matrices = {}, {}, set()
        for variable, operand in zip(expr.template.variables, expr.operands, strict=True):
            text = self._print(operand)
            printed[variable] = text
            if isinstance(operand, MatrixExpr):
                matrices.add(variable)
            called = (  # a scalar written as a call, sum(x) or σ(z), needs no parentheses
                not isinstance(operand, MatrixExpr)
                and precedence(operand) >= PRECEDENCE["Func"]
                and not text.startswith(self.minus)
            )
            if not _is_matrix_atom(operand) and not _grouped(text) and not called:
                grouped[variable] = self.group(text)  # as a factor or a base: (X W) ⊙ B
        saved = self._placeholders, self._grouped_placeholders, self._matrix_placeholders
        self._placeholders = {**saved[0], **printed}
        self._grouped_placeholders = {**saved[1], **grouped}
        self._matrix_placeholders = saved[2] | frozenset(matrices)
        try:
            return self._print(expr.template.expr)
        finally:
            self._placeholders, self._grouped_placeholders, self._matrix_placeholders = saved

    def _print_Symbol(self, expr):
        if self.values is not None and expr.name in self.values:
            text = self.number(self.values[expr.name])
            return self.negative_number(text) if text.startswith(self.minus) else text
        if isinstance(expr, Partial):
            return self.partial(expr.of, expr.wrt)
        if isinstance(expr, SecondPartial):
            return self.second_partial(expr.of, expr.first, expr.second)
        return self.name(expr)

    def _is_negative_value(self, expr) -> bool:
        return (
            self.values is not None
            and isinstance(expr, sympy.Symbol)
            and expr.name in self.values
            and getattr(self.values[expr.name], "ndim", 0) == 0
            and float(self.values[expr.name]) < 0
        )

    def _print_Integer(self, expr):
        return self.number(int(expr))

    def _print_Float(self, expr):
        return self.number(float(expr))

    def _print_Rational(self, expr):
        sign = self.minus if expr.p < 0 else ""
        return sign + self.fraction(
            str(abs(expr.p)), str(expr.q), sum_above=False, product_below=False
        )

    def _print_NumberSymbol(self, expr):
        return self._print_Exp1(expr) if expr == sympy.E else self.name(sympy.Symbol("pi"))

    def _print_Exp1(self, expr):
        return "e"

    def _print_Pi(self, expr):  # SymPy's own printer would say "pi" before the rule above
        return self.name(sympy.Symbol("pi"))

    def _print_Add(self, expr, order=None):
        return "".join(text for _, text in self.add_pieces(expr, order))

    def add_pieces(self, expr: sympy.Add, order=None) -> list[tuple[sympy.Expr, str]]:
        """The printed terms of a sum, each after the first with its ``+``/``−`` glue: the
        places where a long sum may break across lines."""
        if self._settings.get("order") != "none":
            # a − b rather than −b + a: positive terms first, each group in SymPy's order
            # with numbered names in their natural order (w₂ before w₁₀).
            terms = _natural_order(expr)
            terms = [t for t in terms if not _is_negative(t)] + [
                t for t in terms if _is_negative(t)
            ]
        else:
            terms = self._as_ordered_terms(expr, order=order)
        out = []
        for i, term in enumerate(terms):
            negative = _is_negative(term)
            text = self._print(-term if negative else term)
            if precedence(term) < PRECEDENCE["Add"] or (
                not negative and isinstance(term, sympy.Add)
            ):
                text = self.group(text)
            if i == 0 and self._is_negative_value(term):
                text = self.number(self.values[term.name])  # −0.1725 − 1 · 0.2727: no ( )
            if i == 0:
                out.append((term, (self.minus + text) if negative else text))
            else:
                out.append((term, f" {self.minus} {text}" if negative else f" + {text}"))
        return out

    # conditions, inside a piecewise function
    relations: Mapping[str, str] = {"<=": "<=", ">=": ">=", "==": "=", "!=": "!="}
    conjunction = " and "
    disjunction = " or "

    def _print_Relational(self, expr):
        relation = self.relations.get(expr.rel_op, expr.rel_op)
        return f"{self._print(expr.lhs)} {relation} {self._print(expr.rhs)}"

    def _print_And(self, expr):
        return self.conjunction.join(self._print_operand(a) for a in expr.args)

    def _print_Or(self, expr):
        return self.disjunction.join(self._print_operand(a) for a in expr.args)

    def _print_operand(self, condition) -> str:
        text = self._print(condition)
        return self.group(text) if isinstance(condition, (sympy.And, sympy.Or)) else text

    def _print_ITE(self, expr):  # a where of a where: (a and b) or (not a and c)
        return self._print(expr.to_nnf())

    def _print_Mul(self, expr):
        if _is_negative(expr):
            inner = -expr if not _is_minus_one_times(expr) else expr.args[1]
            if self._is_negative_value(inner):  # −(−0.3415) is written 0.3415
                return self.number(-float(self.values[inner.name]))
            text = self._print(inner)
            if isinstance(inner, sympy.Add):
                text = self.group(text)
            return self.minus + text
        numerator, denominator = [], []
        for factor in _factors(expr):
            if factor.is_Pow and factor.exp.is_Rational and factor.exp.is_negative:
                denominator.append(
                    factor.base ** (-factor.exp) if factor.exp != -1 else factor.base
                )
            elif factor.is_Rational and factor.q != 1 and self.values is None:
                if factor.p != 1:  # ½r² is r²/2, not 1r²/2
                    numerator.append(sympy.Integer(factor.p))
                denominator.append(sympy.Integer(factor.q))
            else:
                numerator.append(factor)
        if not denominator:
            return self._product(numerator) if numerator else "1"
        # A lone sum above or below the bar is passed ungrouped: the surface decides whether
        # it needs parentheses (a/b in text does, \frac does not).
        top = self._fraction_part(numerator)
        bottom = self._fraction_part(denominator)
        return self.fraction(
            top,
            bottom,
            sum_above=_is_sum(numerator),
            product_below=len(denominator) > 1
            or _is_sum(denominator)
            or isinstance(denominator[0], sympy.Mul),
        )

    def _fraction_part(self, factors: list) -> str:
        if not factors:
            return "1"
        if len(factors) == 1 and isinstance(factors[0], sympy.Add):
            return self._print(factors[0])
        return self._product(factors)

    def _product(self, factors: list) -> str:
        out = ""
        previous = None
        for factor in factors:
            text = self._grouped_placeholders.get(factor) or self._print(factor)
            if precedence(factor) < PRECEDENCE["Mul"]:
                text = self.group(text)
            if previous is None:
                out = text
            elif self._entrywise(previous, factor):
                out += self.hadamard + text
            else:
                glue = self.times if self.values is not None else self.juxtapose(previous, factor)
                out += glue + text
            previous = factor
        return out

    def _entrywise(self, left, right) -> bool:
        """Both factors are matrices (inside an Elementwise): their product is A ⊙ B."""
        matrices = self._matrix_placeholders
        return (
            bool(matrices)
            and bool(left.free_symbols & matrices)
            and bool(right.free_symbols & matrices)
        )

    def _print_Pow(self, expr, rational=False):
        base, exponent = expr.base, expr.exp
        if exponent == sympy.S.Half:
            return self.root(self._print(base))
        if exponent.is_Rational and exponent.is_negative:
            positive = base ** (-exponent) if exponent != -1 else base
            return self.fraction(
                self.number(1),
                self._print(positive),
                sum_above=False,
                product_below=isinstance(positive, (sympy.Add, sympy.Mul)),
            )
        if base in self._grouped_placeholders:
            return self.power(self._grouped_placeholders[base], self._print(exponent))
        text = self._print(base)
        needs_group = precedence(base) <= PRECEDENCE["Pow"] or text.startswith(self.minus)
        if isinstance(base, sympy.Symbol) and self.values is None:
            # an operand that carries its own superscript (σᵀ, A⁻¹) is grouped: (σᵀ)², never
            # σᵀ², which TeX refuses as a double superscript
            needs_group = base in self._placeholders and _raised(text)
        if needs_group and not _one_group(text):
            text = self.group(text)
        return self.power(text, self._print(exponent))


def _one_group(text: str) -> bool:
    """Whether ``text`` is one parenthesised group, ``(a − b)`` (not ``(a)₁ − b``)."""
    if not (text.startswith("(") or text.startswith(r"\left(")):
        return False
    depth, opened = 0, False
    for k, character in enumerate(text):
        if character in "()":
            depth += 1 if character == "(" else -1
            opened = True
            if depth == 0 and opened and text[k + 1 :].strip():
                return False
    return opened and depth == 0


def left_side(equation, symbolic: MathPrinter) -> str:
    """The printed left side of an ``Equation``, before its relation."""
    with symbolic.ordered(equation.keep_order):
        return symbolic.doprint(equation.lhs)


def equation_parts(
    equation, symbolic: MathPrinter, numeric: MathPrinter | None
) -> tuple[str, list[tuple[str, sympy.Expr | None, MathPrinter | None]]]:
    """The printed left side of an ``Equation`` and its parts after the relation: each form,
    each form with numbers, the value; a part equal to the one before it is dropped (a value
    equal to its own substitution). Each part keeps its expression and printer, so a surface can
    break a long one across lines."""
    parts: list[tuple[str, sympy.Expr | None, MathPrinter | None]] = []

    def add(text: str, expr, printer) -> None:
        if not parts or parts[-1][0] != text:
            parts.append((text, expr, printer))

    lhs = left_side(equation, symbolic)
    with symbolic.ordered(equation.keep_order):
        for k, form in enumerate(equation.forms):
            with symbolic.ordered(equation.keep_order or (equation.as_written and k == 0)):
                add(symbolic.doprint(form), form, symbolic)
    if equation.shape and parts:  # the last formula says where the matrix lives
        text, expr, printer = parts[-1]
        parts[-1] = (text + symbolic.member_of(equation.shape), expr, printer)
    if numeric is not None:
        written = equation.as_written and len(equation.forms) == 1
        with numeric.ordered(equation.keep_order or written):
            for form in equation.numeric:
                add(numeric.doprint(form), form, numeric)
    if equation.value is not None:
        add(symbolic.value(equation.value), None, None)
    return lhs, parts


def _natural_order(expr: sympy.Add) -> list:
    """SymPy's order of the terms, as if every number in a name had six digits."""
    return list(_natural_order_of(expr))


@functools.lru_cache(maxsize=4096)  # a worked example prints each sum two or three times
def _natural_order_of(expr: sympy.Add) -> tuple:
    numbered = [
        s
        for s in expr.free_symbols
        if isinstance(s, sympy.Symbol) and any(ch.isdigit() for ch in s.name)
    ]
    if len(numbered) < 2:  # padding one name's digits moves it past no other name
        return tuple(expr.as_ordered_terms())
    padded = {
        s: sympy.Symbol(re.sub(r"\d+", lambda m: m.group().zfill(6), s.name), **s.assumptions0)
        for s in numbered
    }
    back = {v: k for k, v in padded.items()}
    return tuple(term.xreplace(back) for term in expr.xreplace(padded).as_ordered_terms())


def is_small(array) -> bool:
    rows, cols = np.shape(array)
    return rows <= SMALL_MATRIX[0] and cols <= SMALL_MATRIX[1]


def _is_matrix_atom(expr) -> bool:
    """A symbol, a transposed symbol, or a function applied entry by entry (σ(X W)): written
    next to something else it needs no parentheses."""
    if isinstance(expr, (*NAMED_ARRAYS, sympy.Symbol, sympy.Number)):
        return True
    if isinstance(expr, sympy.Transpose):
        return isinstance(expr.arg, NAMED_ARRAYS)
    if isinstance(expr, Elementwise):
        body = expr.template.expr
        return isinstance(body, Application) and set(body.args) <= set(expr.template.variables)
    return False


def _is_sum(factors: list) -> bool:
    return len(factors) == 1 and isinstance(factors[0], sympy.Add)


def _raised(text: str) -> bool:
    """Whether ``text`` ends in a superscript (``A^{\\top}``, ``A⁻¹``, ``Aᵀ``)."""
    return bool(re.search(r"\^\{[^{}]*\}$", text)) or text[-1:] in "ᵀ⁰¹²³⁴⁵⁶⁷⁸⁹"


def _grouped(text: str) -> bool:
    """Whether ``text`` is one parenthesised group, ``(…)``, already."""
    if not (text.startswith("(") and text.endswith(")")):
        return False
    depth = 0
    for i, ch in enumerate(text):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0 and i < len(text) - 1:
            return False
    return True


def _is_negative(term: sympy.Expr) -> bool:
    if term.is_Number:
        return bool(term.is_negative)
    if isinstance(term, sympy.Mul):
        coeff = term.args[0]
        return bool(coeff.is_Number and coeff.is_negative)
    return False


def _is_minus_one_times(expr: sympy.Expr) -> bool:
    return isinstance(expr, sympy.Mul) and len(expr.args) == 2 and expr.args[0] == -1


def _factors(expr: sympy.Mul) -> list:
    factors = list(expr.args)
    # Numbers first, then symbols and the rest in SymPy's order: 2σ(1 − σ), W₁x₁.
    return sorted(factors, key=lambda f: 0 if f.is_Number else 1)


_SUPERSCRIPT = dict(zip("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻", strict=True))
_SUPER = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


class TextPrinter(MathPrinter):
    """Unicode for the terminal: σ₁, ∂L/∂W₅, ·, −."""

    relations = {"<=": "≤", ">=": "≥", "==": "=", "!=": "≠"}  # noqa: RUF012

    minus = "−"
    times = " · "

    def name(self, symbol):
        return text_name(symbol.name)

    def partial(self, of, wrt):
        return f"∂{text_name(of)}/∂{text_name(wrt)}"

    def second_partial(self, of, first, second):
        if not first:
            return f"∇²{text_name(of)}"
        below = (
            f"∂{text_name(first)}²"
            if first == second
            else f"∂{text_name(first)}∂{text_name(second)}"
        )
        return f"∂²{text_name(of)}/{below}"

    def fraction(self, numerator, denominator, *, sum_above, product_below):
        def wrap(text: str, needed: bool) -> str:
            return f"({text})" if needed and not _grouped(text) else text

        return f"{wrap(numerator, sum_above)}/{wrap(denominator, product_below)}"

    def power(self, base, exponent):
        if all(ch in _SUPERSCRIPT for ch in exponent.replace("−", "-")):
            return base + "".join(_SUPERSCRIPT[ch] for ch in exponent.replace("−", "-"))
        return f"{base}^({exponent})" if len(exponent) > 1 else f"{base}^{exponent}"

    def root(self, radicand):
        return f"√({radicand})"

    def spelling(self, rule):
        return rule.text

    def matrix_spelling(self, rule):
        return rule.text

    def member_of(self, shape):
        return " ∈ ℝ" + "ˣ".join(str(n).translate(_SUPER) for n in shape)

    def juxtapose(self, left, right):
        if isinstance(left, (Partial, *ARRAY_PARTIALS)) or isinstance(
            right, (Partial, *ARRAY_PARTIALS)
        ):
            return self.times
        if left.is_Number:
            return ""
        if _short(left) and (_short(right) or isinstance(right, sympy.Add)):
            return ""
        return "·"


def _short(expr) -> bool:
    """A symbol whose base is one letter (W₁, σ₃, x̂), or its power (σ₁²): safe to write next
    to another."""
    if isinstance(expr, sympy.Pow) and expr.exp.is_Integer and expr.exp > 0:
        expr = expr.base
    if not isinstance(expr, sympy.Symbol) or isinstance(expr, Partial):
        return False
    return len(text_name(expr.name).rstrip("₀₁₂₃₄₅₆₇₈₉ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ\u0302\u0304\u0303")) == 1


class LatexPrinter(MathPrinter):
    r"""LaTeX for documents and for the math of Markdown: ``\sigma_{1}``, ``\frac{…}{…}``,
    ``\times`` for every written product, ``\log``, ``e^{…}``.

    ``inline`` writes ∂L/∂W as ``\partial L/\partial W_{5}`` and fractions with a slash, for
    table cells and running text. ``wrap`` breaks a long formula into lines for ``align*``.
    """

    relations = {"<=": r"\leq", ">=": r"\geq", "==": "=", "!=": r"\neq"}  # noqa: RUF012
    conjunction = r" \text{ and } "
    disjunction = r" \text{ or } "

    minus = "-"
    times = r" \times "
    ellipsis = r"\ldots"

    def __init__(
        self, values: Mapping[str, object] | None = None, digits: int = 4, *, inline: bool = False
    ):
        super().__init__(values, digits)
        self.inline = inline

    def name(self, symbol):
        return latex_name(symbol.name)

    def partial(self, of, wrt):
        if self.inline:
            return rf"\partial {latex_name(of)}/\partial {latex_name(wrt)}"
        return rf"\frac{{\partial {latex_name(of)}}}{{\partial {latex_name(wrt)}}}"

    def second_partial(self, of, first, second):
        if not first:
            return rf"\nabla^{{2}} {latex_name(of)}"
        if first == second:
            below = rf"\partial {latex_name(first)}^{{2}}"
        else:
            below = rf"\partial {latex_name(first)}\,\partial {latex_name(second)}"
        if self.inline:
            return rf"\partial^{{2}} {latex_name(of)}/{below}"
        return rf"\frac{{\partial^{{2}} {latex_name(of)}}}{{{below}}}"

    def fraction(self, numerator, denominator, *, sum_above, product_below):
        if not self.inline:
            return rf"\frac{{{numerator}}}{{{denominator}}}"

        def wrap(text: str, needed: bool) -> str:
            return self.group(text) if needed else text

        return f"{wrap(numerator, sum_above)}/{wrap(denominator, product_below)}"

    def power(self, base, exponent):
        return f"{base}^{{{exponent}}}"

    def root(self, radicand):
        return rf"\sqrt{{{radicand}}}"

    def group(self, text):
        # \left( \right) only where the content is tall: around flat content they add space
        # (σ (z₁) instead of σ(z₁)) and gain nothing.
        return rf"\left({text}\right)" if _tall(text) else f"({text})"

    def function(self, expr) -> str:
        rule = rule_for(expr)
        if rule is None or not isinstance(rule.latex, str):
            return super().function(expr)
        args = [self.argument(arg) for arg in expr.args]
        spelling = rule.latex
        if not any(_tall(arg) for arg in args):
            spelling = spelling.replace(r"\left(", "(").replace(r"\right)", ")")
        return spell(spelling, args, expr)

    def negative_number(self, text):
        return f"({text})"

    def list(self, items):
        return r"\left[" + ", ".join(items) + r"\right]"

    hadamard = r" \odot "

    def matrix(self, rows):
        body = r" \\ ".join(" & ".join(row) for row in rows)
        # in brackets, as a vector is (and as NumPy prints both)
        if rows and len(rows[0]) > 6:  # a wide one in smaller type keeps to the page (and KaTeX)
            return r"\left[\begin{smallmatrix} " + body + r" \end{smallmatrix}\right]"
        return r"\begin{bmatrix} " + body + r" \end{bmatrix}"

    def matrix_summary(self, shape):
        what = "matrix" if len(shape) == 2 else "array"
        dims = r" \times ".join(map(str, shape))
        return rf"\text{{(a }}{dims}\text{{ {what})}}"

    def member_of(self, shape):
        # \mathbf{R}: \mathbb needs amssymb, and a fragment asks only for amsmath
        dims = r" \times ".join(map(str, shape))
        return rf" \in \mathbf{{R}}^{{{dims}}}"

    def matrix_spelling(self, rule):
        return rule.latex

    def shape(self, shape):
        return r"\ \text{(shape }" + r" \times ".join(map(str, shape)) + r"\text{)}"

    def number(self, value, *, fixed: bool = False) -> str:
        text = format_number(value, self.digits, fixed=fixed)
        if text == "nan":
            return r"\mathrm{NaN}"
        if text.endswith("∞"):
            return text.replace("∞", r"\infty")
        mantissa, e, exponent = text.partition("e")
        if e:  # 1.234e-05 → 1.234 \times 10^{-5}
            return rf"{mantissa} \times 10^{{{int(exponent)}}}"
        return text

    def spelling(self, rule):
        return rule.latex

    def juxtapose(self, left, right):
        partials = isinstance(left, (Partial, *ARRAY_PARTIALS)) + isinstance(
            right, (Partial, *ARRAY_PARTIALS)
        )
        # α ∂L/∂W and ∂L/∂z₁ x₁ read well side by side as fractions; two fractions, or any
        # partial written with a slash, need the ×.
        if partials == 2 or (partials and self.inline) or (left.is_Number and right.is_Number):
            return self.times
        return " "

    # --- breaking long formulas -----------------------------------------------------------

    def wrap(self, expr: sympy.Expr, width: float) -> list[str]:
        r"""``expr`` printed as lines no wider than ``width`` (estimated glyphs) where it can
        break: between the terms of a sum, between the factors of a product, and inside a
        parenthesised sum or a function's argument, whose delimiters become ``\bigl(``/``\bigr)``
        (``\left``/``\right`` cannot span lines). The first line continues the line it is on."""
        width = max(width, MIN_WIDTH)  # nested breaks never squeeze a part below this
        text = self._print(expr)
        if visual_width(text) <= width:
            return [text]
        pieces = self._pieces(expr)
        if not pieces:
            return self._wrap_inside(expr, width) or wrap_tex(text, width)
        if len(pieces) == 1:  # −(a + b): break inside the group
            glue, sub = pieces[0]
            inner = self._wrap_piece(sub, width - 1, glue)
            return [glue + inner[0], *inner[1:]]
        lines: list[str] = []
        current = ""
        for glue, sub in pieces:
            body = self._print_piece(sub, glue)
            lead = glue if current or not lines else self._continuation(glue)
            if visual_width(current + lead + body) <= width:
                current += lead + body
                continue
            # It does not fit here. A piece that fits a line of its own starts the next line;
            # one that must break anyway starts here only after a short start (“2 × (1 − …”),
            # since less room means breaking it deeper.
            if current and (
                visual_width(body) <= width or visual_width(current + lead) > width / 4
            ):
                lines.append(current)
                current, lead = "", self._continuation(glue)
                if visual_width(lead + body) <= width:
                    current = lead + body
                    continue
            inner = self._wrap_piece(sub, width - visual_width(current + lead), glue)
            if len(inner) == 1:  # it cannot break: let it run over rather than lose it
                current += lead + inner[0]
                continue
            lines.extend([current + lead + inner[0], *inner[1:-1]])
            current = inner[-1]
        lines.append(current)
        return [line.strip() for line in lines if line.strip()]

    def _continuation(self, glue: str) -> str:
        # A product broken across lines shows its × again at the start of the next line.
        glue = glue.strip()
        return (glue or self.times.strip()) + " "

    def _pieces(self, expr) -> list[tuple[str, sympy.Expr]]:
        """Where ``expr`` may break: (glue before, part) for each term or factor."""
        if isinstance(expr, sympy.Add):
            out = []
            for i, (term, _) in enumerate(self.add_pieces(expr)):
                negative = _is_negative(term)
                if i == 0:
                    glue = self.minus if negative else ""
                else:
                    glue = f" {self.minus} " if negative else " + "
                out.append((glue, -term if negative else term))
            return out
        if isinstance(expr, sympy.MatMul):
            return []  # a matrix product groups its factors its own way: wrap_tex breaks its text
        if isinstance(expr, sympy.Mul):
            if _is_negative(expr):
                inner = -expr
                pieces = self._pieces(inner) if isinstance(inner, sympy.Mul) else []
                if not pieces:
                    return [(self.minus, inner)]
                return [(self.minus, pieces[0][1]), *pieces[1:]]
            factors = _factors(expr)
            below = [f for f in factors if f.is_Pow and f.exp.is_negative]
            if below:  # a fraction too wide for the line: numerator / (denominator)
                above = [f for f in factors if f not in below]
                bottom = [f.base if f.exp == -1 else f.base ** (-f.exp) for f in below]
                top = sympy.Mul(*above, evaluate=False) if len(above) > 1 else (above or [1])[0]
                denominator = sympy.Mul(*bottom, evaluate=False) if len(bottom) > 1 else bottom[0]
                return [("", sympy.sympify(top)), (DIVIDE, denominator)]
            out = []
            previous = None
            for factor in factors:
                if previous is None:
                    glue = ""
                elif self.values is not None:
                    glue = self.times
                else:
                    glue = self.juxtapose(previous, factor)
                out.append((glue, factor))
                previous = factor
            return out
        return []

    def _print_piece(self, expr, glue: str = "") -> str:
        text = self._print(expr)
        if precedence(expr) < PRECEDENCE["Mul"] or (glue == DIVIDE and isinstance(expr, sympy.Mul)):
            text = self.group(text)
        return text

    def _wrap_piece(self, expr, width, glue: str = "") -> list[str]:
        """A piece too wide for a line on its own: break inside it."""
        if isinstance(expr, sympy.Add) or (glue == DIVIDE and isinstance(expr, sympy.Mul)):
            inner = self.wrap(expr, width - 2)
            if len(inner) > 1:
                return [r"\bigl(" + inner[0], *inner[1:-1], inner[-1] + r"\bigr)"]
            return [self._print_piece(expr, glue)]
        return self.wrap(expr, width)

    def _wrap_inside(self, expr, width) -> list[str] | None:
        """A function of one long argument: ``\\sigma\\bigl(`` … ``\\bigr)``; a power of a
        long base: ``\\bigl(`` … ``\\bigr)^{2}``."""
        if isinstance(expr, sympy.Pow) and expr.exp.is_Integer and expr.exp > 1:
            if isinstance(expr.base, sympy.Add):
                inner = self._wrap_piece(expr.base, width - 1)
            else:
                inner = self._wrap_inside(expr.base, width - 1)
            if not inner or len(inner) < 2:
                return None
            return [*inner[:-1], f"{inner[-1]}^{{{self._print(expr.exp)}}}"]
        if not isinstance(expr, Application) or len(expr.args) != 1:
            return None
        rule = rule_for(expr)
        if rule is None or callable(rule.latex) or r"\left(#1\right)" not in rule.latex:
            return None
        head, tail = rule.latex.split(r"\left(#1\right)")
        inner = self.wrap(expr.args[0], width - 4)
        if len(inner) < 2:
            return None
        return [head + r"\bigl(" + inner[0], *inner[1:-1], inner[-1] + r"\bigr)" + tail]


_BREAKS = (" + ", " - ", r" \odot ", r" \times ", r"\,")
_OPENERS = (r"\left(", r"\left[", "(", "[")
_CLOSERS = (r"\right)", r"\right]", ")", "]")


def wrap_tex(text: str, width: float) -> list[str]:
    r"""Break printed TeX with no structure left to break by (a matrix formula): before a
    ``+``, ``−``, ``\odot``, ``\times`` or a matrix product's ``\,`` outside any braces,
    as shallow in the parentheses as will do; a ``\left(…\right)`` pair a break falls inside
    becomes ``\bigl(…\bigr)``, since ``\left`` cannot span lines."""
    if visual_width(text) > width:
        text = _inline_wide_fractions(text, width)
    candidates: list[tuple[int, int]] = []  # (position, parenthesis depth)
    pairs: dict[int, int] = {}
    stack: list[int] = []
    brace = i = 0
    while i < len(text):
        opener = next((o for o in _OPENERS if text.startswith(o, i)), None)
        closer = next((c for c in _CLOSERS if text.startswith(c, i)), None)
        if brace == 0 and i > 0 and any(text.startswith(b, i) for b in _BREAKS):
            candidates.append((i, len(stack)))
        if opener:
            stack.append(i)
            i += len(opener)
        elif closer:
            if stack:
                pairs[stack.pop()] = i
            i += len(closer)
        else:
            brace += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
    for depth in sorted({d for _, d in candidates}):
        chosen = _greedy(text, [p for p, d in candidates if d <= depth], width)
        lines = [text[a:b] for a, b in zip([0, *chosen], [*chosen, len(text)], strict=True)]
        if all(visual_width(line) <= width for line in lines) or depth == max(
            d for _, d in candidates
        ):
            return _unsized(text, chosen, pairs) if chosen else [text]
    return [text]


def _inline_wide_fractions(text: str, width: float) -> str:
    r"""``\frac{A}{B}`` too wide for a line, written ``(A) / (B)``: a stacked fraction cannot
    break, a written one can, inside its parentheses."""
    out, i = [], 0
    while True:
        start = text.find(r"\frac{", i)
        if start < 0:
            out.append(text[i:])
            return "".join(out)
        top_end = _closing_brace(text, start + 5)
        bottom_end = (
            _closing_brace(text, top_end + 1) if text[top_end + 1 : top_end + 2] == "{" else -1
        )
        if bottom_end < 0:
            out.append(text[i : start + 6])
            i = start + 6
            continue
        whole = text[start : bottom_end + 1]
        parts = text[start + 6 : top_end] + text[top_end + 2 : bottom_end]
        # written out only where that lets it break: ∂L/∂W stacked is narrower than inline
        if visual_width(whole) > width / 2 and any(b in parts for b in _BREAKS[:4]):
            top = _inline_wide_fractions(text[start + 6 : top_end], width)
            bottom = _inline_wide_fractions(text[top_end + 2 : bottom_end], width)
            if not re.fullmatch(r"[\w\\{}^]+", top):  # 1 − y needs parentheses, y does not
                top = rf"\left({top}\right)"
            whole = rf"{top}{DIVIDE}\left({bottom}\right)"
        out.append(text[i:start] + whole)
        i = bottom_end + 1


def _closing_brace(text: str, opening: int) -> int:
    """The index of the brace that closes the one at ``opening``."""
    depth = 0
    for k in range(opening, len(text)):
        depth += {"{": 1, "}": -1}.get(text[k], 0)
        if depth == 0:
            return k
    return len(text) - 1


def _greedy(text: str, positions: list[int], width: float) -> list[int]:
    chosen, start, last = [], 0, None
    for position in positions:
        if visual_width(text[start:position]) > width and last is not None:
            chosen.append(last)
            start = last
        last = position
    if visual_width(text[start:]) > width and last is not None and last != start:
        chosen.append(last)
    return chosen


def _unsized(text: str, breaks: list[int], pairs: dict[int, int]) -> list[str]:
    r"""The lines of ``text`` cut at ``breaks``, each ``\left``/``\right`` pair around a cut
    made ``\bigl``/``\bigr``."""
    replace = {}
    for opening, closing in pairs.items():
        if any(opening < cut < closing for cut in breaks) and text.startswith(r"\left", opening):
            replace[opening] = (r"\left", r"\bigl")
            replace[closing] = (r"\right", r"\bigr")
    out, i = [], 0
    for position in sorted(replace):
        old, new = replace[position]
        out.append(text[i:position] + new)
        i = position + len(old)
    out.append(text[i:])
    fixed = "".join(out)
    shift = {
        p: sum(len(replace[q][1]) - len(replace[q][0]) for q in replace if q < p) for p in breaks
    }
    cuts = [p + shift[p] for p in breaks]
    return [fixed[a:b].strip() for a, b in zip([0, *cuts], [*cuts, len(fixed)], strict=True)]


MIN_WIDTH = 12.0  # ems
DIVIDE = r" \bigm/ "  # a fraction too wide for a line, written numerator / (denominator)


def _tall(text: str) -> bool:
    """Whether typeset ``text`` is taller than a line of text (a fraction, a sized group)."""
    return any(tall in text for tall in (r"\frac", r"\left", r"\begin", r"\sum", r"\prod"))


_COMMAND = re.compile(r"\\([A-Za-z]+|.)")


def visual_width(tex: str) -> float:
    """About how wide ``tex`` typesets, in ems of the surrounding font: glyph widths of
    Computer Modern (digits ½ em, W almost 1 em), a fraction as wide as the wider of its two
    parts, sub- and superscripts at 70 %, the spaces TeX puts around operators and relations.
    An estimate, good enough to decide where a displayed formula must break."""
    width, _ = _width(tex, 0)
    return width


_INVISIBLE = {"left", "right", "bigl", "bigr", "Bigl", "Bigr", "text", "mathrm", "mathit"}
_INVISIBLE |= {"hat", "bar", "tilde", "vec", "dot", "ddot", "check"}
_BINARY = 1.2  # + − × with their medium spaces
_RELATION = 1.35  # = ← with their thick spaces
_COMMANDS = {"times": _BINARY, "cdot": _BINARY, "odot": _BINARY, "leftarrow": _RELATION}
_COMMANDS |= {"approx": _RELATION, "operatorname": 0.17}  # the thin space after sum, relu
_COMMANDS |= {"quad": 1.0, "qquad": 2.0, ",": 0.17, ";": 0.28, " ": 0.33, "!": -0.17}
_COMMANDS |= {"partial": 0.55, "log": 1.3, "exp": 1.5, "tanh": 2.0, "sin": 1.3, "cos": 1.4}
_COMMANDS |= {"infty": 1.0, "ldots": 1.2, "dots": 1.2, "sqrt": 0.9}


def _glyph(ch: str) -> float:
    if ch.isdigit():
        return 0.5
    if ch in ".,;:":
        return 0.45 if ch == "," else 0.28  # a comma in math is followed by a thin space
    if ch in "()[]|":
        return 0.39
    if ch.isupper():
        return 0.8
    return 0.55


def _group(tex: str, i: int) -> tuple[float, int]:
    """The width of the braced group (or single token) at ``tex[i]``; returns the index after."""
    while i < len(tex) and tex[i] == " ":
        i += 1
    if i >= len(tex):
        return 0.0, i
    if tex[i] == "{":
        return _width(tex, i + 1, closing=True)
    if tex[i] == "\\":
        match = _COMMAND.match(tex, i)
        return _COMMANDS.get(match.group(1), 0.6), match.end()
    return _glyph(tex[i]), i + 1


def _width(tex: str, i: int, closing: bool = False) -> tuple[float, int]:
    width = 0.0
    previous = ""  # the last glyph seen, to tell a leading minus from a binary one
    while i < len(tex):
        ch = tex[i]
        if ch == "}" and closing:
            return width, i + 1
        if ch == "{":
            inner, i = _width(tex, i + 1, closing=True)
            width += inner
            continue
        if ch in "_^":
            inner, i = _group(tex, i + 1)
            width += 0.7 * inner
            continue
        if ch == "\\":
            match = _COMMAND.match(tex, i)
            command = match.group(1)
            i = match.end()
            if command in ("frac", "dfrac"):
                top, i = _group(tex, i)
                bottom, i = _group(tex, i)
                width += max(top, bottom) + 0.3
            elif command not in _INVISIBLE:
                width += _COMMANDS.get(command, 0.6)  # a Greek letter or a symbol
            previous = "\\"
            continue
        if ch in " &":  # spaces are the printer's business; & only aligns
            i += 1
            continue
        # Operators and relations carry space either side; a leading minus does not.
        if ch in "+-" and not (ch == "-" and (not previous or previous in "({[=,")):
            width += _BINARY
        elif ch in "=<>":
            width += _RELATION
        else:
            width += _glyph(ch)
        previous = ch
        i += 1
    return width, i


# shape errors name their operands as the worked example writes them, (σ(X) − y) @ W
arrays.spell_operands_with(lambda expr: TextPrinter().doprint(expr))
