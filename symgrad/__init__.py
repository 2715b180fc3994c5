"""symgrad: derive gradients symbolically by the chain rule, generate NumPy and PyTorch code for
them, prove them right, and write the derivation out as a worked example.

    model.py ──load──▶ Model ──derive──▶ Derivation ──┬─ compile ─▶ NumPy / Torch function
                                                        ├─ render ──▶ worked example
                                                        ├─ graph ───▶ computational graph
                                                        └─ verify ──▶ Report (vs autograd, vs
                                                                      finite differences)
"""

from .checking.testing import assert_gradients
from .checking.verify import Report, verify
from .codegen import CompiledGradient, Trace, compile
from .derivation import Adjoint, ChainTerm, Derivation, LocalGradient, Partial, derive
from .errors import SymgradError
from .model import Model, Node, Variable
from .rendering import render
from .rendering.graph import Graph, graph, graph_dot, write_graph
from .rules import Rule, primitive, public_functions, records
from .second_order import hessian
from .tensors import (
    Tensor,
    avg_pool1d,
    avg_pool2d,
    concatenate,
    conv1d,
    conv2d,
    cross_entropy,
    cumprod,
    cumsum,
    det,
    expand_dims,
    hadamard,
    inv,
    log_softmax,
    logdet,
    logsumexp,
    matmul,
    max_pool1d,
    max_pool2d,
    mean,
    norm,
    one_hot,
    reshape,
    softmax,
    squeeze,
    stack,
    std,
    swapaxes,
    trace,
    transpose,
    var,
    where,
)
from .tensors import max as max
from .tensors import min as min
from .tensors import prod as prod
from .tensors import sum as sum
from .version import __version__

# Every function of the rule table by its NumPy name (sigmoid, tanh, arcsin, erf, maximum, …),
# acting entry by entry on matrices; SymPy's spellings (Abs, Max, Min, Heaviside) too.
FUNCTIONS = public_functions()
globals().update(FUNCTIONS)

__all__ = [
    "Adjoint",
    "ChainTerm",
    "CompiledGradient",
    "Derivation",
    "Graph",
    "LocalGradient",
    "Model",
    "Node",
    "Partial",
    "Report",
    "Rule",
    "SymgradError",
    "Tensor",
    "Trace",
    "Variable",
    "__version__",
    "assert_gradients",
    "avg_pool1d",
    "avg_pool2d",
    "compile",
    "concatenate",
    "conv1d",
    "conv2d",
    "cross_entropy",
    "cumprod",
    "cumsum",
    "derive",
    "det",
    "expand_dims",
    "graph",
    "graph_dot",
    "hadamard",
    "hessian",
    "inv",
    "log_softmax",
    "logdet",
    "logsumexp",
    "matmul",
    "max",
    "max_pool1d",
    "max_pool2d",
    "mean",
    "min",
    "norm",
    "one_hot",
    "primitive",
    "prod",
    "records",
    "render",
    "reshape",
    "softmax",
    "squeeze",
    "stack",
    "std",
    "sum",
    "swapaxes",
    "trace",
    "transpose",
    "var",
    "verify",
    "where",
    "write_graph",
    *sorted(FUNCTIONS),
]


def __getattr__(name: str):
    """``symgrad.strategies`` (Hypothesis strategies) on first use: Hypothesis is a test-time
    dependency, not one of symgrad's."""
    if name == "from_torch":  # imports torch only when used
        from .pytorch import from_torch

        return from_torch
    if name == "strategies":
        import importlib

        return importlib.import_module(".checking.strategies", __name__)
    raise AttributeError(f"module 'symgrad' has no attribute {name!r}")
