"""Gradient evaluation speed: symgrad's generated NumPy and Torch code beside torch autograd
(and jax.jit, when JAX is installed), each contender in its own process, on the same inputs.

    python -m benchmarks.evaluation [--cases seed003-1,seed003-1000,seed003-1000000,
                                             seed003-1000000+kept,seed004]
                                    [--repeat 30] [--output benchmarks/results/evaluation.md]

Every contender is warmed up, then timed call by call; the table gives the median and the
min–max of the gradient time, the gradient/forward ratio, and the ratio to torch autograd.
float64, CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
CONTENDERS = (
    "symgrad-numpy",
    "symgrad-numpy-call",
    "symgrad-torch",
    "symgrad-torch-jit",
    "torch-autograd",
    "jax-jit",
)


# --- the cases: a model file, its inputs, and the same loss in torch and jax ---------------------


# glibc returns freed blocks over its mmap threshold to the system and faults them in again on
# the next allocation; at batch 10⁶ every 8 MB temporary pays that, and which contender pays
# most depends on its allocation pattern. A case ending in "+kept" runs every contender with
# glibc told to keep freed memory, which shows the arithmetic apart from the page faults.
KEEP_MEMORY = {"MALLOC_MMAP_THRESHOLD_": str(2**32), "MALLOC_TRIM_THRESHOLD_": str(2**32)}


def base_case(case: str) -> str:
    return case.removesuffix("+kept")


def case_inputs(case: str) -> dict[str, np.ndarray | float]:
    case = base_case(case)
    rng = np.random.default_rng(0)
    if case == "seed004":
        return {
            "x": rng.standard_normal((32, 1000)),
            "y": rng.standard_normal((32, 2)),
            "w1": rng.standard_normal((1000, 100)),
            "w2": rng.standard_normal((100, 2)),
        }
    batch = int(case.split("-")[1])
    point = {"W1": 0.4352, "W2": 0.3545, "W3": 0.1951, "W4": 0.4835, "W5": -0.1725, "W6": 0.1129,
             "b1": -0.1419, "b2": 0.0439, "b3": -0.3043}  # fmt: skip
    if batch == 1:  # Python floats, as a caller with one sample has them
        return {"x1": 1.0, "x2": 1.0, "y": 0.0, **point}
    return {
        "x1": rng.standard_normal(batch),
        "x2": rng.standard_normal(batch),
        "y": rng.integers(0, 2, batch).astype(float),
        **point,
    }


def model_file(case: str) -> str:
    case = base_case(case)
    name = "seed004_relu_mlp.py" if case == "seed004" else "seed003_two_layer_sigmoid.py"
    return str(ROOT / "examples" / name)


def torch_loss(case: str):
    import torch

    case = base_case(case)
    if case == "seed004":
        return lambda v: ((torch.relu(v["x"] @ v["w1"]) @ v["w2"] - v["y"]) ** 2).sum()

    def loss(v):
        z1 = v["W1"] * v["x1"] + v["W2"] * v["x2"] + v["b1"]
        z2 = v["W3"] * v["x1"] + v["W4"] * v["x2"] + v["b2"]
        s3 = torch.sigmoid(v["W5"] * torch.sigmoid(z1) + v["W6"] * torch.sigmoid(z2) + v["b3"])
        return (-(v["y"] * torch.log(s3) + (1 - v["y"]) * torch.log(1 - s3))).sum()

    return loss


def jax_loss(case: str):
    import jax.numpy as jnp
    from jax.nn import relu, sigmoid

    case = base_case(case)
    if case == "seed004":
        return lambda v: ((relu(v["x"] @ v["w1"]) @ v["w2"] - v["y"]) ** 2).sum()

    def loss(v):
        z1 = v["W1"] * v["x1"] + v["W2"] * v["x2"] + v["b1"]
        z2 = v["W3"] * v["x1"] + v["W4"] * v["x2"] + v["b2"]
        s3 = sigmoid(v["W5"] * sigmoid(z1) + v["W6"] * sigmoid(z2) + v["b3"])
        return (-(v["y"] * jnp.log(s3) + (1 - v["y"]) * jnp.log(1 - s3))).sum()

    return loss


# --- one contender, in this process --------------------------------------------------------------


def contender(case: str, name: str):
    """(gradient(), forward()) closures for ``name`` on ``case``, inputs bound."""
    values = case_inputs(case)
    if name.startswith("symgrad"):
        import symgrad
        from symgrad.loader import load_model

        derivation = symgrad.derive(load_model(model_file(case)))
        backend = name.split("-")[1]
        jit = name.endswith("-jit")  # torch.compile; its compiling happens in the warm-up
        compiled = symgrad.compile(derivation, backend, reduction="sum", jit=jit)
        args = [values[a] for a in compiled.arguments]
        if backend == "torch":
            import torch

            args = [torch.as_tensor(a, dtype=torch.float64) for a in args]
        if name.endswith("-call"):  # the documented call, by keyword: g(**values)
            named = dict(zip(compiled.arguments, args, strict=True))
            return (lambda: compiled(**named)), (lambda: compiled.forward(**named))
        gradient, forward = compiled.function, compiled.forward_function
        return (lambda: gradient(*args)), (lambda: forward(*args))
    if name == "torch-autograd":
        import torch

        loss = torch_loss(case)
        wrt = [k for k in values if k.startswith(("w", "W", "b"))]
        tensors = {k: torch.as_tensor(v, dtype=torch.float64) for k, v in values.items()}
        leaves = {k: tensors[k].clone().requires_grad_(k in wrt) for k in tensors}

        def gradient():
            value = loss(leaves)
            return value, torch.autograd.grad(value, [leaves[k] for k in wrt])

        def forward():
            with torch.no_grad():
                return loss(tensors)

        return gradient, forward
    if name == "jax-jit":
        import jax

        jax.config.update("jax_enable_x64", True)
        loss = jax_loss(case)
        wrt = [k for k in values if k.startswith(("w", "W", "b"))]
        data = {k: v for k, v in values.items() if k not in wrt}
        params = {k: values[k] for k in wrt}
        grad = jax.jit(jax.value_and_grad(lambda p, d: loss({**p, **d})))
        fwd = jax.jit(lambda p, d: loss({**p, **d}))
        return (lambda: jax.block_until_ready(grad(params, data))), (
            lambda: jax.block_until_ready(fwd(params, data))
        )
    raise ValueError(name)


def timings(function, repeat: int) -> list[float]:
    for _ in range(max(3, repeat // 5)):  # warm-up: caches, JIT, allocator
        function()
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        out.append(time.perf_counter() - start)
    return out


def measure(case: str, name: str, repeat: int) -> dict:
    gradient, forward = contender(case, name)
    g, f = timings(gradient, repeat), timings(forward, repeat)
    return {"gradient": g, "forward": f}


def run_isolated(case: str, name: str, repeat: int, timeout: float = 600) -> dict | None:
    code = (
        "import json; from benchmarks.evaluation import measure; "
        f"print(json.dumps(measure({case!r}, {name!r}, {repeat})))"
    )
    env = {**os.environ, **(KEEP_MEMORY if case.endswith("+kept") else {})}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env,
    )  # fmt: skip
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["failed"])[-1]
        return {"error": reason}
    return json.loads(result.stdout.strip().splitlines()[-1])


def available(name: str) -> bool:
    module = {"jax-jit": "jax", "torch-autograd": "torch", "symgrad-torch": "torch",
              "symgrad-torch-jit": "torch"}.get(name)  # fmt: skip
    if module is None:
        return True
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cases", default="seed003-1,seed003-1000,seed003-1000000,seed003-1000000+kept,seed004"
    )
    parser.add_argument("--contenders", default=",".join(CONTENDERS))
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--output", default=str(RESULTS / "evaluation.md"))
    args = parser.parse_args(argv)

    rows, data = [], {}
    for case in args.cases.split(","):
        results = {}
        for name in args.contenders.split(","):
            if available(name):
                results[name] = run_isolated(case, name, args.repeat)
        data[case] = results
        reference = results.get("torch-autograd")
        ref_median = (
            statistics.median(reference["gradient"])
            if reference and "gradient" in reference
            else None
        )
        for name, result in results.items():
            if "error" in result:
                rows.append(f"| {case} | {name} | failed: {result['error']} | | | |")
                continue
            g, f = result["gradient"], result["forward"]
            median = statistics.median(g)
            ratio = f"{median / ref_median:.2f}×" if ref_median else "–"
            rows.append(
                f"| {case} | {name} | {_time(median)} ({_time(min(g))}–{_time(max(g))}) "
                f"| {median / statistics.median(f):.2f} | {ratio} |"
            )
            print(rows[-1], flush=True)
    table = "\n".join(
        [
            "# Gradient evaluation: generated code beside autograd",
            "",
            f"float64, CPU, {args.repeat} timed calls after warm-up, each contender in its own "
            "process; seed003-N is the note's network with its BCE loss summed over a batch of "
            "N (N = 1: Python floats), seed004 the note's ReLU MLP (x 32×1000, w1 1000×100). "
            "+kept: every contender run with glibc keeping freed memory "
            "(MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_), so that 8 MB temporaries are "
            "not page-faulted in afresh on every call.",
            "",
            "| case | contender | gradient, median (min–max) | gradient / forward "
            "| time / torch autograd |",
            "|---|---|---|---|---|",
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
