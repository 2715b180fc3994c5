"""Lecture note `001_26e40266e5552ad3.txt` as its PyTorch code, read by ``symgrad.from_torch``.

``pred = x_train * W + b`` and ``torch.mean((pred - y_train) ** 2)``, with W and b the note's
zero-initialised tensors that require a gradient: the loss function reads them by name, so
they are its parameters, W and b. The training loop runs when the file is run.
"""

import torch
import torch.optim as optim

import symgrad

# 훈련셋
x_train = torch.tensor([[1], [2], [3]], dtype=torch.float)
y_train = torch.tensor([[3], [6], [9]], dtype=torch.float)

# 가중치와 편향 0 초기화
W = torch.zeros(1, requires_grad=True)
b = torch.zeros(1, requires_grad=True)


def training_step(x_train, y_train):
    pred = x_train * W + b  # -- 순전파를 통해 얻어진 예측값
    loss = torch.mean((pred - y_train) ** 2)  # 예측값 - 실제값
    return loss


m = symgrad.from_torch(
    training_step, {"x_train": x_train, "y_train": y_train}, name="linear_regression_torch"
)

if __name__ == "__main__":  # the note's loop
    optimizer = optim.SGD([W, b], lr=0.01)
    epochs = 1000
    for epoch in range(epochs):
        loss = training_step(x_train, y_train)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if (epoch + 1) % 100 == 0:
            w, bias, value = W.item(), b.item(), loss.item()
            print(f"Epoch [{epoch + 1}/{epochs}], W: {w:.3f}, b: {bias:.3f}, Loss: {value:.4f}")
