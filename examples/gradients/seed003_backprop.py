"""Backpropagation of the two-layer sigmoid network of lecture note `003`, written by hand as
the note works it: one function that is right, and one with a single slip.

    symgrad verify examples/seed003_two_layer_sigmoid.py \
        --against examples/gradients/seed003_backprop.py:backprop
    symgrad verify examples/seed003_two_layer_sigmoid.py \
        --against examples/gradients/seed003_backprop.py:backprop_with_a_slip

Each takes the model's values as keywords and returns the gradient as a dict by name.
"""

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def backprop(x1, x2, y, W1, W2, W3, W4, W5, W6, b1, b2, b3, *, slip=False):
    # forward
    z1 = W1 * x1 + W2 * x2 + b1
    z2 = W3 * x1 + W4 * x2 + b2
    s1, s2 = sigmoid(z1), sigmoid(z2)
    z3 = W5 * s1 + W6 * s2 + b3
    s3 = sigmoid(z3)
    # backward: ∂L/∂σ3 for BCE, then one factor of the chain at a time
    dL_ds3 = -y / s3 + (1 - y) / (1 - s3)
    dL_dz3 = dL_ds3 * s3 * (1 - s3)
    dL_ds1 = dL_dz3 * (-W5 if slip else W5)  # the slip: ∂z3/∂σ1 taken as −W5
    dL_ds2 = dL_dz3 * W6
    dL_dz1 = dL_ds1 * s1 * (1 - s1)
    dL_dz2 = dL_ds2 * s2 * (1 - s2)
    return {
        "W1": dL_dz1 * x1, "W2": dL_dz1 * x2, "b1": dL_dz1,
        "W3": dL_dz2 * x1, "W4": dL_dz2 * x2, "b2": dL_dz2,
        "W5": dL_dz3 * s1, "W6": dL_dz3 * s2, "b3": dL_dz3,
    }  # fmt: skip


def backprop_with_a_slip(**values):
    return backprop(**values, slip=True)
