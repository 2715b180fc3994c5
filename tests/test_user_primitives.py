"""symgrad.primitive: a function of the user's own works like a built-in record: it derives,
compiles in both backends, verifies, renders, shows in `symgrad rules FILE`, and acts entry by
entry on matrices. Checked against torch autograd of the same definition."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from click.testing import CliRunner

import symgrad
from symgrad import Model, SymgradError
from symgrad import tensors as T
from symgrad.cli import main

torch = pytest.importorskip("torch")

MODEL_FILE = textwrap.dedent(
    """\
    import symgrad
    from symgrad import Model

    swish_beta = symgrad.primitive(
        "swish_beta",
        lambda x, beta: x * symgrad.sigmoid(beta * x),
        summary="x σ(βx), a swish with a learnable β",
    )
    m = Model("swish_net")
    x = m.inputs("x")
    w, beta = m.params("w beta")
    z = m.node("z", w * x)
    m.loss("L", swish_beta(z, beta) ** 2)
    m.example(x=1.3, w=0.7, beta=1.5)
    """
)


def _swish_beta_torch(x, w, beta):
    z = w * x
    return (z * torch.sigmoid(beta * z)) ** 2


def test_a_primitive_with_only_a_definition_derives_compiles_and_verifies(tmp_path):
    path = tmp_path / "swish.py"
    path.write_text(MODEL_FILE)
    model = symgrad.loader.load_model(str(path))
    d = symgrad.derive(model)
    values = {
        name: torch.tensor(v, dtype=torch.float64, requires_grad=True)
        for name, v in d.example.items()
    }
    loss = _swish_beta_torch(values["x"], values["w"], values["beta"])
    loss.backward()
    for backend in ("numpy", "torch"):
        value, grads = symgrad.compile(d, backend)(**d.example)
        assert float(value) == pytest.approx(loss.item(), rel=1e-13)
        for name in ("w", "beta"):
            assert float(grads[name]) == pytest.approx(values[name].grad.item(), rel=1e-12)
    assert symgrad.verify(d, points=3, seed=0).ok
    text = symgrad.render(d)
    assert "swish_beta(z, β)" in text
    latex = symgrad.render(d, "latex")
    assert r"\operatorname{swish\_beta}" in latex


def test_symgrad_rules_with_the_file_lists_the_users_primitive(tmp_path):
    path = tmp_path / "swish.py"
    path.write_text(MODEL_FILE)
    result = CliRunner().invoke(main, ["rules", str(path)])
    assert result.exit_code == 0, result.output
    assert "swish_beta  [your own]  x σ(βx), a swish with a learnable β" in result.output
    # loading the file again (a second command in the same process) replaces its primitive
    again = CliRunner().invoke(main, ["derive", str(path), "--json"])
    assert again.exit_code == 0, again.output


def test_a_textbook_derivative_and_spellings_are_used_where_given():
    cube = symgrad.primitive(
        "cube_given",
        lambda x: x**3,
        derivative=lambda ans, x: (3 * x**2,),
        numpy="np.power(#1, 3)",
        torch="torch.pow(#1, 3)",
        latex=r"\operatorname{cube}\left(#1\right)",
    )
    m = Model("cube_model")
    w = m.params("w")
    m.loss("L", cube(w))
    m.example(w=-1.2)
    d = symgrad.derive(m)
    assert d.gradient("w") == 3 * d.symbol("w") ** 2
    assert "np.power(w, 3)" in symgrad.compile(d).source
    assert "torch.pow(w, 3)" in symgrad.compile(d, "torch").source
    assert r"\operatorname{cube}" in symgrad.render(d, "latex")
    assert symgrad.compile(d)(w=-1.2)[1]["w"] == pytest.approx(3 * 1.44)


def test_a_primitive_acts_entry_by_entry_on_matrices():
    softsign = symgrad.primitive("softsign_own", lambda x: x / (1 + symgrad.abs(x)))
    m = Model("matrix_model")
    X = m.input("X", (4, 3))
    W = m.param("W", (3, 2))
    H = m.node("H", softsign(X @ W))
    m.loss("L", T.sum(H * H))
    rng = np.random.default_rng(0)
    m.example(X=rng.normal(size=(4, 3)), W=rng.normal(size=(3, 2)))
    d = symgrad.derive(m)
    Xt = torch.tensor(d.example["X"])
    Wt = torch.tensor(d.example["W"], requires_grad=True)
    Z = Xt @ Wt
    ((Z / (1 + Z.abs())) ** 2).sum().backward()
    for backend in ("numpy", "torch"):
        got = symgrad.compile(d, backend)(**d.example)[1]["W"]
        got = got.numpy() if hasattr(got, "numpy") else got
        np.testing.assert_allclose(got, Wt.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: symgrad.primitive("2bad", lambda x: x), "must be a Python identifier"),
        (lambda: symgrad.primitive("sigmoid", lambda x: x), "'sigmoid' exists already"),
        (lambda: symgrad.primitive("f_kw", lambda x: x, colour="red"), "no keyword 'colour'"),
        (lambda: symgrad.primitive("f_none", lambda: 1), "takes no argument"),
        (lambda: symgrad.primitive("f_fails", lambda x: 1 / 0), "its definition fails"),
        (lambda: symgrad.primitive("f_star", lambda *xs: xs[0]), "plain arguments only"),
    ],
)
def test_bad_declarations_get_one_line(call, message):
    with pytest.raises(SymgradError, match=message):
        call()


def test_a_function_symgrad_does_not_know_points_to_symgrad_primitive(tmp_path):
    import sympy

    m = Model("unknown")
    w = m.params("w")
    with pytest.raises(SymgradError, match=r"symgrad.primitive\('gamma', definition\)"):
        m.loss("L", sympy.gamma(w))
