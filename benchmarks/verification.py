"""Gradient checking at scale: ``symgrad.verify`` beside ``torch.autograd.gradcheck`` (slow and
fast mode), on the seed 004 ReLU MLP at full size (x 32×1000, w1 1000×100, w2 100×2: a
100,200-entry gradient), all in the same run.

    python -m benchmarks.verification [--size full|small] [--trials 20] [--no-slow]
                                      [--output benchmarks/results/verification.md]

The gradient under test is the lecture's own manual backward (NumPy), for gradcheck wrapped in
a ``torch.autograd.Function`` whose backward returns it. Cases:

- *correct*, in float64 and in float32 (gradcheck's tolerances are fixed; it is told to use
  float64, so float32 shows what happens when one does not);
- *one wrong entry*: one entry of ∂loss/∂w1, at a random place, off by 1% of its size; the
  fast checks run ``--trials`` places each and count how many they catch.

Times are wall-clock on this 2-core machine, median of the repetitions; gradcheck slow mode
runs once (it takes two forward passes per gradient entry).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
SIZES = {"full": (32, 1000, 100, 2), "small": (4, 20, 5, 2)}


def relu_mlp(batch: int, inputs: int, hidden: int, outputs: int):
    """The seed 004 model at any size (examples/seed004_relu_mlp.py is the full one)."""
    from symgrad import Model, relu, sum_squares

    m = Model(f"relu_mlp_{batch}x{inputs}x{hidden}x{outputs}")
    x = m.input("x", shape=(batch, inputs))
    y = m.input("y", shape=(batch, outputs))
    w1 = m.param("w1", shape=(inputs, hidden))
    w2 = m.param("w2", shape=(hidden, outputs))
    hidden_ = m.node("hidden", relu(x @ w1))
    y_pred = m.node("y_pred", hidden_ @ w2)
    m.loss("loss", sum_squares(y_pred - y))
    m.example(random=0)
    return m


def manual_backward(x, y, w1, w2, wrong=None):
    """Lecture note 004's backward pass; ``wrong=(i, j)`` puts a 1% error in ∂loss/∂w1[i, j]."""
    h = x @ w1
    h_relu = np.maximum(h, 0)
    grad_y_pred = 2.0 * (h_relu @ w2 - y)
    grad_w2 = h_relu.T @ grad_y_pred
    grad_h = grad_y_pred @ w2.T
    grad_h[h < 0] = 0
    grad_w1 = x.T @ grad_h
    if wrong is not None:
        grad_w1[wrong] += 0.01 * (abs(grad_w1[wrong]) + np.mean(np.abs(grad_w1)))
    return {"w1": grad_w1, "w2": grad_w2}


def torch_function(x, y, wrong=None):
    """The manual backward as a torch.autograd.Function of (w1, w2), for gradcheck."""
    import torch

    class ManualMLP(torch.autograd.Function):
        @staticmethod
        def forward(ctx, w1, w2):
            ctx.save_for_backward(w1, w2)
            h = torch.clamp(x.to(w1.dtype) @ w1, min=0)
            return ((h @ w2 - y.to(w1.dtype)) ** 2).sum()

        @staticmethod
        def backward(ctx, grad_output):
            w1, w2 = ctx.saved_tensors
            g = manual_backward(
                x.double().numpy(), y.double().numpy(), w1.detach().double().numpy(),
                w2.detach().double().numpy(), wrong,
            )  # fmt: skip
            return (
                grad_output * torch.as_tensor(g["w1"], dtype=w1.dtype),
                grad_output * torch.as_tensor(g["w2"], dtype=w2.dtype),
            )

    return ManualMLP.apply


def run_gradcheck(point, dtype, fast, wrong=None):
    import torch

    kind = getattr(torch, dtype)
    x, y = torch.as_tensor(point["x"]), torch.as_tensor(point["y"])
    w1 = torch.tensor(point["w1"], dtype=kind, requires_grad=True)
    w2 = torch.tensor(point["w2"], dtype=kind, requires_grad=True)
    started = time.perf_counter()
    try:
        passed = torch.autograd.gradcheck(
            torch_function(x, y, wrong), (w1, w2), fast_mode=fast, raise_exception=True
        )
        message = "passed"
    except Exception as error:  # gradcheck raises GradcheckError (or a warning-error)
        passed, message = False, str(error).strip().splitlines()[0]
    return time.perf_counter() - started, bool(passed), message


def run_symgrad(model, point, dtype, wrong=None):
    import symgrad

    def against(x, y, w1, w2):
        return manual_backward(x, y, w1, w2, wrong)

    started = time.perf_counter()
    report = symgrad.verify(model, against=against, dtype=dtype, seed=1)
    elapsed = time.perf_counter() - started
    if report.ok:
        return elapsed, True, "all gradients agree", report
    f = report.mismatches[0]
    entry = f"[{', '.join(map(str, f.entries[0]))}]" if f.entries else ""
    return (
        elapsed,
        False,
        f"mismatch ∂loss/∂{f.variable}{entry}; {f.pattern}; node {f.node}",
        report,
    )


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-slow", action="store_true", help="skip gradcheck's slow mode")
    parser.add_argument("--output", default=str(RESULTS / "verification.md"))
    args = parser.parse_args(argv)

    import warnings

    import torch

    torch.set_num_threads(2)
    warnings.filterwarnings("ignore", message="Input #", category=UserWarning)  # float32 advice
    model = relu_mlp(*SIZES[args.size])
    import symgrad

    d = symgrad.derive(model)
    point = {k: np.asarray(v) for k, v in d.example.items()}
    shape = point["w1"].shape
    rng = np.random.default_rng(2026)
    places = [
        tuple(int(i) for i in np.unravel_index(k, shape))
        for k in rng.choice(np.prod(shape), args.trials, replace=False)
    ]
    rows = []

    def timed(name, case, runs):
        times = [r[0] for r in runs]
        passes = [r[1] for r in runs]
        correct = case.startswith("correct")
        right = sum(passes) if correct else len(runs) - sum(passes)
        verdict = (
            ("no false alarm" if right == len(runs) else f"false alarm in {len(runs) - right}")
            if correct
            else ("caught every time" if right == len(runs) else f"missed {len(runs) - right}")
        )
        rows.append({
            "checker": name, "case": case, "seconds": statistics.median(times),
            "min": min(times), "max": max(times), "right": right, "runs": len(runs),
            "verdict": verdict, "says": runs[0][2],
        })  # fmt: skip
        print(f"{name:24} {case:30} {statistics.median(times):8.3f} s  "
              f"right {right}/{len(runs)} ({verdict})  {runs[0][2][:70]}", flush=True)  # fmt: skip

    run_symgrad(model, point, "float64")  # warm up: derivation and compilation are not the check
    for dtype in ("float64", "float32"):
        timed("symgrad verify", f"correct, {dtype}",
              [run_symgrad(model, point, dtype)[:3] for _ in range(args.repeat)])  # fmt: skip
        timed("gradcheck fast", f"correct, {dtype}",
              [run_gradcheck(point, dtype, True) for _ in range(args.repeat)])  # fmt: skip
    timed("symgrad verify", "one wrong entry (w1), float64",
          [run_symgrad(model, point, "float64", p)[:3] for p in places])  # fmt: skip
    timed("gradcheck fast", "one wrong entry (w1), float64",
          [run_gradcheck(point, "float64", True, p) for p in places])  # fmt: skip
    if not args.no_slow:
        timed("gradcheck slow", "correct, float64", [run_gradcheck(point, "float64", False)])
        timed("gradcheck slow", "one wrong entry (w1), float64",
              [run_gradcheck(point, "float64", False, places[0])])  # fmt: skip

    n = int(np.prod(shape)) + int(np.prod(point["w2"].shape))
    lines = [
        f"# Verification: {model.name} ({n:,} gradient entries)",
        "",
        "The gradient under test is the lecture's manual backward. *Right* counts the runs the "
        "checker judged correctly: no complaint about the correct gradient, a complaint about "
        "the wrong one (each run puts the wrong entry at another place).",
        "",
        "| checker | case | time (s), median | min–max | right | verdict "
        "| what it says (first run) |",
        "| --- | --- | ---: | --- | ---: | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['checker']} | {r['case']} | {r['seconds']:.3f} | {r['min']:.3f}–{r['max']:.3f} "
            f"| {r['right']}/{r['runs']} | {r['verdict']} | {r['says'][:120].replace('|', '/')} |"
        )
    table = "\n".join(lines) + "\n"
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(table)
    output.with_suffix(".json").write_text(json.dumps(rows, indent=1))
    return table


if __name__ == "__main__":
    main()
