"""symgrad: derive gradients symbolically by the chain rule, generate NumPy and PyTorch code for
them, prove them right, and write the derivation out as a worked example.

    model.py ──load──▶ Model ──derive──▶ Derivation ──┬─ compile ─▶ NumPy / Torch function
                                                        ├─ render ──▶ worked example
                                                        └─ graph ───▶ computational graph
"""

__version__ = "0.1.0"

from sympy import Abs, Heaviside, Max, Min, cos, exp, log, sign, sin, sqrt, tanh

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
    "Rule",
    "SymgradError",
    "Trace",
    "Variable",
    "__version__",
    "bce",
    "compile",
    "cos",
    "derive",
    "exp",
    "graph_dot",
    "log",
    "mse",
    "relu",
    "render",
    "sigmoid",
    "sign",
    "sin",
    "softplus",
    "sqrt",
    "squared_error",
    "sum_squares",
    "tanh",
    "write_graph",
]
