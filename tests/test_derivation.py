"""The chain rule on named nodes: local gradients, adjoints, closed forms, refusals."""

import pytest
import sympy

import symgrad
from symgrad import Model, SymgradError, derive, sigmoid, tanh

from .conftest import load_example


def test_local_gradients_use_the_forward_value():
    m = Model("m")
    x = m.inputs("x")
    w = m.params("w")
    z = m.node("z", w * x)
    s = m.node("s", sigmoid(z))
    t = m.node("t", tanh(s))
    e = m.node("e", symgrad.exp(t))
    r = m.node("r", symgrad.sqrt(e))
    m.loss("L", r)
    d = derive(m)
    assert d.local("s", "z").expr == s * (1 - s)  # σ(1 − σ)
    assert d.local("t", "s").expr == 1 - t**2  # 1 − tanh²
    assert d.local("e", "t").expr == e  # exp' = exp
    assert d.local("r", "e").expr == 1 / (2 * r)  # 1/(2√e)
    assert d.local("z", "w").expr == x


def test_a_node_with_several_consumers_sums_their_chains():
    m = Model("m")
    x = m.inputs("x")
    w = m.params("w")
    a = m.node("a", w * x)
    b = m.node("b", a**2)
    c = m.node("c", 3 * a)
    m.loss("L", b + c)
    d = derive(m)
    adjoint = d.adjoint("a")
    assert [term.consumer for term in adjoint.terms] == ["b", "c"]
    dL_db, dL_dc = d.adjoint("b").symbol, d.adjoint("c").symbol
    assert adjoint.expr == dL_db * 2 * a + dL_dc * 3
    # closed form: d/dw ((wx)² + 3wx) = 2wx² + 3x
    assert sympy.expand(d.closed_form("w") - (2 * w * x**2 + 3 * x)) == 0


def test_the_loss_may_use_a_variable_and_a_node_directly():
    m = Model("m")
    w = m.params("w")
    a = m.node("a", sigmoid(w))
    m.loss("L", a * w)
    d = derive(m)
    assert [t.consumer for t in d.adjoint("w").terms] == ["a", "L"]
    value = float(d.closed_form("w").subs(w, 0.3))
    expected = float(sympy.diff(sigmoid(w).rewrite(sympy.exp) * w, w).subs(w, 0.3))
    assert value == pytest.approx(expected, rel=1e-14)


def test_wrt_defaults_to_params_then_inputs():
    m = Model("m")
    x, y = m.inputs("x y")
    m.loss("L", (x - y) ** 2)
    assert derive(m).wrt == ("x", "y")
    m2 = Model("m2")
    x = m2.inputs("x")
    w = m2.params("w")
    m2.loss("L", w * x)
    assert derive(m2).wrt == ("w",)
    assert derive(m2, wrt="x,w").wrt == ("x", "w")
    assert derive(m2, wrt=["x"]).gradient("x") == w


def test_a_variable_the_loss_ignores_has_gradient_zero():
    m = Model("m")
    x = m.inputs("x")
    w, _ = m.params("w v")
    m.loss("L", w * x)
    d = derive(m)
    assert d.gradient("v") == 0
    _, g = symgrad.compile(d)(x=2.0, w=1.0, v=5.0)
    assert g["v"] == 0


def test_nodes_that_do_not_reach_the_loss_are_reported_unused():
    m = Model("m")
    x = m.inputs("x")
    w = m.params("w")
    m.node("metric", abs(w))
    m.loss("L", w * x)
    d = derive(m)
    assert d.unused == ("metric",)
    assert [n.name for n in d.nodes] == ["L"]


def test_closed_form_of_seed003_equals_the_named_node_gradient():
    d = derive(load_example("seed003_two_layer_sigmoid.py"))
    point = {d.symbol(k): v for k, v in d.example.items()}
    _, g = symgrad.compile(d)(**d.example)
    for name in d.wrt:
        closed = float(d.closed_form(name).rewrite(sympy.exp).evalf(30, subs=point))
        assert closed == pytest.approx(float(g[name]), rel=1e-12, abs=1e-15), name


def test_kinks_are_recorded_for_the_verifier():
    m = Model("m")
    x = m.inputs("x")
    w = m.params("w")
    h = m.node("h", symgrad.relu(w * x))
    m.loss("L", abs(h - 1))
    d = derive(m)
    assert ("h", w * x) in d.kinks
    assert ("L", h - 1) in d.kinks


def test_derivative_of_a_step_is_zero_away_from_the_jump():
    m = Model("m")
    w = m.params("w")
    m.loss("L", symgrad.sign(w) * w)
    assert derive(m).gradient("w") == symgrad.sign(w)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda m, w: m.node("q", w), "has no loss"),
    ],
)
def test_refusals(build, message):
    m = Model("m")
    w = m.params("w")
    build(m, w)
    with pytest.raises(SymgradError, match=message.replace("(", r"\(").replace(")", r"\)")):
        derive(m)


def test_wrt_errors():
    m = Model("m")
    w = m.params("w")
    m.node("z", 2 * w)
    m.loss("L", w**2)
    with pytest.raises(SymgradError, match="no input or parameter 'q'"):
        derive(m, wrt="q")
    with pytest.raises(SymgradError, match="'z' is a node"):
        derive(m, wrt="z")


def test_a_function_without_a_record_is_refused_where_it_is_used():
    m = Model("m")
    w = m.params("w")
    with pytest.raises(SymgradError, match=r"uses gamma.*symgrad.primitive\('gamma'"):
        m.loss("L", sympy.gamma(w))


def test_a_loss_sympy_folds_to_a_constant_has_gradient_zero_and_says_so():
    m = Model("m")
    w = m.params("w")
    m.loss("L", w - w)
    m.example(w=0.5)
    d = derive(m)
    assert d.gradient("w") == 0
    assert "constant 0" in d.notes[0] and "every gradient is 0" in d.notes[0]
    loss, grads = symgrad.compile(d)(w=0.5)
    assert loss == 0 and grads["w"] == 0


def test_generated_names_step_around_declared_ones():
    m = Model("m")
    w = m.params("w")
    m.node("dL_dw", 2 * w)
    m.loss("L", w**2)
    m.example(w=1.5)
    d = derive(m)
    assert d.adjoint("w").symbol.name == "dL_dw_"  # the model's own dL_dw keeps its name
    assert symgrad.compile(d)(w=1.5)[1]["w"] == pytest.approx(3.0)


def test_derivation_is_frozen():
    d = derive(load_example("seed002_chain_rule.py"))
    with pytest.raises(AttributeError):
        d.wrt = ("x",)


def test_a_node_with_many_parents_gets_the_same_local_gradients_from_one_sweep():
    """Above MANY_PARENTS a node's local gradients come from one reverse sweep over its
    definition; they equal SymPy's derivative by each parent."""
    from symgrad.derivation import MANY_PARENTS

    m = Model("wide")
    x = m.inputs("x")
    ws = m.params(" ".join(f"w{i}" for i in range(MANY_PARENTS + 4)))
    s = m.node("s", tanh(sum(w * x ** (i % 3) for i, w in enumerate(ws)) / 7))
    m.loss("L", (s - 1) ** 2)
    d = derive(m)
    inner = sum(w * x ** (i % 3) for i, w in enumerate(ws)) / 7
    for w in ws:
        expected = sympy.diff(tanh(inner), w).subs(tanh(inner), s)
        assert sympy.simplify(d.local("s", w.name).expr - expected) == 0, w


def test_derive_takes_a_model_files_path_and_refuses_anything_else():
    from .conftest import example_path

    d = derive(example_path("seed002_chain_rule.py"))
    assert d.model == "chain_rule" and d.gradient("w") != 0
    with pytest.raises(SymgradError, match="derive takes a Model or a model file's path"):
        derive(42)


def test_symgrad_strategies_is_there_after_import_symgrad():
    pytest.importorskip("hypothesis")
    assert callable(symgrad.strategies.points)
