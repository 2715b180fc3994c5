"""Independent oracles for the function tests: points drawn inside a domain, and the loss,
gradient and Hessian-vector product of a loss written in torch operations, by autograd."""

from __future__ import annotations

import importlib
import types
import zlib
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pytest

import symgrad

torch = pytest.importorskip("torch")

Interval = tuple[float, float]
Domain = tuple[Interval, ...]  # a union of open intervals


def both_signs(low: float, high: float) -> Domain:
    """(−high, −low) ∪ (low, high): clear of a kink or pole at 0."""
    return ((-high, -low), (low, high))


def seeded(*key) -> np.random.Generator:
    """A generator that depends only on ``key`` (a test's own name), so every run and every
    order of running the tests draws the same points."""
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def draw(rng: np.random.Generator, domain: Domain, shape: tuple[int, ...]):
    """Entries drawn uniformly from a union of intervals; a Python float for shape ()."""
    size = int(np.prod(shape)) if shape else 1
    which = rng.integers(len(domain), size=size)
    low = np.array([domain[k][0] for k in which])
    high = np.array([domain[k][1] for k in which])
    values = rng.uniform(low, high).reshape(shape)
    return float(values) if shape == () else values


def second_order(model, wrt=None):
    """``symgrad.hessian(model)``. Issue #14 exports it as a top-level function; until then
    ``symgrad.hessian`` is a module, and its function of that name does the same work
    (``test_hessian_is_a_top_level_function`` holds the export to account)."""
    hessian = getattr(symgrad, "hessian", None)
    if hessian is None or isinstance(hessian, types.ModuleType):
        hessian = importlib.import_module("symgrad.hessian").hessian
    return hessian(model, wrt)


def autograd(
    loss: Callable[[dict], torch.Tensor],
    values: Mapping[str, float | np.ndarray],
    wrt: Sequence[str],
    directions: Mapping[str, float | np.ndarray] | None = None,
):
    """``loss`` (torch operations on a dict of float64 tensors) at ``values``: its value, its
    gradient with respect to ``wrt`` and, given directions, H·v by double backward. A
    variable the loss does not reach (or reaches only through a step) has gradient 0."""
    t = {
        name: torch.tensor(np.asarray(value, dtype=np.float64), requires_grad=name in wrt)
        for name, value in values.items()
    }
    variables = [t[name] for name in wrt]
    value = loss(t)
    if value.requires_grad:
        grads = torch.autograd.grad(
            value, variables, create_graph=directions is not None, allow_unused=True
        )
    else:
        grads = [None] * len(variables)
    grads = [torch.zeros_like(v) if g is None else g for g, v in zip(grads, variables, strict=True)]
    gradient = {name: g.detach().numpy(force=True) for name, g in zip(wrt, grads, strict=True)}
    if directions is None:
        return value.item(), gradient
    dot = sum(
        (g * torch.tensor(np.asarray(directions[name], dtype=np.float64))).sum()
        for name, g in zip(wrt, grads, strict=True)
    )
    hv = [None] * len(variables)
    if isinstance(dot, torch.Tensor) and dot.requires_grad:
        hv = torch.autograd.grad(dot, variables, allow_unused=True)
    product = {
        name: (np.zeros(np.shape(values[name])) if h is None else h.detach().numpy(force=True))
        for name, h in zip(wrt, hv, strict=True)
    }
    return value.item(), gradient, product


def as_array(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


def assert_close(got, want, what: str, *, rtol: float = 1e-10, atol: float = 1e-12) -> None:
    """``got`` (symgrad's, a number, array or tensor) equals ``want`` (the oracle's) in shape
    and, entry by entry, within ``rtol`` of the oracle's largest entry plus ``atol``."""
    got, want = as_array(got), np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, the oracle's is {want.shape}"
    assert np.all(np.isfinite(got)), f"{what}: symgrad gives {got}, not finite; oracle {want}"
    error = float(np.max(np.abs(got - want))) if got.size else 0.0
    scale = float(np.max(np.abs(want))) if want.size else 0.0
    assert error <= rtol * scale + atol, (
        f"{what}: symgrad gives {np.array2string(got, precision=12)}, the oracle "
        f"{np.array2string(want, precision=12)} (largest difference {error:.3e})"
    )
