"""The full Hessian of L2-regularised logistic regression (500 samples × 50 features, and a
bias): symgrad's closed form beside its Hessian-vector products column by column,
``torch.func.hessian``, ``jax.jit(jax.hessian)`` and the textbook formula in NumPy, in one run.

    python -m benchmarks.hessian [--samples 500] [--features 50] [--repeat 100] [--output FILE]

L = mean BCE(σ(Xw + b), y) + λ/2 ‖w‖², λ = 0.1; the Hessian over (w, b) flattened is
X̃ᵀ diag(p(1 − p)) X̃/N + diag(λ, …, λ, 0) with X̃ = [X 1]. Every contender runs in a process of
its own, and its matrix is checked against that formula before it is timed. Medians and
min–max over ``--repeat`` calls after one warm-up call (which includes jax's compilation);
written to benchmarks/results/hessian.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
LAMBDA = 0.1


def problem(samples: int, features: int, seed: int = 0):
    from symgrad import Model, bce, mean, sigmoid, sum_squares

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(samples, features)) / np.sqrt(features)
    y = (rng.random((samples, 1)) < 0.5).astype(np.float64)
    w = rng.normal(size=(features, 1))
    b = np.float64(0.3)
    m = Model("logistic_regression_l2")
    Xs = m.input("X", shape=(samples, features))
    ys = m.input("y", shape=(samples, 1), domain="binary")
    ws = m.param("w", shape=(features, 1))
    bs = m.param("b")
    p = m.node("p", sigmoid(Xs @ ws + bs))
    m.loss("L", mean(bce(p, ys)) + LAMBDA / 2 * sum_squares(ws))
    return m, {"X": X, "y": y, "w": w, "b": b}


def textbook(values) -> np.ndarray:
    X, w, b = values["X"], values["w"], values["b"]
    with_bias = np.hstack([X, np.ones((len(X), 1))])
    p = 1 / (1 + np.exp(-(X @ w + b)))
    ridge = np.diag([LAMBDA] * X.shape[1] + [0.0])
    return with_bias.T @ (p * (1 - p) * with_bias) / len(X) + ridge


def contenders(samples: int, features: int):
    import symgrad

    m, values = problem(samples, features)
    order = symgrad.hessian(m)
    compiled = order.compile("numpy")
    size = features + 1

    def columns():
        out = np.empty((size, size))
        for j in range(size):
            unit = np.zeros(size)
            unit[j] = 1.0
            hv = compiled.hvp({"w": unit[:features].reshape(-1, 1), "b": unit[features]}, **values)
            out[:, j] = np.concatenate([np.ravel(hv["w"]), np.ravel(hv["b"])])
        return out

    out = {
        "symgrad closed form (NumPy)": lambda: compiled.hessian(**values),
        "symgrad H·v column by column": columns,
        "textbook formula, NumPy by hand": lambda: textbook(values),
    }
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        X, y = torch.tensor(values["X"]), torch.tensor(values["y"])

        def loss_torch(theta):
            p = torch.sigmoid(X @ theta[:features].reshape(-1, 1) + theta[features])
            bce = -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()
            return bce + LAMBDA / 2 * (theta[:features] ** 2).sum()

        theta = torch.tensor(np.append(values["w"].ravel(), values["b"]))
        hessian = torch.func.hessian(loss_torch)
        out["torch.func.hessian"] = lambda: hessian(theta).numpy()
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        jax = None
    if jax is not None:
        jax.config.update("jax_enable_x64", True)
        Xj, yj = jnp.asarray(values["X"]), jnp.asarray(values["y"])

        def loss_jax(theta):
            p = jax.nn.sigmoid(Xj @ theta[:features].reshape(-1, 1) + theta[features])
            bce = -(yj * jnp.log(p) + (1 - yj) * jnp.log(1 - p)).mean()
            return bce + LAMBDA / 2 * jnp.sum(theta[:features] ** 2)

        thetaj = jnp.asarray(np.append(values["w"].ravel(), values["b"]))
        hessian_jit = jax.jit(jax.hessian(loss_jax))
        out["jax.jit(jax.hessian)"] = lambda: np.asarray(hessian_jit(thetaj).block_until_ready())
    return out, textbook(values)


def time_contender(name: str, samples: int, features: int, repeat: int) -> list[float]:
    """One contender's call times, after a warm-up call checked against the formula."""
    calls, want = contenders(samples, features)
    call = calls[name]
    got = call()
    error = float(np.abs(got - want).max() / np.abs(want).max())
    assert error < 1e-12, (name, error)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument("--output", default=str(RESULTS / "hessian.md"))
    parser.add_argument("--contender", help=argparse.SUPPRESS)  # the child process's own
    args = parser.parse_args(argv)
    if args.contender:
        print(json.dumps(time_contender(args.contender, args.samples, args.features, args.repeat)))
        return ""
    names, _ = contenders(2 * args.features, args.features)  # which are installed
    times: dict[str, list[float]] = {}
    for name in names:  # each in a process of its own: torch's idle threads spin a while
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.hessian", "--contender", name,
             "--samples", str(args.samples), "--features", str(args.features),
             "--repeat", str(args.repeat)],
            capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parent.parent,
        )  # fmt: skip
        times[name] = json.loads(done.stdout.strip().splitlines()[-1])
    basis = "jax.jit(jax.hessian)" if "jax.jit(jax.hessian)" in times else None
    base = statistics.median(times[basis or "textbook formula, NumPy by hand"])
    basis = basis or "the textbook formula"
    size = args.features + 1
    lines = [
        f"L2-regularised logistic regression, {args.samples} × {args.features} (Hessian "
        f"{size} × {size}), float64, CPU, {args.repeat} calls each after a checked warm-up, "
        "each contender in a process of its own; every matrix equals the textbook closed "
        "form to 1e-12 relative.",
        "",
        f"| Hessian | median (min–max) | time / {basis} |",
        "|---|---|---|",
    ]
    for name, values in times.items():
        median = statistics.median(values)
        lines.append(
            f"| {name} | {_ms(median)} ({_ms(min(values))}–{_ms(max(values))}) | "
            f"{median / base:.2f}× |"
        )
    table = "\n".join(lines) + "\n"
    Path(args.output).write_text(table, encoding="utf-8")
    print(table)
    return table


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f} ms"


if __name__ == "__main__":
    main()
