"""Convolution and pooling: one record each, in PyTorch's layout (batch, channels, spatial…).

A convolution is bilinear in its input and kernel, so its two gradients (``ConvInput``,
``ConvWeight``) are convolutions of the same family, and the three records' pullbacks close on
each other: second order needs nothing new. Pooling likewise: average pooling is linear, and
max pooling's gradient puts G where each window's maximum is (``PoolBack``), whose own partner
picks an adjoint there (``PoolPick``).
"""

from __future__ import annotations

import numpy as np

from .. import tensors as T
from ..errors import SymgradError
from .record import Rule, register


def _dims(op) -> int:
    return len(op.stride)


def _operands(op):
    return op.operands


def _zeros_like(expr):
    return T.zeros(T.shape_of(expr))


def _none(op, *shares):
    """One share per argument of ``op``: the given ones first, None for the numbers."""
    return (*shares, *([None] * (len(op.args) - len(shares))))


# --- pullbacks ---------------------------------------------------------------------------------


def _conv_pullback(op, g, ans):
    x, w = op.x, op.w
    dx = T.ConvInput(g, w, **op.options, shape=T.shape_of(x))
    dw = T.ConvWeight(x, g, **op.options, shape=T.shape_of(w))
    return _none(op, dx, dw)


def _conv_input_pullback(op, h, ans):
    g, w = op.g, op.w
    dg = T.Conv(h, w, **op.options, shape=T.shape_of(g))
    dw = T.ConvWeight(h, g, **op.options, shape=T.shape_of(w))
    return _none(op, dg, dw)


def _conv_weight_pullback(op, k, ans):
    x, g = op.x, op.g
    dx = T.ConvInput(g, k, **op.options, shape=T.shape_of(x))
    dg = T.Conv(x, k, **op.options, shape=T.shape_of(g))
    return _none(op, dx, dg)


def _pool_pullback(op, g, ans):
    (x,) = op.operands
    return _none(op, None, T.PoolBack(op.kind_name, x, g, **op.options, shape=T.shape_of(x)))


def _pool_back_pullback(op, h, ans):
    """Linear in G; the positions of the maxima do not move with x (a.e.)."""
    x, g = op.operands
    if op.kind_name == "avg":
        dg = T.Pool("avg", h, **op.options, shape=T.shape_of(g))
    else:
        dg = T.PoolPick(op.kind_name, x, h, **op.options, shape=T.shape_of(g))
    return _none(op, None, _zeros_like(x), dg)


def _pool_pick_pullback(op, k, ans):
    x, h = op.operands
    dh = T.PoolBack(op.kind_name, x, k, **op.options, shape=T.shape_of(h))
    return _none(op, None, _zeros_like(x), dh)


# --- spellings -----------------------------------------------------------------------------------


def _options(op) -> str:
    return f"{op.stride}, {op.padding}, {op.dilation}"


def _torch_conv(kind: str):
    def spelling(op, args):
        d = _dims(op)
        if kind == "conv":
            return f"torch.nn.functional.conv{d}d({args[0]}, {args[1]}, None, {_options(op)})"
        if kind == "input":
            return f"torch.nn.grad.conv{d}d_input({op.shape}, {args[1]}, {args[0]}, {_options(op)})"
        return f"torch.nn.grad.conv{d}d_weight({args[0]}, {op.shape}, {args[1]}, {_options(op)})"

    return spelling


def _numpy_conv(kind: str):
    def spelling(op, args):
        if kind == "conv":
            return f"_conv({args[0]}, {args[1]}, {_options(op)})"
        if kind == "input":
            return f"_conv_input({args[0]}, {args[1]}, {op.shape}, {_options(op)})"
        return f"_conv_weight({args[0]}, {args[1]}, {op.shape}, {_options(op)})"

    return spelling


def _math_conv(kind: str, latex: bool):
    names = {"conv": "conv", "input": "conv^{\\top}_{x}", "weight": "conv^{\\top}_{w}"}
    plain = {"conv": "conv", "input": "convᵀₓ", "weight": "convᵀ_w"}

    def spelling(op, args):
        if latex:
            name = names[kind].replace("conv", r"\operatorname{conv}")
            return rf"{name}\left({args[0]}, {args[1]}\right)"
        return f"{plain[kind]}({args[0]}, {args[1]})"

    return spelling


def _pool_options(op) -> str:
    return f"{op.kernel}, {op.stride}, {op.padding}"


def _numpy_pool(kind: str):
    def spelling(op, args):
        function = {"pool": "_pool", "back": "_pool_back", "pick": "_pool_pick"}[kind]
        return f"{function}({op.kind_name!r}, {', '.join(args)}, {_pool_options(op)})"

    return spelling


def _torch_pool(kind: str):
    def spelling(op, args):
        d = _dims(op)
        if kind == "pool":
            function = f"torch.nn.functional.{op.kind_name}_pool{d}d"
            return f"{function}({args[0]}, {_pool_options(op)})"
        function = {"back": "_pool_back", "pick": "_pool_pick"}[kind]
        return f"{function}({op.kind_name!r}, {', '.join(args)}, {_pool_options(op)})"

    return spelling


def _math_pool(kind: str, latex: bool):
    def spelling(op, args):
        name = {"pool": f"{op.kind_name}pool", "back": f"{op.kind_name}pool^T",
                "pick": f"{op.kind_name}pool_pick"}[kind]  # fmt: skip
        operands = ", ".join(args)
        if latex:
            head = name.replace("^T", "").replace("_pick", "")
            mark = {"pool": "", "back": r"^{\top}", "pick": r"_{\mathrm{pick}}"}[kind]
            return rf"\operatorname{{{head}}}{mark}\left({operands}\right)"
        return f"{name}({operands})"

    return spelling


def _no_unroll(what):
    def unroll(op, *parts):
        raise SymgradError(f"symgrad cannot unroll {what}; derive the model as it is")

    return unroll


_NUMPY_CONV = """\
def _conv_slices(offset, dilation, stride, out):
    return (slice(None), slice(None)) + tuple(
        slice(o * d, o * d + s * (m - 1) + 1, s)
        for o, d, s, m in zip(offset, dilation, stride, out)
    )


def _conv(x, w, stride, padding, dilation):
    # cross-correlation as PyTorch computes it: one product per kernel offset, summed
    xp = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in padding])
    kernel = w.shape[2:]
    out = tuple(
        (n + 2 * p - d * (k - 1) - 1) // s + 1
        for n, p, d, k, s in zip(x.shape[2:], padding, dilation, kernel, stride)
    )
    y = np.zeros((x.shape[0], w.shape[0]) + out)
    for offset in np.ndindex(*kernel):
        patch = xp[_conv_slices(offset, dilation, stride, out)]
        y += np.einsum("nc...,oc->no...", patch, w[(slice(None), slice(None)) + offset])
    return y


def _conv_input(g, w, shape, stride, padding, dilation):
    padded = shape[:2] + tuple(n + 2 * p for n, p in zip(shape[2:], padding))
    dx = np.zeros(padded)
    out = g.shape[2:]
    for offset in np.ndindex(*w.shape[2:]):
        where = _conv_slices(offset, dilation, stride, out)
        dx[where] += np.einsum("no...,oc->nc...", g, w[(slice(None), slice(None)) + offset])
    return dx[(slice(None), slice(None)) + tuple(slice(p, p + n) for p, n in zip(padding, shape[2:]))]


def _conv_weight(x, g, shape, stride, padding, dilation):
    xp = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in padding])
    dw = np.zeros(shape)
    out = g.shape[2:]
    for offset in np.ndindex(*shape[2:]):
        patch = xp[_conv_slices(offset, dilation, stride, out)]
        summed = [0, *range(2, g.ndim)]  # the batch and every output position
        dw[(slice(None), slice(None)) + offset] = np.tensordot(g, patch, axes=(summed, summed))
    return dw
"""

_NUMPY_POOL = """\
def _pool_windows(x, kernel, stride, padding, fill):
    # every window of the padded input: (N, C, *out, *kernel)
    spatial = tuple(range(2, x.ndim))
    xp = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in padding], constant_values=fill)
    windows = np.lib.stride_tricks.sliding_window_view(xp, kernel, axis=spatial)
    return windows[(slice(None), slice(None)) + tuple(slice(None, None, s) for s in stride)]


def _pool(kind, x, kernel, stride, padding):
    if kind == "max":
        windows = _pool_windows(x, kernel, stride, padding, -np.inf)
        return windows.max(axis=tuple(range(-len(kernel), 0)))
    windows = _pool_windows(x, kernel, stride, padding, 0.0)
    return windows.sum(axis=tuple(range(-len(kernel), 0))) / np.prod(kernel)


def _pool_positions(x, kernel, stride, padding):
    # the flat index (into the padded spatial axes) of each window's first maximum
    windows = _pool_windows(x, kernel, stride, padding, -np.inf)
    out = windows.shape[2 : 2 + len(kernel)]
    best = windows.reshape(windows.shape[: 2 + len(kernel)] + (-1,)).argmax(-1)
    within = np.unravel_index(best, kernel)
    starts = np.meshgrid(*[np.arange(m) * s for m, s in zip(out, stride)], indexing="ij")
    padded = tuple(n + 2 * p for n, p in zip(x.shape[2:], padding))
    return np.ravel_multi_index(tuple(a + b for a, b in zip(starts, within)), padded), padded


def _pool_back(kind, x, g, kernel, stride, padding):
    padded = x.shape[:2] + tuple(n + 2 * p for n, p in zip(x.shape[2:], padding))
    dx = np.zeros(padded)
    if kind == "max":
        positions, spatial = _pool_positions(x, kernel, stride, padding)
        flat = dx.reshape(x.shape[:2] + (-1,))
        rows = np.arange(x.shape[0])[:, None, None]
        channels = np.arange(x.shape[1])[None, :, None]
        np.add.at(flat, (rows, channels, positions.reshape(x.shape[:2] + (-1,))),
                  g.reshape(x.shape[:2] + (-1,)))
        dx = flat.reshape(padded)
    else:
        out = g.shape[2:]
        for offset in np.ndindex(*kernel):
            where = (slice(None), slice(None)) + tuple(
                slice(o, o + s * (m - 1) + 1, s) for o, s, m in zip(offset, stride, out)
            )
            dx[where] += g / np.prod(kernel)
    return dx[(slice(None), slice(None)) + tuple(slice(p, p + n) for p, n in zip(padding, x.shape[2:]))]


def _pool_pick(kind, x, h, kernel, stride, padding):
    positions, spatial = _pool_positions(x, kernel, stride, padding)
    hp = np.pad(h, [(0, 0), (0, 0)] + [(p, p) for p in padding]).reshape(h.shape[:2] + (-1,))
    flat = positions.reshape(h.shape[:2] + (-1,))
    picked = np.take_along_axis(hp, flat, axis=-1)
    return picked.reshape(positions.shape)
"""

_TORCH_POOL = """\
def _pool_indices(x, kernel, stride, padding):
    d = len(kernel)
    pool = getattr(torch.nn.functional, f"max_pool{d}d")
    _, indices = pool(x, kernel, stride, padding, return_indices=True)
    return indices


def _pool_back(kind, x, g, kernel, stride, padding):
    if kind == "max":
        indices = _pool_indices(x, kernel, stride, padding)
        flat = torch.zeros_like(x).flatten(2)
        return flat.scatter_add(2, indices.flatten(2), g.flatten(2)).view_as(x)
    if len(kernel) == 1:  # as the 2-D case, with a height of 1
        return _pool_back(kind, x.unsqueeze(2), g.unsqueeze(2), (1, *kernel), (1, *stride),
                          (0, *padding)).squeeze(2)
    return torch.ops.aten.avg_pool2d_backward(g, x, kernel, stride, padding, False, True, None)


def _pool_pick(kind, x, h, kernel, stride, padding):
    indices = _pool_indices(x, kernel, stride, padding)
    return h.flatten(2).gather(2, indices.flatten(2)).view_as(indices)
"""


def _conv_shape(x_shape, w_shape, stride, padding, dilation) -> tuple[int, ...]:
    out = tuple(
        T.window_out(n, k, s, p, d)
        for n, k, s, p, d in zip(x_shape[2:], w_shape[2:], stride, padding, dilation, strict=True)
    )
    return (x_shape[0], w_shape[0], *out)


def _pool_shape(x_shape, kernel, stride, padding) -> tuple[int, ...]:
    out = tuple(
        T.window_out(n, k, s, p)
        for n, k, s, p in zip(x_shape[2:], kernel, stride, padding, strict=True)
    )
    return (*x_shape[:2], *out)


def _build_conv(x, w, options):
    shape = _conv_shape(T.shape_of(x), T.shape_of(w), **options)
    return T.Conv(x, w, **options, shape=shape)


def _build_conv_input(g, w, options):
    return T.ConvInput(
        g, w, **{k: v for k, v in options.items() if k != "like"}, shape=options["like"]
    )


def _build_conv_weight(x, g, options):
    return T.ConvWeight(
        x, g, **{k: v for k, v in options.items() if k != "like"}, shape=options["like"]
    )


def _build_pool(kind, x, options):
    shape = _pool_shape(T.shape_of(x), options["kernel"], options["stride"], options["padding"])
    return T.Pool(kind, x, stride=options["stride"], padding=options["padding"],
                  dilation=options["kernel"], shape=shape)  # fmt: skip


def _build_pool_back(kind, x, g, options):
    return T.PoolBack(kind, x, g, stride=options["stride"], padding=options["padding"],
                      dilation=options["kernel"], shape=T.shape_of(x))  # fmt: skip


def _build_pool_pick(kind, x, h, options):
    shape = _pool_shape(T.shape_of(x), options["kernel"], options["stride"], options["padding"])
    return T.PoolPick(kind, x, h, stride=options["stride"], padding=options["padding"],
                      dilation=options["kernel"], shape=shape)  # fmt: skip


_RNG = np.random.default_rng(11)
_X1 = _RNG.normal(size=(2, 3, 7))
_W1 = _RNG.normal(size=(4, 3, 3))
_X2 = _RNG.normal(size=(2, 2, 5, 6))
_W2 = _RNG.normal(size=(3, 2, 3, 2))
_C1 = {"stride": (2,), "padding": (1,), "dilation": (1,)}  # (2, 3, 7) * (4, 3, 3) → (2, 4, 4)
_C2 = {"stride": (1, 2), "padding": (1, 0), "dilation": (2, 1)}  # → (2, 3, 3, 3)
_G1 = _RNG.normal(size=(2, 4, 4))
_P1 = {"kernel": (2,), "stride": (2,), "padding": (1,)}  # (2, 3, 7) → (2, 3, 4)
_P2 = {"kernel": (3, 2), "stride": (2, 2), "padding": (1, 0)}  # (2, 2, 5, 6) → (2, 2, 3, 3)
_H1 = _RNG.normal(size=(2, 3, 4))


# fmt: off
RULES: tuple[Rule, ...] = (
    Rule(
        "conv", T.Conv, "window", "cross-correlation of x (N, C, …) with kernels w (O, C, …): F.conv1d, F.conv2d",
        ("x", "w"), ((_X1, _W1, _C1), (_X2, _W2, _C2)), pullback=_conv_pullback, build=_build_conv, parts=_operands,
        numpy=_numpy_conv("conv"), torch=_torch_conv("conv"),
        latex=_math_conv("conv", True), text=_math_conv("conv", False),
        textbook="∂/∂x: G convolved back through w (convᵀₓ); ∂/∂w: x against G (convᵀ_w)",
        unroll=_no_unroll("a convolution"), helpers={"numpy": {"_conv": _NUMPY_CONV}},
    ),
    Rule(
        "conv_input", T.ConvInput, "window", "a convolution's gradient for its input (torch.nn.grad.conv2d_input)",
        ("G", "w"), ((_G1, _W1, {**_C1, "like": _X1.shape}),), pullback=_conv_input_pullback,
        build=_build_conv_input, parts=_operands,
        numpy=_numpy_conv("input"), torch=_torch_conv("input"),
        latex=_math_conv("input", True), text=_math_conv("input", False),
        textbook="∂/∂G: conv(H, w); ∂/∂w: convᵀ_w(H, G)",
        unroll=_no_unroll("a convolution's gradient"), helpers={"numpy": {"_conv": _NUMPY_CONV}},
    ),
    Rule(
        "conv_weight", T.ConvWeight, "window", "a convolution's gradient for its kernel (torch.nn.grad.conv2d_weight)",
        ("x", "G"), ((_X1, _G1, {**_C1, "like": _W1.shape}),), pullback=_conv_weight_pullback,
        build=_build_conv_weight, parts=_operands,
        numpy=_numpy_conv("weight"), torch=_torch_conv("weight"),
        latex=_math_conv("weight", True), text=_math_conv("weight", False),
        textbook="∂/∂x: convᵀₓ(G, K); ∂/∂G: conv(x, K)",
        unroll=_no_unroll("a convolution's gradient"), helpers={"numpy": {"_conv": _NUMPY_CONV}},
    ),
    Rule(
        "pool", T.Pool, "window", "max or average over windows (F.max_pool2d, F.avg_pool2d)",
        ("kind", "x"), (("max", _X1, _P1), ("avg", _X2, _P2), ("max", _X2, _P2)),
        pullback=_pool_pullback, build=_build_pool, parts=_operands,
        numpy=_numpy_pool("pool"), torch=_torch_pool("pool"),
        latex=_math_pool("pool", True), text=_math_pool("pool", False),
        textbook="max: G where each window's maximum is (the first of a tie); avg: G/k spread over each window",
        unroll=_no_unroll("pooling"), helpers={"numpy": {"_pool": _NUMPY_POOL}},
    ),
    Rule(
        "pool_back", T.PoolBack, "window", "pooling's gradient for its input",
        ("kind", "x", "G"), (("max", _X1, _H1, _P1), ("avg", _X1, _H1, _P1)),
        pullback=_pool_back_pullback, build=_build_pool_back, parts=_operands,
        numpy=_numpy_pool("back"), torch=_torch_pool("back"),
        latex=_math_pool("back", True), text=_math_pool("back", False),
        textbook="∂/∂G: avg pool of H, or H picked where the maxima are; ∂/∂x: 0",
        unroll=_no_unroll("pooling's gradient"),
        helpers={"numpy": {"_pool": _NUMPY_POOL}, "torch": {"_pool_back": _TORCH_POOL}},
    ),
    Rule(
        "pool_pick", T.PoolPick, "window", "for each window, an array's entry where the window's maximum is",
        ("kind", "x", "h"), (("max", _X1, _X1 * 0.5, _P1),), pullback=_pool_pick_pullback,
        build=_build_pool_pick, parts=_operands,
        numpy=_numpy_pool("pick"), torch=_torch_pool("pick"),
        latex=_math_pool("pick", True), text=_math_pool("pick", False),
        textbook="∂/∂h: K put where the maxima are; ∂/∂x: 0",
        unroll=_no_unroll("pooling's gradient"),
        helpers={"numpy": {"_pool": _NUMPY_POOL}, "torch": {"_pool_back": _TORCH_POOL}},
    ),
)
# fmt: on

for _rule in RULES:
    register(_rule)
