"""Hypothesis: random small graphs built from the rule table, at random points, agree with
PyTorch autograd. The torch side is built from the same recipe by its own interpreter, not by
symgrad's printers, so a printer bug cannot hide a derivative bug."""

import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import symgrad
from symgrad import Model

torch = pytest.importorskip("torch")

# Unary operations on a quantity a, written safely for any real a: (symgrad, torch).
UNARY = {
    "sigmoid": (symgrad.sigmoid, torch.sigmoid),
    "tanh": (symgrad.tanh, torch.tanh),
    "relu": (symgrad.relu, torch.relu),
    "softplus": (symgrad.softplus, lambda a: torch.logaddexp(a, torch.zeros_like(a))),
    "exp": (lambda a: symgrad.exp(a / 4), lambda a: torch.exp(a / 4)),
    "log": (lambda a: symgrad.log(a**2 + 1), lambda a: torch.log(a**2 + 1)),
    "sqrt": (lambda a: symgrad.sqrt(a**2 + 1), lambda a: torch.sqrt(a**2 + 1)),
    "sin": (symgrad.sin, torch.sin),
    "cos": (symgrad.cos, torch.cos),
    "abs": (abs, torch.abs),
    "square": (lambda a: a**2, lambda a: a**2),
    "cube": (lambda a: a**3, lambda a: a**3),
    "neg": (lambda a: -a, lambda a: -a),
}
# Binary operations on quantities a, b.
BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "sub": (lambda a, b: a - b, lambda a, b: a - b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "div": (lambda a, b: a / (b**2 + 1), lambda a, b: a / (b**2 + 1)),
    "max": (symgrad.Max, torch.maximum),
    "min": (symgrad.Min, torch.minimum),
    "affine": (lambda a, b: 0.5 * a - 1.5 * b + 0.25, lambda a, b: 0.5 * a - 1.5 * b + 0.25),
}
LOSSES = {
    "bce": (
        lambda q, y: symgrad.bce(symgrad.sigmoid(q), y),
        lambda q, y: -(y * torch.log(torch.sigmoid(q)) + (1 - y) * torch.log(1 - torch.sigmoid(q))),
    ),
    "squared_error": (symgrad.squared_error, lambda q, y: (q - y) ** 2),
    "mse": (
        lambda q, y: symgrad.mse([q, q * y], [y, 1]),
        lambda q, y: ((q - y) ** 2 + (q * y - 1) ** 2) / 2,
    ),
    "sum_squares": (lambda q, y: symgrad.sum_squares(q, y * q), lambda q, y: q**2 + (y * q) ** 2),
}


@st.composite
def recipes(draw):
    """A random DAG: 1–3 params and an input x; 1–6 nodes, each an operation on earlier
    quantities; a loss of the last node and a target y in (0, 1)."""
    n_params = draw(st.integers(1, 3))
    steps = []
    for i in range(draw(st.integers(1, 6))):
        available = n_params + 1 + i  # params, x, earlier nodes
        if draw(st.booleans()):
            steps.append(
                ("unary", draw(st.sampled_from(sorted(UNARY))), draw(st.integers(0, available - 1)))
            )
        else:
            a, b = draw(st.integers(0, available - 1)), draw(st.integers(0, available - 1))
            steps.append(("binary", draw(st.sampled_from(sorted(BINARY))), a, b))
    loss = draw(st.sampled_from(sorted(LOSSES)))
    finite = st.floats(-2, 2, allow_nan=False, allow_infinity=False)
    point = {f"p{i}": draw(finite) for i in range(n_params)}
    point["x"] = draw(finite)
    point["y"] = draw(st.floats(0.05, 0.95))
    return n_params, steps, loss, point


def build(n_params, steps, loss):
    m = Model("random")
    x, y = m.inputs("x y")
    params = m.params(" ".join(f"p{i}" for i in range(n_params)) + ",")
    quantities = [*params, x]
    for i, step in enumerate(steps):
        if step[0] == "unary":
            expr = UNARY[step[1]][0](quantities[step[2]])
        else:
            expr = BINARY[step[1]][0](quantities[step[2]], quantities[step[3]])
        quantities.append(m.node(f"n{i}", expr))
    m.loss("L", LOSSES[loss][0](quantities[-1], y))
    return m


def autograd(n_params, steps, loss, point):
    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in point.items()}
    quantities = [t[f"p{i}"] for i in range(n_params)] + [t["x"]]
    for step in steps:
        if step[0] == "unary":
            quantities.append(UNARY[step[1]][1](quantities[step[2]]))
        else:
            quantities.append(BINARY[step[1]][1](quantities[step[2]], quantities[step[3]]))
    value = LOSSES[loss][1](quantities[-1], t["y"])
    value.backward()
    return value.item(), {k: (0.0 if v.grad is None else v.grad.item()) for k, v in t.items()}


def near_a_kink(derivation, values):
    """Within rounding of a kink two correct one-sided derivatives differ (the verifier's
    business, not this test's)."""
    for _, kink in derivation.kinks:
        subs = {s: values[s.name] for s in kink.free_symbols}
        if abs(float(kink.xreplace(subs))) < 1e-9:
            return True
    return False


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recipes())
@pytest.mark.slow
def test_random_graphs_agree_with_autograd(recipe):
    n_params, steps, loss, point = recipe
    derivation = symgrad.derive(build(n_params, steps, loss), wrt=[*point])
    values = {**point, **symgrad.compile(derivation).trace(**point).values}
    assume(not near_a_kink(derivation, values))
    expected_loss, expected = autograd(n_params, steps, loss, point)
    # Saturated points (sigmoid(4096) == 1, so log(1 − 1)) are undefined for every method.
    assume(np.isfinite(expected_loss) and np.all(np.isfinite(list(expected.values()))))
    for backend in ("numpy", "torch"):
        value, gradients = symgrad.compile(derivation, backend)(**point)
        assert float(value) == pytest.approx(expected_loss, rel=1e-10, abs=1e-12)
        for name in point:
            got, want = float(gradients[name]), expected[name]
            assert got == pytest.approx(want, rel=1e-9, abs=1e-11), (backend, name, recipe)


@settings(max_examples=50, deadline=None)
@given(recipes())
def test_batches_reduce_like_per_sample_sums(recipe):
    """A batch of points gives the mean of the per-sample gradients."""
    n_params, steps, loss, point = recipe
    assume(np.isfinite(autograd(n_params, steps, loss, point)[0]))
    derivation = symgrad.derive(build(n_params, steps, loss))
    grad = symgrad.compile(derivation)
    xs = np.array([point["x"], point["x"] / 2 + 0.1, -point["x"]])
    batch = grad(**{**point, "x": xs})[1]
    singles = [grad(**{**point, "x": float(x)})[1] for x in xs]
    for name in derivation.wrt:
        mean = sum(float(g[name]) for g in singles) / len(xs)
        assert float(batch[name]) == pytest.approx(mean, rel=1e-10, abs=1e-12)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recipes(), st.sampled_from(["numpy", "torch"]))
def test_a_large_batch_in_kept_arrays_equals_the_plain_code(recipe, backend):
    """Past KEPT_SIZE samples the generated code writes into kept arrays, by a plan of its
    own; it must give what the plain code gives, which the tests above hold to autograd."""
    n_params, steps, loss, point = recipe
    derivation = symgrad.derive(build(n_params, steps, loss))
    grad = symgrad.compile(derivation, backend)
    size = symgrad.codegen.buffers.KEPT_SIZE
    rng = np.random.default_rng(0)
    batch = {
        **point,
        "x": point["x"] + rng.uniform(-1, 1, size),
        "y": rng.uniform(0.05, 0.95, size),
    }
    namespace = sys.modules[grad.function.__module__].__dict__
    calls = []
    kept_function = namespace["_loss_and_grad_kept"]
    namespace["_loss_and_grad_kept"] = lambda *a: calls.append(1) or kept_function(*a)
    try:
        kept_loss, kept = grad(**batch)
    finally:
        namespace["_loss_and_grad_kept"] = kept_function
    assert calls, "the kept path was not taken"
    shape = namespace["_batch_shape"]
    namespace["_batch_shape"] = lambda *_: None
    try:
        plain_loss, plain = grad(**batch)
    finally:
        namespace["_batch_shape"] = shape
    assert float(kept_loss) == pytest.approx(float(plain_loss), rel=1e-12, nan_ok=True)
    for name in derivation.wrt:
        got, want = np.asarray(kept[name]).item(), np.asarray(plain[name]).item()
        assert got == pytest.approx(want, rel=1e-11, abs=1e-13, nan_ok=True), name
