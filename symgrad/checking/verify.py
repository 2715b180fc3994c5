"""Proving a gradient right: the symbolic derivation against PyTorch autograd and finite
differences, at the example point and at random points inside each variable's domain.

    verify(model)                      symgrad's own generated code, NumPy and Torch backends
    verify(model, against=my_grad)     someone else's gradient; the derivation is the oracle

Three sources of truth, and each disagreement gets a label:

- the **symbolic** gradient (the derivation, compiled for NumPy and evaluated in float64) is
  the oracle; a claimed gradient must equal it entry by entry within an *estimate of rounding
  error* measured at that very point (the oracle evaluated again in float32 shows how much
  rounding moves each gradient; float64 rounding is that, scaled by the ratio of unit
  roundoffs);
- **PyTorch autograd** differentiates the model's forward pass written in torch operations, so
  it shares nothing of symgrad's rules; it must agree with the oracle on every entry;
- **finite differences** (``finite_differences``: complex step where the model is analytic,
  central differences with Richardson extrapolation where it is not) check sampled entries,
  every entry in question, and random projections, each against its own error estimate.

A disagreement is a *mismatch*, a *non-differentiable point* (a kink within the step: the left
and right derivatives are reported, and whether the claimed value lies between them),
*undefined* (the loss is not finite there), or *finite-difference noise*. A mismatch is located:
the variable and its entries, the first node in backward order whose adjoint is wrong, and the
pattern (``off by ×2``, ``sign flipped``, ``transposed``, ``missing term``).

At each point three judges (``autograd_judge``, ``fd_judge``, ``claim_judge``) return what they
find, weighing each difference against the point's ``tolerance`` and its ``kinks``; after the
last point ``diagnosis`` locates the mismatches.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from ..codegen import compile
from ..derivation import Derivation, derive
from ..errors import SymgradError
from ..model import Model
from ..progress import report as report_progress
from . import autograd_judge, claim_judge, fd_judge, kinks
from .diagnosis import locate
from .point import Point
from .points import points_to_check
from .report import MISMATCH, Finding, Report, VariableRow
from .witnesses import (
    Autograd,
    Claim,
    FiniteDifferences,
    against_claim,
    own_claims,
    torch_available,
)

__all__ = ["DTYPES", "Finding", "Report", "VariableRow", "verify"]

DTYPES = ("float64", "float32")


def verify(
    model: Model | Derivation,
    *,
    against=None,
    points: int = 10,
    dtype: str = "float64",
    device: str = "cpu",
    seed: int = 0,
    wrt=None,
    at: Sequence[Mapping] = (),
    progress: Callable[[int, int], None] | None = None,
) -> Report:
    """Check a gradient at the model's example point and ``points`` random points.

    ``against``: a callable taking the model's values as keywords (NumPy arrays, or torch
    tensors when it refuses arrays) and returning its gradient, a dict by name or a tuple in
    ``wrt`` order (a ``(loss, gradient)`` pair is fine). Without it, symgrad's own generated
    NumPy and Torch code is checked. ``at`` gives points of your own (dicts of values),
    checked instead of the example (with ``points=0``, exactly those points).
    ``dtype`` is the precision the checked gradient runs in; the witnesses always run in
    float64. Returns a ``Report``; ``report.ok`` is true when nothing is a mismatch.
    """
    started = time.perf_counter()
    if dtype not in DTYPES:
        raise SymgradError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    if not isinstance(points, int) or isinstance(points, bool) or points < 0:
        raise SymgradError(f"points must be a whole number ≥ 0, got {points!r}")
    d = model if isinstance(model, Derivation) else derive(model, wrt=wrt)
    torch_ok = torch_available()
    notes: list[str] = []
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise SymgradError(f"seed must be a whole number, got {seed!r}")
    if not isinstance(device, str) or not (device == "cpu" or device.split(":")[0] == "cuda"):
        raise SymgradError(f"device must be 'cpu' or 'cuda' (or 'cuda:N'), got {device!r}")
    if device != "cpu":
        if not torch_ok:
            raise SymgradError(
                f"device {device!r} needs PyTorch; install it with pip install 'symgrad[torch]'"
            )
        import torch

        if device.startswith("cuda") and not torch.cuda.is_available():
            raise SymgradError(f"device {device!r}: PyTorch sees no CUDA device on this machine")
    if not torch_ok:
        notes.append(
            "PyTorch is not installed: autograd did not witness, "
            "and the torch backend was not checked"
        )

    oracle = compile(d, "numpy")
    claims = (
        own_claims(d, dtype, device, torch_ok)
        if against is None
        else [against_claim(d, against, dtype, device, torch_ok)]
    )
    if against is None and d.origin is not None and torch_ok:
        # a model read from PyTorch code: the code's own autograd gradient is judged too, so a
        # reading that differs from the code cannot pass
        claims.append(against_claim(d, d.origin.function, dtype, device, torch_ok))
    autograd = Autograd(d) if torch_ok else None
    differences = FiniteDifferences(d, oracle)
    kink_arguments = kinks.kink_evaluator(d) if d.kinks else None

    labels, chosen = points_to_check(d, points, seed, at, oracle, notes)
    rows = {name: _row(d, name, chosen) for name in d.wrt}
    findings: list[Finding] = []
    mismatched: list[tuple[int, Claim, dict, dict]] = []
    rng = np.random.default_rng(seed + 1)
    checked = 0
    for index, point in enumerate(chosen):
        at = Point.at(index, point, d, oracle, differences, kink_arguments, rows, rng, dtype)
        undefined = at.undefined()
        if undefined is not None:
            findings.append(undefined)
            continue
        checked += 1
        here: list[Finding] = []  # what was found at this point
        if autograd is not None:
            here += autograd_judge.judge(at, autograd)
        here += fd_judge.judge(at, len(chosen))
        for claim in claims:
            claimed = claim.call(point)
            for name in claim.modified:  # the caller's arrays are not the claim's to change
                detail = f"{claim.label} modifies its argument {name} in place"
                here.append(Finding(MISMATCH, index, source=claim.label, detail=detail))
            judged = claim_judge.judge(at, claim, claimed)
            if any(f.is_failure for f in judged):
                mismatched.append((index, claim, claimed, at.expected))
            here += judged
        here += kinks.label(at, here)
        findings += here
        report_progress("verifying", index + 1, len(chosen), "points")
        if progress is not None:
            progress(index + 1, len(chosen))

    if mismatched:
        locate(d, mismatched, chosen, findings, oracle, autograd)
    report = Report(
        model=d.model,
        loss=d.loss.name,
        wrt=d.wrt,
        dtype=dtype,
        device=device,
        checked=tuple(c.label for c in claims),
        points=labels,
        rows=rows,
        findings=findings,
        notes=notes,
        seconds=time.perf_counter() - started,
        seed=seed,
        own_code=against is None,
        checked_points=checked,
    )
    for row in rows.values():
        wrong = any(f.variable == row.name for f in report.mismatches)
        row.verdict = "MISMATCH" if wrong else "ok"
    return report


def _row(d: Derivation, name: str, points: list[dict]) -> VariableRow:
    shape = tuple(np.shape(points[0][name])) if points else d.variable(name).shape
    return VariableRow(name, shape, int(np.prod(shape)) if shape else 1)
