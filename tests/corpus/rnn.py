"""An Elman RNN unrolled three steps (Karpathy's min-char-rnn, without the softmax):
h_t = tanh(x_t Wx + h_{t-1} Wh + b); the same weights are read at every step."""

from symgrad import Model, mse, tanh

m = Model("rnn")
x1 = m.input("x1", shape=(1, 2))
x2 = m.input("x2", shape=(1, 2))
x3 = m.input("x3", shape=(1, 2))
h0 = m.input("h0", shape=(1, 3))
y = m.input("y", shape=(1, 1))
Wx = m.param("Wx", shape=(2, 3))
Wh = m.param("Wh", shape=(3, 3))
b = m.param("b", shape=(3,))
Wy = m.param("Wy", shape=(3, 1))

h1 = m.node("h1", tanh(x1 @ Wx + h0 @ Wh + b))
h2 = m.node("h2", tanh(x2 @ Wx + h1 @ Wh + b))
h3 = m.node("h3", tanh(x3 @ Wx + h2 @ Wh + b))
out = m.node("out", h3 @ Wy)
m.loss("L", mse(out, y))

m.example(random=7)


def reference():
    """The same model in plain PyTorch, node by node: the tests' independent oracle."""
    import torch
    import torch.nn.functional as F

    return {
        "h1": lambda x1, Wx, h0, Wh, b: torch.tanh(x1 @ Wx + h0 @ Wh + b),
        "h2": lambda x2, Wx, h1, Wh, b: torch.tanh(x2 @ Wx + h1 @ Wh + b),
        "h3": lambda x3, Wx, h2, Wh, b: torch.tanh(x3 @ Wx + h2 @ Wh + b),
        "out": lambda h3, Wy: h3 @ Wy,
        "L": lambda out, y: F.mse_loss(out, y),
    }
