"""GELU as the paper defines it, x Φ(x) = x (1 + erf(x/√2)) / 2, written with SymPy's erf on
the matrix (Hendrycks & Gimpel 2016)."""

import math

import sympy

from symgrad import Model, mse

m = Model("gelu_erf")
X = m.input("X", shape=(2, 2))
Y = m.input("Y", shape=(2, 1))
W1 = m.param("W1", shape=(2, 3))
W2 = m.param("W2", shape=(3, 1))

Z = m.node("Z", X @ W1)
H = m.node("H", 0.5 * Z * (1 + sympy.erf(Z / math.sqrt(2))))
m.loss("L", mse(H @ W2, Y))

m.example(random=17)


def reference():
    """The same model in plain PyTorch, node by node: the tests' independent oracle."""
    import torch.nn.functional as F

    return {
        "Z": lambda X, W1: X @ W1,
        "H": lambda Z: F.gelu(Z),
        "L": lambda H, W2, Y: F.mse_loss(H @ W2, Y),
    }
