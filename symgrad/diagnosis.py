"""What a disagreement means: the pattern of a wrong gradient, where in the chain it enters, and
whether a point sits on a kink.

The verifier (``symgrad.verify``) finds *that* a claimed gradient differs from the symbolic
one; this module says *how*: ``off by ×2``, ``sign flipped``, ``transposed``, ``missing term``,
and the first node, in backward order, whose adjoint is wrong. Patterns are tested as
hypotheses: each is a changed derivation, compiled and evaluated at the same points, and a
hypothesis is reported only when it reproduces every claimed gradient there.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import sympy
from sympy.core.function import Application

from .arrays import show_shape
from .codegen import compile
from .derivation import Adjoint, ChainTerm, Derivation
from .rules import rule_for
from .tensors import Elementwise

# --- patterns between two arrays ----------------------------------------------------------------

# the largest relative error of a float32 computation of a well-conditioned gradient: a few
# hundred of float32's 6e-8 (a difference this small in float64 is the claim's dtype)
FLOAT32_ROUNDING = 1e-4


def simple_fraction(k: float) -> Fraction | None:
    """k as a fraction a person would write (2, 1/2, 3/4, 32), when it is one."""
    if not np.isfinite(k):
        return None
    fraction = Fraction(k).limit_denominator(16)
    if abs(float(fraction) - k) <= 1e-6 * max(1.0, abs(k)) and abs(fraction.numerator) <= 4096:
        return fraction
    return None


def ratio_text(k: float) -> str:
    """×2, ×1/2, ×32, ×1.0073 as a person would write the factor."""
    fraction = simple_fraction(k)
    if fraction is not None:
        if fraction.denominator == 1:
            return f"×{fraction.numerator}"
        return f"×{fraction.numerator}/{fraction.denominator}"
    return f"×{k:.5g}"


def array_pattern(claimed: np.ndarray, expected: np.ndarray, close: Callable) -> str | None:
    """A pattern relating a wrong gradient to the right one, judged by ``close(a, b)`` (the
    verifier's tolerance): transposed, sign flipped, off by a constant factor, zero, or a few
    wrong entries."""
    if claimed.shape != expected.shape:
        if claimed.ndim == 2 and claimed.T.shape == expected.shape and close(claimed.T, expected):
            return "transposed"
        if claimed.size == expected.size and close(claimed.reshape(expected.shape), expected):
            return f"reshaped: shape {claimed.shape} where {expected.shape} belongs"
        return f"wrong shape: {claimed.shape} where {expected.shape} belongs"
    square = expected.ndim == 2 and expected.shape[0] == expected.shape[1] > 1
    if square and close(claimed.T, expected) and not close(claimed, expected):
        return "transposed"
    if not np.any(claimed) and np.any(expected):
        return "zero where the gradient is not (nothing flows back)"
    if np.any(expected):
        k = float(np.vdot(claimed, expected) / np.vdot(expected, expected))
        # one number is always some multiple of another: a factor says something only when it
        # is a simple one, or when it holds over several entries (or points)
        telling = simple_fraction(k) is not None or np.count_nonzero(expected) > 1
        if simple_fraction(k) == 1:  # "off by ×1" says nothing; rounding may say something
            error = float(np.max(np.abs(claimed - expected)) / np.max(np.abs(expected)))
            if error <= FLOAT32_ROUNDING:
                return (
                    f"float32 rounding (relative error {error:.1e}): the claim computes in "
                    "float32 and is judged in float64; rerun with --dtype float32"
                )
        elif np.isfinite(k) and k != 0 and telling and close(claimed, k * expected):
            if abs(k + 1) <= 1e-6:
                return "sign flipped"
            return f"off by {ratio_text(k)}"
    wrong = ~close(claimed, expected, entrywise=True)
    if 0 < wrong.sum() <= max(1, expected.size // 100) and expected.size > 1:
        n = int(wrong.sum())
        return (
            f"{n} of {expected.size} entries wrong"
            if n > 1
            else f"1 of {expected.size} entries wrong"
        )
    return None


def summed_axes(
    contributions: np.ndarray, claimed: np.ndarray, expected: np.ndarray, close: Callable
) -> str | None:
    """A broadcast variable's gradient summed over the wrong axes: ``contributions`` holds what
    each entry of the broadcast copy adds (the right gradient sums it over the broadcast axes);
    the claim sums it over other axes (``sum(axis=1)`` where ``axis=0`` belongs)."""
    axes = range(contributions.ndim)
    sums = {}
    for k in range(1, contributions.ndim + 1):
        for subset in itertools.combinations(axes, k):
            total = contributions.sum(axis=subset)
            if total.size == expected.size:
                sums[subset] = total.reshape(expected.shape)
    right = [s for s, total in sums.items() if close(total, expected)]
    wrong = [s for s, total in sums.items() if s not in right and close(total, claimed)]
    if not right or not wrong:
        return None

    def axis(subset):
        return f"axis {subset[0]}" if len(subset) == 1 else f"axes {subset}"

    return (
        f"summed over the wrong axis: {axis(wrong[0])} of its {show_shape(contributions.shape)} "
        "broadcast, "
        f"where the gradient sums over {axis(right[0])}"
    )


# --- hypotheses: changed derivations -----------------------------------------------------------


@dataclass(frozen=True)
class Hypothesis:
    node: str  # whose adjoint the change makes wrong first
    pattern: str
    derivation: Derivation


def hypotheses(derivation: Derivation, ratios: Sequence[float] = ()) -> list[Hypothesis]:
    """Changed derivations, one mistake each, in backward order of the node they change: the
    adjoint of a node scaled (sign flipped, or by a factor seen in the claim), or one chain
    term of a sum left out."""
    out = []
    # a factor is a hypothesis only when a person would write it (×2, ×1/2, ×3): any two
    # numbers differ by some factor, so a fitted one would explain everything at one point
    simple = (float(f) for r in ratios if (f := simple_fraction(r)) is not None)
    factors = [-1.0] + [k for k in dict.fromkeys(simple) if k not in (-1, 0, 1)]
    for adjoint in derivation.adjoints[1:]:  # not the loss itself
        if not adjoint.terms:
            continue
        for k in factors:
            pattern = "sign flipped" if k == -1 else f"off by {ratio_text(k)}"
            out.append(Hypothesis(adjoint.name, pattern, _scaled(derivation, adjoint, k)))
        if len(adjoint.terms) > 1:
            for i, term in enumerate(adjoint.terms):
                pattern = (
                    f"missing term: ∂{derivation.loss.name}/∂{adjoint.name} lacks the path "
                    f"through {term.consumer}"
                )
                out.append(Hypothesis(adjoint.name, pattern, _dropped(derivation, adjoint, i)))
    return out


def _replace_adjoint(derivation: Derivation, new: Adjoint) -> Derivation:
    adjoints = tuple(new if a.name == new.name else a for a in derivation.adjoints)
    return dataclasses.replace(derivation, adjoints=adjoints)


def _scaled(derivation: Derivation, adjoint: Adjoint, k: float) -> Derivation:
    factor = sympy.Float(k) if k != -1 else sympy.S.NegativeOne
    terms = tuple(
        ChainTerm(t.consumer, t.upstream, dataclasses.replace(t.local, expr=factor * t.local.expr))
        for t in adjoint.terms
    )
    return _replace_adjoint(derivation, dataclasses.replace(adjoint, terms=terms))


def _dropped(derivation: Derivation, adjoint: Adjoint, i: int) -> Derivation:
    terms = adjoint.terms[:i] + adjoint.terms[i + 1 :]
    return _replace_adjoint(derivation, dataclasses.replace(adjoint, terms=terms))


def explain(
    derivation: Derivation,
    claims: Sequence[Mapping[str, np.ndarray]],
    points: Sequence[Mapping],
    close: Callable,
    ratios: Sequence[float] = (),
    limit: int = 60,
) -> Hypothesis | None:
    """The first hypothesis (in backward order) that reproduces every claimed gradient at every
    given point, or None."""
    for hypothesis in hypotheses(derivation, ratios)[:limit]:
        try:
            function = compile(hypothesis.derivation, "numpy")
        except Exception:  # a change SymPy cannot print is simply not a candidate
            continue
        if all(
            _reproduces(function, point, claim, derivation.wrt, close)
            for point, claim in zip(points, claims, strict=True)
        ):
            return hypothesis
    return None


def _reproduces(function, point, claim, wrt, close) -> bool:
    with np.errstate(all="ignore"):
        _, gradients = function(**_arrays(point, function.arguments))
    for name in wrt:
        got = np.asarray(claim[name], dtype=np.float64)
        want = np.asarray(gradients[name], dtype=np.float64)
        if got.shape != want.shape or not close(got, want):
            return False
    return True


def _arrays(point: Mapping, names) -> dict:
    return {n: np.asarray(point[n], dtype=np.float64) for n in names}


# --- where the error enters --------------------------------------------------------------------


def feeds(derivation: Derivation) -> dict[str, set[str]]:
    """For each node, the variables of ``wrt`` whose gradient its adjoint flows into."""
    by_symbol = {n.symbol: n.name for n in derivation.nodes}
    by_symbol.update({v.symbol: v.name for v in derivation.variables})
    wrt = set(derivation.wrt)
    out: dict[str, set[str]] = {}
    for node in derivation.nodes:  # forward order: parents first
        reached: set[str] = set()
        for symbol in node.expr.free_symbols:
            name = by_symbol.get(symbol)
            if name in wrt:
                reached.add(name)
            reached |= out.get(name, set())
        out[node.name] = reached
    return out


def entry_region(derivation: Derivation, wrong: set[str]) -> tuple[str | None, list[str]]:
    """From which gradients are wrong alone: the first node in backward order whose adjoint
    flows only into wrong gradients (the earliest place one mistake explains them all), and
    the nodes below it that feed exactly the same gradients (the gradients cannot tell those
    apart). None when no node qualifies: then the mistake is in a variable's own last step."""
    flows = feeds(derivation)
    backward = [a.name for a in derivation.adjoints[1:] if a.name in flows]
    for i, name in enumerate(backward):
        if flows[name] and flows[name] <= wrong:
            same = [n for n in backward[i + 1 :] if flows[n] == flows[name]]
            return name, same
    return None, []


def first_wrong_adjoint(
    derivation: Derivation, claimed: Mapping[str, object], expected: Mapping[str, object], close
) -> str | None:
    """With every adjoint of both computations at hand (two traces), the first node in backward
    order whose adjoint differs."""
    for adjoint in derivation.adjoints[1:]:
        key = adjoint.symbol.name
        if key in claimed and key in expected and adjoint.name not in derivation.wrt:
            got = np.asarray(claimed[key], dtype=np.float64)
            want = np.asarray(expected[key], dtype=np.float64)
            if got.shape != want.shape or not close(got, want):
                return adjoint.name
    return None


# --- kinks -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kink:
    node: str
    function: str  # relu, abs, max, …
    argument: float  # the value of the kink argument nearest its kink
    entry: tuple[int, ...]
    relative: float  # |argument| relative to the typical size of that argument


def kink_evaluator(derivation: Derivation) -> Callable[[Mapping], list[tuple[str, np.ndarray]]]:
    """A function of a point's node and variable values giving, for every kink of the model,
    the values of its argument (zero exactly at the kink)."""
    from .codegen import evaluator

    nodes = [node for node, _ in derivation.kinks]
    compute = evaluator([expr for _, expr in derivation.kinks], f"{derivation.model}.kinks")

    def evaluate(values: Mapping) -> list[tuple[str, np.ndarray]]:
        arguments = compute({k: np.asarray(v) for k, v in values.items()})
        return [(node, np.asarray(a, np.float64)) for node, a in zip(nodes, arguments, strict=True)]

    return evaluate


def nearest_kink(derivation: Derivation, arguments: list[tuple[str, np.ndarray]]) -> Kink | None:
    best = None
    for node, values in arguments:
        scalar = np.ndim(values) == 0
        values = np.atleast_1d(values)
        # relative to the argument's typical size, and to 1 (a lone scalar argument has no
        # size of its own to be small against)
        typical = max(float(np.sqrt(np.mean(values**2))), 1.0)
        flat = int(np.argmin(np.abs(values)))
        entry = np.unravel_index(flat, values.shape)
        value = float(values[entry])
        kink = Kink(
            node,
            _function_of(derivation, node),
            value,
            () if scalar else tuple(map(int, entry)),
            abs(value) / typical,
        )
        if best is None or kink.relative < best.relative:
            best = kink
    return best


def _function_of(derivation: Derivation, node: str) -> str:
    names = []
    for e in sympy.preorder_traversal(derivation.node(node).expr):
        if isinstance(e, Elementwise):
            e = e.template.expr
            for inner in sympy.preorder_traversal(e):
                rule = rule_for(inner) if isinstance(inner, Application) else None
                if rule is not None and rule.kink is not None:
                    names.append(rule.name)
        rule = rule_for(e) if isinstance(e, Application) else None
        if rule is not None and rule.kink is not None:
            names.append(rule.name)
    return "/".join(dict.fromkeys(names)) or "kink"
