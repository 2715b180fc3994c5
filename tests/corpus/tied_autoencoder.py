"""An autoencoder with tied weights (the decoder is the encoder's transpose, as in the denoising
autoencoder tutorials): W is read by the encoder and the decoder."""

from symgrad import Model, mse, sigmoid

m = Model("tied_autoencoder")
X = m.input("X", shape=(4, 3))
W = m.param("W", shape=(3, 2))
b = m.param("b", shape=(2,))
c = m.param("c", shape=(3,))

H = m.node("H", sigmoid(X @ W + b))
R = m.node("R", H @ W.T + c)
m.loss("L", mse(R, X))

m.example(random=21)


def reference():
    """The same model in plain PyTorch, node by node: the tests' independent oracle."""
    import torch
    import torch.nn.functional as F

    return {
        "H": lambda X, W, b: torch.sigmoid(X @ W + b),
        "R": lambda H, W, c: H @ W.T + c,
        "L": lambda R, X: F.mse_loss(R, X),
    }
