"""JAX's reduction, window and remainder gradient tests (``tests/lax_autodiff_test.py``) as
symgrad models, checked against PyTorch.

JAX's ``check_grads(f, (x,), order)`` compares f's derivatives of order 1 to 3 with finite
differences. Here each case is JAX's function at JAX's shapes, and the scalar loss
``Σ C ⊙ f(x) + ½ Σ f(x)²`` (``C`` a random input) is checked against torch autograd of the same
function written in torch: the loss, the gradient in both backends and H·v. JAX's functions are
linear or piecewise linear, so the square gives the Hessian something to check (H = JᵀJ plus
what the reductions and windows contribute of their own).

Ported:
``testReduceGrad``: ``lax.reduce`` by add, max, min and mul as ``symgrad.sum/max/min/prod(x,
axis=dims)``, at every shape and axes of JAX's list (the scalar ``()``, ``(3, 4, 5)`` over
``()``, ``(0,)``, ``(1, 2)``, ``(0, 2)``, ``(0, 1, 2)``, and ``(3, 1)`` over ``(1,)``), each
with ``keepdims`` False (JAX's) and True (NumPy's keyword); values as JAX draws them (normal
for add and mul, distinct integers for max and min).
``testCumulativeReduceGrad``: ``lax.cumsum``/``lax.cumprod`` at shapes ``(10,)`` and
``(3, 4, 5)`` along every axis, forward and ``reverse=True`` (the reverse as NumPy writes it:
flip, accumulate, flip back with ``[::-1]``); values in ±[0.5, 1.5] rather than JAX's
``rand_small`` (1e-3 · normal), whose running products vanish. (JAX tests no cummax/cummin.)
``testReduceWindowGrad``: all 240 of JAX's cases, ``reduce_window`` add, max and min at
``(4, 6)`` and ``(3, 2, 4, 6)`` with JAX's window dimensions, strides, paddings ("VALID",
"SAME", explicit), base dilations and (add) window dilations, stated in symgrad as follows:
the windowed axes are moved last (``transpose``; a window over JAX's axis 0 is a window like
any other) and the others merged into PyTorch's (N, C) by ``reshape``; a window of 1 with a
stride is the slice ``[::s]``; add is ``avg_pool × window size``, max is ``max_pool``, min is
``−max_pool(−x)``; JAX's padding (asymmetric, or wider than half the window, which the pools
refuse) is concatenated before pooling; a base dilation is ``x @ P`` with a 0/1 matrix ``P``
(an input) that spreads the entries apart; a window dilation (add only, as in JAX) is the sum of
the window's strided slices. Max and min pad with a constant beyond every entry (∓1000, and
the holes of a base dilation too) rather than ∓∞, in torch as in symgrad: a window of padding
alone is then that constant instead of ∓∞, constant either way, and every other window is
JAX's. Values: distinct integers for max and min (JAX's ``rand_unique_int``, so no ties),
3 · normal for add (JAX: ``rand_small``). The torch function was checked once against
``jax.lax.reduce_window`` itself (values and gradients of all 240 cases; JAX is not a test
dependency). The 48 cases of rank 4 with a base dilation take seconds each and are marked
``slow``.
``testRemainder``: ``lax.rem`` (C's fmod, the sign of x) at JAX's two broadcast shapes, x
``(5, 8)`` with y ``(1, 8)`` and x ``(1, 8)`` with y ``(5, 8)``, with respect to both, as
``symgrad.fmod``, and ``symgrad.remainder`` (``jnp.remainder``, the sign of y) at the same
points; values as JAX draws them, checked to lie away from the jumps.

Out of scope: the zero-size case ``(3, 0, 5)`` over axis 1 (add and mul; JAX itself skips max
and min there), kept as a strict xfail because symgrad refuses a zero-size array;
``testReducePairGrad`` (a variadic reduce of a tuple by a user's function: symgrad has no
user-defined reduction); complex dtypes of ``testReduceGrad``'s add (symgrad is real).

Beyond JAX: ``prod`` and ``cumprod`` at an exact zero entry, where their derivatives are finite
and torch's are right; both are strict xfails (see their reasons).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import symgrad
from symgrad import Model, SymgradError

torch = pytest.importorskip("torch")
F = torch.nn.functional


def check(build, reference, arrays: dict, wrt: tuple):
    """``build(v, constant)`` (v the declared variables; ``constant(name, array)`` declares a
    data input) against ``reference`` (torch, on the leaves): the loss Σ C ⊙ f + ½ Σ f², its
    gradient in both backends and H·v in NumPy."""
    m = Model("jax_case")
    declared = {
        name: (m.param(name, a.shape) if name in wrt else m.input(name, a.shape))
        for name, a in arrays.items()
    }
    data = {}

    def constant(name, value):
        data[name] = np.asarray(value, dtype=np.float64)
        return m.input(name, data[name].shape)

    out = build(declared, constant)
    leaves = {k: torch.tensor(v, requires_grad=k in wrt) for k, v in arrays.items()}
    expected = reference(leaves)
    shape = tuple(getattr(out, "shape", ()))
    assert shape == tuple(expected.shape), f"symgrad's shape {shape}, torch's {expected.shape}"
    rng = np.random.default_rng(7)
    weights = rng.normal(size=shape)
    weight = m.input("C", shape)
    if shape:
        m.loss("L", symgrad.sum(weight * out + out**2 / 2))
    else:
        m.loss("L", weight * out + out**2 / 2)
    m.example(C=weights, **arrays, **data)

    loss = (torch.tensor(weights) * expected + expected**2 / 2).sum()
    grads = torch.autograd.grad(loss, [leaves[k] for k in wrt], create_graph=True)
    directions = {k: rng.normal(size=arrays[k].shape) for k in wrt}
    directional = sum(
        (g * torch.tensor(directions[k])).sum() for g, k in zip(grads, wrt, strict=True)
    )
    hvp = torch.autograd.grad(directional, [leaves[k] for k in wrt], allow_unused=True)

    d = symgrad.derive(m)
    for backend in ("numpy", "torch"):
        value, gradient = symgrad.compile(d, backend)(**d.example)
        assert float(value) == pytest.approx(loss.item(), rel=1e-12, abs=1e-12), backend
        for name, want in zip(wrt, grads, strict=True):
            close(gradient[name], want.detach().numpy(), f"{backend} ∂L/∂{name}")
    products = symgrad.hessian(m).compile("numpy").hvp(directions, **d.example)
    for name, want in zip(wrt, hvp, strict=True):
        expected_hv = np.zeros(arrays[name].shape) if want is None else want.numpy()
        close(products[name], expected_hv, f"H·v {name}")


def close(got, want, what):
    got = np.asarray(got.numpy() if hasattr(got, "numpy") else got, dtype=np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, torch {want.shape}"
    scale = max(float(np.abs(want).max(initial=0.0)), 1.0)
    assert np.abs(got - want).max(initial=0.0) <= 1e-10 * scale, (
        f"{what}:\nsymgrad {got.ravel()}\ntorch   {want.ravel()}"
    )


def draws(kind, shape, seed=0):
    """JAX's rand_default (3·normal), rand_default(scale=1), rand_unique_int (a permutation
    of 0…size−1), or ``signed`` values in ±[0.5, 1.5]."""
    rng = np.random.default_rng(seed)
    if kind == "unique":
        return rng.permutation(math.prod(shape)).reshape(shape).astype(np.float64)
    if kind == "signed":
        return rng.uniform(0.5, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    scale = {"default": 3.0, "unit": 1.0}[kind]
    return np.asarray(scale * rng.normal(size=shape), dtype=np.float64)


# --- testReduceGrad ---------------------------------------------------------------------------

REDUCE_SHAPES = [
    ((), ()),
    ((3, 4, 5), ()),
    ((3, 4, 5), (0,)),
    ((3, 4, 5), (1, 2)),
    ((3, 4, 5), (0, 2)),
    ((3, 4, 5), (0, 1, 2)),
    ((3, 1), (1,)),
]
TORCH_REDUCE = {"sum": torch.sum, "max": torch.amax, "min": torch.amin, "prod": torch.prod}
JAX_VALUES = {"sum": "default", "max": "unique", "min": "unique", "prod": "unit"}


def torch_reduce(op, x, dims, keepdims):
    """lax.reduce over ``dims`` one axis at a time (torch.sum(x, dim=()) would reduce all)."""
    for axis in sorted(dims, reverse=True):
        x = TORCH_REDUCE[op](x, axis, keepdim=keepdims)
    return x


@pytest.mark.parametrize("keepdims", [False, True], ids=["", "keepdims"])
@pytest.mark.parametrize(("shape", "dims"), REDUCE_SHAPES, ids=str)
@pytest.mark.parametrize("op", ["sum", "max", "min", "prod"])
def test_reduce_equals_torch(op, shape, dims, keepdims):
    check(
        lambda v, _: getattr(symgrad, op)(v["x"], axis=dims, keepdims=keepdims),
        lambda t: torch_reduce(op, t["x"], dims, keepdims),
        {"x": draws(JAX_VALUES[op], shape)},
        ("x",),
    )


ZERO_SIZE = (
    "param 'x': shape must be a tuple of up to 4 positive integers ((), (n,), (rows, cols), …), "
    "got (3, 0, 5)"
)


@pytest.mark.xfail(strict=True, raises=SymgradError, reason=ZERO_SIZE)
@pytest.mark.parametrize("op", ["sum", "prod"])
def test_reduce_of_a_zero_size_array_equals_torch(op):
    check(
        lambda v, _: getattr(symgrad, op)(v["x"], axis=1),
        lambda t: torch_reduce(op, t["x"], (1,), False),
        {"x": np.zeros((3, 0, 5))},
        ("x",),
    )


# Beyond JAX: an exact zero, where the product's derivatives are finite (not a kink).
ZERO_ROW = np.array([[1.5, 0.0, -0.7], [0.8, 1.2, 0.9]])


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="H·v of prod(x, axis=1) is NaN in the row that holds the zero (torch: finite); "
    "the second-order rule prod_others divides by the entry ('written for entries away from 0')",
)
def test_prod_at_an_exact_zero_equals_torch():
    check(
        lambda v, _: symgrad.prod(v["x"], axis=1),
        lambda t: torch.prod(t["x"], 1),
        {"x": ZERO_ROW},
        ("x",),
    )


# --- testCumulativeReduceGrad -----------------------------------------------------------------


def flip(a, axis):
    return a[(slice(None),) * axis + (slice(None, None, -1),)]


@pytest.mark.parametrize("reverse", [False, True], ids=["", "reverse"])
@pytest.mark.parametrize(
    ("shape", "axis"), [((10,), 0), ((3, 4, 5), 0), ((3, 4, 5), 1), ((3, 4, 5), 2)], ids=str
)
@pytest.mark.parametrize("op", ["cumsum", "cumprod"])
def test_cumulative_reduce_equals_torch(op, shape, axis, reverse):
    def ours(v, _):
        x = flip(v["x"], axis) if reverse else v["x"]
        y = getattr(symgrad, op)(x, axis=axis)
        return flip(y, axis) if reverse else y

    def theirs(t):
        x = t["x"].flip(axis) if reverse else t["x"]
        y = getattr(torch, op)(x, axis)
        return y.flip(axis) if reverse else y

    check(ours, theirs, {"x": draws("signed", shape)}, ("x",))


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="the gradient of cumprod(x, axis=1) at the zero is NaN in both backends: the "
    "pullback divides by x (the loss ½Σ cumprod² at x = [[1.5, 0, −0.7], …]: symgrad [1.5, nan, −0], "
    "torch [1.5, 0, 0])",
)
def test_cumprod_at_an_exact_zero_equals_torch():
    check(
        lambda v, _: symgrad.cumprod(v["x"], axis=1),
        lambda t: torch.cumprod(t["x"], 1),
        {"x": ZERO_ROW},
        ("x",),
    )


# --- testReduceWindowGrad ---------------------------------------------------------------------

FILL = {"add": 0.0, "max": -1000.0, "min": 1000.0}  # ∓∞ in JAX; beyond every entry here


def jax_pads(padding, shape, dims, strides, window_dilation):
    """lax.padtype_to_pads: "SAME" pads to ceil(n / s) windows, the odd one at the end."""
    if padding == "VALID":
        return [(0, 0)] * len(shape)
    if padding != "SAME":
        return list(padding)
    pads = []
    for n, k, s, d in zip(shape, dims, strides, window_dilation, strict=True):
        total = max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0)
        pads.append((total // 2, total - total // 2))
    return pads


def take(x, axis, start, stop):
    return x[(slice(None),) * axis + (slice(start, stop),)]


def symgrad_reduce_window(x, constant, op, dims, strides, pads, base, window):
    """reduce_window in symgrad's terms (see the module docstring)."""
    fill, rank = FILL[op], len(dims)
    for axis, d in enumerate(base):
        if d > 1:  # spread the entries d apart: x @ P along the axis, holes filled
            n = x.shape[axis]
            spread = np.zeros((n, (n - 1) * d + 1))
            spread[np.arange(n), np.arange(n) * d] = 1
            y = x if axis == rank - 1 else symgrad.swapaxes(x, axis, rank - 1)
            y = y @ constant(f"P{axis}", spread)
            if fill:
                y = y + constant(f"holes{axis}", fill * (1 - spread.sum(axis=0)))
            x = y if axis == rank - 1 else symgrad.swapaxes(y, axis, rank - 1)
    for axis, (low, high) in enumerate(pads):
        if low or high:
            one = take(x, axis, 0, 1) * 0 + fill
            x = symgrad.concatenate([one] * low + [x] + [one] * high, axis=axis)
    sizes = [
        (n - (k - 1) * d - 1) // s + 1
        for n, k, s, d in zip(x.shape, dims, strides, window, strict=True)
    ]
    if any(d > 1 for d in window):  # a dilated window: the sum of its strided slices
        assert op == "add"
        total = 0
        for offsets in itertools.product(*(range(k) for k in dims)):
            total = (
                total
                + x[
                    tuple(
                        slice(o * d, o * d + (size - 1) * s + 1, s)
                        for o, d, size, s in zip(offsets, window, sizes, strides, strict=True)
                    )
                ]
            )
        return total
    x = x[
        tuple(
            slice(None, None, s) if k == 1 else slice(None)
            for k, s in zip(dims, strides, strict=True)
        )
    ]
    windowed = [axis for axis in range(rank) if dims[axis] > 1]
    order = [axis for axis in range(rank) if dims[axis] == 1] + windowed
    moved = order != list(range(rank))
    y = symgrad.transpose(x, order) if moved else x
    lead, spatial = y.shape[: rank - len(windowed)], y.shape[rank - len(windowed) :]
    y = symgrad.reshape(y, (1, math.prod(lead), *spatial))
    kernel = tuple(dims[axis] for axis in windowed)
    stride = tuple(strides[axis] for axis in windowed)
    pool = {
        ("add", 1): symgrad.avg_pool1d,
        ("add", 2): symgrad.avg_pool2d,
        ("max", 1): symgrad.max_pool1d,
        ("max", 2): symgrad.max_pool2d,
    }
    if op == "add":
        y = pool["add", len(kernel)](y, kernel, stride) * math.prod(kernel)
    elif op == "max":
        y = pool["max", len(kernel)](y, kernel, stride)
    else:
        y = -pool["max", len(kernel)](-y, kernel, stride)
    y = symgrad.reshape(y, (*lead, *y.shape[2:]))
    return symgrad.transpose(y, [order.index(axis) for axis in range(rank)]) if moved else y


def torch_reduce_window(x, op, dims, strides, pads, base, window):
    """reduce_window as XLA defines it: dilate the base, pad, cut the (dilated) windows."""
    fill, rank = FILL[op], len(dims)
    spread = torch.full([(n - 1) * d + 1 for n, d in zip(x.shape, base, strict=True)], fill)
    spread = spread.to(torch.float64)
    spread[tuple(slice(None, None, d) for d in base)] = x
    out = F.pad(spread, [p for pair in reversed(pads) for p in pair], value=fill)
    for axis in range(rank):
        out = out.unfold(axis, (dims[axis] - 1) * window[axis] + 1, strides[axis])
    out = out[(Ellipsis, *(slice(None, None, d) for d in window))]
    reduce = {"add": torch.sum, "max": torch.amax, "min": torch.amin}[op]
    return reduce(out, dim=tuple(range(rank, 2 * rank)))


def window_cases():
    """JAX's product, in JAX's order."""
    for op in ("add", "max", "min"):
        for shape, dimss, stridess, paddings, bases, windows in (
            ((4, 6), [(2, 1), (1, 2)], [(1, 1), (2, 1), (1, 2)],
             ["VALID", "SAME", [(0, 3), (1, 2)]], [(1, 1), (2, 3)],
             [(1, 1)] + ([(1, 2)] if op == "add" else [])),
            ((3, 2, 4, 6), [(1, 1, 2, 1), (2, 1, 2, 1)], [(1, 2, 2, 1), (1, 1, 1, 1)],
             ["VALID", "SAME", [(0, 1), (1, 0), (2, 3), (0, 2)]],
             [(1, 1, 1, 1), (2, 1, 3, 2)],
             [(1, 1, 1, 1)] + ([(1, 2, 2, 1)] if op == "add" else [])),
        ):  # fmt: skip
            for dims, strides, padding, base, window in itertools.product(
                dimss, stridess, paddings, bases, windows
            ):
                name = "-".join(
                    [op, str(shape), f"dims{dims}", f"strides{strides}",
                     padding if isinstance(padding, str) else f"pad{padding}",
                     f"base{base}", f"window{window}"]
                ).replace(" ", "")  # fmt: skip
                slow = len(shape) == 4 and max(base) > 1
                yield pytest.param(
                    op, shape, dims, strides, padding, base, window,
                    id=name, marks=[pytest.mark.slow] if slow else [],
                )  # fmt: skip


WINDOW_CASES = list(window_cases())


def test_every_case_of_jax_is_here():
    assert len(WINDOW_CASES) == 240


def x_size(shape):
    """Half the number of entries: distinct integers centred on 0."""
    return math.prod(shape) / 2


@pytest.mark.parametrize(
    ("op", "shape", "dims", "strides", "padding", "base", "window"), WINDOW_CASES
)
def test_reduce_window_equals_torch(op, shape, dims, strides, padding, base, window):
    pads = jax_pads(padding, shape, dims, strides, window)
    values = draws("default", shape) if op == "add" else draws("unique", shape) - x_size(shape)
    check(
        lambda v, constant: symgrad_reduce_window(
            v["x"], constant, op, dims, strides, pads, base, window
        ),
        lambda t: torch_reduce_window(t["x"], op, dims, strides, pads, base, window),
        {"x": values},
        ("x",),
    )


# --- testRemainder ----------------------------------------------------------------------------


@pytest.mark.parametrize("function", ["fmod", "remainder"])
@pytest.mark.parametrize(("x_shape", "y_shape"), [((5, 8), (1, 8)), ((1, 8), (5, 8))], ids=str)
def test_remainder_equals_torch(function, x_shape, y_shape):
    rng = np.random.default_rng(3)
    x = rng.uniform(-9, 9, size=x_shape)
    y = rng.uniform(0.1, 5, size=y_shape) * rng.choice([-1, 1], size=y_shape)
    ratio = x / y
    assert np.abs(ratio - np.round(ratio)).min() > 1e-3  # away from the jumps
    check(
        lambda v, _: getattr(symgrad, function)(v["x"], v["y"]),
        lambda t: getattr(torch, function)(t["x"], t["y"]),
        {"x": x, "y": y},
        ("x", "y"),
    )
