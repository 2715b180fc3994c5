"""The backward pass lecture note `004` writes by hand for its ReLU MLP, in NumPy:

    grad_y_pred = 2.0 * (y_pred - y)
    grad_w2 = h_relu.t().mm(grad_y_pred)
    grad_h_relu = grad_y_pred.mm(w2.t())
    grad_h = grad_h_relu.clone(); grad_h[h < 0] = 0
    grad_w1 = x.t().mm(grad_h)

    symgrad verify examples/seed004_relu_mlp.py \
        --against examples/gradients/seed004_manual.py:backward
"""

import numpy as np


def backward(x, y, w1, w2):
    h = x @ w1
    h_relu = np.maximum(h, 0)
    y_pred = h_relu @ w2
    grad_y_pred = 2.0 * (y_pred - y)
    grad_w2 = h_relu.T @ grad_y_pred
    grad_h = grad_y_pred @ w2.T
    grad_h[h < 0] = 0  # the note's mask: at h = 0 exactly it lets the gradient through
    grad_w1 = x.T @ grad_h
    return {"w1": grad_w1, "w2": grad_w2}
