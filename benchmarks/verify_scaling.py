"""Verification time against the number of parameters: a chain of tanh layers, one scalar
weight each, checked by ``symgrad.verify`` beside ``torch.autograd.gradcheck``, in one run.

    python -m benchmarks.verify_scaling [--sizes 50,100,200,1000] [--output FILE]

h₀ = x, hₖ = tanh(wₖ hₖ₋₁), L = h_n². symgrad is timed from the model (derive, generate the
NumPy and Torch code, check at the example and 2 random points: ``verify(model, points=2)``);
gradcheck checks the same chain written in torch, fast and slow mode, at the example. Each
check runs once per size (the largest take tens of seconds); written to
benchmarks/results/verify_scaling.md.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
X, W = 0.5, 0.9  # the example: every weight 0.9, so no layer saturates


def chain_model(n: int):
    import symgrad

    m = symgrad.Model(f"tanh chain of {n}")
    h = m.input("x")
    for k, w in enumerate(m.params(" ".join(f"w{k}" for k in range(1, n + 1))), 1):
        h = m.node(f"h{k}", symgrad.tanh(w * h))
    m.loss("L", h * h)
    m.example(x=X, **{f"w{k}": W for k in range(1, n + 1)})
    return m


def checks(n: int) -> dict:
    import torch

    import symgrad

    def chain(*weights):
        h = torch.tensor(X, dtype=torch.float64)
        for w in weights:
            h = torch.tanh(w * h)
        return h * h

    point = tuple(torch.tensor(W, dtype=torch.float64, requires_grad=True) for _ in range(n))
    gradcheck = torch.autograd.gradcheck
    return {
        "symgrad verify (derive included, 3 points)": lambda: (
            symgrad.verify(chain_model(n), points=2).ok
        ),
        "gradcheck fast (1 point)": lambda: gradcheck(chain, point, fast_mode=True),
        "gradcheck slow (1 point)": lambda: gradcheck(chain, point),
    }


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,100,200,1000")
    parser.add_argument("--output", default=str(RESULTS / "verify_scaling.md"))
    args = parser.parse_args(argv)
    lines = [
        "A tanh chain with one scalar weight per layer, float64, CPU, one check per cell.",
        "",
        "| parameters | check | time | time / gradcheck slow |",
        "|---|---|---|---|",
    ]
    for n in map(int, args.sizes.split(",")):
        times = {}
        for name, check in checks(n).items():
            start = time.perf_counter()
            assert check(), f"{name} failed the right gradient of {n}"
            times[name] = time.perf_counter() - start
        base = times["gradcheck slow (1 point)"]
        for name, seconds in times.items():
            lines.append(f"| {n} | {name} | {seconds:.2f} s | {seconds / base:.2f}× |")
    table = "\n".join(lines) + "\n"
    Path(args.output).write_text(table, encoding="utf-8")
    print(table)
    return table


if __name__ == "__main__":
    main()
