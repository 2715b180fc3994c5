"""The declaration API: what it returns, and one clear error for each bad declaration."""

import numpy as np
import pytest
import sympy

from symgrad import Max, Model, SymgradError, sigmoid


def test_names_follow_sympy_symbols():
    m = Model("m")
    x1, x2 = m.inputs("x1 x2")
    y = m.inputs("y")
    weights = m.params("W1:7")
    assert (x1.name, x2.name, y.name) == ("x1", "x2", "y")
    assert [w.name for w in weights] == ["W1", "W2", "W3", "W4", "W5", "W6"]
    assert [v.role for v in m.variables] == ["input"] * 3 + ["param"] * 6
    assert all(v.symbol.is_real for v in m.variables)


def test_node_returns_a_symbol_standing_for_it():
    m = Model("m")
    x = m.inputs("x")
    z = m.node("z", 2 * x)
    assert isinstance(z, sympy.Symbol) and z.name == "z"
    assert m.nodes[0].expr == 2 * x
    h = m.node("h", sigmoid(z) + Max(0, z))
    assert m.nodes[1].expr.free_symbols == {z}
    loss = m.loss("L", h**2, reduction="sum")
    assert m.loss_node.symbol == loss and m.reduction == "sum"


def test_example_is_stored_as_float64():
    m = Model("m")
    m.inputs("x")
    m.params("w")
    m.example(x=[1, 2, 3], w=2)
    point = m.example_point
    assert point["w"] == 2.0 and isinstance(point["w"], float)
    assert point["x"].dtype == np.float64


def where(error) -> str:
    return str(error.value).split(": ", 1)[0]


def test_errors_name_the_line_of_the_declaration():
    m = Model("m")
    x = m.inputs("x")
    with pytest.raises(SymgradError) as error:
        m.node("z", x + sympy.Symbol("q", real=True))  # this line
    assert where(error).endswith(f"test_model.py:{error.tb.tb_lineno}")
    assert "uses q, which this model has not declared" in str(error.value)


@pytest.mark.parametrize(
    ("declare", "message"),
    [
        (lambda m, x: m.node("x", x), "name 'x' is already declared as input"),
        (lambda m, x: (m.node("z", x), m.node("z", 2 * x)), "name 'z' is already declared as node"),
        (lambda m, x: m.node("z", sympy.Symbol("x")), "uses x, which this model has not declared"),
        (lambda m, x: m.node("z", sympy.Function("f")(x)), "undefined function f"),
        (lambda m, x: m.loss("L", [x, x]), "loss 'L' must be a scalar expression, got a list"),
        (lambda m, x: m.loss("L", sympy.Matrix([x, x])), "must be a scalar expression"),
        (lambda m, x: m.node("z", "x + 1"), "must be a SymPy expression"),
        (lambda m, x: m.node("z", x > 0), "must be a scalar expression"),
        (lambda m, x: m.node("z", sympy.I * x), "is not real"),
        (lambda m, x: m.node("z", x / sympy.S.Zero), "undefined"),
        (lambda m, x: m.node("lambda", x), "Python keyword"),
        (lambda m, x: m.node("a b", x), "not an identifier"),
        (lambda m, x: m.inputs(3), "must be a string"),
        (lambda m, x: m.loss("L", x, reduction="max"), "reduction must be one of mean, sum"),
        (lambda m, x: (m.loss("L", x), m.loss("L2", 2 * x)), "already has the loss 'L'"),
        (lambda m, x: m.example(z=1), "example gives 'z', which is not declared"),
        (lambda m, x: m.example(x="a"), "example value for 'x' must be a real number"),
        (lambda m, x: m.example(x=True), "must be a number"),
        (lambda m, x: m.example(x=1j), "must be a real number"),
    ],
)
def test_bad_declarations(declare, message):
    m = Model("m")
    x = m.inputs("x")
    with pytest.raises(SymgradError) as error:
        declare(m, x)
    assert message in str(error.value)
    assert "\n" not in str(error.value)
    assert (
        where(error).startswith(__file__.rsplit("/", 1)[0])
        or where(error).endswith(".py:0")
        or ".py:" in where(error)
    )


def test_symbols_of_another_model_are_not_declared_here():
    a, b = Model("a"), Model("b")
    x = a.inputs("x")
    b.inputs("y")
    with pytest.raises(SymgradError, match="uses x, which this model has not declared"):
        b.node("z", 2 * x)


def test_model_needs_a_name():
    with pytest.raises(SymgradError, match="needs a name"):
        Model("")
