"""1 − cosine similarity between an embedding xW and a target vector (sentence-embedding
losses): a·t / (‖a‖ ‖t‖); a is read by the dot product and by its norm."""

from symgrad import Model, norm
from symgrad import sum as total

m = Model("cosine_similarity")
x = m.input("x", shape=(1, 3))
t = m.input("t", shape=(1, 4))
W = m.param("W", shape=(3, 4))

a = m.node("a", x @ W)
dot = m.node("dot", total(a * t))
m.loss("L", 1 - dot / (norm(a) * norm(t)))

m.example(random=12)


def reference():
    """The same model in plain PyTorch, node by node: the tests' independent oracle."""
    import torch

    return {
        "a": lambda x, W: x @ W,
        "dot": lambda a, t: (a * t).sum(),
        "L": lambda dot, a, t: 1 - dot / (torch.linalg.norm(a) * torch.linalg.norm(t)),
    }
