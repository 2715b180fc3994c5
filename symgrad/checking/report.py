"""What ``symgrad.verify`` found: a ``Report`` of ``Finding``s and one ``VariableRow`` per
parameter, as a table for people and as JSON for programs."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

MISMATCH = "mismatch"
NON_DIFFERENTIABLE = "non-differentiable point"
UNDEFINED = "undefined"
NOISE = "finite-difference noise"


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
            entry = entry_text(self.entries[0]) if self.entries else ""
            more = f" (and {self.count - 1} more of {self.size} entries)" if self.count > 1 else ""
            parts.append(f"∂{loss}/∂{self.variable}{entry}{more}")
        parts.append(f"at {where}" + (f" and {also} more point(s)" if also else ""))
        line = " ".join(parts)
        if self.claimed is not None and self.expected is not None:
            source = self.source or "claimed"
            line += f": {source} {self.claimed:.6g}, {self.witness} {self.expected:.6g}"
        if self.pattern:
            line += f"; {self.pattern}"
        if self.node and self.kind == UNDEFINED:
            line += f"; at node {self.node}"
        elif self.node:
            alt = (
                f" (or {', '.join(self.alternatives)}: the gradients alone cannot tell)"
                if self.alternatives
                else ""
            )
            line += f"; first wrong node {self.node}{alt}"
        if self.left is not None and self.right is not None:
            inside = {True: "lies between them", False: "lies outside them"}.get(
                self.between, "is not certified by them"
            )
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
    claimed_shape: tuple[int, ...] | None = None  # a claim's gradient of another shape

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
            "claimed_shape": None if self.claimed_shape is None else list(self.claimed_shape),
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
    own_code: bool = True  # symgrad's own generated code was checked (not someone else's)
    checked_points: int = 1  # points where the loss was finite, so the gradient could be checked

    @property
    def ok(self) -> bool:
        """Nothing checked is a mismatch, and at least one point could be checked."""
        return self.checked_points > 0 and not self.mismatches

    @property
    def mismatches(self) -> list[Finding]:
        """The mismatches that fail the check: of a checked claim, and of the symbolic gradient
        itself when symgrad's own code is what is checked."""
        return [
            f for f in self.findings if f.is_failure and (self.own_code or f.source != "symbolic")
        ]

    @property
    def disputes(self) -> list[Finding]:
        """Where a witness disputed the symbolic oracle while someone else's gradient was
        checked: the verdict there rests on the oracle, so the report says so."""
        if self.own_code:
            return []
        return [f for f in self.findings if f.is_failure and f.source == "symbolic"]

    def rows_text(self) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
        """The per-parameter table's header and rows, as text cells."""
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
            # entries of two shapes have no error to measure: the columns say the shapes
            claimed = row.claimed_shape
            against = "×".join(map(str, claimed)) or "scalar" if claimed is not None else ""
            lines.append(
                (
                    row.name,
                    shape,
                    str(row.size),
                    f"shape {against}" if claimed is not None else _ratio(row.worst),
                    "—" if claimed is not None else f"{row.relative:.1e}",
                    autograd,
                    fdiff,
                    row.verdict,
                )
            )
        return header, lines

    def table(self) -> str:
        """The per-parameter table, as the CLI prints it."""
        header, lines = self.rows_text()
        widths = [max(len(r[i]) for r in [header, *lines]) for i in range(len(header))]
        rule = "  ".join("-" * w for w in widths)
        fmt = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()  # noqa: E731
        return "\n".join([fmt(header), rule, *map(fmt, lines)])

    def finding_lines(self) -> list[str]:
        """One line per finding; the same finding at several points reads once."""
        groups: dict[tuple, list[Finding]] = {}
        for f in self.findings:
            groups.setdefault((f.kind, f.source, f.variable, f.node), []).append(f)
        return [
            g[0].describe(self.points, self.loss, len({f.point for f in g}) - 1)
            for g in groups.values()
        ]

    def summary(self) -> str:
        checked = list(self.checked)
        what = (
            " and ".join(checked)
            if len(checked) < 3
            else ", ".join(checked[:-1]) + " and " + checked[-1]
        )
        wrong = list(dict.fromkeys(f.variable for f in self.mismatches if f.variable))
        # a mistake of the claim as a whole (it changed its arguments), said as it is
        whole = list(dict.fromkeys(f.detail for f in self.mismatches if not f.variable))
        if self.checked_points == 0:
            verdict = "nothing checked: the loss is not finite at any point"
        elif self.ok:
            verdict = "all gradients agree"
            if self.disputes:
                verdict += " (but a witness disputes the symbolic gradient: see below)"
        else:
            wrong_ones = f"{len(wrong)} of {len(self.wrt)} gradients wrong ({', '.join(wrong)})"
            verdict = "; ".join(([wrong_ones] if wrong else []) + whole)
        return (
            f"{self.model}: {verdict} ({what} in {self.dtype} on {self.device}, "
            f"{len(self.points)} point(s), {self.seconds:.2f} s)"
        )

    def __str__(self) -> str:
        parts = [self.summary(), "", self.table()]
        lines = [f"- {line}" for line in self.finding_lines()]
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

    def __repr__(self) -> str:  # the dataclass's own repr is thousands of characters
        return f"<Report {self.summary()}>"

    def _repr_html_(self) -> str:
        """Jupyter: the verdict, the table with each verdict coloured, the findings."""
        from html import escape

        colour = {"ok": "#1a7f37", "MISMATCH": "#cf222e"}
        header, rows = self.rows_text()
        # the verdict beside the variable's name, where a narrow page still shows it
        head = "".join(f"<th>{escape(h)}</th>" for h in (header[0], header[-1], *header[1:-1]))
        body = "".join(
            f"<tr><td>{escape(row[0])}</td>"
            + f'<td style="color:{colour.get(row[-1], "inherit")};font-weight:bold">'
            + f"{escape(row[-1])}</td>"
            + "".join(f"<td>{escape(c)}</td>" for c in row[1:-1])
            + "</tr>"
            for row in rows
        )
        findings = "".join(f"<li>{escape(line)}</li>" for line in self.finding_lines()[:30])
        notes = "".join(f"<li>note: {escape(n)}</li>" for n in self.notes)
        verdict = colour["ok"] if self.ok else colour["MISMATCH"]
        return (
            f'<div><p style="color:{verdict};font-weight:bold">{escape(self.summary())}</p>'
            f'<table class="symgrad-report"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>"
            + (f"<ul>{findings}{notes}</ul>" if findings or notes else "")
            + "</div>"
        )

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "loss": self.loss,
            "ok": self.ok,
            "wrt": list(self.wrt),
            "dtype": self.dtype,
            "device": self.device,
            "checked": list(self.checked),
            "checked_points": self.checked_points,
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


def entry_text(entry: tuple[int, ...]) -> str:
    return f"[{', '.join(map(str, entry))}]" if entry else ""
