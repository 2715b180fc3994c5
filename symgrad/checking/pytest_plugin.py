"""The pytest plugin (registered by the ``pytest11`` entry point): the fixture
``verify_gradients``, ``symgrad.assert_gradients`` that fails a test with the report's
table instead of a traceback.

    def test_backward(verify_gradients):
        verify_gradients("model.py", against=my_backward, dtype="float32")

The plugin imports symgrad only when a test asks for the fixture, so it costs nothing in test
suites that do not use it.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")  # no state per test: usable under Hypothesis's @given
def verify_gradients():
    """``verify_gradients(model, against=None, **options) -> Report``: see
    ``symgrad.assert_gradients``."""
    from symgrad.checking.testing import GradientMismatch, assert_gradients

    def check(model, against=None, **options):
        __tracebackhide__ = True
        try:
            return assert_gradients(model, against=against, **options)
        except GradientMismatch as failure:
            message = str(failure)
        pytest.fail(message, pytrace=False)  # outside the except: no chained traceback

    return check
