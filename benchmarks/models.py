"""Models the benchmarks build programmatically."""

from __future__ import annotations

import numpy as np

from symgrad import Model, sum_squares, tanh


def tanh_mlp(depth: int, width: int = 4) -> Model:
    """A width × depth tanh network on `width` inputs with a sum-of-squares loss against
    `width` targets: h⁽ˡ⁾ⱼ = tanh(Σᵢ W⁽ˡ⁾ⱼᵢ h⁽ˡ⁻¹⁾ᵢ + b⁽ˡ⁾ⱼ). It has (width² + width)·depth
    parameters, every one named."""
    m = Model(f"tanh_mlp_d{depth}_w{width}")
    inputs = m.inputs(" ".join(f"x{i}" for i in range(width)) + ",")
    targets = m.inputs(" ".join(f"y{i}" for i in range(width)) + ",")
    rng = np.random.default_rng(depth)
    example = {s.name: float(v) for s, v in zip(inputs, rng.normal(size=width), strict=True)}
    example |= {s.name: float(v) for s, v in zip(targets, rng.normal(size=width), strict=True)}
    previous = list(inputs)
    for layer in range(1, depth + 1):
        current = []
        for j in range(width):
            weights = m.params(" ".join(f"W{layer}_{j}_{i}" for i in range(width)) + ",")
            bias = m.params(f"b{layer}_{j}")
            z = m.node(
                f"z{layer}_{j}", sum(w * h for w, h in zip(weights, previous, strict=True)) + bias
            )
            current.append(m.node(f"h{layer}_{j}", tanh(z)))
            example |= {w.name: float(rng.normal(scale=0.5)) for w in weights}
            example[bias.name] = float(rng.normal(scale=0.1))
        previous = current
    m.loss(
        "L", sum_squares([h - y for h, y in zip(previous, targets, strict=True)]), reduction="sum"
    )
    m.example(**example)
    return m


def wide_scalar_model(n_params: int) -> Model:
    """A scalar model with `n_params` parameters: a generalised linear model with a softplus
    link, each weight a named parameter, over a 10-node hidden sum."""
    m = Model(f"wide_{n_params}")
    x = m.inputs("x")
    y = m.inputs("y")
    params = m.params(" ".join(f"w{i}" for i in range(n_params)) + ",")
    groups = [params[i : i + 100] for i in range(0, n_params, 100)]
    parts = []
    for g, group in enumerate(groups):
        parts.append(
            m.node(f"s{g}", tanh(sum(w * x ** (k % 3) for k, w in enumerate(group)) / len(group)))
        )
    out = m.node("out", sum(parts))
    m.loss("L", (out - y) ** 2)
    rng = np.random.default_rng(0)
    m.example(x=0.5, y=1.0, **{w.name: float(rng.normal()) for w in params})
    return m
