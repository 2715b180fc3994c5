"""Derivation time and gradient size against depth, for a width-4 tanh MLP: symgrad's
named-node sweep beside SymPy differentiating the fully substituted loss.

    python -m benchmarks.derivation [--depths 1-8] [--timeout 60] [--repeat 3]

Each measurement runs in its own process (so one contender's memory and caches do not help
the other); the substituted contender is stopped at --timeout seconds. Writes
benchmarks/results/derivation.md.
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


def measure_named(depth: int) -> dict:
    import sympy

    import symgrad

    from .models import tanh_mlp

    model = tanh_mlp(depth)
    start = time.perf_counter()
    derivation = symgrad.derive(model)
    derived = time.perf_counter()
    compiled = symgrad.compile(derivation)
    done = time.perf_counter()
    ops = sum(sympy.count_ops(loc.expr) for loc in derivation.locals)
    ops += sum(sympy.count_ops(adj.expr) for adj in derivation.adjoints)
    return {
        "derive_s": derived - start,
        "compile_s": done - derived,
        "ops": int(ops),
        "source_lines": compiled.source.count("\n"),
        "params": len(derivation.wrt),
    }


def measure_substituted(depth: int) -> dict:
    import sympy

    import symgrad

    from .models import tanh_mlp

    model = tanh_mlp(depth)
    derivation = symgrad.derive(model)
    start = time.perf_counter()
    closed = {}
    for node in derivation.nodes:
        closed[node.symbol] = node.expr.xreplace(closed)
    loss = closed[derivation.loss.symbol]
    gradients = [sympy.diff(loss, derivation.symbol(name)) for name in derivation.wrt]
    elapsed = time.perf_counter() - start
    return {"diff_s": elapsed, "ops": int(sum(sympy.count_ops(g) for g in gradients))}


def run_isolated(kind: str, depth: int, timeout: float) -> dict | None:
    code = (
        "import json, sys; from benchmarks.derivation import measure_" + kind + " as f; "
        f"print(json.dumps(f({depth})))"
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


def parse_depths(text: str) -> list[int]:
    if "-" in text:
        low, high = text.split("-")
        return list(range(int(low), int(high) + 1))
    return [int(t) for t in text.split(",")]


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depths", default="1-8")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--output", default=str(RESULTS / "derivation.md"))
    args = parser.parse_args(argv)

    rows = []
    substituted_alive = True
    for depth in parse_depths(args.depths):
        named = [run_isolated("named", depth, args.timeout) for _ in range(args.repeat)]
        named = [n for n in named if n]
        derive_times = [n["derive_s"] for n in named]
        compile_times = [n["compile_s"] for n in named]
        sub = run_isolated("substituted", depth, args.timeout) if substituted_alive else None
        substituted_alive = sub is not None  # a deeper one would only take longer
        stopped = f"> {args.timeout:.0f} (stopped)"
        cells = [
            str(depth),
            str(named[0]["params"]),
            f"{statistics.median(derive_times):.3f} "
            f"({min(derive_times):.3f}–{max(derive_times):.3f})",
            f"{statistics.median(compile_times):.3f}",
            f"{named[0]['ops']:,}",
            f"{named[0]['source_lines']:,}",
            f"{sub['diff_s']:.2f}" if sub else stopped,
            f"{sub['ops']:,}" if sub else "–",
        ]
        rows.append("| " + " | ".join(cells) + " |")
        print(rows[-1], flush=True)

    table = "\n".join(
        [
            "# Derivation: width-4 tanh MLP, named-node sweep vs the substituted expression",
            "",
            f"Medians of {args.repeat} runs (min–max), seconds; each run in its own process.",
            "Gradient size is SymPy's count_ops over every local gradient and adjoint (named)",
            "or over every fully substituted derivative (SymPy).",
            "",
            "| depth | params | symgrad derive s | compile s | gradient ops | code lines "
            "| SymPy diff of substituted s | its ops |",
            "|---|---|---|---|---|---|---|---|",
            *rows,
            "",
        ]
    )
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(table, encoding="utf-8")
    return table


if __name__ == "__main__":
    print(main())
