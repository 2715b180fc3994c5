"""The ReLU MLP of lecture note `004_1baf84e5a436a137.txt` (순전파와 역전파), at full size.

    hidden = relu(x · w1)        x: 32 × 1000, w1: 1000 × 100
    y_pred = hidden · w2         w2: 100 × 2
    loss   = Σ (y_pred − y)²     y: 32 × 2

The note draws x, y, w1 and w2 from torch.randn and updates w1, w2 by hand with
lr = 1e-6. symgrad derives at the level of matrices, as the textbook writes it:
∂loss/∂w1 = xᵀ((∂loss/∂hidden) ⊙ 𝟙[x w1 > 0]), never expanding the 100,200 weights.
"""

from symgrad import Model, relu, sum_squares

BATCH_SIZE, INPUT_SIZE, HIDDEN_SIZE, OUTPUT_SIZE = 32, 1000, 100, 2
LEARNING_RATE = 1e-6

m = Model("relu_mlp")
x = m.input("x", shape=(BATCH_SIZE, INPUT_SIZE))
y = m.input("y", shape=(BATCH_SIZE, OUTPUT_SIZE))
w1 = m.param("w1", shape=(INPUT_SIZE, HIDDEN_SIZE))
w2 = m.param("w2", shape=(HIDDEN_SIZE, OUTPUT_SIZE))

hidden = m.node("hidden", relu(x @ w1))
y_pred = m.node("y_pred", hidden @ w2)
m.loss("loss", sum_squares(y_pred - y))

m.example(random=0)  # standard normal draws, as torch.randn gives the note


def train(grad, point, iterations=500, lr=LEARNING_RATE, every=100):
    """The note's loop: w ← w − lr ∂loss/∂w with the generated gradient; the loss every
    ``every`` iterations (the loss before the update, as the note prints it)."""
    w1_value, w2_value = point["w1"], point["w2"]
    losses = []
    for t in range(1, iterations + 1):
        loss, g = grad(x=point["x"], y=point["y"], w1=w1_value, w2=w2_value)
        if t % every == 0:
            losses.append(float(loss))
        w1_value = w1_value - lr * g["w1"]
        w2_value = w2_value - lr * g["w2"]
    return losses


if __name__ == "__main__":
    import symgrad

    derivation = symgrad.derive(m)
    for t, loss in zip(
        range(100, 501, 100), train(symgrad.compile(derivation), derivation.example), strict=True
    ):
        print(f"{t}th Iteration:\n>>>> Loss: {loss}")
