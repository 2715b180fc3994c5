"""Convolution and pooling gradients at a CIFAR-sized batch: symgrad's generated NumPy and Torch
code beside torch autograd, in one run.

    python -m benchmarks.windows [--batch 128] [--repeat 10] [--output FILE]

The model is a small CNN on 32×32 RGB images: conv2d 3→16 (3×3, padding 1), relu, max_pool2d 2,
conv2d 16→32 (3×3, padding 1), relu, avg_pool2d 2, a linear read-out to 10 classes and
F.cross_entropy with integer labels. float64 on the CPU; every contender gets the same inputs,
is warmed up, then timed call by call, the contenders taking turns so that the machine's load
falls on all of them alike. The table gives medians and min–max, and the ratio to autograd;
it is written to benchmarks/results/windows.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def model(batch: int):
    import symgrad
    from symgrad import Model

    m = Model(f"cnn_{batch}")
    x = m.input("x", (batch, 3, 32, 32))
    labels = m.input("labels", (batch,), domain=("labels", 10))
    w1 = m.param("w1", (16, 3, 3, 3))
    w2 = m.param("w2", (32, 16, 3, 3))
    v = m.param("v", (32 * 8 * 8, 10))
    h1 = m.node("h1", symgrad.max_pool2d(symgrad.relu(symgrad.conv2d(x, w1, padding=1)), 2))
    h2 = m.node("h2", symgrad.avg_pool2d(symgrad.relu(symgrad.conv2d(h1, w2, padding=1)), 2))
    logits = m.node("logits", symgrad.reshape(h2, (batch, -1)) @ v)
    m.loss("L", symgrad.cross_entropy(logits, labels))
    rng = np.random.default_rng(0)
    m.example(
        x=rng.standard_normal((batch, 3, 32, 32)),
        labels=rng.integers(0, 10, batch).astype(float),
        w1=rng.standard_normal((16, 3, 3, 3)) * 0.2,
        w2=rng.standard_normal((32, 16, 3, 3)) * 0.1,
        v=rng.standard_normal((2048, 10)) * 0.02,
    )
    return m


def torch_loss():
    import torch
    import torch.nn.functional as F

    def loss(v):
        h1 = F.max_pool2d(torch.relu(F.conv2d(v["x"], v["w1"], padding=1)), 2)
        h2 = F.avg_pool2d(torch.relu(F.conv2d(h1, v["w2"], padding=1)), 2)
        logits = h2.reshape(h2.shape[0], -1) @ v["v"]
        return F.cross_entropy(logits, v["labels"].long())

    return loss


def contenders(batch: int) -> dict:
    import torch

    import symgrad

    d = symgrad.derive(model(batch))
    point = dict(d.example)
    out = {}
    numpy_grad = symgrad.compile(d, "numpy")
    out["symgrad-numpy"] = lambda: numpy_grad(**point)
    torch_grad = symgrad.compile(d, "torch")
    tensors = {k: torch.as_tensor(v, dtype=torch.float64) for k, v in point.items()}
    out["symgrad-torch"] = lambda: torch_grad(**tensors)
    loss = torch_loss()
    wrt = ("w1", "w2", "v")
    leaves = {k: t.clone().requires_grad_(k in wrt) for k, t in tensors.items()}

    def autograd():
        value = loss(leaves)
        return value, torch.autograd.grad(value, [leaves[k] for k in wrt])

    out["torch-autograd"] = autograd
    return out, d


def agree(functions: dict, d) -> float:
    """The largest difference between any contender's gradient and autograd's (a run that is
    fast and wrong is not a result)."""
    _, reference = functions["torch-autograd"]()
    reference = [r.numpy() for r in reference]
    worst = 0.0
    for name in ("symgrad-numpy", "symgrad-torch"):
        _, grads = functions[name]()
        for want, key in zip(reference, ("w1", "w2", "v"), strict=True):
            got = grads[key].numpy() if hasattr(grads[key], "numpy") else grads[key]
            worst = max(worst, float(np.max(np.abs(got - want))))
    return worst


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--output", default=str(RESULTS / "windows.md"))
    args = parser.parse_args(argv)
    functions, d = contenders(args.batch)
    difference = agree(functions, d)
    times: dict[str, list[float]] = {name: [] for name in functions}
    for function in functions.values():  # warm up
        function()
    for _ in range(args.repeat):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    base = statistics.median(times["torch-autograd"])
    rows = [
        "| contender | gradient, median (min–max) | time / torch autograd |",
        "|---|---|---|",
    ]
    data = {"batch": args.batch, "max_difference": difference, "times": times}
    for name, values in times.items():
        median = statistics.median(values)
        rows.append(
            f"| {name} | {median * 1e3:.1f} ms ({min(values) * 1e3:.1f}–{max(values) * 1e3:.1f} ms)"
            f" | {median / base:.2f}× |"
        )
    table = (
        f"CNN on CIFAR-sized images, batch {args.batch}, float64, CPU, {args.repeat} runs each; "
        f"largest gradient difference from autograd: {difference:.1e}\n\n" + "\n".join(rows) + "\n"
    )
    Path(args.output).write_text(table, encoding="utf-8")
    Path(args.output).with_suffix(".json").write_text(json.dumps(data), encoding="utf-8")
    print(table)
    return table


if __name__ == "__main__":
    main()
