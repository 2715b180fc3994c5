"""Every record of the rule table, walked: it has examples and every spelling, its derivative is
SymPy's derivative of its definition, its NumPy, Torch and float code compute what SymPy does,
and the gradients and Hessian-vector products symgrad derives through it equal torch autograd
of the record's own Torch spelling (so torch, not the record, differentiates). A record that
lacks an example or a spelling fails here, which is what keeps the table honest."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

import symgrad
from symgrad import Model
from symgrad import tensors as T
from symgrad.rules import MATRIX_RULES, SCALAR_RULES, Primitive, records
from symgrad.rules.record import CODE_TARGETS, MATH_TARGETS

torch = pytest.importorskip("torch")
pytest.importorskip("scipy")

SCALARS = [r for r in SCALAR_RULES if not r.is_composite]
NOT_DIFFERENTIATED = ("one_hot", "singular_outer", "constant")  # labels; refused; no variable
DIFFERENTIABLE_MATRIX = [
    r for r in MATRIX_RULES if r.kind != "matrix constant" and r.name not in NOT_DIFFERENTIATED
]


def ids(rule):
    return rule.name


# --- the record is complete ------------------------------------------------------------------


@pytest.mark.parametrize("rule", records(), ids=ids)
def test_every_record_has_examples_and_every_spelling(rule):
    assert rule.examples, f"{rule.name} has no example arguments"
    assert rule.summary and rule.arguments
    for target in MATH_TARGETS:
        assert getattr(rule, target) is not None, f"{rule.name} has no {target} spelling"
    for target in CODE_TARGETS:
        spelled = rule.spelling(target)
        assert spelled is not None or rule.definition is not None, (
            f"{rule.name} has neither a {target} spelling nor a definition to print"
        )
    if rule.is_matrix:
        assert rule.textbook and rule.unroll is not None
    elif not rule.is_composite:
        assert rule.derivative is not None or rule.through is not None
        for example in rule.examples:
            assert len(example) == len(rule.arguments)


@pytest.mark.parametrize("rule", records(), ids=ids)
def test_every_record_is_listed_by_symgrad_rules(rule):
    from symgrad.rendering.rules import render_rules

    text = render_rules("text")
    assert f"\n{rule.name}  " in "\n" + text


# --- the calculus of a scalar record -----------------------------------------------------------


def _symbols(rule):
    return tuple(sympy.Symbol(name, real=True) for name in rule.arguments)


def _reference(rule, args):
    """What the record means, independently of its derivative: its definition, or SymPy's own
    function."""
    if rule.definition is not None:
        return sympy.sympify(rule.definition(*args))
    return rule.applied(*args)


def _independent(rule) -> bool:
    """SymPy can differentiate the reference without the record (not symgrad's own class)."""
    return rule.definition is not None or not issubclass(rule.operation, Primitive)


def _zero_steps(expr):
    """A step's derivative is 0 away from its jump (SymPy: DiracDelta, or unevaluated)."""
    steps = (sympy.floor, sympy.ceiling, sympy.sign)
    expr = expr.replace(lambda e: isinstance(e, sympy.DiracDelta), lambda e: sympy.S.Zero)
    expr = expr.replace(
        lambda e: isinstance(e, sympy.Subs) and isinstance(e.expr, sympy.Derivative),
        lambda e: sympy.S.Zero if isinstance(e.expr.expr, steps) else e,
    )
    return expr.replace(
        lambda e: isinstance(e, sympy.Derivative) and isinstance(e.expr, steps),
        lambda e: sympy.S.Zero,
    )


@pytest.mark.parametrize(
    "rule", [r for r in SCALARS if r.derivative is not None and _independent(r)], ids=ids
)
def test_textbook_derivative_equals_sympys_derivative_of_the_definition(rule):
    args = _symbols(rule)
    applied = rule.applied(*args)
    partials = rule.partials(applied)[: len(args)]  # sqrt's exponent ½ is no argument
    reference = _reference(rule, args)
    for example in rule.examples:
        point = dict(zip(args, example, strict=True))
        for arg, partial in zip(args, partials, strict=True):
            expected = _zero_steps(sympy.diff(reference, arg))
            got = complex(_zero_steps(partial).subs(point).evalf(30))
            want = complex(expected.subs(point).evalf(30))
            assert got == pytest.approx(want, rel=1e-12, abs=1e-14), (rule.name, arg, example)


# --- one model per record and example: values, gradients, second order --------------------------


def _scalar_model(rule, example):
    m = Model(f"walk_{rule.name}")
    params = m.params(" ".join(f"a{i}" for i in range(len(example))))
    params = params if isinstance(params, tuple) else (params,)
    c = m.inputs("c")
    m.loss("L", c * rule.applied(*params))
    m.example(c=1.3, **{f"a{i}": float(v) for i, v in enumerate(example)})
    return m


def _torch_function(names, applied):
    """The operation as symgrad's Torch printer spells it from the record, as a torch function of
    tensors: torch computes it and torch autograd differentiates it."""
    from symgrad.codegen.printers import TorchPrinter

    printer = TorchPrinter()
    body = printer.doprint(applied)
    namespace = {"torch": torch, "dtype": torch.float64, "device": None}
    for source in printer.helpers.values():
        exec(source, namespace)
    return eval(f"lambda {', '.join(names)}: {body}", namespace)


def _as_tensors(values):
    return [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values]


@pytest.mark.parametrize(
    ("rule", "example"),
    [(r, e) for r in SCALAR_RULES for e in r.examples],
    ids=lambda v: v.name if hasattr(v, "name") else "-".join(map(str, v)),
)
def test_code_values_gradients_and_hessians_equal_sympy_and_torch_autograd(rule, example):
    m = _scalar_model(rule, example)
    d = symgrad.derive(m)
    point = dict(d.example)
    names = [f"a{i}" for i in range(len(example))]
    symbols = [sympy.Symbol(n, real=True) for n in names]
    applied = rule.applied(*symbols)
    reference = complex(
        (1.3 * _reference(rule, symbols)).subs(dict(zip(symbols, example, strict=True))).evalf(30)
    )
    function = _torch_function(names, applied)
    inputs = _as_tensors(example)
    loss = 1.3 * function(*inputs)
    if loss.requires_grad:
        grads = torch.autograd.grad(loss, inputs, create_graph=True, allow_unused=True)
        grads = [torch.zeros(()) if g is None else g for g in grads]
    else:  # torch's step functions (heaviside) have no gradient at all: it is 0
        grads = [torch.zeros(()) for _ in inputs]
    direction = [0.7, -0.4, 0.25, 0.9][: len(inputs)]
    directional = sum(g * v for g, v in zip(grads, direction, strict=True))
    if directional.requires_grad:
        hvp = torch.autograd.grad(directional, inputs, allow_unused=True)
    else:  # a step function: its gradient is a constant 0
        hvp = [None] * len(inputs)
    want_grad = {n: g.item() for n, g in zip(names, grads, strict=True)}
    want_hvp = {n: (h.item() if h is not None else 0.0) for n, h in zip(names, hvp, strict=True)}
    assert loss.item() == pytest.approx(reference.real, rel=1e-12, abs=1e-14), "torch spelling"
    for backend in ("numpy", "torch"):
        value, gradient = symgrad.compile(d, backend)(**point)
        assert float(value) == pytest.approx(reference.real, rel=1e-12, abs=1e-14), backend
        for name in names:
            assert float(gradient[name]) == pytest.approx(want_grad[name], rel=1e-10, abs=1e-13), (
                backend,
                name,
            )
    products = (
        symgrad.hessian(m).compile("numpy").hvp(dict(zip(names, direction, strict=True)), **point)
    )
    for name in names:
        assert float(products[name]) == pytest.approx(want_hvp[name], rel=1e-9, abs=1e-12), name


# --- matrix records ----------------------------------------------------------------------------


def _matrix_model(rule, example, rng):
    m = Model(f"walk_{rule.name}")
    args, point, names = [], {}, []
    for i, value in enumerate(example):
        if isinstance(value, np.ndarray):
            name = f"A{i}"
            args.append(T.unwrap(m.param(name, value.shape)))
            point[name], names = value, [*names, name]
        else:
            args.append(value)  # an axis, a size, an exponent: a constant of the operation
    op = rule.applied(*args)
    node = m.node("out", op)
    shape = T.shape_of(op)
    weight = m.input("C", shape or None)
    point["C"] = rng.normal(size=shape) if shape else 0.8
    m.loss("L", T.sum(weight * node) if shape else weight * node)
    m.example(**point)
    return m, op, names


@pytest.mark.parametrize(
    ("rule", "example"),
    [(r, e) for r in DIFFERENTIABLE_MATRIX for e in r.examples],
    ids=lambda v: v.name if hasattr(v, "name") else str(len(v)),
)
def test_matrix_pullbacks_equal_torch_autograd(rule, example):
    rng = np.random.default_rng(3)
    m, op, names = _matrix_model(rule, example, rng)
    d = symgrad.derive(m)
    point = dict(d.example)
    function = _torch_function(names, op)
    inputs = _as_tensors([point[n] for n in names])
    weight = torch.tensor(point["C"], dtype=torch.float64)
    loss = (weight * function(*inputs)).sum()
    # pooling's positions carry no gradient: torch leaves them out, which is 0
    expected = _zeros_for_none(
        inputs, torch.autograd.grad(loss, inputs, allow_unused=True, create_graph=True)
    )
    for backend in ("numpy", "torch"):
        value, gradient = symgrad.compile(d, backend)(**point)
        assert float(value) == pytest.approx(loss.item(), rel=1e-10), backend
        for name, want in zip(names, expected, strict=True):
            got = gradient[name]
            got = got.numpy() if hasattr(got, "numpy") else np.asarray(got)
            np.testing.assert_allclose(
                got, want.detach().numpy(), rtol=1e-9, atol=1e-12, err_msg=name
            )
    # second order: H·v against torch's double backward
    if rule.name == "spectral_norm":  # its gradient u₁v₁ᵀ has no proven derivative: refused
        with pytest.raises(symgrad.SymgradError, match="no proven rule"):
            symgrad.hessian(m)
        return
    directions = [torch.tensor(rng.normal(size=x.shape)) for x in inputs]
    directional = sum((g * v).sum() for g, v in zip(expected, directions, strict=True))
    want_hvp = (
        _zeros_for_none(inputs, torch.autograd.grad(directional, inputs, allow_unused=True))
        if directional.requires_grad
        else [torch.zeros_like(x) for x in inputs]
    )
    given = {n: v.numpy() for n, v in zip(names, directions, strict=True)}
    products = symgrad.hessian(m).compile("numpy").hvp(given, **point)
    for name, want in zip(names, want_hvp, strict=True):
        np.testing.assert_allclose(
            np.asarray(products[name]), want.numpy(), rtol=1e-8, atol=1e-11, err_msg=f"H·v {name}"
        )


def _zeros_for_none(inputs, grads):
    return [torch.zeros_like(x) if g is None else g for x, g in zip(inputs, grads, strict=True)]


def test_a_record_that_cannot_be_differentiated_says_so_by_name():
    m = Model("outer")
    A = m.param("A", (3, 4))
    m.loss("L", T.sum(T.Tensor(T.SingularOuter(T.unwrap(A)))))
    with pytest.raises(symgrad.SymgradError, match="no proven rule to differentiate u₁v₁ᵀ"):
        symgrad.derive(m)


def test_one_hot_takes_labels_and_passes_no_gradient_to_them():
    m = Model("labels")
    labels = m.input("y", (4, 1))
    W = m.param("W", (4, 3))
    m.loss("L", T.sum(T.one_hot(labels, 3) * W))
    m.example(y=np.array([[0.0], [2.0], [1.0], [2.0]]), W=np.arange(12.0).reshape(4, 3))
    d = symgrad.derive(m)
    loss, grads = symgrad.compile(d)(**d.example)
    np.testing.assert_array_equal(grads["W"], np.eye(3)[[0, 2, 1, 2]])
    assert loss == pytest.approx(0 + 5 + 7 + 11)
