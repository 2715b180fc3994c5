"""What the judges share at one point: its values, the oracle's loss and gradient there, the
tolerance model, the kinks near it and the finite differences that measure it."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..codegen import CompiledGradient
from ..derivation import Derivation
from .kinks import Kinks
from .report import UNDEFINED, Finding, VariableRow
from .tolerance import Tolerance
from .witnesses import FiniteDifferences

# the smallest size a step scales to: a variable that is all zeros still moves
SMALLEST_SIZE = 1e-8


def rms_size(value) -> float:
    """The typical size of a variable's entries (their root mean square), what a step or a
    random direction is scaled to."""
    value = np.asarray(value, np.float64)
    return max(float(np.sqrt(np.mean(value**2))), SMALLEST_SIZE)


@dataclass
class Point:
    """One point under check, with what every judge reads there."""

    index: int
    values: Mapping
    d: Derivation
    oracle: CompiledGradient
    fd: FiniteDifferences
    rows: dict[str, VariableRow]
    rng: np.random.Generator
    dtype: str  # the precision of the checked gradient
    loss: float
    expected: dict[str, np.ndarray]  # the oracle's gradient, float64
    tolerance: Tolerance
    kinks: Kinks

    @classmethod
    def at(cls, index, values, d, oracle, fd, kink_arguments, rows, rng, dtype) -> Point:
        """The oracle evaluated at ``values``, and the tolerances and kinks there."""
        with np.errstate(all="ignore"):
            loss, grads = oracle(**values)
        loss = float(loss)
        expected = {k: np.asarray(v, dtype=np.float64) for k, v in grads.items()}
        tolerance = Tolerance(d, oracle, values, expected)
        kinks = Kinks(d, oracle, fd, values, loss, kink_arguments)
        return cls(index, values, d, oracle, fd, rows, rng, dtype, loss, expected, tolerance, kinks)

    def unit(self, name: str, entry: tuple[int, ...]) -> tuple[np.ndarray, float]:
        """The direction of one entry, scaled to its variable: the step moves the entry by a
        fraction of max(|value|, typical size of the variable)."""
        value = np.asarray(self.values[name], np.float64)
        direction = np.zeros(value.shape)
        size = max(abs(float(value[entry])) if value.ndim else abs(float(value)), rms_size(value))
        if value.ndim:
            direction[entry] = size
        else:
            direction = np.asarray(size)
        return direction, size

    def random_direction(self, name: str) -> np.ndarray:
        """A random direction in one variable, of about its typical size."""
        value = np.asarray(self.values[name], np.float64)
        scale = rms_size(value)
        return self.rng.standard_normal(value.shape) * scale / math.sqrt(max(value.size, 1))

    def expected_at(self, name: str, entry: tuple[int, ...]) -> float:
        want = self.expected[name]
        return float(want[entry]) if want.ndim else float(want)

    def finding(self, kind: str, name: str, source: str, witness: str, **fields) -> Finding:
        """A finding here about the gradient of ``name``: what ``source`` gave and what
        ``witness`` made of it."""
        return Finding(
            kind,
            self.index,
            variable=name,
            source=source,
            witness=witness,
            size=self.rows[name].size,
            **fields,
        )

    def undefined(self) -> Finding | None:
        """An *undefined* finding where the loss or a gradient is not finite here, naming the
        first node that is not."""
        bad = not math.isfinite(self.loss) or any(
            not np.all(np.isfinite(v)) for v in self.expected.values()
        )
        if not bad:
            return None
        node, why = self._first_undefined()
        return Finding(UNDEFINED, self.index, node=node, detail=why)

    def _first_undefined(self) -> tuple[str | None, str]:
        try:
            with np.errstate(all="ignore"):
                values = self.oracle.trace(**self.values).values
        except Exception as error:
            return None, f"the forward pass fails: {error}"
        for node in self.d.nodes:
            value = np.asarray(values.get(node.name, 0.0))
            if not np.all(np.isfinite(value)):
                return (
                    node.name,
                    f"{node.name} = {node.expr} is not finite here ({_why(node.expr)})",
                )
        return None, "a gradient is not finite here (a derivative is infinite at this point)"


def _why(expr) -> str:
    import sympy

    if expr.has(sympy.log):
        return "log of a number that is not positive?"
    if any(isinstance(p, sympy.Pow) and p.exp.is_negative for p in sympy.preorder_traversal(expr)):
        return "a division by zero?"
    return "overflow?"
