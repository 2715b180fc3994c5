"""Lecture note `003_783eb137623faaa1.txt` as its PyTorch code, read by ``symgrad.from_torch``.

The cell below is the note's, unchanged: two ``nn.Sequential(nn.Linear, nn.Sigmoid)`` layers
with the note's weights and ``nn.BCELoss``. The one line symgrad adds is ``from_torch``: the
nodes are named by the modules (``layer1_0`` is the first ``nn.Linear``) and by the code's own
variables (``output``, ``loss``); the parameters by ``named_parameters()`` (``layer2_0_weight``
holds the note's W₅ and W₆). ``symgrad derive examples/seed003_torch.py`` gives the numbers of
``seed003_layers.py``, the same network declared by hand.
"""

import torch
import torch.nn as nn
import torch.optim as optim

import symgrad


# the note's cell, as the note writes it
# fmt: off
class CustomModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer1 = nn.Sequential(
            nn.Linear(2, 2),
            nn.Sigmoid()
        )
        self.layer2 = nn.Sequential(  # 두 개의 계층
            nn.Linear(2, 1),
            nn.Sigmoid()
        )

        self.layer1[0].weight.data = torch.nn.Parameter(
            torch.Tensor([[0.4352, 0.3545],
                          [0.1951, 0.4835]])
        )
        self.layer1[0].bias.data = torch.nn.Parameter(
            torch.Tensor([-0.1419, 0.0439])
        )
        self.layer2[0].weight.data = torch.nn.Parameter(
            torch.Tensor([[-0.1725, 0.1129]])
        )
        self.layer2[0].bias.data = torch.nn.Parameter(
            torch.Tensor([-0.3043])
        )

    def forward(self, x):
        x = self.layer1(x)
        x = self.layer2(x)
        return x
# fmt: on


device = "cuda" if torch.cuda.is_available() else "cpu"
model = CustomModel().to(device)
criterion = nn.BCELoss().to(device)  # 이진 교차 엔트로피
optimizer = optim.SGD(model.parameters(), lr=1)  # 확률적 경사 하강법

x = torch.FloatTensor([[1, 1]]).to(device)
y = torch.FloatTensor([[0]]).to(device)


def training_step(x, y):
    output = model(x)
    loss = criterion(output, y)
    return loss


m = symgrad.from_torch(training_step, {"x": x, "y": y}, name="two_layer_sigmoid_torch")

if __name__ == "__main__":  # the note's update, run when the file is run (symgrad only reads it)
    optimizer.zero_grad()
    loss = training_step(x, y)
    loss.backward()
    optimizer.step()
    print(f"loss {loss.item():.4f}; W5, W6 after one step: {model.layer2[0].weight.tolist()}")
