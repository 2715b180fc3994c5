"""The one exception symgrad raises for bad input, and where in the user's file it points."""

from __future__ import annotations

import os
import sys
import types

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
    frame = user_frame()
    return f"{frame.f_code.co_filename}:{frame.f_lineno}" if frame is not None else None


def user_frame() -> types.FrameType | None:
    """The innermost frame outside the symgrad package: the user's code that called in."""
    frame = sys._getframe(1)
    while frame is not None:
        if not os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR + os.sep):
            return frame
        frame = frame.f_back
    return None
