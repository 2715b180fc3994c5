"""The chain-rule graph of lecture note `002_19a08bcecef6e8b7.txt` (모두의 딥러닝 Lec 4).

x and w meet at a multiplication, ŷ = x·w; a subtraction gives s = ŷ − y; a square gives the
loss s². At x = 1, w = 1, y = 2 the lecture works the chain back:
∂loss/∂s = 2s = −2, ∂loss/∂ŷ = −2 · 1 = −2, ∂loss/∂w = −2 · x = −2.
"""

from symgrad import Model

m = Model("chain_rule")
x, y = m.inputs("x y")
w = m.params("w")

y_hat = m.node("y_hat", x * w)
s = m.node("s", y_hat - y)
m.loss("loss", s**2)

m.example(x=1, w=1, y=2)


if __name__ == "__main__":
    # The lecture's training loop: one SGD step (lr 0.01) per sample, 20 epochs, driven by the
    # generated gradient instead of autograd.
    import symgrad

    grad = symgrad.compile(symgrad.derive(m))
    w_value = 1.0
    for epoch in range(20):
        for x_value, y_value in zip([1.0, 2.0, 3.0], [2.0, 4.0, 6.0], strict=True):
            loss, g = grad(x=x_value, y=y_value, w=w_value)
            print("\tgrad: ", x_value, y_value, float(g["w"]))
            w_value -= 0.01 * g["w"]
        print("progress:", epoch, float(loss))
    print("predict (after training)", 4, 4 * w_value)
