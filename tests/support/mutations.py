"""A catalogue of wrong gradients, for proving that ``symgrad.verify`` catches them.

Each mutation is a kind of mistake people make in a backward pass, applied to one example. It
builds the wrong gradient as someone else's function (``against=``): a correct gradient
changed afterwards, a hand-written backward with one slip, or symgrad's own derivation with one
local gradient or chain term changed and compiled (which also has a trace, so the verifier can
compare every adjoint). ``wrong`` is the set of gradients the mistake reaches; ``pattern`` and
``node`` what the verifier should say about it (None: no claim made).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import sympy

import symgrad
from symgrad import Model, sigmoid
from symgrad.derivation import ChainTerm, Derivation

from ..conftest import load_example


@dataclass(frozen=True)
class Mutation:
    kind: str
    example: str  # a file in examples/, or a model built here
    build: Callable[[Derivation], Callable]
    wrong: frozenset[str]
    pattern: str | None = None
    node: str | None = None


def _correct(d: Derivation):
    return symgrad.compile(d, "numpy")


def changed(d: Derivation, change: Callable[[dict], dict]):
    """The correct gradient, then ``change`` applied to its dict of arrays."""
    grad = _correct(d)

    def gradient(**values):
        _, g = grad(**values)
        return change({k: np.array(v, dtype=np.float64) for k, v in g.items()})

    return gradient


def with_local(d: Derivation, node: str, parent: str, new: Callable[[sympy.Expr], sympy.Expr]):
    """symgrad's own derivation with one local gradient ∂node/∂parent replaced, compiled."""
    old = d.local(node, parent)
    replacement = dataclasses.replace(old, expr=new(old.expr))
    locals_ = tuple(replacement if loc is old else loc for loc in d.locals)
    adjoints = tuple(
        dataclasses.replace(
            a,
            terms=tuple(
                ChainTerm(t.consumer, t.upstream, replacement) if t.local is old else t
                for t in a.terms
            ),
        )
        for a in d.adjoints
    )
    return symgrad.compile(dataclasses.replace(d, locals=locals_, adjoints=adjoints), "numpy")


def without_term(d: Derivation, name: str, consumer: str):
    """symgrad's own derivation with the chain term through ``consumer`` left out of ∂L/∂name."""
    adjoints = tuple(
        dataclasses.replace(a, terms=tuple(t for t in a.terms if t.consumer != consumer))
        if a.name == name
        else a
        for a in d.adjoints
    )
    return symgrad.compile(dataclasses.replace(d, adjoints=adjoints), "numpy")


def at_stale_point(d: Derivation, step: float = 1e-2):
    """The gradient at parameters one small step away (a gradient cached from before an update)."""
    grad = _correct(d)

    def gradient(**values):
        moved = {k: (np.asarray(v) * (1 + step) if k in d.wrt else v) for k, v in values.items()}
        return grad(**moved)[1]

    return gradient


def in_half_precision(d: Derivation):
    """The right gradient rounded to float16: a backward that ran in too low a precision."""

    def rounded(g):
        with np.errstate(over="ignore"):  # float16 overflows past 65504, as it would
            return {k: v.astype(np.float16).astype(np.float64) for k, v in g.items()}

    return changed(d, rounded)


# --- hand-written backward passes, each with one slip --------------------------------------------


def _sig(z):
    return 1.0 / (1.0 + np.exp(-z))


def seed003_backprop(slip: str):
    """The two-layer sigmoid network's backward pass as the lecture works it, with ``slip``."""

    def gradient(x1, x2, y, W1, W2, W3, W4, W5, W6, b1, b2, b3):
        z1 = W1 * x1 + W2 * x2 + b1
        z2 = W3 * x1 + W4 * x2 + b2
        s1, s2 = _sig(z1), _sig(z2)
        z3 = W5 * s1 + W6 * s2 + b3
        s3 = _sig(z3)
        if slip == "bce sign":
            dL_ds3 = -y / s3 - (1 - y) / (1 - s3)
        else:
            dL_ds3 = -y / s3 + (1 - y) / (1 - s3)
        if slip == "sigma for its derivative":
            dL_dz3 = dL_ds3 * s3
        elif slip == "tanh derivative":
            dL_dz3 = dL_ds3 * (1 - s3**2)
        else:
            dL_dz3 = dL_ds3 * s3 * (1 - s3)
        dL_ds1 = dL_dz3 * (W6 if slip == "wrong weight" else W5)
        dL_ds2 = dL_dz3 * W6
        dL_dz1 = dL_ds1 * s1 * (1 - s1)
        dL_dz2 = dL_ds2 * s2 * (1 - s2)
        dz1_dW1 = x2 if slip == "wrong input" else x1
        return {
            "W1": dL_dz1 * dz1_dW1, "W2": dL_dz1 * x2, "b1": dL_dz1,
            "W3": dL_dz2 * x1, "W4": dL_dz2 * x2, "b2": dL_dz2,
            "W5": dL_dz3 * s1, "W6": dL_dz3 * s2, "b3": dL_dz3,
        }  # fmt: skip

    return lambda d: gradient


def seed004_backward(slip: str):
    """Lecture note 004's manual backward of the ReLU MLP, with ``slip``."""

    def gradient(x, y, w1, w2):
        h = x @ w1
        h_relu = np.maximum(h, 0)
        y_pred = h_relu @ w2
        grad_y_pred = (1.0 if slip == "no factor 2" else 2.0) * (y_pred - y)
        grad_w2 = grad_y_pred.T @ h_relu if slip == "product order" else h_relu.T @ grad_y_pred
        grad_h = grad_y_pred @ w2.T
        if slip != "mask dropped":
            grad_h[h < 0] = 0
        grad_w1 = x.T @ grad_h
        return {"w1": grad_w1, "w2": grad_w2}

    return lambda d: gradient


def seed000_bias_axis(d: Derivation):
    """nn.Linear's bias gradient summed over the features instead of the batch."""
    grad = _correct(d)

    def gradient(**values):
        trace = grad.trace(**values).values
        dpred = np.asarray(trace["dloss_dpred"]) / np.size(values["x"][:, 0])
        return {"W": grad(**values)[1]["W"], "b": dpred.sum(axis=1)}

    return gradient


def tied_weight_model() -> Model:
    """A weight used twice, L = (w·σ(w·x) − y)²: its gradient is a sum of two chain terms."""
    m = Model("tied_weight")
    x, y = m.inputs("x y")
    w = m.params("w")
    a = m.node("a", sigmoid(w * x))
    p = m.node("p", w * a)
    m.loss("L", (p - y) ** 2)
    m.example(x=0.7, y=0.2, w=1.3)
    return m


def entry(name: str, index, by: float):
    def change(g):
        g[name][index] += by * (abs(g[name][index]) + np.mean(np.abs(g[name])))
        return g

    return change


def scaled(name: str, k: float):
    def change(g):
        g[name] = k * g[name]
        return g

    return change


def swapped(a: str, b: str):
    def change(g):
        g[a], g[b] = g[b], g[a]
        return g

    return change


def offset(name: str):
    def change(g):
        g[name] = g[name] + 1e-3 * (np.mean(np.abs(g[name])) + 1.0)
        return g

    return change


def zeroed(name: str):
    def change(g):
        g[name] = np.zeros_like(g[name])
        return g

    return change


def transposed(name: str):
    def change(g):
        g[name] = g[name].T.copy()
        return g

    return change


SEED003 = "seed003_two_layer_sigmoid.py"
LAYERS = "seed003_layers.py"
SEED004 = "seed004_relu_mlp.py"
ALL3 = frozenset({"W1", "W2", "W3", "W4", "W5", "W6", "b1", "b2", "b3"})

MUTATIONS: tuple[Mutation, ...] = (
    Mutation("sign flipped", SEED003, lambda d: changed(d, scaled("W5", -1)), frozenset({"W5"}), "sign flipped"),
    Mutation("factor of 2", "seed002_chain_rule.py", lambda d: changed(d, scaled("w", 2)), frozenset({"w"}), "off by ×2"),
    Mutation("half of it", SEED004, lambda d: changed(d, scaled("w2", 0.5)), frozenset({"w2"}), "off by ×1/2"),
    Mutation("sum where the mean belongs", "seed001_linear_regression.py", lambda d: symgrad.compile(d, "numpy", reduction="sum"), frozenset({"W", "b"}), "off by ×3"),
    Mutation("zero gradient", SEED003, lambda d: changed(d, zeroed("b2")), frozenset({"b2"}), "zero"),
    Mutation("one entry perturbed", SEED004, lambda d: changed(d, entry("w1", (417, 63), 0.01)), frozenset({"w1"}), "1 of 100000 entries wrong"),
    Mutation("one entry of a small matrix", LAYERS, lambda d: changed(d, entry("W1", (1, 0), 0.01)), frozenset({"W1"}), "1 of 4 entries wrong"),
    Mutation("transposed matrix", LAYERS, lambda d: changed(d, transposed("W1")), frozenset({"W1"}), "transposed"),
    Mutation("transposed product (Gᵀh for hᵀG)", SEED004, seed004_backward("product order"), frozenset({"w2"}), "transposed"),
    Mutation("bias summed over the wrong axis", "seed000_linear_adam.py", seed000_bias_axis, frozenset({"b"}), "shape"),
    Mutation("gradients of two parameters swapped", SEED003, lambda d: changed(d, swapped("W1", "W2")), frozenset({"W1", "W2"})),
    Mutation("constant offset", SEED003, lambda d: changed(d, offset("W3")), frozenset({"W3"})),
    Mutation("stale parameters", SEED003, at_stale_point, ALL3),
    Mutation("half precision", SEED004, in_half_precision, frozenset({"w1", "w2"})),
    Mutation("σ instead of σ(1−σ)", SEED003, seed003_backprop("sigma for its derivative"), ALL3, node="z3"),
    Mutation("derivative of the wrong activation (tanh for σ)", SEED003, seed003_backprop("tanh derivative"), ALL3, node="z3"),
    Mutation("BCE derivative with a sign slip", SEED003, seed003_backprop("bce sign"), ALL3, node="sigma3"),
    Mutation("the wrong weight in the chain", SEED003, seed003_backprop("wrong weight"), frozenset({"W1", "W2", "b1"}), node="sigma1"),
    Mutation("the wrong input in a local gradient", SEED003, seed003_backprop("wrong input"), frozenset({"W1"})),
    Mutation("relu mask dropped", SEED004, seed004_backward("mask dropped"), frozenset({"w1"}), node="hidden"),
    Mutation("squared error without its factor 2", SEED004, seed004_backward("no factor 2"), frozenset({"w1", "w2"}), "off by ×1/2", node="y_pred"),
    Mutation("local gradient σ for σ(1−σ) in the derivation", SEED003, lambda d: with_local(d, "sigma3", "z3", lambda e: d.symbol("sigma3")), ALL3, node="z3"),
    Mutation("local gradient sign flipped in the derivation", SEED003, lambda d: with_local(d, "z3", "sigma2", lambda e: -e), frozenset({"W3", "W4", "b2"}), "sign flipped", node="sigma2"),
    Mutation("a term dropped from a sum of chain terms", "tied_weight", lambda d: without_term(d, "w", "a"), frozenset({"w"}), "missing term"),
)  # fmt: skip


def model_for(example: str):
    if example == "tied_weight":
        return tied_weight_model()
    return load_example(example)
