"""Softmax regression with integer class labels, as F.cross_entropy(logits, labels) takes them."""

from symgrad import Model, cross_entropy

m = Model("softmax_regression_labels")
X = m.input("X", shape=(4, 3))
labels = m.input("labels", shape=(4, 1))
W = m.param("W", shape=(3, 3))
b = m.param("b", shape=(3,))

logits = m.node("logits", X @ W + b)
m.loss("L", cross_entropy(logits, labels, classes=3))

m.example(random=2, labels=[[0], [2], [1], [2]])


def reference():
    """The same model in plain PyTorch, node by node: the tests' independent oracle."""
    import torch.nn.functional as F

    return {
        "logits": lambda X, W, b: X @ W + b,
        "L": lambda logits, labels: F.cross_entropy(logits, labels.flatten().long()),
    }
