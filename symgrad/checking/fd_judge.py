"""The judge of finite differences: sampled entries of every gradient, and random projections
of large ones, measured by finite differences and compared with the symbolic gradient, each
against its own error estimate. A disagreement is a mismatch, a kink, or noise."""

from __future__ import annotations

import numpy as np

from ..progress import report as report_progress
from . import finite_differences as fd
from .point import Point
from .report import MISMATCH, NOISE, NON_DIFFERENTIABLE, Finding

RESOLUTION = 1e-3  # a finite difference with a wider error bar (relative) resolves nothing
FD_ENTRIES = 12  # sampled entries per variable when a variable has more than FD_ALL entries
FD_ALL = 64
FD_DIRECTIONS = 2  # random projections per variable with more than FD_ALL entries


def judge(at: Point, points: int) -> list[Finding]:
    """Finite differences on sampled entries and projections of every gradient (``points``:
    how many points there are, for progress reports)."""
    findings = []
    for done, name in enumerate(at.d.wrt):
        report_progress("verifying", at.index + done / len(at.d.wrt), points, "points")
        tolerance = at.tolerance.of(name, "float64")
        for entry in _entries(at, name):
            direction, _ = at.unit(name, entry)
            findings += _along(at, name, direction, entry, tolerance)
        if at.expected[name].size > FD_ALL:  # projections see every entry at once
            for _ in range(FD_DIRECTIONS):
                findings += _along(at, name, at.random_direction(name), None, tolerance)
    return findings


def check(at: Point, name: str, direction: np.ndarray, expected: float, error: float):
    """(estimate, agrees, crossed-kink) for one directional derivative. An estimate whose
    error bar is wider than RESOLUTION of the quantity's size agrees with anything, so it
    does not count as agreeing (``_disagreement`` calls it noise)."""
    scale = _scale(at, name, direction, expected)
    estimate = at.fd.estimate(at.values, name, direction, at.loss, scale)
    resolved = lambda e: e.error <= RESOLUTION * scale  # noqa: E731
    if estimate.agrees_with(expected, error) and resolved(estimate):
        return estimate, True, False
    careful = at.fd.estimate(at.values, name, direction, at.loss, scale, careful=True)
    if careful.agrees_with(expected, error) and resolved(careful):
        return careful, True, False
    crossed = at.kinks.along(name, direction) is not None
    return careful, False, crossed


def resolves(at: Point, name: str, direction: np.ndarray, expected: float, error: float) -> bool:
    """Whether an error bar this wide resolves a derivative of this size."""
    return error <= RESOLUTION * _scale(at, name, direction, expected)


def step_size(direction) -> float:
    """How far a direction moves its largest entry: an entry's derivative is reported per unit."""
    return float(np.max(np.abs(direction))) or 1.0


def _scale(at: Point, name: str, direction: np.ndarray, expected: float) -> float:
    return abs(expected) + float(np.sum(np.abs(direction) * at.tolerance.scale[name]))


def _entries(at: Point, name: str) -> list[tuple[int, ...]]:
    shape = np.shape(at.expected[name])
    size = int(np.prod(shape)) if shape else 1
    if size <= FD_ALL:
        return [tuple(map(int, i)) for i in np.ndindex(*shape)] if shape else [()]
    picks = at.rng.choice(size, size=FD_ENTRIES, replace=False)
    return [tuple(map(int, np.unravel_index(i, shape))) for i in picks]


def _along(at: Point, name, direction, entry, tolerance) -> list[Finding]:
    """Finite differences along one direction against the symbolic gradient projected on
    it (whose rounding error projects the same way)."""
    row = at.rows[name]
    want = float(np.sum(at.expected[name] * direction))
    err = float(np.sum(tolerance * np.abs(direction)))
    estimate, agrees, crossed = check(at, name, direction, want, err)
    row.fd_checked += 1
    row.fd_methods.add(estimate.method)
    found = [] if agrees else [_disagreement(at, name, entry, direction, want, estimate, crossed)]
    if not found or found[0].kind == MISMATCH:  # a kink or noise is not a measure of agreement
        over = abs(estimate.value - want) / max(3 * (estimate.error + err), 1e-300)
        row.fd_worst = max(row.fd_worst, over)
    return found


def _disagreement(at: Point, name, entry, direction, want, estimate, crossed) -> Finding:
    """A finite difference that disagrees with the symbolic value, labelled: a kink when one
    is near, a mismatch when other steps confirm it, noise when they do not."""
    # an entry's direction is its unit scaled by the step's size: report per unit of it
    per = step_size(direction) if entry is not None else 1.0
    along = "" if entry is not None else "; along a random direction"
    if crossed or at.kinks.near:
        sides = at.kinks.sides(name, direction)
        between = sides.between(want)
        kind = NON_DIFFERENTIABLE if between else MISMATCH
        more = {
            "left": sides.left.value / per,
            "right": sides.right.value / per,
            "between": between,
            "detail": at.kinks.text() + along,
        }
    else:
        confirmed = _confirmed(at, name, direction, want)
        kind = MISMATCH if confirmed else NOISE
        unresolved = (
            ""
            if confirmed
            else "; finite differences cannot resolve this derivative here"
            " (estimates at other steps disagree, or their error bars are wide)"
        )
        more = {
            "detail": f"{estimate.method} error estimate {estimate.error:.2g}{along}{unresolved}"
        }
    return at.finding(
        kind,
        name,
        "symbolic",
        "finite differences",
        entries=(entry,) if entry is not None else (),
        count=1,
        claimed=want / per,
        expected=estimate.value / per,
        **more,
    )


def _confirmed(at: Point, name, direction, want: float) -> bool:
    """Both finite-difference estimates disagree and no kink is near: ask again with a tenfold
    larger and smaller step; if those disagree with each other, the estimate is noise."""
    phi = lambda t: at.fd.loss(at.values, name, direction, t)  # noqa: E731
    usual = fd.U64 ** (1 / 5)  # Richardson's own step
    wide = fd.richardson(phi, at.loss, h=10 * usual)
    narrow = fd.richardson(phi, at.loss, h=0.1 * usual)
    consistent = abs(wide.value - narrow.value) <= 3 * (wide.error + narrow.error)
    resolved = resolves(at, name, direction, want, max(wide.error, narrow.error))
    return consistent and resolved and not wide.agrees_with(want)
