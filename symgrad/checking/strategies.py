"""Hypothesis strategies for a model's values, drawn inside each variable's domain: the points
``symgrad verify`` checks, for your own properties.

    from hypothesis import given
    from symgrad import strategies

    @given(strategies.points(model))
    def test_my_backward(point):
        assert_gradients(model, against=my_backward, at=[point], points=0)

A domain is what the model declares (``m.params("p", domain="probability")``) met with what
its expressions need (``log(x)``: x positive). Arrays take the shape of the example's value (a
batch, for a scalar model) or the declared shape.
"""

from __future__ import annotations

import math

import numpy as np

try:
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError as error:  # pragma: no cover - hypothesis is in the test extra
    raise ImportError(
        "symgrad.strategies needs Hypothesis: pip install hypothesis (or 'symgrad[test]')"
    ) from error

from ..derivation import Derivation, derive
from ..domains import Domain
from ..model import Model
from .points import domains_of, scales_of, shapes_of

SPREAD = 4.0  # an unbounded variable takes values within this many of its scales


def elements(domain: Domain, scale: float = 1.0) -> st.SearchStrategy[float]:
    """Floats inside ``domain``; open ends kept 1% of the width away (as the verifier's draws)."""
    if domain.values is not None:
        return st.sampled_from([float(v) for v in domain.values])
    low, high = domain.low, domain.high
    if math.isfinite(low) and math.isfinite(high):
        margin = 0.01 * (high - low)
        return st.floats(
            low if domain.low_closed else low + margin,
            high if domain.high_closed else high - margin,
        )
    if math.isfinite(low):
        return st.floats(low + 1e-3 * scale, low + SPREAD * scale)
    if math.isfinite(high):
        return st.floats(high - SPREAD * scale, high - 1e-3 * scale)
    return st.floats(-SPREAD * scale, SPREAD * scale)


def values(domain: Domain, shape: tuple[int, ...] = (), scale: float = 1.0):
    """A float (shape ``()``) or a float64 array of ``shape`` inside ``domain``."""
    inner = elements(domain, scale)
    if not shape:
        return inner
    return hnp.arrays(np.float64, shape, elements=inner)


def points(model: Model | Derivation, *, finite: bool = True) -> st.SearchStrategy[dict]:
    """Dicts of every value the model's gradient takes, each inside its variable's domain; with
    ``finite``, only points where the loss is finite (a composite argument of ``log`` can still
    be negative at a point drawn inside every domain)."""
    d = model if isinstance(model, Derivation) else derive(model)
    domains, shapes, scales = domains_of(d), shapes_of(d), scales_of(d)
    strategy = st.fixed_dictionaries(
        {name: values(domains[name], shapes[name], scales[name]) for name in d.arguments}
    )
    if not finite:
        return strategy
    from ..codegen import compile

    forward = compile(d, "numpy").forward

    def loss_is_finite(point) -> bool:
        with np.errstate(all="ignore"):
            return bool(np.isfinite(forward(**point)))

    return strategy.filter(loss_is_finite)
