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

import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from . import diagnosis
from . import finite_differences as fd
from .codegen import CompiledGradient, compile
from .derivation import Derivation, derive
from .domains import domains_of, random_point, scales_of, shapes_of
from .errors import SymgradError
from .model import Model

MISMATCH = "mismatch"
NON_DIFFERENTIABLE = "non-differentiable point"
UNDEFINED = "undefined"
NOISE = "finite-difference noise"

DTYPES = ("float64", "float32")
UNIT_ROUNDOFF = {"float64": 2.0**-53, "float32": 2.0**-24}
# Claims agree with the oracle within this many estimated rounding errors. The estimate is
# measured (see ``_rounding``), so the margin only absorbs how rounding varies between programs
# computing the same numbers in a different order.
ROUNDING_MARGIN = 64.0
RESOLUTION = 1e-3  # a finite difference with a wider error bar (relative) resolves nothing
FD_ENTRIES = 12  # sampled entries per variable when a variable has more than FD_ALL entries
FD_ALL = 64
FD_DIRECTIONS = 2  # random projections per variable with more than FD_ALL entries
KINK_STEP = 1e-3  # a kink argument this close to 0 (relative to its size) is within a step
AT_KINK = 1e-6  # a kink this close along a step's direction (in the variable's scale) is here
REDRAWS = 50  # tries to draw a random point where the loss is finite


# --- the report --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One disagreement, or one point that needed a label (a kink, an undefined loss)."""

    kind: str
    point: int  # index into Report.points
    variable: str | None = None
    source: str | None = None  # what was checked: "numpy", "torch", "against", "symbolic"
    witness: str | None = None  # what it disagreed with
    entries: tuple[tuple[int, ...], ...] = ()
    count: int = 0  # entries concerned (``entries`` lists a few)
    size: int = 0
    claimed: float | None = None
    expected: float | None = None
    pattern: str | None = None
    node: str | None = None
    alternatives: tuple[str, ...] = ()
    left: float | None = None
    right: float | None = None
    between: bool | None = None
    detail: str = ""

    @property
    def is_failure(self) -> bool:
        return self.kind == MISMATCH

    def describe(self, points: Sequence[str], loss: str = "L", also: int = 0) -> str:
        """One line; ``also`` counts the other points where the same thing was found."""
        where = points[self.point] if self.point < len(points) else f"point {self.point}"
        parts = [f"{self.kind}"]
        if self.variable:
            entry = _entry_text(self.entries[0]) if self.entries else ""
            more = f" (and {self.count - 1} more of {self.size} entries)" if self.count > 1 else ""
            parts.append(f"∂{loss}/∂{self.variable}{entry}{more}")
        parts.append(f"at {where}" + (f" and {also} more point(s)" if also else ""))
        line = " ".join(parts)
        if self.claimed is not None and self.expected is not None:
            source = self.source or "claimed"
            line += f": {source} {self.claimed:.6g}, {self.witness} {self.expected:.6g}"
        if self.pattern:
            line += f"; {self.pattern}"
        if self.node:
            alt = (
                f" (or {', '.join(self.alternatives)}: the gradients alone cannot tell)"
                if self.alternatives
                else ""
            )
            line += f"; first wrong node {self.node}{alt}"
        if self.left is not None and self.right is not None:
            inside = "lies between them" if self.between else "lies outside them"
            line += f"; left {self.left:.6g}, right {self.right:.6g}, claimed {inside}"
        if self.detail:
            line += f"; {self.detail}"
        return line

    def to_dict(self) -> dict:
        out = {k: v for k, v in self.__dict__.items() if v not in (None, (), "")}
        out["entries"] = [list(e) for e in self.entries]
        return out


@dataclass
class VariableRow:
    """One line of the per-parameter table."""

    name: str
    shape: tuple[int, ...]
    size: int
    worst: float = 0.0  # largest |claimed − symbolic| over its tolerance, over points and claims
    relative: float = 0.0  # largest |claimed − symbolic| / (|symbolic| + typical size)
    autograd: float | None = None  # largest |autograd − symbolic| over its tolerance
    fd_checked: int = 0  # entries and projections checked by finite differences
    fd_worst: float = 0.0  # largest |FD − symbolic| over its error estimate
    fd_methods: set[str] = field(default_factory=set)
    verdict: str = "ok"

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "shape": list(self.shape),
            "entries": self.size,
            "worst_over_tolerance": self.worst,
            "worst_relative_error": self.relative,
            "autograd_over_tolerance": self.autograd,
            "finite_differences_checked": self.fd_checked,
            "finite_differences_worst_over_error": self.fd_worst,
            "finite_difference_methods": sorted(self.fd_methods),
            "verdict": self.verdict,
        }


@dataclass
class Report:
    """What ``verify`` found. ``ok`` is true when nothing is a mismatch."""

    model: str
    loss: str
    wrt: tuple[str, ...]
    dtype: str
    device: str
    checked: tuple[str, ...]  # what was checked: ("numpy", "torch") or ("against",)
    points: list[str]
    rows: dict[str, VariableRow]
    findings: list[Finding]
    notes: list[str]
    seconds: float = 0.0
    seed: int = 0

    @property
    def ok(self) -> bool:
        return not any(f.is_failure for f in self.findings)

    @property
    def mismatches(self) -> list[Finding]:
        return [f for f in self.findings if f.is_failure]

    def table(self) -> str:
        """The per-parameter table, as the CLI prints it."""
        header = (
            "variable",
            "shape",
            "entries",
            "vs symbolic",
            "worst error",
            "vs autograd",
            "finite differences",
            "verdict",
        )
        lines = []
        for row in self.rows.values():
            shape = "×".join(map(str, row.shape)) or "scalar"
            autograd = "—" if row.autograd is None else _ratio(row.autograd)
            methods = ", ".join(sorted(row.fd_methods)) or "—"
            fdiff = (
                f"{row.fd_checked} checked, {_ratio(row.fd_worst)} ({methods})"
                if row.fd_checked
                else "—"
            )
            lines.append(
                (
                    row.name,
                    shape,
                    str(row.size),
                    _ratio(row.worst),
                    f"{row.relative:.1e}",
                    autograd,
                    fdiff,
                    row.verdict,
                )
            )
        widths = [max(len(r[i]) for r in [header, *lines]) for i in range(len(header))]
        rule = "  ".join("-" * w for w in widths)
        fmt = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()  # noqa: E731
        return "\n".join([fmt(header), rule, *map(fmt, lines)])

    def summary(self) -> str:
        what = " and ".join(self.checked)
        wrong = list(dict.fromkeys(f.variable or "?" for f in self.mismatches))
        verdict = (
            "all gradients agree"
            if self.ok
            else f"{len(wrong)} of {len(self.wrt)} gradients wrong ({', '.join(wrong)})"
        )
        return (
            f"{self.model}: {verdict} ({what} in {self.dtype} on {self.device}, "
            f"{len(self.points)} point(s), {self.seconds:.2f} s)"
        )

    def __str__(self) -> str:
        parts = [self.summary(), "", self.table()]
        groups: dict[tuple, list[Finding]] = {}
        for f in self.findings:  # the same finding at several points reads once
            groups.setdefault((f.kind, f.source, f.variable, f.node), []).append(f)
        lines = [
            f"- {g[0].describe(self.points, self.loss, len({f.point for f in g}) - 1)}"
            for g in groups.values()
        ]
        if lines:
            parts += ["", *lines[:30]]
            if len(lines) > 30:
                parts.append(f"- … and {len(lines) - 30} more")
        if self.notes:
            parts += ["", *[f"note: {n}" for n in self.notes]]
        parts.append(
            "\n(vs symbolic, vs autograd: the largest disagreement over its rounding-error "
            "estimate; finite differences: over their error estimate; below 1 agrees. "
            "worst error: relative to the gradient's size.)"
        )
        return "\n".join(parts)

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "loss": self.loss,
            "ok": self.ok,
            "wrt": list(self.wrt),
            "dtype": self.dtype,
            "device": self.device,
            "checked": list(self.checked),
            "seed": self.seed,
            "points": self.points,
            "variables": [row.to_dict() for row in self.rows.values()],
            "findings": [f.to_dict() for f in self.findings],
            "notes": self.notes,
            "seconds": self.seconds,
        }

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, default=_jsonable, **kwargs)


def _jsonable(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, set):
        return sorted(value)
    raise TypeError(type(value).__name__)


def _ratio(x: float) -> str:
    """A disagreement over its tolerance: below 1 agrees; far above, the size is the news."""
    if not math.isfinite(x):
        return "inf"
    if x >= 1000:
        return "≫1"
    return f"{x:.2g}"


def _entry_text(entry: tuple[int, ...]) -> str:
    return f"[{', '.join(map(str, entry))}]" if entry else ""


# --- claims: what is being checked -----------------------------------------------------------


@dataclass
class _Claim:
    """A gradient to check: ``call(point) -> {name: array}``, and its trace when it has one."""

    label: str
    call: Callable[[Mapping], dict]
    trace: Callable[[Mapping], dict] | None = None


def _numpy_args(point: Mapping, names, dtype: str) -> dict:
    if dtype == "float64":
        return {n: point[n] for n in names}
    return {n: np.asarray(point[n], dtype=np.float32) for n in names}


def _torch_args(point: Mapping, names, dtype: str, device: str, requires_grad=False) -> dict:
    import torch

    kind = getattr(torch, dtype)
    return {
        n: torch.tensor(
            np.asarray(point[n]), dtype=kind, device=device, requires_grad=requires_grad
        )
        for n in names
    }


def _as_array(value) -> np.ndarray:
    module = type(value).__module__ or ""
    if module.startswith("torch"):
        value = value.detach().cpu().double().numpy()
    return np.asarray(value, dtype=np.float64)


def _gradients(result, wrt: Sequence[str], label: str) -> dict[str, np.ndarray]:
    """A claimed gradient as ``{name: float64 array}``: from a dict by name, a tuple or list in
    ``wrt`` order, or a ``(loss, gradients)`` pair as symgrad's own functions return."""
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], Mapping):
        result = result[1]
    if isinstance(result, Mapping):
        missing = [name for name in wrt if name not in result]
        if missing:
            raise SymgradError(
                f"{label} returned no gradient for {', '.join(missing)} "
                f"(it gave {', '.join(map(str, result)) or 'nothing'})"
            )
        return {name: _as_array(result[name]) for name in wrt}
    if isinstance(result, (tuple, list)):
        if len(result) != len(wrt):
            raise SymgradError(
                f"{label} returned {len(result)} gradients; expected {len(wrt)}, "
                f"one for each of {', '.join(wrt)} in that order"
            )
        return {name: _as_array(value) for name, value in zip(wrt, result, strict=True)}
    if len(wrt) == 1:
        return {wrt[0]: _as_array(result)}
    raise SymgradError(
        f"{label} returned a {type(result).__name__}; return a dict by name or a tuple in the "
        f"order {', '.join(wrt)}"
    )


def _own_claims(d: Derivation, dtype: str, device: str, torch_ok: bool) -> list[_Claim]:
    numpy_fn = compile(d, "numpy")
    claims = [
        _Claim(
            "numpy",
            lambda p: _gradients(numpy_fn(**_numpy_args(p, d.arguments, dtype)), d.wrt, "numpy"),
            lambda p: numpy_fn.trace(**_numpy_args(p, d.arguments, dtype)).values,
        )
    ]
    if torch_ok:
        torch_fn = compile(d, "torch")

        def call(p):
            args = _torch_args(p, d.arguments, dtype, device)
            return _gradients(
                torch_fn.function(**args, device=device, dtype=_torch_dtype(dtype)), d.wrt, "torch"
            )

        def trace(p):
            args = _torch_args(p, d.arguments, dtype, device)
            values = torch_fn.trace_function(**args, device=device, dtype=_torch_dtype(dtype))[2]
            return {k: _as_array(v) for k, v in values.items()}

        claims.append(_Claim("torch", call, trace))
    return claims


def _torch_dtype(dtype: str):
    import torch

    return getattr(torch, dtype)


def _against_claim(d: Derivation, against, dtype: str, device: str, torch_ok: bool) -> _Claim:
    label = getattr(against, "__name__", None) or type(against).__name__
    if isinstance(against, CompiledGradient):
        label = f"{against.derivation.model} ({against.backend})"
    if isinstance(against, CompiledGradient):
        if against.backend == "torch":

            def call(p):
                args = _torch_args(p, against.arguments, dtype, device)
                return _gradients(
                    against.function(**args, device=device, dtype=_torch_dtype(dtype)), d.wrt, label
                )

            def trace(p):
                args = _torch_args(p, against.arguments, dtype, device)
                out = against.trace_function(**args, device=device, dtype=_torch_dtype(dtype))[2]
                return {k: _as_array(v) for k, v in out.items()}

        else:

            def call(p):
                return _gradients(against(**_numpy_args(p, against.arguments, dtype)), d.wrt, label)

            def trace(p):
                return against.trace(**_numpy_args(p, against.arguments, dtype)).values

        return _Claim(label, call, trace)
    if not callable(against):
        raise SymgradError(f"against must be a callable that returns gradients, got {against!r}")
    takes: list[str] = []  # decided on the first call: NumPy arrays, else torch tensors

    def call(p):
        attempts = takes or (["numpy", "torch"] if torch_ok else ["numpy"])
        first_error = None
        for kind in attempts:
            args = (
                _numpy_args(p, d.arguments, dtype)
                if kind == "numpy"
                else _torch_args(p, d.arguments, dtype, device)
            )
            try:
                result = against(**args)
            except SymgradError:
                raise
            except Exception as error:
                first_error = first_error or error
                continue
            if not takes:
                takes.append(kind)
            return _gradients(result, d.wrt, label)
        raise SymgradError(
            f"{label} failed when called with the model's values "
            f"({', '.join(d.arguments)}) as keywords: {type(first_error).__name__}: {first_error}"
        )

    return _Claim(label, call, None)


# --- the witnesses --------------------------------------------------------------------------------


def _torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


class _Autograd:
    """PyTorch autograd on the model's forward pass in torch operations (symgrad's printer
    spells each node's definition; autograd, not the rule table, differentiates it)."""

    def __init__(self, d: Derivation):
        self.d = d
        compiled = compile(d, "torch")
        # the generated functions run under torch.no_grad(); the undecorated ones record a graph
        self.forward = compiled.forward_function.__wrapped__
        self.trace = compiled.trace_function.__wrapped__

    def gradients(self, point: Mapping) -> dict[str, np.ndarray]:
        import torch

        args = _torch_args(point, self.d.arguments, "float64", "cpu", requires_grad=True)
        with torch.enable_grad():
            loss = self.forward(**args)
            leaves = [args[name] for name in self.d.wrt]
            grads = torch.autograd.grad(loss, leaves, allow_unused=True, materialize_grads=True)
        return {name: _as_array(g) for name, g in zip(self.d.wrt, grads, strict=True)}

    def adjoints(self, point: Mapping) -> dict[str, np.ndarray]:
        """Every node's adjoint (of one sample's loss), keyed as the trace keys them."""
        import torch

        args = _torch_args(point, self.d.arguments, "float64", "cpu", requires_grad=True)
        with torch.enable_grad():
            _, _, values = self.trace(**args, dtype=torch.float64)
            nodes = [n for n in self.d.nodes[:-1] if values[n.name].requires_grad]
            loss = values[self.d.loss.name].sum()
            grads = torch.autograd.grad(
                loss, [values[n.name] for n in nodes], allow_unused=True, materialize_grads=True
            )
        return {
            self.d.adjoint(n.name).symbol.name: _as_array(g)
            for n, g in zip(nodes, grads, strict=True)
        }


class _FiniteDifferences:
    """Directional derivatives of the loss, in float64, by the generated NumPy forward pass."""

    def __init__(self, d: Derivation, forward: CompiledGradient):
        self.d = d
        self.forward = forward
        self.analytic = not d.kinks and self._runs_on_complex()

    def _runs_on_complex(self) -> bool:
        point = self.d.example
        if not all(n in point for n in self.d.arguments):
            return False
        try:
            with np.errstate(all="ignore"):
                real = complex(
                    self.forward.forward(**{n: np.asarray(point[n]) for n in self.d.arguments})
                )
                value = complex(
                    self._complex_loss(
                        point, self.d.wrt[0], np.ones(np.shape(point[self.d.wrt[0]])), 0.0
                    )
                )
        except Exception:  # a primitive with no complex spelling (logaddexp): central differences
            return False
        return bool(
            np.isfinite(value.real) and abs(value.real - real.real) <= 1e-12 * max(1, abs(real))
        )

    def _complex_loss(self, point, name, direction, t):
        args = {n: np.asarray(point[n], dtype=np.float64) for n in self.d.arguments}
        args[name] = args[name] + t * direction
        return self.forward.forward(**args)

    def loss(self, point, name, direction, t) -> float:
        args = dict(point)
        args[name] = np.asarray(point[name], dtype=np.float64) + t * direction
        if np.ndim(point[name]) == 0:
            args[name] = float(args[name])
        with np.errstate(all="ignore"):
            return float(self.forward.forward(**args))

    def estimate(
        self, point, name, direction, f0: float, scale: float, *, careful=False
    ) -> fd.Estimate:
        """φ'(0) for φ(t) = L(point with ``name`` moved by t·direction)."""
        if self.analytic and not careful:
            with np.errstate(all="ignore"):
                return fd.complex_step(
                    lambda t: self._complex_loss(point, name, direction, t), scale=scale
                )
        phi = lambda t: self.loss(point, name, direction, t)  # noqa: E731
        return fd.richardson(phi, f0) if careful else fd.central(phi, f0)

    def sides(self, point, name, direction, f0: float) -> tuple[fd.Estimate, fd.Estimate]:
        phi = lambda t: self.loss(point, name, direction, t)  # noqa: E731
        return fd.one_sided(phi, f0, -1), fd.one_sided(phi, f0, +1)


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
    NumPy and Torch code is checked. ``at`` adds points of your own (dicts of values).
    ``dtype`` is the precision the checked gradient runs in; the witnesses always run in
    float64. Returns a ``Report``; ``report.ok`` is true when nothing is a mismatch.
    """
    started = time.perf_counter()
    if dtype not in DTYPES:
        raise SymgradError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    if not isinstance(points, int) or isinstance(points, bool) or points < 0:
        raise SymgradError(f"points must be a whole number ≥ 0, got {points!r}")
    d = model if isinstance(model, Derivation) else derive(model, wrt=wrt)
    torch_ok = _torch_available()
    notes: list[str] = []
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
        _own_claims(d, dtype, device, torch_ok)
        if against is None
        else [_against_claim(d, against, dtype, device, torch_ok)]
    )
    autograd = _Autograd(d) if torch_ok else None
    differences = _FiniteDifferences(d, oracle)
    kinks = diagnosis.kink_evaluator(d) if d.kinks else None

    labels, chosen = _points(d, points, seed, at, oracle, notes)
    rows = {name: _row(d, name, chosen) for name in d.wrt}
    findings: list[Finding] = []
    mismatched: list[tuple[int, _Claim, dict, dict]] = []
    rng = np.random.default_rng(seed + 1)
    for index, point in enumerate(chosen):
        state = _Point(
            index, point, d, oracle, autograd, differences, kinks, rows, findings, rng, dtype
        )
        if state.undefined():
            continue
        state.check_witnesses()
        for claim in claims:
            claimed = claim.call(point)
            if state.check_claim(claim, claimed):
                mismatched.append((index, claim, claimed, state.expected))
        state.label_kink()
        if progress is not None:
            progress(index + 1, len(chosen))

    if mismatched:
        _locate(d, mismatched, chosen, findings, oracle, autograd)
    for row in rows.values():
        row.verdict = (
            "MISMATCH" if any(f.is_failure and f.variable == row.name for f in findings) else "ok"
        )
    return Report(
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
    )


def _row(d: Derivation, name: str, points: list[dict]) -> VariableRow:
    shape = tuple(np.shape(points[0][name])) if points else d.variable(name).shape
    return VariableRow(name, shape, int(np.prod(shape)) if shape else 1)


def _points(d: Derivation, n: int, seed: int, at, oracle, notes) -> tuple[list[str], list[dict]]:
    labels, chosen = [], []
    example = dict(d.example)
    if all(name in example for name in d.arguments):
        labels.append("the example")
        chosen.append({name: example[name] for name in d.arguments})
    for i, extra in enumerate(at):
        missing = [name for name in d.arguments if name not in extra]
        if missing:
            raise SymgradError(f"point {i + 1} of at= gives no value for {', '.join(missing)}")
        labels.append(f"given point {i + 1}")
        chosen.append({name: extra[name] for name in d.arguments})
    if n:
        domains = domains_of(d)
        shapes = shapes_of(d)
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
            f"model {d.model!r} has no example point and no random points were asked for; "
            "give m.example(...) or points ≥ 1"
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
        self.scale = {k: max(float(np.mean(np.abs(v))), 1e-300) for k, v in self.expected.items()}
        self.rounding = self._rounding()
        self.fd_cache: dict = {}
        self.kink = self._kink()

    # --- tolerances ---

    def _rounding(self) -> dict[str, dict[str, float]]:
        """Relative rounding error of each gradient at this point, per precision: measured by
        evaluating the oracle in float32 (NumPy, and Torch when present), and scaled down by
        the ratio of unit roundoffs for float64."""
        measured = {name: UNIT_ROUNDOFF["float32"] for name in self.d.wrt}
        with np.errstate(all="ignore"):
            try:
                _, low = self.oracle(**_numpy_args(self.point, self.d.arguments, "float32"))
            except Exception:
                low = None
        if low is not None:
            for name in self.d.wrt:
                diff = np.abs(np.asarray(low[name], np.float64) - self.expected[name])
                rel = diff / (np.abs(self.expected[name]) + self.scale[name])
                worst = float(np.max(rel)) if rel.size else 0.0
                if math.isfinite(worst):
                    measured[name] = max(measured[name], worst)
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
        )

    def close_function(self, dtype: str):
        """``close(claimed, expected)`` with this point's tolerances (for patterns)."""

        def close(a, b, entrywise=False, name=None):
            a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
            if a.shape != b.shape:
                return np.zeros(b.shape, bool) if entrywise else False
            rel = max(self.rounding[dtype].values())
            scale = max(float(np.mean(np.abs(b))), 1e-300)
            ok = np.abs(a - b) <= ROUNDING_MARGIN * rel * (np.abs(b) + scale)
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
            point = dict(self.point)
            point[name] = np.asarray(self.point[name], np.float64) + t * direction
            values = self._node_values(point)
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
                row.autograd = max(
                    row.autograd or 0.0, float(np.max(diff / tol)) if diff.size else 0.0
                )
                bad = np.argwhere(np.atleast_1d(diff > tol))
                if bad.size:
                    self._witness_disagrees(name, "autograd", got[name], bad)
        for name in self.d.wrt:
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
        if crossed or self.near_kink:
            left, right = self.sides(name, direction, 10 * fd.U64 ** (1 / 5))
            lo, hi = sorted((left.value, right.value))
            slack = 3 * (left.error + right.error)
            between = lo - slack <= want <= hi + slack
            self.findings.append(
                Finding(
                    NON_DIFFERENTIABLE if between else MISMATCH,
                    self.index,
                    variable=name,
                    source="symbolic",
                    witness="finite differences",
                    entries=(entry,) if entry is not None else (),
                    count=1,
                    size=self.rows[name].size,
                    claimed=want,
                    expected=estimate.value,
                    left=left.value,
                    right=right.value,
                    between=between,
                    detail=self._kink_text()
                    + ("" if entry is not None else "; along a random direction"),
                )
            )
            return self.findings[-1].kind
        # both finite-difference estimates disagree, and no kink is near: ask again with a
        # tenfold larger and smaller step; if those disagree with each other, the estimate is noise
        phi = lambda t: self.fd.loss(self.point, name, direction, t)  # noqa: E731
        wide = fd.richardson(phi, self.loss, h=10 * fd.U64 ** (1 / 5))
        narrow = fd.richardson(phi, self.loss, h=0.1 * fd.U64 ** (1 / 5))
        consistent = abs(wide.value - narrow.value) <= 3 * (wide.error + narrow.error)
        scale = abs(want) + float(np.sum(np.abs(direction) * self.scale[name]))
        resolved = max(wide.error, narrow.error) <= RESOLUTION * scale
        confirmed = consistent and resolved and not wide.agrees_with(want)
        self.findings.append(
            Finding(
                MISMATCH if confirmed else NOISE,
                self.index,
                variable=name,
                source="symbolic",
                witness="finite differences",
                entries=(entry,) if entry is not None else (),
                count=1,
                size=self.rows[name].size,
                claimed=want,
                expected=estimate.value,
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
        )
        return self.findings[-1].kind

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
            lo, hi = sorted((left.value, right.value))
            slack = 3 * (left.error + right.error)
            between = lo - slack <= want <= hi + slack
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
        return (
            f"{k.function} in {k.node} at its kink: argument {k.argument:.3g}{_entry_text(k.entry)}"
        )

    def _witness_disagrees(self, name, witness, got, bad) -> None:
        """Autograd and the symbolic gradient differ: finite differences say which is right."""
        for entry in [tuple(map(int, e)) for e in bad[:3]]:
            entry = entry if np.ndim(self.expected[name]) else ()
            direction, _ = self.unit(name, entry)
            want = float(np.sum(self.expected[name] * direction))
            other = float(np.sum(got * direction))
            estimate, agrees, crossed = self.fd_check(name, direction, want, 0.0)
            if crossed or self.near_kink:
                kind, detail = (
                    NON_DIFFERENTIABLE,
                    "autograd takes another subgradient at the kink; " + self._kink_text(),
                )
            elif agrees:
                kind, detail = (
                    MISMATCH,
                    "finite differences side with the symbolic gradient: "
                    "autograd's torch forward pass differs",
                )
            else:
                kind, detail = (
                    MISMATCH,
                    f"finite differences ({estimate.value:.6g}) side with autograd: "
                    "the symbolic gradient is wrong",
                )
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
                    detail=detail,
                )
            )

    # --- claims ---

    def check_claim(self, claim: _Claim, claimed: dict[str, np.ndarray]) -> bool:
        """Compare a claimed gradient with the oracle; True when something is a mismatch."""
        wrong = False
        for name in self.d.wrt:
            row = self.rows[name]
            want = self.expected[name]
            got = claimed[name]
            if got.shape != want.shape and got.size == 1 and want.size == 1:
                got = got.reshape(want.shape)
            if got.shape != want.shape:
                row.worst = math.inf
                self.findings.append(
                    Finding(
                        MISMATCH,
                        self.index,
                        variable=name,
                        source=claim.label,
                        witness="symbolic",
                        size=row.size,
                        count=row.size,
                        pattern=diagnosis.array_pattern(got, want, self.close_function(self.dtype)),
                    )
                )
                wrong = True
                continue
            tol = self.tolerance(name, self.dtype)
            with np.errstate(all="ignore"):
                diff = np.abs(got - want)
                over = np.where(np.isnan(diff), np.inf, diff / tol)
            row.worst = max(row.worst, float(np.max(over)) if over.size else 0.0)
            with np.errstate(all="ignore"):
                relative = diff / (np.abs(want) + self.scale[name])
            if relative.size:
                row.relative = max(row.relative, float(np.nan_to_num(np.max(relative), nan=np.inf)))
            bad = np.argwhere(np.atleast_1d(over > 1))
            if not bad.size:
                continue
            entries = [tuple(map(int, e)) if want.ndim else () for e in bad]
            # at a kink a different subgradient is not wrong: the left and right derivatives say
            if self.near_kink and self._claims_a_subgradient(name, entries, got):
                continue
            first = entries[0]
            self.findings.append(
                Finding(
                    MISMATCH,
                    self.index,
                    variable=name,
                    source=claim.label,
                    witness="symbolic",
                    entries=tuple(entries[:5]),
                    count=len(entries),
                    size=row.size,
                    claimed=float(got[first]) if want.ndim else float(got),
                    expected=float(want[first]) if want.ndim else float(want),
                    pattern=diagnosis.array_pattern(got, want, self.close_function(self.dtype)),
                    detail=self._confirm(
                        name, first, float(got[first]) if want.ndim else float(got)
                    ),
                )
            )
            wrong = True
        return wrong

    def _claims_a_subgradient(self, name, entries, got) -> bool:
        """At a kink: whether every differing entry lies between its left and right derivative
        (recorded as a non-differentiable point)."""
        if len(entries) > 8:
            return False
        sides = []
        h = 10 * fd.U64 ** (1 / 5)
        for entry in entries:
            direction, size = self.unit(name, entry)
            if self.kink_along(name, direction, h) is None:
                return False  # this entry does not move the kink: its derivative is one number
            left, right = self.sides(name, direction, h)
            value = (float(got[entry]) if got.ndim else float(got)) * size
            lo, hi = sorted((left.value, right.value))
            slack = 3 * (left.error + right.error)
            if not (lo - slack <= value <= hi + slack):
                return False
            sides.append((entry, left.value / size, right.value / size, value / size))
        entry, left, right, value = sides[0]
        self.findings.append(
            Finding(
                NON_DIFFERENTIABLE,
                self.index,
                variable=name,
                source="claimed",
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
                detail = (detail + "; " if detail else "") + (
                    f"every node's adjoint is consistent: the mistake is in the last step ({steps})"
                )
            findings[i] = _with(
                f, node=node, alternatives=alternatives, pattern=pattern, detail=detail
            )


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
    import dataclasses

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
