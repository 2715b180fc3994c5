"""Writing a Derivation out as a Python module for one backend.

The emitted ``loss_and_grad`` computes the forward pass once, then the backward pass as one
reverse sweep over the stored intermediates: each local gradient that is more than a symbol gets
a name (``dsigma3_dz3``), each adjoint a line (``dL_dz3 = dL_dsigma3*dsigma3_dz3``). Common
subexpressions across the whole function are shared through SymPy's ``cse``; each shared
temporary is written just before its first use.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import sympy

from .. import progress
from .. import tensors as T
from ..derivation import Derivation, add
from ..errors import SymgradError
from ..rules import Primitive
from ..tensors import Elementwise, shape_of
from ..version import __version__
from .buffers import HELPERS as KEPT_HELPERS
from .buffers import KEPT_SIZE, KeptPlan
from .printers import PRINTERS, CodePrinter, FloatPrinter

BACKENDS = tuple(PRINTERS)
INDENT = "    "


@dataclass(frozen=True)
class Assignment:
    target: sympy.Symbol
    expr: sympy.Expr
    comment: str | None = None


def forward_assignments(derivation: Derivation) -> list[Assignment]:
    return [Assignment(node.symbol, written_out(node.expr)) for node in derivation.nodes]


def written_out(expr: sympy.Expr) -> sympy.Expr:
    """Primitives with no code spelling of their own (the losses) replaced by their definitions,
    so that common subexpressions inside them are shared with the backward pass."""
    return expr.replace(
        lambda e: isinstance(e, Primitive) and e.rule.numpy is None and e.rule.torch is None,
        lambda e: e.rule.definition(*e.args),
    )


class Sweep:
    """The backward pass of a derivation as assignments, with one optional rewrite.

    With ``fuse``, a chain that starts at the loss and goes on through exactly one node is
    multiplied out and cancelled when that makes it shorter: BCE after a sigmoid gives
    ∂L/∂z = σ − y instead of (−y/σ + (1 − y)/(1 − σ))·σ(1 − σ). Same value, fewer operations,
    and no division by σ(1 − σ). The worked example's trace never fuses: it shows every step.
    """

    def __init__(self, derivation: Derivation, *, fuse: bool = False):
        self.d = derivation
        self.fused: dict[tuple[str, int], sympy.Expr] = {}
        self.skipped: set[str] = set()
        if fuse and not derivation.is_tensor:
            self._fuse()

    def _fuse(self) -> None:
        loss = self.d.loss.name
        for adjoint in self.d.adjoints:  # the loss's own local gradients, cancelled
            for i, term in enumerate(adjoint.terms):
                if term.upstream is None and not term.local.pullback and term.local.node == loss:
                    candidate = sympy.cancel(term.local.expr)
                    if sympy.count_ops(candidate) < sympy.count_ops(term.local.expr):
                        self.fused[(adjoint.name, i)] = candidate
        uses: dict[sympy.Symbol, int] = {}
        for adjoint in self.d.adjoints:
            for term in adjoint.terms:
                if term.upstream is not None:
                    uses[term.upstream] = uses.get(term.upstream, 0) + 1
        for adjoint in self.d.adjoints:
            for i, term in enumerate(adjoint.terms):
                if term.upstream is None or uses.get(term.upstream) != 1:
                    continue
                upstream = self.d.adjoint(term.consumer)
                if len(upstream.terms) != 1 or upstream.terms[0].upstream is not None:
                    continue  # only a chain that starts at the loss
                if term.local.pullback or upstream.terms[0].local.pullback:
                    continue
                first, second = upstream.terms[0].local.expr, term.local.expr
                candidate = sympy.cancel(first * second)
                if sympy.count_ops(candidate) < sympy.count_ops(first) + sympy.count_ops(second):
                    self.fused[(adjoint.name, i)] = candidate
                    self.skipped.add(upstream.name)

    def terms(self, adjoint, *, named_locals: bool) -> list:
        out = []
        for i, term in enumerate(adjoint.terms):
            local = term.local
            if (adjoint.name, i) in self.fused:
                out.append(self.fused[(adjoint.name, i)])
            elif local.pullback:  # a matrix share, already in terms of the upstream adjoint
                out.append(local.expr)
            else:
                named = named_locals and local.symbol is not None and not _is_trivial(local.expr)
                factor = local.symbol if named else local.expr
                out.append(factor if term.upstream is None else term.upstream * factor)
        return out

    def expr(self, adjoint) -> sympy.Expr:
        """The adjoint with its local gradients written out (for a gradient returned as is)."""
        return add(adjoint.symbol, self.terms(adjoint, named_locals=False))

    def assignments(
        self, leave_out: set[str] = frozenset(), *, named_terms: bool = False
    ) -> list[Assignment]:
        """Named local gradients, then each adjoint as its sum of chain terms. With
        ``named_terms``, each term of a sum over several consumers is assigned first, under
        ``term_name`` (what the worked example and the graph show branch by branch)."""
        out: list[Assignment] = []
        for adjoint in self.d.adjoints:
            if adjoint.is_loss or adjoint.name in self.skipped or adjoint.name in leave_out:
                continue
            for i, term in enumerate(adjoint.terms):
                local = term.local
                fused = (adjoint.name, i) in self.fused
                if not fused and local.symbol is not None and not _is_trivial(local.expr):
                    out.append(Assignment(local.symbol, local.expr))
            terms = self.terms(adjoint, named_locals=True)
            if named_terms and len(terms) > 1:
                symbols = [
                    term_symbol(adjoint, term, expr)
                    for term, expr in zip(adjoint.terms, terms, strict=True)
                ]
                out += [Assignment(s, e) for s, e in zip(symbols, terms, strict=True)]
                terms = symbols
            out.append(Assignment(adjoint.symbol, add(adjoint.symbol, terms)))
        return out


def term_name(adjoint, term) -> str:
    """The name of one consumer's share of an adjoint in the trace: ``dL_dw__from_z`` is what
    flows back into ∂L/∂w from the node z. A double underscore cannot clash with a model's
    names (``check_name`` refuses them)."""
    return f"{adjoint.symbol.name}__from_{term.consumer}"


def term_symbol(adjoint, term, expr) -> sympy.Basic:
    """A symbol for one term of an adjoint, shaped like the term's expression."""
    shape = shape_of(expr)
    name = term_name(adjoint, term)
    return T.array_symbol(name, shape)


def backward_assignments(derivation: Derivation) -> list[Assignment]:
    """The reverse sweep as the worked example shows it: every local gradient and adjoint."""
    return Sweep(derivation).assignments()


def _is_trivial(expr: sympy.Expr) -> bool:
    return expr.is_Symbol or expr.is_Number


# Expression nodes up to which SymPy's cse runs: it costs about 1 ms a node (a tanh rebuilt
# asks its assumptions again), so a 1,000-node chain's 20,000 nodes took 10 s.
SYMPY_CSE_NODES = 5000


def schedule_cse(assignments: list[Assignment]) -> list[Assignment]:
    """Share common subexpressions; each temporary goes right before its first user."""
    if not assignments:
        return []
    # An Elementwise template is a Lambda whose variables are bound: CSE must not pull pieces
    # out of it, so each template is hidden behind an opaque symbol while CSE runs.
    templates: dict[sympy.Basic, sympy.Symbol] = {}

    def hide(expr):
        return expr.replace(
            lambda e: isinstance(e, Elementwise) and not isinstance(e.template, sympy.Symbol),
            lambda e: Elementwise(
                templates.setdefault(e.template, sympy.Symbol(f"__template{len(templates)}")),
                *e.operands,
            ),
        )

    hidden = [hide(a.expr) if a.expr.has(Elementwise) else a.expr for a in assignments]
    shown = {symbol: template for template, symbol in templates.items()}
    nodes = [e for expr in hidden for e in sympy.preorder_traversal(expr)]
    if len(nodes) > SYMPY_CSE_NODES or any(
        isinstance(e, sympy.MatrixExpr) and len(T.shape_of(e)) != 2 for e in nodes
    ):
        # SymPy's cse makes every temporary array a matrix: arrays of another rank need ours;
        # and it rebuilds every node (SymPy evaluating each anew), which a long model cannot
        # afford, where ours rebuilds only what changed
        replacements, reduced = common_subexpressions(hidden)
    else:  # SymPy's also shares common factors of products (w·x of 2·w·x)
        temps = sympy.numbered_symbols("_t", real=True)
        replacements, reduced = sympy.cse(hidden, symbols=temps, order="none")
    replacements = [(t, e.xreplace(shown)) for t, e in replacements]
    reduced = [e.xreplace(shown) for e in reduced]
    definitions = dict(replacements)
    emitted: set[sympy.Symbol] = set()
    out: list[Assignment] = []

    def emit_temp(temp: sympy.Symbol) -> None:
        if temp in emitted:
            return
        for dependency in _temps_in(definitions[temp], definitions):
            emit_temp(dependency)
        emitted.add(temp)
        out.append(Assignment(temp, definitions[temp]))

    for assignment, expr in zip(assignments, reduced, strict=True):
        for temp in _temps_in(expr, definitions):
            emit_temp(temp)
        out.append(Assignment(assignment.target, expr, assignment.comment))
    return out


def common_subexpressions(exprs: list) -> tuple[list, list]:
    """SymPy's tree CSE, with each temporary shaped like what it stands for (a scalar, a
    matrix, or an array of another rank, which SymPy's own cse would make a matrix of).
    Returns the temporaries with their definitions, in an order that defines each before its
    use, and the expressions rewritten with them."""
    seen: set = set()
    repeated: set = set()

    def shareable(e) -> bool:
        if e.is_Atom or isinstance(e, (sympy.MatrixSymbol, T.ArraySymbol, sympy.Tuple)):
            return False
        if e.is_Mul and len(e.args) == 2 and e.args[0] == -1 and e.args[1].is_Atom:
            return False  # −y costs nothing to write again
        return isinstance(e, (sympy.Expr, sympy.MatrixExpr, sympy.logic.boolalg.Boolean))

    def count(e) -> None:
        if not shareable(e):
            if isinstance(e, sympy.Basic) and not e.is_Atom:
                for arg in e.args:
                    count(arg)
            return
        if e in seen:
            repeated.add(e)
            return
        seen.add(e)
        for arg in e.args:
            count(arg)

    for expr in exprs:
        count(expr)
    names = (f"_t{i}" for i in itertools.count())
    rebuilt: dict = {}
    replacements: list = []

    def rebuild(e):
        if e in rebuilt:
            return rebuilt[e]
        if not isinstance(e, sympy.Basic) or e.is_Atom or not e.args:
            return e
        args = [rebuild(a) for a in e.args]
        new = e if all(a is b for a, b in zip(args, e.args, strict=True)) else e.func(*args)
        if e in repeated:
            shape = T.shape_of(e)
            temp = (
                T.array_symbol(next(names), shape)
                if shape
                else sympy.Symbol(next(names), real=True)
            )
            replacements.append((temp, new))
            new = temp
        rebuilt[e] = new
        return new

    reduced = [rebuild(expr) for expr in exprs]
    return replacements, reduced


def _temps_in(expr: sympy.Expr, definitions) -> list[sympy.Symbol]:
    return sorted((s for s in expr.free_symbols if s in definitions), key=lambda s: s.name)


def emit_module(
    derivation: Derivation, backend: str, *, reduction: str | None = None, trace: bool = False
) -> str:
    """The source of a standalone module with ``forward`` and ``loss_and_grad``.

    With ``trace=True`` it holds ``trace`` instead, which also returns every named quantity
    (nodes, local gradients, adjoints), for worked examples and the verifier.
    """
    if backend not in PRINTERS:
        raise SymgradError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    reduction = reduction or derivation.reduction
    if reduction not in ("mean", "sum"):
        raise SymgradError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
    printer = PRINTERS[backend]()
    writer = _Writer(derivation, backend, reduction, printer)
    if trace:
        steps = [lambda: [writer.trace()]]
    else:
        steps = [lambda: [writer.forward()], lambda: [writer.loss_and_grad()]]
        if writer.float_path:
            steps.append(writer.float_functions)
        if writer.kept_path:
            steps.append(writer.kept_functions)
    functions = []
    for done, step in enumerate(steps):
        progress.report(f"generating {backend} code", done, len(steps))
        functions += step()
    sources = dict(printer.helpers)
    modules = set(printer.modules)
    if writer.float_path and not trace:
        sources.update(writer.floats.helpers)
        modules |= writer.floats.modules
    helpers = [sources[name] for name in sorted(sources)]
    math = writer.float_path and not trace
    header = _header(derivation, backend, reduction, math=math, modules=sorted(modules))
    return "\n\n".join([header, *helpers, *functions]).rstrip() + "\n"


def _header(
    derivation: Derivation, backend: str, reduction: str, *, math: bool = False, modules=()
) -> str:
    module = "numpy as np" if backend == "numpy" else "torch"
    standard = ["math"] * math + ["threading"] * ("threading" in modules)
    imports = "".join(f"import {name}\n" for name in standard) + ("\n" if standard else "")
    imports += f"import {module}\n"
    imports += "".join(f"import {name}\n" for name in modules if name not in standard)
    arguments = ", ".join(derivation.arguments)
    grads = ", ".join(f'"{name}": ∂{derivation.loss.name}/∂{name}' for name in derivation.wrt)
    if derivation.is_tensor:
        shapes = ", ".join(
            f"{v.name} {'×'.join(map(str, v.shape)) or 'scalar'}"
            for v in derivation.variables
            if v.name in derivation.arguments
        )
        batch = f"Arguments have the declared shapes: {shapes}."
    else:
        batch = (
            "Every argument may be a number or an array; they broadcast together over a batch,\n"
            f"and the loss is the {reduction} of the per-sample losses."
        )
        if math:
            batch += (
                "\nWith Python floats for every argument, plain float arithmetic (math) does the "
                "work."
            )
        if "threading" in modules:
            batch += (
                f"\nA batch of {KEPT_SIZE:,} samples or more, with one number for each other "
                "argument, is computed\ninto arrays kept from call to call (per thread)."
            )
    device = (
        "\nArguments become tensors of the given dtype (default float64) on the given device."
        if backend == "torch"
        else ""
    )
    return (
        f'"""Loss and gradient of the model {derivation.model!r}, '
        f"generated by symgrad {__version__}.\n"
        "\n"
        f"    forward({arguments}) -> {derivation.loss.name}\n"
        f"    loss_and_grad({arguments}) -> ({derivation.loss.name}, {{{grads}}})\n"
        "\n"
        f"{batch}{device}\n"
        '"""\n'
        "\n"
        f"{imports}"
    )


class _Writer:
    def __init__(self, derivation: Derivation, backend: str, reduction: str, printer: CodePrinter):
        self.d = derivation
        self.backend = backend
        self.reduction = reduction
        self.printer = printer
        # One sample in Python floats is best served by float arithmetic, not array calls.
        self.float_path = backend == "numpy" and not derivation.is_tensor
        self.floats = FloatPrinter() if self.float_path else None
        # A large batch is served by code writing into kept arrays (see buffers): the batch
        # is the inputs not differentiated, and every other argument must be one number.
        roles = {v.name: v.role for v in derivation.variables}
        self.batch = [
            a for a in derivation.arguments if roles[a] == "input" and a not in derivation.wrt
        ]
        self.single = [a for a in derivation.arguments if a not in self.batch]
        self.kept_path = not derivation.is_tensor and bool(self.batch)
        self._scheduled: dict = {}
        self._fused: Sweep | None = None

    def forward_schedule(self) -> list[Assignment]:
        if "forward" not in self._scheduled:
            self._scheduled["forward"] = schedule_cse(forward_assignments(self.d))
        return self._scheduled["forward"]

    def fused(self) -> Sweep:
        if self._fused is None:
            self._fused = Sweep(self.d, fuse=True)
        return self._fused

    # --- pieces ---------------------------------------------------------------------------

    def signature(self, name: str) -> str:
        args = list(self.d.arguments)
        if self.backend == "torch":
            args += ["*", "device=None", "dtype=torch.float64"]
        # inf and NaN come back as values, as NumPy gives them; its warnings about them would
        # land in the user's output from a module the user did not write
        decorator = (
            "@torch.no_grad()\n" if self.backend == "torch" else '@np.errstate(all="ignore")\n'
        )
        return f"{decorator}def {name}({', '.join(args)}):"

    def conversions(self) -> list[str]:
        """Torch makes tensors of every argument."""
        if self.backend != "torch":
            return []
        return [
            f"{name} = torch.as_tensor({name}, dtype=dtype, device=device)"
            for name in self.d.arguments
        ]

    def lines(self, assignments: list[Assignment], printer: CodePrinter | None = None) -> list[str]:
        return [f"{a.target.name} = {self.value(a.expr, printer)}" for a in assignments]

    def value(self, expr, printer: CodePrinter | None = None) -> str:
        printer = printer or self.printer
        # an integer constant (a gradient of 0) is a float, as NumPy's gradient would be
        text = repr(float(expr)) if isinstance(expr, sympy.Integer) else printer.doprint(expr)
        if (
            self.backend == "torch"
            and not expr.free_symbols
            and not isinstance(expr, sympy.MatrixExpr)
        ):
            # a constant quantity is a tensor too, so torch functions accept it downstream
            return f"torch.as_tensor({text}, dtype=dtype, device=device)"
        return text

    def reduced_loss(self) -> str:
        loss = self.d.loss.name
        if self.d.is_tensor:  # the loss of a tensor model is already one number
            return loss
        if self.backend == "numpy":
            return f"np.{self.reduction}({loss})"
        return f"{loss}.{self.reduction}()"

    def scale(self) -> list[str]:
        if self.reduction == "sum" or self.d.is_tensor:
            return []
        size = (
            f"np.size({self.d.loss.name})"
            if self.backend == "numpy"
            else (f"{self.d.loss.name}.numel()")
        )
        return [f"_scale = 1.0 / {size}  # the mean over the batch"]

    def function(self, name: str, doc: str, body: list[str]) -> str:
        lines = [self.signature(name), f'{INDENT}"""{doc}"""']
        lines += [INDENT + line if line else "" for line in body]
        return "\n".join(lines) + "\n"

    def describe_loss(self) -> str:
        if self.d.is_tensor:
            return f"the loss {self.d.loss.name}"
        return f"{self.d.loss.name}, the {self.reduction} of the per-sample losses"

    def dispatch(self, name: str) -> list[str]:
        """Hand Python floats to the float version; NumPy takes over on inf, nan or a domain
        error (math raises where NumPy returns inf or nan), with the floats as NumPy scalars
        (a Python float to a fractional power would be complex), which do not come back here."""
        if not self.float_path:
            return []
        checks = [f"type({a}) is float" for a in self.d.arguments]
        rows = [" and ".join(checks[i : i + 3]) for i in range(0, len(checks), 3)]
        condition = [f"{INDENT}{'and ' if i else ''}{row}" for i, row in enumerate(rows)]
        as_numpy = [f"np.float64({a})" for a in self.d.arguments]
        calls = [", ".join(as_numpy[i : i + 3]) for i in range(0, len(as_numpy), 3)]
        return [
            "if (",
            *condition,
            "):",
            f"{INDENT}try:",
            f"{INDENT * 2}return _{name}_floats({', '.join(self.d.arguments)})",
            f"{INDENT}except (ArithmeticError, ValueError):",
            f"{INDENT * 2}return {name}(",
            *[f"{INDENT * 3}{call}," for call in calls],
            f"{INDENT * 2})",
        ]

    # --- the sweep ------------------------------------------------------------------------

    def schedule(
        self, sweep: Sweep, leave_out=frozenset(), *, named_terms: bool = False
    ) -> list[Assignment]:
        """The forward pass and the sweep, common subexpressions shared (once: the float and
        the kept versions print the same schedule again)."""
        key = (id(sweep), frozenset(leave_out), named_terms)
        if key not in self._scheduled:
            assignments = forward_assignments(self.d) + sweep.assignments(
                leave_out, named_terms=named_terms
            )
            self._scheduled[key] = schedule_cse(assignments)
        return self._scheduled[key]

    def _sweep(
        self, sweep: Sweep, leave_out=frozenset(), printer=None, *, named_terms: bool = False
    ) -> list[str]:
        scheduled = self.schedule(sweep, leave_out, named_terms=named_terms)
        split = _position_of(scheduled, self.d.loss.symbol) + 1
        return [
            "# forward pass",
            *self.lines(scheduled[:split], printer),
            "",
            "# backward pass: adjoints of one sample's loss, from the loss back"
            if not self.d.is_tensor
            else "# backward pass: adjoints of the loss, from the loss back",
            *self.lines(scheduled[split:], printer),
        ]

    def dot_products(self, sweep: Sweep) -> dict[str, tuple]:
        """The gradients of a scalar model that are a product of two named quantities,
        ∂L/∂W₁ = ∂L/∂z₁ · x₁: summed over the batch without forming the product."""
        if self.d.is_tensor:
            return {}
        out = {}
        for name in self.d.wrt:
            expr = sweep.expr(self.d.adjoint(name))
            if isinstance(expr, sympy.Mul):
                coefficient, factors = expr.as_coeff_mul()
                if len(factors) == 2 and all(f.is_Symbol for f in factors):
                    out[name] = (coefficient, *factors)
        return out

    def gradient(self, name: str, sweep: Sweep, dots: dict[str, tuple] | None = None) -> str:
        """The gradient of ``name`` as returned: a scalar model's per-sample adjoint reduced to
        the variable's shape (a product summed without forming it), a tensor's adjoint as is."""
        if self.d.is_tensor:
            return self.d.adjoint(name).symbol.name
        scaled = " * _scale" if self.reduction == "mean" else ""
        loss = self.d.loss.name
        batch = f"np.shape({loss})" if self.backend == "numpy" else f"{loss}.shape"
        if dots and name in dots:
            coefficient, a, b = dots[name]
            times = "" if coefficient == 1 else f"{self.printer.doprint(coefficient)} * "
            self.printer.use("_sum_product(_sum_to(")
            return f"{times}_sum_product({a.name}, {b.name}, {name}, {batch}){scaled}"
        self.printer.use("_sum_to(")
        return f"_sum_to({self.d.adjoint(name).symbol.name}, {name}, {batch}){scaled}"

    def gradients_dict(self, gradients: dict[str, str]) -> list[str]:
        """The ``{name: gradient}`` literal, one entry a line."""
        items = [f'{INDENT}"{name}": {text},' for name, text in gradients.items()]
        return ["{", *items, "}"]

    def returned(self, gradients: dict[str, str], loss: str | None = None) -> list[str]:
        lines = self.gradients_dict(gradients)
        return [f"return {loss or self.reduced_loss()}, {lines[0]}", *lines[1:]]

    # --- the functions ----------------------------------------------------------------------

    def forward(self) -> str:
        body = self.dispatch("forward") + self.conversions() + self.kept_dispatch("forward")
        body += self.lines(self.forward_schedule())
        body.append(f"return {self.reduced_loss()}")
        return self.function("forward", f"Return {self.describe_loss()}.", body)

    def loss_and_grad(self) -> str:
        sweep = self.fused()
        dots = self.dot_products(sweep)
        body = self.dispatch("loss_and_grad") + self.conversions()
        body += self.kept_dispatch("loss_and_grad")
        body += self._sweep(sweep, set(dots))
        body += ["", *self.scale()]
        body += self.returned({name: self.gradient(name, sweep, dots) for name in self.d.wrt})
        return self.function(
            "loss_and_grad", f"Return {self.describe_loss()}, and its gradient.", body
        )

    def float_functions(self) -> list[str]:
        """``forward`` and ``loss_and_grad`` for one sample given as Python floats."""
        floats = self.floats
        forward_body = self.lines(self.forward_schedule(), floats)
        forward_body.append(f"return {self.d.loss.name}")
        sweep = self.fused()
        dots = self.dot_products(sweep)
        body = self._sweep(sweep, set(dots), floats)
        gradients = {
            name: floats.doprint(sweep.expr(self.d.adjoint(name)))
            if name in dots
            else self.d.adjoint(name).symbol.name
            for name in self.d.wrt
        }
        body += ["", *self.returned(gradients, loss=self.d.loss.name)]
        args = ", ".join(self.d.arguments)
        return [
            f"def _forward_floats({args}):\n"
            + "\n".join(INDENT + line if line else "" for line in forward_body)
            + "\n",
            f"def _loss_and_grad_floats({args}):\n"
            + "\n".join(INDENT + line if line else "" for line in body)
            + "\n",
        ]

    def kept_dispatch(self, name: str) -> list[str]:
        """Hand a large batch to the version that writes into kept arrays."""
        if not self.kept_path:
            return []
        self.printer.helpers.update(KEPT_HELPERS[self.backend])
        self.printer.modules.add("threading")
        return [
            f"_shape = _batch_shape({_tuple(self.batch)}, {_tuple(self.single)})",
            "if _shape is not None:",
            f"{INDENT}return _{name}_kept(_shape, {', '.join(self._kept_arguments())})",
        ]

    def _kept_arguments(self) -> list[str]:
        extra = ["device", "dtype"] if self.backend == "torch" else []
        return [*self.d.arguments, *extra]

    def kept_functions(self) -> list[str]:
        """``forward`` and ``loss_and_grad`` for a large batch, into kept arrays."""
        loss = self.d.loss.symbol
        sweep = self.fused()
        dots = self.dot_products(sweep)
        read = [loss]
        for name in self.d.wrt:
            read += list(dots[name][1:]) if name in dots else [self.d.adjoint(name).symbol]
        gradients = {name: self.gradient(name, sweep, dots) for name in self.d.wrt}
        return [
            self._kept_function(
                "forward", self.forward_schedule(), [loss], [f"return {self.reduced_loss()}"]
            ),
            self._kept_function(
                "loss_and_grad",
                self.schedule(sweep, set(dots)),
                read,
                [*self.scale(), *self.returned(gradients)],
            ),
        ]

    def _kept_function(self, name, assignments, read, ending) -> str:
        batch = {v.symbol: v.name for v in self.d.variables if v.name in self.batch}
        plan = KeptPlan(self.printer, self.backend, batch, self.value)
        for assignment in assignments:
            plan.assign(assignment.target, assignment.expr)
        lines, count = plan.lines(read)
        if self.backend == "numpy":  # a Python 0.0 would raise where NumPy gives inf
            lines[:0] = [f"{name} = np.float64({name})" for name in self.single]
        if count:
            like = f", {self.batch[0]}" if self.backend == "torch" else ""
            buffers = _tuple([f"_b{i}" for i in range(count)])[1:-1]
            lines.insert(0, f"{buffers} = _kept(_shape, {count}{like})")
        body = [*lines, *ending]
        args = ", ".join(["_shape", *self._kept_arguments()])
        return (
            f"def _{name}_kept({args}):\n"
            + "\n".join(INDENT + line if line else "" for line in body)
            + "\n"
        )

    def trace(self) -> str:
        sweep = Sweep(self.d)  # every step, as the worked example shows it
        # Python floats as NumPy scalars: inf or nan where Python would raise (1/0, log(-2))
        as_numpy = [
            f"{a} = np.float64({a}) if type({a}) is float else {a}" for a in self.d.arguments
        ]
        body = (as_numpy if self.float_path else []) + self.conversions()
        body += [*self._sweep(sweep, named_terms=True), "", *self.scale()]
        named = [node.name for node in self.d.nodes]
        named += [loc.symbol.name for loc in self.d.locals if loc.symbol is not None]
        for adjoint in self.d.adjoints:
            if adjoint.is_loss:
                continue
            if len(adjoint.terms) > 1:
                named += [term_name(adjoint, term) for term in adjoint.terms]
            named.append(adjoint.symbol.name)
        values = ", ".join(f'"{name}": {self._value(name)}' for name in named)
        gradients = {name: self._traced_gradient(name) for name in self.d.wrt}
        grads = " ".join(self.gradients_dict(gradients))
        body.append(f"return {self.reduced_loss()}, {grads}, {{{values}}}")
        return self.function("trace", "Loss, gradients and every named quantity.", body)

    def _traced_gradient(self, name: str) -> str:
        return self.gradient(name, Sweep(self.d))

    def _value(self, name: str) -> str:
        # Trivial local gradients are not assigned; their value is their expression.
        local = self._trivial_locals.get(name)
        return name if local is None else self.printer.doprint(local.expr)

    @functools.cached_property
    def _trivial_locals(self) -> dict:
        """By name (a dict: a 1,000-node chain asks for 5,000 names among 3,000 locals)."""
        return {
            local.symbol.name: local
            for local in self.d.locals
            if local.symbol is not None and _is_trivial(local.expr)
        }


def _tuple(names: list[str]) -> str:
    return f"({names[0]},)" if len(names) == 1 else f"({', '.join(names)})"


def _position_of(assignments: list[Assignment], target: sympy.Symbol) -> int:
    for i, assignment in enumerate(assignments):
        if assignment.target == target:
            return i
    raise AssertionError(f"{target} was not assigned")
