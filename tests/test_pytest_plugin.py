"""The pytest plugin, in a fresh project: a new virtual environment that installed only
symgrad (and pytest to run it), a model file, a hand-written gradient, and a test that uses
the ``verify_gradients`` fixture. No torch there: the check still runs, on finite differences
and the symbolic oracle."""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from .conftest import ROOT

pytest_plugins = ["pytester"]

MODEL = """\
from symgrad import Model, sigmoid

m = Model("neuron")
x, y = m.inputs("x y")
w, b = m.params("w b")
z = m.node("z", w * x + b)
s = m.node("s", sigmoid(z))
m.loss("L", (s - y) ** 2)
m.example(x=0.5, y=1.0, w=0.3, b=-0.1)
"""

GRADS = """\
import math


def right(x, y, w, b):
    s = 1 / (1 + math.exp(-(w * x + b)))
    dz = 2 * (s - y) * s * (1 - s)
    return {"w": dz * x, "b": dz}


def wrong(x, y, w, b):
    s = 1 / (1 + math.exp(-(w * x + b)))
    dz = 2 * (s - y) * s  # forgot the (1 - s)
    return {"w": dz * x, "b": dz}
"""

TESTS = """\
from pathlib import Path

from grads import right, wrong

MODEL = Path(__file__).parent / "model.py"


def test_right(verify_gradients):
    report = verify_gradients(MODEL, against=right, points=20)
    assert report.ok


def test_wrong(verify_gradients):
    verify_gradients(MODEL, against=wrong, points=20)
"""


def _project(path: Path) -> Path:
    path.mkdir(exist_ok=True)
    (path / "model.py").write_text(MODEL)
    (path / "grads.py").write_text(GRADS)
    (path / "test_grads.py").write_text(TESTS)
    return path


def test_fixture_passes_a_right_gradient_and_fails_a_wrong_one_with_a_table(pytester):
    _project(pytester.path)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert "neuron: 2 of 2 gradients wrong (w, b)" in out
    assert "mismatch ∂L/∂w at the example and 20 more point(s)" in out
    assert "first wrong node s (or z" in out
    assert "variable  shape" in out  # the per-parameter table
    assert "symgrad/checking/verify.py" not in out  # a table, not a traceback into symgrad


HYPOTHESIS_TEST = """\
from pathlib import Path

from hypothesis import given, settings, strategies as st

from grads import right

MODEL = Path(__file__).parent / "model.py"


@settings(max_examples=3, deadline=None)
@given(st.floats(-2, 2))
def test_right_at_any_w(verify_gradients, w):
    point = {"x": 0.5, "y": 1.0, "w": w, "b": -0.1}
    assert verify_gradients(MODEL, against=right, at=[point], points=0).ok
"""


def test_fixture_runs_under_hypothesis_given(pytester):
    _project(pytester.path)
    (pytester.path / "test_grads.py").write_text(HYPOTHESIS_TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)  # no health check against a function-scoped fixture


NETWORK = ("Could not find a version", "No matching distribution", "Network is unreachable",
           "Temporary failure in name resolution", "Connection refused")  # fmt: skip


@pytest.mark.slow  # a fresh virtual environment, or a verify long enough to show progress
def test_plugin_in_a_fresh_project_that_installed_only_symgrad(tmp_path):
    source = tmp_path / "symgrad-src"  # a copy, so the build leaves the checkout clean
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", ".ci", "build", "*.egg-info", "__pycache__", ".hypothesis",
        ".pytest_cache", "docs", "site"))  # fmt: skip
    env_dir = tmp_path / "env"
    venv.create(env_dir, with_pip=True)
    python = env_dir / ("Scripts" if sys.platform == "win32" else "bin") / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(source), "pytest"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    if install.returncode != 0:
        if any(sign in install.stderr for sign in NETWORK):
            pytest.skip(f"cannot reach a package index: {install.stderr.strip().splitlines()[-1]}")
        raise AssertionError(install.stderr)
    project = _project(tmp_path / "project")
    (project / "conftest.py").write_text("")  # the project's own, empty: the plugin does the work
    done = subprocess.run(
        [str(python), "-m", "pytest", "-p", "no:cacheprovider", "-q"],
        cwd=project, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    out = done.stdout
    assert "1 failed, 1 passed" in out, out + done.stderr
    assert "neuron: 2 of 2 gradients wrong (w, b)" in out
    assert "PyTorch is not installed" not in out  # notes stay out of the failure table
    torch_absent = subprocess.run(
        [str(python), "-c", "import importlib.util; print(importlib.util.find_spec('torch'))"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert torch_absent.stdout.strip() == "None"
    assert out.count("first wrong node") >= 2
