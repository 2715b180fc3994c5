"""A node's expression as its author wrote it. SymPy puts the terms and factors of every sum
and product in its own order (``x * w`` becomes ``w*x``, ``w1*x1 + w2*x2 + b`` becomes
``b + w1*x1 + w2*x2``); a worked example should read as the lecture does. So the expression in
the model file's ``m.node(name, EXPR)`` is evaluated once more with SymPy's evaluation off,
which keeps the author's order, and kept only where it is the same expression.

Only what is plainly arithmetic is evaluated again: names, numbers, + − × ÷ **, and calls of
SymPy's and symgrad's functions. Anything else (a call of the user's own function, a
comprehension, an attribute of a tensor) keeps SymPy's form.
"""

from __future__ import annotations

import ast
import functools
import linecache
import types

import sympy
from sympy.matrices.expressions.matexpr import MatrixExpr

from .errors import user_frame

_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.USub, ast.UAdd)
_DECLARATIONS = ("node", "loss")


def as_written(expr: sympy.Expr) -> sympy.Expr | None:
    """``expr`` with the terms and factors in the order the model file gives them, or None."""
    if isinstance(expr, MatrixExpr) or not isinstance(expr, sympy.Expr):
        return None
    if any(isinstance(s, MatrixExpr) for s in expr.free_symbols):
        return None
    frame = user_frame()
    if frame is None:
        return None
    source = _argument(frame.f_code.co_filename, frame.f_lineno)
    if source is None or not _plain_arithmetic(source, frame):
        return None
    try:
        written = _flattened(sympy.sympify(_unevaluated(source, frame)))
    except Exception:  # the author's form is a courtesy: SymPy's is always right
        return None
    return written if _up_to_order(written) == _up_to_order(expr) else None


def _argument(filename: str, line: int) -> ast.expr | None:
    """The expression argument of the one ``.node(…)`` or ``.loss(…)`` call running at
    ``line`` of ``filename``."""
    calls = _declarations(filename, len(linecache.getlines(filename))).get(line, ())
    if len(calls) != 1:
        return None
    call = calls[0]
    if len(call.args) >= 2:
        return call.args[1]
    given = [k.value for k in call.keywords if k.arg == "expr"]
    return given[0] if given else None


@functools.lru_cache(maxsize=64)
def _declarations(filename: str, _lines: int) -> dict[int, list[ast.Call]]:
    """The file's ``.node(…)`` and ``.loss(…)`` calls by each line they span (parsed once per
    file: a model of a thousand nodes asks a thousand times)."""
    try:
        tree = ast.parse("".join(linecache.getlines(filename)))
    except (SyntaxError, ValueError):
        return {}
    by_line: dict[int, list[ast.Call]] = {}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _DECLARATIONS
        ):
            for line in range(node.lineno, (node.end_lineno or node.lineno) + 1):
                by_line.setdefault(line, []).append(node)
    return by_line


def _unevaluated(node: ast.expr, frame: types.FrameType):
    """The argument's value built with SymPy's evaluation off operator by operator (a − b is
    a + (−1)·b, a / b is a·b⁻¹, as Python under ``sympy.evaluate(False)`` would build them).
    Not that context manager: entering and leaving it empties SymPy's caches, which a model of
    a thousand nodes then refills a thousand times."""
    if isinstance(node, ast.Constant):
        return sympy.sympify(node.value)
    if isinstance(node, ast.Name):
        return frame.f_locals[node.id] if node.id in frame.f_locals else frame.f_globals[node.id]
    if isinstance(node, ast.Attribute):
        return getattr(_unevaluated(node.value, frame), node.attr)
    if isinstance(node, ast.UnaryOp):
        operand = sympy.sympify(_unevaluated(node.operand, frame))
        return operand if isinstance(node.op, ast.UAdd) else sympy.Mul(-1, operand, evaluate=False)
    if isinstance(node, ast.BinOp):
        a = sympy.sympify(_unevaluated(node.left, frame))
        b = sympy.sympify(_unevaluated(node.right, frame))
        if isinstance(node.op, ast.Add):
            return sympy.Add(a, b, evaluate=False)
        if isinstance(node.op, ast.Sub):
            return sympy.Add(a, sympy.Mul(-1, b, evaluate=False), evaluate=False)
        if isinstance(node.op, ast.Mult):
            return sympy.Mul(a, b, evaluate=False)
        if isinstance(node.op, ast.Div):
            return sympy.Mul(a, sympy.Pow(b, -1, evaluate=False), evaluate=False)
        return sympy.Pow(a, b, evaluate=False)
    if isinstance(node, ast.Call):  # SymPy's smooth functions build as written, and cheaply
        function = _unevaluated(node.func, frame)
        return function(*[_unevaluated(arg, frame) for arg in node.args])
    raise TypeError(type(node).__name__)  # _plain_arithmetic admits nothing else


def _plain_arithmetic(source: ast.expr, frame: types.FrameType) -> bool:
    for node in ast.walk(source):
        if isinstance(node, ast.Call):
            if node.keywords or not _known_function(node.func, frame):
                return False
        elif isinstance(node, (ast.BinOp, ast.UnaryOp)):
            if not isinstance(node.op, _OPERATORS):
                return False
        elif not isinstance(node, (ast.Name, ast.Constant, ast.Load, ast.Attribute, *_OPERATORS)):
            return False
        if isinstance(node, ast.Attribute) and not isinstance(node.value, ast.Name):
            return False  # module.function only
    return True


def _known_function(func: ast.expr, frame: types.FrameType) -> bool:
    """A function of SymPy or symgrad (found the way the model file finds it)."""
    if isinstance(func, ast.Name):
        value = frame.f_locals.get(func.id, frame.f_globals.get(func.id))
    elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        module = frame.f_locals.get(func.value.id, frame.f_globals.get(func.value.id))
        value = getattr(module, func.attr, None)
    else:
        return False
    home = getattr(value, "__module__", None) or ""
    return home.split(".")[0] in ("sympy", "symgrad")


def _flattened(expr: sympy.Basic) -> sympy.Basic:
    """Python builds a + b + c as (a + b) + c: one sum of three terms, as written."""
    if not expr.args:
        return expr
    args = [_flattened(a) for a in expr.args]
    if isinstance(expr, (sympy.Add, sympy.Mul)):
        flat = []
        for a in args:
            flat.extend(a.args if type(a) is type(expr) else (a,))
        return type(expr)(*flat, evaluate=False)
    if isinstance(expr, (sympy.Pow, sympy.Function)):
        return expr.func(*args, evaluate=False)
    return expr


def _up_to_order(expr: sympy.Basic) -> str:
    """The expression with the terms of each sum and the factors of each product in a fixed
    order: equal for the author's form and SymPy's exactly when only the order differs (a
    form SymPy would change otherwise, 2(a + b) → 2a + 2b, keeps SymPy's). Evaluating the
    author's form again would cost as much as building the model."""
    if not expr.args:
        return f"{type(expr).__name__}:{expr}"
    parts = [_up_to_order(a) for a in expr.args]
    if isinstance(expr, (sympy.Add, sympy.Mul)):
        parts.sort()
    return f"{expr.func}({','.join(parts)})"
