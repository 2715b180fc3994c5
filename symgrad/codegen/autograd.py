"""The generated Torch code back inside PyTorch: a ``torch.autograd.Function`` whose forward is
the generated loss and whose backward is the generated reverse sweep, so that ``torch.optim``,
``torch.compile`` and ``DistributedDataParallel`` use symgrad's gradient where a model used
autograd's.

The forward pass computes the loss and the gradient in one fused sweep (the generated
``loss_and_grad``) and keeps the gradient; the backward pass scales it by the incoming adjoint
of the loss. An input that is not a variable of the gradient (data, labels) gets none.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import SymgradError


def autograd_function(compiled) -> Callable:
    """``loss(**tensors)``: the compiled model's loss as a differentiable torch function."""
    import torch

    if compiled.backend != "torch":
        raise SymgradError(
            "as_autograd_function needs the Torch code: symgrad.compile(derivation, 'torch')"
        )
    names = compiled.arguments
    wrt = set(compiled.wrt)
    function = compiled.function

    class SymgradLoss(torch.autograd.Function):
        @staticmethod
        def forward(ctx, *values):
            floats = [v for v in values if torch.is_tensor(v) and v.is_floating_point()]
            reference = floats[0] if floats else torch.empty(())
            loss, gradients = function(*values, device=reference.device, dtype=reference.dtype)
            ctx.gradients = [gradients.get(name) if name in wrt else None for name in names]
            return loss

        @staticmethod
        def backward(ctx, upstream):
            return tuple(
                None if g is None or not needed else upstream * g
                for g, needed in zip(ctx.gradients, ctx.needs_input_grad, strict=True)
            )

    def loss(**values):
        missing = [name for name in names if name not in values]
        unknown = [name for name in values if name not in names]
        if missing or unknown:
            problem = f"no value for {', '.join(missing)}" if missing else f"no {unknown[0]!r}"
            raise SymgradError(
                f"{compiled.derivation.model}: {problem} (the loss takes {', '.join(names)})"
            )
        return SymgradLoss.apply(*[values[name] for name in names])

    loss.__name__ = f"{compiled.derivation.model}_loss"
    loss.function = SymgradLoss
    return loss


def autograd_module(compiled, values=None):
    """An ``nn.Module`` holding the gradient's variables as parameters (from ``values`` or the
    model's example) whose ``forward(**inputs)`` is the loss through ``autograd_function``."""
    import torch

    loss = autograd_function(compiled)
    start = {**compiled.derivation.example, **(values or {})}
    missing = [name for name in compiled.wrt if name not in start]
    if missing:
        raise SymgradError(f"no starting value for {', '.join(missing)}")

    class SymgradModule(torch.nn.Module):
        def __init__(self):
            super().__init__()
            for name in compiled.wrt:
                value = torch.as_tensor(np.asarray(start[name], dtype=np.float64))
                self.register_parameter(name, torch.nn.Parameter(value))

        def forward(self, **inputs):
            return loss(**inputs, **dict(self.named_parameters()))

    SymgradModule.__name__ = SymgradModule.__qualname__ = f"{compiled.derivation.model}_module"
    return SymgradModule()
