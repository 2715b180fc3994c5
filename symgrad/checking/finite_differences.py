"""Finite-difference derivatives that know how wrong they may be.

Every estimate is of a directional derivative φ'(0), where φ(t) = f(x + t·v): a coordinate of
the gradient when v is a unit vector (scaled to its variable), a projection of it when v is a
random direction. Each comes with an *error estimate*, so a verdict can compare a measured
disagreement with what the method can resolve instead of with a fixed ``atol``:

- the **complex step** Im φ(ih)/h, exact to rounding where f is analytic (no kinks, and the
  generated forward pass runs on complex numbers);
- **central differences** at two steps h and h/2, h = u^(1/3) for the unit roundoff u of the
  evaluation: the two estimates differ by about 3/4 of the truncation error of the first, which
  estimates the error of the second;
- **Richardson extrapolation** of central differences (h, h/2, h/4 from h = u^(1/5)), when the
  central estimate is not accurate enough to decide;
- **one-sided differences** for the left and right derivatives at a kink.

The function is always evaluated in float64 (the model is symbolic, so the witness need not
share the precision of the gradient under test).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

U64 = float(np.finfo(np.float64).eps) / 2  # unit roundoff of float64
# The error of one evaluation of f, relative to |f|: a few roundings per operation, and the
# generated forward pass has many. Conservative on purpose: a false alarm costs more than a
# slightly blunter finite difference (the analytic witnesses compare entry by entry anyway).
EVALUATION_ERROR = 64 * U64


@dataclass(frozen=True)
class Estimate:
    """A derivative estimate, the size of its likely error, and how it was made."""

    value: float
    error: float
    method: str
    evaluations: int = 0

    def agrees_with(self, claimed: float, claimed_error: float = 0.0) -> bool:
        """Whether ``claimed`` lies within what this estimate can resolve (three error bars)."""
        return abs(claimed - self.value) <= 3.0 * (self.error + claimed_error)


Phi = Callable[[float], float]


def complex_step(phi_complex: Callable[[complex], complex], *, scale: float = 1.0) -> Estimate:
    """Im φ(ih)/h: no subtraction, so no cancellation; h can be tiny."""
    h = 1e-20
    value = float(np.imag(phi_complex(1j * h))) / h
    return Estimate(value, 16 * U64 * max(abs(value), scale), "complex step", 1)


def central(phi: Phi, f0: float, *, h: float | None = None) -> Estimate:
    """Central differences at h and h/2; the second, with the first's difference as its error."""
    h = h or U64 ** (1 / 3)
    d1 = _central(phi, h)
    d2 = _central(phi, h / 2)
    noise = EVALUATION_ERROR * max(abs(f0), 1e-300) / (h / 2)
    truncation = abs(d1 - d2) / 3  # D(h) − D(h/2) ≈ ¾ c h², the error of D(h/2) ≈ ¼ c h²
    return Estimate(d2, truncation + noise, "central", 4)


def richardson(phi: Phi, f0: float, *, h: float | None = None) -> Estimate:
    """Two levels of Richardson extrapolation on central differences at h, h/2, h/4."""
    h = h or U64 ** (1 / 5)
    d = [_central(phi, h / 2**k) for k in range(3)]
    r1 = [(4 * d[k + 1] - d[k]) / 3 for k in range(2)]  # error O(h⁴)
    r2 = (16 * r1[1] - r1[0]) / 15  # error O(h⁶)
    noise = EVALUATION_ERROR * max(abs(f0), 1e-300) / (h / 4) * 2
    truncation = abs(r2 - r1[1])
    return Estimate(r2, truncation + noise, "Richardson", 6)


def one_sided(phi: Phi, f0: float, side: int, *, h: float | None = None) -> Estimate:
    """The derivative from one side (``side`` +1 right, −1 left), extrapolated from h and h/2 so
    that the first-order error cancels; the step is small, to stay on one side of a kink."""
    h = (h or U64 ** (1 / 2)) * side
    d1 = (phi(h) - f0) / h
    d2 = (phi(h / 2) - f0) / (h / 2)
    value = 2 * d2 - d1
    noise = EVALUATION_ERROR * max(abs(f0), 1e-300) / abs(h / 2) * 3
    return Estimate(value, abs(d2 - d1) + noise, "right" if side > 0 else "left", 2)


def _central(phi: Phi, h: float) -> float:
    return (phi(h) - phi(-h)) / (2 * h)
