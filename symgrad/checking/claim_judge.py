"""The judge of a claimed gradient: it must equal the symbolic one entry by entry within the
rounding the tolerance model measured at the point. Near a kink a differing entry is not wrong
when it is a subgradient (between the left and right derivatives); a mismatch says what finite
differences make of it."""

from __future__ import annotations

import math

import numpy as np

from .diagnosis import array_pattern
from .point import Point, rms_size
from .report import MISMATCH, NON_DIFFERENTIABLE, Finding
from .witnesses import Claim

# more differing entries than this (a dead unit) are judged along their joint direction
ONE_BY_ONE = 8
# entries sampled to see whether each differing entry moves a kink
KINK_SAMPLE = 16


def judge(at: Point, claim: Claim, claimed: dict[str, np.ndarray]) -> list[Finding]:
    """Compare a claimed gradient with the oracle: a mismatch for each variable where it
    differs, a non-differentiable point where it differs by a subgradient."""
    findings = []
    at_kink: dict[str, list] = {}  # variables whose differing entries passed as subgradients
    for name in at.d.wrt:
        row = at.rows[name]
        want = at.expected[name]
        got = claimed[name]
        if got.shape != want.shape and got.size == 1 and want.size == 1:
            got = got.reshape(want.shape)
        if got.shape != want.shape:
            row.worst = math.inf
            row.claimed_shape = got.shape
            findings.append(_mismatch(at, claim, name, got, count=row.size))
            continue
        tol = at.tolerance.of(name, at.dtype)
        with np.errstate(all="ignore"):
            diff = np.abs(got - want)
            over = np.where(np.isnan(diff), np.inf, diff / tol)
        row.worst = max(row.worst, float(np.max(over)) if over.size else 0.0)
        with np.errstate(all="ignore"):
            relative = diff / np.maximum(np.abs(want), 1e-3 * at.tolerance.scale[name])
        if relative.size:
            row.relative = max(row.relative, float(np.nan_to_num(np.max(relative), nan=np.inf)))
        bad = np.argwhere(np.atleast_1d(over > 1))
        if not bad.size:
            continue
        entries = [tuple(map(int, e)) if want.ndim else () for e in bad]
        # at a kink a different subgradient is not wrong: the left and right derivatives say
        subgradient = _subgradient(at, claim.label, name, entries, got) if at.kinks.near else None
        if subgradient is not None:
            findings.append(subgradient)
            at_kink[name] = entries
            continue
        first = entries[0]
        claimed_value = float(got[first]) if want.ndim else float(got)
        findings.append(
            _mismatch(
                at,
                claim,
                name,
                got,
                count=len(entries),
                entries=tuple(entries[:5]),
                claimed=claimed_value,
                expected=at.expected_at(name, first),
                detail=_confirm(at, name, first, claimed_value),
            )
        )
    if len(at_kink) > 1:
        findings += _subgradient_of_all(at, claim, claimed, at_kink)
    return findings


def _mismatch(at: Point, claim: Claim, name: str, got, **fields) -> Finding:
    """A claimed gradient that differs from the symbolic one, with its pattern."""
    return at.finding(
        MISMATCH,
        name,
        claim.label,
        "symbolic",
        pattern=array_pattern(got, at.expected[name], at.tolerance.close(at.dtype)),
        **fields,
    )


def _confirm(at: Point, name: str, entry, got: float) -> str:
    """What finite differences say about one differing entry."""
    direction, size = at.unit(name, entry)
    want = at.expected_at(name, entry)
    estimate = at.fd.estimate(at.values, name, direction, at.loss, abs(want) * size)
    value = estimate.value / size
    if estimate.agrees_with(want * size) and not estimate.agrees_with(got * size):
        return f"finite differences agree with symbolic ({value:.6g})"
    if not estimate.agrees_with(want * size):
        return f"finite differences give {value:.6g}"
    return "the difference is below what finite differences resolve; autograd and symbolic agree"


# --- the subgradient check: along a direction that crosses the kink, the claim's derivative
# lies between the left and right derivatives ---------------------------------------------------


def _toward_claim(at: Point, name: str, entries, got) -> np.ndarray:
    """The direction that moves each differing entry toward its claimed difference, each by
    the variable's typical size."""
    want = at.expected[name]
    size = rms_size(at.values[name])
    direction = np.zeros(want.shape)
    for entry in entries:
        direction[entry] = np.sign(got[entry] - want[entry]) * size
    return direction


def _subgradient(at: Point, label: str, name: str, entries, got) -> Finding | None:
    """At a kink: a non-differentiable point when every differing entry lies between its left
    and right derivative; None when one does not, or does not move the kink."""
    if len(entries) > ONE_BY_ONE:
        return _subgradient_along_entries(at, label, name, entries, got)
    first = None
    for entry in entries:
        direction, size = at.unit(name, entry)
        sides = at.kinks.crossed(name, direction)
        if sides is None:
            return None  # this entry does not move the kink: its derivative is one number
        value = (float(got[entry]) if got.ndim else float(got)) * size
        if not sides.between(value):
            return None
        first = first or (entry, sides, value, size)
    entry, sides, value, size = first
    return at.finding(
        NON_DIFFERENTIABLE,
        name,
        label,
        "symbolic",
        entries=tuple(entries),
        count=len(entries),
        claimed=value / size,
        expected=at.expected_at(name, entry),
        left=sides.left.value / size,
        right=sides.right.value / size,
        between=True,
        detail=at.kinks.text(),
    )


def _subgradient_along_entries(at: Point, label: str, name: str, entries, got) -> Finding | None:
    """Many differing entries at a kink: the claim's derivative along the direction that
    moves each of them toward its claimed difference must lie between the left and right
    derivatives along that direction (necessary for a subgradient, and what one finite
    difference can check)."""
    direction = _toward_claim(at, name, entries, got) / math.sqrt(len(entries))
    sides = at.kinks.crossed(name, direction)
    if sides is None:
        return None
    claimed = float(np.sum(got * direction))
    certified = True
    rounding = float(np.sum(at.tolerance.of(name, at.dtype) * np.abs(direction)))
    if not sides.between(claimed, rounding):
        # several kinks meet here (a dead unit: one relu argument at 0 for every sample);
        # a generalised gradient need not lie between one line's one-sided derivatives.
        # If every differing entry moves a kink, the point cannot be certified either way:
        # it is labelled, not failed (the random points judge the claim elsewhere).
        rng = np.random.default_rng(len(entries))
        picks = rng.choice(len(entries), min(KINK_SAMPLE, len(entries)), False)
        if any(at.kinks.along(name, at.unit(name, entries[i])[0]) is None for i in picks):
            return None
        certified = False
    return at.finding(
        NON_DIFFERENTIABLE,
        name,
        label,
        "symbolic",
        entries=tuple(entries[:5]),
        count=len(entries),
        claimed=claimed,
        expected=float(np.sum(at.expected[name] * direction)),
        left=sides.left.value,
        right=sides.right.value,
        between=True if certified else None,
        detail=at.kinks.text()
        + "; along the direction of the differing entries"
        + (
            ""
            if certified
            else "; several kinks meet here, every differing entry moves one, and one "
            "line's left and right derivatives cannot certify a subgradient either way"
        ),
    )


def _subgradient_of_all(at: Point, claim: Claim, claimed, at_kink) -> list[Finding]:
    """Each variable's differing entries passed alone, but a subgradient is one vector:
    along the direction that moves every differing entry of every such variable at once,
    the claim must still lie between the left and right derivatives (at a tie of max(a, b),
    ∂/∂a = ∂/∂b = 1 passes each check alone and fails this one). A mismatch per variable
    when it does not."""
    directions = {
        name: _toward_claim(at, name, entries, claimed[name]) for name, entries in at_kink.items()
    }
    sides = at.kinks.crossed(None, directions)
    if sides is None:
        return []
    value = sum(float(np.sum(claimed[n] * d)) for n, d in directions.items())
    if sides.between(value):
        return []
    names = ", ".join(directions)
    return [
        at.finding(
            MISMATCH,
            name,
            claim.label,
            "finite differences",
            count=len(at_kink[name]),
            entries=tuple(at_kink[name][:5]),
            claimed=value,
            left=sides.left.value,
            right=sides.right.value,
            between=False,
            detail=at.kinks.text()
            + f"; each entry alone is a subgradient, but together ({names}) they are not",
        )
        for name in directions
    ]
