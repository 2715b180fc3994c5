"""The classifier of the PyTorch tutorials: Linear, ReLU, Linear, and F.cross_entropy with
integer class labels."""

from symgrad import Model, cross_entropy, relu

m = Model("mlp_classifier")
X = m.input("X", shape=(5, 3))
labels = m.input("labels", shape=(5, 1))
W1 = m.param("W1", shape=(3, 4))
b1 = m.param("b1", shape=(4,))
W2 = m.param("W2", shape=(4, 3))
b2 = m.param("b2", shape=(3,))

H = m.node("H", relu(X @ W1 + b1))
logits = m.node("logits", H @ W2 + b2)
m.loss("L", cross_entropy(logits, labels, classes=3))

m.example(random=22, labels=[[0], [1], [2], [1], [0]])


def reference():
    """The same model in plain PyTorch, node by node: the tests' independent oracle."""
    import torch
    import torch.nn.functional as F

    return {
        "H": lambda X, W1, b1: torch.relu(X @ W1 + b1),
        "logits": lambda H, W2, b2: H @ W2 + b2,
        "L": lambda logits, labels: F.cross_entropy(logits, labels.flatten().long()),
    }
