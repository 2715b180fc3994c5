"""Smoke runs of the benchmarks (tiny sizes, one repetition) so they cannot rot, and the size
property that makes the named-node derivation scale: it grows linearly with depth."""

import itertools

import pytest
import sympy

import symgrad
from benchmarks import derivation
from benchmarks.models import tanh_mlp, wide_scalar_model


def named_ops(depth):
    d = symgrad.derive(tanh_mlp(depth))
    return sum(sympy.count_ops(x.expr) for x in d.locals) + sum(
        sympy.count_ops(a.expr) for a in d.adjoints
    )


def test_named_node_derivation_grows_linearly_with_depth():
    sizes = [named_ops(depth) for depth in (1, 2, 3, 4)]
    steps = {b - a for a, b in itertools.pairwise(sizes)}
    assert len(steps) == 1, sizes  # the same number of operations added per layer


@pytest.mark.slow
def test_derivation_benchmark_smoke(tmp_path):
    output = tmp_path / "derivation.md"
    table = derivation.main(
        ["--cases", "1-2", "--timeout", "30", "--repeat", "1", "--output", str(output)]
    )
    assert output.read_text() == table
    assert table.count("\n| depth 1 |") == 1 and table.count("\n| depth 2 |") == 1
    pytest.importorskip("matplotlib")
    from benchmarks.plots import plot_derivation

    assert plot_derivation(output.with_suffix(".json")).stat().st_size > 0


def test_wide_model_builds_and_matches_its_example():
    m = wide_scalar_model(200)
    d = symgrad.derive(m)
    assert len(d.wrt) == 200
    _, g = symgrad.compile(d)(**d.example)
    assert len(g) == 200


@pytest.mark.slow
def test_evaluation_benchmark_smoke(tmp_path):
    from benchmarks import evaluation

    output = tmp_path / "evaluation.md"
    table = evaluation.main(
        ["--cases", "seed003-10", "--contenders", "symgrad-numpy,torch-autograd", "--repeat", "1",
         "--output", str(output)]
    )  # fmt: skip
    assert "| seed003-10 | symgrad-numpy |" in table and "failed" not in table
    pytest.importorskip("matplotlib")
    from benchmarks.plots import plot_evaluation

    assert plot_evaluation(output.with_suffix(".json")).stat().st_size > 0


@pytest.mark.slow
def test_verification_benchmark_smoke(tmp_path):
    pytest.importorskip("torch")
    from benchmarks import verification

    output = tmp_path / "verification.md"
    table = verification.main(
        ["--size", "small", "--trials", "2", "--repeat", "1", "--output", str(output)]
    )
    assert output.read_text() == table
    assert "| symgrad verify | one wrong entry (w1), float64 |" in table
    assert "| gradcheck slow | one wrong entry (w1), float64 |" in table
    # the wrong entry is caught by symgrad at every place it is put
    row = next(
        line for line in table.splitlines() if line.startswith("| symgrad verify | one wrong")
    )
    assert row.split("|")[5].strip() == "2/2" and "caught every time" in row
    pytest.importorskip("matplotlib")
    from benchmarks.plots import plot_verification

    assert plot_verification(output.with_suffix(".json")).stat().st_size > 0


def test_windows_benchmark_smoke(tmp_path):
    pytest.importorskip("torch")
    from benchmarks import windows

    output = tmp_path / "windows.md"
    table = windows.main(["--batch", "2", "--repeat", "1", "--output", str(output)])
    assert output.read_text() == table
    assert "| symgrad-numpy |" in table and "| torch-autograd | " in table
    difference = float(table.split("from autograd: ")[1].split("\n")[0])
    assert difference < 1e-10  # every contender computes the same gradient


@pytest.mark.slow
def test_from_torch_benchmark_smoke(tmp_path):
    pytest.importorskip("torch")
    from benchmarks import from_torch

    output = tmp_path / "from_torch.md"
    table = from_torch.main(
        ["--batch", "8", "--steps", "1", "--tracers", "from_torch alone (symgrad imported)",
         "--output", str(output)]
    )  # fmt: skip
    assert output.read_text() == table
    assert "| from_torch alone (symgrad imported) |" in table
    assert "| symgrad autograd.Function, float64 |" in table
    difference = float(table.split("(float64): ")[1].split()[0])
    assert difference < 1e-12, table  # the same gradient as autograd, or the times mean nothing


@pytest.mark.slow
def test_warm_verify_benchmark_smoke(tmp_path):
    pytest.importorskip("torch")
    from benchmarks import warm_verify

    table = warm_verify.main(["--repeat", "1", "--output", str(tmp_path / "warm.md")])
    assert "| symgrad verify (11 points) |" in table and "| gradcheck slow (1 point) |" in table


@pytest.mark.slow
def test_verify_scaling_benchmark_smoke(tmp_path):
    pytest.importorskip("torch")
    from benchmarks import verify_scaling

    table = verify_scaling.main(["--sizes", "3", "--output", str(tmp_path / "scaling.md")])
    assert "| 3 | symgrad verify (derive included, 3 points) |" in table
    assert "| 3 | gradcheck slow (1 point) |" in table


@pytest.mark.slow
def test_hessian_benchmark_smoke(tmp_path):
    """Every contender's Hessian of a small logistic regression equals the textbook formula
    (the benchmark asserts it before timing)."""
    from benchmarks import hessian

    output = tmp_path / "hessian.md"
    table = hessian.main(
        ["--samples", "40", "--features", "6", "--repeat", "2", "--output", str(output)]
    )
    assert output.read_text() == table
    assert (
        "| symgrad closed form (NumPy) |" in table and "| symgrad H·v column by column |" in table
    )


@pytest.mark.slow
def test_derive_command_benchmark_smoke(tmp_path):
    from benchmarks import derive_command

    output = tmp_path / "derive_command.md"
    table = derive_command.main(
        ["--nodes", "5,10", "--repeat", "1", "--no-transformer", "--output", str(output)]
    )
    assert output.read_text() == table
    assert "| tanh chain, 10 nodes | `derive --json` |" in table and "(1 is linear)" in table
