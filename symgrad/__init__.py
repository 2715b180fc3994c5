"""symgrad: derive gradients symbolically by the chain rule, generate NumPy and PyTorch code for
them, prove them right, and write the derivation out as a worked example.

    model.py ──load──▶ Model ──derive──▶ Derivation ──┬─ compile ─▶ NumPy / Torch function
                                                        ├─ render ──▶ worked example
                                                        ├─ graph ───▶ computational graph
                                                        └─ verify ──▶ Report (vs autograd, vs
                                                                      finite differences)
"""

__version__ = "0.1.0"

import sympy as _sympy

from .codegen import CompiledGradient, Trace, compile
from .derivation import Adjoint, ChainTerm, Derivation, LocalGradient, Partial, derive
from .errors import SymgradError
from .graph import graph_dot, write_graph
from .model import Model, Node, Variable
from .rendering import render
from .rules import (
    RULES,
    Rule,
    bce,
    mse,
    relu,
    sigmoid,
    softplus,
    squared_error,
    sum_squares,
)
from .tensors import (
    Tensor,
    cross_entropy,
    det,
    entry_by_entry,
    hadamard,
    inv,
    log_softmax,
    logdet,
    mean,
    norm,
    one_hot,
    softmax,
    trace,
    transpose,
)
from .tensors import sum as sum
from .testing import assert_gradients
from .verify import Report, verify

# SymPy's functions, acting entry by entry when given a matrix.
Abs = entry_by_entry(_sympy.Abs)
Heaviside = entry_by_entry(_sympy.Heaviside)
Max = entry_by_entry(_sympy.Max)
Min = entry_by_entry(_sympy.Min)
cos = entry_by_entry(_sympy.cos)
exp = entry_by_entry(_sympy.exp)
log = entry_by_entry(_sympy.log)
sign = entry_by_entry(_sympy.sign)
sin = entry_by_entry(_sympy.sin)
sqrt = entry_by_entry(_sympy.sqrt)
tanh = entry_by_entry(_sympy.tanh)

__all__ = [
    "RULES",
    "Abs",
    "Adjoint",
    "ChainTerm",
    "CompiledGradient",
    "Derivation",
    "Heaviside",
    "LocalGradient",
    "Max",
    "Min",
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
    "bce",
    "compile",
    "cos",
    "cross_entropy",
    "derive",
    "det",
    "exp",
    "graph_dot",
    "hadamard",
    "inv",
    "log",
    "log_softmax",
    "logdet",
    "mean",
    "mse",
    "norm",
    "one_hot",
    "relu",
    "render",
    "sigmoid",
    "sign",
    "sin",
    "softmax",
    "softplus",
    "sqrt",
    "squared_error",
    "sum",
    "sum_squares",
    "tanh",
    "trace",
    "transpose",
    "verify",
    "write_graph",
]
