"""The contrastive loss with 1-D labels, as a NumPy tutorial writes it: d = ‖a − b‖ per pair
with np.sum(…, axis=1), labels y of shape (n,); y·d² + (1 − y)·max(0, m − d)².
The reduction drops its axis, as NumPy's does, so y * d is (n,) and not n × n."""

import symgrad
from symgrad import Model, relu, sqrt

m = Model("contrastive_labels")
X1 = m.input("X1", shape=(4, 2))
X2 = m.input("X2", shape=(4, 2))
y = m.input("y", shape=(4,), domain="binary")
W = m.param("W", shape=(2, 2))

A = m.node("A", X1 @ W)
B = m.node("B", X2 @ W)
d = m.node("d", sqrt(symgrad.sum((A - B) ** 2, axis=1)))
m.loss("L", symgrad.mean(y * d**2 + (1 - y) * relu(1.5 - d) ** 2) / 2)

m.example(random=33, y=[1.0, 0.0, 0.0, 1.0])


def reference():
    """The same model in plain PyTorch, node by node: the tests' independent oracle."""
    import torch

    return {
        "A": lambda X1, W: X1 @ W,
        "B": lambda X2, W: X2 @ W,
        "d": lambda A, B: torch.sqrt(((A - B) ** 2).sum(dim=1)),
        "L": lambda y, d: (y * d**2 + (1 - y) * torch.relu(1.5 - d) ** 2).mean() / 2,
    }
