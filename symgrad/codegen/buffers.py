"""Code for large batches that writes into kept arrays instead of making new ones.

At a batch of 10⁶ every temporary of the plain code is an 8 MB array that the allocator
returns to the system when it dies and faults in afresh on the next call; that, more than the
arithmetic, set the generated code's time (1.8× autograd's at 10⁶ in NumPy, 2.5× in Torch).
The same gradient written as ufunc calls with ``out=`` into arrays kept from call to call
(per thread) allocates nothing per call but its results.

The plan lowers each scheduled assignment of a scalar model into one call per operation
(``np.multiply(x1, W1, out=_b0)``), on the assumption the generated code checks before it
takes this path: every batch argument (an input not differentiated) is an array of one
shape, and every other argument a single number. Then a value is per-sample exactly when it
depends on a batch argument, and has the batch's shape; anything else is one number, written
as a plain expression. Buffers are handed out by liveness: an operation writes over an operand
that dies there, or over a buffer whose value is dead, so a gradient takes a handful of them.
What has no ``out=`` form (a where(), a helper that makes its own array) is written as the
plain expression and makes a new array, as the plain code would.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

import sympy

from ..rules import rule_for
from .printers import CodePrinter, is_atomic

# An array below this many entries is served by the plain code: its temporaries come from the
# allocator's free lists (glibc maps blocks of 128 KB and more afresh), and the calls with
# out= would add Python overhead to little arithmetic.
KEPT_SIZE = 2**14

# The arithmetic, by backend: (add, subtract, multiply, divide, negative, power, square,
# sqrt, reciprocal); each takes out=.
_ARITHMETIC = {
    "numpy": {
        "add": "np.add",
        "subtract": "np.subtract",
        "multiply": "np.multiply",
        "divide": "np.divide",
        "negative": "np.negative",
        "power": "np.power",
        "square": "np.square",
        "sqrt": "np.sqrt",
        "reciprocal": "np.reciprocal",
    },
    "torch": {
        "add": "torch.add",
        "subtract": "torch.sub",
        "multiply": "torch.mul",
        "divide": "torch.div",
        "negative": "torch.neg",
        "power": "torch.pow",
        "square": "torch.square",
        "sqrt": "torch.sqrt",
        "reciprocal": "torch.reciprocal",
    },
}
_COMMUTATIVE = {"add", "multiply"}

# A record's code spelling that is one call of plain operands: np.exp(#1), np.maximum(#1, 0.0)
_CALL = re.compile(r"^(?P<function>[A-Za-z_][\w.]*)\((?P<operands>[^()]*)\)$")
_OPERAND = re.compile(r"^(#\d+|[-+]?\d+\.\d*(e[-+]?\d+)?)$")
_PLACEHOLDER = re.compile(r"\b__v(\d+)\b")


@dataclass
class _Step:
    """One line of the plan: a value computed by ``function(*operands, out=…)`` (``function``
    set), by a plain expression into a new array (``text``, with ``__vK`` for value K), or a
    single number assigned to ``name``."""

    result: int | None = None  # the value it makes (None for a single number)
    function: str | None = None
    operands: tuple = ()  # value numbers (int) and printed single numbers (str)
    text: str | None = None
    name: str | None = None


class KeptPlan:
    """The lowering of one function's assignments, then its buffers by liveness."""

    def __init__(
        self,
        printer: CodePrinter,
        backend: str,
        batch: dict[sympy.Symbol, str],
        single: Callable[[sympy.Expr], str],
    ):
        self.printer = printer
        self.single = single  # how the plain code writes a single number
        self.backend = backend
        self.ops = _ARITHMETIC[backend]
        self.steps: list[_Step] = []
        self.values: dict[sympy.Symbol, int | str] = {}  # a symbol's value number or its name
        self.storage: dict[int, str] = {}  # value number → where it lives, for the arguments
        self._count = 0
        for symbol, name in batch.items():
            self.values[symbol] = self._new_value(storage=name)

    # --- lowering -------------------------------------------------------------------------

    def _new_value(self, storage: str | None = None) -> int:
        number = self._count
        self._count += 1
        if storage is not None:
            self.storage[number] = storage
        return number

    def assign(self, target: sympy.Symbol, expr: sympy.Expr) -> None:
        if not self._per_sample(expr):
            self.steps.append(_Step(name=target.name, text=self.single(expr)))
            self.values[target] = target.name
            return
        self.values[target] = self.lower(expr)

    def _per_sample(self, expr) -> bool:
        return any(isinstance(self.values.get(s), int) for s in expr.free_symbols)

    def lower(self, expr) -> int | str:
        """The value number of a per-sample expression, or a single number's printed text."""
        if not self._per_sample(expr):
            text = self.printer.doprint(expr)
            return text if is_atomic(text) else f"({text})"
        if expr.is_Symbol:
            return self.values[expr]
        if isinstance(expr, sympy.Add):
            return self._sum(expr)
        if isinstance(expr, sympy.Mul):
            return self._product(expr)
        if isinstance(expr, sympy.Pow):
            return self._power(expr)
        call = self._call_of(expr)
        if call is not None:
            function, parts = call
            return self._apply(
                function, *[p if isinstance(p, str) else self.lower(p) for p in parts]
            )
        return self._new_array(expr)

    def _apply(self, operation: str, *operands) -> int:
        function = self.ops.get(operation, operation)
        if self.backend == "torch" and isinstance(operands[0], str):
            if operation in _COMMUTATIVE:
                operands = operands[::-1]
            else:  # torch's functions want a tensor first
                operands = (f"torch.as_tensor({operands[0]}, dtype=dtype)", *operands[1:])
        elif operation in _COMMUTATIVE and isinstance(operands[0], str):
            operands = operands[::-1]
        result = self._new_value()
        self.steps.append(_Step(result=result, function=function, operands=tuple(operands)))
        return result

    def _sum(self, expr: sympy.Add) -> int:
        single = [a for a in expr.args if not self._per_sample(a)]
        terms = [a for a in expr.args if self._per_sample(a)]
        added = [t for t in terms if not t.could_extract_minus_sign()]
        taken = [-t for t in terms if t.could_extract_minus_sign()]
        if added:  # a + b − c + s
            value = self.lower(added[0])
            for term in added[1:]:
                value = self._apply("add", value, self.lower(term))
            for term in taken:
                value = self._apply("subtract", value, self.lower(term))
            if single:
                value = self._apply("add", value, self.lower(sympy.Add(*single)))
            return value
        if single:  # s − a − b
            value = self._apply("subtract", self.lower(sympy.Add(*single)), self.lower(taken[0]))
            for term in taken[1:]:
                value = self._apply("subtract", value, self.lower(term))
            return value
        value = self.lower(taken[0])  # −(a + b)
        for term in taken[1:]:
            value = self._apply("add", value, self.lower(term))
        return self._apply("negative", value)

    def _product(self, expr: sympy.Mul) -> int:
        single = [f for f in expr.args if not self._per_sample(f)]
        numerator, denominator = [], []
        for factor in expr.args:
            if not self._per_sample(factor):
                continue
            base, exponent = factor.as_base_exp()
            if exponent == -1:
                denominator.append(base)
            else:
                numerator.append(factor)
        coefficient = sympy.Mul(*single)
        if numerator:
            value = self.lower(numerator[0])
            for factor in numerator[1:]:
                value = self._apply("multiply", value, self.lower(factor))
            for factor in denominator:
                value = self._apply("divide", value, self.lower(factor))
        else:  # c/b: the first division carries the coefficient
            value = self._apply("divide", self.lower(coefficient), self.lower(denominator[0]))
            for factor in denominator[1:]:
                value = self._apply("divide", value, self.lower(factor))
            return value
        if coefficient == -1:
            return self._apply("negative", value)
        if coefficient != 1:
            return self._apply("multiply", value, self.lower(coefficient))
        return value

    def _power(self, expr: sympy.Pow) -> int:
        base, exponent = expr.args
        if not self._per_sample(exponent):
            if exponent == 2:
                return self._apply("square", self.lower(base))
            if exponent == -1:
                return self._apply("reciprocal", self.lower(base))
            if exponent == sympy.S.Half:
                return self._apply("sqrt", self.lower(base))
            if exponent == -sympy.S.Half:
                return self._apply("reciprocal", self._apply("sqrt", self.lower(base)))
        return self._apply("power", self.lower(base), self.lower(exponent))

    def _call_of(self, expr):
        """A record whose spelling is one call that takes out= (np.exp(#1), the sigmoid helper),
        with its operands: sub-expressions and number literals."""
        rule = rule_for(expr)
        spelling = rule.spelling(self.backend) if rule is not None else None
        if not isinstance(spelling, str):
            return None
        match = _CALL.match(spelling.strip())
        if match is None:
            return None
        operands = [o.strip() for o in match["operands"].split(",")]
        if not all(_OPERAND.match(o) for o in operands):
            return None
        function = match["function"]
        helpers = rule.helper_sources(self.backend)
        if not _writes_into(self.backend, function, len(operands), helpers.get(function)):
            return None
        for name, source in helpers.items():
            self.printer.helpers.setdefault(name, source)
        parts = rule.printed_parts(expr)
        return function, [parts[int(o[1:]) - 1] if o.startswith("#") else o for o in operands]

    def _new_array(self, expr) -> int:
        """The plain expression, into an array of its own."""
        placeholders = {
            s: sympy.Symbol(f"__v{self.values[s]}", real=True)
            for s in expr.free_symbols
            if isinstance(self.values.get(s), int)
        }
        result = self._new_value()
        self.steps.append(
            _Step(result=result, text=self.printer.doprint(expr.xreplace(placeholders)))
        )
        return result

    # --- buffers --------------------------------------------------------------------------

    def lines(self, read_at_end: list[sympy.Symbol]) -> tuple[list[str], int]:
        """The plan as code, and how many kept buffers it uses (``_b0``, ``_b1``, …). The
        symbols in ``read_at_end`` are named at the end, for the return to read."""
        last_use: dict[int, int] = {}
        for i, step in enumerate(self.steps):
            for operand in self._operands_of(step):
                last_use[operand] = i
        end = len(self.steps)
        for symbol in read_at_end:
            if isinstance(self.values.get(symbol), int):
                last_use[self.values[symbol]] = end
        # A plain expression may give back its operand itself (a user's stop-gradient spelled
        # #1): what it reads lives as long as what it gives.
        for i in reversed(range(len(self.steps))):
            step = self.steps[i]
            if step.function is None and step.result is not None:
                for operand in self._operands_of(step):
                    last_use[operand] = max(last_use[operand], last_use.get(step.result, i))
        storage = dict(self.storage)
        free: list[str] = []
        kept: list[str] = []
        arrays = 0
        out: list[str] = []
        for i, step in enumerate(self.steps):
            dying = [v for v in dict.fromkeys(self._operands_of(step)) if last_use[v] == i]
            if step.result is None:
                out.append(f"{step.name} = {step.text}")
            elif step.function is None:
                storage[step.result] = f"_a{arrays}"
                arrays += 1
                text = _PLACEHOLDER.sub(lambda m: storage[int(m[1])], step.text)
                out.append(f"{storage[step.result]} = {text}")
            else:
                reusable = [storage[v] for v in dying if storage[v] in kept]
                if reusable:
                    target = reusable[0]
                elif free:
                    target = free.pop()
                else:
                    target = f"_b{len(kept)}"
                    kept.append(target)
                storage[step.result] = target
                operands = ", ".join(storage[o] if isinstance(o, int) else o for o in step.operands)
                out.append(f"{step.function}({operands}, out={target})")
            for value in dying:
                if storage[value] in kept and storage[value] != storage.get(step.result):
                    free.append(storage[value])
            unread = step.result is not None and last_use.get(step.result, i) <= i
            if unread and storage[step.result] in kept:
                free.append(storage[step.result])
        for symbol in dict.fromkeys(read_at_end):
            value = self.values.get(symbol)
            if isinstance(value, int) and storage[value] != symbol.name:
                out.append(f"{symbol.name} = {storage[value]}")
        return out, len(kept)

    @staticmethod
    def _operands_of(step: _Step) -> list[int]:
        if step.function is not None:
            return [o for o in step.operands if isinstance(o, int)]
        if step.result is not None:
            return [int(m) for m in _PLACEHOLDER.findall(step.text)]
        return []


@functools.cache
def _writes_into(backend: str, function: str, arity: int, helper: str | None) -> bool:
    """Whether ``function`` takes ``out=``: a NumPy ufunc does; a helper does when its
    signature says so; a Torch function does when a call with out= works (torch's own
    signatures are not introspectable, and torch.relu has none where torch.exp has)."""
    if helper is not None:
        return re.search(rf"def {re.escape(function)}\([^)]*\bout=None", helper) is not None
    module, _, name = function.partition(".")
    if backend == "numpy":
        import numpy as np

        return module == "np" and isinstance(getattr(np, name, None), np.ufunc)
    if module != "torch" or "." in name:
        return False
    try:
        import torch
    except ImportError:  # the module is written for a machine that has it: no out= then
        return False
    operation = getattr(torch, name, None)
    if operation is None:
        return False
    try:
        operands = [torch.ones(2, dtype=torch.float64) for _ in range(arity)]
        operation(*operands, out=torch.empty(2, dtype=torch.float64))
    except (TypeError, RuntimeError):
        return False
    return True


# The helpers the generated module gets, by backend: whether a call takes the kept path, and
# the kept arrays themselves (per thread: two threads calling at once must not share them).
HELPERS = {
    "numpy": {
        "_batch_shape": f'''\
def _batch_shape(batch, single):
    """The batch's shape when every batch argument is a float64 array of that one shape, of at
    least {KEPT_SIZE} entries, and every other argument one float; otherwise None."""
    shape = np.shape(batch[0])
    for a in batch:
        if type(a) is not np.ndarray or a.dtype != np.float64 or a.shape != shape:
            return None
    if batch[0].size < {KEPT_SIZE}:
        return None
    for a in single:
        one = type(a) in (float, int) or (
            isinstance(a, (np.ndarray, np.generic)) and a.shape == () and a.dtype == np.float64
        )
        if not one:
            return None
    return shape
''',
        "_kept": '''\
_KEPT = threading.local()


def _kept(shape, count):
    """count float64 arrays of the given shape, the same ones on every call from this thread:
    at a large batch, fresh ones cost more in page faults than the arithmetic done in them."""
    arrays = getattr(_KEPT, "arrays", [])
    if len(arrays) < count or arrays[0].shape != shape:
        arrays = _KEPT.arrays = [np.empty(shape) for _ in range(count)]
    return arrays[:count]
''',
    },
    "torch": {
        "_batch_shape": f'''\
def _batch_shape(batch, single):
    """The batch's shape when every batch argument is a tensor of that one shape, of at least
    {KEPT_SIZE} entries, and every other argument one number; otherwise None (and under
    torch.compile, which fuses the plain code itself)."""
    if torch.compiler.is_compiling():
        return None
    shape = batch[0].shape
    if batch[0].numel() < {KEPT_SIZE} or any(a.shape != shape for a in batch):
        return None
    if any(a.dim() != 0 for a in single):
        return None
    return shape
''',
        "_kept": '''\
_KEPT = threading.local()


def _kept(shape, count, like):
    """count tensors of the given shape, like's dtype and device, the same ones on every call
    from this thread: at a large batch, fresh ones cost more than the arithmetic in them."""
    arrays = getattr(_KEPT, "arrays", [])
    if (
        len(arrays) < count
        or arrays[0].shape != shape
        or arrays[0].dtype != like.dtype
        or arrays[0].device != like.device
    ):
        arrays = _KEPT.arrays = [
            torch.empty(shape, dtype=like.dtype, device=like.device) for _ in range(count)
        ]
    return arrays[:count]
''',
    },
}
