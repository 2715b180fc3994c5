"""A two-layer MLP with sigmoid hidden units and a squared-error loss (the PyTorch 60-minute blitz)."""

from symgrad import Model, mse, sigmoid

m = Model("mlp_sigmoid")
X = m.input("X", shape=(4, 3))
Y = m.input("Y", shape=(4, 2))
W1 = m.param("W1", shape=(3, 5))
b1 = m.param("b1", shape=(5,))
W2 = m.param("W2", shape=(5, 2))
b2 = m.param("b2", shape=(2,))

Z1 = m.node("Z1", X @ W1 + b1)
H = m.node("H", sigmoid(Z1))
out = m.node("out", H @ W2 + b2)
m.loss("L", mse(out, Y))

m.example(random=3)


def reference():
    """The same model in plain PyTorch, node by node: the tests' independent oracle."""
    import torch
    import torch.nn.functional as F

    return {
        "Z1": lambda X, W1, b1: X @ W1 + b1,
        "H": lambda Z1: torch.sigmoid(Z1),
        "out": lambda H, W2, b2: H @ W2 + b2,
        "L": lambda out, Y: F.mse_loss(out, Y),
    }
