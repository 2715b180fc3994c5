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

import sympy

from .derivation import Derivation, Partial
from .errors import SymgradError
from .names import text_name
from .rendering.printers import TextPrinter
from .rendering.text import printable
from .rendering.worked import WorkedExample, term_value, worked_example
from .rules import rule_for, spell

FORWARD = "#1f2d3d"  # definitions and values
LOCAL = "#1f5fa8"  # local gradients, on the edges
BACKWARD = "#c0392b"  # gradients flowing back, as lecture figures draw them in red
IMAGE_FORMATS = (".svg", ".png", ".pdf")
DOT_FORMATS = (".dot", ".gv")


def operation(expr: sympy.Expr) -> str:
    """The operation a node applies, as a lecture's circle shows it: ``×``, ``+``, ``−``,
    ``^2``, ``σ(·)``."""
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
        return f"^{expr.exp}"
    rule = rule_for(expr)
    if rule is not None and rule.text is not None:
        return spell(rule.text, ["·"] * len(rule.printed_parts(expr)), expr)
    if isinstance(expr, sympy.Symbol):
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
            "  rankdir=LR;",
            '  graph [fontname="DejaVu Sans", fontsize=11, nodesep=0.35, ranksep=0.9,',
            f"         labelloc=b, label={self.legend()}];",
            '  node [fontname="DejaVu Sans", fontsize=12, shape=box, style="rounded",'
            ' color="#5b6770"];',
            '  edge [fontname="DejaVu Sans", fontsize=10, color="#5b6770", arrowsize=0.7];',
        ]
        used = set()
        for node in d.nodes:
            used |= {s.name for s in node.expr.free_symbols}
        for var in d.variables:
            if var.name in used:
                lines.append(f"  {_quote(var.name)} [{self.variable(var)}];")
        for node in d.nodes:
            lines.append(f"  {_quote(node.name)} [{self.node(node)}];")
        for node in d.nodes:
            parents = sorted(node.expr.free_symbols, key=lambda s: s.name)
            for parent in parents:
                attrs = self.edge(node, parent.name)
                lines.append(f"  {_quote(parent.name)} -> {_quote(node.name)} [{attrs}];")
        lines.append("}")
        return "\n".join(lines) + "\n"

    def legend(self) -> str:
        rows = [
            f'<font color="{FORWARD}">forward: definition = value</font>',
            f'<font color="{LOCAL}">edge: local gradient ∂node/∂input</font>',
            f'<font color="{BACKWARD}">red: gradient of {self._name(self.d.loss.name)}'
            " flowing back</font>",
        ]
        return "<" + "    ".join(rows) + ">"

    def _name(self, name: str) -> str:
        return html.escape(text_name(name))

    def _adjoint(self, name: str) -> str | None:
        """``∂L/∂name = value`` in red, for the nodes and variables that have an adjoint."""
        try:
            adjoint = self.d.adjoint(name)
        except KeyError:
            return None
        label = html.escape(self.printer.doprint(adjoint.symbol))
        if self.values is None:
            return f'<font color="{BACKWARD}">{label}</font>'
        if adjoint.is_loss:
            value = "1"
        elif name in self.d.wrt and self.example.gradients is not None:
            value = self.number(self.example.gradients[name])  # reduced over a batch
        else:
            value = self.number(self.values[adjoint.symbol.name])
        return f'<font color="{BACKWARD}">{label} = {html.escape(value)}</font>'

    def variable(self, var) -> str:
        text = self._name(var.name)
        if self.values is not None and var.name in self.values:
            text += f" = {html.escape(self.number(self.values[var.name]))}"
        rows = [text]
        gradient = self._adjoint(var.name)
        if gradient:
            rows.append(gradient)
        style = 'shape=box, style="rounded,filled", fillcolor="#eef3f8"'
        if var.role == "input":
            style = 'shape=plaintext, style=""'
        return f"{style}, label={_table(rows)}"

    def node(self, node) -> str:
        definition = f"{self._name(node.name)} = {html.escape(self.printer.doprint(node.expr))}"
        rows = [
            f'<font point-size="18">{html.escape(operation(node.expr))}</font>',
            f'<font color="{FORWARD}">{definition}</font>',
        ]
        if self.values is not None:
            shown = self.number(self.values[node.name])
            if node.is_loss and self.example.batched:  # per sample, then what is minimised
                shown += f" ({self.d.reduction} {self.number(self.example.loss)})"
            rows[-1] = rows[-1].replace("</font>", f" = {html.escape(shown)}</font>")
        gradient = self._adjoint(node.name)
        if gradient:
            rows.append(gradient)
        extra = ', penwidth=2, color="#2d3e50"' if node.is_loss else ""
        return f"label={_table(rows)}{extra}"

    def edge(self, node, parent: str) -> str:
        try:
            local = self.d.local(node.name, parent)
        except KeyError:
            return 'style="dashed"'  # an input the gradient is not taken with respect to
        symbol = local.symbol or Partial(node.name, parent)
        parts = [self.printer.doprint(symbol)]
        formula = self.printer.doprint(local.expr)
        if formula != parts[0]:
            parts.append(formula)
        adjoint = self.d.adjoint(parent)
        term = next(t for t in adjoint.terms if t.consumer == node.name)
        rows = []
        flowing = None
        if self.values is not None:
            # For the loss's own local gradients ∂L/∂L = 1, so what flows back is the local.
            flowing = term_value(adjoint, term, self.values)
            local_value = self.values[local.symbol.name] if local.symbol is not None else flowing
            shown = self.number(local_value)
            if shown != parts[-1]:
                parts.append(shown)
        rows.append(f'<font color="{LOCAL}">{html.escape(" = ".join(parts))}</font>')
        if flowing is not None:
            rows.append(f'<font color="{BACKWARD}">◀ {html.escape(self.number(flowing))}</font>')
        return f"label={_table(rows)}"


def _table(rows: list[str]) -> str:
    cells = "".join(f"<tr><td>{row}</td></tr>" for row in rows)
    return f'<<table border="0" cellborder="0" cellspacing="1">{cells}</table>>'


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_graph(source: str, path: str) -> list[str]:
    """Write the graph to ``path``: DOT as is; SVG, PNG or PDF through Graphviz's ``dot``.
    The DOT source is always written (beside an image, with the suffix ``.dot``); returns the
    paths written."""
    root, suffix = os.path.splitext(path)
    suffix = suffix.lower()
    if suffix not in DOT_FORMATS + IMAGE_FORMATS:
        raise SymgradError(
            f"-o {path}: cannot tell the format from {suffix or 'no suffix'!r}; "
            "use .dot, .svg, .png or .pdf"
        )
    dot_path = path if suffix in DOT_FORMATS else root + ".dot"
    _write(dot_path, source)
    if suffix in DOT_FORMATS:
        return [dot_path]
    dot = shutil.which("dot")
    if dot is None:
        raise SymgradError(
            f"{path} needs Graphviz's dot, which is not installed (Debian: apt-get install "
            f"graphviz); the graph is in {dot_path}"
        )
    result = subprocess.run(
        [dot, f"-T{suffix[1:]}", "-o", path, dot_path], capture_output=True, text=True
    )
    if result.returncode != 0:
        message = (result.stderr.strip().splitlines() or ["failed"])[-1]
        raise SymgradError(f"Graphviz's dot could not draw {path}: {message}")
    return [dot_path, path]


def _write(path: str, text: str) -> None:
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as error:
        raise SymgradError(f"-o {path}: {error.strerror}") from None
