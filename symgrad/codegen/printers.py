"""Code printers: one per target, over the same SymPy expressions.

Both print arithmetic as Python and every function by its row in the rule table; a target's
quirks (Torch wanting tensors where NumPy takes floats) live in its own printer and helpers.
Anything outside arithmetic and the table is refused, never guessed.
"""

from __future__ import annotations

import importlib.util
import re
from typing import ClassVar

import sympy
from sympy.printing.str import StrPrinter

from ..errors import SymgradError
from ..rules import operations, rule_for, spell
from ..tensors import Elementwise

_HELPER_CALL = re.compile(r"\b(_[a-z_]+)\(")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.T)?$")


def is_atomic(text: str) -> bool:
    return bool(_NAME.match(text)) or text.replace(".", "", 1).isdigit()


_PLACEHOLDER = re.compile(r"#\d+")
_CALL_ARGUMENT = re.compile(r"(?<=[(,] )#\d+(?=[,)])|(?<=\()#\d+(?=[,)])")


def _only_call_arguments(spelling: str) -> bool:
    """Whether every ``#k`` of a template is a whole argument of a call (``np.tanh(#1)``), where
    a printed sum needs no parentheses of its own."""
    return len(_PLACEHOLDER.findall(spelling)) == len(_CALL_ARGUMENT.findall(spelling))


class CodePrinter(StrPrinter):
    """Python arithmetic; every operation with a record is printed from the record's spelling
    for ``target``, through ``_print_<Class>`` methods generated from the records (see the end
    of this module), the way SymPy's own code printers are built."""

    printmethod = "_symgrad_code"  # no expression has one: the records decide, not _sympystr
    target = ""  # the record field holding this target's spellings
    language = ""  # how the target is called in messages
    helper_sources: ClassVar[dict[str, str]] = {}  # helpers that belong to no primitive

    def __init__(self):
        super().__init__()
        self.helpers: dict[str, str] = {}  # name → source, of every helper the code calls
        self.modules: set[str] = set()  # modules the code imports beyond the target's own
        self._placeholders: dict[sympy.Symbol, str] = {}  # template variable → printed operand

    def _print(self, expr, **kwargs):
        if isinstance(expr, sympy.Expr) and expr.is_number and not expr.is_Number:
            # exp(2), sqrt(3), log(2): a constant, as a float literal (torch.exp(2) would fail)
            value = complex(expr.evalf(30))
            if value.imag != 0:
                raise SymgradError(f"the constant {expr} is not real")
            return repr(value.real)
        if expr in self._placeholders:
            return self._placeholders[expr]
        return super()._print(expr, **kwargs)

    # --- from the records ---------------------------------------------------------------------

    def _print_record(self, expr) -> str:
        """``expr`` by its record's spelling; a record with no code spelling (a loss) by its
        definition."""
        rule = rule_for(expr)
        if rule is None:
            return self._refuse(expr)
        spelling = rule.spelling(self.target)
        if spelling is None:
            if rule.definition is None:
                raise SymgradError(f"symgrad has no {self.language} spelling for {rule.name}")
            return "(" + self._print(rule.definition(*expr.args)) + ")"
        for module in rule.requires.get(self.target, ()):
            self._require(module, rule.name)
        for name, source in rule.helper_sources(self.target).items():
            self.helpers.setdefault(name, source)
        parts = [
            self._print(p) if isinstance(p, sympy.Basic) else str(p)
            for p in rule.printed_parts(expr)
        ]
        if isinstance(spelling, str) and not _only_call_arguments(spelling):
            parts = [p if is_atomic(p) else f"({p})" for p in parts]  # #1 * f(#1) with #1 = a + b
        return self.use(spell(spelling, parts, expr))

    # A function without a record of its own (a model file's primitive declared after this
    # module was loaded finds its record here too).
    _print_Function = _print_record

    def _refuse(self, expr) -> str:
        name = getattr(getattr(expr, "func", None), "__name__", type(expr).__name__)
        raise SymgradError(
            f"symgrad cannot write {name} ({expr}) as {self.language} code: it has no record "
            f"(declare a function of your own with symgrad.primitive)"
        )

    _print_MatrixExpr = _refuse
    _print_Derivative = _refuse
    _print_Integral = _refuse

    def _print_Elementwise(self, expr: Elementwise) -> str:
        """The template's formula with each variable replaced by its printed operand; the
        arrays broadcast as NumPy and PyTorch do."""
        saved = self._placeholders
        printed = {}
        for variable, operand in zip(expr.template.variables, expr.operands, strict=True):
            text = self._print(operand)
            printed[variable] = text if is_atomic(text) else f"({text})"
        self._placeholders = {**saved, **printed}
        try:
            return self._print(expr.template.expr)
        finally:
            self._placeholders = saved

    def _print_MatrixSymbol(self, expr):
        return expr.name

    _print_ArraySymbol = _print_MatrixSymbol

    def _print_Pow(self, expr, rational=False):
        rule = rule_for(expr)
        if rule is not None and rule.name == "sqrt":
            return self._print_record(expr)
        if expr.exp == -sympy.S.Half:  # 1/√x
            return "1/" + self._print_record(sympy.sqrt(expr.base))
        return super()._print_Pow(expr, rational=rational)

    # conditions, inside a Piecewise
    def _print_Relational(self, expr):
        return f"({self._print(expr.lhs)} {expr.rel_op} {self._print(expr.rhs)})"

    def _print_And(self, expr):
        return " & ".join(self._print_operand(a) for a in expr.args)

    def _print_Or(self, expr):
        return " | ".join(self._print_operand(a) for a in expr.args)

    def _print_operand(self, condition) -> str:
        text = self._print(condition)
        return f"({text})" if isinstance(condition, (sympy.And, sympy.Or)) else text

    def _print_ITE(self, expr):  # a where of a where: (a and b) or (not a and c)
        return self._print(expr.to_nnf())

    def _print_Not(self, expr):
        return f"~{self._print(expr.args[0])}"

    def _print_BooleanTrue(self, expr):
        return "True"

    def _print_BooleanFalse(self, expr):
        return "False"

    def use(self, text: str) -> str:
        """Note the generic helpers a piece of code calls."""
        for name in _HELPER_CALL.findall(text):
            if name in self.helper_sources:
                self.helpers.setdefault(name, self.helper_sources[name])
        return text

    def _require(self, module: str, what: str) -> None:
        top = module.split(".")[0]
        if importlib.util.find_spec(top) is None:
            raise SymgradError(
                f"the {self.language} code for {what} needs {top}, which is not installed "
                f"(pip install {top})"
            )
        self.modules.add(module)

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


# Helpers that belong to no primitive: reducing a per-sample gradient over a batch. A
# primitive's own helpers are in its record.
NUMPY_HELPERS = {
    "_sum_to": '''\
def _sum_to(g, like, batch=()):
    """Sum the per-sample gradients g of a batch of the given shape to the shape of the variable
    they belong to; a gradient the same for every sample counts once per sample."""
    shape = np.shape(like)
    if not shape and np.shape(g) == batch:  # a number's gradient: the sum over the batch
        return np.sum(g)
    full = np.broadcast_shapes(np.shape(g), batch)
    if np.shape(g) == full == shape:
        return g
    g = np.broadcast_to(np.asarray(g, dtype=np.float64), full)
    if g.ndim < len(shape):
        return np.broadcast_to(g, shape).copy()
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1
    )
    return g.sum(axis=axes, keepdims=True).reshape(shape)
''',
    "_sum_product": '''\
def _sum_product(a, b, like, batch=()):
    """_sum_to(a * b, like, batch) without forming a * b when that is a plain dot product."""
    if np.ndim(like) == 0 and np.ndim(a) == 1 and np.shape(a) == np.shape(b) == batch:
        return np.dot(a, b)
    return _sum_to(a * b, like, batch)
''',
}


class NumPyPrinter(CodePrinter):
    target = "numpy"
    language = "NumPy"
    helper_sources = NUMPY_HELPERS


TORCH_HELPERS = {
    "_sum_to": '''\
def _sum_to(g, like, batch=()):
    """Sum the per-sample gradients g of a batch of the given shape to the shape of the variable
    they belong to; a gradient the same for every sample counts once per sample."""
    if not isinstance(g, torch.Tensor):
        g = torch.as_tensor(g, dtype=like.dtype, device=like.device)
    if like.dim() == 0 and g.shape == batch:  # a number's gradient: the sum over the batch
        return g.sum()
    full = torch.broadcast_shapes(g.shape, batch)
    if g.shape == full == like.shape:
        return g
    g = g.expand(full)
    if full == like.shape:
        return g.clone()
    if g.dim() < like.dim():
        return g.expand(like.shape).clone()
    lead = g.dim() - like.dim()
    dims = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(like.shape) if n == 1 and g.shape[lead + i] != 1
    )
    return g.sum(dim=dims, keepdim=True).reshape(like.shape)
''',
    "_sum_product": '''\
def _sum_product(a, b, like, batch=()):
    """_sum_to(a * b, like, batch) without forming a * b when that is a plain dot product."""
    tensors = isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)
    if tensors and like.dim() == 0 and a.dim() == 1 and a.shape == b.shape == batch:
        return torch.dot(a, b)
    return _sum_to(a * b, like, batch)
''',
}


class TorchPrinter(CodePrinter):
    target = "torch"
    language = "PyTorch"
    helper_sources = TORCH_HELPERS


class FloatPrinter(NumPyPrinter):
    """Scalar models at one sample in Python floats: each record's ``python`` spelling (math
    instead of NumPy's array calls), or its NumPy one, which takes floats too."""

    target = "python"
    language = "Python"

    def _print_Pow(self, expr, rational=False):
        base, exponent = expr.as_base_exp()
        if exponent.is_Integer or exponent in (sympy.S.Half, -sympy.S.Half):
            return super()._print_Pow(expr, rational=rational)
        # x**0.3 of a negative float is complex in Python; math.pow refuses it instead
        return f"math.pow({self._print(base)}, {self._print(exponent)})"


def _install_record_printers() -> None:
    """One ``_print_<Class>`` per operation with a record (SymPy's printers dispatch on the
    class name along the MRO); Pow keeps its own, which picks sqrt or arithmetic."""
    for operation in operations():
        name = f"_print_{operation.__name__}"
        if operation is sympy.Pow or name in CodePrinter.__dict__:
            continue
        setattr(CodePrinter, name, CodePrinter._print_record)


_install_record_printers()

PRINTERS = {"numpy": NumPyPrinter, "torch": TorchPrinter}
