"""Loading a model file: run it, find its Model by type, and turn every failure into one line."""

from __future__ import annotations

import os
import runpy
import sys
import traceback

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
        namespace = runpy.run_path(path, run_name="__symgrad_model__")
    except SymgradError:
        raise
    except SyntaxError as error:
        line = f":{error.lineno}" if error.lineno else ""
        raise SymgradError(f"{error.filename or path}{line}: syntax error: {error.msg}") from None
    except (Exception, SystemExit) as error:  # the user's code failed: say where
        raise SymgradError(f"{_location(path, error)}: {_describe(error)}") from None
    finally:
        if sys.path and sys.path[0] == directory:
            sys.path.pop(0)
    found: dict[str, Model] = {}
    for variable, value in namespace.items():
        if isinstance(value, Model) and all(value is not m for m in found.values()):
            found[variable] = value
    return found


def _location(path: str, error: BaseException) -> str:
    target = os.path.abspath(path)
    line = None
    for frame in traceback.extract_tb(error.__traceback__):
        if os.path.abspath(frame.filename) == target:
            line = frame.lineno
    return f"{path}:{line}" if line else path


def _describe(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


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
