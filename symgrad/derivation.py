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

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType

import numpy as np
import sympy
from sympy.matrices.expressions.matexpr import MatrixExpr

from . import progress
from . import tensors as T
from .errors import SymgradError
from .model import Model, Node, Variable
from .rules import differentiate, elementwise_pullback, is_choice, kinks_of, rule_for


class Partial(sympy.Symbol):
    """∂of/∂wrt as one symbol. In generated code it is the variable ``d{of}_d{wrt}``."""

    def __new__(cls, of: str, wrt: str, name: str | None = None):
        obj = super().__new__(cls, name or f"d{of}_d{wrt}", real=True)
        obj.of, obj.wrt = of, wrt
        return obj

    def __getnewargs_ex__(self):
        return ((self.of, self.wrt, self.name), {})


class SecondPartial(sympy.Symbol):
    """∂²of/∂first∂second as one symbol (an entry of a Hessian); ``first`` empty: ∇²of, the
    whole Hessian."""

    def __new__(cls, of: str, first: str = "", second: str = ""):
        name = f"d2{of}_d{first}_d{second}" if first else f"hessian_{of}"
        obj = super().__new__(cls, name, real=True)
        obj.of, obj.first, obj.second = of, first, second
        return obj

    def __getnewargs_ex__(self):
        return ((self.of, self.first, self.second), {})


class MatrixPartial(sympy.MatrixSymbol):
    """∂of/∂wrt for a matrix quantity: a matrix of the quantity's shape (``dL_dW1``)."""

    _meanings: dict[str, tuple[str, str]] = {}  # noqa: RUF012  (SymPy rebuilds by name)

    def __new__(cls, of, wrt, rows=None, cols=None, name=None):
        if cols is None:  # SymPy rebuilding from args: (name, rows, cols)
            name, rows, cols = str(of), wrt, rows
            of, wrt = cls._meanings[name]
        name = name or f"d{of}_d{wrt}"
        cls._meanings[name] = (of, wrt)
        obj = super().__new__(cls, name, rows, cols)
        obj.of, obj.wrt = of, wrt
        return obj

    def __getnewargs_ex__(self):
        return ((self.of, self.wrt, int(self.rows), int(self.cols), self.name), {})


class ArrayPartial(T.ArraySymbol):
    """∂of/∂wrt for an array of rank 1, 3 or 4 (``dL_dx``)."""

    _meanings: dict[str, tuple[str, str]] = {}  # noqa: RUF012  (SymPy rebuilds by name)

    def __new__(cls, of, wrt, shape=None, name=None):
        if shape is None:  # SymPy rebuilding from args: (name, shape)
            name, shape = str(of), tuple(int(n) for n in wrt)
            of, wrt = cls._meanings[name]
        name = name or f"d{of}_d{wrt}"
        cls._meanings[name] = (of, wrt)
        obj = super().__new__(cls, name, shape)
        obj.of, obj.wrt = of, wrt
        return obj

    def __getnewargs_ex__(self):
        return ((self.of, self.wrt, self.shape, self.name), {})


ARRAY_PARTIALS = (MatrixPartial, ArrayPartial)
NAMED_ARRAYS = (sympy.MatrixSymbol, T.ArraySymbol)  # the names of array quantities


def partial_symbol(of: str, wrt: str, like, name: str | None = None):
    """∂of/∂wrt as a symbol shaped like ``like`` (the quantity it is the adjoint of)."""
    shape = T.shape_of(like)
    if not shape:
        return Partial(of, wrt, name)
    if len(shape) == 2:
        return MatrixPartial(of, wrt, *shape, name=name)
    return ArrayPartial(of, wrt, shape, name)


class _PartialNames:
    """The code name of each ∂of/∂wrt: ``dL_dz``, or with a ``_`` more where a model already
    uses that name (a backward pass derived again declares ``dL_dz`` itself) or where two
    meanings would share it (∂a_b/∂c and ∂a/∂b_c)."""

    def __init__(self, taken):
        self.taken = set(taken)
        self.names: dict[tuple[str, str], str] = {}

    def __call__(self, of: str, wrt: str) -> str:
        key = (of, wrt)
        if key not in self.names:
            name = f"d{of}_d{wrt}"
            while name in self.taken:
                name += "_"
            self.taken.add(name)
            self.names[key] = name
        return self.names[key]


@dataclass(frozen=True)
class LocalGradient:
    """How the gradient flows from a node back to one parent, from the node's definition alone.

    For scalars it is ∂node/∂parent in textbook form, and ``symbol`` stands for it in a chain
    product (the loss's own local gradients have none: for them ∂L/∂parent is where a chain
    starts, and the adjoint's symbol already says it). Where a matrix is involved it is a
    *pullback*: the parent's share of the adjoint, a matrix expression in the node's adjoint
    (``Xᵀ(∂L/∂H ⊙ 𝟙[XW₁ > 0])``), because a matrix chain rule is not a product of factors.
    """

    node: str
    parent: str
    expr: sympy.Expr
    symbol: Partial | None
    pullback: bool = False


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
        if self.upstream is None or self.local.pullback:
            return self.local.expr
        return self.upstream * self.local.expr


@dataclass(frozen=True)
class Adjoint:
    """∂L/∂name: a sum of chain terms over the consumers of ``name`` (empty: the loss itself,
    whose adjoint is 1, or a variable the loss does not depend on, whose gradient is 0)."""

    name: str
    symbol: Partial | MatrixPartial | ArrayPartial
    terms: tuple[ChainTerm, ...]
    is_loss: bool = False

    @property
    def expr(self) -> sympy.Expr:
        if self.is_loss:
            return sympy.S.One
        return add(self.symbol, [term.expr for term in self.terms])


def add(like, terms: list) -> sympy.Basic:
    """The sum of scalar or array terms shaped like ``like`` (0 when there are none)."""
    if not T.shape_of(like):
        return sympy.Add(*terms)
    return T.add_arrays(like, terms)


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
    notes: tuple[str, ...] = ()  # what a reader should know (a loss that is a constant)
    origin: object = field(default=None, compare=False, repr=False)  # Model.origin: traced code

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

    @property
    def adjoint_names(self) -> frozenset[str]:
        """The quantities with an adjoint: the loss, the nodes the variables in ``wrt`` flow
        through, and those variables."""
        return frozenset(self._adjoints)

    def local(self, node: str, parent: str) -> LocalGradient:
        return self._locals[(node, parent)]

    @property
    def is_tensor(self) -> bool:
        """Whether any quantity is a matrix: then shapes are fixed and there is no batch."""
        return any(v.is_tensor for v in self.variables) or any(n.shape for n in self.nodes)

    @cached_property
    def compiled(self) -> dict:
        """The code generated for this derivation, by (backend, reduction, jit): compiling
        again (verify does, for each judge) costs nothing."""
        return {}

    @cached_property  # asked on every call of a compiled gradient
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
            terms = []
            for t in adj.terms:
                if t.local.pullback:
                    upstream = {t.upstream: out[t.consumer]} if t.upstream is not None else {}
                    terms.append(t.local.expr.xreplace(upstream))
                else:
                    upstream = sympy.S.One if t.upstream is None else out[t.consumer]
                    terms.append(upstream * t.local.expr)
            out[adj.name] = add(adj.symbol, terms)
        return out

    def _in_nodes(self, name: str) -> sympy.Expr:
        return self._adjoints_in_nodes[name]

    # --- display ------------------------------------------------------------------------

    def __repr__(self) -> str:
        return (
            f"Derivation({self.model!r}: loss {self.loss.name!r}, wrt {list(self.wrt)}, "
            f"{len(self.nodes)} nodes, {len(self.locals)} local gradients)"
        )

    # Jupyter's _repr_markdown_ and _repr_latex_ (the worked example) come from
    # rendering/jupyter.py: rendering reads a derivation, never the other way round


def derive(model: Model | str | os.PathLike, wrt: Iterable[str] | str | None = None) -> Derivation:
    """Apply the chain rule to ``model`` (or the one model of a model file's path); ``wrt``
    defaults to its parameters (to its inputs when it has none). Second order is
    ``symgrad.hessian(model)``, which derives again.

    >>> from symgrad import Model, derive
    >>> m = Model("square"); x = m.inputs("x"); w = m.params("w")
    >>> _ = m.loss("L", (w * x) ** 2)
    >>> derive(m).gradient("w")
    2*w*x**2
    """
    if isinstance(model, (str, os.PathLike)):
        from .loader import load_model  # a front end's convenience: the file holds the model

        model = load_model(os.fspath(model))
    if not isinstance(model, Model):
        raise SymgradError(f"derive takes a Model or a model file's path, not {model!r}")
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

    notes = []
    if not loss.expr.free_symbols:  # SymPy folded it while the model was built (a − a)
        notes.append(
            f"loss {loss.name!r} is the constant {loss.expr}: it depends on no input or "
            "parameter, so every gradient is 0"
        )
    # Local gradients: one per edge whose parent needs an adjoint, parents in declaration order.
    position = {symbol: i for i, symbol in enumerate(_declared(model, model.nodes))}
    # only a node the chosen variables flow through needs an adjoint (with --wrt W5, not σ₁)
    needs_adjoint = set(wrt_names) | _downstream(nodes, set(wrt_names), by_symbol)
    names = _PartialNames([v.name for v in model.variables] + [n.name for n in model.nodes])
    symbol_of = {name: _symbol(model, name) for name in needs_adjoint}
    locals_: list[LocalGradient] = []
    consumers: dict[str, list[LocalGradient]] = {name: [] for name in needs_adjoint}
    nodes = list(nodes)
    done = 0
    while done < len(nodes):
        node = nodes[done]
        progress.report("deriving", done, len(nodes), "nodes")
        parents = [
            (by_symbol[s], s)
            for s in sorted(node.expr.free_symbols, key=position.__getitem__)
            if by_symbol[s] in needs_adjoint
        ]
        try:
            if involves_matrices(node.expr) or T.shape_of(node.symbol):
                upstream = (
                    sympy.S.One
                    if node.is_loss
                    else partial_symbol(
                        loss.name, node.name, node.symbol, names(loss.name, node.name)
                    )
                )
                new = _pullbacks(node, upstream, parents)
            elif len(parents) > MANY_PARENTS:
                new = _wide_local_gradients(node, parents, names)
            else:
                new = [_local_gradient(node, parent, symbol, names) for parent, symbol in parents]
        except _ChoiceInChoice as failed:
            # the node is derived as two: its inner choices named first, then the rest
            split = _name_inner_choices(node, failed.within, names.taken)
            nodes[done : done + 1] = split
            notes.append(
                f"{'loss' if node.is_loss else 'node'} {node.name!r} is derived through "
                f"{', '.join(part.name for part in split[:-1])}, the choice another choice in "
                "it compares, named: SymPy cannot differentiate the two as one formula"
            )
            for part in split[:-1]:
                by_symbol[part.symbol] = part.name
                names.taken.add(part.name)
                if any(by_symbol[s] in needs_adjoint for s in part.expr.free_symbols):
                    needs_adjoint.add(part.name)
                    symbol_of[part.name] = part.symbol
                    consumers[part.name] = []
            position = {symbol: i for i, symbol in enumerate(_declared(model, nodes))}
            continue  # derive the first of them
        done += 1
        for local in new:
            locals_.append(local)
            consumers[local.parent].append(local)

    # Adjoints, from the loss back: every consumer of a node comes after it, so reversed
    # declaration order meets each consumer's adjoint before it is needed.
    adjoints = [
        Adjoint(
            loss.name, Partial(loss.name, loss.name, names(loss.name, loss.name)), (), is_loss=True
        )
    ]
    backward = [n.name for n in reversed(nodes[:-1]) if n.name in needs_adjoint]
    for name in backward + list(wrt_names):
        terms = tuple(
            ChainTerm(
                local.node,
                None
                if local.node == loss.name
                else partial_symbol(
                    loss.name, local.node, symbol_of[local.node], names(loss.name, local.node)
                ),
                local,
            )
            for local in consumers[name]
        )
        symbol = partial_symbol(loss.name, name, symbol_of[name], names(loss.name, name))
        adjoints.append(Adjoint(name, symbol, terms))

    kinks = tuple((node.name, kink) for node in nodes for kink in kinks_of(node.expr))
    return Derivation(
        model=model.name,
        variables=model.variables,
        nodes=tuple(nodes),
        wrt=wrt_names,
        locals=tuple(locals_),
        adjoints=tuple(adjoints),
        reduction=model.reduction,
        example=MappingProxyType(model.example_point),
        unused=unused,
        kinks=kinks,
        notes=tuple(notes),
        origin=model.origin,
    )


# A node that reads more than this many quantities gets all its local gradients from one reverse
# sweep over its definition, instead of one derivative per parent (each a walk of the whole
# definition): a 100-term weighted sum then costs one walk, not a hundred.
MANY_PARENTS = 16


def _declared(model: Model, nodes) -> list:
    """The symbols of the variables and of ``nodes``, in the order they are declared."""
    return [v.symbol for v in model.variables] + [n.symbol for n in nodes]


def _downstream(nodes, sources: set[str], by_symbol) -> set[str]:
    """The nodes that depend on any of ``sources``, in declaration order (a node's parents
    come before it)."""
    reached = set(sources)
    for node in nodes:
        if any(by_symbol.get(s) in reached for s in node.expr.free_symbols):
            reached.add(node.name)
    return reached - sources


def _wide_local_gradients(node: Node, parents, names) -> list[LocalGradient]:
    """The same local gradients as ``_local_gradient`` gives one by one (the sweep starts from
    1, so each share is ∂node/∂parent itself)."""
    return [
        LocalGradient(
            node.name,
            share.parent,
            share.expr,
            None
            if node.is_loss
            else Partial(node.name, share.parent, names(node.name, share.parent)),
        )
        for share in _pullbacks(node, sympy.S.One, parents)
    ]


def _symbol(model: Model, name: str):
    for item in (*model.variables, *model.nodes):
        if item.name == name:
            return item.symbol
    raise KeyError(name)


def involves_matrices(expr) -> bool:
    return any(isinstance(e, MatrixExpr) for e in sympy.preorder_traversal(expr))


# --- the chain rule inside a node that involves matrices ----------------------------------------


def _pullbacks(node: Node, upstream, parents) -> list[LocalGradient]:
    """Reverse accumulation through the operations of one node's definition.

    Starting from ``upstream`` (the node's adjoint, or 1 for the loss), each operation's rule
    (the rule table's matrix rows, or the scalar rows entry by entry) hands a share of its
    adjoint to each argument; what reaches a parent is that parent's pullback.
    """
    wanted = {symbol: name for name, symbol in parents}
    if not wanted:
        return []
    expr = node.expr
    for _ in range(_MOST_SPLITS + 1):
        try:
            reached = _reverse_sweep(expr, node, upstream, wanted)
            break
        except _NestedChoice as failed:  # split the template there, and sweep again
            expr = expr.xreplace({failed.op: _split_at_choices(failed.op, failed.where)})
    else:
        raise _nested_choice(f"{'loss' if node.is_loss else 'node'} {node.name!r}", node)
    out = []
    for name, symbol in parents:
        out.append(LocalGradient(node.name, name, add(symbol, reached[name]), None, pullback=True))
    return out


# Each split takes a level of choices out of a template, so a few suffice; the bound only
# guarantees the sweep ends.
_MOST_SPLITS = 32


def _reverse_sweep(expr, node: Node, upstream, wanted: dict) -> dict[str, list]:
    """The shares of the adjoint that reach each wanted symbol, by its parent's name."""
    order = _postorder(expr, set(wanted))
    adjoint: dict = {expr: [upstream]}
    reached: dict[str, list] = {name: [] for name in wanted.values()}
    for op in reversed(order):  # from the definition's root down to the parents
        shares = adjoint.pop(op, None)
        if shares is None:
            continue
        g = add(op, shares)
        if op in wanted:
            reached[wanted[op]].append(g)
            continue
        ans = node.symbol if op == expr else op
        for child, share in _shares(op, g, ans, node, set(wanted)):
            if T.is_zero(share):
                continue  # nothing flows (the derivative of a step is 0 off its jump)
            if T.shape_of(share) != T.shape_of(child):
                raise AssertionError(
                    f"rule for {type(op).__name__} gave {T.shape_of(share)} for {child} "
                    f"of shape {T.shape_of(child)}"
                )
            adjoint.setdefault(child, []).append(share)
    return reached


def _postorder(expr, wanted: set) -> list:
    """Sub-expressions that lead to a wanted symbol, each after everything inside it."""
    seen: dict = {}

    def visit(e):
        if e in seen:
            return
        if e in wanted:
            seen[e] = True
            return
        if not (e.free_symbols & wanted):
            return
        for child in _children(e):
            visit(child)
        seen[e] = True

    visit(expr)
    return list(seen)


def _children(op) -> tuple:
    if isinstance(op, T.Elementwise):
        return op.operands
    if isinstance(op, sympy.Piecewise):  # its pieces pair values with conditions
        if _reads_arrays(op):
            return tuple(value for value, _ in op.args)
        return tuple(sorted(op.free_symbols, key=str))
    return tuple(a for a in op.args if isinstance(a, sympy.Basic))


def _shares(op, g, ans, node: Node, wanted: set) -> list[tuple]:
    """(argument, its share of the adjoint) for every argument of ``op`` leading to a parent."""
    where = f"{'loss' if node.is_loss else 'node'} {node.name!r}"
    if isinstance(op, T.Elementwise):
        partials = [_template_partial(op, i, ans is not op, where) for i in range(len(op.operands))]
        textbook_ans = ans if ans is not op else None
        results = elementwise_pullback(op, g, partials, textbook_ans)[1:]
        return [
            (operand, share)
            for operand, share in zip(op.operands, results, strict=True)
            if share is not None and operand.free_symbols & wanted
        ]
    rule = rule_for(op)
    if rule is not None and rule.is_matrix:
        try:
            results = rule.pullback(op, g, ans)
        except SymgradError as error:
            raise SymgradError(f"{where}: {error.message}", node.where) from None
        out = []
        for arg, share in zip(op.args, results, strict=True):
            if isinstance(arg, sympy.Basic) and arg.free_symbols & wanted:
                if share is None:
                    raise SymgradError(
                        f"{where}: no gradient flows through {rule.name} to {arg} "
                        "(it is an integer or a constant of the operation)",
                        node.where,
                    )
                out.append((arg, share))
        return out
    if isinstance(op, MatrixExpr):
        raise SymgradError(
            f"{where}: symgrad has no proven rule for the matrix operation "
            f"{type(op).__name__} ({op}); it will not guess one",
            node.where,
        )
    if any(isinstance(a, MatrixExpr) for a in op.args):
        raise SymgradError(
            f"{where}: symgrad has no proven rule for {type(op).__name__} ({op}) of a matrix; "
            "it will not guess one",
            node.where,
        )
    # A scalar operation (sum, product, power, function): its partial for each argument.
    if isinstance(op, sympy.Add):  # ∂(a + b)/∂a = 1, for any number of terms
        return [(arg, g) for arg in op.args if arg.free_symbols & wanted]
    if isinstance(op, sympy.Mul) and len(set(op.args)) == len(op.args):  # ∂(ab)/∂a = b
        return [
            (arg, _scale(g, sympy.Mul(*(op.args[:i] + op.args[i + 1 :]))))
            for i, arg in enumerate(op.args)
            if arg.free_symbols & wanted
        ]
    if isinstance(op, sympy.Piecewise) and _reads_arrays(op):
        # each piece's value gets the adjoint where its condition picks it; a condition is a
        # step, whose derivative is 0 off its jump
        return [
            (value, _scale(g, _picked(op, i)))
            for i, (value, _) in enumerate(op.args)
            if value.free_symbols & wanted
        ]
    if rule is not None and rule.through is not None:  # a Piecewise: its pieces are no values
        return [
            (symbol, _scale(g, _checked(differentiate(op, symbol), op, where, node)))
            for symbol in sorted(op.free_symbols & wanted, key=str)
        ]
    out = []
    for i, arg in enumerate(op.args):
        if not (isinstance(arg, sympy.Basic) and arg.free_symbols & wanted):
            continue
        dummy = sympy.Dummy("a", real=True)
        rebuilt = op.func(*[dummy if j == i else a for j, a in enumerate(op.args)])
        textbook = ans if ans is not op else None  # σ(1 − σ) with σ the node
        try:
            partial = differentiate(rebuilt, dummy, textbook).xreplace({dummy: arg})
        except SymgradError as error:
            raise SymgradError(f"{where}: {error.message}", node.where) from None
        except (ValueError, TypeError, AssertionError):
            if not _inner_choices(op):
                raise
            raise _ChoiceInChoice(op) from None  # derive names the inner choice a node
        out.append((arg, _scale(g, _checked(partial, op, where, node))))
    return out


def _reads_arrays(expr) -> bool:
    """An expression that reads entries of arrays (its symbols are no scalars of their own)."""
    return any(isinstance(s, MatrixExpr) for s in expr.free_symbols)


def _picked(op: sympy.Piecewise, i: int):
    """1 where ``op`` takes its piece ``i``, else 0."""
    return sympy.Piecewise(*[(1 if j == i else 0, c) for j, (_, c) in enumerate(op.args)])


def _scale(g, factor):
    """g · factor for a scalar factor and a scalar or matrix g."""
    if isinstance(g, MatrixExpr):
        return T.elementwise(lambda a, b: a * b, g, factor)
    return g * factor


def _template_partial(op: T.Elementwise, i: int, textbook: bool, where: str):
    """∂template/∂(operand i) as a Lambda of the template's variables (and of the answer, last,
    where the textbook writes the derivative with it: σ(1 − σ))."""
    variables = op.template.variables
    body = op.template.expr
    answer = sympy.Symbol(f"_e{len(variables)}", real=True)
    try:
        partial = differentiate(body, variables[i], answer if textbook else None)
    except SymgradError as error:
        raise SymgradError(f"{where}: {error.message}") from None
    except (ValueError, TypeError, AssertionError):
        # SymPy failing to write a choice whose condition holds another choice (elu's x > 0
        # where x is a where() of a clamp): the sweep splits the template there
        raise _NestedChoice(op, where) from None
    partial = _checked(partial, op, where, None)
    if textbook:
        return sympy.Lambda((*variables, answer), partial)
    return sympy.Lambda(variables, partial)


class _NestedChoice(Exception):  # a signal to _pullbacks, never seen outside
    """SymPy cannot differentiate ``op``'s template whole."""

    def __init__(self, op: T.Elementwise, where: str):
        super().__init__(where)
        self.op, self.where = op, where


class _ChoiceInChoice(Exception):  # a signal to derive, never seen outside
    """SymPy cannot differentiate a scalar formula (``within``) whose choice compares another
    choice (elu's x > 0 where x is a where() of a clamp): writing the inner choice back into
    the derivative's condition fails as it does."""

    def __init__(self, within):
        super().__init__(str(within))
        self.within = within


def _split_at_choices(op: T.Elementwise, where: str) -> T.Elementwise:
    """``op`` with each choice inside another choice of its template (the where() in elu's
    argument) taken out as an operand of its own, as ``tensors.elementwise`` leaves a choice
    unfused when a model is built: the derivative of the rest then compares a plain variable
    (elu's x > 0), and each choice is differentiated on its own."""
    variables, body = op.template.variables, op.template.expr
    choices = _inner_choices(body)
    if not choices:
        raise _nested_choice(where, None)
    operands = dict(zip(variables, op.operands, strict=True))
    taken_out = {}
    for choice in choices:
        placeholder = sympy.Dummy("choice", real=True)
        taken_out[choice] = placeholder
        operands[placeholder] = T.unwrap(
            T.elementwise(
                lambda *values, c=choice: c.xreplace(dict(zip(variables, values, strict=True))),
                *op.operands,
                what="a choice",
            )
        )
    rest = body.xreplace(taken_out)
    kept = [v for v in operands if v in rest.free_symbols]
    renamed = T.template_symbols(len(kept))
    template = sympy.Lambda(tuple(renamed), rest.xreplace(dict(zip(kept, renamed, strict=True))))
    return T.Elementwise(template, *(operands[v] for v in kept))


def _name_inner_choices(node: Node, within, taken: set) -> list[Node]:
    """``node`` derived as more than one: each choice inside another choice of ``within`` (a
    part of its definition) named as a node of its own, ``choice1 = where(…)``, before it, and
    the node's definition reading that name, so that the outer choice's derivative compares
    a plain symbol (elu's choice1 > 0) and each choice is differentiated on its own. What the
    model's author would do by hand (``m.node``), and a formula of scalars has no operands to
    take the choice out into, as ``_split_at_choices`` does for a template."""
    named: list[Node] = []
    for choice in _inner_choices(within):
        if not choice.free_symbols or T.shape_of(choice):
            continue
        k = 1
        while f"choice{k}" in taken:
            k += 1
        name = f"choice{k}"
        taken.add(name)
        named.append(Node(name, sympy.Symbol(name, real=True), choice, node.where))
    if not named:
        where = f"{'loss' if node.is_loss else 'node'} {node.name!r}"
        raise _nested_choice(where, node)
    chosen = {part.expr: part.symbol for part in named}
    written = node.written.xreplace(chosen) if node.written is not None else None
    if written is not None and written.has(*chosen):
        written = None  # the author's order did not hold the choice as SymPy writes it
    rest = node.expr.xreplace(chosen)
    return [*named, Node(node.name, node.symbol, rest, node.where, node.is_loss, written)]


def _inner_choices(expr) -> list:
    """The choices (where(), max, abs, relu, …: ``is_choice``) that another choice inside
    ``expr`` holds in its arguments, the outermost of them, not inside an Elementwise's
    template (whose variables are no quantities)."""
    found: list = []

    def visit(e, held: bool):
        if isinstance(e, sympy.Lambda) or not isinstance(e, sympy.Basic):
            return
        if is_choice(e):
            if held:
                if e not in found:
                    found.append(e)
                return
            held = True
        for arg in e.args:
            visit(arg, held)

    visit(expr, False)
    return found


def _nested_choice(where: str, node: Node | None) -> SymgradError:
    """SymPy failing to write a choice whose condition holds another choice, where no inner
    choice can be taken out (the sweep of a template gave up, or none is named)."""
    return SymgradError(
        f"{where}: {T.NESTED_CHOICE.format(what='a choice')}", node.where if node else None
    )


def _checked(partial, op, where: str, node: Node | None):
    if partial.has(sympy.zoo, sympy.nan):
        raise SymgradError(f"the derivative of {op} in {where} is undefined ({partial})")
    return partial


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


def _local_gradient(node: Node, parent: str, parent_symbol, names) -> LocalGradient:
    # The node's own symbol is the answer its outermost operation's record may write the
    # derivative with (textbook form: σ₃(1 − σ₃) when the node is σ₃ = σ(z₃), 1/(2r) for r = √e).
    what = f"{'loss' if node.is_loss else 'node'} {node.name!r}"
    try:
        expr = differentiate(node.expr, parent_symbol, node.symbol)
    except SymgradError as error:
        raise SymgradError(f"{what}: {error.message}", node.where) from None
    except (ValueError, TypeError, AssertionError):
        if not _inner_choices(node.expr):
            raise
        raise _ChoiceInChoice(node.expr) from None  # derive names the inner choice a node
    if expr.has(sympy.zoo, sympy.nan):
        raise SymgradError(
            f"∂{node.name}/∂{parent} is undefined ({expr}); check the definition of {node.name!r}",
            node.where,
        )
    symbol = None if node.is_loss else Partial(node.name, parent, names(node.name, parent))
    return LocalGradient(node.name, parent, expr, symbol)
