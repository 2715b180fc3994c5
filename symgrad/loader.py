"""Loading a model file: run it, find its Model by type, and turn every failure into one line."""

from __future__ import annotations

import contextlib
import os
import re
import runpy
import sys
import traceback

import sympy

from .errors import SymgradError
from .model import Model


def load_models(path: str) -> list[Model]:
    """Run the model file at ``path`` and return the models it defines, in definition order."""
    return list(_run(path).values())


def load_model(path: str, name: str | None = None) -> Model:
    """The one model in ``path``, or the one called ``name`` (its model name or its variable)."""
    found = _run(path)
    models = list(dict.fromkeys(found.values()))
    if not models:
        raise SymgradError(f"{path}: no symgrad Model defined at the top level of the file")
    if name is not None:
        for model in models:
            if model.name == name:
                return model
        if name in found:
            return found[name]
        choices = ", ".join(repr(m.name) for m in models)
        raise SymgradError(f"{path}: no model named {name!r} (the file defines {choices})")
    if len(models) > 1:
        choices = ", ".join(repr(m.name) for m in models)
        raise SymgradError(
            f"{path} defines {len(models)} models ({choices}); choose one with --model NAME"
        )
    return models[0]


def _run(path: str) -> dict[str, Model]:
    """Execute the file; return its top-level models by variable name (one entry per model)."""
    if not os.path.isfile(path):
        raise SymgradError(f"{path}: no such file")
    directory = os.path.dirname(os.path.abspath(path))
    sys.path.insert(0, directory)  # so a model file can import its neighbours
    try:
        with _no_truth_value(directory):
            namespace = runpy.run_path(path, run_name="__symgrad_model__")
    except SymgradError as error:
        if error.where is None:  # raised inside symgrad: the model file's line is at fault
            error.where = _location(path, error)
        raise
    except SyntaxError as error:
        line = f":{error.lineno}" if error.lineno else ""
        raise SymgradError(f"{error.filename or path}{line}: syntax error: {error.msg}") from None
    except (Exception, SystemExit) as error:  # the user's code failed: say where
        raise SymgradError(f"{_location(path, error)}: {_describe(error, path)}") from None
    finally:
        if sys.path and sys.path[0] == directory:
            sys.path.pop(0)
    found: dict[str, Model] = {}
    for variable, value in namespace.items():
        if isinstance(value, Model) and all(value is not m for m in found.values()):
            found[variable] = value
    return found


_NO_TRUTH = (
    "a Python if, and, or or a comparison asks a symbol for a value it does not have yet; "
    "choose with symgrad.where(condition, a, b)"
)


@contextlib.contextmanager
def _no_truth_value(directory: str):
    """While a model file runs, ``z and x``, ``z or x``, ``a if z else b`` or ``if z:`` in it
    (or in its neighbours) on a symbolic ``z`` is an error: Python would take any SymPy
    expression as true and silently build another model. SymPy's own code keeps the old
    answer (true, or the length of a container)."""
    directory = os.path.abspath(directory)

    def __bool__(self):
        caller = sys._getframe(1).f_code.co_filename
        if os.path.dirname(os.path.abspath(caller)) == directory and self.free_symbols:
            raise SymgradError(_NO_TRUTH)
        length = getattr(type(self), "__len__", None)
        return length(self) != 0 if length is not None else True

    previous = sympy.Basic.__dict__.get("__bool__")  # a model file may load another
    sympy.Basic.__bool__ = __bool__
    try:
        yield
    finally:
        if previous is None:
            del sympy.Basic.__bool__
        else:
            sympy.Basic.__bool__ = previous


def _location(path: str, error: BaseException) -> str:
    target = os.path.abspath(path)
    line = None
    for frame in traceback.extract_tb(error.__traceback__):
        if os.path.abspath(frame.filename) == target:
            line = frame.lineno
    return f"{path}:{line}" if line else path


def _describe(error: BaseException, path: str | None = None) -> str:
    hint = _symbolic_hint(error, path)
    if hint:
        return hint
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


# what Python, math, NumPy and torch say when handed a symbol where they expect a number
_NUMBERS_ONLY = (
    "Cannot convert expression to float",
    "cannot determine truth value of Relational",
    "loop of ufunc does not support argument",
    "must be Tensor, not",
    "Cannot round symbolic expression",
)
_CALL = re.compile(r"\b(math|np|numpy|torch|F|torch\.nn\.functional)\.(\w+)\s*\(")
_BUILTIN = re.compile(r"(?<![\w.])(max|min|abs|round)\s*\(")


def _symbolic_hint(error: BaseException, path: str | None) -> str | None:
    """A numeric function, or a Python ``if``, given a symbol: say what to write instead."""
    if not isinstance(error, TypeError) or not any(t in str(error) for t in _NUMBERS_ONLY):
        return None
    source = _failing_line(path, error)
    called = _CALL.search(source)
    if called:
        module, name = called.groups()
        from .rules import public_functions

        instead = f"symgrad.{name}" if name in public_functions() else "symgrad's functions"
        if module in ("torch", "F", "torch.nn.functional"):
            instead += " (or symgrad.from_torch to read PyTorch code as it is)"
        return (
            f"{module}.{name} computes with numbers, and a model's quantities are symbols "
            f"until derived; use {instead}"
        )
    builtin = _BUILTIN.search(source)
    if builtin:
        instead = {"max": "symgrad.maximum (or relu)", "min": "symgrad.minimum",
                   "abs": "symgrad.abs", "round": "symgrad.round"}[builtin.group(1)]  # fmt: skip
        asks = "rounds" if builtin.group(1) == "round" else "compares"
        return f"Python's {builtin.group(1)} {asks} a symbol that has no value yet; use {instead}"
    return _NO_TRUTH


def _failing_line(path: str | None, error: BaseException) -> str:
    """The text of the line of ``path`` the error came from."""
    if path is None:
        return ""
    target = os.path.abspath(path)
    frames = [
        f
        for f in traceback.extract_tb(error.__traceback__)
        if os.path.abspath(f.filename) == target
    ]
    return (frames[-1].line or "") if frames else ""


def load_function(spec: str):
    """The callable named by ``FILE:FUNC`` (a module-level function or callable in FILE)."""
    path, sep, name = spec.rpartition(":")
    if not sep or not path or not name:
        raise SymgradError(f"--against expects FILE:FUNCTION, got {spec!r}")
    if not os.path.isfile(path):
        raise SymgradError(f"{path}: no such file (from --against {spec})")
    directory = os.path.dirname(os.path.abspath(path))
    sys.path.insert(0, directory)
    try:
        namespace = runpy.run_path(path, run_name="__symgrad_gradient__")
    except SyntaxError as error:
        line = f":{error.lineno}" if error.lineno else ""
        raise SymgradError(f"{error.filename or path}{line}: syntax error: {error.msg}") from None
    except (Exception, SystemExit) as error:
        raise SymgradError(f"{_location(path, error)}: {_describe(error)}") from None
    finally:
        if sys.path and sys.path[0] == directory:
            sys.path.pop(0)
    if name not in namespace:
        functions = sorted(k for k, v in namespace.items() if callable(v) and not k.startswith("_"))
        raise SymgradError(
            f"{path}: no function {name!r} (it defines {', '.join(functions) or 'none'})"
        )
    function = namespace[name]
    if not callable(function):
        raise SymgradError(f"{path}: {name!r} is a {type(function).__name__}, not a function")
    return function
