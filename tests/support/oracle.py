"""An oracle for every number of a worked example, independent of symgrad's chain rule and code:
PyTorch autograd on the model's own definitions.

Each node's definition (symgrad's primitives written out by their definitions, so nothing of the
rule table's derivatives is used) is evaluated in float64 torch; ``backward`` on the loss gives
every adjoint, ``torch.autograd.grad`` of each node by each parent gives every local gradient.
Values are keyed by their code names (``z1``, ``dsigma3_dz3``, ``dL_dz3``), as in ``Trace``.
"""

from __future__ import annotations

import sympy

from symgrad.derivation import Derivation
from symgrad.rules import Primitive


def torch_values(derivation: Derivation, point: dict, lr: float | None = None) -> dict:
    import torch

    def tensor(value):
        return torch.tensor(value, dtype=torch.float64, requires_grad=True)

    values = {name: tensor(value) for name, value in point.items()}
    for node in derivation.nodes:
        expr = node.expr.replace(
            lambda e: isinstance(e, Primitive) and e.rule.definition is not None,
            lambda e: e.rule.definition(*e.args),
        )
        symbols = sorted(expr.free_symbols, key=lambda s: s.name)
        function = sympy.lambdify(symbols, expr, modules="torch")
        result = function(*[values[s.name] for s in symbols])
        if not isinstance(result, torch.Tensor):
            result = torch.as_tensor(float(result), dtype=torch.float64)
        if result.requires_grad:
            result.retain_grad()
        values[node.name] = result
    loss = values[derivation.loss.name]
    out = {name: value.detach().numpy().copy() for name, value in values.items()}
    loss.sum().backward(retain_graph=True)  # one sample's loss per entry: per-sample adjoints
    for adjoint in derivation.adjoints:
        if adjoint.is_loss:
            continue
        grad = values[adjoint.name].grad
        out[adjoint.symbol.name] = 0.0 if grad is None else grad.numpy().copy()
    for local in derivation.locals:
        node, parent = values[local.node], values[local.parent]
        (grad,) = torch.autograd.grad(  # after backward: it would add to .grad
            node.sum(), parent, retain_graph=True, allow_unused=True, materialize_grads=True
        )
        name = (local.symbol or _loss_local(local)).name
        out[name] = grad.detach().numpy().copy()
    size = loss.numel()
    scale = 1.0 / size if derivation.reduction == "mean" else 1.0
    out["__loss"] = float(loss.detach().sum()) * scale
    gradients = {}
    for name in derivation.wrt:
        grad = values[name].grad
        gradients[name] = 0.0 if grad is None else float(grad.sum()) * scale
        out[f"__gradient_{name}"] = gradients[name]
        if lr is not None:
            out[f"__updated_{name}"] = point[name] - lr * gradients[name]
    return out


def _loss_local(local):
    from symgrad.derivation import Partial

    return Partial(local.node, local.parent)
