"""A model file for the derive benchmark (``time symgrad derive benchmarks/transformer_block.py
--json``). One pre-norm transformer block (Vaswani et al. 2017; the pre-norm order of GPT-2) on 32
tokens of 64 features: LayerNorm, single-head scaled dot-product attention, a residual
connection, LayerNorm, a GELU MLP of width 128, a second residual, and a squared error."""

import math

from symgrad import Model, gelu, mean, softmax, sqrt, sum_squares

n, d, h = 32, 64, 128
m = Model("transformer_block")
X = m.input("X", shape=(n, d))
T = m.input("T", shape=(n, d))
g1 = m.param("g1", shape=(d,))
b1 = m.param("b1", shape=(d,))
Wq = m.param("Wq", shape=(d, d))
Wk = m.param("Wk", shape=(d, d))
Wv = m.param("Wv", shape=(d, d))
Wo = m.param("Wo", shape=(d, d))
g2 = m.param("g2", shape=(d,))
b2 = m.param("b2", shape=(d,))
W1 = m.param("W1", shape=(d, h))
c1 = m.param("c1", shape=(h,))
W2 = m.param("W2", shape=(h, d))
c2 = m.param("c2", shape=(d,))

mu1 = m.node("mu1", mean(X, axis=1, keepdims=True))
xc1 = m.node("xc1", X - mu1)
var1 = m.node("var1", mean(xc1 * xc1, axis=1, keepdims=True))
N1 = m.node("N1", g1 * (xc1 / sqrt(var1 + 1e-5)) + b1)
Q = m.node("Q", N1 @ Wq)
K = m.node("K", N1 @ Wk)
V = m.node("V", N1 @ Wv)
A = m.node("A", softmax(Q @ K.T / math.sqrt(d), axis=1))
H = m.node("H", X + (A @ V) @ Wo)
mu2 = m.node("mu2", mean(H, axis=1, keepdims=True))
xc2 = m.node("xc2", H - mu2)
var2 = m.node("var2", mean(xc2 * xc2, axis=1, keepdims=True))
N2 = m.node("N2", g2 * (xc2 / sqrt(var2 + 1e-5)) + b2)
U = m.node("U", gelu(N2 @ W1 + c1))
Y = m.node("Y", H + U @ W2 + c2)
m.loss("L", sum_squares(Y - T) / n)

m.example(random=7)


def reference():
    """The same model in plain PyTorch, node by node: the tests' independent oracle."""
    import torch

    return {
        "mu1": lambda X: X.mean(dim=1, keepdim=True),
        "xc1": lambda X, mu1: X - mu1,
        "var1": lambda xc1: (xc1 * xc1).mean(dim=1, keepdim=True),
        "N1": lambda g1, xc1, var1, b1: g1 * (xc1 / torch.sqrt(var1 + 1e-5)) + b1,
        "Q": lambda N1, Wq: N1 @ Wq,
        "K": lambda N1, Wk: N1 @ Wk,
        "V": lambda N1, Wv: N1 @ Wv,
        "A": lambda Q, K: torch.softmax(Q @ K.T / math.sqrt(d), dim=1),
        "H": lambda X, A, V, Wo: X + (A @ V) @ Wo,
        "mu2": lambda H: H.mean(dim=1, keepdim=True),
        "xc2": lambda H, mu2: H - mu2,
        "var2": lambda xc2: (xc2 * xc2).mean(dim=1, keepdim=True),
        "N2": lambda g2, xc2, var2, b2: g2 * (xc2 / torch.sqrt(var2 + 1e-5)) + b2,
        "U": lambda N2, W1, c1: torch.nn.functional.gelu(N2 @ W1 + c1),
        "Y": lambda H, U, W2, c2: H + U @ W2 + c2,
        "L": lambda Y, T: ((Y - T) ** 2).sum() / n,
    }
