"""The computational graph as a lecture draws it, in Graphviz's DOT language.

Inputs and parameters on the left, the loss on the right (the lecture's ``x, w → * → ŷ → − → s →
^2 → loss``). Each node shows its operation, its definition and forward value, and in red the
gradient of the loss with respect to it; each edge shows the local gradient ∂node/∂parent and,
in red, the gradient it carries back (∂L/∂node · ∂node/∂parent).

This module reads a Derivation and the numbers of its worked example (one float64 trace of the
generated code); it differentiates nothing. DOT is plain text and always available; SVG and PNG
are drawn by Graphviz's ``dot`` where it is installed.
"""

from __future__ import annotations

import html
import os
import shutil
import subprocess
from collections.abc import Mapping

import numpy as np
import sympy

from .. import progress
from ..derivation import Derivation, Partial
from ..errors import SymgradError
from ..names import text_name
from ..rules import rule_for, spell
from ..tensors import ArraySymbol, Elementwise, shape_of
from .printers import TextPrinter, is_small
from .text import printable
from .worked import WorkedExample, term_value, worked_example

FORWARD = "#1f2d3d"  # definitions and values
LOCAL = "#1f5fa8"  # local gradients, on the edges
BACKWARD = "#c0392b"  # gradients flowing back, as lecture figures draw them in red
IMAGE_FORMATS = (".svg", ".png", ".pdf")
BRACKETS = "#9aa5ae"  # the thin lines either side of a matrix
GRAPH_MATRIX = (8, 8)  # rows and columns up to which a matrix is drawn entry by entry
DOT_FORMATS = (".dot", ".gv")


def operation(expr: sympy.Expr) -> str:
    """The operation a node applies, as a lecture's circle shows it: ``×``, ``+``, ``−``,
    ``(·)²``, ``σ(·)``."""
    if isinstance(expr, Elementwise):  # entry by entry: the operation of its template
        return operation(expr.template.expr)
    if isinstance(expr, sympy.MatMul):
        return "@"
    if isinstance(expr, sympy.MatAdd):
        return "+"
    if isinstance(expr, sympy.Add):
        negative = [a for a in expr.args if a.could_extract_minus_sign()]
        return "−" if len(expr.args) == 2 and len(negative) == 1 else "+"
    if isinstance(expr, sympy.Mul):
        divides = any(f.is_Pow and f.exp.is_negative for f in expr.args)
        return "÷" if divides else "×"
    if isinstance(expr, sympy.Pow):
        if expr.exp == sympy.S.Half:
            return "√"
        if expr.exp == -1:
            return "1/·"
        power = str(expr.exp)
        if power.isdigit():  # (·)², as a lecture's circle shows a square
            return "(·)" + power.translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))
        return f"(·)^{power}"
    rule = rule_for(expr)
    if rule is not None and rule.text is not None:
        return spell(rule.text, ["·"] * len(rule.printed_parts(expr)), expr)
    if isinstance(expr, (sympy.Symbol, sympy.MatrixSymbol, ArraySymbol)):
        return "="
    return type(expr).__name__


def graph_dot(
    derivation: Derivation,
    *,
    at: Mapping[str, object] | None = None,
    digits: int = 4,
    symbolic: bool = False,
) -> str:
    """The DOT source of the computational graph of ``derivation``, with the numbers of its
    worked example (at ``at``) unless ``symbolic`` or there is no example point."""
    example = worked_example(derivation, at, symbolic=symbolic)
    return _Graph(example, digits).dot()


def graph(
    derivation: Derivation,
    *,
    at: Mapping[str, object] | None = None,
    digits: int = 4,
    symbolic: bool = False,
) -> Graph:
    """The computational graph of ``derivation``: Jupyter shows it as SVG (with Graphviz
    installed), ``str()`` is its DOT source, ``.write(path)`` writes DOT, SVG, PNG or PDF."""
    return Graph(graph_dot(derivation, at=at, digits=digits, symbolic=symbolic), derivation.model)


class Graph:
    """A drawn computational graph: its DOT source, drawn by Graphviz on demand."""

    def __init__(self, dot: str, model: str):
        self.dot = dot
        self.model = model

    def __str__(self) -> str:
        return self.dot

    def __repr__(self) -> str:
        return f"<Graph of {self.model!r}: {self.dot.count(' -> ')} edges>"

    def write(self, path: str | os.PathLike) -> str:
        """Write ``path`` (.dot, .svg, .png or .pdf, chosen by its suffix); returns it."""
        return write_graph(self.dot, os.fspath(path))[-1]

    def svg(self) -> str:
        """The graph drawn as SVG by Graphviz's ``dot``."""
        return _drawn(self.dot, "svg", "the graph as SVG").decode("utf-8")

    def _repr_svg_(self) -> str | None:
        """Jupyter's picture of the graph; without Graphviz, None lets it show the repr."""
        return self.svg() if shutil.which("dot") else None


def _drawn(source: str, kind: str, what: str) -> bytes:
    dot = shutil.which("dot")
    if dot is None:
        raise SymgradError(
            f"{what} needs Graphviz's dot, which is not installed (Debian: apt-get install "
            "graphviz)"
        )
    result = subprocess.run([dot, f"-T{kind}"], input=source.encode("utf-8"), capture_output=True)
    if result.returncode != 0:
        message = (result.stderr.decode(errors="replace").strip().splitlines() or ["failed"])[-1]
        raise SymgradError(f"Graphviz's dot could not draw {what}: {message}")
    return result.stdout


class _Graph:
    def __init__(self, example: WorkedExample, digits: int):
        self.example = example
        self.d = example.derivation
        self.values = example.values
        self.printer = TextPrinter(digits=digits)

    def number(self, value) -> str:
        return self.printer.value(value)

    def dot(self) -> str:
        d = self.d
        lines = [
            f"digraph {_quote(printable(d.model))} {{",
            "  rankdir=LR; ordering=in;  // inputs drawn in the order the model declares them",
            '  graph [fontname="DejaVu Sans", fontsize=11, nodesep=0.35, ranksep=0.9,',
            f"         labelloc=b, label={self.legend()}];",
            '  node [fontname="DejaVu Sans", fontsize=12, shape=box, style="rounded",'
            ' color="#5b6770"];',
            # decorate: each label joined to its edge by a line, not floating between two
            '  edge [fontname="DejaVu Sans", fontsize=10, color="#5b6770", arrowsize=0.7,'
            " decorate=true];",
        ]
        used = set()
        for node in d.nodes:
            used |= {s.name for s in node.expr.free_symbols}
        for var in d.variables:
            if var.name in used:
                lines.append(f"  {_quote(var.name)} [{self.variable(var)}];")
        for node in d.nodes:
            lines.append(f"  {_quote(node.name)} [{self.node(node)}];")
        used_nodes = [n.name for n in d.nodes]
        # inputs in the order the model declares them (x₁ above x₂), edges likewise
        declared = {name: k for k, name in enumerate([v.name for v in d.variables] + used_nodes)}
        for done, node in enumerate(d.nodes):
            progress.report("drawing", done, len(d.nodes), "nodes")
            parents = sorted(node.expr.free_symbols, key=lambda s: declared.get(s.name, 0))
            for parent in parents:
                attrs = self.edge(node, parent.name)
                lines.append(f"  {_quote(parent.name)} -> {_quote(node.name)} [{attrs}];")
        lines.append("}")
        return "\n".join(lines) + "\n"

    def legend(self) -> str:
        rows = [
            f'<font color="{FORWARD}">forward: definition = value</font>',
            f'<font color="{LOCAL}">edge: local gradient ∂node/∂input (a matrix: its pullback)'
            "</font>",
            f'<font color="{BACKWARD}">red: gradient of {self._name(self.d.loss.name)}'
            " flowing back; where a quantity feeds several nodes, what flows back adds up</font>",
        ]
        return "<" + "    ".join(rows) + ">"

    def _name(self, name: str) -> str:
        return html.escape(text_name(name))

    def rows(self, text: str, value, color: str | None = None, sep: str = " = ") -> list[str]:
        """``text = value`` as label rows: a number on the same row, a small matrix as a table
        on the row below, a large one by its shape (which ``text`` already gives)."""

        def colored(body: str) -> str:
            return f'<font color="{color}">{body}</font>' if color else body

        if value is None:
            return [colored(text)]
        if np.ndim(value) == 2:
            if not _fits(value):
                return [colored(text)]
            # the text and the matrix side by side, as one writes W = [⋯]
            beside = (
                '<table border="0" cellborder="0" cellspacing="0"><tr>'
                f"<td>{text}{sep.rstrip()}</td>"
                f'<td border="1" sides="LR" color="{BRACKETS}">{self.matrix(value)}</td>'
                "</tr></table>"
            )
            return [colored(beside)]
        return [colored(f"{text}{sep}{html.escape(self.number(value))}")]

    def matrix(self, value) -> str:
        cells = "".join(
            "<tr>"
            + "".join(
                f'<td align="right">{html.escape(self.printer.number(v, fixed=True))}</td>'
                for v in row
            )
            + "</tr>"
            for row in np.asarray(value)
        )
        return f'<table border="0" cellborder="0" cellspacing="0" cellpadding="1">{cells}</table>'

    def shape(self, name: str) -> str:
        shape = shape_of(self.d.symbol(name))
        return html.escape(self.printer.member_of(shape)) if shape else ""

    def _adjoint(self, name: str) -> list[str]:
        """``∂L/∂name = value`` in red, for the nodes and variables that have an adjoint; a
        sum over several consumers adds up what flows back from each of them."""
        try:
            adjoint = self.d.adjoint(name)
        except KeyError:
            return []
        label = html.escape(self.printer.doprint(adjoint.symbol))
        branches = len(adjoint.terms) > 1
        if branches:
            shares = [self._name(term.consumer) for term in adjoint.terms]
            label += " = " + " + ".join(f"◀ {share}" for share in shares)
        if self.values is None:
            return self.rows(label, None, BACKWARD)
        if adjoint.is_loss:
            value = 1
        elif name in self.d.wrt and self.example.gradients is not None:
            value = self.example.gradients[name]  # reduced over a batch
        else:
            value = self.values[adjoint.symbol.name]
        if branches and np.ndim(value) == 0:  # the numbers that add up, as a lecture adds them
            shares = [term_value(adjoint, t, self.values) for t in adjoint.terms]
            if all(np.ndim(share) == 0 for share in shares):
                numbers = " + ".join(html.escape(self.printer.value(v)) for v in shares)
                label = f"{html.escape(self.printer.doprint(adjoint.symbol))} = {numbers}"
        return self.rows(label + self.shape(name), value, BACKWARD)

    def variable(self, var) -> list[str] | str:
        value = None if self.values is None else self.values.get(var.name)
        rows = self.rows(self._name(var.name) + self.shape(var.name), value)
        rows += self._adjoint(var.name)
        style = 'shape=box, style="rounded,filled", fillcolor="#eef3f8"'
        if var.role == "input":
            style = 'shape=plaintext, style=""'
        return f"{style}, label={_table(rows)}"

    def node(self, node) -> str:
        with self.printer.ordered(node.written is not None):  # in the author's order
            formula = self.printer.doprint(node.written if node.written is not None else node.expr)
        definition = f"{self._name(node.name)} = {html.escape(formula)}"
        definition += self.shape(node.name)
        rows = [f'<font point-size="18">{html.escape(operation(node.expr))}</font>']
        if self.values is None:
            rows += self.rows(definition, None, FORWARD)
        elif node.is_loss and self.example.batched:  # per sample, then what is minimised
            shown = self.number(self.values[node.name])
            shown += f" ({self.d.reduction} {self.number(self.example.loss)})"
            rows += [f'<font color="{FORWARD}">{definition} = {html.escape(shown)}</font>']
        else:
            rows += self.rows(definition, self.values[node.name], FORWARD)
        rows += self._adjoint(node.name)
        extra = ', penwidth=2, color="#2d3e50"' if node.is_loss else ""
        return f"label={_table(rows)}{extra}"

    def edge(self, node, parent: str) -> str:
        try:
            local = self.d.local(node.name, parent)
        except KeyError:
            return 'style="dashed"'  # an input the gradient is not taken with respect to
        adjoint = self.d.adjoint(parent)
        term = next(t for t in adjoint.terms if t.consumer == node.name)
        flowing = None if self.values is None else term_value(adjoint, term, self.values)
        formula = html.escape(self.printer.doprint(local.expr))
        if local.pullback:
            # A matrix chain rule is no product of factors: the edge carries the pullback,
            # the parent's share of ∂L/∂node, written in terms of it.
            rows = [f'<font color="{LOCAL}">{formula}</font>']
            rows += self.rows("◀", flowing, BACKWARD, sep=" ") if flowing is not None else []
            return f"label={_table(rows)}"
        symbol = local.symbol or Partial(node.name, parent)
        parts = [html.escape(self.printer.doprint(symbol))]
        if formula != parts[0]:
            parts.append(formula)
        rows = []
        if self.values is not None:
            # For the loss's own local gradients ∂L/∂L = 1, so what flows back is the local.
            local_value = self.values[local.symbol.name] if local.symbol is not None else flowing
            shown = html.escape(self.number(local_value))
            if shown != parts[-1]:
                parts.append(shown)
        rows.append(f'<font color="{LOCAL}">{" = ".join(parts)}</font>')
        if flowing is not None:
            rows += self.rows("◀", flowing, BACKWARD, sep=" ")
        return f"label={_table(rows)}"


def _fits(value) -> bool:
    """A matrix small enough to draw entry by entry inside a node."""
    rows, cols = np.shape(value)
    return rows <= GRAPH_MATRIX[0] and cols <= GRAPH_MATRIX[1] and is_small(value)


def _table(rows: list[str]) -> str:
    cells = "".join(f"<tr><td>{row}</td></tr>" for row in rows)
    return f'<<table border="0" cellborder="0" cellspacing="1">{cells}</table>>'


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_graph(source: str, path: str) -> list[str]:
    """Write the graph to ``path``: DOT as is; SVG, PNG or PDF through Graphviz's ``dot``.
    Only the file asked for is written; returns the paths written."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in DOT_FORMATS + IMAGE_FORMATS:
        raise SymgradError(
            f"-o {path}: cannot tell the format from {suffix or 'no suffix'!r}; "
            "use .dot, .svg, .png or .pdf"
        )
    if suffix in DOT_FORMATS:
        _write(path, source)
        return [path]
    if shutil.which("dot") is None:
        raise SymgradError(
            f"{path} needs Graphviz's dot, which is not installed (Debian: apt-get install "
            f"graphviz); -o {os.path.splitext(path)[0]}.dot writes the graph as DOT"
        )
    drawn = _drawn(source, suffix[1:], path)
    try:
        with open(path, "wb") as handle:
            handle.write(drawn)
    except OSError as error:
        raise SymgradError(f"-o {path}: {error.strerror}") from None
    return [path]


def _write(path: str, text: str) -> None:
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as error:
        raise SymgradError(f"-o {path}: {error.strerror}") from None
