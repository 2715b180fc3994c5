"""The points a gradient is checked at: the model's example, points of the caller's own, and
random points drawn inside each variable's domain (what the model declares, met with what its
expressions need). ``symgrad.strategies`` draws from the same domains for Hypothesis."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from ..codegen import CompiledGradient
from ..derivation import Derivation
from ..domains import LABELS, REAL, Domain, check_labels, needed_domains
from ..errors import SymgradError
from ..model import as_value

REDRAWS = 50  # tries to draw a random point where the loss is finite


def domains_of(derivation) -> dict[str, Domain]:
    """Every variable's domain: declared, met with what the expressions need."""
    needs = needed_domains(derivation)
    out = {}
    for variable in derivation.variables:
        declared = variable.domain if variable.domain is not None else REAL
        needed = needs.get(variable.name, REAL)
        if declared is LABELS:  # whole numbers, as many as the one-hot or the indexed axis says
            if needed.values is None:
                raise SymgradError(
                    f"{variable.name} is declared labels, but no one_hot, cross_entropy or "
                    "index says how many classes; declare domain=('labels', C)",
                    variable.where,
                )
            declared = needed
        out[variable.name] = declared.meet(needed, variable.name)
    return out


def shapes_of(derivation, example: Mapping | None = None) -> dict[str, tuple[int, ...]]:
    """The array shape of each argument: the example's (a batch for a scalar model) or the
    declared one."""
    example = derivation.example if example is None else example
    shapes = {}
    for name in derivation.arguments:
        if name in example:
            shapes[name] = np.shape(example[name])
        else:
            shapes[name] = derivation.variable(name).shape
    return shapes


def scales_of(derivation, example: Mapping | None = None) -> dict[str, float]:
    """How widely to spread each unbounded variable: the size of its example value, at least 1."""
    example = derivation.example if example is None else example
    out = {}
    for name in derivation.arguments:
        value = example.get(name)
        rms = float(np.sqrt(np.mean(np.square(value)))) if value is not None else 0.0
        out[name] = max(1.0, rms) if math.isfinite(rms) else 1.0
    return out


def random_point(derivation, rng: np.random.Generator, domains=None, shapes=None, scales=None):
    """One point: every argument drawn inside its domain, float64, shaped as ``shapes_of``."""
    domains = domains or domains_of(derivation)
    shapes = shapes if shapes is not None else shapes_of(derivation)
    scales = scales or scales_of(derivation)
    point = {}
    for name in derivation.arguments:
        value = domains[name].sample(rng, shapes[name], scales[name])
        point[name] = float(value) if np.ndim(value) == 0 else np.asarray(value, np.float64)
    return point


def points_to_check(
    d: Derivation, n: int, seed: int, at, oracle: CompiledGradient, notes: list[str]
) -> tuple[list[str], list[dict]]:
    """The labels and values of the points to check: the example (or the caller's points
    ``at``), then ``n`` random points where the loss is finite. What the report should say
    about them is added to ``notes``."""
    labels, chosen = [], []
    example = dict(d.example)
    if at:  # points of the caller's own are checked instead of the example
        example = {}
    if all(name in example for name in d.arguments):
        check_labels(d, example, "the example")
        labels.append("the example")
        chosen.append({name: example[name] for name in d.arguments})
    elif example:  # a partial example is not checked; the report says so
        missing = ", ".join(name for name in d.arguments if name not in example)
        notes.append(f"the example gives no value for {missing}, so it was not checked")
    shapes = shapes_of(d)
    for i, extra in enumerate(at):
        if not isinstance(extra, Mapping):
            raise SymgradError(f"point {i + 1} of at= must be a dict of values, got {extra!r:.60}")
        missing = [name for name in d.arguments if name not in extra]
        if missing:
            raise SymgradError(f"point {i + 1} of at= gives no value for {', '.join(missing)}")
        point = {}
        for name in d.arguments:
            what = f"point {i + 1} of at=: {name}"
            value = as_value(extra[name], what, shape=d.variable(name).shape or None)
            if np.shape(value) != tuple(shapes[name]) and d.is_tensor:
                raise SymgradError(f"{what} has shape {np.shape(value)}, not {tuple(shapes[name])}")
            point[name] = value
        check_labels(d, point, f"point {i + 1} of at=")
        labels.append(f"given point {i + 1}")
        chosen.append(point)
    if n:
        domains = domains_of(d)
        scales = scales_of(d)
        rng = np.random.default_rng(seed)
        redrawn = 0
        for i in range(n):
            for _ in range(REDRAWS):
                point = random_point(d, rng, domains, shapes, scales)
                with np.errstate(all="ignore"):
                    if np.isfinite(oracle.forward(**point)):
                        break
                redrawn += 1
            else:
                notes.append(
                    f"random point {i + 1}: the loss was not finite at {REDRAWS} draws; "
                    "kept the last"
                )
            labels.append(f"random point {i + 1}")
            chosen.append(point)
        if redrawn:
            notes.append(
                f"{redrawn} random draw(s) gave a loss that is not finite and were drawn again"
            )
        constrained = {
            k: str(v) for k, v in domains.items() if str(v) != "real" and k in d.arguments
        }
        if constrained:
            notes.append("domains: " + ", ".join(f"{k} {v}" for k, v in constrained.items()))
    if not chosen:
        raise SymgradError(
            f"model {d.model!r} has no complete example point and no random points were asked "
            "for; give m.example(...) a value for every variable, or points ≥ 1"
        )
    return labels, chosen
