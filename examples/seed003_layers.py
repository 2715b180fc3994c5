"""The network of lecture note `003_783eb137623faaa1.txt` as the note's PyTorch code declares it:
two nn.Linear layers (weights out × in, bias rows) with sigmoids, and nn.BCELoss.

    z1 = x W1ᵀ + b1,  σ1 = σ(z1)      x: 1×2, W1: 2×2, b1: (2,)
    z2 = σ1 W2ᵀ + b2, σ2 = σ(z2)      W2: 1×2, b2: (1,)
    L  = BCE(σ2, y)

`symgrad derive examples/seed003_layers.py --unroll` expands it entry by entry into the same
scalar worked example as `seed003_two_layer_sigmoid.py`: z1_1 and z1_2 are the note's z₁ and z₂.
"""

from symgrad import Model, bce, sigmoid
from symgrad import sum as total

m = Model("two_layer_sigmoid_layers")
x = m.input("x", shape=(1, 2))
y = m.input("y", shape=(1, 1))
W1 = m.param("W1", shape=(2, 2))
b1 = m.param("b1", shape=(2,))
W2 = m.param("W2", shape=(1, 2))
b2 = m.param("b2", shape=(1,))

z1 = m.node("z1", x @ W1.T + b1)
sigma1 = m.node("sigma1", sigmoid(z1))
z2 = m.node("z2", sigma1 @ W2.T + b2)
sigma2 = m.node("sigma2", sigmoid(z2))
m.loss("L", total(bce(sigma2, y)))

m.example(
    x=[[1, 1]], y=[[0]],
    W1=[[0.4352, 0.3545], [0.1951, 0.4835]], b1=[-0.1419, 0.0439],
    W2=[[-0.1725, 0.1129]], b2=[-0.3043],
)  # fmt: skip
