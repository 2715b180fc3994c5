"""What Jupyter shows for a Model and a Derivation. The hooks live here, with the surfaces that
write them, and are attached to those classes when rendering is imported: the model and the
derivation know nothing of how they are displayed (data flows one way, into rendering)."""

from __future__ import annotations

from ..derivation import Derivation
from ..model import Model
from ..names import latex_name
from .latex import render_latex_math
from .markdown import render_markdown
from .printers import LatexPrinter
from .words import words_for
from .worked import worked_example


def derivation_markdown(d: Derivation) -> str:
    """The worked example, as Markdown with math."""
    return render_markdown(worked_example(d))


def derivation_latex(d: Derivation) -> str:
    return render_latex_math(worked_example(d))


def model_markdown(m: Model) -> str:
    """A model's declarations: its inputs and parameters (with shapes and domains), each node
    as defined, the loss and whether an example point is given."""
    printer = LatexPrinter()

    def variable(v) -> str:
        times = " \\times ".join(map(str, v.shape))
        shape = f" \\in \\mathbf{{R}}^{{{times}}}" if v.shape else ""
        domain = f" ({v.domain})" if v.domain is not None else ""
        return f"${latex_name(v.name)}{shape}${domain}"

    lines = [f"**Model** `{m.name}`", ""]
    for role, title in (("input", "inputs"), ("param", "parameters")):
        declared = [variable(v) for v in m.variables if v.role == role]
        if declared:
            lines.append(f"- {title}: {', '.join(declared)}")
    rows = []
    for node in m.nodes:
        with printer.ordered(node.written is not None):  # the author's order of terms
            expr = printer.doprint(node.written if node.written is not None else node.expr)
        rows.append(f"{latex_name(node.name)} &= {expr}")
    if m.loss_node is not None:
        tensor = any(v.shape for v in m.variables) or any(n.shape for n in m.nodes)
        per_sample = "" if tensor else f" ({words_for('en')[m.reduction]})"  # no batch to reduce
        lines.append(f"- loss: ${latex_name(m.loss_node.name)}${per_sample}")
    else:
        lines.append("- loss: none declared yet (`m.loss(name, expr)`)")
    given = sorted(m.example_point)
    lines.append(f"- example: {', '.join(given) if given else 'none (`m.example(...)`)'}")
    if rows:
        lines += ["", "$$\n\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}\n$$"]
    return "\n".join(lines) + "\n"


def install() -> None:
    Derivation._repr_markdown_ = derivation_markdown
    Derivation._repr_latex_ = derivation_latex
    Model._repr_markdown_ = model_markdown
