"""Printers for formulas that people read: the layout of sums, products, fractions and powers
is shared, and each surface (terminal text here) gives its own symbols.

Every printer has two modes. Symbolic prints a formula as written (``σ₃(1 − σ₃)``). Numeric,
given the values of the symbols, prints the same formula with each symbol replaced by its number
(``0.4154(1 − 0.4154)``), negative numbers in parentheses, products made explicit: the
substitution step of a worked example.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import sympy
from sympy.core.function import Application
from sympy.printing.precedence import PRECEDENCE, precedence
from sympy.printing.str import StrPrinter

from ..derivation import Partial
from ..names import text_name
from ..rules import rule_for, spell


def format_number(value, digits: int = 4) -> str:
    """A float as a worked example prints it: ``digits`` decimals, correctly rounded from the
    float64 value; integers without decimals; very small or large magnitudes in scientific
    notation so that no significant digit is lost to the fixed point."""
    value = float(value)
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    magnitude = abs(value)
    if magnitude < 10.0 ** -(digits - 1) or magnitude >= 1e6:
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

    def function(self, expr) -> str:
        rule = rule_for(expr)
        args = [self._print(arg) for arg in expr.args]
        spelling = self.spelling(rule) if rule is not None else None
        if spelling is None:
            return f"{expr.func.__name__}({', '.join(args)})"
        return spell(spelling, args)

    def spelling(self, rule):
        raise NotImplementedError

    def juxtapose(self, left: sympy.Expr, right: sympy.Expr) -> str:
        """The glue between two factors of a product in symbolic mode."""
        return self.times

    # --- the layout ------------------------------------------------------------------------

    def doprint(self, expr) -> str:
        expr = sympy.sympify(expr)
        if self.values is not None and isinstance(expr, sympy.Symbol):
            return self.number(self.values[expr.name])  # a lone value needs no parentheses
        return super().doprint(expr)

    def number(self, value) -> str:
        text = format_number(value, self.digits)
        return text.replace("-", self.minus)

    def _print(self, expr, **kwargs):
        if isinstance(expr, Application):
            return self.function(expr)
        return super()._print(expr, **kwargs)

    def _print_Symbol(self, expr):
        if self.values is not None and expr.name in self.values:
            text = self.number(self.values[expr.name])
            return self.group(text) if text.startswith(self.minus) else text
        if isinstance(expr, Partial):
            return self.partial(expr.of, expr.wrt)
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

    def _print_Add(self, expr, order=None):
        terms = self._as_ordered_terms(expr, order=order)
        if self._settings.get("order") != "none":
            # a − b rather than −b + a: positive terms first, each group in SymPy's order.
            terms = [t for t in terms if not _is_negative(t)] + [
                t for t in terms if _is_negative(t)
            ]
        out = ""
        for i, term in enumerate(terms):
            negative = _is_negative(term)
            text = self._print(-term if negative else term)
            if precedence(term) < PRECEDENCE["Add"] or (
                not negative and isinstance(term, sympy.Add)
            ):
                text = self.group(text)
            if i == 0:
                out = (self.minus + text) if negative else text
            else:
                out += f" {self.minus} {text}" if negative else f" + {text}"
        return out

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
                numerator.append(sympy.Integer(factor.p))
                denominator.append(sympy.Integer(factor.q))
            else:
                numerator.append(factor)
        top = self._product(numerator) if numerator else "1"
        if not denominator:
            return top
        bottom = self._product(denominator)
        return self.fraction(
            top,
            bottom,
            sum_above=_is_sum(numerator),
            product_below=len(denominator) > 1
            or _is_sum(denominator)
            or isinstance(denominator[0], sympy.Mul),
        )

    def _product(self, factors: list) -> str:
        out = ""
        previous = None
        for factor in factors:
            text = self._print(factor)
            if precedence(factor) < PRECEDENCE["Mul"]:
                text = self.group(text)
            if previous is None:
                out = text
            else:
                glue = self.times if self.values is not None else self.juxtapose(previous, factor)
                out += glue + text
            previous = factor
        return out

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
        text = self._print(base)
        needs_group = precedence(base) <= PRECEDENCE["Pow"] or text.startswith(self.minus)
        if isinstance(base, sympy.Symbol) and self.values is None:
            needs_group = False
        if needs_group and not text.startswith(self.group("")[0]):
            text = self.group(text)
        return self.power(text, self._print(exponent))


def _is_sum(factors: list) -> bool:
    return len(factors) == 1 and isinstance(factors[0], sympy.Add)


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


class TextPrinter(MathPrinter):
    """Unicode for the terminal: σ₁, ∂L/∂W₅, ·, −."""

    minus = "−"
    times = " · "

    def name(self, symbol):
        return text_name(symbol.name)

    def partial(self, of, wrt):
        return f"∂{text_name(of)}/∂{text_name(wrt)}"

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

    def juxtapose(self, left, right):
        if isinstance(left, Partial) or isinstance(right, Partial):
            return self.times
        if left.is_Number:
            return ""
        if _short(left) and (_short(right) or isinstance(right, sympy.Add)):
            return ""
        return "·"


def _short(expr) -> bool:
    """A symbol whose base is one letter (W₁, σ₃, x̂): safe to write next to another."""
    if not isinstance(expr, sympy.Symbol) or isinstance(expr, Partial):
        return False
    return len(text_name(expr.name).rstrip("₀₁₂₃₄₅₆₇₈₉ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ\u0302\u0304\u0303")) == 1
