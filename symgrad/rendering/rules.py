"""The rule table written out, for ``symgrad rules`` and the documentation: every primitive with
its derivative as the table itself gives it (in textbook form), its kink, and its NumPy and
Torch spelling; then the matrix operations with their backward rules.

Nothing here is typed by hand: each formula is the row's own ``derivative`` applied to symbols
and printed by the same printers as the worked examples, so adding a row documents it.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from ..errors import SymgradError
from ..rules import MATRIX_RULES, RULES, Rule, spell
from .printers import LatexPrinter, TextPrinter

FORMATS = ("text", "markdown", "latex")

_x, _y, _n, _a, _b, _p = sympy.symbols("x y n a b p", real=True)
_x1, _x2 = sympy.symbols("x1 x2", real=True)
_h0 = sympy.Symbol("h_0", real=True)
ARGUMENTS: dict[str, tuple] = {  # the symbols each row is shown with (default: x)
    "pow": (_x, _n),
    "Max": (_a, _b),
    "Min": (_a, _b),
    "Heaviside": (_x, _h0),
    "bce": (_p, _y),
    "squared_error": (_p, _y),
    "mse": (_p, _y),
    "sum_squares": (_x1, _x2),
}


@dataclass(frozen=True)
class RuleRow:
    rule: Rule
    arguments: tuple
    applied: sympy.Expr
    partials: tuple

    @property
    def kinks(self) -> tuple:
        return self.rule.kinks(self.applied) if self.rule.kink else ()


def rule_rows() -> list[RuleRow]:
    rows = []
    for rule in RULES:
        args = ARGUMENTS.get(rule.name, (_x,))
        if rule.name == "sqrt":
            applied = sympy.sqrt(_x)
        elif rule.name == "pow":
            applied = sympy.Pow(_x, _n, evaluate=False)
        else:
            applied = rule.function(*args)
        rows.append(RuleRow(rule, args, applied, tuple(rule.derivative(applied, *args))))
    return rows


def _code(spelling, args) -> str:
    if spelling is None:
        return "its definition"
    return spell(spelling, [str(a) for a in args])


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


def _derivatives(row: RuleRow, printer, partial) -> list[str]:
    f = printer.doprint(row.applied)
    return [
        f"{partial(f, printer.doprint(arg))} = {printer.doprint(d)}"
        for arg, d in zip(row.arguments, row.partials, strict=True)
        if not (isinstance(arg, sympy.Symbol) and arg == _h0)  # h0 is a constant of the step
    ]


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
        numpy, torch = _code(rule.numpy, row.arguments), _code(rule.torch, row.arguments)
        lines.append(f"    numpy: {numpy}    torch: {torch}")
    lines += ["", "Matrix operations (G is the adjoint of the result)", ""]
    for rule in MATRIX_RULES:
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
        numpy = _code(rule.numpy, row.arguments).replace("|", r"\|")
        torch = _code(rule.torch, row.arguments).replace("|", r"\|")
        out.append(
            f"| `{rule.name}` | {rule.kind} | {derivatives} | {kinks} | `{numpy}` | `{torch}` |"
        )
    out += [
        "",
        "Matrix operations: `G` is the adjoint of the operation's result.",
        "",
        "| operation | what it is | backward rule |",
        "| --- | --- | --- |",
    ]
    for rule in MATRIX_RULES:
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
