"""Every row of the rule table checked against an independent derivative."""

import numpy as np
import pytest
import sympy

from symgrad.rules import RULES, RULES_BY_NAME, kinks_of, rule_for, spell

X, Y, Z = sympy.symbols("x y z", real=True)


def _args(rule):
    if rule.name in ("mse",):
        return (X, Y, Z, sympy.Symbol("t", real=True))
    if rule.name in ("Max", "Min", "sum_squares"):
        return (X, Y, Z)
    if rule.name == "Heaviside":
        return (X, sympy.S.Half)
    if rule.name in ("pow",):
        return (X, Y)
    if rule.name in ("bce", "squared_error"):
        return (X, Y)
    return (X,)


def _applied(rule, args):
    if rule.name == "sqrt":
        return sympy.sqrt(args[0])
    if rule.name == "pow":
        return args[0] ** args[1]
    return rule.function(*args)


def _point(rule, args):
    rng = np.random.default_rng(abs(hash(rule.name)) % 2**32)
    values = {a: float(rng.uniform(0.2, 0.8)) for a in args if isinstance(a, sympy.Symbol)}
    if rule.name in ("Max", "Min"):
        values = {X: 0.3, Y: 0.5, Z: -0.2}
    return values


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_textbook_derivative_equals_sympys_derivative_of_the_definition(rule):
    """The row's textbook partials equal SymPy's derivative of the elementary definition
    (for symgrad's own primitives) or of SymPy's function (for the others)."""
    args = _args(rule)
    applied = _applied(rule, args)
    reference = rule.definition(*args) if rule.definition is not None else applied
    partials = rule.derivative(applied, *args)
    assert len(partials) == len(args)
    point = _point(rule, args)
    for arg, partial in zip(args, partials, strict=True):
        if not isinstance(arg, sympy.Symbol):
            continue
        expected = sympy.diff(reference, arg)
        if rule.name in ("sign", "Heaviside"):
            # SymPy's derivative is a Dirac delta, which is 0 away from the jump.
            expected = expected.replace(sympy.DiracDelta, lambda *a: sympy.S.Zero)
        got = float(partial.subs(point).evalf())
        want = float(expected.subs(point).evalf())
        assert got == pytest.approx(want, rel=1e-12, abs=1e-14), (rule.name, arg)


@pytest.mark.parametrize(
    "rule", [r for r in RULES if r.definition is not None], ids=lambda r: r.name
)
def test_own_primitives_evaluate_to_their_definition(rule):
    args = _args(rule)
    point = _point(rule, args)
    applied = _applied(rule, args)
    assert float(applied.subs(point).evalf()) == pytest.approx(
        float(rule.definition(*args).subs(point).evalf()), rel=1e-14
    )


@pytest.mark.parametrize(
    "rule",
    [r for r in RULES if r.definition is None or r.function is not sympy.Pow],
    ids=lambda r: r.name,
)
def test_every_row_has_every_spelling(rule):
    args = [f"a{i}" for i in range(len(_args(rule)))]
    for target in ("latex", "text"):
        assert spell(getattr(rule, target), args)
    for target in ("numpy", "torch"):
        spelling = getattr(rule, target)
        if spelling is None:
            assert rule.definition is not None, f"{rule.name} has neither {target} nor definition"
        else:
            assert spell(spelling, args)


def test_non_smooth_rows_record_their_kink():
    assert set(kinks_of(sympy.Abs(X - 1))) == {X - 1}
    assert kinks_of(RULES_BY_NAME["relu"].function(2 * X)) == (2 * X,)
    assert set(kinks_of(sympy.Max(X, Y))) == {X - Y, Y - X}
    assert kinks_of(sympy.tanh(X)) == ()


def test_lookup():
    assert rule_for(sympy.tanh(X)).name == "tanh"
    assert rule_for(sympy.Function("f")(X)) is None


def test_mse_takes_sequences_and_checks_their_lengths():
    mse = RULES_BY_NAME["mse"].function
    assert mse([X, Y], [Z, 1]).args == (X, Y, Z, 1)
    with pytest.raises(ValueError, match="as many predictions"):
        mse([X, Y], [Z])
