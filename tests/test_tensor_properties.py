"""Hypothesis: random compositions of the matrix operations on random small shapes agree with
PyTorch autograd. The torch side is built from the same recipe by its own interpreter."""

import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import symgrad
from symgrad import Model
from symgrad import tensors as T

torch = pytest.importorskip("torch")

UNARY = {  # entry by entry, safe for every real input: (symgrad, torch)
    "sigmoid": (symgrad.sigmoid, torch.sigmoid),
    "tanh": (symgrad.tanh, torch.tanh),
    "relu": (symgrad.relu, torch.relu),
    "softplus": (symgrad.softplus, lambda a: torch.logaddexp(a, torch.zeros_like(a))),
    "exp": (lambda a: symgrad.exp(a / 4), lambda a: torch.exp(a / 4)),
    "log": (lambda a: symgrad.log(a**2 + 1), lambda a: torch.log(a**2 + 1)),
    "sqrt": (lambda a: symgrad.sqrt(a**2 + 1), lambda a: torch.sqrt(a**2 + 1)),
    "abs": (abs, torch.abs),
    "square": (lambda a: a**2, lambda a: a**2),
    "affine": (lambda a: 1.5 - 0.5 * a, lambda a: 1.5 - 0.5 * a),
}
LOSSES = {
    "sum": (T.sum, torch.sum),
    "mean": (T.mean, torch.mean),
    "sum_squares": (symgrad.sum_squares, lambda a: (a**2).sum()),
    "norm": (lambda a: T.norm(a + 1), lambda a: torch.linalg.matrix_norm(a + 1)),
    "log_softmax": (lambda a: T.sum(T.log_softmax(a)), lambda a: torch.log_softmax(a, 1).sum()),
}


@st.composite
def recipes(draw):
    """A chain of matrix operations from a random-shaped parameter, with new parameters of
    compatible shapes drawn as the operations need them."""
    dim = st.integers(1, 4)
    shapes = {"P0": (draw(dim), draw(dim))}
    steps = []
    current = "P0"
    shape = shapes["P0"]
    for i in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["matmul", "transpose", "bias", "scale", "hadamard", "unary",
                                     "axis_sum", "softmax", "square_ops", "sandwich"]))  # fmt: skip
        name = f"P{len(shapes)}"
        if kind == "matmul":
            shapes[name] = (shape[1], draw(dim))
            steps.append(("matmul", current, name))
            shape = (shape[0], shapes[name][1])
        elif kind == "transpose":
            steps.append(("transpose", current))
            shape = (shape[1], shape[0])
        elif kind == "bias":
            shapes[name] = (shape[1],) if draw(st.booleans()) else (shape[0], 1)
            steps.append(("bias", current, name))
        elif kind == "scale":
            shapes[name] = ()
            steps.append(("scale", current, name))
        elif kind == "hadamard":
            shapes[name] = shape
            steps.append(("hadamard", current, name))
        elif kind == "unary":
            steps.append(("unary", current, draw(st.sampled_from(sorted(UNARY)))))
        elif kind == "axis_sum":
            axis = draw(st.sampled_from([0, 1]))
            steps.append(("axis_sum", current, axis))
            shape = (1, shape[1]) if axis == 0 else (shape[0], 1)
        elif kind == "softmax":
            steps.append(("softmax", current, draw(st.sampled_from([0, 1]))))
        elif kind == "sandwich":  # the same factor twice in one product
            # once per chain: A Aᵀ A of A Aᵀ A … tends to rank one, and a log-det of that is
            # ill-conditioned beyond what any two correct programs agree on
            if any(step[0] == "sandwich" for step in steps):
                steps.append(("transpose", current))
                shape = (shape[1], shape[0])
            else:
                steps.append(("sandwich", current))
        elif kind == "square_ops":  # S = A Aᵀ + 2I is square and well conditioned
            steps.append(("square_ops", current, draw(st.sampled_from(["trace", "logdet", "inv"]))))
            shape = (shape[0], shape[0]) if steps[-1][2] == "inv" else (1, 1)
        current = f"n{i}"
    loss = draw(st.sampled_from(sorted(LOSSES)))
    seed = draw(st.integers(0, 2**16))
    return shapes, steps, loss, seed


def build(shapes, steps, loss):
    m = Model("random_tensor")
    q = {name: m.param(name, shape) for name, shape in shapes.items()}
    for i, step in enumerate(steps):
        kind, a = step[0], q[step[1]]
        if kind == "matmul":
            value = a @ q[step[2]]
        elif kind == "transpose":
            value = a.T
        elif kind == "bias":
            value = a + q[step[2]]
        elif kind == "scale":
            value = q[step[2]] * a
        elif kind == "hadamard":
            value = a * q[step[2]]
        elif kind == "unary":
            value = UNARY[step[2]][0](a)
        elif kind == "axis_sum":
            value = T.sum(a, axis=step[2], keepdims=True)
        elif kind == "softmax":
            value = T.softmax(a, axis=step[2])
        elif kind == "sandwich":
            value = a @ a.T @ a
        else:
            n = a.shape[0]
            square = a @ a.T + 2 * T.Tensor(sympy.Identity(n))
            one = T.Tensor(sympy.OneMatrix(1, 1))  # a scalar back into a 1×1 matrix
            if step[2] == "inv":
                value = T.inv(square)
            else:
                value = (T.trace(square) if step[2] == "trace" else T.logdet(square)) * one
        q[f"n{i}"] = m.node(f"n{i}", value)
    m.loss("L", LOSSES[loss][0](q[f"n{len(steps) - 1}"]))
    return m


def reference(shapes, steps, loss, values):
    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in values.items()}
    q = {k: (v.reshape(1, -1) if len(shapes[k]) == 1 else v) for k, v in t.items()}
    for i, step in enumerate(steps):
        kind, a = step[0], q[step[1]]
        if kind == "matmul":
            value = a @ q[step[2]]
        elif kind == "transpose":
            value = a.T
        elif kind == "bias":
            value = a + q[step[2]]
        elif kind == "scale":
            value = q[step[2]] * a
        elif kind == "hadamard":
            value = a * q[step[2]]
        elif kind == "unary":
            value = UNARY[step[2]][1](a)
        elif kind == "axis_sum":
            value = a.sum(step[2], keepdim=True)
        elif kind == "softmax":
            value = torch.softmax(a, step[2])
        elif kind == "sandwich":
            value = a @ a.T @ a
        else:
            square = a @ a.T + 2 * torch.eye(a.shape[0], dtype=torch.float64)
            if step[2] == "inv":
                value = torch.linalg.inv(square)
            else:
                scalar = torch.trace(square) if step[2] == "trace" else torch.logdet(square)
                value = scalar.reshape(1, 1)
        q[f"n{i}"] = value
    result = LOSSES[loss][1](q[f"n{len(steps) - 1}"])
    result.backward()
    return result.item(), {k: v.grad.numpy() for k, v in t.items()}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recipes())
def test_random_matrix_compositions_agree_with_autograd(recipe):
    shapes, steps, loss, seed = recipe
    rng = np.random.default_rng(seed)
    values = {
        k: rng.uniform(-1.5, 1.5, size=s) if s else float(rng.uniform(-1.5, 1.5))
        for k, s in shapes.items()
    }
    model = build(shapes, steps, loss)
    d = symgrad.derive(model)
    # Values are drawn from a continuous distribution, so no relu or abs sits exactly at its kink.
    expected_loss, expected = reference(shapes, steps, loss, values)
    assume(np.isfinite(expected_loss))
    for backend in ("numpy", "torch"):
        got_loss, grads = symgrad.compile(d, backend)(**values)
        assert float(got_loss) == pytest.approx(expected_loss, rel=1e-9, abs=1e-12)
        for name in shapes:
            got = grads[name].numpy() if backend == "torch" else np.asarray(grads[name])
            want = expected[name]
            assert got.shape == np.shape(values[name])
            np.testing.assert_allclose(
                got, want, rtol=1e-8, atol=1e-10, err_msg=f"{backend} {name} {recipe}"
            )
