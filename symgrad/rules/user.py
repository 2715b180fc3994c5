"""A primitive of the user's own, declared in a model file.

    swish = symgrad.primitive("swish", lambda x: x * symgrad.sigmoid(x))
    h = m.node("h", swish(z))

With a definition alone, the derivative is the chain rule through the definition and the code
prints the definition; ``derivative=`` gives a textbook form (``lambda ans, x: …``, one partial per
argument), and ``numpy=``, ``torch=``, ``latex=``, … give spellings (``"my_op(#1)"``). The new
function works entry by entry on matrices, shows in ``symgrad rules FILE``, renders in the worked
example, compiles and verifies like a built-in.
"""

from __future__ import annotations

import inspect
import keyword
from collections.abc import Callable

import sympy

from ..errors import SymgradError, caller_location
from .calculus import differentiate
from .record import Primitive, Rule, register

SPELLINGS = ("numpy", "torch", "python", "latex", "text")


def primitive(
    name: str,
    definition: Callable,
    derivative: Callable | None = None,
    *,
    summary: str | None = None,
    examples: tuple | None = None,
    domains: tuple = (),
    kink: Callable | None = None,
    **spellings,
) -> type:
    """Declare a primitive ``name`` defined by ``definition(*args)`` (SymPy or symgrad
    functions of the arguments); returns the function to use in the model."""
    where = caller_location()
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise SymgradError(f"a primitive's name must be a Python identifier, got {name!r}", where)
    if name.startswith("_"):
        raise SymgradError(f"primitive {name!r}: names starting with _ are symgrad's", where)
    unknown = [key for key in spellings if key not in SPELLINGS]
    if unknown:
        raise SymgradError(
            f"primitive {name!r} takes no keyword {unknown[0]!r} "
            f"(spellings: {', '.join(SPELLINGS)})",
            where,
        )
    if not callable(definition):
        raise SymgradError(f"primitive {name!r}: the definition must be a function", where)
    parameters = _parameters(name, definition, where)
    placeholders = [sympy.Symbol(f"_{p}", real=True) for p in parameters]
    try:
        body = sympy.sympify(definition(*placeholders))
    except Exception as error:  # a user's function: any failure is bad input
        raise SymgradError(f"primitive {name!r}: its definition fails: {error}", where) from None
    if not isinstance(body, sympy.Expr):
        raise SymgradError(f"primitive {name!r}: the definition must give a scalar formula", where)
    if derivative is None:
        derivative = _derived(body, placeholders, name, where)
    cls = type(name, (Primitive,), {
        "nargs": len(parameters),
        "parameters": tuple(parameters),
        "__doc__": summary or f"{name}, declared with symgrad.primitive",
        "__module__": "symgrad.user_primitives",
    })  # fmt: skip
    slots = ", ".join(f"#{i + 1}" for i in range(len(parameters)))
    escaped = name.replace("_", r"\_")
    latex = spellings.get("latex") or rf"\operatorname{{{escaped}}}\left({slots}\right)"
    text = spellings.get("text") or f"{name}({slots})"
    register(
        Rule(
            name, cls, "your own", summary or "declared in a model file", tuple(parameters),
            examples or (tuple(0.3 + 0.2 * i for i in range(len(parameters))),),
            derivative=derivative, definition=definition,
            numpy=spellings.get("numpy"), torch=spellings.get("torch"),
            python=spellings.get("python"), latex=latex, text=text,
            kink=kink, domains=domains, user=True,
        )
    )  # fmt: skip
    return cls


def _parameters(name: str, definition: Callable, where) -> list[str]:
    try:
        signature = inspect.signature(definition)
    except (TypeError, ValueError):
        raise SymgradError(
            f"primitive {name!r}: cannot read the definition's arguments", where
        ) from None
    out = []
    for parameter in signature.parameters.values():
        if parameter.kind not in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            raise SymgradError(
                f"primitive {name!r}: the definition takes plain arguments only "
                f"({parameter.name!r} is not one)",
                where,
            )
        out.append(parameter.name)
    if not out:
        raise SymgradError(f"primitive {name!r}: the definition takes no argument", where)
    return out


def _derived(body, placeholders, name: str, where) -> Callable:
    """The partials of the definition, once, by the chain rule through the records."""
    try:
        partials = [differentiate(body, p) for p in placeholders]
    except SymgradError as error:
        raise SymgradError(f"primitive {name!r}: {error.message}", where) from None

    def derivative(ans, *args):
        mapping = dict(zip(placeholders, args, strict=True))
        return tuple(p.xreplace(mapping) for p in partials)

    return derivative
