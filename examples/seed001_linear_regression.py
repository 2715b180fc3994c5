"""Linear regression ``pred = W·x + b`` with the mean squared error: lecture note
`001_26e40266e5552ad3.txt` (딥 러닝 기초 - 역전파).

The note trains W and b from zero with SGD (lr = 0.01) for 1000 epochs on the three points
(1, 3), (2, 6), (3, 9), then predicts at x = 10. The model is written for one sample; the batch
of three broadcasts through it and the loss is the mean over the batch, as torch.mean does.
"""

from symgrad import Model, mse

m = Model("linear_regression")
x, y = m.inputs("x y")
W, b = m.params("W b")

pred = m.node("pred", W * x + b)
m.loss("loss", mse(pred, y), reduction="mean")

m.example(x=[1, 2, 3], y=[3, 6, 9], W=0, b=0)


def train(epochs: int = 1000, lr: float = 0.01, report=None):
    """The note's loop, driven by the generated NumPy gradient; returns the final W and b."""
    import numpy as np

    import symgrad

    grad = symgrad.compile(symgrad.derive(m))
    x_train, y_train = np.array([1.0, 2.0, 3.0]), np.array([3.0, 6.0, 9.0])
    W_value, b_value = 0.0, 0.0
    for epoch in range(epochs):
        loss, g = grad(x=x_train, y=y_train, W=W_value, b=b_value)
        W_value, b_value = W_value - lr * g["W"], b_value - lr * g["b"]
        if report and (epoch + 1) % 100 == 0:
            report(epoch + 1, W_value, b_value, loss)
    return float(W_value), float(b_value)


if __name__ == "__main__":

    def show(epoch, W_value, b_value, loss):
        print(f"Epoch [{epoch}/1000], W: {W_value:.3f}, b: {b_value:.3f}, Loss: {loss:.4f}")

    W_final, b_final = train(report=show)
    print("훈련 후 입력이 10일 때의 예측값 :", 10 * W_final + b_final)
