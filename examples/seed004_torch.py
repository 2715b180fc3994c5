"""Lecture note `004_1baf84e5a436a137.txt` as its PyTorch code, read by ``symgrad.from_torch``.

The note's loop body is the loss function: ``hidden``, ``y_pred`` and ``loss`` become the
nodes of those names. The note marks x and y ``requires_grad_()`` too but updates only w1 and
w2, so ``params=`` names those two. The note draws its tensors from ``torch.randn``; here they
are NumPy's draws in ``seed004_relu_mlp.py``'s order, so both files give the same numbers.
"""

import numpy as np
import torch

import symgrad

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

BATCH_SIZE = 32  # 입력값의 개수
INPUT_SIZE = 1000  # 입력값의 크기
HIDDEN_SIZE = 100  # 은닉층의 크기
OUTPUT_SIZE = 2  # 출력값의 크기
LEARNING_RATE = 1e-6

draws = np.random.default_rng(0)  # the hand-declared model's example: x, y, w1, w2 in turn


def randn(*shape):
    return torch.tensor(draws.standard_normal(shape), device=device, dtype=torch.float)


x = randn(BATCH_SIZE, INPUT_SIZE).requires_grad_()
y = randn(BATCH_SIZE, OUTPUT_SIZE).requires_grad_()
w1 = randn(INPUT_SIZE, HIDDEN_SIZE).requires_grad_()
w2 = randn(HIDDEN_SIZE, OUTPUT_SIZE).requires_grad_()


def training_step(x, y, w1, w2):
    hidden = torch.nn.functional.relu(x.mm(w1))
    y_pred = hidden.mm(w2)
    loss = (y_pred - y).pow(2).sum()
    return loss


m = symgrad.from_torch(
    training_step, {"x": x, "y": y, "w1": w1, "w2": w2}, params=["w1", "w2"], name="relu_mlp_torch"
)

if __name__ == "__main__":  # the note's loop, run when the file is run
    for t in range(500):
        loss = training_step(x, y, w1, w2)
        if t % 100 == 99:
            print(t, loss.item())
        loss.backward()
        with torch.no_grad():
            w1 -= LEARNING_RATE * w1.grad
            w2 -= LEARNING_RATE * w2.grad
            w1.grad.zero_()
            w2.grad.zero_()
