"""A worked example as data: the sections and equations a lecture would write, with their numbers.

Every surface (text, LaTeX, Markdown) prints the same ``WorkedExample``; none of them computes
anything. The numbers come from one float64 evaluation of the generated NumPy code (``trace``),
so what is printed is what the compiled gradient computes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sympy
from sympy.core.parameters import evaluate

from ..codegen import compile
from ..derivation import Derivation
from ..errors import SymgradError
from ..model import as_value
from ..rules import Primitive


@dataclass(frozen=True)
class Equation:
    """``lhs = forms… = numeric… = value``. ``numeric`` forms are printed with every symbol
    replaced by its value; ``keep_order`` keeps a chain's terms in the order they were built."""

    lhs: sympy.Symbol
    forms: tuple[sympy.Expr, ...]
    numeric: tuple[sympy.Expr, ...] = ()
    value: object | None = None
    keep_order: bool = False


@dataclass(frozen=True)
class Section:
    key: str  # "forward", "loss", "backward"
    equations: tuple[Equation, ...]


@dataclass(frozen=True)
class WorkedExample:
    derivation: Derivation
    point: Mapping[str, object] | None
    values: Mapping[str, object] | None  # every named quantity by its code name
    loss: object | None  # the reduced loss
    gradients: Mapping[str, object] | None  # reduced over the batch
    sections: tuple[Section, ...]

    @property
    def batched(self) -> bool:
        return self.values is not None and any(getattr(v, "ndim", 0) for v in self.values.values())


def point_for(derivation: Derivation, at: Mapping[str, object] | None = None) -> dict:
    """The example point with ``at`` laid over it; every argument checked and present."""
    point = dict(derivation.example)
    for name, value in (at or {}).items():
        if name not in {v.name for v in derivation.variables}:
            raise SymgradError(
                f"{name!r} is not an input or parameter of model {derivation.model!r} "
                f"(it has {', '.join(v.name for v in derivation.variables)})"
            )
        point[name] = as_value(value, f"the value of {name!r}")
    missing = [name for name in derivation.arguments if name not in point]
    if missing:
        name = missing[0]
        user = next(
            (n.name for n in derivation.nodes if derivation.symbol(name) in n.expr.free_symbols),
            None,
        )
        needed = (
            f", needed by {user!r}" if user else f", needed for ∂{derivation.loss.name}/∂{name}"
        )
        raise SymgradError(
            f"the point of model {derivation.model!r} has no value for {name!r}{needed} "
            f"(give it in m.example or with --at {name}=VALUE)"
        )
    return {name: point[name] for name in derivation.arguments}


def worked_example(
    derivation: Derivation, at: Mapping[str, object] | None = None, *, symbolic: bool = False
) -> WorkedExample:
    """Lay out the derivation; with a point (the example, overridden by ``at``) add numbers."""
    has_point = bool(derivation.example) or bool(at)
    if symbolic or not has_point:
        point = values = loss = gradients = None
    else:
        point = point_for(derivation, at)
        trace = compile(derivation, "numpy").trace(**point)
        values = {**point, **trace.values}
        loss, gradients = trace.loss, trace.gradients
    numeric = values is not None and not any(getattr(v, "ndim", 0) for v in values.values())

    def value(name: str):
        return None if values is None else values[name]

    def numbers(*forms):
        return tuple(forms) if numeric else ()

    forward, loss_section, backward = [], [], []
    for node in derivation.nodes:
        forms = [node.expr]
        expanded = expand_definitions(node.expr)
        if expanded != node.expr:
            forms.append(expanded)
        shown = numbers(forms[-1]) if not node.expr.is_Symbol else ()
        equation = Equation(node.symbol, tuple(forms), shown, value(node.name))
        (loss_section if node.is_loss else forward).append(equation)

    for adjoint in derivation.adjoints:
        if adjoint.is_loss:
            continue
        for term in adjoint.terms:
            local = term.local
            if local.symbol is None:
                continue
            trivial = local.expr.is_Symbol or local.expr.is_Number
            backward.append(
                Equation(
                    local.symbol,
                    (local.expr,),
                    () if trivial else numbers(local.expr),
                    value(local.symbol.name),
                )
            )
        chain = chain_of(adjoint)
        single_local = len(adjoint.terms) == 1 and adjoint.terms[0].upstream is None
        backward.append(
            Equation(
                adjoint.symbol,
                (chain,) if adjoint.terms else (sympy.S.Zero,),
                numbers(chain) if adjoint.terms and not chain.is_Symbol else (),
                value(adjoint.symbol.name),
                keep_order=not single_local,
            )
        )

    sections = (
        Section("forward", tuple(forward)),
        Section("loss", tuple(loss_section)),
        Section("backward", tuple(backward)),
    )
    return WorkedExample(derivation, point, values, loss, gradients, sections)


def chain_of(adjoint) -> sympy.Expr:
    """∂L/∂n as the lecture writes it: Σ ∂L/∂c · ∂c/∂n, in consumer order, unevaluated."""
    terms = []
    for term in adjoint.terms:
        local = term.local
        if term.upstream is None:
            terms.append(local.expr)
        else:
            factor = local.symbol if local.symbol is not None else local.expr
            terms.append(sympy.Mul(term.upstream, factor, evaluate=False))
    return terms[0] if len(terms) == 1 else sympy.Add(*terms, evaluate=False)


def written_out(adjoint) -> sympy.Expr:
    """∂L/∂n with each local gradient written out: Σ ∂L/∂c · (∂c/∂n as a formula)."""
    terms = [
        term.local.expr
        if term.upstream is None
        else sympy.Mul(term.upstream, term.local.expr, evaluate=False)
        for term in adjoint.terms
    ]
    if not terms:
        return sympy.S.Zero
    return terms[0] if len(terms) == 1 else sympy.Add(*terms, evaluate=False)


def expand_definitions(expr: sympy.Expr) -> sympy.Expr:
    """Write symgrad's primitives out by their definitions, as typed: σ(z) → 1/(1 + e^(−z))."""
    with evaluate(False):
        return expr.replace(
            lambda e: isinstance(e, Primitive) and e.rule.definition is not None,
            lambda e: e.rule.definition(*e.args),
        )
