"""Reading PyTorch code, and training on symgrad's backward pass, beside PyTorch's own, in one run.

    python -m benchmarks.from_torch [--batch 256] [--steps 50] [--output FILE]

1. Tracing a 3-layer MLP (nn.Sequential of Linear/ReLU, MSELoss): ``symgrad.from_torch`` and
   then ``derive``, each in a fresh process after ``import torch``, beside ``torch.export`` and
   ``make_fx`` (PyTorch's graph capture) of the same function: seconds beyond importing torch.
2. A training step of that MLP (forward, backward, Adam) at ``--batch``, float32 and float64 on
   the CPU: the loss through ``compile(d, "torch").as_autograd_function()`` (symgrad's generated
   backward) beside plain autograd, the contenders taking turns; medians and the ratio.
The table is written to benchmarks/results/from_torch.md.
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

MLP = """
import torch, torch.nn as nn
torch.manual_seed(0)
net = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                    nn.Linear(128, 10))
criterion = nn.MSELoss()
def step(x, y):
    prediction = net(x)
    return criterion(prediction, y)
example = {"x": torch.randn(BATCH, 64), "y": torch.randn(BATCH, 10)}
"""

# (set-up, timed code): each runs in a fresh process after import torch
TRACERS = {
    "import symgrad (SymPy, mostly)": ("", "import symgrad"),
    "import symgrad, from_torch": ("", "import symgrad\nm = symgrad.from_torch(step, example)"),
    "from_torch alone (symgrad imported)": (
        "import symgrad",
        "m = symgrad.from_torch(step, example)",
    ),
    "from_torch + derive (symgrad imported)": (
        "import symgrad",
        "symgrad.derive(symgrad.from_torch(step, example))",
    ),
    "torch.export": (
        "class W(torch.nn.Module):\n"
        "    def __init__(self):\n        super().__init__(); self.net = net\n"
        "    def forward(self, x, y): return step(x, y)",
        "torch.export.export(W(), (example['x'], example['y']), strict=False)",
    ),
    "make_fx": (
        "from torch.fx.experimental.proxy_tensor import make_fx",
        "make_fx(step)(example['x'], example['y'])",
    ),
}


def time_tracer(setup: str, code: str, batch: int) -> float:
    """Seconds the code takes in a fresh process, after ``import torch`` and ``setup``."""
    program = (
        "import time, torch\n"
        + MLP.replace("BATCH", str(batch))
        + setup
        + "\nstart = time.perf_counter()\n"
        + code
        + "\nprint(time.perf_counter() - start)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=600
    )
    return float(out.stdout.strip().splitlines()[-1])


def training_steps(batch: int, dtype_name: str, steps: int) -> dict[str, list[float]]:
    import torch

    import symgrad

    namespace: dict = {}
    exec(MLP.replace("BATCH", str(batch)), namespace)  # our own model code
    net, step, example = namespace["net"], namespace["step"], namespace["example"]
    dtype = getattr(torch, dtype_name)
    net.to(dtype)
    example = {k: v.to(dtype) for k, v in example.items()}
    m = symgrad.from_torch(step, example)
    d = symgrad.derive(m)
    loss_fn = symgrad.compile(d, "torch").as_autograd_function()
    parameters = {name: m.origin.bindings[name] for name in d.wrt}

    def through_symgrad(optimizer):
        loss = loss_fn(**example, **parameters)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    def through_autograd(optimizer):
        loss = step(**example)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    contenders = {"symgrad autograd.Function": through_symgrad, "torch autograd": through_autograd}
    start = {k: v.detach().clone() for k, v in net.state_dict().items()}
    optimizers = {}
    for name in contenders:
        net.load_state_dict(start)
        optimizers[name] = torch.optim.Adam(net.parameters(), lr=1e-3)
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(3):  # warm up
        for name, run in contenders.items():
            run(optimizers[name])
    for _ in range(steps):
        for name, run in contenders.items():
            began = time.perf_counter()
            run(optimizers[name])
            times[name].append(time.perf_counter() - began)
    return times


def same_gradient(batch: int) -> float:
    """The largest difference between symgrad's gradient and autograd's, float64."""
    import torch

    import symgrad

    namespace: dict = {}
    exec(MLP.replace("BATCH", str(batch)), namespace)  # our own model code
    step, example = namespace["step"], namespace["example"]
    m = symgrad.from_torch(step, example)
    d = symgrad.derive(m)
    _, ours = symgrad.compile(d)(**d.example)
    _, theirs = m.origin.gradients(step, d.example, d.wrt)
    return max(float(abs(torch.as_tensor(ours[n]) - theirs[n]).max()) for n in d.wrt)


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--tracers", default=";".join(TRACERS))
    parser.add_argument("--output", default=str(RESULTS / "from_torch.md"))
    args = parser.parse_args(argv)
    tracing = {name: time_tracer(*TRACERS[name], args.batch) for name in args.tracers.split(";")}
    difference = same_gradient(args.batch)
    lines = [
        f"3-layer MLP (64→128→128→10, ReLU, MSELoss), batch {args.batch}, CPU.",
        "",
        "| reading the code | seconds after import torch (fresh process) |",
        "|---|---|",
        *(f"| {name} | {seconds:.3f} s |" for name, seconds in tracing.items()),
        "",
        f"Largest difference between symgrad's gradient and autograd's (float64): {difference:.1e}",
        "",
        "| training step (forward, backward, Adam) | median (min–max) | time / torch autograd |",
        "|---|---|---|",
    ]
    data = {"batch": args.batch, "tracing": tracing, "difference": difference, "steps": {}}
    for dtype in ("float32", "float64"):
        times = training_steps(args.batch, dtype, args.steps)
        data["steps"][dtype] = times
        base = statistics.median(times["torch autograd"])
        for name, values in times.items():
            median = statistics.median(values)
            lines.append(
                f"| {name}, {dtype} | {median * 1e3:.2f} ms ({min(values) * 1e3:.2f}–"
                f"{max(values) * 1e3:.2f} ms) | {median / base:.2f}× |"
            )
    table = "\n".join(lines) + "\n"
    Path(args.output).write_text(table, encoding="utf-8")
    Path(args.output).with_suffix(".json").write_text(json.dumps(data), encoding="utf-8")
    print(table)
    return table


if __name__ == "__main__":
    main()
