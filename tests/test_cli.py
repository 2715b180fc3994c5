"""The command line: derive and codegen on the examples, and one clear line for bad input."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import sympy
from click.testing import CliRunner

import symgrad
import symgrad.loader
from symgrad.cli import main

from .conftest import example_path

SEED003 = example_path("seed003_two_layer_sigmoid.py")
SEED002 = example_path("seed002_chain_rule.py")


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_derive_json_contract():
    result = run("derive", SEED003, "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert set(data) == {"model", "loss", "wrt", "point", "values", "gradient", "symbolic", "notes"}
    assert data["notes"] == []
    assert data["model"] == "two_layer_sigmoid" and data["loss"] == "L"
    assert data["wrt"] == ["W1", "W2", "W3", "W4", "W5", "W6", "b1", "b2", "b3"]
    printed = {"z1": 0.6478, "z2": 0.7225, "sigma1": 0.6565, "sigma2": 0.6732, "z3": -0.3415,
               "sigma3": 0.4154, "L": 0.5369}  # fmt: skip
    for name, value in printed.items():
        assert round(data["values"][name], 4) == value
    assert round(data["gradient"]["W5"], 4) == 0.2727
    assert data["point"]["W5"] == -0.1725
    # the closed forms are SymPy strings that evaluate to the gradient
    names = {"sigmoid": symgrad.sigmoid, "bce": symgrad.bce}
    for name, text in data["symbolic"].items():
        expr = sympy.sympify(text, locals=names)
        value = expr.subs({sympy.Symbol(k): v for k, v in data["point"].items()}).evalf()
        assert float(value) == pytest.approx(data["gradient"][name], rel=1e-12)


def test_derive_json_gives_no_closed_form_it_cannot_write_within_its_budget(monkeypatch):
    """A formula that takes too long is left out, saying so: the command still answers."""
    import symgrad.cli

    monkeypatch.setattr(symgrad.cli, "FORMULA_SECONDS", 0.0)
    result = run("derive", SEED003, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data["symbolic"].values()) == {None}
    assert "SYMGRAD_FORMULA_SECONDS" in data["notes"][0]
    assert round(data["gradient"]["W5"], 4) == 0.2727


def test_derive_text_shows_the_chain_for_every_parameter():
    result = run("derive", SEED003)
    assert result.exit_code == 0
    out = result.output
    assert "z₁ = W₁x₁ + W₂x₂ + b₁ = 0.4352 · 1 + 0.3545 · 1 + (−0.1419) = 0.6478" in out
    assert "∂σ₃/∂z₃ = σ₃(1 − σ₃) = 0.4154 · (1 − 0.4154) = 0.2428" in out
    assert "∂L/∂z₃ = ∂L/∂σ₃ · ∂σ₃/∂z₃ = 1.7107 · 0.2428 = 0.4154" in out
    for p in ["W₁", "W₂", "W₃", "W₄", "W₅", "W₆", "b₁", "b₂", "b₃"]:
        assert f"∂L/∂{p} = ∂L/∂z" in out, p
    assert "∂L/∂W₅ = ∂L/∂z₃ · ∂z₃/∂W₅ = 0.4154 · 0.6565 = 0.2727" in out


def test_derive_seed002_shows_the_lectures_chain():
    out = run("derive", SEED002).output
    assert "∂loss/∂s = 2s = 2 · (−1) = −2" in out
    assert "∂loss/∂ŷ = ∂loss/∂s · ∂s/∂ŷ = (−2) · 1 = −2" in out
    assert "∂loss/∂w = ∂loss/∂ŷ · ∂ŷ/∂w = (−2) · 1 = −2" in out


def test_at_wrt_and_digits():
    result = run("derive", SEED002, "--at", "x=2", "--at", "y=3", "--digits", "6", "--json")
    data = json.loads(result.output)
    assert data["point"] == {"x": 2.0, "y": 3.0, "w": 1.0}
    assert data["gradient"]["w"] == 2 * (2 * 1 - 3) * 2
    result = run("derive", SEED003, "--wrt", "W5,b3", "--json")
    assert json.loads(result.output)["wrt"] == ["W5", "b3"]


def test_symbolic_has_no_numbers():
    out = run("derive", SEED003, "--symbolic").output
    assert "0.4352" not in out and "σ₃(1 − σ₃)" in out


def test_codegen_writes_a_module(tmp_path):
    target = tmp_path / "grad.py"
    result = run("codegen", SEED003, "--backend", "numpy", "-o", target)
    assert result.exit_code == 0
    namespace = {}
    exec(target.read_text(), namespace)
    _, g = namespace["loss_and_grad"](
        1, 1, 0, 0.4352, 0.3545, 0.1951, 0.4835, -0.1725, 0.1129, -0.1419, 0.0439, -0.3043
    )
    assert round(float(g["W5"]), 4) == 0.2727
    stdout = run("codegen", SEED003, "--backend", "torch").output
    assert "import torch" in stdout and "def loss_and_grad" in stdout


# Every bad model file starts with these three lines, so its line numbers start at 4.
HEAD = "import sympy\nfrom symgrad import Model\nm = Model('m')\n"
BAD_MODELS = {
    "syntax": ("x = (1,\ny = 2\n", "syntax.py:4: syntax error"),
    "raises": ("q = 1 / 0\n", "raises.py:4: ZeroDivisionError: division by zero"),
    "no_model": ("del m\n", "no symgrad Model defined"),
    "two_models": ("b = Model('b')\n", "defines 2 models ('m', 'b'); choose one with --model NAME"),
    "undeclared": (
        "x = m.inputs('x')\nm.node('z', x + sympy.Symbol('q', real=True))\n",
        "undeclared.py:5: node 'z' uses q, which this model has not declared",
    ),
    "twice": (
        "x = m.inputs('x')\nm.node('z', x)\nm.node('z', 2 * x)\n",
        "twice.py:6: name 'z' is already declared as node at",
    ),
    "not_scalar": (
        "x = m.inputs('x')\nm.loss('L', [x, x])\n",
        "not_scalar.py:5: loss 'L' must be a scalar expression, got a list of 2 entries",
    ),
    "no_loss": ("x = m.inputs('x')\nm.node('z', x)\n", "model 'm' has no loss"),
    "no_rule": (
        "w = m.params('w')\nm.loss('L', sympy.gamma(w) * w)\nm.example(w=1.5)\n",
        "no_rule.py:5: loss 'L' uses gamma, which symgrad has no rule for",
    ),
    "undefined_function": (
        "w = m.params('w')\nm.loss('L', sympy.Function('f')(w))\n",
        "undefined_function.py:5: loss 'L' uses the undefined function f; declare a function",
    ),
    "lacks_value": (
        "x, y = m.inputs('x y')\nw = m.params('w')\nm.loss('L', (w * x - y) ** 2)\n"
        "m.example(x=1, w=2)\n",
        "has no value for 'y', needed by 'L'",
    ),
}


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "symgrad.cli", *map(str, args)], capture_output=True, text=True
    )


@pytest.mark.parametrize("case", sorted(BAD_MODELS))
def test_bad_model_files_give_one_line_and_exit_2(tmp_path, case):
    source, message = BAD_MODELS[case]
    path = tmp_path / f"{case}.py"
    path.write_text(HEAD + source)
    result = run_cli("derive", path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0], lines[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--at", "q=1"], "'q' is not an input or parameter of model 'chain_rule'"),
        (["--at", "x=abc"], "--at x: 'abc' is not a number"),
        (["--at", "x"], "--at expects NAME=VALUE, got 'x'"),
        (["--at", "x=nan"], "is not a finite number"),
        (["--wrt", "q"], "wrt: model 'chain_rule' has no input or parameter 'q'"),
        (["--model", "other"], "no model named 'other'"),
    ],
)
def test_bad_options_give_one_line_and_exit_2(args, message):
    result = run_cli("derive", SEED002, *args)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and message in result.stderr, result.stderr


def test_missing_file():
    result = run_cli("derive", "no/such/model.py")
    assert result.returncode == 2 and "no/such/model.py: no such file" in result.stderr


def test_model_option_picks_one_of_several(tmp_path):
    path = tmp_path / "two.py"
    path.write_text(
        textwrap.dedent(
            """
            from symgrad import Model
            a = Model("first")
            w = a.params("w")
            a.loss("L", w**2)
            a.example(w=3)
            b = Model("second")
            v = b.params("v")
            b.loss("L", v**3)
            b.example(v=2)
            """
        )
    )
    assert json.loads(run("derive", path, "--model", "second", "--json").output)["gradient"] == {
        "v": 12.0
    }
    assert json.loads(run("derive", path, "--model", "a", "--json").output)["gradient"] == {
        "w": 6.0
    }


def test_console_script_is_installed():
    result = subprocess.run(["symgrad", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and "symgrad" in result.stdout


def test_an_error_is_one_line_whatever_it_quotes():
    """A message that quotes a formula SymPy prints over several lines stays one line."""
    from symgrad.cli import one_line

    assert one_line("cannot use Matrix([\n[a, b],\n[c, d]])") == (
        "cannot use Matrix([ [a, b], [c, d]])"
    )
    assert one_line("two  spaces kept") == "two  spaces kept"


UNDEFINED = {  # a model whose loss has no value at its example
    "division by zero": ("x / (w - 1)", "x=2.0, w=1.0", "L = x/(w - 1) is inf at this point (w = 1, x = 2)"),
    "log of a negative": ("log(w * x)", "x=1.0, w=-2.0", "L = log(w*x) is nan at this point (w = -2, x = 1)"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(UNDEFINED))
def test_a_loss_undefined_at_the_example_is_one_line_and_exit_2(tmp_path, case):
    loss, example, said = UNDEFINED[case]
    path = tmp_path / "model.py"
    path.write_text(
        "from symgrad import Model, log\n"
        'm = Model("undefined")\nx = m.inputs("x")\nw = m.params("w")\n'
        f'm.loss("L", {loss})\nm.example({example})\n'
    )
    for command in (["derive"], ["derive", "--json"], ["derive", "--latex"]):
        result = CliRunner().invoke(main, [*command, str(path)])
        assert result.exit_code == 2, (command, result.output)
        assert said in result.output and "Traceback" not in result.output, result.output
        assert result.output.strip().count("\n") == 0, result.output
    # the compiled gradient itself follows NumPy on Python floats: inf or nan, no exception
    d = symgrad.derive(symgrad.loader.load_model(str(path)))
    with np.errstate(all="ignore"):
        value, _ = symgrad.compile(d)(**d.example)
    assert not np.isfinite(value)


def test_a_non_finite_example_value_is_refused_where_it_is_given(tmp_path):
    path = tmp_path / "model.py"
    path.write_text(
        'from symgrad import Model\nm = Model("nan")\nx = m.inputs("x")\nw = m.params("w")\n'
        'm.loss("L", (w * x) ** 2)\nm.example(x=float("nan"), w=1.0)\n'
    )
    result = CliRunner().invoke(main, ["derive", str(path)])
    assert result.exit_code == 2
    assert "model.py:6: example value for 'x' is not finite" in result.output, result.output


def test_a_shape_error_names_the_line_and_shows_the_operands_as_written(tmp_path):
    path = tmp_path / "model.py"
    path.write_text(
        "from symgrad import Model, sigmoid, sum_squares\n"
        'm = Model("shapes")\n'
        'X = m.input("X", shape=(4, 3))\n'
        'y = m.input("y", shape=(4, 3))\n'
        'W = m.param("W", shape=(2, 2))\n'
        'h = m.node("h", (sigmoid(X) - y) @ W)\n'
        'm.loss("L", sum_squares(h))\n'
    )
    result = CliRunner().invoke(main, ["derive", str(path)])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "model.py:6: matrix product (σ(X) − y) @ W: (σ(X) − y) is 4×3" in result.output
    assert "Lambda" not in result.output


OUTPUT_MISTAKES = {  # (arguments, what the one line says)
    "codegen into a missing folder": (["codegen", SEED003, "-o", "/no/such/dir/x.py"],
                                      "-o /no/such/dir/x.py: the folder /no/such/dir does not exist"),
    "graph into a missing folder": (["graph", SEED003, "-o", "/no/dir/x.svg"],
                                    "-o /no/dir/x.svg: the folder /no/dir does not exist"),
    "derive into a missing folder": (["derive", SEED003, "-o", "/no/dir/x.tex"],
                                     "-o /no/dir/x.tex: the folder /no/dir does not exist"),
    "two formats": (["derive", SEED003, "--latex", "--markdown"],
                    "--latex and --markdown: choose one format"),
    "two formats of the rule table": (["rules", "--latex", "--text"],
                                      "--text and --latex: choose one format"),
    "the rule table as JSON": (["rules", "-o", "rules.json"],
                               "-o rules.json: the rule table is text, Markdown or LaTeX"),
    "an unknown language": (["derive", SEED003, "--lang", "fr"],
                            "Invalid value for '--lang': 'fr' is not one of 'en', 'ko'"),
    "a module that is not Python": (["codegen", SEED003, "-o", "grad.txt"],
                                    "-o grad.txt: this command writes .py files, not .txt"),
    "a graph format Graphviz is not asked for": (["graph", SEED003, "-o", "graph.jpeg"],
                                                 "-o graph.jpeg: this command writes .dot, .gv"),
    "a negative number of points": (["verify", SEED003, "--points", "-1"],
                                    "Invalid value for '--points': -1 is not in the range x>=0"),
    "a misspelt command": (["derivee", SEED003], "No such command 'derivee'. Did you mean"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(OUTPUT_MISTAKES))
def test_an_output_mistake_is_one_line_naming_what_the_user_gave_and_exit_2(
    case, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    arguments, said = OUTPUT_MISTAKES[case]
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code == 2, result.output
    assert said in result.output, result.output
    assert result.output.strip().count("\n") == 0, result.output
    assert "Traceback" not in result.output and not any(tmp_path.iterdir()), result.output


NUMERIC_HABITS = {  # a model file's loss written with a function of numbers → what to write
    "math.tanh(w * x)": "use symgrad.tanh",
    "np.tanh(w * x)": "use symgrad.tanh",
    "torch.sigmoid(w * x)": "use symgrad.sigmoid (or symgrad.from_torch",
    "max(w * x, 0)": "use symgrad.maximum (or relu)",
    "(w if w * x < 0 else x)": "symgrad.where(condition, a, b)",
    # a bare symbol is true to Python: these would build another model without a word
    "(w * x and x)": "symgrad.where(condition, a, b)",
    "(w * x or x)": "symgrad.where(condition, a, b)",
    "(w if w * x else x)": "symgrad.where(condition, a, b)",
    "round(w * x)": "Python's round rounds a symbol that has no value yet; use symgrad.round",
}


@pytest.mark.parametrize("loss", sorted(NUMERIC_HABITS))
def test_a_function_of_numbers_on_a_symbol_is_answered_with_the_line_and_the_spelling(
    loss, tmp_path
):
    pytest.importorskip("torch")
    path = tmp_path / "habit.py"
    path.write_text(
        "import math\nimport numpy as np\nimport torch\nfrom symgrad import Model\n"
        'm = Model("habit")\nx = m.inputs("x")\nw = m.params("w")\n'
        f'm.loss("L", {loss})\nm.example(x=1.0, w=0.5)\n'
    )
    result = CliRunner().invoke(main, ["derive", str(path)])
    assert result.exit_code == 2, result.output
    assert "habit.py:8: " in result.output and NUMERIC_HABITS[loss] in result.output, result.output
    assert result.output.strip().count("\n") == 0, result.output


def test_ctrl_c_is_one_line_and_exit_130(monkeypatch):
    import symgrad.cli

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(symgrad.cli, "load_derivation", interrupted)
    result = CliRunner().invoke(main, ["verify", SEED003])
    assert result.exit_code == 130, result.output
    assert result.output.strip() == "symgrad: interrupted"


def test_a_claim_of_the_wrong_shape_is_bad_input_naming_the_variable_and_both_shapes(tmp_path):
    claim = tmp_path / "claim.py"
    claim.write_text(
        "import numpy as np\n\n"
        "def backward(x1, x2, y, W1, W2, W3, W4, W5, W6, b1, b2, b3):\n"
        "    gradients = {name: 0.0 for name in 'W1 W2 W3 W4 W5 W6 b1 b2 b3'.split()}\n"
        "    gradients['W5'] = np.zeros(3)\n"
        "    return gradients\n"
    )
    result = CliRunner().invoke(main, ["verify", SEED003, "--against", f"{claim}:backward"])
    assert result.exit_code == 2, result.output
    assert "backward returned the gradient of W5 with shape (3,); W5 has shape ()" in result.output


def test_a_gradient_that_is_not_finite_where_the_loss_is_is_one_line_and_exit_2(tmp_path):
    """√x at 0: the loss is 0, its derivative 1/(2√x) is not a number there."""
    path = tmp_path / "model.py"
    path.write_text(
        'from symgrad import Model, sqrt\nm = Model("root")\nx = m.params("x")\n'
        'm.loss("L", sqrt(x))\nm.example(x=0.0)\n'
    )
    result = CliRunner().invoke(main, ["derive", str(path)])
    assert result.exit_code == 2, result.output
    assert "∂L/∂x is inf at this point, where the loss is finite" in result.output


@pytest.mark.parametrize(
    ("arguments", "stages"),
    [
        (["derive", SEED003], ["deriving [", "nodes", "generating numpy code [", "working the"]),
        (["codegen", SEED003, "--backend", "torch"], ["generating torch code ["]),
        (["graph", SEED003], ["drawing [", "nodes"]),
        (["verify", SEED003, "--points", "1"], ["verifying [", "2/2 points"]),
    ],
)
def test_every_command_that_works_a_while_shows_its_stages_on_stderr_only(
    arguments, stages, monkeypatch
):
    import symgrad.cli

    pytest.importorskip("torch")
    monkeypatch.setenv("SYMGRAD_PROGRESS", "1")
    monkeypatch.setattr(symgrad.cli.Progress, "MOMENT", 0.0)  # as if it took long
    monkeypatch.setattr(symgrad.cli.Progress, "REDRAW", 0.0)
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code == 0, result.output
    for stage in stages:
        assert stage in result.stderr, result.stderr
    assert "[#" not in result.stdout and "[." not in result.stdout  # the output stays clean
    # the bar leaves the screen as it found it: the last frame is wiped by blanks
    assert result.stderr.rstrip(" ").endswith("\r")


def test_a_model_file_that_loads_another_still_has_its_truth_tests_answered(tmp_path):
    (tmp_path / "inner.py").write_text(
        'from symgrad import Model\nm = Model("inner")\nx = m.inputs("x")\nw = m.params("w")\n'
        'm.loss("L", (w * x) ** 2)\n'
    )
    outer = tmp_path / "outer.py"
    outer.write_text(
        "from symgrad import Model\nfrom symgrad.loader import load_model\n"
        f"inner = load_model({str(tmp_path / 'inner.py')!r})\n"
        'm = Model("outer")\nx = m.inputs("x")\nw = m.params("w")\n'
        'm.loss("L", (w * x and x) ** 2)\n'
    )
    result = CliRunner().invoke(main, ["derive", str(outer), "--model", "outer"])
    assert result.exit_code == 2, result.output
    assert "outer.py:7: a Python if, and, or" in result.output
    import sympy

    assert "__bool__" not in vars(sympy.Basic)  # SymPy is left as it was
