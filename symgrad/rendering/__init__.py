"""Rendering: a Derivation written out as a worked example, on several surfaces.

``worked.py`` lays the example out as data (sections of equations with their numbers); each
surface prints that data: ``text.py`` for the terminal, ``latex.py`` for documents,
``markdown.py`` for blogs, MkDocs and Jupyter. The printers in ``printers.py`` hold what each
target writes differently.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..derivation import Derivation
from ..errors import SymgradError
from . import jupyter
from .latex import render_latex, render_slides
from .markdown import render_markdown
from .printers import LatexPrinter, TextPrinter, format_number, format_value
from .text import render_text
from .words import LANGUAGES, words_for
from .worked import WorkedExample, point_for, worked_example

jupyter.install()  # a Model and a Derivation show themselves in Jupyter

FORMATS = ("text", "latex", "markdown")

__all__ = [
    "FORMATS",
    "LANGUAGES",
    "LatexPrinter",
    "TextPrinter",
    "WorkedExample",
    "format_number",
    "format_value",
    "point_for",
    "render",
    "worked_example",
]


def render(
    derivation: Derivation,
    fmt: str = "text",
    *,
    at: Mapping[str, object] | None = None,
    digits: int = 4,
    symbolic: bool = False,
    lr: float | None = None,
    closed_form: bool = False,
    lang: str = "en",
    standalone: bool = False,
    hessian: bool = False,
    only: str | None = None,
    slides: bool = False,
    width: float | None = None,
) -> str:
    """The worked example of ``derivation`` as ``fmt`` ("text", "latex" or "markdown"), with
    numbers at the example point (overridden by ``at``) unless ``symbolic``.

    ``lr`` adds one gradient-descent update of every variable, ``closed_form`` each gradient
    fully substituted and simplified, ``hessian`` the second derivatives (of a tensor model,
    its Hessian-vector products),
    ``lang`` the language of the prose ("en" or "ko");
    ``standalone`` makes the LaTeX a complete document, ``slides`` a beamer document (a frame
    per part); ``width`` is how many ems a displayed row of LaTeX or Markdown may take before it
    breaks (38, a page's, unless given; 15 fits a phone's screen); ``only`` ("model",
    "forward", "loss", "backward", "gradients", "update", "closed" or "hessian") gives that
    part alone.

    >>> print(render(derive(model), "latex", lr=1.0))  # doctest: +SKIP
    """
    if fmt not in FORMATS:
        raise SymgradError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if not isinstance(digits, int) or digits < 1 or digits > 17:
        raise SymgradError(f"digits must be an integer from 1 to 17, got {digits!r}")
    words_for(lang)  # an unknown language fails before any work
    if standalone and fmt != "latex":
        raise SymgradError("standalone applies to LaTeX output only")
    if slides and fmt != "latex":
        raise SymgradError("slides are a LaTeX (beamer) document; they do not apply to " + fmt)
    if slides and standalone:
        raise SymgradError("slides are a document of their own; drop standalone")
    if width is not None and (fmt == "text" or slides):
        raise SymgradError("width applies to LaTeX and Markdown displays (slides have their own)")
    if width is not None and not (isinstance(width, (int, float)) and 10 <= width <= 200):
        raise SymgradError(f"width must be a number of ems from 10 to 200, got {width!r}")
    page = {} if width is None else {"width": float(width)}
    example = worked_example(
        derivation, at, symbolic=symbolic, lr=lr, closed_form=closed_form, hessian=hessian
    )
    if slides:
        return render_slides(example, digits=digits, lang=lang, only=only)
    if fmt == "latex":
        return render_latex(
            example, digits=digits, lang=lang, standalone=standalone, only=only, **page
        )
    if fmt == "markdown":
        return render_markdown(example, digits=digits, lang=lang, only=only, **page)
    return render_text(example, digits=digits, lang=lang, only=only)
