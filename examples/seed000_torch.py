"""Lecture note `000_22d830a4d18a4a2e.txt` as its PyTorch code, read by ``symgrad.from_torch``,
and trained by ``torch.optim.Adam`` on symgrad's gradient.

``nn.Linear(1, 1)`` with ``nn.MSELoss``. The note's layer started from torch's random
initialisation, which it does not print; it starts here from the weights
``seed000_linear_adam.py`` found, in float64. Run the file to train it: the loss goes through
``as_autograd_function()``, a ``torch.autograd.Function`` whose backward pass is symgrad's
generated gradient, and Adam prints the note's ten losses (17.822 … 0.099409).
"""

import torch
import torch.nn as nn
import torch.optim as optim

import symgrad

# Example data
x_train = torch.tensor([[1.0], [2.0], [3.0], [4.0]], dtype=torch.float64)
y_train = torch.tensor([[2.0], [4.0], [6.0], [8.0]], dtype=torch.float64)


# Simple LinearRegression model with Forward Propagation
class LinearRegressionModel(nn.Module):
    def __init__(self):
        super(LinearRegressionModel, self).__init__()  # noqa: UP008 (the note's code)
        self.linear = nn.Linear(1, 1)  # Input : 1, Output : 1

    def forward(self, x):
        return self.linear(x)


model = LinearRegressionModel().double()
with torch.no_grad():  # the starting point seed000_linear_adam.py found
    model.linear.weight.fill_(-0.4539455)
    model.linear.bias.fill_(-0.8465442)
criterion = nn.MSELoss()


def training_step(x, y):
    outputs = model(x)
    loss = criterion(outputs, y)
    return loss


m = symgrad.from_torch(training_step, {"x": x_train, "y": y_train}, name="linear_adam_torch")


def train(epochs=1000, every=100):
    """The note's loop with Adam, the backward pass symgrad's: the loss every ``every``."""
    loss_fn = symgrad.compile(symgrad.derive(m), "torch").as_autograd_function()
    parameters = {"linear_weight": model.linear.weight, "linear_bias": model.linear.bias}
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for epoch in range(epochs):
        loss = loss_fn(x=x_train, y=y_train, **parameters)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if (epoch + 1) % every == 0:
            losses.append(loss.item())
    return losses


if __name__ == "__main__":
    for epoch, loss in zip(range(100, 1001, 100), train(), strict=True):
        print(f"Epoch [{epoch}/1000], Loss: {loss:.6f}")
