"""What a disagreement means: the pattern of a wrong gradient and where in the chain it enters.

The judges find *that* a claimed gradient differs from the symbolic one; this module says
*how*: ``off by ×2``, ``sign flipped``, ``transposed``, ``missing term``, and the first node,
in backward order, whose adjoint is wrong. Patterns are tested as hypotheses: each is a changed
derivation, compiled and evaluated at the same points, and a hypothesis is reported only when
it reproduces every claimed gradient there.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import sympy

from ..arrays import show_shape
from ..codegen import compile
from ..derivation import Adjoint, ChainTerm, Derivation
from .report import Finding
from .tolerance import loose_close

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


# --- where a claim's mismatches enter ------------------------------------------------------------


def locate(d: Derivation, mismatched, points, findings: list[Finding], oracle, autograd) -> None:
    """Name the first wrong node and the pattern of each claim's mismatches, in ``findings``.
    ``mismatched`` holds (point index, claim, claimed gradient, expected gradient) for every
    point where a claim was wrong. A pattern must hold at every point where the claim was
    wrong, not at one (any two scalars differ by a factor)."""
    by_claim: dict[str, list] = {}
    for case in mismatched:
        by_claim.setdefault(case[1].label, []).append(case)
    node_names = {n.name for n in d.nodes}
    for label, cases in by_claim.items():
        index0, claim, claimed0, expected0 = cases[0]
        wrong = {f.variable for f in findings if f.is_failure and f.source == label}
        node, alternatives = None, ()
        if claim.trace is not None:  # both computations show every adjoint: compare them
            try:
                node = first_wrong_adjoint(
                    d,
                    claim.trace(points[index0]),
                    oracle.trace(**points[index0]).values,
                    loose_close,
                )
            except Exception:  # a trace that cannot be taken leaves the other clues
                node = None
        patterns = {name: _pattern_over_points(name, cases) for name in wrong}
        for name in wrong:
            pattern = patterns[name]
            if autograd is not None and (pattern is None or "entries wrong" in pattern):
                patterns[name] = _summed_axes(d, name, cases, points, autograd) or pattern
        ratios = []
        for name in sorted(wrong):
            want, got = expected0[name], claimed0[name]
            if got.shape == want.shape and np.vdot(want, want):
                ratios.append(float(np.vdot(got, want) / np.vdot(want, want)))
        hypothesis = explain(
            d, [c[2] for c in cases], [points[c[0]] for c in cases], loose_close, ratios
        )
        first, same = entry_region(d, wrong)
        if node is None and hypothesis is not None:  # a tested explanation: it says where
            node = hypothesis.node if hypothesis.node in node_names else None
            alternatives = tuple(same) if node is not None and first == node else ()
        elif node is None:  # which gradients are wrong is the only clue
            node, alternatives = first, tuple(same)
        for i, f in enumerate(findings):
            if not (f.is_failure and f.source == label and f.variable in wrong):
                continue
            pattern = hypothesis.pattern if hypothesis is not None else patterns[f.variable]
            detail = f.detail
            if node is None:
                consumers = [t.consumer for t in d.adjoint(f.variable).terms]
                steps = ", ".join(f"∂{c}/∂{f.variable}" for c in consumers)
                why = (
                    f"the loss does not depend on {f.variable}: its gradient is 0"
                    if not consumers
                    else "no node's adjoint explains it (the other gradients through the same "
                    f"nodes are right): the mistake is in the last step ({steps})"
                )
                detail = (detail + "; " if detail else "") + why
            findings[i] = dataclasses.replace(
                f, node=node, alternatives=alternatives, pattern=pattern, detail=detail
            )


def _summed_axes(d: Derivation, name: str, cases, points, autograd) -> str | None:
    """A broadcast variable (a bias) whose claimed gradient sums over the wrong axes, at
    every point where it was wrong."""
    shape = tuple(d.variable(name).shape or ())
    broadcasts = []
    for term in d.adjoint(name).terms:
        full = tuple(d.node(term.consumer).shape or ())
        if shape and full != shape and full not in broadcasts:
            try:
                if np.broadcast_shapes(shape, full) == full:
                    broadcasts.append(full)
            except ValueError:
                continue
    for full in broadcasts:
        found = set()
        for index, _, claimed, expected in cases:
            each = autograd.contributions(points[index], name, full)
            if each is None:
                break
            found.add(summed_axes(each, claimed[name], expected[name], loose_close))
        if len(found) == 1 and None not in found:
            return found.pop()
    return None


def _pattern_over_points(name: str, cases) -> str | None:
    """The pattern of one variable's claimed gradient that holds at every point where it was
    wrong: the same pattern at each, or a factor that holds over all of them together."""
    got = [c[2][name] for c in cases]
    want = [c[3][name] for c in cases]
    singles = [array_pattern(g, w, loose_close) for g, w in zip(got, want, strict=True)]
    if singles[0] is not None and all(p == singles[0] for p in singles):
        return singles[0]
    if all(g.shape == w.shape for g, w in zip(got, want, strict=True)):
        stacked = array_pattern(
            np.concatenate([g.ravel() for g in got]),
            np.concatenate([w.ravel() for w in want]),
            loose_close,
        )
        if stacked is not None and "entries wrong" not in stacked:
            return stacked
    counts = [p for p in singles if p is not None and "entries wrong" in p]
    return counts[0] if counts and len(counts) == len(singles) else None
