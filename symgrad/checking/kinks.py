"""Kinks: where a model is not differentiable (relu's argument at 0, a tie of max), how near a
point lies to one, the left and right derivatives there, and the label a point beside one gets.

At a kink a claimed derivative is not wrong for differing from the oracle's: it is right when
it lies between the left and right derivatives (a subgradient).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import sympy
from sympy.core.function import Application

from ..codegen import CompiledGradient
from ..derivation import Derivation
from ..rules import rule_for
from ..tensors import Elementwise
from . import finite_differences as fd
from .report import MISMATCH, NON_DIFFERENTIABLE, Finding, entry_text
from .witnesses import FiniteDifferences, moved

if TYPE_CHECKING:
    from .point import Point

# how far along a direction a kink is looked for, and the step of the finite differences
# that judge a derivative near one
KINK_STEP = 10 * fd.U64 ** (1 / 5)
NEAR_KINK = 1e-3  # a kink argument this close to 0 (relative to its size) is within a step
AT_KINK = 1e-6  # a kink this close along a step's direction (in the variable's scale) is here
BISECTIONS = 48  # halvings of the step that find where a kink argument changes sign

KinkArguments = Callable[[Mapping], list[tuple[str, np.ndarray]]]


@dataclass(frozen=True)
class Kink:
    node: str
    function: str  # relu, abs, max, …
    argument: float  # the value of the kink argument nearest its kink
    entry: tuple[int, ...]
    relative: float  # |argument| relative to the typical size of that argument


def kink_evaluator(derivation: Derivation) -> KinkArguments:
    """A function of a point's node and variable values giving, for every kink of the model,
    the values of its argument (zero exactly at the kink)."""
    from ..codegen import evaluator

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


@dataclass(frozen=True)
class Sides:
    """The left and right derivatives along one direction."""

    left: fd.Estimate
    right: fd.Estimate

    def between(self, value: float, slack: float = 0.0) -> bool:
        """Whether ``value`` lies between them, within their error bars (and ``slack``)."""
        lo, hi = sorted((self.left.value, self.right.value))
        slack += 3 * (self.left.error + self.right.error)
        return lo - slack <= value <= hi + slack


class Kinks:
    """The kinks around one point. A direction is in one variable (``name``, an array) or in
    several (``name`` None and ``direction`` a dict by variable)."""

    def __init__(
        self,
        d: Derivation,
        oracle: CompiledGradient,
        differences: FiniteDifferences,
        point: Mapping,
        loss: float,
        evaluate: KinkArguments | None,
    ):
        self.d = d
        self.oracle = oracle
        self.fd = differences
        self.point = point
        self.loss = loss  # the loss at the point, where one-sided differences start
        self.evaluate = evaluate
        self.nearest = self._nearest()

    def _nearest(self) -> Kink | None:
        if self.evaluate is None:
            return None
        values = self._node_values(self.point)
        if values is None:
            return None
        return nearest_kink(self.d, self.evaluate(values))

    @property
    def near(self) -> bool:
        """Whether the nearest kink lies within a finite difference's step."""
        return self.nearest is not None and self.nearest.relative <= NEAR_KINK

    def _node_values(self, point):
        try:
            with np.errstate(all="ignore"):
                trace = self.oracle.trace(**point).values
        except Exception:
            return None
        return {**{k: np.asarray(v) for k, v in point.items()}, **trace}

    def along(self, name, direction) -> float | None:
        """Where a kink argument changes sign along t ↦ point + t·direction, |t| ≤ KINK_STEP
        (the nearest such t, by bisection), or None when no kink is crossed there."""
        if self.evaluate is None:
            return None

        def signs(t):
            values = self._node_values(moved(self.point, name, direction, t))
            if values is None:
                return None
            return np.concatenate([np.sign(np.ravel(v)) for _, v in self.evaluate(values)])

        at = signs(0.0)
        if at is None:
            return None
        if np.any(at == 0):
            return 0.0
        crossings = []
        for end in (KINK_STEP, -KINK_STEP):
            there = signs(end)
            if there is None or np.all(there == at):
                continue
            changed = there != at
            near, far = 0.0, end
            for _ in range(BISECTIONS):
                middle = (near + far) / 2
                between = signs(middle)
                if between is not None and np.all(between[changed] == at[changed]):
                    near = middle
                else:
                    far = middle
            crossings.append((near + far) / 2)
        return min(crossings, key=abs) if crossings else None

    def sides(self, name, direction) -> Sides:
        """The left and right derivatives at the kink the step crosses (at the point itself
        when it crosses none): one-sided differences from the kink outward."""
        at = self.along(name, direction)
        if at is None:
            return Sides(*self.fd.sides(self.point, name, direction, self.loss))
        small = KINK_STEP / 64
        if abs(at) > AT_KINK:  # beside the kink, not on it: both sides of the point itself,
            small = min(small, abs(at) / 4)  # with steps that stay clear of the kink
            at = 0.0
        phi = lambda t: self.fd.loss(self.point, name, direction, at + t)  # noqa: E731
        f0 = phi(0.0)
        return Sides(fd.one_sided(phi, f0, -1, h=small), fd.one_sided(phi, f0, +1, h=small))

    def crossed(self, name, direction) -> Sides | None:
        """The subgradient test's measure: the sides of the kink the step along ``direction``
        crosses, or None where it crosses none (the derivative there is one number)."""
        if self.along(name, direction) is None:
            return None
        return self.sides(name, direction)

    def text(self) -> str:
        """The nearest kink in words, for a finding's detail."""
        k = self.nearest
        if k is None:
            return "a kink lies within the step"
        entry = f" at entry {entry_text(k.entry)}" if k.entry else ""
        return f"{k.function} in {k.node} at its kink: its argument is {k.argument:.3g}{entry}"


def label(at: Point, found: list[Finding]) -> list[Finding]:
    """A point within a step of a kink is labelled even where no entry disagreed (a kink
    inside a large matrix moves few of its entries): the left and right derivatives along
    a direction that crosses it, and whether the symbolic value lies between them.
    ``found``: what the judges found at this point (a kink they labelled is not labelled
    again)."""
    if not at.kinks.near or any(f.kind == NON_DIFFERENTIABLE for f in found):
        return []
    for name in at.d.wrt:
        direction = at.random_direction(name)
        sides = at.kinks.crossed(name, direction)
        if sides is None:
            continue  # this variable does not move the kink
        want = float(np.sum(at.expected[name] * direction))
        between = sides.between(want)
        finding = at.finding(
            NON_DIFFERENTIABLE if between else MISMATCH,
            name,
            "symbolic",
            "finite differences",
            claimed=want,
            left=sides.left.value,
            right=sides.right.value,
            between=between,
            detail=at.kinks.text() + "; along a random direction",
        )
        return [finding]
    return []
