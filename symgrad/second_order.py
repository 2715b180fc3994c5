"""Second order: Hessian-vector products of any model, the Hessian of a scalar model.

Both come from deriving again, not from a second set of rules. The backward pass of a
derivation, with every adjoint written as a named node, is itself a model; give it as loss the
directional derivative ⟨v, ∇L⟩ for a direction v (one input ``v_<name>`` per variable, of its
shape), and its gradient is H v. For a scalar model, H v for each unit vector v gives the
Hessian column by column. Every rule used on the way is a row of the rule table; a primitive
with no proven second derivative (the spectral norm's u₁v₁ᵀ) is refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import sympy

from . import tensors as T
from .derivation import Derivation, derive
from .errors import SymgradError
from .hessian_matrix import HessianMatrix
from .model import Model

DIRECTIONAL = "Hv"  # the loss of the backward-pass model: ⟨v, ∇L⟩


def direction_name(name: str) -> str:
    return f"v_{name}"


def backward_model(derivation: Derivation) -> Model:
    """The forward and backward passes of ``derivation`` as one model whose loss is ⟨v, ∇L⟩."""
    d = derivation
    out = Model(f"{d.model} (second order)")
    for variable in d.variables:
        declare = out.input if variable.role == "input" else out.param
        declare(variable.name, variable.shape or None)
    for name in d.wrt:
        direction = direction_name(name)
        if any(v.name == direction for v in d.variables):
            raise SymgradError(f"model {d.model!r} already has a variable {direction!r}")
        out.input(direction, d.variable(name).shape or None)
    rename: dict = {}  # each adjoint symbol → the node that holds it now
    for node in d.nodes:
        rename[node.symbol] = T.unwrap(out.node(node.name, node.expr))
    for adjoint in d.adjoints:
        if adjoint.is_loss:
            continue
        expr = adjoint.expr.xreplace(rename)
        if not T.shape_of(adjoint.symbol) and T.shape_of(expr):  # a 1×1 share of a scalar
            expr = T.Total(expr)
        rename[adjoint.symbol] = T.unwrap(out.node(adjoint.symbol.name, expr))
    terms = []
    for name in d.wrt:
        direction = T.unwrap(out.symbol(direction_name(name)))
        gradient = rename[d.adjoint(name).symbol]
        if T.shape_of(gradient):
            terms.append(T.Total(T.elementwise(lambda a, b: a * b, direction, gradient)))
        else:
            terms.append(direction * gradient)
    out.loss(DIRECTIONAL, sympy.Add(*terms), reduction=d.reduction)
    if d.example:
        out.example(**dict(d.example))
    return out


@dataclass(frozen=True)
class SecondOrder:
    """The first derivation and the derivation of its backward pass: ``hvp(name)`` is
    (H v) for variable ``name``; ``entry(i, j)`` is ∂²L/∂wrtᵢ∂wrtⱼ for a scalar model."""

    first: Derivation
    second: Derivation

    @property
    def wrt(self) -> tuple[str, ...]:
        return self.first.wrt

    def hvp(self, name: str) -> sympy.Expr:
        """(H v) for ``name`` in terms of the named nodes of the backward-pass model."""
        return self.second.gradient(name)

    def entry(self, row: str, col: str, *, simplify: bool = True) -> sympy.Expr:
        """∂²L/∂row∂col of a scalar model, in terms of the forward nodes (σ₁, σ₃, …)."""
        if self.first.is_tensor:
            raise SymgradError("entries of the Hessian are for scalar models; use hvp for tensors")
        if row not in self.wrt or col not in self.wrt:
            raise SymgradError(f"the Hessian is taken with respect to {', '.join(self.wrt)}")
        unit = {
            self.second.symbol(direction_name(name)): sympy.S.One if name == row else sympy.S.Zero
            for name in self.wrt
        }
        expr = self.second._in_nodes(col).xreplace(unit)
        backward = {adjoint.symbol.name for adjoint in self.first.adjoints}
        for node in reversed(self.second.nodes):  # a later adjoint uses earlier ones only
            if node.name in backward:
                expr = expr.xreplace({node.symbol: node.expr.xreplace(unit)})
        return _positive(sympy.factor(expr)) if simplify else expr

    def compile(self, backend: str = "numpy") -> CompiledSecondOrder:
        from .codegen import compile

        return CompiledSecondOrder(self, compile(self.second, backend))


def _positive(expr: sympy.Expr) -> sympy.Expr:
    """−a(b − 1) written a(1 − b), as a textbook does."""
    coefficient, rest = expr.as_coeff_Mul()
    if coefficient >= 0:
        return expr
    for factor in sympy.Mul.make_args(rest):
        if factor.is_Add:
            return (-coefficient) * (rest / factor) * (-factor)
    return expr


@dataclass(frozen=True, eq=False)
class CompiledSecondOrder:
    order: SecondOrder
    compiled: Any  # CompiledGradient of the backward-pass model

    def hvp(self, directions: dict[str, Any], **values) -> dict[str, Any]:
        """H v at ``values`` for the direction ``directions`` (one entry per variable)."""
        wrt = self.order.wrt
        missing = [name for name in wrt if name not in directions]
        if missing:
            raise SymgradError(f"no direction for {', '.join(map(repr, missing))}")
        given = {direction_name(name): directions[name] for name in wrt}
        _, products = self.compiled(**values, **given)
        return products

    def hessian(self, **values):
        """The Hessian matrix in ``wrt`` order: of a scalar model one column per H·eⱼ; of a
        tensor model over the flattened entries of every variable (``jax.hessian``'s layout),
        in closed form (``HessianMatrix``). A Torch backend returns a tensor."""
        if self.order.first.is_tensor:
            matrix = self.matrix(**values)
            if self.compiled.backend != "torch":
                return matrix
            import torch

            return torch.as_tensor(matrix)
        wrt = self.order.wrt
        columns = []
        for name in wrt:
            unit = {other: 1.0 if other == name else 0.0 for other in wrt}
            products = self.hvp(unit, **values)
            columns.append([float(np.asarray(_cpu(products[row]))) for row in wrt])
        return np.array(columns).T

    def matrix(self, **values) -> np.ndarray:
        """A tensor model's Hessian in closed form, computed with NumPy."""
        values = {name: _cpu(value) for name, value in values.items()}
        return self._closed_form(**values)

    @cached_property
    def _closed_form(self) -> HessianMatrix:
        from .codegen import compile

        numpy = self.compiled if self.compiled.backend == "numpy" else None
        return HessianMatrix(self.order, numpy or compile(self.order.second, "numpy"))


def _cpu(value):
    return value.detach().cpu().numpy() if hasattr(value, "detach") else value


def hessian(model: Model | Derivation, wrt: Iterable[str] | str | None = None) -> SecondOrder:
    """Second order for ``model`` (or a first derivation of it)."""
    first = model if isinstance(model, Derivation) else derive(model, wrt=wrt)
    second = derive(backward_model(first), wrt=first.wrt)
    return SecondOrder(first, second)
