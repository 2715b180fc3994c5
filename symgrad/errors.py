"""The one exception symgrad raises for bad input, and where in the user's file it points."""

from __future__ import annotations

import os
import sys

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class SymgradError(Exception):
    """Bad input: a model, a point, an option. The message is one line a user can act on.

    ``where`` is ``"file:line"`` of the declaration at fault when symgrad knows it; the
    command line prints ``where: message``.
    """

    def __init__(self, message: str, where: str | None = None):
        super().__init__(message)
        self.message = message
        self.where = where

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


def caller_location() -> str | None:
    """``file:line`` of the innermost frame outside the symgrad package (the user's call)."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = os.path.abspath(frame.f_code.co_filename)
        if not filename.startswith(_PACKAGE_DIR + os.sep):
            return f"{frame.f_code.co_filename}:{frame.f_lineno}"
        frame = frame.f_back
    return None
