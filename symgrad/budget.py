"""Work that may take SymPy minutes (simplifying a formula, writing out the closed form of a
deep gradient), given a time budget: it runs in a forked process, which can be stopped where a
thread cannot. Without fork (Windows), it runs to the end."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable

# seconds the closed forms of one command may take together (a worked example's simplified
# forms, --json's formulas); SYMGRAD_CLOSED_FORM_SECONDS raises or lowers it
CLOSED_FORM_SECONDS = float(os.environ.get("SYMGRAD_CLOSED_FORM_SECONDS", "20"))
# seconds --json's closed-form formulas may take together (SYMGRAD_FORMULA_SECONDS): a deep
# tensor model's formula is out of all proportion to the model (its size grows exponentially)
FORMULA_SECONDS = float(os.environ.get("SYMGRAD_FORMULA_SECONDS", "2"))


def within(seconds: float, function: Callable, *args):
    """``function(*args)`` if it returns within ``seconds`` (its result must pickle), else
    None."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return function(*args)
    if seconds <= 0:
        return None
    context = multiprocessing.get_context("fork")
    reader, writer = context.Pipe(duplex=False)
    worker = context.Process(target=_send, args=(function, args, writer), daemon=True)
    worker.start()
    writer.close()
    try:
        return reader.recv() if reader.poll(seconds) else None
    except EOFError:  # the worker died
        return None
    finally:
        worker.kill()
        worker.join()
        reader.close()


def _send(function: Callable, args: tuple, pipe) -> None:
    pipe.send(function(*args))
    pipe.close()
