"""Proof that the checker checks: every kind of wrong gradient in the catalogue
(``tests/support/mutations.py``) is caught, labelled a mismatch, pinned to the gradients it
reaches, and described by its pattern and first wrong node where the catalogue says one."""

from __future__ import annotations

import pytest

import symgrad

from .support.mutations import MUTATIONS, model_for

# minutes of sweeps: CI runs them (python -m pytest -m slow); the everyday run leaves them out
pytestmark = pytest.mark.slow


def test_the_catalogue_has_at_least_twenty_kinds():
    assert len({m.kind for m in MUTATIONS}) >= 20


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.kind)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_every_mutation_is_caught_and_labelled(mutation, dtype):
    d = symgrad.derive(model_for(mutation.example))
    report = symgrad.verify(d, against=mutation.build(d), points=3, dtype=dtype, seed=7)
    assert not report.ok, str(report)
    wrong = {f.variable for f in report.mismatches}
    assert wrong == mutation.wrong, str(report)
    assert all(f.kind == "mismatch" for f in report.mismatches)
    # a variable the mistake does not reach is not blamed
    for name in set(d.wrt) - mutation.wrong:
        assert report.rows[name].verdict == "ok", report
    if mutation.pattern is not None:
        patterns = {f.pattern or "" for f in report.mismatches}
        assert all(mutation.pattern in p for p in patterns), (patterns, str(report))
    if mutation.node is not None:
        # from a function's gradients alone, nodes that feed exactly the same gradients cannot
        # be told apart: the report names the first and lists the others
        for f in report.mismatches:
            assert mutation.node == f.node or mutation.node in f.alternatives, str(report)
        if mutation.build.__name__ == "<lambda>" and "derivation" in mutation.kind:
            assert {f.node for f in report.mismatches} == {mutation.node}  # traced: exact
