"""The contrastive loss of Hadsell, Chopra & LeCun (2006) on pairs of embeddings:
y d² + (1 − y) max(0, margin − d)², d = ‖a − b‖ per pair; the embeddings are XW."""

from symgrad import Model, mean, relu, sqrt
from symgrad import sum as total

m = Model("contrastive")
X1 = m.input("X1", shape=(3, 2))
X2 = m.input("X2", shape=(3, 2))
y = m.input("y", shape=(3, 1), domain="binary")
W = m.param("W", shape=(2, 2))

A = m.node("A", X1 @ W)
B = m.node("B", X2 @ W)
d = m.node("d", sqrt(total((A - B) * (A - B), axis=1, keepdims=True)))
m.loss("L", mean(y * d * d + (1 - y) * relu(1.5 - d) ** 2) / 2)

m.example(random=15, y=[[1], [0], [0]])


def reference():
    """The same model in plain PyTorch, node by node: the tests' independent oracle."""
    import torch

    return {
        "A": lambda X1, W: X1 @ W,
        "B": lambda X2, W: X2 @ W,
        "d": lambda A, B: torch.linalg.vector_norm(A - B, dim=1, keepdim=True),
        "L": lambda y, d: (y * d**2 + (1 - y) * torch.relu(1.5 - d) ** 2).mean() / 2,
    }
