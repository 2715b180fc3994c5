"""Linear regression with the Huber loss (δ = 1), written as the smooth-L1 of torch:
0.5 r² where |r| < 1, |r| − 0.5 elsewhere, with r = Xw − y; the min form min(|r|, 1) is
the usual branch-free way to write it."""

from symgrad import Abs, Min, Model, mean

m = Model("huber_regression")
X = m.input("X", shape=(5, 2))
y = m.input("y", shape=(5, 1))
w = m.param("w", shape=(2, 1))

r = m.node("r", X @ w - y)
a = m.node("a", Min(Abs(r), 1.0))
m.loss("L", mean(a * (Abs(r) - a / 2)))

m.example(random=18)


def reference():
    """The same model in plain PyTorch, node by node: the tests' independent oracle."""
    import torch

    return {
        "r": lambda X, w, y: X @ w - y,
        "a": lambda r: torch.clamp(torch.abs(r), max=1.0),
        "L": lambda a, r: (a * (torch.abs(r) - a / 2)).mean(),
    }
