"""A warm check of note 003's network: ``symgrad.verify`` beside ``torch.autograd.gradcheck``,
in one run.

    python -m benchmarks.warm_verify [--repeat 20] [--output FILE]

The model is derived once (as a test suite or a notebook does); each check then runs from the
derivation: symgrad's generated NumPy and Torch gradients against autograd and finite
differences at the example and 10 random points, and gradcheck (fast and slow mode) of the same
network written in torch at the example. Medians and min–max over ``--repeat`` checks; written
to benchmarks/results/warm_verify.md.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
PARAMETERS = ("W1", "W2", "W3", "W4", "W5", "W6", "b1", "b2", "b3")


def checks():
    import torch

    import symgrad
    from symgrad.loader import load_model

    root = Path(__file__).resolve().parent.parent
    d = symgrad.derive(load_model(str(root / "examples" / "seed003_two_layer_sigmoid.py")))
    symgrad.verify(d)  # warm: the code is generated once per derivation

    def network(W1, W2, W3, W4, W5, W6, b1, b2, b3):
        s1 = torch.sigmoid(W1 * 1.0 + W2 * 1.0 + b1)
        s2 = torch.sigmoid(W3 * 1.0 + W4 * 1.0 + b2)
        s3 = torch.sigmoid(W5 * s1 + W6 * s2 + b3)
        return -torch.log(1 - s3)  # y = 0

    point = tuple(
        torch.tensor(float(d.example[n]), dtype=torch.float64, requires_grad=True)
        for n in PARAMETERS
    )
    gradcheck = torch.autograd.gradcheck
    return {
        "symgrad verify (11 points)": lambda: symgrad.verify(d).ok,
        "gradcheck fast (1 point)": lambda: gradcheck(network, point, fast_mode=True),
        "gradcheck slow (1 point)": lambda: gradcheck(network, point),
    }


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--output", default=str(RESULTS / "warm_verify.md"))
    args = parser.parse_args(argv)
    contenders = checks()
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(args.repeat):
        for name, check in contenders.items():
            start = time.perf_counter()
            assert check(), name  # a check that fails the right gradient times nothing
            times[name].append(time.perf_counter() - start)
    base = statistics.median(times["gradcheck slow (1 point)"])
    lines = [
        f"Note 003's network (9 parameters), float64, CPU, {args.repeat} checks each.",
        "",
        "| check | median (min–max) | time / gradcheck slow |",
        "|---|---|---|",
    ]
    for name, values in times.items():
        median = statistics.median(values)
        lines.append(
            f"| {name} | {median * 1e3:.1f} ms ({min(values) * 1e3:.1f}–{max(values) * 1e3:.1f}"
            f" ms) | {median / base:.2f}× |"
        )
    table = "\n".join(lines) + "\n"
    Path(args.output).write_text(table, encoding="utf-8")
    print(table)
    return table


if __name__ == "__main__":
    main()
