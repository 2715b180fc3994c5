"""symgrad.verify and `symgrad verify`: the report, someone else's gradient, domains, the
Hypothesis strategies, scale, and one clear line for bad input."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import symgrad
from symgrad import Model, bce, log, sigmoid, sqrt, strategies
from symgrad.checking.points import domains_of
from symgrad.cli import main
from symgrad.errors import SymgradError

from .conftest import EXAMPLES, example_path, load_example

EXAMPLE_FILES = sorted(path.name for path in EXAMPLES.glob("*.py"))
SEED003 = example_path("seed003_two_layer_sigmoid.py")
SEED004 = example_path("seed004_relu_mlp.py")
BACKPROP = str(EXAMPLES / "gradients" / "seed003_backprop.py")
MANUAL004 = str(EXAMPLES / "gradients" / "seed004_manual.py")


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


# --- every example, from the command line ----------------------------------------------------


@pytest.mark.parametrize("example", EXAMPLE_FILES)
def test_verify_passes_on_every_example_with_a_row_per_parameter(example):
    result = run("verify", example_path(example), "--points", "3")
    assert result.exit_code == 0, result.output
    assert "all gradients agree" in result.output
    derivation = symgrad.derive(load_example(example))
    table = result.output.split("\n\n")[1].splitlines()
    assert table[0].split()[:2] == ["variable", "shape"]
    assert [line.split()[0] for line in table[2:]] == list(derivation.wrt)
    assert all(line.rstrip().endswith("ok") for line in table[2:])


def test_a_hand_written_backward_with_one_slip_exits_1_naming_parameter_node_and_pattern():
    right = run("verify", SEED003, "--against", f"{BACKPROP}:backprop")
    assert right.exit_code == 0, right.output
    wrong = run("verify", SEED003, "--against", f"{BACKPROP}:backprop_with_a_slip")
    assert wrong.exit_code == 1
    lines = [line for line in wrong.output.splitlines() if line.startswith("- mismatch")]
    assert [line.split()[2] for line in lines] == ["∂L/∂W1", "∂L/∂W2", "∂L/∂b1"]
    for line in lines:
        assert "sign flipped" in line
        assert "first wrong node sigma1 (or z1" in line
    assert "3 of 9 gradients wrong (W1, W2, b1)" in wrong.output


def test_the_lecture_s_own_manual_backward_of_seed_004_verifies():
    result = run("verify", SEED004, "--against", f"{MANUAL004}:backward", "--points", "2")
    assert result.exit_code == 0, result.output


def test_json_report():
    result = run("verify", SEED003, "--points", "2", "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["ok"] is True and data["model"] == "two_layer_sigmoid"
    assert data["points"] == ["the example", "random point 1", "random point 2"]
    assert [v["name"] for v in data["variables"]] == [
        "W1",
        "W2",
        "W3",
        "W4",
        "W5",
        "W6",
        "b1",
        "b2",
        "b3",
    ]
    assert all(v["verdict"] == "ok" for v in data["variables"])
    assert data["checked"] == ["numpy", "torch"]
    wrong = json.loads(
        run("verify", SEED003, "--against", f"{BACKPROP}:backprop_with_a_slip", "--json").output
    )
    assert wrong["ok"] is False
    finding = next(f for f in wrong["findings"] if f["kind"] == "mismatch")
    assert finding["variable"] == "W1" and finding["node"] == "sigma1"
    assert finding["pattern"] == "sign flipped" and finding["alternatives"] == ["z1"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--against", "no_colon"], "--against expects FILE:FUNCTION"),
        (["--against", "missing.py:f"], "missing.py: no such file"),
        (["--against", f"{BACKPROP}:nope"], "no function 'nope' (it defines backprop"),
        (["--against", f"{BACKPROP}:np"], "'np' is a module, not a function"),
        (["--dtype", "float16"], "Invalid value for '--dtype'"),
        (["--points", "-1"], "Invalid value for '--points'"),
    ],
)
def test_bad_usage_exits_2_with_one_line(args, message):
    result = run("verify", SEED003, *args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_gradient_that_fails_or_returns_the_wrong_thing_is_named(tmp_path):
    module = tmp_path / "grads.py"
    module.write_text(
        "def broken(**values):\n    raise ValueError('shapes do not match')\n"
        "def partial(**values):\n    return {'W1': 0.0}\n"
        "def short(**values):\n    return (0.0, 1.0)\n"
    )
    broken = run("verify", SEED003, "--against", f"{module}:broken")
    assert broken.exit_code == 2
    assert "broken failed when called with the model's values" in broken.output
    assert "ValueError: shapes do not match" in broken.output
    partial = run("verify", SEED003, "--against", f"{module}:partial")
    assert partial.exit_code == 2 and "partial returned no gradient for W2, W3" in partial.output
    short = run("verify", SEED003, "--against", f"{module}:short")
    assert short.exit_code == 2 and "short returned 2 gradients; expected 9" in short.output


def test_cuda_device_is_refused_cleanly_without_a_gpu():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: see test_verify_on_cuda")
    result = run("verify", SEED003, "--device", "cuda")
    assert result.exit_code == 2
    assert "PyTorch sees no CUDA device" in result.output


def test_verify_on_cuda():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    for dtype in ("float64", "float32"):
        report = symgrad.verify(
            load_example("seed004_relu_mlp.py"), device="cuda", dtype=dtype, points=2
        )
        assert report.ok, str(report)


@pytest.mark.slow  # a fresh virtual environment, or a verify long enough to show progress
def test_progress_bar_on_stderr_when_it_takes_longer_than_a_moment():
    env = {**os.environ, "SYMGRAD_PROGRESS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "symgrad.cli", "verify", SEED004, "--points", "20"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "verifying [" in done.stderr and "21/21 points" in done.stderr
    assert "verifying [" not in done.stdout


# --- the Python interface ------------------------------------------------------------------


def test_report_reads_as_a_table_and_as_json():
    report = symgrad.verify(load_example("seed003_two_layer_sigmoid.py"), points=2)
    assert report.ok
    assert set(report.rows) == set(symgrad.derive(load_example("seed003_two_layer_sigmoid.py")).wrt)
    data = json.loads(report.to_json())
    assert data["ok"] and len(data["points"]) == 3
    assert "vs autograd" in report.table()


def test_a_tuple_in_wrt_order_and_torch_tensors_are_accepted():
    torch = pytest.importorskip("torch")
    m = load_example("seed002_chain_rule.py")

    def as_tuple(x, y, w):
        return (2 * (x * w - y) * x,)

    def with_torch(x, y, w):
        if not isinstance(w, torch.Tensor):
            raise TypeError("this backward takes tensors")
        return {"w": 2 * (x * w - y) * x}

    assert symgrad.verify(m, against=as_tuple).ok
    assert symgrad.verify(m, against=with_torch).ok
    assert not symgrad.verify(m, against=lambda x, y, w: (4 * (x * w - y) * x,)).ok


def test_a_compiled_gradient_can_be_the_claim():
    d = symgrad.derive(load_example("seed003_two_layer_sigmoid.py"))
    assert symgrad.verify(d, against=symgrad.compile(d, "numpy"), points=2).ok
    pytest.importorskip("torch")
    assert symgrad.verify(d, against=symgrad.compile(d, "torch"), points=2, dtype="float32").ok


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    flat=st.integers(0, 1000 * 100 + 100 * 2 - 1),
    size=st.sampled_from([1e-2, -1e-2, 1.0]),
)
@pytest.mark.slow
def test_one_wrong_entry_anywhere_in_the_seed_004_gradient_is_caught_and_located(flat, size):
    d = _seed004()
    grad = symgrad.compile(d, "numpy")
    name, index = ("w1", np.unravel_index(flat, (1000, 100))) if flat < 100_000 else (
        "w2", np.unravel_index(flat - 100_000, (100, 2)))  # fmt: skip

    def wrong(**values):
        _, g = grad(**values)
        g = {k: np.array(v) for k, v in g.items()}
        g[name][index] += size * (abs(g[name][index]) + np.mean(np.abs(g[name])))
        return g

    report = symgrad.verify(d, against=wrong, points=0)
    assert not report.ok
    (finding,) = report.mismatches
    assert finding.variable == name and finding.entries == (tuple(map(int, index)),)
    assert (
        finding.pattern
        == f"1 of {d.variable(name).shape[0] * d.variable(name).shape[1]} entries wrong"
    )


_CACHE: dict = {}


def _seed004():
    if "d" not in _CACHE:
        _CACHE["d"] = symgrad.derive(load_example("seed004_relu_mlp.py"))
    return _CACHE["d"]


def test_an_undefined_point_is_labelled_not_called_a_mismatch():
    m = Model("log_loss")
    x = m.inputs("x")
    w = m.params("w")
    m.loss("L", log(w * x))
    m.example(x=1.0, w=-2.0)  # log of a negative number
    report = symgrad.verify(m, points=3)
    assert report.ok
    (undefined,) = [f for f in report.findings if f.kind == "undefined"]
    assert undefined.point == 0 and undefined.node == "L" and "log" in undefined.detail
    assert any("drawn again" in note for note in report.notes)


def test_verify_works_without_an_example():
    m = Model("no_example")
    x = m.inputs("x")
    w = m.params("w")
    m.loss("L", sigmoid(w * x) ** 2)
    report = symgrad.verify(m, points=4)
    assert report.ok and report.points[0] == "random point 1"
    with pytest.raises(SymgradError, match="no complete example point"):
        symgrad.verify(m, points=0)


def test_bad_options_raise_one_line_errors():
    m = load_example("seed002_chain_rule.py")
    with pytest.raises(SymgradError, match="dtype must be one of float64, float32"):
        symgrad.verify(m, dtype="float16")
    with pytest.raises(SymgradError, match="points must be a whole number"):
        symgrad.verify(m, points=-2)
    with pytest.raises(SymgradError, match="at= gives no value for w"):
        symgrad.verify(m, at=[{"x": 1.0, "y": 2.0}])
    with pytest.raises(SymgradError, match="against must be a callable"):
        symgrad.verify(m, against=42)


# --- domains and strategies ---------------------------------------------------------------------


def domain_model() -> Model:
    m = Model("domains")
    x = m.inputs("x", domain="positive")
    p, t = m.inputs("p t")
    s = m.params("s")
    r = m.params("r", domain=(-2, 3))
    m.loss("L", bce(p, t) + log(x) * s**2 + sqrt(r + 2))
    m.example(x=1.5, p=0.3, t=1.0, s=0.5, r=0.0)
    return m


def test_domains_come_from_declarations_and_from_what_expressions_need():
    domains = {k: str(v) for k, v in domains_of(symgrad.derive(domain_model())).items()}
    assert domains == {
        "x": "positive",
        "p": "probability",
        "t": "unit",
        "s": "real",
        "r": "[-2, 3]",
    }


@settings(max_examples=40, deadline=None)
@given(point=strategies.points(domain_model()))
def test_strategy_points_lie_inside_every_domain(point):
    domains = domains_of(symgrad.derive(domain_model()))
    for name, value in point.items():
        assert domains[name].contains(value), (name, value)


@settings(max_examples=10, deadline=None)
@given(point=strategies.points(load_example("seed003_two_layer_sigmoid.py")))
@example(  # σ₃ − y ≈ 8e-8 with σ₃ ≈ y ≈ 0.5: float32's rounding of σ₃ is half the difference
    point={
        **dict.fromkeys(["x1", "x2", "W1", "W2", "W3", "W4", "W5", "W6", "b1", "b2"], 0.0),
        "y": 0.49609375,
        "b3": -0.015625,
    }
)
def test_strategies_drive_verify_at_points_of_your_own(point):
    model = load_example("seed003_two_layer_sigmoid.py")
    report = symgrad.verify(model, at=[point], points=0)
    assert report.ok and report.points == ["given point 1"]  # that point, and only that one


def test_random_points_respect_declared_domains():
    report = symgrad.verify(domain_model(), points=30, seed=5)
    assert report.ok, str(report)
    assert "domains: x positive, p probability, t unit, r [-2, 3]" in report.notes


@pytest.mark.parametrize(
    ("declare", "message"),
    [
        (lambda m: m.inputs("x", domain="imaginary"), "unknown domain 'imaginary'"),
        (lambda m: m.params("w", domain=(3, 1)), "must be (low, high) with low < high"),
        (lambda m: m.params("w", domain=[0, 1]), "a domain is a name such as 'positive'"),
    ],
)
def test_bad_domains_are_refused_naming_the_declaration(declare, message):
    with pytest.raises(SymgradError, match=re.escape(message)) as error:
        declare(Model("bad"))
    assert "test_verify.py:" in error.value.where  # the declaration's own file and line


def test_an_example_outside_its_domain_is_refused():
    m = Model("outside")
    m.inputs("x", domain="positive")
    with pytest.raises(
        SymgradError, match="example value for 'x' lies outside its domain positive"
    ):
        m.example(x=-1.0)


def test_a_declared_domain_that_contradicts_the_expression_is_refused():
    m = Model("contradiction")
    x = m.inputs("x", domain="negative")
    m.loss("L", log(x))
    with pytest.raises(SymgradError, match="no value is both negative and positive"):
        symgrad.verify(m, points=2)


def test_a_wrong_rule_in_symgrad_itself_is_caught_by_its_own_witnesses():
    """verify on a derivation whose local gradient ∂σ₃/∂z₃ is wrong (as a bug in the rule
    table would make it): autograd and finite differences both side against the symbolic
    gradient, and the adjoints say where it goes wrong first."""
    pytest.importorskip("torch")
    from .support.mutations import with_local

    d = symgrad.derive(load_example("seed003_two_layer_sigmoid.py"))
    broken = with_local(d, "sigma3", "z3", lambda e: d.symbol("sigma3")).derivation
    report = symgrad.verify(broken, points=2)
    assert not report.ok
    assert {f.witness for f in report.mismatches} == {"autograd", "finite differences"}
    by_autograd = [f for f in report.mismatches if f.witness == "autograd"]
    assert all("the symbolic gradient is wrong" in f.detail for f in by_autograd)
    assert {f.node for f in by_autograd} == {"z3"}
    assert {f.variable for f in by_autograd} == set(d.wrt)


# --- found in review: each a way the verdict could have been wrong ---------------------------


def test_nothing_checked_is_not_a_pass():
    m = Model("log_shift")
    x = m.inputs("x")
    w = m.params("w")
    m.loss("L", log(w - 30) * x)  # w is drawn around 0: the loss is undefined almost everywhere
    m.example(x=1.0, w=0.5)
    report = symgrad.verify(m, against=lambda x, w: {"w": 123.0}, points=3)
    if report.checked_points == 0:
        assert not report.ok and "nothing checked" in report.summary()
    else:
        assert not report.ok  # some draw landed where the loss is finite: the claim is wrong there
    nan_point = symgrad.verify(
        m, against=lambda x, w: {"w": 1.0}, at=[{"x": 1.0, "w": 1.0}], points=0
    )
    assert not nan_point.ok and nan_point.checked_points == 0


def zero_gradient_model() -> Model:
    """L = sum(softmax(x + b)) is 1 whatever b is: ∂L/∂b is exactly 0 in theory, ~1e-16 in
    floating point."""
    m = Model("softmax_sum")
    x = m.input("x", shape=(1, 4))
    b = m.param("b", shape=(1, 4))
    w = m.params("w")
    m.loss("L", symgrad.sum(symgrad.softmax(x + b)) + w**2)
    m.example(x=[[0.1, -0.4, 2.0, 0.3]], b=[[0.0, 0.5, -0.5, 1.0]], w=0.7)
    return m


def test_a_gradient_that_is_zero_is_judged_on_its_neighbours_scale():
    m = zero_gradient_model()
    right = symgrad.verify(m, against=lambda x, b, w: {"b": np.zeros((1, 4)), "w": 2 * w}, points=5)
    assert right.ok, str(right)
    wrong = symgrad.verify(
        m, against=lambda x, b, w: {"b": np.full((1, 4), 0.01), "w": 2 * w}, points=5
    )
    assert not wrong.ok and {f.variable for f in wrong.mismatches} == {"b"}


def test_without_torch_finite_differences_still_catch_a_wrongly_zero_gradient(monkeypatch):
    """The symbolic side itself wrong (∂z2/∂b2 taken as 0) and no autograd: the finite
    differences resolve the real derivative and call it a mismatch, not noise."""
    import sympy

    from symgrad.checking import verify as verify_module  # the module, not the function

    from .support.mutations import with_local

    monkeypatch.setattr(verify_module, "torch_available", lambda: False)
    d = symgrad.derive(load_example("seed003_two_layer_sigmoid.py"))
    broken = with_local(d, "z2", "b2", lambda e: sympy.S.Zero).derivation
    report = symgrad.verify(broken, points=3)
    assert not report.ok
    assert {f.variable for f in report.mismatches} == {"b2"}
    assert {f.witness for f in report.mismatches} == {"finite differences"}
    assert "PyTorch is not installed" in report.notes[0]


def test_a_witness_dispute_of_the_oracle_does_not_fail_someone_else_s_right_gradient():
    """relu(w) − relu(−w) is w, but at w = 0 the subgradient convention relu'(0) = 0 makes the
    symbolic derivative 0 there. A claim of 1 is right; the report says the oracle is disputed."""
    from symgrad import relu

    m = Model("two_relus")
    w = m.params("w")
    m.loss("L", relu(w) - relu(-w))
    m.example(w=0.0)
    report = symgrad.verify(m, against=lambda w: {"w": 1.0}, points=5)
    assert report.ok, str(report)
    assert report.disputes and "disputes the symbolic gradient" in report.summary()
    own = symgrad.verify(m, points=0)  # checking symgrad's own code, the same dispute fails it
    assert not own.ok


@pytest.mark.slow
def test_the_lecture_s_backward_at_a_dead_unit_is_a_kink_not_a_mismatch():
    m = load_example("seed004_relu_mlp.py")
    point = {k: np.array(v) for k, v in m.example_point.items()}
    point["w1"][:, 7] = 0  # hidden unit 7 is relu(0) for every sample
    import runpy

    backward = runpy.run_path(MANUAL004)["backward"]
    report = symgrad.verify(m, against=backward, at=[point], points=0)
    assert report.ok, str(report)
    assert any(f.kind == "non-differentiable point" and f.variable == "w1" for f in report.findings)


def test_a_claim_that_updates_its_arguments_in_place_does_not_move_the_example():
    m = load_example("seed002_chain_rule.py")
    before = dict(m.example_point)

    def sgd_inside(x, y, w):
        g = 2 * (x * w - y) * x
        w -= 0.1 * g  # a float: rebinding; the array case below mutates
        return {"w": g}

    def mutates(x, y, w):
        g = np.asarray(2 * (x * w - y) * x)
        if isinstance(w, np.ndarray):
            w -= 0.1 * g
        return {"w": g}

    assert symgrad.verify(m, against=sgd_inside, points=2).ok
    assert symgrad.verify(m, against=mutates, points=2).ok
    assert m.example_point == before


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        ({"w": [[1.0], [2.0, 3.0]]}, "not an array of numbers"),
        ({"w": "0.5"}, "not an array of numbers"),
        ({"w": 1 + 2j}, "complex gradient for w"),
    ],
)
def test_a_claim_returning_what_is_not_a_gradient_is_one_line(returned, message):
    m = load_example("seed002_chain_rule.py")
    with pytest.raises(SymgradError, match=message):
        symgrad.verify(m, against=lambda x, y, w: returned, points=0)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"device": "tpu"}, "device must be 'cpu' or 'cuda'"),
        ({"seed": None}, "seed must be a whole number"),
        ({"at": [{"x": "one", "y": 2.0, "w": 1.0}]}, "point 1 of at=: x must be a real number"),
        ({"at": [5]}, "point 1 of at= must be a dict"),
    ],
)
def test_bad_verify_options_are_one_line(options, message):
    with pytest.raises(SymgradError, match=re.escape(message)):
        symgrad.verify(load_example("seed002_chain_rule.py"), **options)


def test_float32_tolerance_does_not_swell_when_one_sample_sits_on_a_kink():
    """One sample of a batch within float32 rounding of relu's kink must not widen the
    tolerance of every entry: a claim 20% off is still caught."""
    from symgrad import relu

    m = Model("batch_relu")
    x, y = m.inputs("x y")
    w, b = m.params("w b")
    h = m.node("h", relu(w * x + b))
    m.loss("L", (h - y) ** 2)
    xs = np.array(
        [2.0, 3.0, 4.0, 1.0 + 1e-8]
    )  # w x + b: 1, 2, 3 and 1e-8, which float32 rounds to 0
    m.example(x=xs, y=np.array([0.5, 1.0, 2.0, 0.1]), w=1.0, b=-1.0)

    d = symgrad.derive(m)
    right = symgrad.compile(d)

    def off(**v):
        return {k: 1.2 * g for k, g in right(**v)[1].items()}

    report = symgrad.verify(d, against=off, points=0, dtype="float32")
    assert not report.ok, str(report)


def test_labels_of_one_hot_are_drawn_as_whole_numbers_in_range():
    """Random points for a vector of class labels (cross_entropy with integer targets, no domain
    declared): the classes 0..C-1, as one_hot and F.cross_entropy need. It was N(0, 1), and
    verify ended in torch's IndexError."""
    from symgrad.checking.points import random_point
    from symgrad.loader import load_model

    from .support.corpus import CORPUS

    d = symgrad.derive(load_model(str(CORPUS / "softmax_regression_labels.py")))
    assert domains_of(d)["labels"].values == (0.0, 1.0, 2.0)
    rng = np.random.default_rng(0)
    drawn = np.concatenate([random_point(d, rng)["labels"].ravel() for _ in range(50)])
    assert set(drawn) == {0.0, 1.0, 2.0}
    result = CliRunner().invoke(main, ["verify", str(CORPUS / "softmax_regression_labels.py")])
    assert result.exit_code == 0, result.output
    assert "labels 0..2" in result.output


def _sigmoid_regression():
    m = Model("regression")
    x = m.input("x", shape=(3, 2))
    w = m.param("w", shape=(2,))
    h = m.node("h", sigmoid(x @ w))
    m.loss("L", symgrad.sum_squares(h) / 2)
    m.example(random=0)
    return m


def _regression_gradient(x, w):
    h = 1 / (1 + np.exp(-(x @ w)))
    return {"w": x.T @ (h * h * (1 - h))}


def test_a_claim_that_changes_its_argument_in_place_is_a_wrong_gradient():
    def overwrites(x, w):
        gradient = _regression_gradient(x, w)  # right, but the caller's x is gone
        x[:] = 0.0
        return gradient

    m = _sigmoid_regression()
    assert symgrad.verify(m, against=_regression_gradient, points=2).ok
    report = symgrad.verify(m, against=overwrites, points=2)
    assert not report.ok
    assert "overwrites modifies its argument x in place" in report.summary()
    assert any(f.detail == "overwrites modifies its argument x in place" for f in report.mismatches)


def test_an_example_that_misses_a_value_is_not_checked_and_the_report_says_so():
    m = Model("partial")
    x, y = m.inputs("x y")
    w = m.params("w")
    m.loss("L", (sigmoid(w * x) - y) ** 2)
    m.example(x=1.0, w=0.5)
    report = symgrad.verify(m, points=2)
    assert report.ok and "the example" not in report.points
    assert "the example gives no value for y, so it was not checked" in report.notes


@pytest.mark.parametrize(
    "labels, shown",
    [(None, "labels = [0.4"), ([0, 1, 2, 7, 1, 0], "labels = [0, 1, 2, 7, …]")],
)
def test_class_labels_that_are_not_whole_numbers_below_c_are_one_line(labels, shown):
    m = Model("classifier")
    X = m.input("X", shape=(6, 3))
    y = m.input("labels", shape=(6,))  # no domain: cross_entropy says what it holds
    W = m.param("W", shape=(3, 4))
    m.loss("L", symgrad.cross_entropy(X @ W, y))
    rng = np.random.default_rng(0)
    given = {"labels": labels} if labels is not None else {"labels": rng.random(6) * 0.5 + 0.1}
    m.example(X=rng.normal(size=(6, 3)), W=rng.normal(size=(3, 4)), **given)
    for check in (symgrad.verify, lambda m: symgrad.rendering.worked_example(symgrad.derive(m))):
        with pytest.raises(SymgradError, match=re.escape(shown)) as error:
            check(m)
        assert "class labels (labels 0..3)" in str(error.value)
        assert "domain=('labels', 4)" in str(error.value)


def test_a_claim_computed_in_float32_judged_in_float64_is_said_to_be_float32_rounding():
    def in_float32(x, w):
        gradient = _regression_gradient(x.astype(np.float32), w.astype(np.float32))
        return {"w": gradient["w"].astype(np.float64)}

    m = _sigmoid_regression()
    report = symgrad.verify(m, against=in_float32, points=2)
    assert not report.ok  # in float64 it is a mismatch, and the report says why
    assert all("rerun with --dtype float32" in f.pattern for f in report.mismatches)
    assert symgrad.verify(m, against=in_float32, points=2, dtype="float32").ok


def test_a_loss_undefined_at_the_example_is_labelled_without_numpy_warnings(recwarn):
    m = Model("division")
    x = m.inputs("x")
    w = m.params("w")
    m.loss("L", x / (w - 1))
    m.example(x=1.0, w=1.0)  # 1/0
    report = symgrad.verify(m, points=2)
    assert any(f.kind == "undefined" and f.point == 0 for f in report.findings)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_a_report_and_a_compiled_gradient_display_briefly_in_jupyter():
    d = symgrad.derive(example_path("seed003_two_layer_sigmoid.py"))
    report = symgrad.verify(d, points=1)
    assert repr(report) == f"<Report {report.summary()}>"
    html = report._repr_html_()
    assert html.count("<tr>") == 1 + len(d.wrt)  # the header and one row per parameter
    assert html.count('color:#1a7f37;font-weight:bold">ok</td>') == len(d.wrt)
    compiled = symgrad.compile(d)
    assert len(repr(compiled)) < 200 and "two_layer_sigmoid" in repr(compiled)
    assert "<details><summary>source</summary>" in compiled._repr_html_()

    def wrong(**values):
        gradient = compiled(**values)[1]
        return {**gradient, "W5": 2 * gradient["W5"]}

    html = symgrad.verify(d, against=wrong, points=1)._repr_html_()
    assert 'color:#cf222e;font-weight:bold">MISMATCH</td>' in html and "<li>mismatch" in html


def test_gradients_too_small_to_be_normal_numbers_agree_when_they_agree_to_that_precision():
    # found by Hypothesis: ∂L/∂b2 ≈ 3.6e-312 (a subnormal, 12 bits) differs between symgrad's
    # code and autograd in the last bits; no relative rounding estimate covers that
    point = dict.fromkeys(["x1", "x2", "y", "W1", "W2", "W3", "W4", "b1"], 0.0)
    point.update(W5=1.0, W6=2.225073858507e-311, b2=1.0, b3=1.0)
    report = symgrad.verify(load_example("seed003_two_layer_sigmoid.py"), at=[point], points=0)
    assert report.ok, str(report)


def _biased_layer():
    m = Model("layer")
    X = m.input("X", shape=(4, 3))
    W = m.param("W", shape=(3, 4))
    b = m.param("b", shape=(4,))
    h = m.node("h", symgrad.tanh(X @ W + b))
    m.loss("L", symgrad.sum_squares(h))
    m.example(random=0)
    return m


def _layer_gradient(X, W, b, axis=0, transpose=False):
    h = np.tanh(X @ W + b)
    dz = 2 * h * (1 - h**2)  # ∂L/∂(XW + b), one row per sample
    dW = X.T @ dz
    return {"W": dW.T if transpose else dW, "b": dz.sum(axis=axis)}


def test_a_bias_gradient_summed_over_the_wrong_axis_is_named_as_such():
    m = _biased_layer()
    assert symgrad.verify(m, against=_layer_gradient, points=2).ok
    report = symgrad.verify(m, against=lambda X, W, b: _layer_gradient(X, W, b, 1), points=2)
    assert {(f.variable, f.pattern) for f in report.mismatches} == {
        (
            "b",
            "summed over the wrong axis: axis 1 of its 4×4 broadcast, where the gradient sums "
            "over axis 0",
        )
    }


def test_a_transposed_claim_shows_its_shape_in_the_table_not_an_error_size():
    m = _biased_layer()
    transposed = symgrad.verify(
        m, against=lambda X, W, b: _layer_gradient(X, W, b, transpose=True), points=1
    )
    assert {(f.variable, f.pattern) for f in transposed.mismatches} == {("W", "transposed")}
    header, rows = transposed.rows_text()
    row = dict(zip(header, rows[0], strict=True))
    assert (row["variable"], row["vs symbolic"], row["worst error"]) == ("W", "shape 4×3", "—")
    assert row["verdict"] == "MISMATCH"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda g: {**g, "bias": g["b"]}, "returned a gradient named bias, which is no variable"),
        (lambda g: {**g, "W": g["W"].astype(int)}, "returned an integer array (int64) for the "),
    ],
)
def test_a_claim_with_a_misspelt_name_or_an_integer_gradient_is_bad_input(change, message):
    m = _biased_layer()
    with pytest.raises(SymgradError, match=re.escape(message)):
        symgrad.verify(m, against=lambda X, W, b: change(_layer_gradient(X, W, b)), points=0)
    # a name the model declares but verify was not asked about is not a misspelling
    only_b = symgrad.derive(m, wrt=["b"])
    assert symgrad.verify(only_b, against=_layer_gradient, points=1).ok


def test_a_model_and_a_derivation_show_themselves_in_jupyter():
    m = load_example("seed004_relu_mlp.py")
    shown = m._repr_markdown_()
    assert shown.startswith("**Model** `relu_mlp`")
    assert r"$x \in \mathbf{R}^{32 \times 1000}$" in shown
    assert r"\mathrm{hidden} &= \operatorname{relu}(x\,w_{1})" in shown
    d = symgrad.derive(m)
    assert d._repr_markdown_() == symgrad.render(d, "markdown")
    assert d._repr_latex_().startswith("$$\n\\begin{aligned}")
