"""symgrad derive's surfaces on the command line: flags, -o by suffix, one line for bad input."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner

import symgrad
from symgrad.cli import main

from .conftest import example_path, load_example

SEED003 = example_path("seed003_two_layer_sigmoid.py")
SEED002 = example_path("seed002_chain_rule.py")


# Closed forms are simplified within a time budget; on a loaded machine the command and the
# library could fall on different sides of it, so both get all the time they need.
PATIENT = {**os.environ, "SYMGRAD_CLOSED_FORM_SECONDS": "600"}


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "symgrad.cli", *map(str, args)],
        capture_output=True,
        text=True,
        env=PATIENT,
    )


def library(fmt, **options):
    return symgrad.render(symgrad.derive(load_example("seed003_two_layer_sigmoid.py")), fmt,
                          **options)  # fmt: skip


@pytest.mark.parametrize(
    ("flags", "fmt", "options"),
    [
        (["--latex"], "latex", {}),
        (["--latex", "--standalone", "--lr", "1"], "latex", {"standalone": True, "lr": 1.0}),
        (["--standalone"], "latex", {"standalone": True}),
        (["--markdown", "--lang", "ko"], "markdown", {"lang": "ko"}),
        (["--text", "--closed-form", "--digits", "6"], "text", {"closed_form": True, "digits": 6}),
        ([], "text", {}),
    ],
)
def test_flags_give_what_python_gives(flags, fmt, options, monkeypatch):
    monkeypatch.setattr(symgrad.rendering.worked, "CLOSED_FORM_SECONDS", 600.0)
    result = run("derive", SEED003, *flags)
    assert result.returncode == 0, result.stderr
    assert result.stdout == library(fmt, **options)


@pytest.mark.parametrize(
    ("suffix", "fmt"), [(".tex", "latex"), (".md", "markdown"), (".txt", "text")]
)
def test_output_suffix_chooses_the_format(tmp_path, suffix, fmt):
    target = tmp_path / f"seed003{suffix}"
    result = run("derive", SEED003, "--lr", "1", "-o", target)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == f"wrote {target}"
    assert target.read_text(encoding="utf-8") == library(fmt, lr=1.0)


def test_standalone_to_a_tex_file(tmp_path):
    target = tmp_path / "seed003.tex"
    assert run("derive", SEED003, "--standalone", "-o", target).returncode == 0
    assert target.read_text(encoding="utf-8").startswith("\\documentclass")


def test_a_flag_wins_over_the_suffix(tmp_path):
    target = tmp_path / "notes.txt"
    assert run("derive", SEED003, "--markdown", "-o", target).returncode == 0
    assert target.read_text(encoding="utf-8").startswith("# Worked example")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "out.html"], "cannot tell the format from '.html'"),
        (["-o", "out"], "cannot tell the format from 'no suffix'"),
        (["--lr", "fast"], "--lr: 'fast' is not a number"),
        (["--lr", "inf"], "--lr: 'inf' is not a finite number"),
        (["--markdown", "--standalone"], "--standalone makes a LaTeX document"),
        (["--lang", "fr"], "Invalid value for '--lang': 'fr' is not one of 'en', 'ko'"),
        (
            ["-o", "no/such/dir/out.tex"],
            "-o no/such/dir/out.tex: the folder no/such/dir does not exist",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    result = subprocess.run(
        [sys.executable, "-m", "symgrad.cli", "derive", SEED002, *args],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert message in result.stderr, result.stderr


@pytest.mark.parametrize("fmt", ["--text", "--markdown", "--latex"])
@pytest.mark.parametrize(
    ("only", "shown", "hidden"),
    [
        ("backward", ["Backward pass"], ["Forward pass", "Gradients", "Model"]),
        ("gradients", ["Gradients"], ["Backward pass", "Forward pass"]),
        ("model", ["Model"], ["Forward pass", "Backward pass", "Gradients"]),
        ("update", ["Update"], ["Backward pass", "Gradients"]),
    ],
)
def test_only_gives_one_part_of_the_worked_example(fmt, only, shown, hidden):
    result = CliRunner().invoke(main, ["derive", SEED002, fmt, "--lr", "0.1", "--only", only])
    assert result.exit_code == 0, result.output
    for heading in shown:
        assert heading in result.output
    for heading in hidden:
        assert heading not in result.output.replace("# Worked example", "")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--only", "update"], "--only update: this worked example has no such part (add --lr)"),
        (["--only", "everything"], "Invalid value for '--only': 'everything' is not one of"),
        (["--json", "--only", "loss"], "--only chooses a part of the worked example"),
        (["--slides", "--markdown"], "--slides makes a LaTeX (beamer) document"),
        (["--slides", "--standalone"], "--slides makes a beamer document of its own"),
    ],
)
def test_only_and_slides_mistakes_are_one_line(args, message):
    result = CliRunner().invoke(main, ["derive", SEED002, *args])
    assert result.exit_code == 2 and message in result.output, result.output
    assert result.output.strip().count("\n") == 0


def test_markdown_sets_each_section_as_one_display_aligned_at_equals():
    text = symgrad.render(symgrad.derive(load_example("seed003_two_layer_sigmoid.py")), "markdown")
    sections = re.findall(r"^## (.*)$", text, re.MULTILINE)
    displays = text.count("$$\n") // 2
    assert displays == len(sections) - 1  # the gradients are a table
    backward = text.split("## Backward pass")[1].split("## Gradients")[0]
    assert backward.count("\\begin{aligned}") == 1
    assert backward.count("&=") == 29  # every step of note 003
