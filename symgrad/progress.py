"""Progress of long work, for whoever listens: each stage says what it is doing and how far it
has come; the command line draws it as a bar on a terminal's stderr. With nobody listening a
report costs one function call."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

Listener = Callable[[str, float, float, str], None]  # (what is being done, done, total, unit)

_listeners: list[Listener] = []


def report(stage: str, done: float, total: float, unit: str = "") -> None:
    """``done`` of ``total`` (a fraction of the next one may be done too); ``unit`` names
    what is counted (points, nodes)."""
    for listener in _listeners:
        listener(stage, done, total, unit)


@contextlib.contextmanager
def listening(listener: Listener) -> Iterator[Listener]:
    _listeners.append(listener)
    try:
        yield listener
    finally:
        _listeners.remove(listener)
