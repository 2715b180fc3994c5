"""Single-head scaled dot-product attention (Vaswani et al. 2017) with a squared-error loss."""

import math

from symgrad import Model, softmax, sum_squares

d = 2
m = Model("attention")
X = m.input("X", shape=(3, 4))
T = m.input("T", shape=(3, 2))
Wq = m.param("Wq", shape=(4, d))
Wk = m.param("Wk", shape=(4, d))
Wv = m.param("Wv", shape=(4, d))

Q = m.node("Q", X @ Wq)
K = m.node("K", X @ Wk)
V = m.node("V", X @ Wv)
S = m.node("S", Q @ K.T / math.sqrt(d))
A = m.node("A", softmax(S, axis=1))
out = m.node("out", A @ V)
m.loss("L", sum_squares(out - T))

m.example(random=6)


def reference():
    """The same model in plain PyTorch, node by node: the tests' independent oracle."""
    import torch

    return {
        "Q": lambda X, Wq: X @ Wq,
        "K": lambda X, Wk: X @ Wk,
        "V": lambda X, Wv: X @ Wv,
        "S": lambda Q, K: Q @ K.T / math.sqrt(d),
        "A": lambda S: torch.softmax(S, dim=1),
        "out": lambda A, V: A @ V,
        "L": lambda out, T: ((out - T) ** 2).sum(),
    }
