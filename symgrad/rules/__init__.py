"""The rule table: one record per primitive, read by everything else.

``record.py`` says what a record is and finds one; ``functions.py`` holds the scalar
primitives (activations, exponentials, powers, trigonometric, special, non-smooth, losses),
``matrix.py`` the matrix operations with their pullbacks, ``calculus.py`` the chain rule through
one formula, and ``user.py`` the primitives a model file declares (``symgrad.primitive``).
Adding a primitive is adding a record; ``tests/test_records.py`` walks every record against
SymPy's derivative, NumPy and torch autograd, and fails on a record without an example or a
spelling.
"""

from __future__ import annotations

from .. import tensors as T
from . import functions as _functions
from . import matrix as _matrix
from . import windows as _windows
from .calculus import differentiate
from .functions import (
    bce,
    cbrt,
    clip,
    elu,
    expm1,
    fmod,
    gelu,
    gelu_tanh,
    hypot,
    i0e,
    i1e,
    leaky_relu,
    log1p,
    log2,
    log10,
    logaddexp,
    mish,
    mse,
    relu,
    remainder,
    selu,
    sigmoid,
    silu,
    softplus,
    squared_error,
    sum_squares,
    trunc,
    xlogy,
)
from .matrix import elementwise_pullback, sum_to
from .record import (
    CODE_TARGETS,
    MATH_TARGETS,
    Primitive,
    Rule,
    canonical,
    entry_by_entry,
    is_choice,
    kinks_of,
    operations,
    public_function,
    record,
    records,
    register,
    rule_for,
    spell,
)
from .user import primitive

SCALAR_RULES: tuple[Rule, ...] = _functions.RULES
MATRIX_RULES: tuple[Rule, ...] = _matrix.RULES + _windows.RULES


def public_functions() -> dict:
    """The functions a model file calls, by name: every public scalar record's (NumPy's
    names), with SymPy's spellings (``Abs``, ``Max``, ``Heaviside``) as aliases."""
    out = {}
    for rule in SCALAR_RULES:
        if rule.public:
            function = public_function(rule)
            for name in (rule.name, *rule.aliases):
                out[name] = function
    return out


T.find_record_functions_with(public_functions)  # np.exp(X) on a symbolic array finds exp here

__all__ = [
    "CODE_TARGETS",
    "MATH_TARGETS",
    "MATRIX_RULES",
    "SCALAR_RULES",
    "Primitive",
    "Rule",
    "bce",
    "canonical",
    "cbrt",
    "clip",
    "differentiate",
    "elementwise_pullback",
    "elu",
    "entry_by_entry",
    "expm1",
    "fmod",
    "gelu",
    "gelu_tanh",
    "hypot",
    "i0e",
    "i1e",
    "is_choice",
    "kinks_of",
    "leaky_relu",
    "log1p",
    "log2",
    "log10",
    "logaddexp",
    "mish",
    "mse",
    "operations",
    "primitive",
    "public_function",
    "public_functions",
    "record",
    "records",
    "register",
    "relu",
    "remainder",
    "rule_for",
    "selu",
    "sigmoid",
    "silu",
    "softplus",
    "spell",
    "squared_error",
    "sum_squares",
    "sum_to",
    "trunc",
    "xlogy",
]
