"""A one-hidden-layer MLP with GELU in its tanh approximation (BERT, GPT-2):
0.5 z (1 + tanh(√(2/π) (z + 0.044715 z³)))."""

import math

from symgrad import Model, mse, tanh

m = Model("gelu_tanh")
X = m.input("X", shape=(2, 2))
Y = m.input("Y", shape=(2, 1))
W1 = m.param("W1", shape=(2, 3))
W2 = m.param("W2", shape=(3, 1))

Z = m.node("Z", X @ W1)
H = m.node("H", 0.5 * Z * (1 + tanh(math.sqrt(2 / math.pi) * (Z + 0.044715 * Z**3))))
m.loss("L", mse(H @ W2, Y))

m.example(random=19)


def reference():
    """The same model in plain PyTorch, node by node: the tests' independent oracle."""
    import torch.nn.functional as F

    return {
        "Z": lambda X, W1: X @ W1,
        "H": lambda Z: F.gelu(Z, approximate="tanh"),
        "L": lambda H, W2, Y: F.mse_loss(H @ W2, Y),
    }
