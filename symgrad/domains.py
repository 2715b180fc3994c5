"""Where each variable of a model may take its values: what the model declares
(``m.params("p", domain="probability")``) and what its expressions need (the argument of
``log`` positive, of ``sqrt`` non-negative, the probability of ``bce`` in (0, 1) and its target
in [0, 1]). The checking wing draws its points inside them (``symgrad.checking.points``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import sympy

from .errors import SymgradError


@dataclass(frozen=True)
class Domain:
    """An interval of the real line (each end open or closed), or a finite set of values."""

    name: str
    low: float = -math.inf
    high: float = math.inf
    low_closed: bool = False
    high_closed: bool = False
    values: tuple[float, ...] | None = None  # a finite set ("binary")

    @property
    def is_labels(self) -> bool:
        """Class labels: whole numbers, which may index an array."""
        return self.name == "labels" or self.name.startswith("labels ")

    def contains(self, value) -> bool:
        array = np.asarray(value, dtype=np.float64)
        if self.name == "labels" and self.values is None:  # whole numbers, how many not known
            return bool(np.all((array >= 0) & (array == np.round(array))))
        if self.values is not None:
            return bool(np.isin(array, self.values).all())
        above = array >= self.low if self.low_closed else array > self.low
        below = array <= self.high if self.high_closed else array < self.high
        return bool(np.all(above & below))

    def meet(self, other: Domain, what: str) -> Domain:
        """The values in both domains; an error naming ``what`` when there are none."""
        if self == other or other.name == "real":
            return self
        if self.name == "real":
            return other
        if self.values is not None or other.values is not None:
            finite, interval = (self, other) if self.values is not None else (other, self)
            kept = tuple(v for v in finite.values if interval.contains(v))
            if not kept:
                raise SymgradError(f"{what}: no value is both {self.name} and {other.name}")
            if kept == finite.values:
                return finite
            return Domain(f"{finite.name} ∩ {interval.name}", values=kept)
        low, low_closed = _tighter(self.low, self.low_closed, other.low, other.low_closed, max)
        high, high_closed = _tighter(
            self.high, self.high_closed, other.high, other.high_closed, min
        )
        if low > high or (low == high and not (low_closed and high_closed)):
            raise SymgradError(f"{what}: no value is both {self.name} and {other.name}")
        return Domain(f"{self.name} ∩ {other.name}", low, high, low_closed, high_closed)

    def sample(self, rng: np.random.Generator, shape: tuple[int, ...], scale: float = 1.0):
        """Random values of ``shape`` inside the domain, spread over ``scale`` where the domain
        is unbounded. Open ends are kept a little away from (an argument of ``log`` at 1e-300
        is in the domain, but its gradient is not a fair test of anyone's code)."""
        if self.name == "labels" and self.values is None:
            raise SymgradError(
                "labels of an unknown number of classes cannot be drawn; declare "
                "domain=('labels', C) or give the labels in m.example"
            )
        if self.values is not None:
            return rng.choice(np.asarray(self.values, dtype=np.float64), size=shape)
        bounded_low, bounded_high = math.isfinite(self.low), math.isfinite(self.high)
        if bounded_low and bounded_high:
            width = self.high - self.low
            lo = 0.0 if self.low_closed else 0.02
            hi = 1.0 if self.high_closed else 0.98
            return self.low + width * rng.uniform(lo, hi, size=shape)
        if bounded_low or bounded_high:  # a log-normal spread away from the finite end
            away = scale * np.exp(rng.normal(0.0, 0.75, size=shape))
            return self.low + away if bounded_low else self.high - away
        return rng.normal(0.0, scale, size=shape)

    def __str__(self) -> str:
        return self.name


def _tighter(a: float, a_closed: bool, b: float, b_closed: bool, pick) -> tuple[float, bool]:
    """The tighter of two interval ends (``pick`` is max for lower ends, min for upper)."""
    if a == b:
        return a, a_closed and b_closed
    return (a, a_closed) if pick(a, b) == a else (b, b_closed)


def interval(low: float, high: float) -> Domain:
    return Domain(f"[{low:g}, {high:g}]", float(low), float(high), True, True)


NAMED: dict[str, Domain] = {
    "real": Domain("real"),
    "positive": Domain("positive", low=0.0),
    "nonnegative": Domain("nonnegative", low=0.0, low_closed=True),
    "negative": Domain("negative", high=0.0),
    "probability": Domain("probability", 0.0, 1.0),  # open: log p and log(1 − p) are finite
    "unit": Domain("unit", 0.0, 1.0, True, True),
    "binary": Domain("binary", values=(0.0, 1.0)),
    # what arguments of primitives need (their records name them)
    "(-1, 1)": Domain("(-1, 1)", -1.0, 1.0),
    "above 1": Domain("above 1", low=1.0),
    "above -1": Domain("above -1", low=-1.0),
}
REAL = NAMED["real"]


def labels(classes: int) -> Domain:
    """Class labels 0, 1, …, classes − 1: whole numbers, drawn as whole numbers (what
    ``one_hot`` and ``cross_entropy`` read)."""
    return Domain(f"labels 0..{classes - 1}", values=tuple(float(k) for k in range(classes)))


# class labels whose count the model says (where they are one-hot encoded or used as indices)
LABELS = Domain("labels", values=None)


def as_domain(spec, what: str, where: str | None = None) -> Domain:
    """A domain from what a declaration gives: a name ("positive", "probability", "labels", …),
    ``("labels", C)`` (whole numbers 0 … C − 1), a pair ``(low, high)`` (the closed interval),
    or a ``Domain``."""
    if spec is None:
        return REAL
    if isinstance(spec, Domain):
        return spec
    if spec == "labels":
        return LABELS
    if isinstance(spec, tuple) and len(spec) == 2 and spec[0] == "labels":
        if isinstance(spec[1], bool) or not isinstance(spec[1], int) or spec[1] < 1:
            raise SymgradError(f"{what}: ('labels', C) needs a whole number C ≥ 1", where)
        return labels(spec[1])
    if isinstance(spec, str):
        if spec not in NAMED:
            raise SymgradError(
                f"{what}: unknown domain {spec!r}; choose one of {', '.join(NAMED)} "
                "or give (low, high)",
                where,
            )
        return NAMED[spec]
    if isinstance(spec, tuple) and len(spec) == 2:
        try:
            low, high = (float(v) for v in spec)
        except (TypeError, ValueError):
            low = high = math.nan
        if not (low < high):  # also refuses NaN
            raise SymgradError(
                f"{what}: domain {spec!r} must be (low, high) with low < high", where
            )
        return interval(low, high)
    raise SymgradError(
        f"{what}: a domain is a name such as 'positive' or a pair (low, high), got {spec!r}", where
    )


# --- what the expressions need -----------------------------------------------------------------


def needed_domains(derivation) -> dict[str, Domain]:
    """For each variable that appears directly as an argument of a primitive whose record says
    what that argument needs (``log(x)``: x positive), the domain it needs."""
    from .rules import rule_for  # the rule table is upstream of this module
    from .tensors import Elementwise

    by_symbol = {v.symbol: v.name for v in derivation.variables}
    needs: dict[str, Domain] = {}

    def need(arg, spec, why: str):
        name = by_symbol.get(arg)
        if name is not None:
            previous = needs.get(name, REAL)
            needs[name] = previous.meet(as_needed(spec), f"{name} ({why})")

    def visit(expr, renamed: Mapping):
        if isinstance(expr, Elementwise):
            variables = expr.template.variables
            inner = {v: renamed.get(o, o) for v, o in zip(variables, expr.operands, strict=False)}
            visit(expr.template.expr, inner)
            for operand in expr.operands:
                visit(operand, renamed)
            return
        rule = rule_for(expr)
        if rule is not None and rule.domains:
            for (arg, which), spec in rule.needs(expr).items():
                role = f"the argument {which}" if which else "an argument"
                need(renamed.get(arg, arg), spec, f"{role} of {rule.name}")
        for arg in expr.args:
            if isinstance(arg, sympy.Basic):
                visit(arg, renamed)

    for node in derivation.nodes:
        visit(node.expr, {})
    return needs


def as_needed(spec) -> Domain:
    """A record's domain: a name, or ("labels", C) for class labels 0 … C − 1."""
    if isinstance(spec, tuple) and spec[0] == "labels":
        return labels(int(spec[1]))
    return NAMED[spec]


def check_labels(derivation, point: Mapping, what: str) -> None:
    """Class labels at ``point`` are whole numbers 0 … C − 1, as one_hot, cross_entropy or an
    index reads them; anything else (a random normal draw, a label past C) is one line."""
    needs = needed_domains(derivation)
    for name, needed in needs.items():
        if not needed.is_labels or name not in point or needed.contains(point[name]):
            continue
        values = np.ravel(np.asarray(point[name], dtype=np.float64))
        shown = ", ".join(f"{v:g}" for v in values[:4]) + (", …" if values.size > 4 else "")
        classes = f"('labels', {len(needed.values)})" if needed.values else "'labels'"
        raise SymgradError(
            f"{what} gives {name} = [{shown}], but {name} holds class labels ({needed}); "
            f"give whole numbers in that range, or declare domain={classes} so that "
            "random= draws them",
            derivation.variable(name).where,
        )
