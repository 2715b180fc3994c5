"""LayerNorm differentiated with respect to its input as well (the backward pass a kernel
writer checks): x feeds the mean and the centring, so its adjoint has several terms."""

from symgrad import Model, mean, sqrt, sum_squares

m = Model("layernorm_input_grad")
x = m.param("x", shape=(2, 3))
t = m.input("t", shape=(2, 3))
gamma = m.param("gamma", shape=(3,))

mu = m.node("mu", mean(x, axis=1, keepdims=True))
centred = m.node("centred", x - mu)
var = m.node("var", mean(centred * centred, axis=1, keepdims=True))
xhat = m.node("xhat", centred / sqrt(var + 1e-5))
m.loss("L", sum_squares(gamma * xhat - t))

m.example(random=5)


def reference():
    """The same model in plain PyTorch, node by node: the tests' independent oracle."""
    import torch

    return {
        "mu": lambda x: x.mean(dim=1, keepdim=True),
        "centred": lambda x, mu: x - mu,
        "var": lambda centred: (centred * centred).mean(dim=1, keepdim=True),
        "xhat": lambda centred, var: centred / torch.sqrt(var + 1e-5),
        "L": lambda gamma, xhat, t: ((gamma * xhat - t) ** 2).sum(),
    }
