"""The judge of the witness autograd: PyTorch autograd must agree with the symbolic gradient on
every entry. Where they differ, finite differences say which is right, and comparing every
node's adjoint says where symgrad's derivation goes wrong."""

from __future__ import annotations

import numpy as np

from .diagnosis import first_wrong_adjoint
from .fd_judge import check, resolves, step_size
from .point import Point
from .report import MISMATCH, NON_DIFFERENTIABLE, Finding
from .tolerance import loose_close
from .witnesses import Autograd


def judge(at: Point, autograd: Autograd) -> list[Finding]:
    """Autograd against the symbolic gradient on every entry, within float64 rounding."""
    findings = []
    got = autograd.gradients(at.values)
    for name in at.d.wrt:
        tol = at.tolerance.of(name, "float64")
        diff = np.abs(got[name] - at.expected[name])
        row = at.rows[name]
        with np.errstate(all="ignore"):  # 0/0 where a gradient and its tolerance are 0
            over = np.nan_to_num(diff / tol, nan=0.0)
        row.autograd = max(row.autograd or 0.0, float(np.max(over)) if over.size else 0.0)
        bad = np.argwhere(np.atleast_1d(diff > tol))
        if bad.size:
            findings.append(_disagreement(at, autograd, name, got[name], bad))
    return findings


def _disagreement(at: Point, autograd: Autograd, name: str, got, bad) -> Finding:
    """Autograd and the symbolic gradient differ at the entries ``bad``: labelled by what
    finite differences say at the first of them."""
    entry = tuple(map(int, bad[0])) if np.ndim(at.expected[name]) else ()
    direction, _ = at.unit(name, entry)
    want = float(np.sum(at.expected[name] * direction))
    other = float(np.sum(got * direction))
    estimate, agrees, crossed = check(at, name, direction, want, 0.0)
    node = None
    if crossed:
        kind = NON_DIFFERENTIABLE
        detail = "autograd takes another subgradient at the kink; " + at.kinks.text()
    elif agrees:
        kind = MISMATCH
        detail = (
            "finite differences side with the symbolic gradient: "
            "autograd's torch forward pass differs"
        )
    elif not resolves(at, name, direction, want, estimate.error):
        kind = MISMATCH
        detail = (
            "finite differences cannot resolve it here; autograd disputes the symbolic gradient"
        )
        node = _first_node_disputed(at, autograd)
    else:
        kind = MISMATCH
        value = estimate.value / step_size(direction)
        detail = (
            f"finite differences ({value:.6g}) side with autograd: the symbolic gradient is wrong"
        )
        node = _first_node_disputed(at, autograd)
    return at.finding(
        kind,
        name,
        "symbolic",
        "autograd",
        entries=(entry,),
        count=len(bad),
        claimed=want / step_size(direction),
        expected=other / step_size(direction),
        node=node,
        detail=detail,
    )


def _first_node_disputed(at: Point, autograd: Autograd) -> str | None:
    """The first node, in backward order, whose adjoint autograd disputes."""
    try:
        with np.errstate(all="ignore"):
            symbolic = at.oracle.trace(**at.values).values
        return first_wrong_adjoint(at.d, symbolic, autograd.adjoints(at.values), loose_close)
    except Exception:  # the location is a courtesy; the mismatch stands without it
        return None
