"""The chain rule on named nodes. This is the only module that differentiates.

Reverse accumulation over the model's DAG, the way a lecture works it by hand:

1. the nodes are already in topological order (a node can only use what was declared before);
2. for every edge ``parent → node``, the *local gradient* ∂node/∂parent is the derivative of the
   node's own definition, where the parents are plain symbols, so each expression stays small;
   it is written with the node's forward value where the rule table does (``σ₃(1 − σ₃)``);
3. the *adjoint* ∂L/∂node is the sum over the node's consumers of ∂L/∂consumer · ∂consumer/∂node;
4. the gradient of a variable is its adjoint. Its closed form (every node substituted) is built
   only on request, because it grows exponentially with depth while the sweep stays linear.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType

import numpy as np
import sympy
from sympy.core.function import Application, Derivative, Subs

from .errors import SymgradError
from .model import Model, Node, Variable
from .rules import kinks_of


class Partial(sympy.Symbol):
    """∂of/∂wrt as one symbol. In generated code it is the variable ``d{of}_d{wrt}``."""

    def __new__(cls, of: str, wrt: str):
        obj = super().__new__(cls, f"d{of}_d{wrt}", real=True)
        obj.of, obj.wrt = of, wrt
        return obj

    def __getnewargs_ex__(self):
        return ((self.of, self.wrt), {})


@dataclass(frozen=True)
class LocalGradient:
    """∂node/∂parent from the node's definition alone, in textbook form.

    ``symbol`` stands for it in a chain product. The loss's own local gradients have none: for
    them ∂L/∂parent is where a chain starts, and the adjoint's symbol already says it.
    """

    node: str
    parent: str
    expr: sympy.Expr
    symbol: Partial | None


@dataclass(frozen=True)
class ChainTerm:
    """One path into an adjoint: ∂L/∂consumer · ∂consumer/∂quantity (just the local gradient
    when the consumer is the loss)."""

    consumer: str
    upstream: Partial | None
    local: LocalGradient

    @property
    def expr(self) -> sympy.Expr:
        """The term with the local gradient written out and the upstream adjoint as a symbol."""
        return self.local.expr if self.upstream is None else self.upstream * self.local.expr


@dataclass(frozen=True)
class Adjoint:
    """∂L/∂name: a sum of chain terms over the consumers of ``name`` (empty: the loss itself,
    whose adjoint is 1, or a variable the loss does not depend on, whose gradient is 0)."""

    name: str
    symbol: Partial
    terms: tuple[ChainTerm, ...]
    is_loss: bool = False

    @property
    def expr(self) -> sympy.Expr:
        if self.is_loss:
            return sympy.S.One
        return sympy.Add(*[term.expr for term in self.terms])


@dataclass(frozen=True)
class Derivation:
    """Everything the chain rule says about a model's loss, ready to compile, render or verify.

    ``nodes`` are the nodes that reach the loss, in forward order, the loss last; ``adjoints``
    run backward: the loss, every node, then every variable in ``wrt``.
    """

    model: str
    variables: tuple[Variable, ...]
    nodes: tuple[Node, ...]
    wrt: tuple[str, ...]
    locals: tuple[LocalGradient, ...]
    adjoints: tuple[Adjoint, ...]
    reduction: str
    example: Mapping[str, float | np.ndarray] = field(default_factory=dict)
    unused: tuple[str, ...] = ()
    kinks: tuple[tuple[str, sympy.Expr], ...] = ()

    # --- lookups --------------------------------------------------------------------------

    @property
    def loss(self) -> Node:
        return self.nodes[-1]

    @cached_property
    def _nodes(self) -> dict[str, Node]:
        return {node.name: node for node in self.nodes}

    @cached_property
    def _variables(self) -> dict[str, Variable]:
        return {var.name: var for var in self.variables}

    @cached_property
    def _adjoints(self) -> dict[str, Adjoint]:
        return {adj.name: adj for adj in self.adjoints}

    @cached_property
    def _locals(self) -> dict[tuple[str, str], LocalGradient]:
        return {(loc.node, loc.parent): loc for loc in self.locals}

    def node(self, name: str) -> Node:
        return self._nodes[name]

    def variable(self, name: str) -> Variable:
        return self._variables[name]

    def symbol(self, name: str) -> sympy.Symbol:
        """The symbol of a node or variable."""
        item = self._nodes.get(name) or self._variables.get(name)
        if item is None:
            raise SymgradError(f"model {self.model!r} has no node or variable {name!r}")
        return item.symbol

    def adjoint(self, name: str) -> Adjoint:
        return self._adjoints[name]

    def local(self, node: str, parent: str) -> LocalGradient:
        return self._locals[(node, parent)]

    @property
    def arguments(self) -> tuple[str, ...]:
        """The variables a point must give: those the loss reads, and those in ``wrt``."""
        used: set[sympy.Symbol] = set()
        for node in self.nodes:
            used |= node.expr.free_symbols
        return tuple(
            var.name for var in self.variables if var.symbol in used or var.name in self.wrt
        )

    # --- gradients ------------------------------------------------------------------------

    def gradient(self, name: str) -> sympy.Expr:
        """∂L/∂name as the sum of its chain terms (upstream adjoints kept as symbols)."""
        self._check_wrt(name)
        return self._adjoints[name].expr

    def closed_form(self, name: str, *, simplify: bool = False) -> sympy.Expr:
        """∂L/∂name with every adjoint and node substituted: a formula in the variables only.

        Its size grows exponentially with depth; ask for it for documentation, not for code.
        """
        self._check_wrt(name)
        expr = self._in_nodes(name).xreplace(self._forward_closed)
        return sympy.simplify(expr) if simplify else expr

    def _check_wrt(self, name: str) -> None:
        if name not in self.wrt:
            raise SymgradError(
                f"{name!r} is not among the variables of this derivation ({', '.join(self.wrt)})"
            )

    @cached_property
    def _forward_closed(self) -> dict[sympy.Symbol, sympy.Expr]:
        closed: dict[sympy.Symbol, sympy.Expr] = {}
        for node in self.nodes:
            closed[node.symbol] = node.expr.xreplace(closed)
        return closed

    @cached_property
    def _adjoints_in_nodes(self) -> dict[str, sympy.Expr]:
        out: dict[str, sympy.Expr] = {}
        for adj in self.adjoints:  # backward order: every upstream adjoint comes first
            if adj.is_loss:
                out[adj.name] = sympy.S.One
                continue
            out[adj.name] = sympy.Add(
                *[
                    (sympy.S.One if t.upstream is None else out[t.consumer]) * t.local.expr
                    for t in adj.terms
                ]
            )
        return out

    def _in_nodes(self, name: str) -> sympy.Expr:
        return self._adjoints_in_nodes[name]

    # --- display ------------------------------------------------------------------------

    def __repr__(self) -> str:
        return (
            f"Derivation({self.model!r}: loss {self.loss.name!r}, wrt {list(self.wrt)}, "
            f"{len(self.nodes)} nodes, {len(self.locals)} local gradients)"
        )

    def _repr_markdown_(self) -> str:
        """Jupyter shows the worked example (rendering is imported here, not above: data flows
        from derivation to rendering, never back)."""
        from .rendering import render

        return render(self, "markdown")

    def _repr_latex_(self) -> str:
        from .rendering import worked_example
        from .rendering.latex import render_latex_math

        return render_latex_math(worked_example(self))


def derive(model: Model, wrt: Iterable[str] | str | None = None) -> Derivation:
    """Apply the chain rule to ``model``; ``wrt`` defaults to its parameters (to its inputs when
    it has none).

    >>> from symgrad import Model, derive
    >>> m = Model("square"); x = m.inputs("x"); w = m.params("w")
    >>> _ = m.loss("L", (w * x) ** 2)
    >>> derive(m).gradient("w")
    2*w*x**2
    """
    loss = model.loss_node
    if loss is None:
        raise SymgradError(f"model {model.name!r} has no loss; declare one with m.loss(name, expr)")
    wrt_names = _resolve_wrt(model, wrt)

    by_symbol: dict[sympy.Symbol, str] = {n.symbol: n.name for n in model.nodes}
    by_symbol.update({v.symbol: v.name for v in model.variables})
    node_by_name = {n.name: n for n in model.nodes}

    live = _ancestors(loss, node_by_name, by_symbol)
    nodes = tuple(n for n in model.nodes if n.name in live)
    unused = tuple(n.name for n in model.nodes if n.name not in live)

    if not loss.expr.free_symbols:
        raise SymgradError(
            f"loss {loss.name!r} is the constant {loss.expr}; it depends on no input or parameter",
            loss.where,
        )
    # Local gradients: one per edge whose parent needs an adjoint, parents in declaration order.
    declared = [v.symbol for v in model.variables] + [n.symbol for n in model.nodes]
    order = {symbol: i for i, symbol in enumerate(declared)}
    needs_adjoint = {n.name for n in nodes} | set(wrt_names)
    locals_: list[LocalGradient] = []
    consumers: dict[str, list[LocalGradient]] = {name: [] for name in needs_adjoint}
    for node in nodes:
        for parent_symbol in sorted(node.expr.free_symbols, key=order.__getitem__):
            parent = by_symbol[parent_symbol]
            if parent not in needs_adjoint:
                continue
            local = _local_gradient(node, parent, parent_symbol)
            locals_.append(local)
            consumers[parent].append(local)

    # Adjoints, from the loss back: every consumer of a node comes after it, so reversed
    # declaration order meets each consumer's adjoint before it is needed.
    adjoints = [Adjoint(loss.name, Partial(loss.name, loss.name), (), is_loss=True)]
    for name in [n.name for n in reversed(nodes[:-1])] + list(wrt_names):
        terms = tuple(
            ChainTerm(
                local.node,
                None if local.node == loss.name else Partial(loss.name, local.node),
                local,
            )
            for local in consumers[name]
        )
        adjoints.append(Adjoint(name, Partial(loss.name, name), terms))

    _check_generated_names(model, locals_, adjoints)
    kinks = tuple((node.name, kink) for node in nodes for kink in kinks_of(node.expr))
    return Derivation(
        model=model.name,
        variables=model.variables,
        nodes=nodes,
        wrt=wrt_names,
        locals=tuple(locals_),
        adjoints=tuple(adjoints),
        reduction=model.reduction,
        example=MappingProxyType(model.example_point),
        unused=unused,
        kinks=kinks,
    )


def _resolve_wrt(model: Model, wrt) -> tuple[str, ...]:
    variables = {v.name: v for v in model.variables}
    if wrt is None:
        names = [v.name for v in model.variables if v.role == "param"] or list(variables)
    else:
        names = wrt.replace(",", " ").split() if isinstance(wrt, str) else list(wrt)
        if not names:
            raise SymgradError("wrt names no variable")
    for name in names:
        if name not in variables:
            if any(n.name == name for n in model.nodes):
                raise SymgradError(
                    f"wrt: {name!r} is a node; its adjoint ∂L/∂{name} is in every derivation, "
                    "and wrt takes inputs and parameters"
                )
            choices = ", ".join(variables) or "none declared"
            raise SymgradError(
                f"wrt: model {model.name!r} has no input or parameter {name!r} (it has {choices})"
            )
    return tuple(dict.fromkeys(names))


def _ancestors(loss: Node, nodes: dict[str, Node], by_symbol) -> set[str]:
    live: set[str] = set()
    stack = [loss]
    while stack:
        node = stack.pop()
        if node.name in live:
            continue
        live.add(node.name)
        stack.extend(nodes[by_symbol[s]] for s in node.expr.free_symbols if by_symbol[s] in nodes)
    return live


def _local_gradient(node: Node, parent: str, parent_symbol: sympy.Symbol) -> LocalGradient:
    expr = sympy.diff(node.expr, parent_symbol)
    for unevaluated in expr.atoms(Derivative, Subs):
        inner = unevaluated.expr
        function = inner.func.__name__ if isinstance(inner, Application) else str(inner)
        raise SymgradError(
            f"cannot differentiate {inner} in {'loss' if node.is_loss else 'node'} "
            f"{node.name!r}: SymPy has no derivative for {function} and symgrad's rule table "
            "has no row for it",
            node.where,
        )
    # Step functions (sign, Heaviside) have derivative 0 away from their jump; the rule table
    # records the jump as a kink, which the verifier checks, so the Dirac delta SymPy gives is 0.
    expr = expr.replace(lambda e: isinstance(e, sympy.DiracDelta), lambda e: sympy.S.Zero)
    if expr.has(sympy.zoo, sympy.nan):
        raise SymgradError(
            f"∂{node.name}/∂{parent} is undefined ({expr}); check the definition of {node.name!r}",
            node.where,
        )
    if isinstance(node.expr, (Application, sympy.Pow)):
        # Textbook form: σ(z)(1 − σ(z)) becomes σ₃(1 − σ₃) when the node is σ₃ = σ(z), and
        # 1/(2√e) becomes 1/(2r) when r = √e (subs, unlike xreplace, sees e^(−1/2) as 1/√e).
        expr = expr.subs(node.expr, node.symbol)
    symbol = None if node.is_loss else Partial(node.name, parent)
    return LocalGradient(node.name, parent, expr, symbol)


def _check_generated_names(model: Model, locals_, adjoints) -> None:
    """Generated code names each local gradient and adjoint ``dA_dB``; refuse a clash."""
    declared = {v.name for v in model.variables} | {n.name for n in model.nodes}
    seen: dict[str, tuple[str, str]] = {}
    symbols = [loc.symbol for loc in locals_ if loc.symbol is not None]
    symbols += [adj.symbol for adj in adjoints]
    for symbol in symbols:
        meaning = (symbol.of, symbol.wrt)
        if symbol.name in declared:
            raise SymgradError(
                f"the name {symbol.name!r} is declared in model {model.name!r}, but symgrad "
                f"needs it for ∂{symbol.of}/∂{symbol.wrt}; rename the declaration"
            )
        if seen.setdefault(symbol.name, meaning) != meaning:
            other = seen[symbol.name]
            raise SymgradError(
                f"∂{other[0]}/∂{other[1]} and ∂{symbol.of}/∂{symbol.wrt} would both be named "
                f"{symbol.name!r}; rename one of the nodes"
            )
