"""Batch normalisation over the batch axis (Ioffe & Szegedy 2015), then a linear read-out."""

from symgrad import Model, mean, mse, sqrt

m = Model("batchnorm")
X = m.input("X", shape=(4, 3))
t = m.input("t", shape=(4, 1))
gamma = m.param("gamma", shape=(3,))
beta = m.param("beta", shape=(3,))
w = m.param("w", shape=(3, 1))

mu = m.node("mu", mean(X, axis=0, keepdims=True))
centred = m.node("centred", X - mu)
var = m.node("var", mean(centred * centred, axis=0, keepdims=True))
Xhat = m.node("Xhat", centred / sqrt(var + 1e-5))
Y = m.node("Y", gamma * Xhat + beta)
m.loss("L", mse(Y @ w, t))

m.example(random=9)


def reference():
    """The same model in plain PyTorch, node by node: the tests' independent oracle."""
    import torch
    import torch.nn.functional as F

    return {
        "mu": lambda X: X.mean(dim=0, keepdim=True),
        "centred": lambda X, mu: X - mu,
        "var": lambda centred: (centred * centred).mean(dim=0, keepdim=True),
        "Xhat": lambda centred, var: centred / torch.sqrt(var + 1e-5),
        "Y": lambda gamma, Xhat, beta: gamma * Xhat + beta,
        "L": lambda Y, w, t: F.mse_loss(Y @ w, t),
    }
