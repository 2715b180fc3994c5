"""Rendering: a Derivation written out as a worked example."""

from __future__ import annotations

from collections.abc import Mapping

from ..derivation import Derivation
from ..errors import SymgradError
from .printers import format_number, format_value
from .text import render_text
from .worked import WorkedExample, point_for, worked_example

FORMATS = ("text",)

__all__ = [
    "FORMATS",
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
) -> str:
    """The worked example of ``derivation`` in ``fmt``, with numbers at the example point
    (overridden by ``at``) unless ``symbolic``."""
    if fmt not in FORMATS:
        raise SymgradError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if not isinstance(digits, int) or digits < 1 or digits > 17:
        raise SymgradError(f"digits must be an integer from 1 to 17, got {digits!r}")
    example = worked_example(derivation, at, symbolic=symbolic)
    return render_text(example, digits=digits)
