"""The worked example for a terminal: Unicode names (σ₁, ∂L/∂W₅), one equation per line."""

from __future__ import annotations

from ..names import text_name
from .printers import TextPrinter, equation_parts
from .words import words_for
from .worked import Equation, WorkedExample, check_only, shows


def render_text(
    example: WorkedExample, *, digits: int = 4, lang: str = "en", only: str | None = None
) -> str:
    words = words_for(lang)
    d = example.derivation
    symbolic = TextPrinter(digits=digits)
    numeric = TextPrinter(values=example.values, digits=digits) if example.values else None

    def equation(eq: Equation, printer: TextPrinter | None) -> str:
        lhs, parts = equation_parts(eq, symbolic, printer)
        texts = [text for text, _, _ in parts]
        return f"  {lhs} {eq.relation} " + " = ".join(texts)

    check_only(only, example)
    lines = [f"{words['model']}: {printable(d.model)}"]
    for role, key in (("input", "inputs"), ("param", "params")):
        names = [_variable(v.name, example, symbolic) for v in d.variables if v.role == role]
        if names:
            lines.append(f"  {words[key]}: {', '.join(names)}")
    reduction = "" if d.is_tensor else f" ({words[d.reduction]})"  # no batch to reduce
    lines.append(f"  {words['loss_of']}: {text_name(d.loss.name)}{reduction}")
    if example.batched:
        lines.append(f"  ({words['batch']})")
    lines += [equation(eq, None) for eq in example.section("model").equations]
    if not shows(only, "model"):
        lines = []

    for section in example.sections[1:]:
        if not section.equations:
            continue
        if only == "gradients" and section.key == "backward":
            lines += [words["gradients"], *_table(example, symbolic)]
        if not shows(only, section.key):
            continue
        title = words[section.key]
        if section.key == "update":
            rate = symbolic.doprint(example.rate_symbol)
            if numeric is not None:  # without numbers, α stays a symbol
                rate += f" = {symbolic.number(example.learning_rate)}"
            title += f" ({words['learning_rate']} {rate})"
            printer = TextPrinter(values=section.values, digits=digits) if numeric else None
        else:
            printer = numeric
        if section.unsimplified:
            names = ", ".join(text_name(name) for name in section.unsimplified)
            title += f" ({words['unsimplified']}: {names})"
        if section.omitted:
            names = ", ".join(symbolic.doprint(symbol) for symbol in section.omitted)
            title += f" ({words['omitted']}: {names})"
        lines += ["", title] if lines else [title]
        lines += [equation(eq, printer) for eq in section.equations]
        if section.key == "backward" and only is None:
            lines += ["", words["gradients"], *_table(example, symbolic)]
    return "\n".join(lines) + "\n"


def _variable(name: str, example: WorkedExample, printer: TextPrinter) -> str:
    """``x₁ = 1`` where the example gives a value, else the name alone."""
    shown = text_name(name)
    if example.point is not None and name in example.point:
        shown += f" = {printer.value(example.point[name])}"
    return shown


def _table(example: WorkedExample, printer: TextPrinter) -> list[str]:
    labels = [printer.doprint(row.symbol) for row in example.gradient_table]
    width = max(len(label) for label in labels)
    if example.gradients is None:
        rows = []
        for label, row in zip(labels, example.gradient_table, strict=True):
            with printer.ordered(row.keep_order):
                rows.append(f"  {label.ljust(width)} = {printer.doprint(row.formula)}")
        return rows
    values = [printer.value(row.value) for row in example.gradient_table]
    value_width = max(len(v) for v in values)
    return [
        f"  {label.ljust(width)}  {value.rjust(value_width)}"
        for label, value in zip(labels, values, strict=True)
    ]


def printable(text: str) -> str:
    """Free text from a model file on one terminal line: control characters become spaces."""
    return "".join(ch if ch.isprintable() else " " for ch in text)
