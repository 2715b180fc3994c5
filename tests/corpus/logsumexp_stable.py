"""log Σ exp with the largest entry subtracted first, as every stable implementation does:
lse(z) = c + log Σ exp(z − c), c = max(z) along the row (NumPy's max with keepdims)."""

import symgrad
from symgrad import Model, exp, log

m = Model("logsumexp_stable")
x = m.input("x", shape=(4, 2))
W = m.param("W", shape=(2, 3))

z = m.node("z", x @ W)
c = m.node("c", z.max(axis=1, keepdims=True))
shifted = m.node("shifted", exp(z - c))
m.loss("L", symgrad.mean(c + log(shifted.sum(axis=1, keepdims=True))))

m.example(random=11)


def reference():
    """The same model in plain PyTorch, node by node: the tests' independent oracle."""
    import torch

    return {
        "z": lambda x, W: x @ W,
        "c": lambda z: z.amax(dim=1, keepdim=True),
        "shifted": lambda z, c: torch.exp(z - c),
        "L": lambda c, shifted: (c + torch.log(shifted.sum(dim=1, keepdim=True))).mean(),
    }
