"""Fuzzing: the example model files broken at random, and random command lines. Whatever the
mistake, every command answers with exit 0, 1 or 2, one line for bad input, never a traceback."""

from __future__ import annotations

import warnings

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symgrad.cli import main

from .conftest import EXAMPLES

MODEL_FILES = sorted(EXAMPLES.glob("seed00*.py"))
STRAY = list("()[]{},.:;=+-*/@'\"\\#x0 \t$é")


@st.composite
def broken_model_files(draw):
    """One example file with lines dropped, duplicated or swapped, or a stray character."""
    path = draw(st.sampled_from(MODEL_FILES))
    lines = path.read_text(encoding="utf-8").splitlines()
    code = [i for i, line in enumerate(lines) if line.strip() and not line.startswith(('"""', "#"))]
    i, j = draw(st.sampled_from(code)), draw(st.sampled_from(code))
    how = draw(st.sampled_from(["drop", "drop two", "duplicate", "swap", "stray character"]))
    if how == "drop":
        del lines[i]
    elif how == "drop two":
        lines = [line for k, line in enumerate(lines) if k not in (i, j)]
    elif how == "duplicate":
        lines.insert(i, lines[i])
    elif how == "swap":
        lines[i], lines[j] = lines[j], lines[i]
    else:
        at = draw(st.integers(0, len(lines[i])))
        lines[i] = lines[i][:at] + draw(st.sampled_from(STRAY)) + lines[i][at:]
    return path.name, how, "\n".join(lines) + "\n"


COMMANDS = [
    ["derive"],
    ["derive", "--latex"],
    ["derive", "--json"],
    ["graph"],
    ["codegen"],
    ["verify", "--points", "1"],
]


def _answered(result, context) -> None:
    """Exit 0, 1 or 2, and bad input said in one line without a traceback."""
    assert result.exit_code in (0, 1, 2), (context, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        context,
        repr(result.exception),
    )
    assert "Traceback" not in result.output, (context, result.output)
    if result.exit_code == 2:
        said = [line for line in result.stderr.splitlines() if line.strip()]
        notes = [line for line in said if ": note: " in line]  # derive's notes come first
        assert len(said) - len(notes) == 1, (context, result.stderr)


def _run_broken(case, commands, tmp_path_factory) -> None:
    name, how, source = case
    path = tmp_path_factory.mktemp("broken") / name
    path.write_text(source, encoding="utf-8")
    for command in commands:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a broken file may warn; only the answer counts
            result = CliRunner().invoke(main, [command[0], str(path), *command[1:]])
        _answered(result, (name, how, command, source))


def fuzz(examples: int):
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


@fuzz(12)
@given(case=broken_model_files())
def test_a_broken_model_file_is_answered_not_a_traceback(case, tmp_path_factory):
    pytest.importorskip("torch")  # the PyTorch examples import it
    _run_broken(case, [["derive"], ["codegen"]], tmp_path_factory)


@pytest.mark.slow
@fuzz(40)
@given(case=broken_model_files())
def test_thirty_and_more_broken_model_files_through_every_command(case, tmp_path_factory):
    pytest.importorskip("torch")
    _run_broken(case, COMMANDS, tmp_path_factory)


OPTIONS = {  # an option and values to give it, good and bad
    "--wrt": ["w", "W5,b3", "nope", ",", ""],
    "--at": ["x=1", "x=nan", "x", "=1", "w=1e400", "y=-3"],
    "--digits": ["0", "4", "99", "many"],
    "--lr": ["0.1", "-1", "inf", "fast"],
    "--lang": ["ko", "en", "fr"],
    "--points": ["0", "1", "-2", "x"],
    "--dtype": ["float32", "float16"],
    "--backend": ["torch", "jax"],
    "--reduction": ["sum", "max"],
    "--model": ["chain_rule", "nope"],
    "-o": ["out.tex", "out.md", "out.json", "out.py", "out.svg", "out", "no/such/dir/x.txt"],
    "--seed": ["3", "-1", "x"],
}
FLAGS = ["--latex", "--markdown", "--json", "--text", "--symbolic", "--closed-form", "--unroll"]


@st.composite
def command_lines(draw):
    command = draw(st.sampled_from(["derive", "graph", "codegen", "verify", "rules"]))
    file = draw(st.sampled_from([*(p.name for p in MODEL_FILES[:6]), "missing.py"]))
    arguments = [command, str(EXAMPLES / file)]
    for _ in range(draw(st.integers(0, 3))):
        if draw(st.booleans()):
            option = draw(st.sampled_from(sorted(OPTIONS)))
            arguments += [option, draw(st.sampled_from(OPTIONS[option]))]
        else:
            arguments.append(draw(st.sampled_from(FLAGS)))
    return arguments


@fuzz(25)
@given(arguments=command_lines())
def test_random_command_lines_are_answered_not_a_traceback(arguments, tmp_path, monkeypatch):
    pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)
    if arguments[0] == "verify" and "--points" not in arguments:
        arguments += ["--points", "1"]  # the answer matters here, not ten points of it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = CliRunner().invoke(main, arguments)
    _answered(result, arguments)
