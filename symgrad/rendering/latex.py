r"""The worked example as LaTeX: a fragment of ``align*`` blocks that needs only ``amsmath``, or a
complete document that ``pdflatex`` compiles as it is (``kotex`` for Korean prose).

Equations are laid out the way a lecture writes them, ``z_{1} &= W_{1} x_{1} + … = 0.4352 \times
1 + … = 0.6478``; one that would run off the page continues on the next line at its ``=``, and a
single long formula breaks between its terms or factors (``LatexPrinter.wrap``).

Text that comes from the model file (the model's free-text name) is escaped here; names of
quantities are identifiers and are typeset by ``symgrad.names``.
"""

from __future__ import annotations

import itertools
import math

from ..errors import SymgradError
from ..names import latex_name
from ..version import __version__
from .printers import LatexPrinter, equation_parts, left_side, visual_width
from .words import words_for
from .worked import Equation, WorkedExample, check_only, shows

# Ems that fit in one line of a displayed formula: the text is 16.6 cm (43 em at 11 pt) wide,
# and ``visual_width`` can be 6 % short; a row wider than this continues on the next line.
LINE_WIDTH = 38

RELATIONS = {"=": "=", "←": r"\leftarrow"}

_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "#": r"\#",
    "^": r"\textasciicircum{}",
    "_": r"\_",
    "%": r"\%",
    "~": r"\textasciitilde{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
    '"': "''",
    "-": "-{}",  # no -- or --- ligature
}


def escape_text(text: str, lang: str = "en", what: str = "model name") -> str:
    """``text`` as LaTeX text that prints it literally: nothing in it can start a command, a
    group, math or a comment. Characters pdflatex cannot typeset with the document's fonts are
    refused (with ``kotex``, Korean is typeset)."""
    out = []
    for ch in text:
        if ch in _SPECIAL:
            out.append(_SPECIAL[ch])
        elif " " <= ch <= "~" or (lang == "ko" and _is_hangul(ch)):
            out.append(ch)
        else:
            hint = "" if lang == "ko" else " (Korean needs --lang ko)" if _is_hangul(ch) else ""
            raise SymgradError(
                f"{what} {text!r} cannot be typeset in LaTeX: {ch!r} (U+{ord(ch):04X}) is not "
                f"printable ASCII{hint}; rename it"
            )
    return "".join(out)


def _is_hangul(ch: str) -> bool:
    code = ord(ch)
    return 0xAC00 <= code <= 0xD7A3 or 0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F


def equation_lines(
    eq: Equation,
    symbolic: LatexPrinter,
    numeric: LatexPrinter | None,
    width: float = LINE_WIDTH,
    column: float = 0.0,
) -> list[str]:
    """One equation as ``align`` rows (``&`` before the relation), broken to fit ``width``
    ems (the page's, or a slide's). ``column`` is the width of the widest left side aligned
    with this one: the right sides all start after it."""
    lhs, parts = equation_parts(eq, symbolic, numeric)
    room = width - max(visual_width(lhs), column)
    rows: list[str] = []
    current: str | None = None
    for i, (text, expr, printer) in enumerate(parts):
        piece = f"{RELATIONS[eq.relation] if i == 0 else '='} {text}"
        if current is not None and visual_width(f"{current} {piece}") <= room:
            current = f"{current} {piece}"
            continue
        if current is not None:
            rows.append(current)
        if expr is None or visual_width(piece) <= room:
            current = piece
            continue
        with printer.ordered(eq.keep_order):
            plain = printer.doprint(expr)
            wrapped = printer.wrap(expr, room - 2)
        tail = text[len(plain) :] if text.startswith(plain) else ""
        if tail and visual_width(wrapped[-1] + tail) > room - 2:
            wrapped.append(tail.strip())  # what follows the formula (∈ R^{r×c}), on its own
        elif tail:
            wrapped[-1] += tail  # ends the formula's last line
        glue = RELATIONS[eq.relation] if i == 0 else "="
        rows.append(f"{glue} {wrapped[0]}")
        rows.extend(rf"\qquad {line}" for line in wrapped[1:-1])
        current = rf"\qquad {wrapped[-1]}" if len(wrapped) > 1 else None
    if current is not None:
        rows.append(current)
    return [f"{lhs} &{rows[0]}", *[f"&{row}" for row in rows[1:]]]


def align(blocks: list[list[str]], *, breaks: bool = True) -> str:
    r"""An ``align*`` of several equations; ``\displaybreak[0]`` lets a page end between two
    of them (and never inside one)."""
    between = r" \displaybreak[0]\\" if breaks else r" \\"
    lines = [line for block in blocks for line in block]
    last_of_block = {end - 1 for end in itertools.accumulate(map(len, blocks))}
    rows = [
        line + (between if i in last_of_block else r" \\") + row_gap(line, lines[i + 1])
        for i, line in enumerate(lines[:-1])
    ]
    return "\\begin{align*}\n" + "\n".join([*rows, *lines[-1:]]) + "\n\\end{align*}"


def joined_rows(lines: list[str]) -> str:
    r"""Rows of an ``aligned`` block, each ended by ``\\`` (and a gap where it is tall)."""
    rows = [f"{line} \\\\{row_gap(line, after)}" for line, after in itertools.pairwise(lines)]
    return "\n".join([*rows, *lines[-1:]])


ROW_GAP = "[3pt]"  # between two rows of which one stacks a fraction or a matrix


def row_gap(row: str, after: str) -> str:
    """The extra space after ``row``: stacked fractions on neighbouring rows would touch."""
    return ROW_GAP if _is_tall(row) or _is_tall(after) else ""


def _is_tall(row: str) -> bool:
    return r"\frac" in row or r"\begin{" in row


class LatexSurface:
    """What the LaTeX and Markdown surfaces share: the printers, the words, the equations
    of each section and the gradient table, as LaTeX math."""

    def __init__(self, example: WorkedExample, digits: int, lang: str, width=LINE_WIDTH):
        self.example = example
        self.digits = digits
        self.lang = lang
        self.width = width  # ems a displayed row may take
        self.words = words_for(lang)
        self.symbolic = LatexPrinter(digits=digits)
        self.inline = LatexPrinter(digits=digits, inline=True)
        self.numeric = (
            LatexPrinter(values=example.values, digits=digits) if example.values else None
        )

    def printer_for(self, section) -> LatexPrinter | None:
        if section.key == "update":
            return LatexPrinter(values=section.values, digits=self.digits) if self.numeric else None
        return self.numeric

    def sections(self):
        """(key, title, equations as line lists) of every non-empty section after the model."""
        for section in self.example.sections[1:]:
            if not section.equations:
                continue
            yield section.key, self.title(section), self.aligned(section.equations, section)

    def title(self, section) -> str:
        """The section's heading, with what the reader must know about it: the learning rate
        of an update, the closed forms left unsimplified."""
        title = self.words[section.key]
        if section.key == "update":
            title += f" ({self.words['learning_rate']} ${self.rate()}$)"
        if section.unsimplified:
            names = ", ".join(f"${latex_name(name)}$" for name in section.unsimplified)
            title += f" ({self.words['unsimplified']}: {names})"
        if section.omitted:
            names = ", ".join(f"${self.inline.doprint(s)}$" for s in section.omitted)
            title += f" ({self.words['omitted']}: {names})"
        return title

    def rate(self) -> str:
        """``\\alpha = 1``: the learning rate of the update (α alone without numbers)."""
        rate = self.symbolic.doprint(self.example.rate_symbol)
        if self.numeric is None:
            return rate
        return f"{rate} = {self.symbolic.number(self.example.learning_rate)}"

    def variables(self, role: str) -> list[str]:
        """``x_{1} = 1`` (math) for each variable of ``role``; the name alone without a point."""
        out = []
        point = self.example.point
        for var in self.example.derivation.variables:
            if var.role != role:
                continue
            text = latex_name(var.name)
            if point is not None and var.name in point:
                text += f" = {self.symbolic.value(point[var.name])}"
            out.append(text)
        return out

    def facts(self, *, unbroken: bool = False) -> list[str]:
        """The model in words with inline ``$…$`` math: its inputs and parameters (with their
        values at the point), its loss and how a batch reduces it."""
        words, d = self.words, self.example.derivation
        facts = []
        for role, key in (("input", "inputs"), ("param", "params")):
            shown = self.variables(role)
            if shown:
                if unbroken:  # ${…}$: TeX does not break a braced formula at its = across lines
                    listed = ", ".join(f"${{{v}}}$" for v in shown)
                else:  # the comma inside: a browser may start a line with one after the math
                    listed = " ".join(f"${v},$" for v in shown[:-1]) + f" ${shown[-1]}$"
                facts.append(f"{words[key]}: " + listed.strip())
        reduction = "" if d.is_tensor else f" ({words[d.reduction]})"  # no batch to reduce
        facts.append(f"{words['loss_of']}: ${latex_name(d.loss.name)}${reduction}")
        if self.example.batched:
            facts.append(words["batch"])
        return facts

    def definitions(self) -> list[list[str]]:
        return self.aligned(self.example.section("model").equations)

    def aligned(self, equations, section=None) -> list[list[str]]:
        """The equations of one display as row lists: aligned at their relations, so every
        right side starts after the widest left side and breaks to fit what remains."""
        printer = None if section is None else self.printer_for(section)
        column = max((visual_width(left_side(eq, self.symbolic)) for eq in equations), default=0)
        return [equation_lines(eq, self.symbolic, printer, self.width, column) for eq in equations]

    def table(self) -> tuple[list[str], list[list[str]]]:
        """The gradient table: header and rows of inline math (without the ``$``)."""
        example = self.example
        header = [self.words["variable"], self.words["gradient"]]
        if example.learning_rate is not None and example.gradients is not None:
            header.append(self.words["updated"])
        rows = []
        for row in example.gradient_table:
            cells = [latex_name(row.name)]
            if row.value is None:
                with self.inline.ordered(row.keep_order):
                    cells.append(self.inline.doprint(row.formula))
            else:
                cells.append(self.inline.value(row.value))
            if len(header) == 3:
                cells.append(self.inline.value(row.updated))
            rows.append(cells)
        return header, rows


def render_latex(
    example: WorkedExample,
    *,
    digits: int = 4,
    lang: str = "en",
    standalone: bool = False,
    only: str | None = None,
    width: float = LINE_WIDTH,
) -> str:
    check_only(only, example)
    surface = LatexSurface(example, digits, lang, width)
    d = example.derivation
    words = surface.words
    name = escape_text(d.model, lang)

    def heading(text: str) -> str:
        return f"\\par\\medskip\\noindent\\textbf{{{text}}}"

    needs = "\\usepackage{amsmath}" + (" and \\usepackage{kotex}" if lang == "ko" else "")
    out = [
        f"% Worked example of the model {name}, written by symgrad {__version__}.",
        f"% Needs {needs}.",
    ]
    if shows(only, "model"):
        named = "" if standalone else f" \\texttt{{{name}}}."  # a document's title names it
        out += [
            heading(words["model"]) + named,
            "\\begin{itemize}\\raggedright",  # long lists of values: ragged, not overfull
            *[f"\\item {fact}" for fact in surface.facts(unbroken=True)],
            "\\end{itemize}",
            align(surface.definitions()),
        ]
    for key, title, equations in surface.sections():
        if shows(only, key):
            out += ["", heading(title), align(equations)]
        if key == "backward" and shows(only, "gradients"):
            out += ["", heading(words["gradients"]), _tabular(*surface.table())]
    body = "\n".join(out) + "\n"
    if not standalone:
        return body
    return _document(body, f"{words['title']}: \\texttt{{{name}}}", lang)


# A beamer frame's text is 11.8 cm wide: about 30 em of \small type, less a margin for what
# visual_width underestimates. Its height holds about fourteen plain rows of an align*, or
# seven rows of stacked fractions.
SLIDE_WIDTH = 24
SLIDE_ROWS = 14


def render_slides(
    example: WorkedExample, *, digits: int = 4, lang: str = "en", only: str | None = None
) -> str:
    """A beamer document: one frame per part of the worked example, a long part split over
    frames between its equations ("Backward pass (2/3)"), so that nothing overflows."""
    check_only(only, example)
    surface = LatexSurface(example, digits, lang, width=SLIDE_WIDTH)
    words = surface.words
    name = escape_text(example.derivation.model, lang)
    frames: list[str] = []

    def frame(title: str, body: str, size: str = "\\small") -> None:
        frames.append(f"\\begin{{frame}}{{{title}}}\n{size}\n{body}\n\\end{{frame}}")

    if shows(only, "model"):
        facts = [f"\\item {fact}" for fact in surface.facts(unbroken=True)]
        items = "\\begin{itemize}\\raggedright\n" + "\n".join(facts) + "\n\\end{itemize}"
        frame(f"{words['model']}: \\texttt{{{name}}}", items, "\\scriptsize")  # its values
        for part, equations in _frames_of(surface.definitions(), words["definitions"]):
            frame(part, align(equations, breaks=False))
    for key, title, equations in surface.sections():
        if shows(only, key):
            for part, chunk in _frames_of(equations, title):
                frame(part, align(chunk, breaks=False))
        if key == "backward" and shows(only, "gradients"):
            frame(words["gradients"], _tabular(*surface.table()))
    packages = ["\\usepackage{amsmath}"] + (["\\usepackage{kotex}"] if lang == "ko" else [])
    return "\n".join(
        [
            f"% Slides of the worked example of {name}, written by symgrad {__version__}.",
            "\\documentclass{beamer}",
            *packages,
            "\\setbeamertemplate{navigation symbols}{}",
            "\\begin{document}",
            "\n\n".join(frames),
            "\\end{document}",
            "",
        ]
    )


def _height(row: str) -> int:
    """An align row's height in plain rows: a fraction stacks two, a matrix has its rows."""
    matrix_rows = max((block.count(r" \\ ") + 1 for block in row.split(r"\begin{")[1:]), default=1)
    return max(2 if r"\frac" in row else 1, matrix_rows + (1 if matrix_rows > 1 else 0))


def _frames_of(equations: list[list[str]], title: str) -> list[tuple[str, list[list[str]]]]:
    """The equations of one part in frames of at most SLIDE_ROWS rows (a row of stacked
    fractions counts twice, a matrix by its rows); an equation is never split. Titles count
    the frames."""
    heights = [sum(_height(line) for line in lines) for lines in equations]
    frames = max(1, math.ceil(sum(heights) / SLIDE_ROWS))
    # filled evenly: the least fill that still needs no more frames (the greedy cut at the
    # average alone can leave one equation over for a frame of its own)
    for fill in range(math.ceil(sum(heights) / frames), SLIDE_ROWS + 1):
        chunks = _cut(equations, heights, fill)
        if len(chunks) <= frames:
            break
    if len(chunks) == 1:
        return [(title, chunks[0])]
    return [(f"{title} ({k}/{len(chunks)})", chunk) for k, chunk in enumerate(chunks, 1)]


def _cut(equations: list[list[str]], heights: list[int], fill: int) -> list[list[list[str]]]:
    """The equations in order, a new chunk wherever the next would take one past ``fill``."""
    chunks: list[list[list[str]]] = [[]]
    used = 0
    for lines, rows in zip(equations, heights, strict=True):
        if chunks[-1] and used + rows > fill:
            chunks.append([])
            used = 0
        chunks[-1].append(lines)
        used += rows
    return chunks


def _tabular(header: list[str], rows: list[list[str]]) -> str:
    columns = "c" + "r" * (len(header) - 1)
    lines = [
        "\\begin{center}",
        f"\\begin{{tabular}}{{{columns}}}",
        "\\hline",
        " & ".join(header) + r" \\",
        "\\hline",
        *[" & ".join(f"${cell}$" for cell in row) + r" \\" for row in rows],
        "\\hline",
        "\\end{tabular}",
        "\\end{center}",
    ]
    return "\n".join(lines)


def _document(body: str, title: str, lang: str) -> str:
    packages = ["\\usepackage[margin=2.5cm]{geometry}", "\\usepackage{amsmath}"]
    if lang == "ko":
        packages.append("\\usepackage{kotex}")  # Debian: texlive-lang-korean
    return "\n".join(
        [
            "\\documentclass[11pt]{article}",
            *packages,
            "\\begin{document}",
            f"\\section*{{{title}}}",
            body,
            "\\end{document}",
            "",
        ]
    )


def render_latex_math(example: WorkedExample, *, digits: int = 4, lang: str = "en") -> str:
    """The whole example as one display, ``$$\\begin{aligned}…\\end{aligned}$$``: what Jupyter
    and nbconvert show for ``Derivation._repr_latex_`` (MathJax typesets math, not documents)."""
    surface = LatexSurface(example, digits, lang)
    rows = [rf"&\textbf{{{surface.words['model']}}}"]
    rows += [line for lines in surface.definitions() for line in lines]
    for _, title, equations in surface.sections():
        rows.append(rf"&\textbf{{{title}}}")
        rows += [line for lines in equations for line in lines]
    return "$$\n\\begin{aligned}\n" + joined_rows(rows) + "\n\\end{aligned}\n$$"
