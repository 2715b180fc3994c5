"""The command a user waits on: ``symgrad derive FILE`` (the worked example, in text) and
``symgrad derive FILE --json``, on tanh chains of 250, 500 and 1,000 nodes and on a
transformer block, each run in a fresh process as a user runs it.

    python -m benchmarks.derive_command [--nodes 250,500,1000] [--repeat 3] [--output FILE]

The time per node at each length shows whether the command stays linear (the ratio of the
longest chain's per-node time to the shortest's); the chain's model file is written the way a
tutorial would write it, one ``m.node`` per line. Medians and min–max over ``--repeat`` runs,
interpreter start and imports included; written to benchmarks/results/derive_command.md.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
TRANSFORMER = Path(__file__).resolve().parent / "transformer_block.py"


def chain_file(nodes: int, folder: Path) -> Path:
    """h₀ = tanh(w x), hᵢ = tanh(w hᵢ₋₁ + 0.1), L = h²: ``nodes`` nodes and the loss."""
    lines = [
        "from symgrad import Model, tanh",
        "",
        f"m = Model('chain{nodes}')",
        "x = m.input('x')",
        "w = m.param('w')",
        "h0 = m.node('h0', tanh(w * x))",
    ]
    lines += [f"h{i} = m.node('h{i}', tanh(h{i - 1} * w + 0.1))" for i in range(1, nodes)]
    lines += [f"m.loss('L', h{nodes - 1} ** 2)", "m.example(x=0.5, w=0.9)", ""]
    path = folder / f"chain{nodes}.py"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def run(arguments: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "symgrad.cli", *arguments],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return time.perf_counter() - start


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", default="250,500,1000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--transformer", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--output", default=str(RESULTS / "derive_command.md"))
    args = parser.parse_args(argv)
    lengths = [int(n) for n in args.nodes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        cases = [(f"tanh chain, {n} nodes", chain_file(n, Path(folder)), n) for n in lengths]
        if args.transformer:
            cases.append(("transformer block (32 × 64), 16 nodes", TRANSFORMER, 16))
        for label, path, nodes in cases:
            for extra, what in (([], "derive"), (["--json"], "derive --json")):
                output = str(Path(folder) / ("out.json" if extra else "out.txt"))
                times = [
                    run(["derive", str(path), *extra, "-o", output]) for _ in range(args.repeat)
                ]
                rows.append((label, what, nodes, times))
    per_node = {
        what: [
            statistics.median(t) / n for label, w, n, t in rows if w == what and "chain" in label
        ]
        for what in ("derive", "derive --json")
    }
    lines = [
        f"symgrad {_version()}, CPU, {args.repeat} runs each in a fresh process (interpreter "
        "start and imports included).",
        "",
        "| model | command | median (min–max) | per node |",
        "|---|---|---|---|",
    ]
    for label, what, nodes, times in rows:
        median = statistics.median(times)
        lines.append(
            f"| {label} | `{what}` | {median:.2f} s ({min(times):.2f}–{max(times):.2f} s) | "
            f"{median / nodes * 1e3:.1f} ms |"
        )
    if len(lengths) > 1:
        lines += [""]
        for what, values in per_node.items():
            lines.append(
                f"`{what}` per node, {lengths[-1]} nodes ÷ {lengths[0]} nodes: "
                f"{values[-1] / values[0]:.2f} (1 is linear)."
            )
    table = "\n".join(lines) + "\n"
    Path(args.output).write_text(table, encoding="utf-8")
    print(table)
    return table


def _version() -> str:
    from symgrad.version import __version__

    return __version__


if __name__ == "__main__":
    main()
