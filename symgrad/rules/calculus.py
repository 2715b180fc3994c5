"""The chain rule through one scalar formula, reading each operation's record.

``differentiate(expr, x)`` is what ``sympy.diff`` does, with the derivative of every function
taken from its record: textbook forms (σ(1 − σ) with σ the node), the conventions PyTorch uses at
kinks (relu'(0) = 0, a tie of max split in halves), and limits where SymPy's formula would give
NaN (∂xʸ/∂x = y·x^(y−1) at x = 0). A function without a record is refused by name.

``derive`` applies it to each node's own definition, whose parents are plain symbols, so the
formulas it sees stay small.
"""

from __future__ import annotations

import sympy
from sympy.core.function import Application

from ..errors import SymgradError
from .record import rule_for


def differentiate(expr, x, ans=None):
    """∂expr/∂x. ``ans``, when given, stands for the value of ``expr`` itself (a node's symbol),
    so the record of its outermost operation can write the textbook form."""
    return _Differentiator(x).of(sympy.sympify(expr), ans)


class _Differentiator:
    def __init__(self, x):
        self.x = x
        self.memo: dict = {}

    def of(self, expr, ans=None):
        if self.x not in expr.free_symbols:
            return sympy.S.Zero
        if expr == self.x:
            return sympy.S.One
        key = (expr, ans)
        if key not in self.memo:
            self.memo[key] = self._rule(expr, ans)
        return self.memo[key]

    def _rule(self, expr, ans):
        if isinstance(expr, sympy.Add):  # ∂(a + b) = ∂a + ∂b
            return sympy.Add(*[self.of(term) for term in expr.args])
        if isinstance(expr, sympy.Mul):  # ∂(ab) = ∂a·b + a·∂b
            terms = []
            for i, factor in enumerate(expr.args):
                if self.x in factor.free_symbols:
                    others = expr.args[:i] + expr.args[i + 1 :]
                    terms.append(sympy.Mul(*others) * self.of(factor))
            return sympy.Add(*terms)
        rule = rule_for(expr)
        if rule is None:
            raise SymgradError(_refusal(expr))
        if rule.through is not None:
            return rule.through(expr, self.of)
        if rule.derivative is None:
            raise SymgradError(f"symgrad has no derivative rule for {rule.name} ({expr})")
        partials = rule.partials(expr, ans if ans is not None else expr)
        terms = []
        for arg, partial in zip(expr.args, partials, strict=True):
            if isinstance(arg, sympy.Basic) and self.x in arg.free_symbols:
                terms.append(partial * self.of(arg))
        return sympy.Add(*terms)


def _refusal(expr) -> str:
    if isinstance(expr, Application):
        name = expr.func.__name__
        return (
            f"symgrad has no rule for the function {name} (in {expr}); declare it with "
            f"symgrad.primitive({name!r}, definition) in the model file"
        )
    if isinstance(expr, (sympy.core.relational.Relational, sympy.logic.boolalg.Boolean)):
        return f"the condition {expr} has no derivative; use it inside a Piecewise or where"
    return f"symgrad has no rule for {type(expr).__name__} ({expr}); it will not guess one"
