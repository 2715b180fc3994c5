"""No false alarms: correct gradients pass at hundreds of random points, in float64 and in
float32, and points placed at and next to kinks come out *non-differentiable point*, never
*mismatch*."""

from __future__ import annotations

import numpy as np
import pytest

import symgrad
from symgrad import Abs, Max, Model, relu

from .conftest import EXAMPLES, load_example

# minutes of sweeps: CI runs them (python -m pytest -m slow); the everyday run leaves them out
pytestmark = pytest.mark.slow


EXAMPLE_FILES = sorted(path.name for path in EXAMPLES.glob("*.py"))
SWEEP = 200


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("example", EXAMPLE_FILES)
def test_no_false_alarm_over_random_points(example, dtype):
    report = symgrad.verify(load_example(example), points=SWEEP, dtype=dtype, seed=2026)
    assert len(report.points) >= SWEEP
    assert report.ok, str(report)
    assert all(row.fd_checked >= SWEEP for row in report.rows.values())


def kinked_model() -> Model:
    """relu, abs and max in one scalar model, each with its own kink."""
    m = Model("kinks")
    x, y = m.inputs("x y")
    w, b, c, u, v = m.params("w b c u v")
    z = m.node("z", w * x + b)
    h = m.node("h", relu(z))
    a = m.node("a", Abs(c * x - 1))
    t = m.node("t", Max(u, v))
    m.loss("L", (h + a + t - y) ** 2)
    m.example(x=2.0, y=1.0, w=0.5, b=0.3, c=0.2, u=0.1, v=0.4)
    return m


def kink_points(rng, n: int, offsets=(0.0, 1e-12, -1e-12, 1e-9, -1e-9)):
    """Points with relu's, abs's or max's argument at its kink or a hair's breadth away."""
    for i in range(n):
        x = float(rng.uniform(0.5, 2.0))
        w, c, u = (float(v) for v in rng.normal(size=3))
        offset = offsets[i % len(offsets)]
        point = {"x": x, "y": float(rng.normal()), "w": w, "c": c, "u": u, "v": float(rng.normal())}
        point["b"] = float(rng.normal())
        if i % 3 == 0:
            point["b"] = -w * x + offset  # relu's argument w x + b at (or by) 0
        elif i % 3 == 1:
            point["c"] = (1 + offset) / x  # abs's argument c x − 1 at (or by) 0
        else:
            point["v"] = u + offset  # max(u, v) at a tie
        yield point


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_points_at_and_next_to_kinks_are_non_differentiable_not_mismatches(dtype):
    rng = np.random.default_rng(3)
    points = list(kink_points(rng, 60))
    report = symgrad.verify(kinked_model(), at=points, points=0, dtype=dtype)
    assert report.ok, str(report)
    labelled = {f.point for f in report.findings if f.kind == "non-differentiable point"}
    given = [i for i, label in enumerate(report.points) if label.startswith("given")]
    assert set(given) <= labelled, str(report)
    for f in report.findings:
        if f.kind == "non-differentiable point":
            assert f.left is not None and f.right is not None and f.between


def test_a_kink_inside_the_seed_004_mlp_is_labelled():
    m = load_example("seed004_relu_mlp.py")
    point = {k: np.array(v) for k, v in m.example_point.items()}
    i, j, k = 3, 7, 11  # put hidden unit (3, 7) exactly at relu's kink
    point["w1"][k, j] -= (point["x"][i] @ point["w1"][:, j]) / point["x"][i, k]
    report = symgrad.verify(m, at=[point], points=0)
    assert report.ok, str(report)
    kinks = [
        f for f in report.findings if f.kind == "non-differentiable point" and f.point == 0
    ]  # the only point
    assert kinks and "relu in hidden" in kinks[0].detail and "[3, 7]" in kinks[0].detail


def test_a_subgradient_that_is_not_between_left_and_right_is_a_mismatch():
    """At relu's kink any value between the one-sided derivatives is a fair subgradient; one
    outside them is wrong."""
    m = Model("relu_kink")
    x = m.inputs("x")
    w, b = m.params("w b")
    m.loss("L", relu(w * x + b))
    m.example(x=1.0, w=0.5, b=-0.5)  # w x + b = 0: left derivative 0, right 1 (for w and b)
    fair = symgrad.verify(m, against=lambda x, w, b: {"w": 1.0 * x, "b": 1.0}, points=0)
    assert fair.ok, str(fair)
    assert {f.kind for f in fair.findings} == {"non-differentiable point"}
    outside = symgrad.verify(m, against=lambda x, w, b: {"w": 3.0 * x, "b": 1.0}, points=0)
    assert not outside.ok
    assert {f.variable for f in outside.mismatches} == {"w"}


def test_finite_differences_that_cannot_resolve_a_function_are_called_noise_not_a_mismatch():
    """sin(10⁸ w) turns over in 10⁻⁸: no finite step resolves it (abs elsewhere in the loss
    rules out the complex step). The analytic witnesses agree, so the verdict stands."""
    m = Model("fast_wiggle")
    w, v = m.params("w v")
    m.loss("L", symgrad.sin(10**8 * w) + Abs(v))
    m.example(w=0.3, v=0.5)
    report = symgrad.verify(m, points=5)
    assert report.ok, str(report)
    noise = [f for f in report.findings if f.kind == "finite-difference noise"]
    assert noise and {f.variable for f in noise} == {"w"}


def test_a_subgradient_is_one_vector_not_one_number_per_variable():
    """At a tie of max(a, b), ∂/∂a = 1 and ∂/∂b = 0 (or ½ and ½) is a subgradient; 1 and 1 is
    not, though each number alone lies between its variable's left and right derivatives."""
    m = Model("tie")
    a, b = m.params("a b")
    m.loss("L", Max(a, b))
    m.example(a=0.5, b=0.5)
    for right in ({"a": 1.0, "b": 0.0}, {"a": 0.5, "b": 0.5}, {"a": 0.0, "b": 1.0}):
        assert symgrad.verify(m, against=lambda a, b, g=right: g, points=0).ok, right
    both = symgrad.verify(m, against=lambda a, b: {"a": 1.0, "b": 1.0}, points=0)
    assert not both.ok
    assert {f.variable for f in both.mismatches} == {"a", "b"}
    assert all("together (a, b) they are not" in f.detail for f in both.mismatches)
