"""Code printers: one per target, over the same SymPy expressions.

Both print arithmetic as Python and every function by its row in the rule table; a target's
quirks (Torch wanting tensors where NumPy takes floats) live in its own printer and helpers.
Anything outside arithmetic and the table is refused, never guessed.
"""

from __future__ import annotations

import re
from typing import ClassVar

import sympy
from sympy.core.function import Application
from sympy.printing.str import StrPrinter

from ..errors import SymgradError
from ..rules import RULES_BY_NAME, matrix_rule_for, rule_for, spell
from ..tensors import Elementwise

_HELPER_CALL = re.compile(r"\b(_[a-z_]+)\(")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.T)?$")


def _atomic(text: str) -> bool:
    return bool(_NAME.match(text)) or text.replace(".", "", 1).isdigit()


class CodePrinter(StrPrinter):
    """Python arithmetic, functions spelled from the rule table's ``target`` column."""

    target = ""  # the Rule attribute holding this target's spellings
    language = ""  # how the target is called in messages
    helper_sources: ClassVar[dict[str, str]] = {}

    _allowed = (sympy.Symbol, sympy.Number, sympy.NumberSymbol, sympy.Add, sympy.Mul, sympy.Pow)

    def __init__(self):
        super().__init__()
        self.helpers: set[str] = set()
        self._placeholders: dict[sympy.Symbol, str] = {}  # template variable → printed operand

    def _print(self, expr, **kwargs):
        if isinstance(expr, sympy.Expr) and expr.is_number and not expr.is_Number:
            # exp(2), sqrt(3), log(2): a constant, as a float literal (torch.exp(2) would fail)
            value = complex(expr.evalf(30))
            if value.imag != 0:
                raise SymgradError(f"the constant {expr} is not real")
            return repr(value.real)
        if isinstance(expr, Elementwise):
            return self._print_elementwise(expr)
        if isinstance(expr, sympy.MatrixSymbol):
            return expr.name
        if expr in self._placeholders:
            return self._placeholders[expr]
        if isinstance(expr, sympy.log) and isinstance(expr.args[0], sympy.Determinant):
            # log det A from the LU factors: no overflow of det A on the way
            return self._use(f"_logdet({self._print(expr.args[0].arg)})")
        matrix_rule = matrix_rule_for(expr)
        if matrix_rule is not None:
            spelling = getattr(matrix_rule, self.target)
            args = [self._print(a) if isinstance(a, sympy.Basic) else str(a) for a in expr.args]
            return self._use(spelling(expr, args))
        if isinstance(expr, Application):
            return self._print_table_function(expr)
        if isinstance(expr, sympy.MatrixExpr) or not isinstance(expr, self._allowed):
            raise SymgradError(
                f"symgrad cannot write {type(expr).__name__} ({expr}) as {self.language} code; "
                "use arithmetic and the functions of the rule table"
            )
        return super()._print(expr, **kwargs)

    def _print_table_function(self, expr) -> str:
        rule = rule_for(expr)
        if rule is None:
            raise SymgradError(
                f"symgrad has no {self.language} spelling for the function "
                f"{expr.func.__name__}; add a row for it to the rule table (symgrad/rules.py)"
            )
        spelling = self.spelling(rule)
        if spelling is None:  # a loss: print its definition
            return "(" + self._print(rule.definition(*expr.args)) + ")"
        return self._use(spell(spelling, [self._print(arg) for arg in expr.args]))

    def _print_elementwise(self, expr: Elementwise) -> str:
        """The template's formula with each variable replaced by its printed operand; the
        arrays broadcast as NumPy and PyTorch do."""
        saved = self._placeholders
        printed = {}
        for variable, operand in zip(expr.template.variables, expr.operands, strict=True):
            text = self._print(operand)
            printed[variable] = text if _atomic(text) else f"({text})"
        self._placeholders = {**saved, **printed}
        try:
            return self._print(expr.template.expr)
        finally:
            self._placeholders = saved

    def spelling(self, rule):
        """This target's spelling of a scalar row of the rule table."""
        return getattr(rule, self.target)

    def _use(self, text: str) -> str:
        self.helpers.update(h for h in _HELPER_CALL.findall(text) if h in self.helper_sources)
        return text

    def _print_Pow(self, expr, rational=False):
        base, exponent = expr.as_base_exp()
        sqrt = self.spelling(RULES_BY_NAME["sqrt"])
        if exponent == sympy.S.Half:
            return self._use(spell(sqrt, [self._print(base)]))
        if exponent == -sympy.S.Half:
            return "1/" + self._use(spell(sqrt, [self._print(base)]))
        return super()._print_Pow(expr, rational=rational)

    def _print_Float(self, expr):
        return repr(float(expr))

    def _print_NumberSymbol(self, expr):  # π, e: as exact float literals
        return repr(float(expr))

    _print_Exp1 = _print_NumberSymbol
    _print_Pi = _print_NumberSymbol

    def _print_Infinity(self, expr):
        raise SymgradError(f"an expression is infinite ({expr}); symgrad will not write it as code")

    _print_NegativeInfinity = _print_Infinity
    _print_ComplexInfinity = _print_Infinity
    _print_NaN = _print_Infinity


NUMPY_HELPERS = {
    "_sigmoid": """\
def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))
""",
    "_sum_to": '''\
def _sum_to(g, like):
    """Reduce a per-sample gradient g to the shape of the variable it belongs to."""
    shape = np.shape(like)
    if np.shape(g) == shape:
        return g
    g = np.asarray(g, dtype=np.float64)
    if g.ndim < len(shape):
        return np.broadcast_to(g, shape).copy()
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1
    )
    return g.sum(axis=axes, keepdims=True).reshape(shape)
''',
    "_sum_product": '''\
def _sum_product(a, b, like):
    """_sum_to(a * b, like) without forming a * b when that is a plain dot product."""
    if np.ndim(like) == 0 and np.ndim(a) == 1 and np.shape(a) == np.shape(b):
        return np.dot(a, b)
    return _sum_to(a * b, like)
''',
}


NUMPY_HELPERS.update(
    {
        "_softmax": """\
def _softmax(a, axis):
    e = np.exp(a - np.max(a, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)
""",
        "_log_softmax": """\
def _log_softmax(a, axis):
    shifted = a - np.max(a, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
""",
        "_one_hot": """\
def _one_hot(labels, classes):
    return np.eye(classes)[np.asarray(labels).astype(np.int64).ravel()]
""",
        "_singular_outer": """\
def _singular_outer(a):
    u, _, vt = np.linalg.svd(a)
    return np.outer(u[:, 0], vt[0])
""",
        "_logdet": """\
def _logdet(a):
    sign, logabs = np.linalg.slogdet(a)
    return logabs if sign > 0 else np.nan  # log det A needs det A > 0
""",
    }
)


class NumPyPrinter(CodePrinter):
    target = "numpy"
    language = "NumPy"
    helper_sources = NUMPY_HELPERS


TORCH_HELPERS = {
    "_softplus": """\
def _softplus(x):
    return torch.logaddexp(x, torch.zeros_like(x))
""",
    "_maximum": """\
def _maximum(a, b):
    if not isinstance(a, torch.Tensor):
        return torch.clamp(b, min=a)
    if not isinstance(b, torch.Tensor):
        return torch.clamp(a, min=b)
    return torch.maximum(a, b)
""",
    "_minimum": """\
def _minimum(a, b):
    if not isinstance(a, torch.Tensor):
        return torch.clamp(b, max=a)
    if not isinstance(b, torch.Tensor):
        return torch.clamp(a, max=b)
    return torch.minimum(a, b)
""",
    "_heaviside": """\
def _heaviside(x, at_zero):
    step = (x > 0).to(x.dtype)
    return step + at_zero * (x == 0).to(x.dtype) if at_zero else step
""",
    "_sum_to": '''\
def _sum_to(g, like):
    """Reduce a per-sample gradient g to the shape of the variable it belongs to."""
    if not isinstance(g, torch.Tensor):
        return torch.full_like(like, g)
    if g.shape == like.shape:
        return g
    if g.dim() < like.dim():
        return g.expand(like.shape).clone()
    lead = g.dim() - like.dim()
    dims = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(like.shape) if n == 1 and g.shape[lead + i] != 1
    )
    return g.sum(dim=dims, keepdim=True).reshape(like.shape)
''',
    "_sum_product": '''\
def _sum_product(a, b, like):
    """_sum_to(a * b, like) without forming a * b when that is a plain dot product."""
    tensors = isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)
    if tensors and like.dim() == 0 and a.dim() == 1 and a.shape == b.shape:
        return torch.dot(a, b)
    return _sum_to(a * b, like)
''',
}


TORCH_HELPERS.update(
    {
        "_broadcast": """\
def _broadcast(value, rows, cols, dtype, device):
    return torch.as_tensor(value, dtype=dtype, device=device).expand(rows, cols)
""",
        "_one_hot": """\
def _one_hot(labels, classes):
    picked = torch.nn.functional.one_hot(labels.long().reshape(-1), classes)
    return picked.to(labels.dtype)
""",
        "_singular_outer": """\
def _singular_outer(a):
    u, _, vh = torch.linalg.svd(a)
    return torch.outer(u[:, 0], vh[0])
""",
        "_logdet": """\
def _logdet(a):
    sign, logabs = torch.linalg.slogdet(a)
    return torch.where(sign > 0, logabs, torch.full_like(logabs, float("nan")))
""",
    }
)


class TorchPrinter(CodePrinter):
    target = "torch"
    language = "PyTorch"
    helper_sources = TORCH_HELPERS


FLOAT_HELPERS = {
    "_f_sigmoid": """\
def _f_sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))
""",
    "_f_softplus": """\
def _f_softplus(x):
    return x + math.log1p(math.exp(-x)) if x > 0 else math.log1p(math.exp(x))
""",
    "_f_sign": """\
def _f_sign(x):
    return 1.0 if x > 0 else -1.0 if x < 0 else 0.0
""",
    "_f_heaviside": """\
def _f_heaviside(x, at_zero):
    return 1.0 if x > 0 else 0.0 if x < 0 else float(at_zero)
""",
}

# The table's NumPy spellings, for one sample in Python floats (math where NumPy has ufuncs).
_FLOAT_SPELLINGS = {
    "sigmoid": "_f_sigmoid(#1)",
    "tanh": "math.tanh(#1)",
    "relu": "max(#1, 0.0)",
    "softplus": "_f_softplus(#1)",
    "exp": "math.exp(#1)",
    "log": "math.log(#1)",
    "sqrt": "math.sqrt(#1)",
    "sin": "math.sin(#1)",
    "cos": "math.cos(#1)",
    "abs": "abs(#1)",
    "Max": lambda args: f"max({', '.join(args)})",
    "Min": lambda args: f"min({', '.join(args)})",
    "sign": "_f_sign(#1)",
    "Heaviside": "_f_heaviside(#1, #2)",
}


class FloatPrinter(NumPyPrinter):
    """Scalar models at one sample in Python floats: math instead of NumPy's array calls. A row
    without a float spelling keeps its NumPy one, which takes floats too."""

    language = "Python"
    helper_sources: ClassVar[dict[str, str]] = {**NUMPY_HELPERS, **FLOAT_HELPERS}

    def spelling(self, rule):
        return _FLOAT_SPELLINGS.get(rule.name, rule.numpy)

    def _print_Pow(self, expr, rational=False):
        base, exponent = expr.as_base_exp()
        if exponent.is_Integer or exponent in (sympy.S.Half, -sympy.S.Half):
            return super()._print_Pow(expr, rational=rational)
        # x**0.3 of a negative float is complex in Python; math.pow refuses it instead
        return f"math.pow({self._print(base)}, {self._print(exponent)})"


PRINTERS = {"numpy": NumPyPrinter, "torch": TorchPrinter}
