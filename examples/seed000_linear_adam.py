"""nn.Linear(1, 1) with the mean squared error, trained by Adam: lecture note
`000_22d830a4d18a4a2e.txt` ([Propagation] Backpropagation).

The note fits y = 2x on x = 1, 2, 3, 4 with Adam (lr = 0.01) for 1000 epochs, printing the loss
every 100. The layer is ``pred = x · Wᵀ + b`` as nn.Linear computes it; the generated gradient
drives an Adam update written out here, step for step as torch.optim.Adam takes it.
"""

import numpy as np

from symgrad import Model, mse

m = Model("linear_adam")
x = m.input("x", shape=(4, 1))
y = m.input("y", shape=(4, 1))
W = m.param("W", shape=(1, 1))
b = m.param("b", shape=(1,))

pred = m.node("pred", x @ W.T + b)
m.loss("loss", mse(pred, y))

X_TRAIN = np.array([[1.0], [2.0], [3.0], [4.0]])
Y_TRAIN = np.array([[2.0], [4.0], [6.0], [8.0]])
# The note's layer started from torch's random initialisation, which it does not print. These
# starting weights were found by a search over [−1, 1]²: from them Adam reproduces all ten
# printed losses (17.822374 … 0.099409) to five significant digits in float64; the note ran
# in float32.
W_START, B_START = -0.4539455, -0.8465442
m.example(x=X_TRAIN, y=Y_TRAIN, W=[[W_START]], b=[B_START])


def adam(grad, params, lr=0.01, betas=(0.9, 0.999), eps=1e-8, epochs=1000, every=100):
    """Adam (Kingma & Ba, as torch.optim.Adam with its defaults) on ``params``; returns the
    loss every ``every`` epochs (the loss before that epoch's step, as the note prints it)."""
    params = {name: np.array(value, dtype=float) for name, value in params.items()}
    first = {name: np.zeros_like(value) for name, value in params.items()}
    second = {name: np.zeros_like(value) for name, value in params.items()}
    losses = []
    for epoch in range(1, epochs + 1):
        loss, g = grad(x=X_TRAIN, y=Y_TRAIN, **params)
        for name in params:
            first[name] = betas[0] * first[name] + (1 - betas[0]) * g[name]
            second[name] = betas[1] * second[name] + (1 - betas[1]) * g[name] ** 2
            first_hat = first[name] / (1 - betas[0] ** epoch)
            second_hat = second[name] / (1 - betas[1] ** epoch)
            params[name] = params[name] - lr * first_hat / (np.sqrt(second_hat) + eps)
        if epoch % every == 0:
            losses.append(float(loss))
    return losses


if __name__ == "__main__":
    import symgrad

    derivation = symgrad.derive(m)
    start = {"W": derivation.example["W"], "b": derivation.example["b"]}
    for epoch, loss in zip(
        range(100, 1001, 100), adam(symgrad.compile(derivation), start), strict=True
    ):
        print(f"Epoch [{epoch}/1000], Loss: {loss:.6f}")
