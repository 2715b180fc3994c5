"""Temperature scaling of a classifier's logits (Guo et al. 2017) with a small penalty on the
inverse temperature s: s is read by the logits and by the penalty, both scalar and matrix."""

from symgrad import Model, cross_entropy

m = Model("temperature_scaling")
X = m.input("X", shape=(3, 2))
Y = m.input("Y", shape=(3, 3), domain="binary")
W = m.param("W", shape=(2, 3))
s = m.param("s")

logits = m.node("logits", s * (X @ W))
m.loss("L", cross_entropy(logits, Y) + 0.01 * s**2)

m.example(random=20, Y=[[0, 1, 0], [1, 0, 0], [0, 0, 1]], s=1.5)


def reference():
    """The same model in plain PyTorch, node by node: the tests' independent oracle."""
    import torch.nn.functional as F

    return {
        "logits": lambda s, X, W: s * (X @ W),
        "L": lambda logits, Y, s: F.cross_entropy(logits, Y) + 0.01 * s**2,
    }
