"""Logistic regression with an L2 penalty (the scikit-learn / CS229 formulation):
p = σ(Xw + b), L = mean BCE(p, y) + λ/2 ‖w‖². w is read by two nodes; the loss has two terms."""

from symgrad import Model, bce, mean, sigmoid, sum_squares

m = Model("logreg_l2")
X = m.input("X", shape=(5, 3))
y = m.input("y", shape=(5, 1), domain="binary")
w = m.param("w", shape=(3, 1))
b = m.param("b")

z = m.node("z", X @ w + b)
p = m.node("p", sigmoid(z))
data = m.node("data", mean(bce(p, y)))
penalty = m.node("penalty", 0.05 * sum_squares(w))
m.loss("L", data + penalty)

m.example(random=0, y=[[1], [0], [1], [1], [0]])


def reference():
    """The same model in plain PyTorch, node by node: the tests' independent oracle."""
    import torch
    import torch.nn.functional as F

    return {
        "z": lambda X, w, b: X @ w + b,
        "p": lambda z: torch.sigmoid(z),
        "data": lambda p, y: F.binary_cross_entropy(p, y),
        "penalty": lambda w: 0.05 * (w**2).sum(),
        "L": lambda data, penalty: data + penalty,
    }
