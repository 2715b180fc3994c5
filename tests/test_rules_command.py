"""`symgrad rules`: the rule table as text, Markdown and LaTeX, generated from the table."""

from __future__ import annotations

import re

from click.testing import CliRunner

from symgrad.cli import main
from symgrad.rendering.rules import render_rules
from symgrad.rules import MATRIX_RULES, SCALAR_RULES, records

from .conftest import math_blocks


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_text_lists_every_primitive_with_its_textbook_derivative():
    result = run("rules")
    assert result.exit_code == 0
    for rule in SCALAR_RULES:
        assert f"\n{rule.name}  [{rule.kind}]" in "\n" + result.output
    for rule in MATRIX_RULES:
        assert f"\n{rule.name}  {rule.summary}" in result.output
    assert "∂σ(x)/∂x = (1 − σ(x))·σ(x)" in result.output
    assert "∂tanh(x)/∂x = 1 − tanh(x)²" in result.output
    assert "kink where x = 0" in result.output  # relu's, abs's


def test_markdown_is_a_table_whose_math_parses_with_katex(katex):
    markdown = run("rules", "--markdown").output
    rows = [line for line in markdown.splitlines() if line.startswith("| `")]
    # every record, and a model file's own primitives that this process has loaded
    assert len(rows) == len(records())
    scalar = len(records()) - len(MATRIX_RULES)
    assert all(line.count(" | ") == 5 for line in rows[:scalar])  # no bar breaks a cell
    blocks = math_blocks(markdown)
    assert len(blocks) >= len(SCALAR_RULES)
    assert katex(blocks) == [None] * len(blocks)


def test_latex_compiles(pdflatex, tmp_path):
    body = run("rules", "--latex").output
    document = "\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\n"
    code, log, _ = pdflatex(document + body + "\\end{document}\n", tmp_path)
    assert code == 0, log[-2000:]


def test_output_file_and_bad_suffix(tmp_path):
    target = tmp_path / "rules.md"
    assert run("rules", "-o", str(target)).exit_code == 0
    assert target.read_text().startswith("| rule | kind | derivative |")
    bad = run("rules", "-o", str(tmp_path / "rules.json"))
    assert bad.exit_code == 2 and "the rule table is text, Markdown or LaTeX" in bad.output


def test_the_table_spells_functions_as_a_reader_calls_them_not_by_private_helper_names():
    for fmt in ("text", "markdown", "latex"):
        table = render_rules(fmt)
        assert not re.search(r"(?<![\w.])_[a-z]\w*\(", table), fmt  # no _sigmoid(x)
    markdown = render_rules("markdown")
    assert "| `sigmoid(x)` | `torch.sigmoid(x)` |" in markdown
    assert r"\sqrt{\pi}" in markdown and r"\sqrt{pi}" not in markdown  # π, not p·i
