"""The focal loss of Lin et al. (2017) for binary labels, γ = 2: −(1 − p_t)^γ log p_t with
p_t = p for y = 1 and 1 − p for y = 0, p = σ(Xw)."""

from symgrad import Model, log, mean, sigmoid

m = Model("focal")
X = m.input("X", shape=(4, 3))
y = m.input("y", shape=(4, 1), domain="binary")
w = m.param("w", shape=(3, 1))

p = m.node("p", sigmoid(X @ w))
pt = m.node("pt", y * p + (1 - y) * (1 - p))
m.loss("L", mean(-((1 - pt) ** 2) * log(pt)))

m.example(random=16, y=[[1], [0], [0], [1]])


def reference():
    """The same model in plain PyTorch, node by node: the tests' independent oracle."""
    import torch

    return {
        "p": lambda X, w: torch.sigmoid(X @ w),
        "pt": lambda y, p: y * p + (1 - y) * (1 - p),
        "L": lambda pt: (-((1 - pt) ** 2) * torch.log(pt)).mean(),
    }
