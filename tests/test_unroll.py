"""--unroll: a small tensor model written out entry by entry is the scalar model of the lecture."""

import numpy as np
import pytest
import sympy

import symgrad
from symgrad import Model, SymgradError
from symgrad import tensors as T
from symgrad.unroll import unroll

from .conftest import load_example

# the layered model's entries ↔ the note's scalar names
SAME = {
    "z1_1": "z1", "z1_2": "z2", "sigma1_1": "sigma1", "sigma1_2": "sigma2", "z2": "z3",
    "sigma2": "sigma3", "L": "L",
    "dL_dsigma2": "dL_dsigma3", "dL_dz2": "dL_dz3", "dL_dz1_1": "dL_dz1", "dL_dz1_2": "dL_dz2",
    "dL_dW1_1_1": "dL_dW1", "dL_dW1_1_2": "dL_dW2", "dL_dW1_2_1": "dL_dW3", "dL_dW1_2_2": "dL_dW4",
    "dL_dW2_1": "dL_dW5", "dL_dW2_2": "dL_dW6", "dL_db1_1": "dL_db1", "dL_db1_2": "dL_db2", "dL_db2": "dL_db3",
}  # fmt: skip


def test_seed003_layers_unrolled_is_the_scalar_worked_example():
    layered = unroll(load_example("seed003_layers.py"))
    d = symgrad.derive(layered)
    scalar = symgrad.derive(load_example("seed003_two_layer_sigmoid.py"))
    ours = symgrad.compile(d).trace(**d.example).values
    theirs = symgrad.compile(scalar).trace(**scalar.example).values
    for name, other in SAME.items():
        assert ours[name] == pytest.approx(theirs[other], rel=1e-15, abs=1e-17), name
    # the same structure: as many nodes, local gradients and adjoints
    assert len(d.nodes) == len(scalar.nodes)
    assert len(d.locals) == len(scalar.locals)
    assert len(d.adjoints) == len(scalar.adjoints)


def test_unrolled_text_shows_the_lectures_numbers():
    d = symgrad.derive(unroll(load_example("seed003_layers.py")))
    text = symgrad.render(d)
    for number in ["0.6478", "0.7225", "0.6565", "0.6732", "−0.3415", "0.4154", "0.5369"]:
        assert f"= {number}\n" in text, number


def test_unrolled_gradients_equal_the_matrix_gradients():
    model = load_example("seed003_layers.py")
    d = symgrad.derive(model)
    _, matrix = symgrad.compile(d)(**d.example)
    u = symgrad.derive(unroll(model))
    _, scalar = symgrad.compile(u)(**u.example)
    assert scalar["W1_2_1"] == pytest.approx(matrix["W1"][1, 0], rel=1e-15)
    assert scalar["b1_2"] == pytest.approx(matrix["b1"][1], rel=1e-15)
    assert scalar["b2"] == pytest.approx(matrix["b2"][0], rel=1e-15)


def test_unroll_writes_every_operation_out():
    m = Model("ops")
    A = m.param("A", (2, 2))
    b = m.param("b", (2,))
    S = m.node("S", T.softmax(A @ A.T + b, axis=1))
    eye = T.Tensor(sympy.Identity(2))
    m.loss("L", T.sum(T.sum(S, axis=0) * b) + T.logdet(A @ A.T + eye) + T.trace(T.inv(A + 3 * eye)))
    rng = np.random.default_rng(0)
    m.example(A=rng.normal(size=(2, 2)), b=rng.normal(size=2))
    d = symgrad.derive(m)
    loss, g = symgrad.compile(d)(**d.example)
    u = symgrad.derive(unroll(m))
    uloss, ug = symgrad.compile(u)(**u.example)
    assert uloss == pytest.approx(loss, rel=1e-12)
    assert ug["A_1_2"] == pytest.approx(g["A"][0, 1], rel=1e-10)
    assert ug["b_2"] == pytest.approx(g["b"][1], rel=1e-10)


def test_unroll_refuses_what_it_cannot_write_out():
    big = load_example("seed004_relu_mlp.py")
    with pytest.raises(SymgradError, match="unrolling is for small models"):
        unroll(big)
    m = Model("labels")
    Z = m.param("Z", (2, 3))
    y = m.input("y", (2,))
    m.loss("L", T.cross_entropy(Z, y))
    with pytest.raises(SymgradError, match="cannot unroll one_hot"):
        unroll(m)


def test_a_sympy_function_on_a_matrix_then_arithmetic_is_entry_by_entry(torch):
    """GELU as the paper writes it, 0.5 Z (1 + erf(Z/√2)) with SymPy's erf applied to the
    matrix Z, means what NumPy means: entry by entry. (SymPy took 1 + erf(Z) for a sum of a
    number and a matrix, which --unroll refused with a message that was a Matrix's repr over
    several lines.) Unrolled, each entry's gradient is autograd's on F.gelu."""
    from symgrad.loader import load_model

    from .support.corpus import CORPUS

    model = load_model(str(CORPUS / "gelu_erf.py"))
    d = symgrad.derive(unroll(model))
    point = {sympy.Symbol(k, real=True): v for k, v in d.example.items()}
    t = {k: torch.tensor(np.asarray(v, dtype=np.float64)) for k, v in model.example_point.items()}
    W1 = t["W1"].requires_grad_(True)
    out = torch.nn.functional.gelu(t["X"] @ W1, approximate="none") @ t["W2"]
    torch.nn.functional.mse_loss(out, t["Y"]).backward()
    for i in range(2):
        for j in range(3):
            value = float(d.closed_form(f"W1_{i + 1}_{j + 1}").evalf(subs=point))
            assert value == pytest.approx(float(W1.grad[i, j]), rel=1e-10)


def test_a_square_of_an_entry_minus_another_keeps_its_parentheses():
    """((z₂)₁ − y₁)², not (z₂)₁ − y₁²: the base starts with a parenthesis but is no group."""
    m = Model("column")
    Z = m.param("Z", (2, 2))
    y = m.input("y", (2,))
    z2 = m.node("z2", Z[:, 1])
    m.loss("L", symgrad.sum((z2 - y) ** 2))
    m.example(Z=np.array([[0.0, 0.1], [0.2, 0.3]]), y=np.array([0.5, 0.25]))
    text = symgrad.render(symgrad.derive(unroll(m)))
    assert "L = ((z₂)₁ − y₁)² + ((z₂)₂ − y₂)²" in text, text
    latex = symgrad.render(symgrad.derive(unroll(m)), "latex")
    assert r"((z_{2})_{1} - y_{1})^{2}" in latex, latex
