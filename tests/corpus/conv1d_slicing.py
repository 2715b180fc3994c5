"""A 1-D convolution written by slicing, as a signal-processing tutorial writes it before it
reaches for a library: y[t] = Σ_k w[k] x[t + k], one shifted slice per tap."""

import symgrad
from symgrad import Model

m = Model("conv1d_slicing")
x = m.input("x", shape=(2, 8))
target = m.input("target", shape=(2, 6))
w = m.param("w", shape=(3,))

y = m.node("y", w[0] * x[:, 0:6] + w[1] * x[:, 1:7] + w[2] * x[:, 2:8])
m.loss("L", symgrad.mean((y - target) ** 2))

m.example(random=31)


def reference():
    """The same model in plain PyTorch, node by node: the tests' independent oracle."""
    return {
        "y": lambda w, x: w[0] * x[:, 0:6] + w[1] * x[:, 1:7] + w[2] * x[:, 2:8],
        "L": lambda y, target: ((y - target) ** 2).mean(),
    }
