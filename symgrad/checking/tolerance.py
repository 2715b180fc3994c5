"""How far a right gradient may lie from the oracle at one point: an *estimate of rounding
error* measured there (the oracle evaluated again in float32 shows how much rounding moves each
gradient; float64 rounding is that, scaled by the ratio of unit roundoffs), not a fixed
``atol``."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np

from ..codegen import CompiledGradient
from ..derivation import Derivation
from .witnesses import numpy_args

UNIT_ROUNDOFF = {"float64": 2.0**-53, "float32": 2.0**-24}
# Claims agree with the oracle within this many estimated rounding errors. The estimate is
# measured (see ``Tolerance``), so the margin only absorbs how rounding varies between programs
# computing the same numbers in a different order.
ROUNDING_MARGIN = 64.0
# Below the smallest normal number a float keeps fewer digits (3.6e-312 has 12 bits), so two
# right programs differ there by more than any relative rounding; that far down they agree.
SUBNORMAL = {
    "float64": float(np.finfo(np.float64).tiny),
    "float32": float(np.finfo(np.float32).tiny),
}
ROUNDING_CAP = 2.0**-12  # rounding explains no more than this in float32 (4096 float32 ulps)
BRANCH_FLIP = 1e-2  # a float32 entry this far off took another branch; it is not rounding
EXPLANATION = 1e-4  # the relative error within which explanations compare (see loose_close)

Close = Callable[..., object]  # close(a, b, entrywise=False): bool, or a bool array


class Tolerance:
    """The tolerance of each gradient entry at one point, for each precision."""

    def __init__(
        self,
        d: Derivation,
        oracle: CompiledGradient,
        point: Mapping,
        expected: dict[str, np.ndarray],
    ):
        self.expected = expected
        # the typical size of each gradient, floored by the largest one: a gradient that is 0
        # (exactly, or by cancellation) is compared on the scale of its neighbours, not of 0
        sizes = {k: float(np.mean(np.abs(v))) if v.size else 0.0 for k, v in expected.items()}
        floor = max([*sizes.values(), 1e-300])
        finite = floor if math.isfinite(floor) else 1.0
        self.scale = {
            k: max(v, finite) if v == 0 or not math.isfinite(v) else v for k, v in sizes.items()
        }
        self.rounding = self._rounding(d, oracle, point)

    def _rounding(self, d, oracle, point) -> dict[str, dict[str, float]]:
        """Relative rounding error of each gradient at this point, per precision: measured by
        evaluating the oracle in float32, and scaled down by the ratio of unit roundoffs for
        float64."""
        measured = {name: UNIT_ROUNDOFF["float32"] for name in d.wrt}
        with np.errstate(all="ignore"):
            try:
                _, low = oracle(**numpy_args(point, d.arguments, "float32"))
            except Exception:
                low = None
            if low is not None:
                for name in d.wrt:
                    diff = np.abs(np.asarray(low[name], np.float64) - self.expected[name])
                    rel = np.ravel(diff / (np.abs(self.expected[name]) + self.scale[name]))
                    # an entry whose float32 run took the other side of a kink moved by more than
                    # rounding: the kink checks judge it, and it must not widen every tolerance.
                    # Without kinks a large move is cancellation (σ − y with σ ≈ y: float32's
                    # rounding of σ is most of the difference), which rounding does explain.
                    rel = rel[np.isfinite(rel) & ((rel <= BRANCH_FLIP) | (not d.kinks))]
                    if rel.size:
                        measured[name] = min(max(measured[name], float(np.max(rel))), 1.0)
        ratio = UNIT_ROUNDOFF["float64"] / UNIT_ROUNDOFF["float32"]
        # a float32 claim is held within ROUNDING_CAP however much float32 cancels; float64's
        # estimate is the measurement scaled, which stays far below any wrong gradient
        return {
            "float32": {k: min(v, ROUNDING_CAP) for k, v in measured.items()},
            "float64": {k: max(v * ratio, UNIT_ROUNDOFF["float64"]) for k, v in measured.items()},
        }

    def of(self, name: str, dtype: str) -> np.ndarray:
        """The largest difference from the oracle, entry by entry, that rounding explains."""
        return (
            ROUNDING_MARGIN
            * self.rounding[dtype][name]
            * (np.abs(self.expected[name]) + self.scale[name])
            + SUBNORMAL[dtype]
        )

    def close(self, dtype: str) -> Close:
        """``close(claimed, expected)`` with this point's tolerances (for patterns)."""
        rel = max(self.rounding[dtype].values())

        def close(a, b, entrywise=False):
            a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
            if a.shape != b.shape:
                return np.zeros(b.shape, bool) if entrywise else False
            scale = max(float(np.mean(np.abs(b))), 1e-300)
            ok = np.abs(a - b) <= ROUNDING_MARGIN * rel * (np.abs(b) + scale) + SUBNORMAL[dtype]
            return ok if entrywise else bool(ok.all())

        return close


def loose_close(a, b, entrywise=False):
    """Closeness for explanations (hypotheses, adjoints), relative to the largest entry of
    ``b``: a little looser than the verdict, which already stands."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        return np.zeros(b.shape, bool) if entrywise else False
    scale = max(float(np.max(np.abs(b))) if b.size else 0.0, 1e-300)
    ok = np.abs(a - b) <= EXPLANATION * (np.abs(b) + scale)
    return ok if entrywise else bool(ok.all())
