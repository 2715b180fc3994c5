"""What a record is, and the registry that finds one.

A record (``Rule``) holds everything symgrad knows about one primitive, scalar or matrix: its
derivative in textbook form (or, for a matrix operation, its pullback), its definition, its
NumPy, Torch, Python-float, LaTeX and text spellings with the helper code they need, its kinks,
the domains its arguments need, how it is written entry by entry, and example arguments. The
derivation, the printers, the domains, unrolling, the docs, ``symgrad rules`` and the tests all
read the record; none keeps a list of its own.

Spellings are templates with ``#1``, ``#2`` for the printed arguments (as a TeX macro has), or
functions of the operation and its printed arguments. A code spelling of ``None`` means "print
the definition" (the losses).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar

import sympy
from sympy.core.function import Function

from ..errors import SymgradError
from ..tensors import Tensor, elementwise, is_matrix

Spelling = str | Callable[[sympy.Basic, Sequence[str]], str] | None

CODE_TARGETS = ("numpy", "torch", "python")
MATH_TARGETS = ("latex", "text")


@dataclass(frozen=True)
class Rule:
    """One primitive. Scalar records have ``derivative(ans, *args)``: one partial per argument,
    written with the forward value ``ans`` where a textbook does (σ(1 − σ)). Matrix records have
    ``pullback(op, g, ans)``: the adjoint of each argument given the adjoint ``g`` of the result
    (None where no gradient flows: an axis, integer labels). A composite has neither: its
    ``definition`` is what a model holds, and the chain rule goes through it."""

    name: str  # the public name, NumPy's where NumPy has the function
    operation: type | tuple[type, ...] | None  # the class(es) it is found by (None: a composite)
    kind: str  # the heading it is listed under
    summary: str
    arguments: tuple[str, ...]  # the names its arguments are shown with in the docs
    examples: tuple[tuple, ...]  # argument values inside the domains, for the tests and docs
    derivative: Callable[..., tuple] | None = None
    pullback: Callable[..., tuple] | None = None
    definition: Callable[..., Any] | None = None
    numpy: Spelling = None
    torch: Spelling = None
    python: Spelling = None  # Python floats (math); None: the NumPy spelling, which takes floats
    latex: Spelling = None
    text: Spelling = None
    helpers: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # target → name → src
    requires: Mapping[str, str] = field(default_factory=dict)  # module → why, for the code
    kink: Callable[..., tuple] | None = None
    domains: tuple | Callable[[sympy.Basic], tuple] = ()  # per argument: a domain name or None
    build: Callable[..., Any] | None = None  # the operation applied to arguments
    matches: Callable[[sympy.Basic], bool] | None = None  # among records of one operation
    canonical: Callable[[sympy.Basic], Any] | None = None  # a rewrite done when a model is built
    through: Callable[[sympy.Basic, Callable], Any] | None = None  # d(op) from d(its parts)
    parts: Callable[[sympy.Basic], Sequence] | None = None  # what the spellings print (args)
    unroll: Callable[..., Any] | None = None  # matrix: the explicit result of explicit arguments
    textbook: str | None = None  # matrix: the pullback as a formula, for the docs
    expand: bool = False  # the worked example writes the definition out: σ(z) = 1/(1 + e^(−z))
    aliases: tuple[str, ...] = ()  # further public names (SymPy's: Abs, Max, Heaviside)
    api: Callable | None = None  # what a model file calls, where that is not the operation
    public: bool = True  # False: written with an operator (x**y) or with SymPy (Piecewise)
    user: bool = False  # declared by a model file with symgrad.primitive

    # --- what the others ask -------------------------------------------------------------

    @property
    def is_matrix(self) -> bool:
        return self.pullback is not None

    @property
    def is_composite(self) -> bool:
        return self.operation is None

    def applied(self, *args):
        """The operation applied to ``args`` (SymPy objects)."""
        if self.build is not None:
            return self.build(*args)
        if self.operation is None:
            return self.definition(*args)
        return self.operation(*args)

    def partials(self, applied, ans=None) -> tuple:
        """The textbook partials of this primitive at ``applied``; ``ans`` stands for its value
        (a node's symbol, or the application itself)."""
        return tuple(self.derivative(applied if ans is None else ans, *applied.args))

    def kinks(self, applied) -> tuple:
        """Expressions that are zero exactly where this application is not differentiable."""
        return tuple(self.kink(*applied.args)) if self.kink else ()

    def needs(self, applied) -> dict:
        """What the arguments need, by argument: a domain name ("positive") or
        ("labels", C), whole numbers 0 … C − 1. A record's ``domains`` gives one entry per
        argument, or (where what needs a domain sits inside an argument, as an index array
        inside a key) a mapping from the expression to its domain."""
        needed = self.domains(applied) if callable(self.domains) else self.domains
        if isinstance(needed, dict):
            return needed
        names = list(self.arguments) + [None] * len(applied.args)
        return {
            (arg, names[k]): spec
            for k, (arg, spec) in enumerate(zip(applied.args, needed, strict=False))
            if spec is not None
        }

    def spelling(self, target: str) -> Spelling:
        spelled = getattr(self, target)
        if spelled is None and target == "python":
            return self.numpy
        return spelled

    def printed_parts(self, applied) -> Sequence:
        """The sub-expressions a spelling receives printed: the arguments, or ``parts``."""
        return self.parts(applied) if self.parts is not None else applied.args

    def helper_sources(self, target: str) -> Mapping[str, str]:
        own = dict(self.helpers.get(target, {}))
        if target == "python":  # the float code falls back on the NumPy spellings
            own = {**self.helpers.get("numpy", {}), **own}
        return own


def spell(spelling: Spelling, args: Sequence[str], op=None) -> str:
    """Fill a spelling with printed arguments."""
    if callable(spelling):
        return spelling(op, args)
    out = spelling
    for i in range(len(args), 0, -1):  # #10 before #1
        out = out.replace(f"#{i}", args[i - 1])
    return out


# --- the registry -----------------------------------------------------------------------------

_RECORDS: dict[str, Rule] = {}  # by name, in the order they were added
_BY_OPERATION: dict[type, list[Rule]] = {}


def register(rule: Rule) -> Rule:
    """Add a record; a model file's own primitive may replace its earlier self (a file loaded
    twice), never a built-in one."""
    previous = _RECORDS.get(rule.name)
    if previous is not None and not (previous.user and rule.user):
        raise SymgradError(f"a primitive named {rule.name!r} exists already; choose another name")
    if previous is not None:
        for cls in _classes(previous):
            _BY_OPERATION[cls].remove(previous)
    _RECORDS[rule.name] = rule
    for cls in _classes(rule):
        _BY_OPERATION.setdefault(cls, []).append(rule)
    return rule


def _classes(rule: Rule) -> tuple[type, ...]:
    if rule.operation is None:
        return ()
    return rule.operation if isinstance(rule.operation, tuple) else (rule.operation,)


def records() -> tuple[Rule, ...]:
    """Every record, built-in ones first, in the order of the table."""
    return tuple(_RECORDS.values())


def record(name: str) -> Rule:
    return _RECORDS[name]


def rule_for(expr) -> Rule | None:
    """The record of an expression's operation (SymPy's or symgrad's), or None."""
    for cls in type(expr).__mro__:
        candidates = _BY_OPERATION.get(cls)
        if candidates:
            for rule in candidates:
                if rule.matches is None or rule.matches(expr):
                    return rule
    return None


def canonical(expr):
    """``expr`` with the rewrites records ask for when a model is built (log det A → logdet)."""

    def rewrite(e):
        rule = rule_for(e)
        if rule is None or rule.canonical is None:
            return None
        return rule.canonical(e)

    return expr.replace(lambda e: rewrite(e) is not None, rewrite)


def operations() -> Mapping[type, tuple[Rule, ...]]:
    return MappingProxyType({cls: tuple(rules) for cls, rules in _BY_OPERATION.items()})


def is_choice(expr) -> bool:
    """A where(), max, abs, relu, clip, …: an operation whose value a comparison chooses (its
    record names a kink). SymPy cannot always write a choice that compares another choice."""
    rule = rule_for(expr) if isinstance(expr, sympy.Basic) else None
    return rule is not None and rule.kink is not None


def kinks_of(expr) -> tuple:
    """Every kink argument of the non-smooth primitives inside ``expr``: expressions that are
    zero where a primitive is not differentiable (matrices of them inside an Elementwise)."""
    from ..tensors import Elementwise

    out: list = []

    def visit(node):
        if isinstance(node, Elementwise):
            template = node.template
            for kink in kinks_of(template.expr):
                out.append(Elementwise(sympy.Lambda(template.variables, kink), *node.operands))
            for operand in node.operands:
                visit(operand)
            return
        rule = rule_for(node) if isinstance(node, sympy.Basic) else None
        if rule is not None:
            out.extend(rule.kinks(node))
        for arg in getattr(node, "args", ()):
            if isinstance(arg, sympy.Basic):
                visit(arg)

    visit(sympy.sympify(expr))
    return tuple(dict.fromkeys(out))


# --- symgrad's own scalar functions --------------------------------------------------------


class Primitive(Function):
    """A SymPy function whose derivative, spellings and value come from its record. Applied to a
    matrix it acts entry by entry (``relu(X @ W)``). ``parameters`` name the arguments, so they
    can be given by keyword; ``defaults`` fill trailing ones (``leaky_relu(x, 0.01)``)."""

    parameters: ClassVar[tuple[str, ...]] = ("x",)
    defaults: ClassVar[Mapping[str, Any]] = MappingProxyType({})
    variadic: ClassVar[bool] = False

    def __new__(cls, *args, **kwargs):
        evaluate = kwargs.pop("evaluate", None)
        args = cls._bind(args, kwargs)
        if any(is_matrix(arg) for arg in args):
            return Tensor(elementwise(lambda *a: cls(*a), *args, what=cls.__name__))
        if evaluate is not None:
            return super().__new__(cls, *args, evaluate=evaluate)
        return super().__new__(cls, *args)

    @classmethod
    def _bind(cls, args, kwargs) -> tuple:
        if cls.variadic:
            if kwargs:
                raise SymgradError(f"{cls.__name__} takes no keyword {next(iter(kwargs))!r}")
            return args
        names = cls.parameters
        if len(args) > len(names):
            raise SymgradError(
                f"{cls.__name__} takes {len(names)} argument(s) ({', '.join(names)}), "
                f"got {len(args)}"
            )
        bound = dict(zip(names, args, strict=False))
        for key, value in kwargs.items():
            if key not in names:
                raise SymgradError(
                    f"{cls.__name__} takes no keyword {key!r} "
                    f"(its arguments are {', '.join(names)})"
                )
            if key in bound:
                raise SymgradError(f"{cls.__name__} got {key!r} twice")
            bound[key] = value
        for name in names:
            if name not in bound:
                if name not in cls.defaults:
                    raise SymgradError(f"{cls.__name__} needs its argument {name!r}")
                bound[name] = cls.defaults[name]
        return tuple(bound[name] for name in names)

    @property
    def rule(self) -> Rule:
        return rule_for(self)

    def fdiff(self, argindex=1):
        return self.rule.partials(self)[argindex - 1]

    def expand_definition(self):
        return self.rule.definition(*self.args)

    def _eval_evalf(self, prec):
        if all(arg.is_number for arg in self.args) and self.rule.definition is not None:
            return sympy.sympify(self.rule.definition(*self.args))._evalf(prec)
        return None

    def _eval_rewrite_as_exp(self, *args, **kwargs):
        return self.rule.definition(*args)

    def _eval_is_real(self):
        if all(arg.is_extended_real for arg in self.args):
            return True
        return None

    def _latex(self, printer):
        return spell(self.rule.latex, [printer._print(arg) for arg in self.args], self)

    def _sympystr(self, printer):
        return f"{self.func.__name__}({', '.join(printer._print(a) for a in self.args)})"


# SymPy's smooth functions, built unevaluated on a plain argument (the classes themselves: a
# user's function of the same name is not one of them).
SMOOTH_AS_WRITTEN = frozenset(
    [
        *(sympy.exp, sympy.log, sympy.erf, sympy.erfc, sympy.tanh, sympy.sinh, sympy.cosh),
        *(sympy.asinh, sympy.acosh, sympy.atanh, sympy.sin, sympy.cos, sympy.tan),
        *(sympy.asin, sympy.acos, sympy.atan),
    ]
)


def _plain_argument(arg, function) -> bool:
    """An argument SymPy's evaluation of ``function`` (exp, tanh, …) leaves as it is: not a
    number, no sign to pull out (tanh(−x) → −tanh(x), the form the rest of SymPy expects), not
    a function that could cancel (exp(log(x)) → x), no period of π to drop (sin(x + 2π)), no
    number for exp to split off (exp(x + 1.5) → e^1.5·exp(x))."""
    arg = sympy.sympify(arg)
    if arg.is_Number or isinstance(arg, sympy.Function) or arg.atoms(sympy.NumberSymbol):
        return False
    if isinstance(arg, sympy.Add):
        if function is sympy.exp and any(term.is_Number for term in arg.args):
            return False
        if all(_signless(term) for term in arg.args):
            return True  # what SymPy's sign test concludes for such a sum, without assumptions
    return not arg.could_extract_minus_sign()


def _signless(term) -> bool:
    """A term with no minus sign to pull out, told from its form alone: a name, a positive
    number (a float's sign from its value: a fresh Float's assumptions cost 0.1 ms), a product
    with a positive number first, a function."""
    if term.is_Symbol or isinstance(term, sympy.Function):
        return True
    if term.is_Number:
        return (term.is_Float or term.is_Rational) and float(term) > 0
    if isinstance(term, sympy.Mul):
        first = term.args[0]
        return not first.is_Number or _signless(first)
    return False


def entry_by_entry(function: Callable, name: str | None = None) -> Callable:
    """``function`` (SymPy's exp, tanh, Max, …) acting entry by entry on a Tensor argument and
    as itself on scalars. A keyword it would take as something else is refused."""
    name = name or getattr(function, "__name__", str(function))

    def applied(*args, **kwargs):
        if kwargs:
            raise SymgradError(
                f"{name} takes no keyword {next(iter(kwargs))!r}; it acts entry by entry"
            )
        if any(is_matrix(a) for a in args):
            return Tensor(elementwise(lambda *a: function(*a), *args, what=name))
        if function in SMOOTH_AS_WRITTEN and all(_plain_argument(a, function) for a in args):
            # SymPy's evaluation would find nothing to rewrite, at 1 ms a call on a fresh
            # argument (tanh(w·h + 0.1) in a deep chain)
            return function(*args, evaluate=False)
        return function(*args)

    applied.__name__ = applied.__qualname__ = name
    applied.__doc__ = f"{name}, entry by entry on a matrix."
    return applied


def public_function(rule: Rule) -> Callable:
    """What a model file calls for ``rule``: its class, SymPy's function entry by entry, or the
    composite's definition entry by entry."""
    if rule.api is not None:
        return rule.api
    if rule.operation is None:
        return entry_by_entry(rule.definition, rule.name)
    if issubclass(rule.operation, Primitive):
        return rule.operation
    return entry_by_entry(rule.build or rule.operation, rule.name)
