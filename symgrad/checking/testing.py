"""Gradient checks for a test suite: ``assert_gradients`` fails with a table a person can act on.

    from symgrad import assert_gradients

    def test_my_backward():
        assert_gradients("models/mlp.py", against=my_backward)

It works under any test runner (it raises ``AssertionError``); under pytest the ``symgrad``
plugin also offers it as the fixture ``verify_gradients``.
"""

from __future__ import annotations

import os

from ..derivation import Derivation
from ..model import Model
from .verify import Report, verify


def assert_gradients(
    model: Model | Derivation | str | os.PathLike, against=None, **options
) -> Report:
    """Verify ``model``'s gradient (symgrad's own code, or ``against``) and raise
    ``AssertionError`` when anything is a mismatch. ``model`` may be a path to a model file.
    ``options`` go to ``symgrad.verify`` (``points``, ``dtype``, ``device``, ``seed``, ``wrt``,
    ``at``). Returns the report when everything agrees."""
    if isinstance(model, (str, os.PathLike)):
        from ..loader import load_model

        model = load_model(os.fspath(model))
    report = verify(model, against=against, **options)
    if not report.ok:
        raise GradientMismatch(report)
    return report


class GradientMismatch(AssertionError):
    """A gradient check failed; ``report`` holds everything ``verify`` found."""

    def __init__(self, report: Report):
        self.report = report
        super().__init__(failure_text(report))


def failure_text(report: Report) -> str:
    """The summary, the mismatches (one line each), then the per-parameter table."""
    lines = [report.summary()]
    seen = set()
    for finding in report.mismatches:
        key = (finding.source, finding.variable)
        if key in seen:
            continue
        seen.add(key)
        others = len({f.point for f in report.mismatches if (f.source, f.variable) == key}) - 1
        lines.append(f"  {finding.describe(report.points, report.loss, others)}")
    return "\n".join([*lines, "", report.table()])
