"""Kernel regression with a Gaussian (RBF) kernel: K_ij = exp(−γ‖x_i − c_j‖²) written with the
expansion ‖x‖² + ‖c‖² − 2xᵀc, prediction Kα; the centres C are learned too."""

from symgrad import Model, exp, mse
from symgrad import sum as total

m = Model("rbf_kernel")
X = m.input("X", shape=(4, 2))
y = m.input("y", shape=(4, 1))
C = m.param("C", shape=(3, 2))
alpha = m.param("alpha", shape=(3, 1))

D = m.node("D", total(X * X, axis=1, keepdims=True) + total(C * C, axis=1) - 2 * X @ C.T)
K = m.node("K", exp(-0.5 * D))
pred = m.node("pred", K @ alpha)
m.loss("L", mse(pred, y))

m.example(random=14)


def reference():
    """The same model in plain PyTorch, node by node: the tests' independent oracle."""
    import torch
    import torch.nn.functional as F

    return {
        "D": lambda X, C: ((X[:, None, :] - C[None, :, :]) ** 2).sum(dim=2),
        "K": lambda D: torch.exp(-0.5 * D),
        "pred": lambda K, alpha: K @ alpha,
        "L": lambda pred, y: F.mse_loss(pred, y),
    }
