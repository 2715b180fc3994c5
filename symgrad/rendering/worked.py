"""A worked example as data: the sections and equations a lecture would write, with their numbers.

Every surface (text, LaTeX, Markdown) and the graph picture print the same ``WorkedExample``;
none of them computes anything. The numbers come from one float64 evaluation of the generated
NumPy code (``trace``), so what is printed is what the compiled gradient computes, each chain
term of a sum over several consumers included. The only arithmetic done here is what a lecture
does by hand on top of those numbers: the update ``W − α ∂L/∂W``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial

import numpy as np
import sympy
from sympy.core.parameters import evaluate

from .. import progress
from ..budget import CLOSED_FORM_SECONDS, within
from ..codegen import term_name, trace_function
from ..derivation import Adjoint, ChainTerm, Derivation, Partial, SecondPartial
from ..domains import check_labels
from ..errors import SymgradError
from ..hessian_formula import hessian_formulas
from ..model import as_value
from ..rules import Primitive
from ..second_order import hessian
from ..tensors import Broadcast, add_arrays, elementwise, shape_of
from .printers import SMALL_MATRIX, is_small

SECTIONS = ("model", "forward", "loss", "backward", "update", "closed", "hessian", "hvp")
# what --only may choose: a section, or the table of gradients (printed after the backward pass)
PARTS = ("model", "forward", "loss", "backward", "gradients", "update", "closed", "hessian")


def check_only(only: str | None, example: WorkedExample) -> None:
    """``only`` names a part this worked example has, or is None (everything)."""
    if only is None:
        return
    if only not in PARTS:
        raise SymgradError(f"--only {only}: choose one of {', '.join(PARTS)}")
    has = {s.key for s in example.sections if s.equations} | {"model", "gradients"}
    if only == "hessian":
        has.discard("hvp")
        has |= {"hessian"} if {"hessian", "hvp"} & {s.key for s in example.sections} else set()
    if only not in has:
        asks = {"update": "--lr", "closed": "--closed-form", "hessian": "--hessian"}.get(only)
        raise SymgradError(
            f"--only {only}: this worked example has no such part"
            + (f" (add {asks})" if asks else "")
        )


def shows(only: str | None, key: str) -> bool:
    """Whether a surface prints the part ``key`` (a Hessian-vector section counts as hessian)."""
    return only is None or only == key or (only == "hessian" and key == "hvp")


HESSIAN_ENTRIES = 6  # variables up to which each second derivative is written out
HESSIAN_MATRIX = 10  # variables up to which the Hessian is shown as a matrix (bmatrix's limit)
# for simplifying all the closed forms of one example (a test on a loaded machine sets more)
HVP_FORMULA_OPS = 40  # operations up to which a Hessian-vector product's formula is written out


@dataclass(frozen=True)
class Equation:
    """``lhs relation forms… = numeric… = value``. ``numeric`` forms are printed with every
    symbol replaced by its value; ``keep_order`` keeps a chain's terms in the order they were
    built. ``relation`` is ``=`` or ``←`` (an update)."""

    lhs: sympy.Symbol
    forms: tuple[sympy.Expr, ...]
    numeric: tuple[sympy.Expr, ...] = ()
    value: object | None = None
    keep_order: bool = False
    relation: str = "="
    shape: tuple[int, ...] | None = None  # a matrix quantity's: shown as ∈ ℝ^{r×c}
    # the first form is the author's (x·w as the model file writes it, not SymPy's w·x); its
    # numbers too when it is the only form
    as_written: bool = False


@dataclass(frozen=True)
class Section:
    """``values``: the numbers of this section's substitutions when they are not the example's
    (the update uses the gradients reduced over the batch)."""

    key: str  # one of SECTIONS
    equations: tuple[Equation, ...]
    values: Mapping[str, object] | None = None
    unsimplified: tuple[str, ...] = ()  # closed forms SymPy did not simplify in time
    omitted: tuple[str, ...] = ()  # formulas too long to read, left out (their values shown)


@dataclass(frozen=True)
class GradientRow:
    """One line of the gradient table: ∂L/∂name, its value and, with a learning rate, the
    variable's value after one step. ``formula`` is the gradient in terms of the named nodes,
    shown where there are no numbers."""

    name: str
    symbol: Partial
    formula: sympy.Expr
    value: object | None
    updated: object | None
    keep_order: bool = False  # a sum over consumers, in their order


@dataclass(frozen=True)
class WorkedExample:
    derivation: Derivation
    point: Mapping[str, object] | None
    values: Mapping[str, object] | None  # every named quantity by its code name
    loss: object | None  # the reduced loss
    gradients: Mapping[str, object] | None  # reduced over the batch
    sections: tuple[Section, ...]
    gradient_table: tuple[GradientRow, ...] = ()
    learning_rate: float | None = None
    rate_symbol: sympy.Symbol | None = None

    @property
    def batched(self) -> bool:
        """A scalar model evaluated on arrays (a tensor model's arrays are its matrices)."""
        if self.derivation.is_tensor:
            return False
        return self.values is not None and any(getattr(v, "ndim", 0) for v in self.values.values())

    def section(self, key: str) -> Section | None:
        return next((s for s in self.sections if s.key == key), None)


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
    check_labels(derivation, point, "the point")
    return {name: point[name] for name in derivation.arguments}


def worked_example(
    derivation: Derivation,
    at: Mapping[str, object] | None = None,
    *,
    symbolic: bool = False,
    lr: float | None = None,
    closed_form: bool = False,
    hessian: bool = False,
) -> WorkedExample:
    """Lay out the derivation; with a point (the example, overridden by ``at``) add numbers.

    ``lr`` adds the update ``W ← W − α ∂L/∂W`` of every variable in ``wrt``; ``closed_form``
    adds each gradient with every node substituted and simplified.
    """
    if lr is not None and not (isinstance(lr, (int, float)) and math.isfinite(lr)):
        raise SymgradError(f"the learning rate must be a finite number, got {lr!r}")
    has_point = bool(derivation.example) or bool(at)
    if symbolic or not has_point:
        point = values = loss = gradients = None
    else:
        point = point_for(derivation, at)
        progress.report("working the example", 0, 3)
        with np.errstate(all="ignore"):  # an undefined point is said below, in one line
            loss, gradients, named = trace_function(derivation)(**point)
        values = {**point, **named}  # every chain term of a sum included
        _check_defined(derivation, point, values)
        _check_differentiable(derivation, gradients)
    numeric = values is not None and not any(getattr(v, "ndim", 0) for v in values.values())

    def value(name: str):
        """A value to print: a number, a batch, a small matrix (a large one is its shape)."""
        if values is None:
            return None
        shown = values[name]
        if np.ndim(shown) == 2 and not is_small(shown):
            return None
        return shown

    def numbers(*forms):
        return tuple(forms) if numeric else ()

    progress.report("working the example", 1, 3)
    definitions, forward, loss_section = _forward(derivation, value, numbers)
    progress.report("working the example", 2, 3)
    backward = _backward(derivation, value, numbers)
    sections = [
        Section("model", tuple(definitions)),
        Section("forward", tuple(forward)),
        Section("loss", tuple(loss_section)),
        Section("backward", tuple(backward)),
    ]
    rate = _rate_symbol(derivation) if lr is not None else None
    updated: dict[str, object] = {}
    if lr is not None:
        section, updated = _update(derivation, point, gradients, lr, rate)
        sections.append(section)
    if closed_form:
        sections.append(_closed_forms(derivation, values, CLOSED_FORM_SECONDS))
    if hessian:
        sections.append(_hessian(derivation, point))
    table = tuple(
        GradientRow(
            name,
            derivation.adjoint(name).symbol,
            written_out(derivation.adjoint(name)),
            None if gradients is None else gradients[name],
            updated.get(name),
            keep_order=len(derivation.adjoint(name).terms) > 1,
        )
        for name in derivation.wrt
    )
    return WorkedExample(
        derivation, point, values, loss, gradients, tuple(sections), table, lr, rate
    )


def _forward(derivation: Derivation, value, numbers):
    """The model's definitions, then each node as definition = numbers = value."""
    definitions, forward, loss_section = [], [], []
    for node in derivation.nodes:
        shape = node.shape or None
        written = node.written is not None
        definition = node.written if written else node.expr
        definitions.append(Equation(node.symbol, (definition,), shape=shape, as_written=written))
        forms = [definition]
        expanded = expand_definitions(node.expr)
        if expanded != node.expr:
            forms.append(expanded)
        shown = numbers(forms[-1]) if not node.expr.is_Symbol else ()
        equation = Equation(
            node.symbol, tuple(forms), shown, value(node.name), shape=shape, as_written=written
        )
        (loss_section if node.is_loss else forward).append(equation)
    return definitions, forward, loss_section


def _backward(derivation: Derivation, value, numbers) -> list[Equation]:
    """From the loss back: each adjoint's local gradients, then the adjoint as its chain."""
    backward = []
    for adjoint in derivation.adjoints:
        if adjoint.is_loss:
            continue
        for term in adjoint.terms:
            local = term.local
            if local.symbol is None:
                continue
            trivial = local.expr.is_Symbol or local.expr.is_Number
            form = textbook(local.expr)
            backward.append(
                Equation(
                    local.symbol,
                    (form,),
                    () if trivial else numbers(form),
                    value(local.symbol.name),
                )
            )
        chain = chain_of(adjoint)
        single_local = len(adjoint.terms) == 1 and adjoint.terms[0].upstream is None
        shown = numbers(chain) if adjoint.terms and not chain.is_Symbol else ()
        if len(adjoint.terms) > 1 and shown:
            # A sum over several consumers, term by term: each product, then their sum.
            shown += (
                sympy.Add(*[_term_symbol(adjoint, t) for t in adjoint.terms], evaluate=False),
            )
        backward.append(
            Equation(
                adjoint.symbol,
                (chain,) if adjoint.terms else (sympy.S.Zero,),
                shown,
                value(adjoint.symbol.name),
                keep_order=not single_local,
                shape=shape_of(adjoint.symbol) or None,
            )
        )
    return backward


def textbook(expr: sympy.Expr) -> sympy.Expr:
    """A local gradient with its common factor taken out, as a textbook writes it: 2(ŷ − y),
    not the 2ŷ − 2y SymPy expands it to. Kept unevaluated, so the numbers go in as written."""
    if not isinstance(expr, sympy.Add) or isinstance(expr, sympy.MatrixExpr):
        return expr
    factored = sympy.factor_terms(expr)
    if factored == expr or sympy.count_ops(factored) > sympy.count_ops(expr):
        return expr
    return factored


def chain_of(adjoint: Adjoint) -> sympy.Expr:
    """∂L/∂n as the lecture writes it: Σ ∂L/∂c · ∂c/∂n, in consumer order, unevaluated. A
    matrix share is its pullback as written (Xᵀ(∂L/∂H ⊙ 𝟙[XW₁ > 0]))."""
    terms = []
    for term in adjoint.terms:
        local = term.local
        if term.upstream is None or local.pullback:
            terms.append(textbook(local.expr))
        else:
            factor = local.symbol if local.symbol is not None else local.expr
            terms.append(sympy.Mul(term.upstream, factor, evaluate=False))
    return _sum_of(adjoint, terms)


def _sum_of(adjoint: Adjoint, terms: list) -> sympy.Expr:
    if not terms:
        return sympy.S.Zero
    if len(terms) == 1:
        return terms[0]
    if len(shape_of(adjoint.symbol)) == 2:
        return sympy.MatAdd(*terms)  # unevaluated: the terms in consumer order
    if shape_of(adjoint.symbol):
        return add_arrays(adjoint.symbol, terms)
    return sympy.Add(*terms, evaluate=False)


def written_out(adjoint: Adjoint) -> sympy.Expr:
    """∂L/∂n with each local gradient written out: Σ ∂L/∂c · (∂c/∂n as a formula)."""
    terms = []
    for term in adjoint.terms:
        if term.upstream is None or term.local.pullback:
            terms.append(term.local.expr)
        elif term.local.expr == 1:  # ∂L/∂z₁ · 1 is ∂L/∂z₁
            terms.append(term.upstream)
        else:
            terms.append(sympy.Mul(term.upstream, term.local.expr, evaluate=False))
    return _sum_of(adjoint, terms)


def expand_definitions(expr: sympy.Expr) -> sympy.Expr:
    """Write symgrad's primitives out by their definitions, as typed: σ(z) → 1/(1 + e^(−z))."""
    if not any(isinstance(e, Primitive) and e.rule.expand for e in sympy.preorder_traversal(expr)):
        return expr  # nothing to write out: evaluate(False) empties SymPy's caches
    with evaluate(False):
        return expr.replace(
            lambda e: isinstance(e, Primitive) and e.rule.expand,
            lambda e: e.rule.definition(*e.args),
        )


def term_value(adjoint: Adjoint, term: ChainTerm, values: Mapping[str, object]) -> object:
    """The gradient one consumer sends back into ``adjoint`` (∂L/∂consumer · ∂consumer/∂n, or
    a matrix pullback), as the trace of the generated code computed it."""
    if len(adjoint.terms) == 1:
        return values[adjoint.symbol.name]
    return values[term_name(adjoint, term)]


def _term_symbol(adjoint: Adjoint, term: ChainTerm) -> sympy.Symbol:
    return sympy.Symbol(term_name(adjoint, term))


def _rate_symbol(derivation: Derivation) -> sympy.Symbol:
    """α, unless the model uses that name already."""
    taken = {v.name for v in derivation.variables} | {n.name for n in derivation.nodes}
    name = next(n for n in ("alpha", "eta", "lr", "learning_rate") if n not in taken)
    return sympy.Symbol(name)


def _update(derivation, point, gradients, lr, rate):
    """``W ← W − α ∂L/∂W`` for every variable in ``wrt``, with numbers where there are any."""
    values: dict[str, object] = {rate.name: lr}
    updated: dict[str, object] = {}
    equations = []
    for name in derivation.wrt:
        symbol = derivation.symbol(name)
        partial = derivation.adjoint(name).symbol
        if shape_of(symbol):  # a matrix: W − α ∂L/∂W entry by entry
            step = elementwise(lambda w, a, g: w - a * g, symbol, rate, partial)
        else:
            step = sympy.Add(symbol, -sympy.Mul(rate, partial, evaluate=False), evaluate=False)
        numeric: tuple = ()
        new = None
        if gradients is not None:
            values[name], values[partial.name] = point[name], gradients[name]
            new = np.subtract(point[name], np.multiply(lr, gradients[name]))
            updated[name] = new
            scalar = not np.ndim(point[name]) and not np.ndim(gradients[name])
            numeric = (step,) if scalar else ()
        shown = new if new is None or np.ndim(new) != 2 or is_small(new) else None
        equations.append(Equation(symbol, (step,), numeric, shown, keep_order=True, relation="←"))
    return Section("update", tuple(equations), values), updated


def _hessian(derivation: Derivation, point) -> Section:
    """The second derivatives of a scalar model: each entry (up to ``HESSIAN_ENTRIES``
    variables) in terms of the forward nodes, and the matrix with its numbers. Derived by
    deriving the backward pass again (``symgrad.hessian``); evaluated by its generated code."""
    order = hessian(derivation)
    if derivation.is_tensor:
        return _hessian_vector_products(order, point)
    wrt = derivation.wrt
    matrix = None if point is None else order.compile().hessian(**point)
    if matrix is not None and np.ndim(matrix) != 2:
        matrix = None
    equations = []
    loss = derivation.loss.name
    if len(wrt) <= HESSIAN_ENTRIES:
        for i, row in enumerate(wrt):
            for j, col in enumerate(wrt[i:], start=i):
                value = None if matrix is None else matrix[i, j]
                entry = order.entry(row, col)
                equations.append(Equation(SecondPartial(loss, row, col), (entry,), (), value))
    if len(wrt) <= HESSIAN_MATRIX and matrix is not None:  # rows and columns in wrt order
        equations.append(Equation(SecondPartial(loss), (), (), matrix))
    return Section("hessian", tuple(equations))


def _hessian_vector_products(order, point) -> Section:
    """What symgrad knows of a tensor model's second order. Its Hessian has a row and a column
    per entry of the variables, so it is not written out; its product with a direction v is:
    the backward pass, derived again with the loss Hv = ⟨v, ∇L⟩, gives ∂Hv/∂W = (∇²L v)_W.
    Shown: the direction (every entry 1), Hv, and each ∂Hv/∂W in terms of the forward nodes,
    the first backward pass and v (where that formula is short: substituted, it repeats what
    the chain shares, and soon runs over many lines), with its value."""
    from ..second_order import direction_name

    first, second = order.first, order.second
    # The backward-pass model names ∂L/∂z as a node "dL_dz": print it as the partial it is.
    readable = {
        second.symbol(a.symbol.name): a.symbol
        for a in first.adjoints
        if not a.is_loss and a.symbol.name in {n.name for n in second.nodes}
    }
    equations = []
    products: dict = {}
    if point is not None:
        directions = {
            direction_name(name): np.ones(first.variable(name).shape) for name in first.wrt
        }
        directional, products = order.compile().compiled(**point, **directions)
        for name in first.wrt:
            v = second.symbol(direction_name(name))
            shape = shape_of(v)
            ones = (
                (sympy.OneMatrix(*shape) if len(shape) == 2 else Broadcast(1, shape))
                if shape
                else sympy.S.One
            )
            equations.append(Equation(v, (ones,), shape=shape or None))
    hv = second.loss
    equations.append(
        Equation(
            hv.symbol,
            (hv.expr.xreplace(readable),),
            value=None if point is None else directional,
        )
    )
    omitted = []
    for name in first.wrt:
        adjoint = second.adjoint(name)
        formula = second._in_nodes(name).xreplace(readable)
        forms = (formula,) if sympy.count_ops(formula) <= HVP_FORMULA_OPS else ()
        if not forms:
            omitted.append(adjoint.symbol)
        value = products.get(name)
        if value is not None and np.ndim(value) == 2 and not is_small(value):
            value = None
        shape = shape_of(adjoint.symbol) or None
        equations.append(Equation(adjoint.symbol, forms, value=value, shape=shape))
    sizes = [int(np.prod(first.variable(name).shape or ())) for name in first.wrt]
    formulas = hessian_formulas(order)
    # the matrix (over the flattened entries, in closed form) where its numbers are shown: in
    # full, or block by block beside the formulas
    shown = sum(sizes) <= HESSIAN_MATRIX or (formulas and max(sizes) <= SMALL_MATRIX[0])
    matrix = order.compile().hessian(**point) if point is not None and shown else None
    if formulas is not None:
        equations += _hessian_blocks(order, formulas, matrix, sizes, readable)
    if matrix is not None and sum(sizes) <= HESSIAN_MATRIX:  # small enough to read
        equations.append(Equation(SecondPartial(first.loss.name), (), (), matrix))
    return Section("hvp", tuple(equations), omitted=tuple(omitted))


def _hessian_blocks(order, formulas, matrix, sizes: list[int], readable) -> list[Equation]:
    """Each block ∂²L/∂a∂b of a tensor model's Hessian as a formula, where its variables are
    vectors or numbers (``hessian_formulas``: Xᵀ(c ⊙ X) + λI for logistic regression), with
    its numbers where they are few."""
    wrt, loss = order.first.wrt, order.first.loss.name
    offsets = np.cumsum([0, *sizes])
    equations = []
    for i, row in enumerate(wrt):
        for j, col in enumerate(wrt[i:], start=i):
            value = None
            if matrix is not None:
                value = matrix[offsets[i] : offsets[i + 1], offsets[j] : offsets[j + 1]]
                value = value.item() if value.size == 1 else value
                if np.ndim(value) == 2 and not is_small(value):
                    value = None
            shape = (sizes[i], sizes[j]) if sizes[i] * sizes[j] > 1 else None
            formula = formulas[row, col].xreplace(readable)
            equations.append(
                Equation(SecondPartial(loss, row, col), (formula,), (), value, shape=shape)
            )
    return equations


def _closed_forms(derivation: Derivation, values, seconds: float) -> Section:
    """Each gradient in the variables alone. It is one sample's, like the backward pass, so its
    value is the per-sample adjoint (the gradient table gives the reduction over a batch).

    SymPy's simplify can take minutes on a modest formula (tanh and σ of one sum: 40 s for three
    inputs), so all of them share a budget of ``seconds``; a form not simplified within it is
    shown as substituted, and the section says which."""
    deadline = time.monotonic() + seconds
    equations, unsimplified = [], []
    for name in derivation.wrt:
        # SymPy's simplify is for scalars; a matrix formula is shown substituted
        remaining = deadline - time.monotonic()
        form = None if derivation.is_tensor else _simplified(derivation, name, remaining)
        if form is None:
            form = derivation.closed_form(name)
            if not derivation.is_tensor:  # a matrix form is never simplified, not late
                unsimplified.append(name)
        symbol = derivation.adjoint(name).symbol
        value = None if values is None else values[symbol.name]
        if np.ndim(value) == 2 and not is_small(value):
            value = None
        equations.append(Equation(symbol, (form,), (), value, shape=shape_of(symbol) or None))
    return Section("closed", tuple(equations), unsimplified=tuple(unsimplified))


def _check_defined(derivation: Derivation, point: Mapping, values: Mapping) -> None:
    """A worked example of NaNs teaches nothing: name the first quantity that is not a finite
    number at the point, and what it is made of there."""
    for name, value in point.items():
        if not np.all(np.isfinite(value)):
            raise SymgradError(f"the point gives {name} = {_shown(value)}; give finite numbers")
    for node in derivation.nodes:
        value = values[node.name]
        if np.all(np.isfinite(value)):
            continue
        reads = sorted(s.name for s in node.expr.free_symbols if s.name in values)
        given = ", ".join(f"{r} = {_shown(values[r])}" for r in reads if np.ndim(values[r]) == 0)
        formula = "" if derivation.is_tensor else f" = {node.expr}"
        raise SymgradError(
            f"{node.name}{formula} is {_shown(value)} at this point"
            + (f" ({given})" if given else "")
            + "; the loss is not defined there: choose another point (--at NAME=VALUE)"
        )


def _check_differentiable(derivation: Derivation, gradients: Mapping) -> None:
    """A finite loss with a gradient that is not: say so in one line, not in NaNs."""
    for name in derivation.wrt:
        if not np.all(np.isfinite(gradients[name])):
            raise SymgradError(
                f"∂{derivation.loss.name}/∂{name} is {_shown(gradients[name])} at this point, "
                "where the loss is finite: it is not differentiable there, or a rule divides by "
                "0 there (cumprod and prod at an entry of exactly 0 do); choose another point"
            )


def _shown(value) -> str:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 0:
        return f"{float(array):g}"
    bad = array[~np.isfinite(array)]
    return f"{bad[0]:g} in an array of shape {array.shape}" if bad.size else "finite"


def _simplified(derivation: Derivation, name: str, seconds: float) -> sympy.Expr | None:
    """``derivation.closed_form(name, simplify=True)`` if it is done within ``seconds``."""
    return within(seconds, partial(derivation.closed_form, simplify=True), name)
