"""log Σ exp with the largest entry subtracted first, as every stable implementation does:
lse(z) = c + log Σ exp(z − c), c = max(z). z is a row of 3; its max is taken entry by entry."""

from symgrad import Max, Model, exp, log
from symgrad import sum as total

m = Model("logsumexp_stable")
x = m.input("x", shape=(1, 2))
W = m.param("W", shape=(2, 3))
e1 = m.input("e1", shape=(3, 1))
e2 = m.input("e2", shape=(3, 1))
e3 = m.input("e3", shape=(3, 1))

z = m.node("z", x @ W)
c = m.node("c", Max(total(z @ e1), total(z @ e2), total(z @ e3)))
shifted = m.node("shifted", exp(z - c))
m.loss("L", c + log(total(shifted)))

m.example(random=11, e1=[[1], [0], [0]], e2=[[0], [1], [0]], e3=[[0], [0], [1]])


def reference():
    """The same model in plain PyTorch, node by node: the tests' independent oracle."""
    import torch

    return {
        "z": lambda x, W: x @ W,
        "c": lambda z, e1, e2, e3: torch.max(torch.stack([(z @ e).sum() for e in (e1, e2, e3)])),
        "shifted": lambda z, c: torch.exp(z - c),
        "L": lambda c, shifted: c + torch.log(shifted.sum()),
    }
