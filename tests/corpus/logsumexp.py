"""log Σ exp of each row of XW, averaged: the log-partition of a linear model, written plainly."""

from symgrad import Model, exp, log, mean
from symgrad import sum as total

m = Model("logsumexp")
X = m.input("X", shape=(3, 2))
W = m.param("W", shape=(2, 4))

Z = m.node("Z", X @ W)
E = m.node("E", exp(Z))
lse = m.node("lse", log(total(E, axis=1, keepdims=True)))
m.loss("L", mean(lse))

m.example(random=10)


def reference():
    """The same model in plain PyTorch, node by node: the tests' independent oracle."""
    import torch

    return {
        "Z": lambda X, W: X @ W,
        "E": lambda Z: torch.exp(Z),
        "lse": lambda E: torch.log(E.sum(dim=1, keepdim=True)),
        "L": lambda lse: lse.mean(),
    }
