"""One LSTM step (Hochreiter & Schmidhuber; colah's "Understanding LSTMs") with a read-out."""

from symgrad import Model, mse, sigmoid, tanh

m = Model("lstm")
x = m.input("x", shape=(1, 2))
h0 = m.input("h0", shape=(1, 2))
c0 = m.input("c0", shape=(1, 2))
y = m.input("y", shape=(1, 1))
Wi = m.param("Wi", shape=(2, 2))
Ui = m.param("Ui", shape=(2, 2))
Wf = m.param("Wf", shape=(2, 2))
Uf = m.param("Uf", shape=(2, 2))
Wo = m.param("Wo", shape=(2, 2))
Uo = m.param("Uo", shape=(2, 2))
Wg = m.param("Wg", shape=(2, 2))
Ug = m.param("Ug", shape=(2, 2))
Wy = m.param("Wy", shape=(2, 1))

i = m.node("i", sigmoid(x @ Wi + h0 @ Ui))
f = m.node("f", sigmoid(x @ Wf + h0 @ Uf))
o = m.node("o", sigmoid(x @ Wo + h0 @ Uo))
g = m.node("g", tanh(x @ Wg + h0 @ Ug))
c = m.node("c", f * c0 + i * g)
h = m.node("h", o * tanh(c))
out = m.node("out", h @ Wy)
m.loss("L", mse(out, y))

m.example(random=8)


def reference():
    """The same model in plain PyTorch, node by node: the tests' independent oracle."""
    import torch
    import torch.nn.functional as F

    return {
        "i": lambda x, Wi, h0, Ui: torch.sigmoid(x @ Wi + h0 @ Ui),
        "f": lambda x, Wf, h0, Uf: torch.sigmoid(x @ Wf + h0 @ Uf),
        "o": lambda x, Wo, h0, Uo: torch.sigmoid(x @ Wo + h0 @ Uo),
        "g": lambda x, Wg, h0, Ug: torch.tanh(x @ Wg + h0 @ Ug),
        "c": lambda f, c0, i, g: f * c0 + i * g,
        "h": lambda o, c: o * torch.tanh(c),
        "out": lambda h, Wy: h @ Wy,
        "L": lambda out, y: F.mse_loss(out, y),
    }
