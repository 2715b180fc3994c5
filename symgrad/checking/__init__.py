"""The checking wing: proving a gradient right, and saying how it is wrong when it is not.

verify          the entry point: ``verify(model)``, the points, the judges, the ``Report``
points          the points checked: the example, the caller's, random ones in each domain
witnesses       the claims under check, and autograd and finite differences that witness
finite_differences   derivative estimates that know how wrong they may be
point           what the judges share at one point
tolerance       how far rounding may move a right gradient there
kinks           where the model is not differentiable, and the sides of a kink
autograd_judge, fd_judge, claim_judge   the judges, each returning findings
diagnosis       how a wrong gradient is wrong: its pattern and first wrong node
report          the findings, as a table and as JSON
testing, pytest_plugin, strategies   the wing in a test suite
"""
