"""Layer normalisation of each row (Ba et al. 2016), then a squared error to a target."""

from symgrad import Model, mean, sqrt, sum_squares

m = Model("layernorm")
x = m.input("x", shape=(3, 4))
t = m.input("t", shape=(3, 4))
gamma = m.param("gamma", shape=(4,))
beta = m.param("beta", shape=(4,))

mu = m.node("mu", mean(x, axis=1, keepdims=True))
centred = m.node("centred", x - mu)
var = m.node("var", mean(centred * centred, axis=1, keepdims=True))
xhat = m.node("xhat", centred / sqrt(var + 1e-5))
y = m.node("y", gamma * xhat + beta)
m.loss("L", sum_squares(y - t) / 2)

m.example(random=4)


def reference():
    """The same model in plain PyTorch, node by node: the tests' independent oracle."""
    import torch

    return {
        "mu": lambda x: x.mean(dim=1, keepdim=True),
        "centred": lambda x, mu: x - mu,
        "var": lambda centred: (centred * centred).mean(dim=1, keepdim=True),
        "xhat": lambda centred, var: centred / torch.sqrt(var + 1e-5),
        "y": lambda gamma, xhat, beta: gamma * xhat + beta,
        "L": lambda y, t: ((y - t) ** 2).sum() / 2,
    }
