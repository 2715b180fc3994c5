"""Derivation time, gradient size and memory: symgrad's named-node sweep beside SymPy
differentiating the fully substituted loss, for width-4 tanh MLPs of growing depth and a scalar
model of 1,000 parameters.

    python -m benchmarks.derivation [--cases 1-16,wide1000] [--timeout 60] [--repeat 3]

Each measurement runs in its own process (so one contender's memory and caches do not help
the other); the substituted contender is stopped at --timeout seconds. Peak memory is the
process's peak resident set (SymPy and NumPy imported: the baseline is given beside it).
Writes benchmarks/results/derivation.md and .json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def build(case: str):
    from .models import tanh_mlp, wide_scalar_model

    return wide_scalar_model(int(case[4:])) if case.startswith("wide") else tanh_mlp(int(case))


def _rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_named(case: str) -> dict:
    import sympy

    import symgrad

    model = build(case)
    baseline = _rss_mb()
    start = time.perf_counter()
    derivation = symgrad.derive(model)
    derived = time.perf_counter()
    compiled = symgrad.compile(derivation)
    done = time.perf_counter()
    peak = _rss_mb()
    ops = sum(sympy.count_ops(loc.expr) for loc in derivation.locals)
    ops += sum(sympy.count_ops(adj.expr) for adj in derivation.adjoints)
    return {
        "derive_s": derived - start,
        "compile_s": done - derived,
        "ops": int(ops),
        "source_lines": compiled.source.count("\n"),
        "params": len(derivation.wrt),
        "peak_mb": peak,
        "baseline_mb": baseline,
    }


def measure_substituted(case: str) -> dict:
    import sympy

    import symgrad

    derivation = symgrad.derive(build(case))
    baseline = _rss_mb()
    start = time.perf_counter()
    closed = {}
    for node in derivation.nodes:
        closed[node.symbol] = node.expr.xreplace(closed)
    loss = closed[derivation.loss.symbol]
    gradients = [sympy.diff(loss, derivation.symbol(name)) for name in derivation.wrt]
    elapsed = time.perf_counter() - start
    peak = _rss_mb()
    ops = int(sum(sympy.count_ops(g) for g in gradients))
    return {"diff_s": elapsed, "ops": ops, "peak_mb": peak, "baseline_mb": baseline}


def run_isolated(kind: str, case: str, timeout: float) -> dict | None:
    code = (
        "import json, sys; from benchmarks.derivation import measure_" + kind + " as f; "
        f"print(json.dumps(f({case!r})))"
    )
    root = Path(__file__).resolve().parent.parent
    try:
        result = subprocess.run(
            [sys.executable, "-c", code],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )
    except subprocess.TimeoutExpired:
        return None
    return json.loads(result.stdout.strip().splitlines()[-1])


def parse_cases(text: str) -> list[str]:
    out = []
    for part in text.split(","):
        if "-" in part:
            low, high = part.split("-")
            out += [str(d) for d in range(int(low), int(high) + 1)]
        else:
            out.append(part)
    return out


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="1-16,wide1000")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--output", default=str(RESULTS / "derivation.md"))
    args = parser.parse_args(argv)

    rows, data = [], {}
    substituted_alive = True  # for the MLPs: a deeper one would only take longer
    for case in parse_cases(args.cases):
        named = [run_isolated("named", case, args.timeout) for _ in range(args.repeat)]
        named = [n for n in named if n]
        wide = case.startswith("wide")
        sub = (
            run_isolated("substituted", case, args.timeout) if (substituted_alive or wide) else None
        )
        if not wide:
            substituted_alive = sub is not None
        data[case] = {"named": named, "substituted": sub}
        derive_times = [n["derive_s"] for n in named]
        total = [n["derive_s"] + n["compile_s"] for n in named]
        stopped = f"> {args.timeout:.0f} (stopped)"
        cells = [
            f"{int(case[4:]):,} parameters" if wide else f"depth {case}",
            str(named[0]["params"]),
            f"{statistics.median(derive_times):.3f} "
            f"({min(derive_times):.3f}–{max(derive_times):.3f})",
            f"{statistics.median(total):.3f}",
            f"{named[0]['ops']:,}",
            f"{named[0]['source_lines']:,}",
            f"{max(n['peak_mb'] for n in named):.0f} ({named[0]['baseline_mb']:.0f})",
            f"{sub['diff_s']:.2f}" if sub else stopped,
            f"{sub['ops']:,}" if sub else "–",
            f"{sub['peak_mb']:.0f}" if sub else "–",
        ]
        rows.append("| " + " | ".join(cells) + " |")
        print(rows[-1], flush=True)

    table = "\n".join(
        [
            "# Derivation: the named-node sweep beside differentiating the substituted loss",
            "",
            f"Width-4 tanh MLPs and a scalar model of 1,000 parameters. Medians of {args.repeat} "
            "runs (min–max), seconds, each run in its own process. Gradient size is SymPy's "
            "count_ops over every local gradient and adjoint (symgrad) or over every fully "
            "substituted derivative (SymPy). Peak memory: the process's peak resident set in "
            "MB (in parentheses: after importing, before deriving).",
            "",
            "| model | params | symgrad derive s | derive + compile s | gradient ops "
            "| code lines | peak MB | SymPy diff of substituted s | its ops | its peak MB |",
            "|---|---|---|---|---|---|---|---|---|---|",
            *rows,
            "",
        ]
    )
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(table, encoding="utf-8")
    Path(args.output).with_suffix(".json").write_text(json.dumps(data), encoding="utf-8")
    return table


if __name__ == "__main__":
    print(main())
