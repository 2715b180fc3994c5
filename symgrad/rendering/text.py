"""The worked example for a terminal: Unicode names (σ₁, ∂L/∂W₅), one equation per line."""

from __future__ import annotations

from ..names import text_name
from .printers import TextPrinter, format_value
from .worked import Equation, WorkedExample, written_out

TITLES = {
    "en": {
        "model": "Model",
        "inputs": "inputs",
        "params": "parameters",
        "loss_of": "loss",
        "forward": "Forward pass",
        "loss": "Loss",
        "backward": "Backward pass",
        "gradients": "Gradients",
        "mean": "mean over the batch",
        "sum": "sum over the batch",
        "batch": "(values over a batch: substitutions are left out)",
    },
}


def render_text(example: WorkedExample, *, digits: int = 4, lang: str = "en") -> str:
    words = TITLES[lang]
    d = example.derivation
    symbolic = TextPrinter(digits=digits)
    numeric = TextPrinter(values=example.values, digits=digits) if example.values else None

    def equation(eq: Equation) -> str:
        order = "none" if eq.keep_order else None
        parts = [symbolic.doprint(eq.lhs)]
        parts += [_print(symbolic, form, order) for form in eq.forms]
        if numeric is not None:
            parts += [_print(numeric, form, order) for form in eq.numeric]
        if eq.value is not None:
            parts.append(format_value(eq.value, digits).replace("-", "−"))
        return "  " + " = ".join(_dedupe(parts))

    inputs = [text_name(v.name) for v in d.variables if v.role == "input"]
    params = [text_name(v.name) for v in d.variables if v.role == "param"]
    lines = [f"{words['model']}: {d.model}"]
    if inputs:
        lines.append(f"  {words['inputs']}: {', '.join(inputs)}")
    if params:
        lines.append(f"  {words['params']}: {', '.join(params)}")
    lines.append(f"  {words['loss_of']}: {text_name(d.loss.name)} ({words[d.reduction]})")
    if example.batched:
        lines.append(f"  {words['batch']}")
    for section in example.sections:
        if not section.equations:
            continue
        lines += ["", words[section.key]]
        lines += [equation(eq) for eq in section.equations]
    lines += ["", words["gradients"]]
    width = max(len(symbolic.doprint(d.adjoint(name).symbol)) for name in d.wrt)
    for name in d.wrt:
        label = symbolic.doprint(d.adjoint(name).symbol).ljust(width)
        if example.gradients is not None:
            lines.append(
                f"  {label}  {format_value(example.gradients[name], digits)}".replace("-", "−")
            )
        else:
            formula = _print(symbolic, written_out(d.adjoint(name)), "none")
            lines.append(f"  {label}  = {formula}")
    return "\n".join(lines) + "\n"


def _print(printer: TextPrinter, expr, order) -> str:
    printer._settings["order"] = order
    try:
        return printer.doprint(expr)
    finally:
        printer._settings["order"] = None


def _dedupe(parts: list[str]) -> list[str]:
    """Drop a form that repeats the one before it (a value equal to its own substitution)."""
    out: list[str] = []
    for part in parts:
        if not out or part != out[-1]:
            out.append(part)
    return out
