"""The computational graph: the lecture's picture, with every number checked against autograd."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

import symgrad
from symgrad.graph import graph_dot, operation
from symgrad.rendering import format_number
from symgrad.rendering.printers import TextPrinter

from .conftest import example_path, load_example
from .support.oracle import torch_values

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
    """x, w → × → ŷ → − → s → ^2 → loss, with the values and gradients of the lecture."""
    _, dot = dot_of("seed002_chain_rule.py")
    found = labels(dot)
    assert found["y_hat"] == "×|ŷ = wx = 1|∂loss/∂ŷ = -2"
    assert found["s"] == "-|s = ŷ - y = -1|∂loss/∂s = -2"
    assert found["loss"] == "^2|loss = s² = 1|∂loss/∂loss = 1"
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
    cases = {a * b: "×", a + b: "+", a - b: "−", a / b: "÷", a**2: "^2", symgrad.sqrt(a): "√",
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
    assert (tmp_path / "graph.dot").is_file()
    png = tmp_path / "graph.png"
    assert run_graph(SEED002, "-o", png).returncode == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_without_graphviz_the_command_says_so_in_one_line(tmp_path):
    env = {"PATH": str(tmp_path), "PYTHONPATH": ":".join(sys.path)}  # no dot on this PATH
    result = run_graph(SEED002, "-o", tmp_path / "graph.svg", env=env)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert "needs Graphviz's dot" in result.stderr and "apt-get install graphviz" in result.stderr
    assert (tmp_path / "graph.dot").read_text(encoding="utf-8").startswith("digraph")


@pytest.mark.parametrize("target", ["graph.jpeg", "graph"])
def test_unknown_graph_suffix_is_one_line(tmp_path, target):
    result = run_graph(SEED002, "-o", tmp_path / target)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "cannot tell the format" in result.stderr


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
