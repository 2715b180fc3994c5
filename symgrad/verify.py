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
- **finite differences** (``symgrad.finite_differences``: complex step where the model is
  analytic, central differences with Richardson extrapolation where it is not) check sampled
  entries, every entry in question, and random projections, each against its own error
  estimate.

A disagreement is a *mismatch*, a *non-differentiable point* (a kink within the step: the left
and right derivatives are reported, and whether the claimed value lies between them),
*undefined* (the loss is not finite there), or *finite-difference noise*. A mismatch is located:
the variable and its entries, the first node in backward order whose adjoint is wrong, and the
pattern (``off by ×2``, ``sign flipped``, ``transposed``, ``missing term``).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from . import diagnosis
from . import finite_differences as fd
from .codegen import compile
from .derivation import Derivation, derive
from .domains import check_labels, domains_of, random_point, scales_of, shapes_of
from .errors import SymgradError
from .model import Model, as_value
from .progress import report as report_progress
from .report import (
    MISMATCH,
    NOISE,
    NON_DIFFERENTIABLE,
    UNDEFINED,
    Finding,
    Report,
    VariableRow,
    entry_text,
)
from .witnesses import (
    Autograd,
    Claim,
    FiniteDifferences,
    against_claim,
    moved,
    numpy_args,
    own_claims,
    torch_available,
)

__all__ = ["DTYPES", "Finding", "Report", "VariableRow", "verify"]

DTYPES = ("float64", "float32")
UNIT_ROUNDOFF = {"float64": 2.0**-53, "float32": 2.0**-24}
# Claims agree with the oracle within this many estimated rounding errors. The estimate is
# measured (see ``_rounding``), so the margin only absorbs how rounding varies between programs
# computing the same numbers in a different order.
ROUNDING_MARGIN = 64.0
# Below the smallest normal number a float keeps fewer digits (3.6e-312 has 12 bits), so two
# right programs differ there by more than any relative rounding; that far down they agree.
SUBNORMAL = {
    "float64": float(np.finfo(np.float64).tiny),
    "float32": float(np.finfo(np.float32).tiny),
}
ROUNDING_CAP = 2.0**-12  # rounding never explains more than this relative error (4096 float32 ulps)
BRANCH_FLIP = 1e-2  # a float32 entry this far off took another branch; it is not rounding
RESOLUTION = 1e-3  # a finite difference with a wider error bar (relative) resolves nothing
FD_ENTRIES = 12  # sampled entries per variable when a variable has more than FD_ALL entries
FD_ALL = 64
FD_DIRECTIONS = 2  # random projections per variable with more than FD_ALL entries
KINK_STEP = 1e-3  # a kink argument this close to 0 (relative to its size) is within a step
AT_KINK = 1e-6  # a kink this close along a step's direction (in the variable's scale) is here
REDRAWS = 50  # tries to draw a random point where the loss is finite


# --- verify ---------------------------------------------------------------------------------


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
    kinks = diagnosis.kink_evaluator(d) if d.kinks else None

    labels, chosen = _points(d, points, seed, at, oracle, notes)
    rows = {name: _row(d, name, chosen) for name in d.wrt}
    findings: list[Finding] = []
    mismatched: list[tuple[int, Claim, dict, dict]] = []
    rng = np.random.default_rng(seed + 1)
    checked = 0
    for index, point in enumerate(chosen):
        state = _Point(
            index, point, d, oracle, autograd, differences, kinks, rows, findings, rng, dtype
        )
        state.points = len(chosen)
        if state.undefined():
            continue
        checked += 1
        state.check_witnesses()
        for claim in claims:
            claimed = claim.call(point)
            for name in claim.modified:  # the caller's arrays are not the claim's to change
                detail = f"{claim.label} modifies its argument {name} in place"
                findings.append(Finding(MISMATCH, index, source=claim.label, detail=detail))
            if state.check_claim(claim, claimed):
                mismatched.append((index, claim, claimed, state.expected))
        state.label_kink()
        report_progress("verifying", index + 1, len(chosen), "points")
        if progress is not None:
            progress(index + 1, len(chosen))

    if mismatched:
        _locate(d, mismatched, chosen, findings, oracle, autograd)
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


def _points(d: Derivation, n: int, seed: int, at, oracle, notes) -> tuple[list[str], list[dict]]:
    labels, chosen = [], []
    example = dict(d.example)
    if at:  # points of the caller's own are checked instead of the example
        example = {}
    if all(name in example for name in d.arguments):
        check_labels(d, example, "the example")
        labels.append("the example")
        chosen.append({name: example[name] for name in d.arguments})
    elif example:  # a partial example is not checked; the report says so
        missing = ", ".join(name for name in d.arguments if name not in example)
        notes.append(f"the example gives no value for {missing}, so it was not checked")
    shapes = shapes_of(d)
    for i, extra in enumerate(at):
        if not isinstance(extra, Mapping):
            raise SymgradError(f"point {i + 1} of at= must be a dict of values, got {extra!r:.60}")
        missing = [name for name in d.arguments if name not in extra]
        if missing:
            raise SymgradError(f"point {i + 1} of at= gives no value for {', '.join(missing)}")
        point = {}
        for name in d.arguments:
            what = f"point {i + 1} of at=: {name}"
            value = as_value(extra[name], what, shape=d.variable(name).shape or None)
            if np.shape(value) != tuple(shapes[name]) and d.is_tensor:
                raise SymgradError(f"{what} has shape {np.shape(value)}, not {tuple(shapes[name])}")
            point[name] = value
        check_labels(d, point, f"point {i + 1} of at=")
        labels.append(f"given point {i + 1}")
        chosen.append(point)
    if n:
        domains = domains_of(d)
        scales = scales_of(d)
        rng = np.random.default_rng(seed)
        redrawn = 0
        for i in range(n):
            for _ in range(REDRAWS):
                point = random_point(d, rng, domains, shapes, scales)
                with np.errstate(all="ignore"):
                    if np.isfinite(oracle.forward(**point)):
                        break
                redrawn += 1
            else:
                notes.append(
                    f"random point {i + 1}: the loss was not finite at {REDRAWS} draws; "
                    "kept the last"
                )
            labels.append(f"random point {i + 1}")
            chosen.append(point)
        if redrawn:
            notes.append(
                f"{redrawn} random draw(s) gave a loss that is not finite and were drawn again"
            )
        constrained = {
            k: str(v) for k, v in domains.items() if str(v) != "real" and k in d.arguments
        }
        if constrained:
            notes.append("domains: " + ", ".join(f"{k} {v}" for k, v in constrained.items()))
    if not chosen:
        raise SymgradError(
            f"model {d.model!r} has no complete example point and no random points were asked "
            "for; give m.example(...) a value for every variable, or points ≥ 1"
        )
    return labels, chosen


class _Point:
    """The checks at one point."""

    def __init__(
        self, index, point, d, oracle, autograd, differences, kinks, rows, findings, rng, dtype
    ):
        self.index, self.point, self.d = index, point, d
        self.oracle, self.autograd, self.fd, self.kinks = oracle, autograd, differences, kinks
        self.rows, self.findings, self.rng, self.dtype = rows, findings, rng, dtype
        with np.errstate(all="ignore"):
            loss, grads = oracle(**point)
        self.loss = float(loss)
        self.expected = {k: np.asarray(v, dtype=np.float64) for k, v in grads.items()}
        # the typical size of each gradient, floored by the largest one: a gradient that is 0
        # (exactly, or by cancellation) is compared on the scale of its neighbours, not of 0
        sizes = {k: float(np.mean(np.abs(v))) if v.size else 0.0 for k, v in self.expected.items()}
        floor = max([*sizes.values(), 1e-300])
        finite = floor if math.isfinite(floor) else 1.0
        self.scale = {
            k: max(v, finite) if v == 0 or not math.isfinite(v) else v for k, v in sizes.items()
        }
        self.floor = finite
        self.rounding = self._rounding()
        self.kink = self._kink()
        self.points = index + 1  # how many points there are, for progress reports

    # --- tolerances ---

    def _rounding(self) -> dict[str, dict[str, float]]:
        """Relative rounding error of each gradient at this point, per precision: measured by
        evaluating the oracle in float32 (NumPy, and Torch when present), and scaled down by
        the ratio of unit roundoffs for float64."""
        measured = {name: UNIT_ROUNDOFF["float32"] for name in self.d.wrt}
        with np.errstate(all="ignore"):
            try:
                _, low = self.oracle(**numpy_args(self.point, self.d.arguments, "float32"))
            except Exception:
                low = None
            if low is not None:
                for name in self.d.wrt:
                    diff = np.abs(np.asarray(low[name], np.float64) - self.expected[name])
                    rel = np.ravel(diff / (np.abs(self.expected[name]) + self.scale[name]))
                    # an entry whose float32 run took the other side of a kink moved by more than
                    # rounding: the kink checks judge it, and it must not widen every tolerance
                    rel = rel[np.isfinite(rel) & (rel <= BRANCH_FLIP)]
                    if rel.size:
                        measured[name] = min(max(measured[name], float(np.max(rel))), ROUNDING_CAP)
        ratio = UNIT_ROUNDOFF["float64"] / UNIT_ROUNDOFF["float32"]
        return {
            "float32": measured,
            "float64": {k: max(v * ratio, UNIT_ROUNDOFF["float64"]) for k, v in measured.items()},
        }

    def tolerance(self, name: str, dtype: str) -> np.ndarray:
        return (
            ROUNDING_MARGIN
            * self.rounding[dtype][name]
            * (np.abs(self.expected[name]) + self.scale[name])
            + SUBNORMAL[dtype]
        )

    def close_function(self, dtype: str):
        """``close(claimed, expected)`` with this point's tolerances (for patterns)."""

        def close(a, b, entrywise=False):
            a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
            if a.shape != b.shape:
                return np.zeros(b.shape, bool) if entrywise else False
            rel = max(self.rounding[dtype].values())
            scale = max(float(np.mean(np.abs(b))), 1e-300)
            ok = np.abs(a - b) <= ROUNDING_MARGIN * rel * (np.abs(b) + scale) + SUBNORMAL[dtype]
            return ok if entrywise else bool(ok.all())

        return close

    # --- undefined points ---

    def undefined(self) -> bool:
        bad = not math.isfinite(self.loss) or any(
            not np.all(np.isfinite(v)) for v in self.expected.values()
        )
        if not bad:
            return False
        node, why = self._first_undefined()
        self.findings.append(Finding(UNDEFINED, self.index, node=node, detail=why))
        return True

    def _first_undefined(self) -> tuple[str | None, str]:
        try:
            with np.errstate(all="ignore"):
                values = self.oracle.trace(**self.point).values
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

    # --- kinks ---

    @property
    def near_kink(self) -> bool:
        return self.kink is not None and self.kink.relative <= KINK_STEP

    def _kink(self):
        if self.kinks is None:
            return None
        values = self._node_values(self.point)
        if values is None:
            return None
        return diagnosis.nearest_kink(self.d, self.kinks(values))

    def _node_values(self, point):
        try:
            with np.errstate(all="ignore"):
                trace = self.oracle.trace(**point).values
        except Exception:
            return None
        return {**{k: np.asarray(v) for k, v in point.items()}, **trace}

    def kink_along(self, name, direction, h) -> float | None:
        """Where a kink argument changes sign along t ↦ point + t·direction, |t| ≤ h (the
        nearest such t, by bisection), or None when no kink is crossed there."""
        if self.kinks is None:
            return None

        def signs(t):
            values = self._node_values(moved(self.point, name, direction, t))
            if values is None:
                return None
            return np.concatenate([np.sign(np.ravel(v)) for _, v in self.kinks(values)])

        at = signs(0.0)
        if at is None:
            return None
        if np.any(at == 0):
            return 0.0
        crossings = []
        for end in (h, -h):
            there = signs(end)
            if there is None or np.all(there == at):
                continue
            changed = there != at
            near, far = 0.0, end
            for _ in range(48):
                middle = (near + far) / 2
                between = signs(middle)
                if between is not None and np.all(between[changed] == at[changed]):
                    near = middle
                else:
                    far = middle
            crossings.append((near + far) / 2)
        return min(crossings, key=abs) if crossings else None

    def sides(self, name, direction, h) -> tuple[fd.Estimate, fd.Estimate]:
        """The left and right derivatives at the kink the step crosses (at the point itself
        when it crosses none): one-sided differences from the kink outward."""
        at = self.kink_along(name, direction, h)
        if at is None:
            return self.fd.sides(self.point, name, direction, self.loss)
        small = h / 64
        if abs(at) > AT_KINK:  # beside the kink, not on it: both sides of the point itself,
            small = min(small, abs(at) / 4)  # with steps that stay clear of the kink
            at = 0.0
        phi = lambda t: self.fd.loss(self.point, name, direction, at + t)  # noqa: E731
        f0 = phi(0.0)
        return fd.one_sided(phi, f0, -1, h=small), fd.one_sided(phi, f0, +1, h=small)

    # --- finite differences ---

    def unit(self, name: str, entry: tuple[int, ...]) -> tuple[np.ndarray, float]:
        """The direction of one entry, scaled to its variable: the step moves the entry by a
        fraction of max(|value|, typical size of the variable)."""
        value = np.asarray(self.point[name], np.float64)
        direction = np.zeros(value.shape)
        size = max(
            abs(float(value[entry])) if value.ndim else abs(float(value)),
            float(np.sqrt(np.mean(value**2))),
            1e-8,
        )
        if value.ndim:
            direction[entry] = size
        else:
            direction = np.asarray(size)
        return direction, size

    def fd_check(self, name: str, direction: np.ndarray, expected: float, error: float):
        """(estimate, agrees, crossed-kink) for one directional derivative. An estimate whose
        error bar is wider than RESOLUTION of the quantity's size agrees with anything, so it
        does not count as agreeing (``_fd_direction`` calls it noise)."""
        scale = abs(expected) + float(np.sum(np.abs(direction) * self.scale[name]))
        estimate = self.fd.estimate(self.point, name, direction, self.loss, scale)
        resolved = lambda e: e.error <= RESOLUTION * scale  # noqa: E731
        if estimate.agrees_with(expected, error) and resolved(estimate):
            return estimate, True, False
        careful = self.fd.estimate(self.point, name, direction, self.loss, scale, careful=True)
        if careful.agrees_with(expected, error) and resolved(careful):
            return careful, True, False
        crossed = self.kink_along(name, direction, 10 * fd.U64 ** (1 / 5)) is not None
        return careful, False, crossed

    def check_witnesses(self) -> None:
        """Autograd on every entry, finite differences on sampled entries and projections."""
        if self.autograd is not None:
            got = self.autograd.gradients(self.point)
            for name in self.d.wrt:
                tol = self.tolerance(name, "float64")
                diff = np.abs(got[name] - self.expected[name])
                row = self.rows[name]
                with np.errstate(all="ignore"):  # 0/0 where a gradient and its tolerance are 0
                    over = np.nan_to_num(diff / tol, nan=0.0)
                row.autograd = max(row.autograd or 0.0, float(np.max(over)) if over.size else 0.0)
                bad = np.argwhere(np.atleast_1d(diff > tol))
                if bad.size:
                    self._witness_disagrees(name, "autograd", got[name], bad)
        for done, name in enumerate(self.d.wrt):
            report_progress("verifying", self.index + done / len(self.d.wrt), self.points, "points")
            tolerance = self.tolerance(name, "float64")
            for entry in self._fd_entries(name):
                direction, _ = self.unit(name, entry)
                self._fd_direction(name, direction, entry, tolerance)
            if self.expected[name].size > FD_ALL:  # projections see every entry at once
                value = np.asarray(self.point[name], np.float64)
                size = max(float(np.sqrt(np.mean(value**2))), 1e-8)
                for _ in range(FD_DIRECTIONS):
                    direction = self.rng.standard_normal(value.shape) * size / math.sqrt(value.size)
                    self._fd_direction(name, direction, None, tolerance)

    def _fd_direction(self, name, direction, entry, tolerance) -> None:
        """Finite differences along one direction against the symbolic gradient projected on
        it (whose rounding error projects the same way)."""
        row = self.rows[name]
        want = float(np.sum(self.expected[name] * direction))
        err = float(np.sum(tolerance * np.abs(direction)))
        estimate, agrees, crossed = self.fd_check(name, direction, want, err)
        row.fd_checked += 1
        row.fd_methods.add(estimate.method)
        kind = (
            None if agrees else self._fd_disagrees(name, entry, direction, want, estimate, crossed)
        )
        if kind in (None, MISMATCH):  # a kink or noise is reported, not a measure of agreement
            over = abs(estimate.value - want) / max(3 * (estimate.error + err), 1e-300)
            row.fd_worst = max(row.fd_worst, over)

    def _fd_entries(self, name: str) -> list[tuple[int, ...]]:
        shape = np.shape(self.expected[name])
        size = int(np.prod(shape)) if shape else 1
        if size <= FD_ALL:
            return [tuple(map(int, i)) for i in np.ndindex(*shape)] if shape else [()]
        picks = self.rng.choice(size, size=FD_ENTRIES, replace=False)
        return [tuple(map(int, np.unravel_index(i, shape))) for i in picks]

    def _fd_disagrees(self, name, entry, direction, want, estimate, crossed) -> str:
        """Label a finite difference that disagrees with the symbolic value; returns the label."""
        # an entry's direction is its unit scaled by the step's size: report per unit of it
        per = _size(direction) if entry is not None else 1.0
        if crossed or self.near_kink:
            left, right = self.sides(name, direction, 10 * fd.U64 ** (1 / 5))
            between = _between(want, left, right)
            return self._fd_finding(
                NON_DIFFERENTIABLE if between else MISMATCH,
                name,
                entry,
                claimed=want / per,
                expected=estimate.value / per,
                left=left.value / per,
                right=right.value / per,
                between=between,
                detail=self._kink_text()
                + ("" if entry is not None else "; along a random direction"),
            )
        # both finite-difference estimates disagree, and no kink is near: ask again with a
        # tenfold larger and smaller step; if those disagree with each other, the estimate is noise
        phi = lambda t: self.fd.loss(self.point, name, direction, t)  # noqa: E731
        wide = fd.richardson(phi, self.loss, h=10 * fd.U64 ** (1 / 5))
        narrow = fd.richardson(phi, self.loss, h=0.1 * fd.U64 ** (1 / 5))
        consistent = abs(wide.value - narrow.value) <= 3 * (wide.error + narrow.error)
        scale = abs(want) + float(np.sum(np.abs(direction) * self.scale[name]))
        resolved = max(wide.error, narrow.error) <= RESOLUTION * scale
        confirmed = consistent and resolved and not wide.agrees_with(want)
        return self._fd_finding(
            MISMATCH if confirmed else NOISE,
            name,
            entry,
            claimed=want / per,
            expected=estimate.value / per,
            detail=(
                f"{estimate.method} error estimate {estimate.error:.2g}"
                + ("" if entry is not None else "; along a random direction")
                + (
                    ""
                    if confirmed
                    else "; finite differences cannot resolve this derivative here"
                    " (estimates at other steps disagree, or their error bars are wide)"
                )
            ),
        )

    def _fd_finding(self, kind: str, name: str, entry, **fields) -> str:
        """Record what finite differences found about the symbolic gradient; returns the label."""
        self.findings.append(
            Finding(
                kind,
                self.index,
                variable=name,
                source="symbolic",
                witness="finite differences",
                entries=(entry,) if entry is not None else (),
                count=1,
                size=self.rows[name].size,
                **fields,
            )
        )
        return kind

    def label_kink(self) -> None:
        """A point within a step of a kink is labelled even where no entry disagreed (a kink
        inside a large matrix moves few of its entries): the left and right derivatives along
        a direction that crosses it, and whether the symbolic value lies between them."""
        if not self.near_kink:
            return
        if any(f.point == self.index and f.kind == NON_DIFFERENTIABLE for f in self.findings):
            return
        h = 10 * fd.U64 ** (1 / 5)
        for name in self.d.wrt:
            value = np.asarray(self.point[name], np.float64)
            size = max(float(np.sqrt(np.mean(value**2))), 1e-8)
            direction = self.rng.standard_normal(value.shape) * size / math.sqrt(max(value.size, 1))
            if self.kink_along(name, direction, h) is None:
                continue  # this variable does not move the kink
            left, right = self.sides(name, direction, h)
            want = float(np.sum(self.expected[name] * direction))
            between = _between(want, left, right)
            self.findings.append(
                Finding(
                    NON_DIFFERENTIABLE if between else MISMATCH,
                    self.index,
                    variable=name,
                    source="symbolic",
                    witness="finite differences",
                    size=self.rows[name].size,
                    claimed=want,
                    left=left.value,
                    right=right.value,
                    between=between,
                    detail=self._kink_text() + "; along a random direction",
                )
            )
            return

    def _kink_text(self) -> str:
        k = self.kink
        if k is None:
            return "a kink lies within the step"
        entry = f" at entry {entry_text(k.entry)}" if k.entry else ""
        return f"{k.function} in {k.node} at its kink: its argument is {k.argument:.3g}{entry}"

    def _witness_disagrees(self, name, witness, got, bad) -> None:
        """Autograd and the symbolic gradient differ: finite differences say which is right,
        and comparing every node's adjoint says where symgrad's derivation goes wrong."""
        entry = tuple(map(int, bad[0])) if np.ndim(self.expected[name]) else ()
        direction, _ = self.unit(name, entry)
        want = float(np.sum(self.expected[name] * direction))
        other = float(np.sum(got * direction))
        estimate, agrees, crossed = self.fd_check(name, direction, want, 0.0)
        scale = abs(want) + float(np.sum(np.abs(direction) * self.scale[name]))
        resolved = estimate.error <= RESOLUTION * scale
        node = None
        if crossed:
            kind = NON_DIFFERENTIABLE
            detail = "autograd takes another subgradient at the kink; " + self._kink_text()
        elif agrees:
            kind = MISMATCH
            detail = (
                "finite differences side with the symbolic gradient: "
                "autograd's torch forward pass differs"
            )
        elif not resolved:
            kind = MISMATCH
            detail = (
                "finite differences cannot resolve it here; autograd disputes the symbolic gradient"
            )
            node = self._first_node_autograd_disputes()
        else:
            kind = MISMATCH
            value = estimate.value / _size(direction)
            detail = (
                f"finite differences ({value:.6g}) side with autograd: "
                "the symbolic gradient is wrong"
            )
            node = self._first_node_autograd_disputes()
        self.findings.append(
            Finding(
                kind,
                self.index,
                variable=name,
                source="symbolic",
                witness=witness,
                entries=(entry,),
                count=len(bad),
                size=self.rows[name].size,
                claimed=want / _size(direction),
                expected=other / _size(direction),
                node=node,
                detail=detail,
            )
        )

    def _first_node_autograd_disputes(self) -> str | None:
        try:
            with np.errstate(all="ignore"):
                symbolic = self.oracle.trace(**self.point).values
            return diagnosis.first_wrong_adjoint(
                self.d, symbolic, self.autograd.adjoints(self.point), _loose_close()
            )
        except Exception:  # the location is a courtesy; the mismatch stands without it
            return None

    # --- claims ---

    def check_claim(self, claim: Claim, claimed: dict[str, np.ndarray]) -> bool:
        """Compare a claimed gradient with the oracle; True when something is a mismatch."""
        wrong = False
        at_kink: dict[str, list] = {}  # variables whose differing entries passed as subgradients
        for name in self.d.wrt:
            row = self.rows[name]
            want = self.expected[name]
            got = claimed[name]
            if got.shape != want.shape and got.size == 1 and want.size == 1:
                got = got.reshape(want.shape)
            if got.shape != want.shape:
                row.worst = math.inf
                row.claimed_shape = got.shape
                self._claim_mismatch(claim, name, got, count=row.size)
                wrong = True
                continue
            tol = self.tolerance(name, self.dtype)
            with np.errstate(all="ignore"):
                diff = np.abs(got - want)
                over = np.where(np.isnan(diff), np.inf, diff / tol)
            row.worst = max(row.worst, float(np.max(over)) if over.size else 0.0)
            with np.errstate(all="ignore"):
                relative = diff / np.maximum(np.abs(want), 1e-3 * self.scale[name])
            if relative.size:
                row.relative = max(row.relative, float(np.nan_to_num(np.max(relative), nan=np.inf)))
            bad = np.argwhere(np.atleast_1d(over > 1))
            if not bad.size:
                continue
            entries = [tuple(map(int, e)) if want.ndim else () for e in bad]
            # at a kink a different subgradient is not wrong: the left and right derivatives say
            if self.near_kink and self._claims_a_subgradient(name, entries, got, claim.label):
                at_kink[name] = entries
                continue
            first = entries[0]
            claimed_value = float(got[first]) if want.ndim else float(got)
            self._claim_mismatch(
                claim,
                name,
                got,
                count=len(entries),
                entries=tuple(entries[:5]),
                claimed=claimed_value,
                expected=float(want[first]) if want.ndim else float(want),
                detail=self._confirm(name, first, claimed_value),
            )
            wrong = True
        if len(at_kink) > 1 and not self._subgradients_agree_jointly(claim, claimed, at_kink):
            wrong = True
        return wrong

    def _subgradients_agree_jointly(self, claim, claimed, at_kink) -> bool:
        """Each variable's differing entries passed alone, but a subgradient is one vector:
        along the direction that moves every differing entry of every such variable at once,
        the claim must still lie between the left and right derivatives (at a tie of max(a, b),
        ∂/∂a = ∂/∂b = 1 passes each check alone and fails this one)."""
        h = 10 * fd.U64 ** (1 / 5)
        directions = {}
        for name, entries in at_kink.items():
            want, got = self.expected[name], claimed[name]
            value = np.asarray(self.point[name], np.float64)
            size = max(float(np.sqrt(np.mean(value**2))), 1e-8)
            direction = np.zeros(want.shape)
            for entry in entries:
                direction[entry] = np.sign(got[entry] - want[entry]) * size
            directions[name] = direction
        if self.kink_along(None, directions, h) is None:
            return True
        left, right = self.sides(None, directions, h)
        value = sum(float(np.sum(claimed[n] * d)) for n, d in directions.items())
        if _between(value, left, right):
            return True
        names = ", ".join(directions)
        for name in directions:
            self.findings.append(
                Finding(
                    MISMATCH,
                    self.index,
                    variable=name,
                    source=claim.label,
                    witness="finite differences",
                    size=self.rows[name].size,
                    count=len(at_kink[name]),
                    entries=tuple(at_kink[name][:5]),
                    claimed=value,
                    left=left.value,
                    right=right.value,
                    between=False,
                    detail=self._kink_text()
                    + f"; each entry alone is a subgradient, but together ({names}) they are not",
                )
            )
        return False

    def _claim_mismatch(self, claim, name, got, **fields) -> None:
        """Record that a claimed gradient differs from the symbolic one, with its pattern."""
        want = self.expected[name]
        self.findings.append(
            Finding(
                MISMATCH,
                self.index,
                variable=name,
                source=claim.label,
                witness="symbolic",
                size=self.rows[name].size,
                pattern=diagnosis.array_pattern(got, want, self.close_function(self.dtype)),
                **fields,
            )
        )

    def _claims_a_subgradient(self, name, entries, got, label="claimed") -> bool:
        """At a kink: whether every differing entry lies between its left and right derivative
        (recorded as a non-differentiable point)."""
        h = 10 * fd.U64 ** (1 / 5)
        if len(entries) > 8:  # many entries at once (a dead unit): along their joint direction
            return self._claims_a_subgradient_jointly(name, entries, got, h, label)
        sides = []
        for entry in entries:
            direction, size = self.unit(name, entry)
            if self.kink_along(name, direction, h) is None:
                return False  # this entry does not move the kink: its derivative is one number
            left, right = self.sides(name, direction, h)
            value = (float(got[entry]) if got.ndim else float(got)) * size
            if not _between(value, left, right):
                return False
            sides.append((entry, left.value / size, right.value / size, value / size))
        entry, left, right, value = sides[0]
        self.findings.append(
            Finding(
                NON_DIFFERENTIABLE,
                self.index,
                variable=name,
                source=label,
                witness="symbolic",
                entries=tuple(e for e, *_ in sides),
                count=len(entries),
                size=self.rows[name].size,
                claimed=value,
                expected=float(self.expected[name][entry])
                if self.expected[name].ndim
                else float(self.expected[name]),
                left=left,
                right=right,
                between=True,
                detail=self._kink_text(),
            )
        )
        return True

    def _claims_a_subgradient_jointly(self, name, entries, got, h, label="claimed") -> bool:
        """Many differing entries at a kink: the claim's derivative along the direction that
        moves each of them toward its claimed difference must lie between the left and right
        derivatives along that direction (necessary for a subgradient, and what one finite
        difference can check)."""
        want = self.expected[name]
        direction = np.zeros(want.shape)
        value = np.asarray(self.point[name], np.float64)
        size = max(float(np.sqrt(np.mean(value**2))), 1e-8)
        for entry in entries:
            direction[entry] = np.sign(got[entry] - want[entry]) * size
        direction /= math.sqrt(len(entries))
        if self.kink_along(name, direction, h) is None:
            return False
        left, right = self.sides(name, direction, h)
        claimed = float(np.sum(got * direction))
        certified = True
        rounding = float(np.sum(self.tolerance(name, self.dtype) * np.abs(direction)))
        if not _between(claimed, left, right, rounding):
            # several kinks meet here (a dead unit: one relu argument at 0 for every sample);
            # a generalised gradient need not lie between one line's one-sided derivatives.
            # If every differing entry moves a kink, the point cannot be certified either way:
            # it is labelled, not failed (the random points judge the claim elsewhere).
            rng = np.random.default_rng(len(entries))
            sample = [entries[i] for i in rng.choice(len(entries), min(16, len(entries)), False)]
            if any(self.kink_along(name, self.unit(name, e)[0], h) is None for e in sample):
                return False
            certified = False
        self.findings.append(
            Finding(
                NON_DIFFERENTIABLE,
                self.index,
                variable=name,
                source=label,
                witness="symbolic",
                entries=tuple(entries[:5]),
                count=len(entries),
                size=self.rows[name].size,
                claimed=claimed,
                expected=float(np.sum(want * direction)),
                left=left.value,
                right=right.value,
                between=True if certified else None,
                detail=self._kink_text()
                + "; along the direction of the differing entries"
                + (
                    ""
                    if certified
                    else "; several kinks meet here, every differing entry moves one, and one "
                    "line's left and right derivatives cannot certify a subgradient either way"
                ),
            )
        )
        return True

    def _confirm(self, name, entry, got) -> str:
        """What finite differences say about one differing entry."""
        direction, size = self.unit(name, entry)
        want = (
            float(self.expected[name][entry])
            if self.expected[name].ndim
            else float(self.expected[name])
        )
        estimate = self.fd.estimate(self.point, name, direction, self.loss, abs(want) * size)
        value = estimate.value / size
        if estimate.agrees_with(want * size) and not estimate.agrees_with(got * size):
            return f"finite differences agree with symbolic ({value:.6g})"
        if not estimate.agrees_with(want * size):
            return f"finite differences give {value:.6g}"
        return (
            "the difference is below what finite differences resolve; autograd and symbolic agree"
        )


def _between(value: float, left: fd.Estimate, right: fd.Estimate, slack: float = 0.0) -> bool:
    """Whether ``value`` lies between the left and right derivatives, within their error bars."""
    lo, hi = sorted((left.value, right.value))
    slack += 3 * (left.error + right.error)
    return lo - slack <= value <= hi + slack


def _size(direction) -> float:
    return float(np.max(np.abs(direction))) or 1.0


def _why(expr) -> str:
    import sympy

    if expr.has(sympy.log):
        return "log of a number that is not positive?"
    if any(isinstance(p, sympy.Pow) and p.exp.is_negative for p in sympy.preorder_traversal(expr)):
        return "a division by zero?"
    return "overflow?"


# --- where the mismatches enter -------------------------------------------------------------


def _locate(d: Derivation, mismatched, points, findings: list[Finding], oracle, autograd) -> None:
    """Name the first wrong node and the pattern of each claim's mismatches. A pattern must
    hold at every point where the claim was wrong, not at one (any two scalars differ by a
    factor)."""
    by_claim: dict[str, list] = {}
    for case in mismatched:
        by_claim.setdefault(case[1].label, []).append(case)
    node_names = {n.name for n in d.nodes}
    close = _loose_close()
    for label, cases in by_claim.items():
        index0, claim, claimed0, expected0 = cases[0]
        wrong = {f.variable for f in findings if f.is_failure and f.source == label}
        node, alternatives = None, ()
        if claim.trace is not None:  # both computations show every adjoint: compare them
            try:
                node = diagnosis.first_wrong_adjoint(
                    d, claim.trace(points[index0]), oracle.trace(**points[index0]).values, close
                )
            except Exception:  # a trace that cannot be taken leaves the other clues
                node = None
        patterns = {name: _pattern_over_points(name, cases, close) for name in wrong}
        for name in wrong:
            pattern = patterns[name]
            if autograd is not None and (pattern is None or "entries wrong" in pattern):
                patterns[name] = _summed_axes(d, name, cases, points, autograd, close) or pattern
        ratios = []
        for name in sorted(wrong):
            want, got = expected0[name], claimed0[name]
            if got.shape == want.shape and np.vdot(want, want):
                ratios.append(float(np.vdot(got, want) / np.vdot(want, want)))
        hypothesis = diagnosis.explain(
            d, [c[2] for c in cases], [points[c[0]] for c in cases], close, ratios
        )
        first, same = diagnosis.entry_region(d, wrong)
        if node is None and hypothesis is not None:  # a tested explanation: it says where
            node = hypothesis.node if hypothesis.node in node_names else None
            alternatives = tuple(same) if node is not None and first == node else ()
        elif node is None:  # which gradients are wrong is the only clue
            node, alternatives = first, tuple(same)
        for i, f in enumerate(findings):
            if not (f.is_failure and f.source == label and f.variable in wrong):
                continue
            pattern = hypothesis.pattern if hypothesis is not None else patterns[f.variable]
            detail = f.detail
            if node is None:
                consumers = [t.consumer for t in d.adjoint(f.variable).terms]
                steps = ", ".join(f"∂{c}/∂{f.variable}" for c in consumers)
                why = (
                    f"the loss does not depend on {f.variable}: its gradient is 0"
                    if not consumers
                    else "no node's adjoint explains it (the other gradients through the same "
                    f"nodes are right): the mistake is in the last step ({steps})"
                )
                detail = (detail + "; " if detail else "") + why
            findings[i] = _with(
                f, node=node, alternatives=alternatives, pattern=pattern, detail=detail
            )


def _summed_axes(d: Derivation, name: str, cases, points, autograd, close) -> str | None:
    """A broadcast variable (a bias) whose claimed gradient sums over the wrong axes, at
    every point where it was wrong."""
    shape = tuple(d.variable(name).shape or ())
    broadcasts = []
    for term in d.adjoint(name).terms:
        full = tuple(d.node(term.consumer).shape or ())
        if shape and full != shape and full not in broadcasts:
            try:
                if np.broadcast_shapes(shape, full) == full:
                    broadcasts.append(full)
            except ValueError:
                continue
    for full in broadcasts:
        found = set()
        for index, _, claimed, expected in cases:
            each = autograd.contributions(points[index], name, full)
            if each is None:
                break
            found.add(diagnosis.summed_axes(each, claimed[name], expected[name], close))
        if len(found) == 1 and None not in found:
            return found.pop()
    return None


def _pattern_over_points(name: str, cases, close) -> str | None:
    """The pattern of one variable's claimed gradient that holds at every point where it was
    wrong: the same pattern at each, or a factor that holds over all of them together."""
    got = [c[2][name] for c in cases]
    want = [c[3][name] for c in cases]
    singles = [diagnosis.array_pattern(g, w, close) for g, w in zip(got, want, strict=True)]
    if singles[0] is not None and all(p == singles[0] for p in singles):
        return singles[0]
    if all(g.shape == w.shape for g, w in zip(got, want, strict=True)):
        stacked = diagnosis.array_pattern(
            np.concatenate([g.ravel() for g in got]),
            np.concatenate([w.ravel() for w in want]),
            close,
        )
        if stacked is not None and "entries wrong" not in stacked:
            return stacked
    counts = [p for p in singles if p is not None and "entries wrong" in p]
    return counts[0] if counts and len(counts) == len(singles) else None


def _with(f: Finding, **changes) -> Finding:
    return dataclasses.replace(f, **changes)


def _loose_close():
    """Closeness for explanations (hypotheses, adjoints), relative to each array's size: a
    little looser than the verdict, which already stands."""

    def close(a, b, entrywise=False):
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        if a.shape != b.shape:
            return np.zeros(b.shape, bool) if entrywise else False
        scale = max(float(np.max(np.abs(b))) if b.size else 0.0, 1e-300)
        ok = np.abs(a - b) <= 1e-4 * (np.abs(b) + scale)
        return ok if entrywise else bool(ok.all())

    return close
