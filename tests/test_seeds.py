"""The lecture notes' worked examples, reproduced to the printed digit.

Each expected number below is printed in the seed (``../shared/seeds``); every gradient is
also checked against PyTorch autograd on the seed's own PyTorch code.
"""

import importlib.util

import numpy as np
import pytest

import symgrad
from symgrad.rendering import format_number

from .conftest import example_path, load_example


def trace(name, **at):
    derivation = symgrad.derive(load_example(name))
    point = {**derivation.example, **at}
    return derivation, symgrad.compile(derivation).trace(**point)


class TestSeed002ChainRule:
    """x = 1, w = 1, y = 2: ŷ = 1, s = −1, loss = 1; ∂loss/∂s = −2, ∂loss/∂ŷ = −2, ∂loss/∂w = −2."""

    def test_forward_values(self):
        _, t = trace("seed002_chain_rule.py")
        assert t.values["y_hat"] == 1
        assert t.values["s"] == -1
        assert t.values["loss"] == 1

    def test_backward_chain(self):
        derivation, t = trace("seed002_chain_rule.py")
        assert t.values["dloss_ds"] == -2  # ∂s²/∂s = 2s
        assert t.values["dloss_dy_hat"] == -2  # −2 × 1
        assert t.values["dloss_dw"] == -2  # −2 × x
        assert t.gradients["w"] == -2
        # The local gradients are the lecture's: 2s, 1 and x.
        s, x = derivation.symbol("s"), derivation.symbol("x")
        assert derivation.local("loss", "s").expr == 2 * s
        assert derivation.local("s", "y_hat").expr == 1
        assert derivation.local("y_hat", "w").expr == x

    def test_training_loop_matches_torch(self, torch):
        """The lecture's loop (per-sample SGD, lr 0.01, 20 epochs) driven by the generated
        gradient gives torch's weight."""
        grad = symgrad.compile(symgrad.derive(load_example("seed002_chain_rule.py")))
        data = [(1.0, 2.0), (2.0, 4.0), (3.0, 6.0)]
        w = 1.0
        w_torch = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
        for _ in range(20):
            for x, y in data:
                _, g = grad(x=x, y=y, w=w)
                w -= 0.01 * g["w"]
                loss = (x * w_torch - y) * (x * w_torch - y)
                loss.backward()
                w_torch.data -= 0.01 * w_torch.grad.data
                w_torch.grad.zero_()
        assert w == pytest.approx(w_torch.item(), abs=1e-12)


SEED003_PRINTED = {
    "z1": "0.6478",
    "z2": "0.7225",
    "sigma1": "0.6565",
    "sigma2": "0.6732",
    "z3": "-0.3415",
    "sigma3": "0.4154",
    "L": "0.5369",  # the note truncates to 0.5368; 0.53688… rounds to 0.5369
}


class TestSeed003TwoLayerSigmoid:
    def test_forward_values_to_the_printed_digit(self):
        _, t = trace("seed003_two_layer_sigmoid.py")
        for name, printed in SEED003_PRINTED.items():
            assert format_number(t.values[name], 4) == printed, name
        # The note truncates the loss; the float64 value lies in [0.5368, 0.5369).
        assert 0.5368 <= t.values["L"] < 0.5369

    def test_gradients_equal_autograd_on_the_notes_own_network(self, torch):
        """The note's CustomModel (nn.Linear → Sigmoid → nn.Linear → Sigmoid, BCELoss) in
        float64: every one of the nine gradients equals autograd's to 1e-12."""
        derivation, t = trace("seed003_two_layer_sigmoid.py")
        net, _ = _seed003_torch_network(torch)
        x = torch.tensor([[1.0, 1.0]], dtype=torch.float64)
        y = torch.tensor([[0.0]], dtype=torch.float64)
        loss = torch.nn.BCELoss()(net(x), y)
        loss.backward()
        w1, b1 = net[0].weight.grad, net[0].bias.grad
        w2, b2 = net[2].weight.grad, net[2].bias.grad
        expected = {
            "W1": w1[0, 0], "W2": w1[0, 1], "W3": w1[1, 0], "W4": w1[1, 1],
            "W5": w2[0, 0], "W6": w2[0, 1], "b1": b1[0], "b2": b1[1], "b3": b2[0],
        }  # fmt: skip
        assert set(derivation.wrt) == set(expected)
        for name, value in expected.items():
            assert abs(float(t.gradients[name]) - float(value)) <= 1e-12, name
        assert abs(float(t.loss) - loss.item()) <= 1e-12

    def test_one_sgd_step_with_lr_1(self, torch):
        """optimizer.step() with SGD(lr=1) takes W5 from −0.1725 to −0.4452; every updated
        weight equals torch's."""
        derivation, t = trace("seed003_two_layer_sigmoid.py")
        updated = {
            name: derivation.example[name] - 1.0 * t.gradients[name] for name in derivation.wrt
        }
        assert format_number(updated["W5"], 4) == "-0.4452"
        net, layout = _seed003_torch_network(torch)
        optimizer = torch.optim.SGD(net.parameters(), lr=1)
        x = torch.tensor([[1.0, 1.0]], dtype=torch.float64)
        loss = torch.nn.BCELoss()(net(x), torch.tensor([[0.0]], dtype=torch.float64))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        for name, (param, index) in layout.items():
            assert abs(updated[name] - float(param.data[index])) <= 1e-12, name


def _seed003_torch_network(torch):
    net = torch.nn.Sequential(
        torch.nn.Linear(2, 2), torch.nn.Sigmoid(), torch.nn.Linear(2, 1), torch.nn.Sigmoid()
    ).double()
    with torch.no_grad():  # the note's values exactly, not their float32 roundings
        net[0].weight.copy_(torch.tensor([[0.4352, 0.3545], [0.1951, 0.4835]], dtype=torch.float64))
        net[0].bias.copy_(torch.tensor([-0.1419, 0.0439], dtype=torch.float64))
        net[2].weight.copy_(torch.tensor([[-0.1725, 0.1129]], dtype=torch.float64))
        net[2].bias.copy_(torch.tensor([-0.3043], dtype=torch.float64))
    layout = {
        "W1": (net[0].weight, (0, 0)), "W2": (net[0].weight, (0, 1)),
        "W3": (net[0].weight, (1, 0)), "W4": (net[0].weight, (1, 1)),
        "W5": (net[2].weight, (0, 0)), "W6": (net[2].weight, (0, 1)),
        "b1": (net[0].bias, (0,)), "b2": (net[0].bias, (1,)), "b3": (net[2].bias, (0,)),
    }  # fmt: skip
    return net, layout


class TestSeed001LinearRegression:
    def test_training_matches_the_notes_torch_loop(self, torch):
        """SGD (lr 0.01) from zero for 1000 epochs on (1, 3), (2, 6), (3, 9), driven by the
        generated gradient: W, b and the prediction at x = 10 equal torch's run of the note's
        loop (in float64) to 1e-9."""
        spec = importlib.util.spec_from_file_location(
            "seed001", example_path("seed001_linear_regression.py")
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        W, b = module.train(epochs=1000, lr=0.01)

        x_train = torch.tensor([[1.0], [2.0], [3.0]], dtype=torch.float64)
        y_train = torch.tensor([[3.0], [6.0], [9.0]], dtype=torch.float64)
        W_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
        b_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
        optimizer = torch.optim.SGD([W_t, b_t], lr=0.01)
        for _ in range(1000):
            pred = x_train * W_t + b_t
            loss = torch.mean((pred - y_train) ** 2)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            pred_10 = (torch.tensor([[10.0]], dtype=torch.float64) * W_t + b_t).item()
        assert abs(W - W_t.item()) <= 1e-9
        assert abs(b - b_t.item()) <= 1e-9
        assert abs((10 * W + b) - pred_10) <= 1e-9
        # and the run went where the note's did (W → 3, b → 0 from below)
        assert abs(W - 2.956) < 5e-4 and abs(b - 0.100) < 5e-4

    def test_batch_gradient_is_the_mean_of_per_sample_gradients(self):
        derivation = symgrad.derive(load_example("seed001_linear_regression.py"))
        grad = symgrad.compile(derivation)
        _, g = grad(x=np.array([1.0, 2.0, 3.0]), y=np.array([3.0, 6.0, 9.0]), W=0.0, b=0.0)
        # d/dW mean((Wx + b − y)²) = mean(2(Wx + b − y)x) = mean(−6, −24, −54) = −28
        assert g["W"] == pytest.approx(-28.0)
        assert g["b"] == pytest.approx(-12.0)
