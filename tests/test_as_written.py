"""The author's order of terms and factors: a node is shown as the model file writes it (x·w,
w₁x₁ + w₂x₂ + b), never as another expression."""

from __future__ import annotations

import math
import textwrap

import numpy as np
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

import symgrad
from symgrad.loader import load_model
from symgrad.rendering.printers import TextPrinter

from .conftest import example_path


def _printed(expr) -> str:
    printer = TextPrinter()
    with printer.ordered(True):
        return printer.doprint(expr)


def test_the_notes_product_reads_x_times_w_as_the_model_file_writes_it():
    d = symgrad.derive(example_path("seed002_chain_rule.py"))
    assert "  ŷ = xw\n" in symgrad.render(d, "text")  # y_hat = x * w; SymPy's order is w·x
    assert r"\hat{y} &= x w = 1 \times 1 = 1" in symgrad.render(d, "latex")


def _model_file(tmp_path, body: str):
    path = tmp_path / "model.py"
    path.write_text(
        "import symgrad\nfrom symgrad import Model, sigmoid\n"
        'm = Model("written")\nx1, x2, y = m.inputs("x1 x2 y")\nw1, w2, b = m.params("w1 w2 b")\n'
        + textwrap.dedent(body)
        + "m.example(x1=1.0, x2=2.0, y=1.0, w1=0.5, w2=-0.5, b=0.1)\n"
    )
    return load_model(str(path))


def test_a_sum_keeps_its_terms_in_order_with_its_numbers(tmp_path):
    m = _model_file(
        tmp_path,
        """\
        z = m.node("z", w1 * x1 + w2 * x2 + b)
        m.loss("L", (sigmoid(z) - y) ** 2)
        """,
    )
    text = symgrad.render(symgrad.derive(m), "text")
    assert "  z = w₁x₁ + w₂x₂ + b\n" in text  # SymPy's order: b + w₁x₁ + w₂x₂
    assert "z = w₁x₁ + w₂x₂ + b = 0.5000 · 1 + (−0.5000) · 2 + 0.1000 = −0.4000" in text


def test_what_sympy_would_change_beyond_order_or_cannot_be_read_again_keeps_sympys_form(
    tmp_path,
):
    m = _model_file(
        tmp_path,
        """\
        def affine(a, c):
            return c + a * w1
        z = m.node("z", 2 * (x1 + x2 * w2))
        u = m.node("u", affine(x1, b))
        v = m.node("v", [w1, x2][0] * x2)
        m.loss("L", (z + u + v - y) ** 2)
        """,
    )
    nodes = {n.name: n for n in m.nodes}
    assert nodes["z"].written is None  # 2(x₁ + x₂w₂) is 2x₁ + 2w₂x₂ to SymPy: not just order
    assert nodes["u"].written is None  # the user's own function is not run again
    assert nodes["v"].written is None  # nor an indexing
    assert nodes["L"].written is not None


def test_a_model_built_in_a_loop_is_written_node_by_node(tmp_path):
    path = tmp_path / "chain.py"
    path.write_text(
        "import symgrad\nm = symgrad.Model('chain')\nh = m.inputs('x')\n"
        "for k in range(1, 4):\n"
        "    w = m.params(f'w{k}')\n"
        "    h = m.node(f'h{k}', symgrad.tanh(h * w))\n"
        "m.loss('L', h ** 2)\n"
    )
    m = load_model(str(path))
    assert [_printed(n.written) for n in m.nodes[:3]] == ["tanh(xw₁)", "tanh(h₁w₂)", "tanh(h₂w₃)"]


OPERATORS = ["+", "-", "*"]


@st.composite
def sources(draw, depth=0):
    """Arithmetic as a model file writes it, over the model's symbols and a few functions."""
    if depth > 2 or draw(st.booleans()):
        return draw(st.sampled_from(["x1", "x2", "w1", "w2", "b", "2", "0.5"]))
    kind = draw(st.sampled_from(["binary", "binary", "call", "power"]))
    if kind == "call":
        function = draw(st.sampled_from(["sigmoid", "symgrad.tanh", "symgrad.exp"]))
        return f"{function}({draw(sources(depth + 1))})"
    if kind == "power":
        return f"({draw(sources(depth + 1))}) ** 2"
    left, right = draw(sources(depth + 1)), draw(sources(depth + 1))
    return f"({left} {draw(st.sampled_from(OPERATORS))} {right})"


@settings(max_examples=40, deadline=None)
@given(source=sources())
def test_the_written_form_is_always_the_same_expression_as_sympys(source, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("written")
    m = _model_file(tmp_path, f'z = m.node("z", {source} + w1)\nm.loss("L", (z - y) ** 2)\n')
    node = m.nodes[0]
    if node.written is None:
        return
    values = {
        s: v
        for s, v in zip(
            sympy.symbols("x1 x2 w1 w2 b", real=True), (0.3, -1.2, 0.7, 1.9, 0.4), strict=True
        )
    }
    got = float(node.written.doit().subs(values))
    want = float(node.expr.subs(values))
    assert math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-12), (source, node.written)
    assert np.isfinite(got)


def test_smooth_functions_skip_sympys_evaluation_only_where_it_changes_nothing(tmp_path):
    """tanh(w·z + 0.1) is built without SymPy's evaluation (a millisecond a call, on a fresh
    argument, to find nothing to rewrite); tanh(−z) and exp(log(…)) are still SymPy's −tanh(z)
    and z² + 1, the forms the rest of SymPy expects; a number still evaluates. Each computes
    what torch computes."""
    torch = __import__("pytest").importorskip("torch")
    m = _model_file(
        tmp_path,
        """\
        z = m.node("z", w1 * x1 + w2 * x2 + b)
        h = m.node("h", symgrad.tanh(-z) + symgrad.exp(symgrad.log(z * z + 1)))
        g = m.node("g", symgrad.tanh(w1 * h + 0.1))
        m.loss("L", (g - y) ** 2 + symgrad.tanh(0) + symgrad.exp(0))
        """,
    )
    d = symgrad.derive(m)
    text = symgrad.render(d, "text")
    assert "  h = z² + 1 − tanh(z)\n" in text and "  g = tanh(w₁h + 0.1000)\n" in text
    g = next(node for node in d.nodes if node.name == "g").expr
    assert g.func is sympy.tanh and g.args[0] == d.symbol("w1") * d.symbol("h") + 0.1
    point = {k: torch.tensor(float(v), dtype=torch.float64, requires_grad=True)
             for k, v in d.example.items()}  # fmt: skip
    zt = point["w1"] * point["x1"] + point["w2"] * point["x2"] + point["b"]
    ht = torch.tanh(-zt) + torch.exp(torch.log(zt * zt + 1))
    gt = torch.tanh(point["w1"] * ht + 0.1)
    loss = (gt - point["y"]) ** 2 + 1.0
    loss.backward()
    value, gradient = symgrad.compile(d)(**d.example)
    assert math.isclose(float(value), float(loss.detach()), rel_tol=1e-14)
    for name in ("w1", "w2", "b"):
        assert math.isclose(gradient[name], float(point[name].grad), rel_tol=1e-12)


_SYMBOLS = sympy.symbols("a b c", real=True)
_TERMS = st.one_of(
    st.sampled_from(_SYMBOLS),
    st.floats(-3, 3, allow_nan=False).filter(bool).map(sympy.Float),
    st.integers(-3, 3).filter(bool).map(sympy.Integer),
    st.sampled_from([sympy.pi, 2 * sympy.pi, -sympy.pi / 2, sympy.E]),
    st.tuples(st.sampled_from([-2, -1, 0.5, 3]), st.sampled_from(_SYMBOLS)).map(
        lambda pair: pair[0] * pair[1]
    ),
)


@given(
    st.lists(_TERMS, min_size=2, max_size=4),
    st.sampled_from([sympy.tanh, sympy.exp, sympy.sin, sympy.cos, sympy.sinh, sympy.atan]),
)
def test_an_argument_told_plain_is_one_sympys_evaluation_leaves_as_it_is(terms, function):
    """Where symgrad skips SymPy's evaluation of a smooth function (told from the argument's
    form, without SymPy's assumptions: a fresh Float's cost 0.1 ms), SymPy's evaluation would
    have changed nothing."""
    from symgrad.rules.record import _plain_argument

    argument = sympy.Add(*terms)
    if _plain_argument(argument, function):
        assert function(argument) == function(argument, evaluate=False)
