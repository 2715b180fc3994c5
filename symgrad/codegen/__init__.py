"""Code generation: a Derivation becomes a NumPy or PyTorch function and its source."""

from __future__ import annotations

import builtins
import itertools
import linecache
import re
import sys
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import sympy

from ..derivation import Derivation
from ..errors import SymgradError
from .emit import BACKENDS, emit_module, term_name
from .printers import PRINTERS

__all__ = ["BACKENDS", "CompiledGradient", "Trace", "compile", "emit_module", "term_name"]

_counter = itertools.count()


@dataclass(frozen=True)
class Trace:
    """One evaluation with every named quantity: node values, local gradients and adjoints
    (of one sample's loss), keyed by their names in the generated code (``z1``,
    ``dsigma3_dz3``, ``dL_dz3``), and each consumer's share of an adjoint that sums several
    (``dL_dw__from_z``, see ``term_name``)."""

    loss: Any
    gradients: dict[str, Any]
    values: dict[str, Any]


@dataclass(frozen=True)
class CompiledGradient:
    """``loss_and_grad(**values) -> (loss, {name: gradient})`` generated for one backend.

    ``source`` is the standalone module; ``function`` and ``forward`` are its two functions,
    callable positionally in ``arguments`` order for the least overhead.
    """

    derivation: Derivation
    backend: str
    reduction: str
    source: str
    function: Callable = field(repr=False)
    forward_function: Callable = field(repr=False)

    def __repr__(self) -> str:  # the source is thousands of characters: .source has it
        args = ", ".join(self.arguments)
        return (
            f"<{self.backend} gradient of {self.derivation.model!r}: ({args}) -> "
            f"({self.derivation.loss.name}, {{{', '.join(self.wrt)}}}); "
            f"{self.source.count(chr(10))} lines in .source>"
        )

    def _repr_html_(self) -> str:
        """Jupyter: the signature, and the generated module folded under it."""
        from html import escape

        return (
            f"<div><code>{escape(repr(self))}</code><details><summary>source</summary>"
            f"<pre>{escape(self.source)}</pre></details></div>"
        )

    @property
    def trace_function(self) -> Callable:
        """``trace``, generated on first use: only worked examples and the verifier need it."""
        return trace_function(self.derivation, self.backend, self.reduction)

    @property
    def arguments(self) -> tuple[str, ...]:
        return self.derivation.arguments

    @property
    def wrt(self) -> tuple[str, ...]:
        return self.derivation.wrt

    @cached_property
    def _argument_names(self) -> frozenset:
        return frozenset(self.arguments)

    def __call__(self, **values):
        if values.keys() == self._argument_names:  # the documented call: nothing to sort out
            return self.function(**values)
        return self.function(**self._arguments(values))

    def forward(self, **values):
        """The reduced loss alone."""
        if values.keys() == self._argument_names:
            return self.forward_function(**values)
        return self.forward_function(**self._arguments(values))

    def trace(self, **values) -> Trace:
        loss, gradients, named = self.trace_function(**self._arguments(values))
        return Trace(loss, gradients, named)

    def as_autograd_function(self) -> Callable:
        """``loss(**tensors)``, differentiable by torch with this code as its backward pass
        (a ``torch.autograd.Function``): torch.optim, torch.compile and DDP use it."""
        from .autograd import autograd_function

        return autograd_function(self)

    def as_module(self, **values):
        """An ``nn.Module`` whose parameters are the gradient's variables (``values``, else
        the model's example) and whose ``forward(**inputs)`` is the loss, as above."""
        from .autograd import autograd_module

        return autograd_module(self, values)

    def _arguments(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The values the function takes; a declared variable the loss does not read is
        accepted and left out, anything else is an error."""
        options = {"device", "dtype"} if self.backend == "torch" else set()
        declared = {v.name for v in self.derivation.variables}
        unknown = [name for name in values if name not in declared and name not in options]
        if unknown:
            raise SymgradError(
                f"{unknown[0]!r} is not an input or parameter of {self.derivation.model!r} "
                f"(its gradient takes {', '.join(self.arguments)})"
            )
        missing = [name for name in self.arguments if name not in values]
        if missing:
            raise SymgradError(
                f"no value for {', '.join(map(repr, missing))}, needed by the gradient of "
                f"{self.derivation.model!r}"
            )
        return {k: v for k, v in values.items() if k in self.arguments or k in options}


def trace_function(derivation: Derivation, backend: str = "numpy", reduction: str | None = None):
    """The generated ``trace`` of ``derivation``, once per derivation and backend, without
    ``loss_and_grad``: a worked example needs only this (on a 1,000-node chain generating
    the other took 1.6 s of the 6)."""
    reduction = reduction or derivation.reduction
    key = ("trace", backend, reduction)
    function = derivation.compiled.get(key)
    if function is None:
        source = emit_module(derivation, backend, reduction=reduction, trace=True)
        function = _load(source, f"{derivation.model}.{backend}.trace")["trace"]
        derivation.compiled[key] = function
    return function


def compile(
    derivation: Derivation,
    backend: str = "numpy",
    *,
    reduction: str | None = None,
    jit: bool = False,
) -> CompiledGradient:
    """Generate ``loss_and_grad`` for ``backend`` ("numpy" or "torch").

    ``reduction`` ("mean" or "sum") overrides the model's loss reduction over a batch.
    ``jit=True`` (torch only) hands the generated functions to ``torch.compile``, which fuses
    the elementwise work into a few kernels: several times faster on large batches, at the
    price of seconds of compiling on the first call (and a C++ compiler on the machine).
    """
    if jit and backend != "torch":
        raise SymgradError("jit=True needs the torch backend (it uses torch.compile)")
    if backend == "torch":
        try:
            import torch
        except ImportError:
            raise SymgradError(
                "the torch backend needs PyTorch; install it with pip install 'symgrad[torch]'"
            ) from None
    reduction = reduction or derivation.reduction
    key = (backend, reduction, jit)
    cached = derivation.compiled.get(key)  # a derivation never changes: generate code once
    if cached is not None:
        return cached
    source = emit_module(derivation, backend, reduction=reduction)
    namespace = _load(source, f"{derivation.model}.{backend}")
    function, forward = namespace["loss_and_grad"], namespace["forward"]
    if jit:
        function, forward = torch.compile(function), torch.compile(forward)
    compiled = CompiledGradient(
        derivation=derivation,
        backend=backend,
        reduction=reduction,
        source=source,
        function=function,
        forward_function=forward,
    )
    derivation.compiled[key] = compiled
    return compiled


def evaluator(exprs: list, label: str) -> Callable[[Mapping[str, Any]], list]:
    """One generated NumPy function computing ``exprs`` from named values (``env``: the
    variables and a trace's named quantities), printed as the gradient's own code is. The
    verifier's kink finder and the closed-form Hessian evaluate their formulas with it, as the
    worked example reads the trace: one printer and one set of helpers for all of them."""
    printer = PRINTERS["numpy"]()
    texts = [repr(float(e)) if isinstance(e, sympy.Number) else printer.doprint(e) for e in exprs]
    names = sorted(
        {s.name for e in exprs for s in getattr(e, "free_symbols", ()) if hasattr(s, "name")}
    )
    imports = [
        "import math",
        "import numpy as np",
        *[f"import {m}" for m in sorted(printer.modules)],
    ]
    helpers = [printer.helpers[name] for name in sorted(printer.helpers)]
    body = "\n".join(
        [
            '@np.errstate(all="ignore")',
            "def evaluate(env):",
            *[f"    {name} = env[{name!r}]" for name in names],
            "    return [",
            *[f"        {text}," for text in texts],
            "    ]",
        ]
    )
    source = "\n\n".join(["\n".join(imports), *helpers, body]) + "\n"
    return _load(source, label)["evaluate"]


def _load(source: str, label: str) -> dict[str, Any]:
    """Execute generated source as a module of its own: importable by name (torch.compile and
    pickle look functions up by module), with a file name that tracebacks can show."""
    number = next(_counter)
    name = f"symgrad_generated_{number}_" + re.sub(r"\W", "_", label)
    filename = f"<symgrad-{number}:{label}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    module = types.ModuleType(name, f"Generated by symgrad for {label}")
    module.__file__ = filename
    sys.modules[name] = module
    exec(builtins.compile(source, filename, "exec"), module.__dict__)
    return module.__dict__
