"""Writing a Derivation out as a Python module for one backend.

The emitted ``loss_and_grad`` computes the forward pass once, then the backward pass as one
reverse sweep over the stored intermediates: each local gradient that is more than a symbol gets
a name (``dsigma3_dz3``), each adjoint a line (``dL_dz3 = dL_dsigma3*dsigma3_dz3``). Common
subexpressions across the whole function are shared through SymPy's ``cse``; each shared
temporary is written just before its first use.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from .. import __version__
from ..derivation import Derivation, add
from ..errors import SymgradError
from ..rules import Primitive
from ..tensors import Elementwise
from .printers import PRINTERS, CodePrinter

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


def backward_assignments(derivation: Derivation) -> list[Assignment]:
    """The reverse sweep: named local gradients, then each adjoint as its sum of chain terms."""
    out: list[Assignment] = []
    for adjoint in derivation.adjoints:
        if adjoint.is_loss:
            continue
        factors = []
        for term in adjoint.terms:
            local = term.local
            if local.pullback:  # a matrix share, already in terms of the upstream adjoint
                factors.append(local.expr)
                continue
            if local.symbol is not None and not _is_trivial(local.expr):
                out.append(Assignment(local.symbol, local.expr))
                factor = local.symbol
            else:
                factor = local.expr
            factors.append(factor if term.upstream is None else term.upstream * factor)
        out.append(Assignment(adjoint.symbol, add(adjoint.symbol, factors)))
    return out


def _is_trivial(expr: sympy.Expr) -> bool:
    return expr.is_Symbol or expr.is_Number


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

    hidden = [hide(a.expr) for a in assignments]
    shown = {symbol: template for template, symbol in templates.items()}
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
    functions = [writer.trace()] if trace else [writer.forward(), writer.loss_and_grad()]
    needed = printer.helpers if derivation.is_tensor else printer.helpers | {"_sum_to"}
    helpers = [printer.helper_sources[name] for name in sorted(needed)]
    header = _header(derivation, backend, reduction)
    return "\n\n".join([header, *helpers, *functions]).rstrip() + "\n"


def _header(derivation: Derivation, backend: str, reduction: str) -> str:
    module = "numpy as np" if backend == "numpy" else "torch"
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
        f"import {module}\n"
    )


class _Writer:
    def __init__(self, derivation: Derivation, backend: str, reduction: str, printer: CodePrinter):
        self.d = derivation
        self.backend = backend
        self.reduction = reduction
        self.printer = printer
        self.np = "np" if backend == "numpy" else "torch"

    def signature(self, name: str) -> str:
        args = list(self.d.arguments)
        if self.backend == "torch":
            args += ["*", "device=None", "dtype=torch.float64"]
        decorator = "@torch.no_grad()\n" if self.backend == "torch" else ""
        return f"{decorator}def {name}({', '.join(args)}):"

    def conversions(self) -> list[str]:
        """Torch makes tensors of every argument; a vector declared (n,) becomes a 1×n row."""
        out = []
        for name in self.d.arguments:
            shape = self.d.variable(name).shape
            row = f"(1, {shape[0]})" if len(shape) == 1 else None
            if self.backend == "torch":
                reshape = f".reshape{row}" if row else ""
                out.append(f"{name} = torch.as_tensor({name}, dtype=dtype, device=device){reshape}")
            elif row:
                out.append(f"{name} = np.reshape({name}, {row})")
        return out

    def lines(self, assignments: list[Assignment]) -> list[str]:
        return [f"{a.target.name} = {self.value(a.expr)}" for a in assignments]

    def value(self, expr) -> str:
        text = self.printer.doprint(expr)
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

    def gradient(self, name: str) -> str:
        adjoint = self.d.adjoint(name).symbol.name
        if self.d.is_tensor:
            shape = self.d.variable(name).shape
            if len(shape) == 1:  # back to the declared (n,)
                return (
                    f"{adjoint}.reshape({shape[0]})"
                    if self.backend == "torch"
                    else (f"np.reshape({adjoint}, ({shape[0]},))")
                )
            return adjoint
        scaled = " * _scale" if self.reduction == "mean" else ""
        return f"_sum_to({adjoint}, {name}){scaled}"

    def function(self, name: str, doc: str, body: list[str]) -> str:
        lines = [self.signature(name), f'{INDENT}"""{doc}"""']
        lines += [INDENT + line if line else "" for line in body]
        return "\n".join(lines) + "\n"

    def forward(self) -> str:
        body = self.conversions()
        body += self.lines(schedule_cse(forward_assignments(self.d)))
        body.append(f"return {self.reduced_loss()}")
        return self.function("forward", f"Return {self.describe_loss()}.", body)

    def describe_loss(self) -> str:
        if self.d.is_tensor:
            return f"the loss {self.d.loss.name}"
        return f"{self.d.loss.name}, the {self.reduction} of the per-sample losses"

    def _sweep(self) -> list[str]:
        forward = forward_assignments(self.d)
        backward = backward_assignments(self.d)
        scheduled = schedule_cse(forward + backward)
        split = _position_of(scheduled, self.d.loss.symbol) + 1
        return [
            *self.conversions(),
            "# forward pass",
            *self.lines(scheduled[:split]),
            "",
            "# backward pass: adjoints of one sample's loss, from the loss back"
            if not self.d.is_tensor
            else "# backward pass: adjoints of the loss, from the loss back",
            *self.lines(scheduled[split:]),
            "",
            *self.scale(),
        ]

    def gradients_dict(self) -> list[str]:
        """The ``{name: gradient}`` literal, one entry a line."""
        items = [f'{INDENT}"{name}": {self.gradient(name)},' for name in self.d.wrt]
        return ["{", *items, "}"]

    def loss_and_grad(self) -> str:
        body = self._sweep()
        grads = self.gradients_dict()
        body += [f"return {self.reduced_loss()}, {grads[0]}", *grads[1:]]
        return self.function(
            "loss_and_grad",
            f"Return {self.describe_loss()}, and its gradient.",
            body,
        )

    def trace(self) -> str:
        body = self._sweep()
        named = [node.name for node in self.d.nodes]
        named += [loc.symbol.name for loc in self.d.locals if loc.symbol is not None]
        named += [adj.symbol.name for adj in self.d.adjoints if not adj.is_loss]
        values = ", ".join(f'"{name}": {self._value(name)}' for name in named)
        grads = " ".join(self.gradients_dict())
        body.append(f"return {self.reduced_loss()}, {grads}, {{{values}}}")
        return self.function("trace", "Loss, gradients and every named quantity.", body)

    def _value(self, name: str) -> str:
        # Trivial local gradients are not assigned; their value is their expression.
        for local in self.d.locals:
            if local.symbol is not None and local.symbol.name == name and _is_trivial(local.expr):
                return self.printer.doprint(local.expr)
        return name


def _position_of(assignments: list[Assignment], target: sympy.Symbol) -> int:
    for i, assignment in enumerate(assignments):
        if assignment.target == target:
            return i
    raise AssertionError(f"{target} was not assigned")
