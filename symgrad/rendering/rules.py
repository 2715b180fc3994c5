"""The rule table written out, for ``symgrad rules`` and the documentation: every primitive with
its derivative as the table itself gives it (in textbook form), its kink, and its NumPy and
Torch spelling; then the matrix operations with their backward rules.

Nothing here is typed by hand: each formula is the row's own ``derivative`` applied to symbols
and printed by the same printers as the worked examples, so adding a row documents it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sympy

from ..codegen.printers import PRINTERS
from ..errors import SymgradError
from ..rules import Rule, differentiate, records, spell
from .printers import LatexPrinter, TextPrinter

FORMATS = ("text", "markdown", "latex")


@dataclass(frozen=True)
class RuleRow:
    """A scalar record applied to symbols named as the record names its arguments."""

    rule: Rule
    arguments: tuple
    applied: sympy.Expr
    partials: tuple

    @property
    def kinks(self) -> tuple:
        return self.rule.kinks(self.applied) if self.rule.kink else ()

    @property
    def needs(self) -> dict:
        """What each argument needs, by the argument's name."""
        if self.rule.is_composite:
            return {}
        return {str(which): spec for (arg, which), spec in self.rule.needs(self.applied).items()}


def rule_rows() -> list[RuleRow]:
    """Every scalar record (composites included), its derivative as the record gives it (a
    composite's and a piecewise function's by the chain rule through their definition)."""
    rows = []
    for rule in records():
        if rule.is_matrix:
            continue
        args = tuple(sympy.Symbol(name, real=True) for name in rule.arguments)
        applied = rule.applied(*args)
        if rule.derivative is not None:  # one per argument shown (sqrt's exponent ½ is not)
            partials = rule.partials(applied)[: len(args)]
        else:
            partials = tuple(differentiate(applied, arg) for arg in args)
        rows.append(RuleRow(rule, args, applied, partials))
    return rows


def matrix_records() -> list[Rule]:
    return [rule for rule in records() if rule.is_matrix]


def _code(target: str, row: RuleRow) -> str:
    """The record's spelling for ``target`` applied to its arguments, as generated code has it."""
    spelling = getattr(row.rule, target)
    if spelling is None:
        return "its definition"
    if row.rule.is_composite:
        return spell(spelling, [str(a) for a in row.arguments])
    # a helper the generated module defines (_sigmoid, split by sign for stability) is named
    # plainly: the reader wants the function, not the module's private name for it
    return re.sub(r"(?<![\w.])_([a-z]\w*)\(", r"\1(", PRINTERS[target]().doprint(row.applied))


def _derivatives(row: RuleRow, printer, partial) -> list[str]:
    f = printer.doprint(row.applied)
    return [
        f"{partial(f, printer.doprint(arg))} = {printer.doprint(d)}"
        for arg, d in zip(row.arguments, row.partials, strict=True)
        if str(arg) != "h0"  # h0 is a constant of the step
    ]


def render_rules(fmt: str = "text") -> str:
    """The table as ``fmt``: "text" for the terminal, "markdown" (with ``$…$`` math) or "latex"
    (a ``longtable``-free tabular per part, needing only amsmath)."""
    if fmt not in FORMATS:
        raise SymgradError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    rows = rule_rows()
    if fmt == "text":
        return _text(rows)
    if fmt == "markdown":
        return _markdown(rows)
    return _latex(rows)


def _text(rows: list[RuleRow]) -> str:
    printer = TextPrinter()
    lines = ["Primitives (derivatives in textbook form)", ""]
    for row in rows:
        rule = row.rule
        lines.append(f"{rule.name}  [{rule.kind}]  {rule.summary}")
        for d in _derivatives(row, printer, lambda f, a: f"∂{f}/∂{a}"):
            lines.append(f"    {d}")
        for kink in row.kinks:
            lines.append(f"    kink where {printer.doprint(kink)} = 0")
        for arg, need in row.needs.items():
            lines.append(f"    {arg}: {need if isinstance(need, str) else need[0]}")
        numpy, torch = _code("numpy", row), _code("torch", row)
        lines.append(f"    numpy: {numpy}    torch: {torch}")
    lines += ["", "Matrix operations (G is the adjoint of the result)", ""]
    for rule in matrix_records():
        lines.append(f"{rule.name}  {rule.summary}")
        lines.append(f"    {rule.textbook}")
    return "\n".join(lines) + "\n"


def _table_math(tex: str) -> str:
    """Math for a Markdown table cell: a bar would end the cell."""
    tex = tex.replace(r"\left|", r"\left\lvert ").replace(r"\right|", r"\right\rvert ")
    return tex.replace("|", r"\vert ")


def _markdown(rows: list[RuleRow]) -> str:
    printer = LatexPrinter(inline=True)
    partial = lambda f, a: rf"\frac{{\partial}}{{\partial {a}}} {f}"  # noqa: E731
    out = [
        "| rule | kind | derivative | kink | NumPy | Torch |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        rule = row.rule
        derivatives = "<br>".join(
            f"${_table_math(d)}$" for d in _derivatives(row, printer, partial)
        )
        kinks = "<br>".join(f"${_table_math(printer.doprint(k))} = 0$" for k in row.kinks) or "–"
        numpy = _code("numpy", row).replace("|", r"\|")
        torch = _code("torch", row).replace("|", r"\|")
        out.append(
            f"| `{rule.name}` | {rule.kind} | {derivatives} | {kinks} | `{numpy}` | `{torch}` |"
        )
    out += [
        "",
        "A name without a module (`sigmoid(x)`) is a helper the generated code defines.",
        "",
        "Matrix operations: `G` is the adjoint of the operation's result.",
        "",
        "| operation | what it is | backward rule |",
        "| --- | --- | --- |",
    ]
    for rule in matrix_records():
        out.append(f"| `{rule.name}` | {rule.summary} | `{rule.textbook}` |")
    return "\n".join(out) + "\n"


def _latex(rows: list[RuleRow]) -> str:
    printer = LatexPrinter()
    partial = lambda f, a: rf"\frac{{\partial}}{{\partial {a}}} {f}"  # noqa: E731
    out = [r"\begin{align*}"]
    lines = []
    for row in rows:
        for d in _derivatives(row, printer, partial):
            left, _, right = d.partition(" = ")
            name = row.rule.name.replace("_", r"\_")
            lines.append(rf"{left} &= {right} && \text{{{name}}}")
    out.append(" \\\\\n".join(lines))
    out.append(r"\end{align*}")
    return "\n".join(out) + "\n"
