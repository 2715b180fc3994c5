"""The worked example as Markdown: ``$$ … $$`` display math and ``$ … $`` inline math, as Jekyll
(kramdown with MathJax), MkDocs (arithmatex with KaTeX or MathJax) and Jupyter render it.

The math is the LaTeX surface's, printed by the same ``LatexPrinter``; a long equation becomes an
``aligned`` block with the same line breaks. Each equation is its own display, as the lecture
notes write them. Text from the model file is escaped so that it stays text.
"""

from __future__ import annotations

from ..errors import SymgradError
from .latex import LINE_WIDTH, LatexSurface, joined_rows
from .worked import WorkedExample, check_only, shows


def escape_markdown(text: str, what: str = "model name") -> str:
    """``text`` as literal Markdown: every ASCII punctuation character backslash-escaped (which
    CommonMark allows for all of them), so none can start emphasis, a link, HTML or math."""
    if any(not ch.isprintable() for ch in text):
        raise SymgradError(
            f"{what} {text!r} cannot be typeset in Markdown: it contains a control character"
        )
    return "".join(
        "\\" + ch if ch.isascii() and not ch.isalnum() and ch != " " else ch for ch in text
    )


def display(lines: list[str]) -> str:
    """One equation as a display: on one line, or ``aligned`` where it was broken."""
    if len(lines) == 1:
        body = lines[0].replace("&", "", 1)
    else:
        body = "\\begin{aligned}\n" + joined_rows(lines) + "\n\\end{aligned}"
    return f"$$\n{body}\n$$"


def render_markdown(
    example: WorkedExample,
    *,
    digits: int = 4,
    lang: str = "en",
    only: str | None = None,
    width: float = LINE_WIDTH,
) -> str:
    check_only(only, example)
    surface = LatexSurface(example, digits, lang, width)
    d = example.derivation
    words = surface.words
    out = [f"# {words['title']}: {escape_markdown(d.model)}"]
    if shows(only, "model"):
        out += ["", f"## {words['model']}", ""]
        out += [f"- {fact}" for fact in surface.facts()]
        definitions = [line for lines in surface.definitions() for line in lines]
        out += ["", display(definitions)]
    for key, title, equations in surface.sections():
        if shows(only, key):
            # one display per section, aligned at =, as the LaTeX sets it
            out += ["", f"## {title}", "", display([ln for lines in equations for ln in lines])]
        if key == "backward" and shows(only, "gradients"):
            out += ["", f"## {words['gradients']}", "", _table(*surface.table())]
    return "\n".join(out) + "\n"


def _table(header: list[str], rows: list[list[str]]) -> str:
    def cell(math: str) -> str:
        # A | would end the table cell; \vert is the same bar to LaTeX.
        return "$" + math.replace("|", r"\vert ") + "$"

    lines = [
        "| " + " | ".join(header) + " |",
        "| :-: | " + " | ".join("--:" for _ in header[1:]) + " |",
    ]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
