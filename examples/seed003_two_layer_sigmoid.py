"""Two-layer sigmoid network with binary cross-entropy: the worked example of the lecture note
`003_783eb137623faaa1.txt` ("[PyTorch] 순전파와 역전파").

The note's network is nn.Linear(2, 2) → sigmoid → nn.Linear(2, 1) → sigmoid, trained with BCE
and SGD (lr = 1) on the single sample x = (1, 1), y = 0. Here every weight is a named scalar,
as the note works it by hand: W1…W4 and b1, b2 are the first layer, W5, W6 and b3 the second.
"""

from symgrad import Model, bce, sigmoid

m = Model("two_layer_sigmoid")
x1, x2 = m.inputs("x1 x2")
y = m.inputs("y")
W1, W2, W3, W4, W5, W6 = m.params("W1:7")
b1, b2, b3 = m.params("b1:4")

z1 = m.node("z1", W1 * x1 + W2 * x2 + b1)
z2 = m.node("z2", W3 * x1 + W4 * x2 + b2)
sigma1 = m.node("sigma1", sigmoid(z1))
sigma2 = m.node("sigma2", sigmoid(z2))
z3 = m.node("z3", W5 * sigma1 + W6 * sigma2 + b3)
sigma3 = m.node("sigma3", sigmoid(z3))
m.loss("L", bce(sigma3, y))

m.example(
    x1=1,
    x2=1,
    y=0,
    W1=0.4352,
    W2=0.3545,
    W3=0.1951,
    W4=0.4835,
    W5=-0.1725,
    W6=0.1129,
    b1=-0.1419,
    b2=0.0439,
    b3=-0.3043,
)
