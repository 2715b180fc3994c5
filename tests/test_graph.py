"""The computational graph: the lecture's picture, with every number checked against autograd."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import symgrad
from symgrad.loader import load_model
from symgrad.rendering import format_number, point_for
from symgrad.rendering.graph import graph_dot, operation
from symgrad.rendering.printers import TextPrinter

from .conftest import example_path, load_example
from .support.corpus import Oracle, corpus_paths, reference_of
from .support.oracle import torch_values
from .support.parse import agrees_printed, graph_rows, label_value

SEED002 = example_path("seed002_chain_rule.py")
SEED003 = example_path("seed003_two_layer_sigmoid.py")


def dot_of(name, **options):
    derivation = symgrad.derive(load_example(name))
    return derivation, graph_dot(derivation, **options)


def labels(dot: str) -> dict[str, str]:
    """Node id or ``parent->child`` → its label text, tags stripped."""
    out = {}
    for match in re.finditer(r'^  "([^"]+)"(?: -> "([^"]+)")? \[(.*)\];$', dot, flags=re.M):
        key = match.group(1) if match.group(2) is None else f"{match.group(1)}->{match.group(2)}"
        label = re.search(r"label=<(.*)>", match.group(3))
        text = "" if label is None else re.sub(r"<[^>]+>", "|", label.group(1))
        out[key] = re.sub(r"\|+", "|", text).strip("|").replace("−", "-")
    return out


def test_seed002_is_the_lectures_figure(torch):
    """x, w → × → ŷ → − → s → (·)² → loss, with the values and gradients of the lecture."""
    _, dot = dot_of("seed002_chain_rule.py")
    found = labels(dot)
    assert found["y_hat"] == "×|ŷ = xw = 1|∂loss/∂ŷ = -2"  # as the model file writes it
    assert found["s"] == "-|s = ŷ - y = -1|∂loss/∂s = -2"
    assert found["loss"] == "(·)²|loss = s² = 1|∂loss/∂loss = 1"
    assert found["w"] == "w = 1|∂loss/∂w = -2"
    assert found["x"] == "x = 1"
    # edges: the local gradient, then what flows back along the edge
    assert found["w->y_hat"] == "∂ŷ/∂w = x = 1|◀ -2"
    assert found["y_hat->s"] == "∂s/∂ŷ = 1|◀ -2"
    assert found["s->loss"] == "∂loss/∂s = 2s = -2|◀ -2"
    assert found["x->y_hat"] == ""  # x is data: no gradient flows to it
    assert set(found) == {"x", "y", "w", "y_hat", "s", "loss", "w->y_hat", "x->y_hat",
                          "y->s", "y_hat->s", "s->loss"}  # fmt: skip


def test_every_number_in_the_seed003_graph_is_autograds(torch):
    derivation, dot = dot_of("seed003_two_layer_sigmoid.py")
    oracle = torch_values(derivation, dict(derivation.example))
    found = labels(dot)
    for node in derivation.nodes:
        value = format_number(float(oracle[node.name]))
        adjoint = "1" if node.is_loss else format_number(float(oracle[f"dL_d{node.name}"]))
        parts = found[node.name].split("|")
        assert parts[1].endswith(f" = {value}"), (node.name, parts)
        assert parts[2].endswith(f" = {adjoint}"), (node.name, parts)
    for local in derivation.locals:
        edge = found[f"{local.parent}->{local.node}"].split("|")
        name = local.symbol.name if local.symbol else f"d{local.node}_d{local.parent}"
        assert edge[0].endswith(format_number(float(oracle[name]))), edge
        # what flows back along the edge: ∂L/∂node · ∂node/∂parent
        upstream = 1.0 if local.node == "L" else float(oracle[f"dL_d{local.node}"])
        flowing = format_number(upstream * float(oracle[name]))
        assert edge[1] == f"◀ {flowing}", (local, edge)
    for name in derivation.wrt:
        gradient = TextPrinter().doprint(derivation.adjoint(name).symbol)
        expected = f"{gradient} = {format_number(oracle[f'__gradient_{name}'])}"
        assert found[name].split("|")[-1] == expected.replace("−", "-"), found[name]


def test_symbolic_graph_has_no_numbers():
    _, dot = dot_of("seed003_two_layer_sigmoid.py", symbolic=True)
    assert not any(re.search(r"\d\.\d", label) for label in labels(dot).values())
    assert "σ₃ = σ(z₃)" in dot and "∂σ₃/∂z₃ = σ₃(1 − σ₃)" in dot


def test_operations():
    m = symgrad.Model("ops")
    a, b = m.params("a b")
    cases = {a * b: "×", a + b: "+", a - b: "−", a / b: "÷", a**2: "(·)²", symgrad.sqrt(a): "√",
             symgrad.sigmoid(a): "σ(·)", symgrad.bce(a, b): "BCE(·, ·)",
             symgrad.log(a): "log(·)"}  # fmt: skip
    for expr, op in cases.items():
        assert operation(expr) == op, expr


def run_graph(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "symgrad.cli", "graph", *map(str, args)],
        capture_output=True, text=True, env=env,
    )  # fmt: skip


def test_graph_command_writes_dot_always(tmp_path):
    result = run_graph(SEED002)
    assert result.returncode == 0 and result.stdout.startswith('digraph "chain_rule"')
    target = tmp_path / "graph.dot"
    assert run_graph(SEED002, "-o", target).returncode == 0
    assert target.read_text(encoding="utf-8") == result.stdout


def test_graph_command_draws_svg_and_png(tmp_path, graphviz):
    svg = tmp_path / "graph.svg"
    result = run_graph(SEED003, "-o", svg)
    assert result.returncode == 0, result.stderr
    text = svg.read_text(encoding="utf-8")
    assert "<svg" in text and "0.6478" in text and "BCE(·, ·)" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["graph.svg"]  # only what was asked
    png = tmp_path / "graph.png"
    assert run_graph(SEED002, "-o", png).returncode == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_without_graphviz_the_command_says_so_in_one_line(tmp_path):
    env = {"PATH": str(tmp_path), "PYTHONPATH": ":".join(sys.path)}  # no dot on this PATH
    result = run_graph(SEED002, "-o", tmp_path / "graph.svg", env=env)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert "needs Graphviz's dot" in result.stderr and "apt-get install graphviz" in result.stderr
    assert "graph.dot writes the graph as DOT" in result.stderr
    assert not list(tmp_path.iterdir())  # no file the user did not ask for


@pytest.mark.parametrize("target", ["graph.jpeg", "graph"])
def test_unknown_graph_suffix_is_one_line(tmp_path, target):
    result = run_graph(SEED002, "-o", tmp_path / target)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "this command writes .dot, .gv, .svg, .png, .pdf files, not " in result.stderr


def test_dot_is_valid_for_graphviz(graphviz):
    for name in ("seed001_linear_regression.py", "seed002_chain_rule.py",
                 "seed003_two_layer_sigmoid.py"):  # fmt: skip
        _, dot = dot_of(name)
        result = subprocess.run([graphviz, "-Tsvg"], input=dot, capture_output=True, text=True)
        assert result.returncode == 0 and not result.stderr, (name, result.stderr)


def test_a_hostile_model_name_is_quoted_in_dot(graphviz):
    m = symgrad.Model('evil" ]; x -> y; "')
    w = m.params("w")
    m.loss("L", w**2)
    m.example(w=1)
    dot = graph_dot(symgrad.derive(m))
    assert dot.startswith('digraph "evil\\" ]; x -> y; \\"" {')
    result = subprocess.run([graphviz, "-Tsvg"], input=dot, capture_output=True, text=True)
    assert result.returncode == 0
    # an injected "x -> y" would add two nodes and an edge to the picture
    assert result.stdout.count('class="node"') == 2 and result.stdout.count('class="edge"') == 1


def test_batched_graph_shows_per_sample_values_and_the_reduced_loss(torch):
    derivation, dot = dot_of("seed001_linear_regression.py")
    oracle = torch_values(derivation, dict(derivation.example))
    found = labels(dot)
    assert found["loss"].split("|")[1] == "loss = MSE(pred; y) = [9, 36, 81] (mean 42)"
    assert oracle["__loss"] == 42
    assert found["W"] == "W = 0|∂loss/∂W = -28" and oracle["__gradient_W"] == -28


# --- tensor models: a graph for every model that derives ----------------------------------------

CORPUS = {path.stem: path for path in corpus_paths()}


def corpus_graph(name):
    derivation = symgrad.derive(load_model(str(CORPUS[name])))
    oracle = Oracle(derivation, reference_of(CORPUS[name]), point_for(derivation))
    return derivation, oracle, graph_rows(graph_dot(derivation))


def test_a_node_with_several_consumers_adds_what_flows_back(torch):
    """logreg_l2: ∂L/∂w is what flows back from z plus what flows back from the penalty, each
    on its edge and each autograd's vector-Jacobian product of that node alone; L = data +
    penalty sends 1 down both edges. (It was a traceback: a matrix pullback has no local
    gradient to multiply.)"""
    _, o, found = corpus_graph("logreg_l2")
    assert any(part.startswith("∂L/∂w = ◀ z + ◀ penalty ∈ ℝ³ˣ¹ =") for part in found["w"])
    from_z = label_value(found["w->z"], "◀")
    from_penalty = label_value(found["w->penalty"], "◀")
    assert agrees_printed(from_z, o.share("z", "w"))
    assert agrees_printed(from_penalty, o.share("penalty", "w"))
    assert agrees_printed(label_value(found["w"], "∂L/∂w"), o.gradient("w"))
    assert agrees_printed(from_z + from_penalty, o.gradient("w"))
    assert found["data->L"][-1] == "◀ 1" and found["penalty->L"][-1] == "◀ 1"
    assert found["w->z"][0] == "Xᵀ ∂L/∂z"  # the pullback the edge carries


def test_a_scalar_with_a_matrix_and_a_scalar_consumer_shows_the_numbers_that_add_up(torch):
    _, o, found = corpus_graph("temperature_scaling")
    row = next(part for part in found["s"] if part.startswith("∂L/∂s = "))
    shares = [float(o.share("logits", "s")), float(o.share("L", "s"))]
    numbers = [float(x) for x in re.findall(r"-?\d+\.\d+", row)]
    assert np.allclose(numbers, [*shares, sum(shares)], atol=5.1e-5), row


@pytest.mark.parametrize(
    "name", [n for n, path in CORPUS.items() if reference_of(path) is not None]
)
def test_every_number_in_a_tensor_graph_is_autograds(name, torch):
    """Each node's and variable's value and gradient, and what flows back along each edge."""
    d, o, found = corpus_graph(name)
    printer = TextPrinter()
    for node in d.nodes:
        name = f"{printer.doprint(node.symbol)} = "
        assert agrees_printed(label_value(found[node.name], name), o.value(node.name)), node.name
        if node.shape:  # where the matrix lives, and its entries when it is small
            lives = "ˣ".join(superscript(n) for n in node.shape)
            assert f"∈ ℝ{lives}" in "|".join(found[node.name])
    for adjoint in d.adjoints:
        if adjoint.is_loss:
            continue
        label = printer.doprint(adjoint.symbol).replace("−", "-")
        expected = o.gradient(adjoint.name)
        assert agrees_printed(label_value(found[adjoint.name], label), expected), adjoint.name
        for term in adjoint.terms:
            edge = found[f"{adjoint.name}->{term.consumer}"]
            share = o.share(term.consumer, adjoint.name)
            assert agrees_printed(label_value(edge, "◀"), share), (adjoint.name, term.consumer)


def superscript(n: int) -> str:
    return str(n).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))


def test_a_large_matrix_is_drawn_by_its_shape():
    _, dot = dot_of("seed004_relu_mlp.py")
    found = labels(dot)
    assert found["x"] == "x ∈ ℝ³²ˣ¹⁰⁰⁰"
    assert found["w1"].startswith("w₁ ∈ ℝ¹⁰⁰⁰ˣ¹⁰⁰|∂loss/∂w₁ ∈ ℝ¹⁰⁰⁰ˣ¹⁰⁰")
    assert "@" in found["y_pred"] and "relu(·)" in found["hidden"]


def test_symgrad_graph_is_an_object_jupyter_draws_and_that_writes_every_format(tmp_path):
    graph = symgrad.graph(symgrad.derive(SEED002))
    assert repr(graph) == "<Graph of 'chain_rule': 5 edges>"
    assert str(graph) == graph_dot(symgrad.derive(SEED002))  # its DOT source
    assert graph.write(tmp_path / "g.dot") == str(tmp_path / "g.dot")
    assert (tmp_path / "g.dot").read_text(encoding="utf-8") == graph.dot
    if shutil.which("dot") is None:
        assert graph._repr_svg_() is None  # Jupyter shows the repr instead
        return
    svg = graph._repr_svg_()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "∂loss/∂ŷ" in svg
    graph.write(tmp_path / "g.png")
    assert (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.dot", "g.png"]


def test_the_square_is_drawn_as_a_lecture_circle_writes_it():
    assert operation(symgrad.derive(SEED002).node("loss").expr) == "(·)²"


def test_inputs_are_drawn_in_declaration_order_and_labels_are_joined_to_their_edges():
    dot = graph_dot(symgrad.derive(example_path("seed003_two_layer_sigmoid.py")))
    assert "ordering=in" in dot and "decorate=true" in dot
    edges = re.findall(r'^  "(\w+)" -> "z1"', dot, re.MULTILINE)
    assert edges == ["x1", "x2", "W1", "W2", "b1"]  # the model declares x1 x2 y, then W1…
