"""Convolution, pooling and running sums in a model, against PyTorch: F.conv1d/F.conv2d,
F.max_pool*/F.avg_pool*, torch.cumsum/cumprod compute the values and torch autograd the
gradients and Hessian-vector products; the shapes are PyTorch's."""

from __future__ import annotations

import numpy as np
import pytest

import symgrad
from symgrad import Model, SymgradError

torch = pytest.importorskip("torch")
F = torch.nn.functional


def check(build, reference, arrays: dict, wrt: tuple):
    """The model ``build`` makes against ``reference`` (torch on a dict of tensors): loss and
    gradient in both backends, and H·v in NumPy."""
    m = Model("windows")
    declared = {
        name: (m.param(name, a.shape) if name in wrt else m.input(name, a.shape))
        for name, a in arrays.items()
    }
    m.loss("L", build(declared))
    m.example(**arrays)
    d = symgrad.derive(m)
    leaves = {k: torch.tensor(v, requires_grad=k in wrt) for k, v in arrays.items()}
    loss = reference(leaves)
    grads = torch.autograd.grad(loss, [leaves[k] for k in wrt], create_graph=True)
    rng = np.random.default_rng(1)
    directions = {k: rng.normal(size=arrays[k].shape) for k in wrt}
    directional = sum(
        (g * torch.tensor(directions[k])).sum() for g, k in zip(grads, wrt, strict=True)
    )
    hvp = torch.autograd.grad(directional, [leaves[k] for k in wrt], allow_unused=True)
    for backend in ("numpy", "torch"):
        value, gradient = symgrad.compile(d, backend)(**d.example)
        assert float(value) == pytest.approx(loss.item(), rel=1e-12), backend
        for name, want in zip(wrt, grads, strict=True):
            got = gradient[name]
            got = got.numpy() if hasattr(got, "numpy") else got
            np.testing.assert_allclose(
                got, want.detach().numpy(), rtol=1e-10, atol=1e-12, err_msg=name
            )
    products = symgrad.hessian(m).compile("numpy").hvp(directions, **d.example)
    for name, want in zip(wrt, hvp, strict=True):
        expected = np.zeros(arrays[name].shape) if want is None else want.numpy()
        np.testing.assert_allclose(products[name], expected, rtol=1e-9, atol=1e-11, err_msg=name)
    return d


RNG = np.random.default_rng(0)


@pytest.mark.parametrize(
    ("stride", "padding", "dilation"), [(1, 0, 1), (2, 1, 1), (1, 2, 2), (3, 0, 1)]
)
def test_conv1d_equals_torch(stride, padding, dilation):
    arrays = {"x": RNG.normal(size=(2, 3, 9)), "w": RNG.normal(size=(4, 3, 3))}
    check(
        lambda v: symgrad.sum(
            symgrad.tanh(symgrad.conv1d(v["x"], v["w"], stride, padding, dilation))
        ),
        lambda t: torch.tanh(F.conv1d(t["x"], t["w"], None, stride, padding, dilation)).sum(),
        arrays,
        ("x", "w"),
    )


@pytest.mark.parametrize(("stride", "padding", "dilation"), [(1, 1, 1), ((2, 1), (0, 1), (1, 2))])
def test_conv2d_equals_torch(stride, padding, dilation):
    arrays = {"x": RNG.normal(size=(2, 2, 6, 7)), "w": RNG.normal(size=(3, 2, 3, 2))}
    check(
        lambda v: symgrad.sum(symgrad.conv2d(v["x"], v["w"], stride, padding, dilation) ** 2),
        lambda t: (F.conv2d(t["x"], t["w"], None, stride, padding, dilation) ** 2).sum(),
        arrays,
        ("x", "w"),
    )


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize(("kernel", "stride", "padding"), [(2, None, 0), (3, 2, 1)])
def test_pooling_equals_torch(kind, kernel, stride, padding):
    arrays = {"x": RNG.normal(size=(2, 3, 7, 6))}
    ours = symgrad.max_pool2d if kind == "max" else symgrad.avg_pool2d
    theirs = F.max_pool2d if kind == "max" else F.avg_pool2d
    check(
        lambda v: symgrad.sum(ours(v["x"], kernel, stride, padding) ** 2),
        lambda t: (theirs(t["x"], kernel, stride, padding) ** 2).sum(),
        arrays,
        ("x",),
    )


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling_in_one_dimension_equals_torch(kind):
    arrays = {"x": RNG.normal(size=(2, 2, 9))}
    ours = symgrad.max_pool1d if kind == "max" else symgrad.avg_pool1d
    theirs = F.max_pool1d if kind == "max" else F.avg_pool1d
    check(
        lambda v: symgrad.sum(symgrad.exp(ours(v["x"], 3, 2, 1) / 3)),
        lambda t: torch.exp(theirs(t["x"], 3, 2, 1) / 3).sum(),
        arrays,
        ("x",),
    )


def test_a_cnn_of_conv_relu_pool_and_a_linear_readout_equals_torch():
    arrays = {
        "x": RNG.normal(size=(3, 2, 8, 8)),
        "w": RNG.normal(size=(4, 2, 3, 3)) * 0.4,
        "v": RNG.normal(size=(4 * 4 * 4, 2)) * 0.2,
    }

    def ours(v):
        h = symgrad.max_pool2d(symgrad.relu(symgrad.conv2d(v["x"], v["w"], padding=1)), 2)
        return symgrad.mean((symgrad.reshape(h, (3, -1)) @ v["v"]) ** 2)

    def theirs(t):
        h = F.max_pool2d(torch.relu(F.conv2d(t["x"], t["w"], padding=1)), 2)
        return ((h.reshape(3, -1) @ t["v"]) ** 2).mean()

    d = check(ours, theirs, arrays, ("w", "v"))
    text = symgrad.render(d)
    assert "conv(x, w)" in text and "maxpool" in text


def test_running_sums_and_products_equal_torch():
    arrays = {"a": RNG.uniform(0.5, 1.5, size=(3, 4)) * RNG.choice([-1, 1], size=(3, 4))}
    check(
        lambda v: (
            symgrad.sum(symgrad.cumsum(v["a"], axis=1) ** 2)
            + symgrad.sum(symgrad.cumprod(v["a"], axis=0))
            + symgrad.sum(v["a"].cumsum() ** 3)
        ),
        lambda t: (
            (torch.cumsum(t["a"], 1) ** 2).sum()
            + torch.cumprod(t["a"], 0).sum()
            + (torch.cumsum(t["a"].reshape(-1), 0) ** 3).sum()
        ),
        arrays,
        ("a",),
    )


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda x, w: symgrad.conv2d(x, w), "conv2d takes x of shape"),
        (lambda x, w: symgrad.conv1d(x, w[:, :2]), "x has 3 channels, .* expects 2"),
        (lambda x, w: symgrad.conv1d(x, w, padding="same"), "padding='same' is not supported"),
        (lambda x, w: symgrad.conv1d(x, w, stride=0), "stride must be a whole number"),
        (lambda x, w: symgrad.max_pool1d(x, 2, padding=2), "at most half the kernel"),
        (lambda x, w: symgrad.max_pool1d(x, 9), "does not fit the input"),
    ],
)
def test_bad_windows_are_refused_in_one_line(build, message):
    m = Model("bad")
    x = m.input("x", (2, 3, 5))
    w = m.param("w", (4, 3, 2))
    with pytest.raises(SymgradError, match=message):
        build(x, w)
