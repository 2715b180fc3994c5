"""A leaky ReLU written with a comparison and where, as NumPy code writes it:
np.where(z > 0, z, 0.1 * z), in a one-hidden-layer regression."""

import symgrad
from symgrad import Model

m = Model("leaky_relu_where")
X = m.input("X", shape=(5, 3))
t = m.input("t", shape=(5,))
W = m.param("W", shape=(3, 4))
v = m.param("v", shape=(4,))

Z = m.node("Z", X @ W)
H = m.node("H", symgrad.where(Z > 0, Z, 0.1 * Z))
m.loss("L", symgrad.mean((H @ v - t) ** 2))

m.example(random=32)


def reference():
    """The same model in plain PyTorch, node by node: the tests' independent oracle."""
    import torch

    return {
        "Z": lambda X, W: X @ W,
        "H": lambda Z: torch.where(Z > 0, Z, 0.1 * Z),
        "L": lambda H, v, t: ((H @ v - t) ** 2).mean(),
    }
