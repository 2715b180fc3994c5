"""The README stays true: its set-up commands are what CI runs, and every other command and
Python block in it runs."""

import re
import shlex
import shutil
import subprocess
import sys

import pytest

from .conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def console_commands():
    blocks = re.findall(r"```console\n(.*?)```", README, flags=re.S)
    return [
        line[2:].strip() for block in blocks for line in block.splitlines() if line.startswith("$ ")
    ]


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README, flags=re.S)


def test_setup_commands_are_the_ones_ci_runs():
    commands = console_commands()
    install, test = commands[0], commands[1]
    assert install.startswith("python -m pip install") and test == "python -m pytest"
    ci = (ROOT / ".ci" / "run").read_text()
    assert install in ci and test in ci


@pytest.fixture
def workdir(tmp_path):
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    return tmp_path


@pytest.mark.parametrize("command", console_commands()[2:])
@pytest.mark.slow
def test_console_command_runs(workdir, command):
    command, _, expected = command.partition("  # exits ")  # a command shown failing on purpose
    args = shlex.split(command)
    assert args[0] == "symgrad"
    if args[1] == "graph" and args[-1].endswith((".svg", ".png")) and not shutil.which("dot"):
        pytest.skip("drawing SVG or PNG needs Graphviz's dot (Debian: graphviz)")
    result = subprocess.run(
        [sys.executable, "-m", "symgrad.cli", *args[1:]],
        cwd=workdir,
        capture_output=True,
        text=True,
    )
    assert result.returncode == int(expected or 0), result.stderr


@pytest.mark.parametrize("index", range(len(python_blocks())))
def test_python_block_runs(workdir, index, monkeypatch):
    pytest.importorskip("torch")
    monkeypatch.chdir(workdir)
    block = python_blocks()[index]
    exec(compile(block, f"README.md python block {index}", "exec"), {"__name__": "readme"})


def test_the_hessian_entry_quoted_in_the_readme_is_what_derive_prints():
    quoted = re.search(r"`(∂²L/∂W₅² = [^`]*)`", README).group(1)
    result = subprocess.run(
        [sys.executable, "-m", "symgrad.cli", "derive", "examples/seed003_two_layer_sigmoid.py",
         "--hessian", "--wrt", "W5,W6,b3"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert quoted in result.stdout


def test_the_verify_output_quoted_in_the_readme_is_what_verify_prints():
    """The README's sample report is that command's output (the time aside, and "..." for
    the rows left out)."""
    quoted = re.search(r"```text\n(two_layer_sigmoid: 3 of 9.*?)```", README, flags=re.S).group(1)
    result = subprocess.run(
        [sys.executable, "-m", "symgrad.cli", "verify", "examples/seed003_two_layer_sigmoid.py",
         "--against", "examples/gradients/seed003_backprop.py:backprop_with_a_slip"],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 1
    printed = re.sub(r"\d+\.\d+ s\)", "T s)", result.stdout).splitlines()
    for line in quoted.splitlines():
        if line and line != "...":
            assert re.sub(r"\d+\.\d+ s\)", "T s)", line) in printed, line
