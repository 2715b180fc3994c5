"""PNG plots of the benchmark results (benchmarks/results/*.json), drawn with matplotlib."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no screen on a build machine
    import matplotlib.pyplot as plt

    return plt


def plot_evaluation(results: Path = RESULTS / "evaluation.json") -> Path:
    plt = _pyplot()
    data = json.loads(results.read_text())
    cases = list(data)
    contenders = sorted(
        {name for case in cases for name in data[case] if "gradient" in data[case][name]}
    )
    figure, axis = plt.subplots(figsize=(8, 4))
    width = 0.8 / max(len(contenders), 1)
    for k, name in enumerate(contenders):
        medians = [
            statistics.median(data[case][name]["gradient"])
            if "gradient" in data[case].get(name, {})
            else 0
            for case in cases
        ]
        axis.bar([i + k * width for i in range(len(cases))], medians, width, label=name)
    axis.set_yscale("log")
    axis.set_xticks([i + width * (len(contenders) - 1) / 2 for i in range(len(cases))], cases)
    axis.set_ylabel("gradient time, seconds (median, log scale)")
    axis.set_title("Gradient evaluation, float64, CPU")
    axis.legend()
    figure.tight_layout()
    out = results.with_suffix(".png")
    figure.savefig(out, dpi=120)
    plt.close(figure)
    return out


def plot_derivation(results: Path = RESULTS / "derivation.json") -> Path:
    plt = _pyplot()
    data = json.loads(results.read_text())
    depths = sorted(int(case) for case in data if case.isdigit())
    named = [
        statistics.median(n["derive_s"] + n["compile_s"] for n in data[str(d)]["named"])
        for d in depths
    ]
    substituted = [
        (d, data[str(d)]["substituted"]["diff_s"]) for d in depths if data[str(d)]["substituted"]
    ]
    figure, (time_axis, size_axis) = plt.subplots(1, 2, figsize=(10, 4))
    time_axis.plot(depths, named, "o-", label="symgrad derive + compile")
    if substituted:
        time_axis.plot(
            *zip(*substituted, strict=True), "s-", label="SymPy diff of the substituted loss"
        )
    time_axis.set_yscale("log")
    time_axis.set_xlabel("depth of the width-4 tanh MLP")
    time_axis.set_ylabel("seconds (log scale)")
    time_axis.legend()
    size_axis.plot(depths, [data[str(d)]["named"][0]["ops"] for d in depths], "o-", label="symgrad")
    sizes = [(d, data[str(d)]["substituted"]["ops"]) for d in depths if data[str(d)]["substituted"]]
    if sizes:
        size_axis.plot(*zip(*sizes, strict=True), "s-", label="substituted")
    size_axis.set_yscale("log")
    size_axis.set_xlabel("depth")
    size_axis.set_ylabel("gradient size, operations (log scale)")
    size_axis.legend()
    figure.tight_layout()
    out = results.with_suffix(".png")
    figure.savefig(out, dpi=120)
    plt.close(figure)
    return out


def plot_verification(results: Path = RESULTS / "verification.json") -> Path:
    """Time of each check (log scale), each bar labelled with how often it judged right."""
    plt = _pyplot()
    rows = json.loads(results.read_text())
    figure, axis = plt.subplots(figsize=(9, 4))
    labels = [f"{r['checker']}\n{r['case']}" for r in rows]
    colours = ["tab:green" if r["right"] == r["runs"] else "tab:red" for r in rows]
    axis.barh(range(len(rows)), [r["seconds"] for r in rows], color=colours)
    for i, r in enumerate(rows):
        axis.text(r["seconds"], i, f"  {r['right']}/{r['runs']} right", va="center", fontsize=8)
    axis.set_yticks(range(len(rows)), labels, fontsize=7)
    axis.invert_yaxis()
    axis.set_xscale("log")
    axis.set_xlabel("seconds per check (median, log scale); red: a false alarm or a miss")
    figure.tight_layout()
    out = results.with_suffix(".png")
    figure.savefig(out, dpi=120)
    plt.close(figure)
    return out


PLOTS = {
    "evaluation": plot_evaluation,
    "derivation": plot_derivation,
    "verification": plot_verification,
}
