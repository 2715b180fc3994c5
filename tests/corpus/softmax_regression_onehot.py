"""Softmax regression with one-hot targets (d2l.ai 4.1): cross-entropy of XW + b."""

from symgrad import Model, cross_entropy

m = Model("softmax_regression_onehot")
X = m.input("X", shape=(4, 3))
Y = m.input("Y", shape=(4, 3), domain="binary")
W = m.param("W", shape=(3, 3))
b = m.param("b", shape=(3,))

logits = m.node("logits", X @ W + b)
m.loss("L", cross_entropy(logits, Y))

m.example(random=1, Y=[[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 1, 0]])


def reference():
    """The same model in plain PyTorch, node by node: the tests' independent oracle."""
    import torch.nn.functional as F

    return {
        "logits": lambda X, W, b: X @ W + b,
        "L": lambda logits, Y: F.cross_entropy(logits, Y),
    }
