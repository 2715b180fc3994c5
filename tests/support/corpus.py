"""The corpus of tensor models written the way tutorials write them (``tests/corpus/*.py``), and
their oracle.

Each corpus file declares its model with symgrad and, in ``reference()``, the same model again
in plain PyTorch, node by node: ``{node name: function of its parents}``, the parents named as
the model names them. The oracle runs those functions with torch autograd; nothing of symgrad's
rules, derivation or generated code is used. It gives every node's value, every adjoint
(``loss.backward``), the gradient of each variable, what flows back along each edge (the
vector-Jacobian product of one node's function with respect to one parent, at the node's
adjoint) and Hessian-vector products (double backward).
"""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path

import numpy as np

from symgrad.derivation import Derivation

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


def corpus_paths() -> list[Path]:
    return sorted(CORPUS.glob("*.py"))


def load_module(path: Path):
    spec = importlib.util.spec_from_file_location(f"corpus_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reference_of(path: Path) -> dict | None:
    """The file's ``reference()`` functions, or None for a model symgrad refuses."""
    module = load_module(path)
    return module.reference() if hasattr(module, "reference") else None


class Oracle:
    """Torch autograd on a corpus file's reference at one point (float64)."""

    def __init__(self, derivation: Derivation, functions: dict, point: dict):
        import torch

        self.torch = torch
        self.d = derivation
        self.functions = functions
        self.point = point
        self._check_parents()
        self.leaves = {
            name: torch.tensor(np.asarray(value, dtype=np.float64), requires_grad=True)
            for name, value in point.items()
        }
        self.tensors = self._forward(self.leaves)
        for node in derivation.nodes:
            if self.tensors[node.name].requires_grad:
                self.tensors[node.name].retain_grad()
        self.tensors[derivation.loss.name].backward(retain_graph=True)

    def _check_parents(self) -> None:
        """The reference reads exactly what the model's node reads: otherwise the two would not
        have the same edges, and the comparison would prove nothing."""
        assert list(self.functions) == [n.name for n in self.d.nodes], (
            list(self.functions),
            [n.name for n in self.d.nodes],
        )
        for node in self.d.nodes:
            declared = set(inspect.signature(self.functions[node.name]).parameters)
            reads = {s.name for s in node.expr.free_symbols}
            assert declared == reads, (node.name, declared, reads)

    def _forward(self, leaves: dict) -> dict:
        tensors = dict(leaves)
        for node in self.d.nodes:
            function = self.functions[node.name]
            names = inspect.signature(function).parameters
            tensors[node.name] = function(*[tensors[name] for name in names])
        return tensors

    def value(self, name: str) -> np.ndarray:
        return self.tensors[name].detach().numpy()

    @property
    def loss(self) -> float:
        return float(self.tensors[self.d.loss.name].detach())

    def adjoint(self, name: str) -> np.ndarray:
        """∂L/∂name for a node or a variable (zeros where the loss does not depend on it)."""
        tensor = self.tensors[name]
        if name == self.d.loss.name:
            return np.ones(())
        grad = tensor.grad
        return np.zeros(tuple(tensor.shape)) if grad is None else grad.numpy()

    def gradient(self, name: str) -> np.ndarray:
        return self.adjoint(name)

    def share(self, node: str, parent: str) -> np.ndarray:
        """What flows back from ``node`` into ``parent``: (∂node/∂parent)ᵀ ∂L/∂node, with every
        other argument of the node's function held fixed."""
        torch = self.torch
        function = self.functions[node]
        names = list(inspect.signature(function).parameters)
        copies = [self.tensors[n].detach().clone().requires_grad_(True) for n in names]
        out = function(*copies)
        upstream = torch.as_tensor(self.adjoint(node), dtype=out.dtype).reshape(out.shape)
        (grad,) = torch.autograd.grad(
            out, copies[names.index(parent)], grad_outputs=upstream, allow_unused=True
        )
        return np.zeros(tuple(copies[names.index(parent)].shape)) if grad is None else grad.numpy()

    def hvp(self, directions: dict) -> tuple[float, dict]:
        """(⟨v, ∇L⟩, H v) by double backward, for a direction given per variable in wrt."""
        torch = self.torch
        leaves = {
            name: torch.tensor(np.asarray(value, dtype=np.float64), requires_grad=True)
            for name, value in self.point.items()
        }
        loss = self._forward(leaves)[self.d.loss.name]
        wrt = [leaves[name] for name in self.d.wrt]
        grads = torch.autograd.grad(loss, wrt, create_graph=True)
        v = [torch.as_tensor(np.asarray(directions[name], dtype=np.float64)) for name in self.d.wrt]
        directional = sum((g * d).sum() for g, d in zip(grads, v, strict=True))
        products = torch.autograd.grad(directional, wrt, allow_unused=True)
        out = {}
        for name, product, leaf in zip(self.d.wrt, products, wrt, strict=True):
            out[name] = np.zeros(tuple(leaf.shape)) if product is None else product.numpy()
        return float(directional.detach()), out


def same(actual, expected, *, rtol: float = 1e-9, atol: float = 1e-11) -> bool:
    """Equal as arrays of the same number of entries (a declared (n,) vector is a 1×n row
    inside symgrad)."""
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, np.float64)
    if actual.size != expected.size:
        return False
    return np.allclose(actual.reshape(expected.shape), expected, rtol=rtol, atol=atol)
