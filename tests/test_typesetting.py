"""Proof that the output renders: every example's standalone LaTeX compiles with pdflatex (and
fits the page), every math block of its Markdown parses with KaTeX, and text from the model file
cannot inject anything into either.

pdflatex, kotex and KaTeX are installed by .ci/run; where one is absent its tests skip.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import symgrad
from symgrad.names import check_name, latex_name
from symgrad.rendering.latex import escape_text
from symgrad.rendering.markdown import escape_markdown

from .conftest import EXAMPLES, load_example, math_blocks

CORPUS_DIR = Path(__file__).parent / "corpus"

EXAMPLE_FILES = sorted(path.name for path in EXAMPLES.glob("*.py"))
VARIANTS = {
    "numbers": {},
    "update_closed_form": {"lr": 0.5, "closed_form": True},
    "symbolic": {"symbolic": True, "lr": 0.5},
}


def derivation_of(name):
    return symgrad.derive(load_example(name))


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("example", EXAMPLE_FILES)
@pytest.mark.slow
def test_standalone_latex_compiles_and_fits_the_page(example, variant, pdflatex, tmp_path):
    source = symgrad.render(derivation_of(example), "latex", standalone=True, **VARIANTS[variant])
    code, log, pdf = pdflatex(source, tmp_path)
    assert code == 0, log[-2000:]
    assert pdf.is_file()
    # The line breaking keeps every formula inside the text width.
    overfull = [line for line in log.splitlines() if line.startswith("Overfull \\hbox")]
    assert not overfull, overfull


def test_the_fragment_needs_only_amsmath(pdflatex, tmp_path):
    fragment = symgrad.render(derivation_of("seed003_two_layer_sigmoid.py"), "latex", lr=1.0)
    assert "\\documentclass" not in fragment and "\\usepackage" not in fragment.replace(
        "% Needs \\usepackage{amsmath}", ""
    )
    document = (
        "\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\n"
        + fragment
        + "\\end{document}\n"
    )
    code, log, _ = pdflatex(document, tmp_path)
    assert code == 0, log[-2000:]


def test_the_seed003_pdf_says_what_the_note_says(pdflatex, tmp_path):
    """The compiled PDF, read back as text by pdftotext, holds the note's values."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed (Debian: poppler-utils)")
    source = symgrad.render(
        derivation_of("seed003_two_layer_sigmoid.py"), "latex", standalone=True, lr=1.0
    )
    code, log, pdf = pdflatex(source, tmp_path)
    assert code == 0, log[-2000:]
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    for value in ["0.6478", "0.7225", "0.6565", "0.6732", "0.3415", "0.4154", "0.5369", "0.4452"]:
        assert value in text, value


@pytest.mark.parametrize(("lang", "width"), [("en", None), ("ko", None), ("en", 15)])
@pytest.mark.parametrize("example", EXAMPLE_FILES)
@pytest.mark.slow
def test_markdown_math_parses_with_katex(example, lang, width, katex):
    markdown = symgrad.render(
        derivation_of(example), "markdown", lr=0.5, closed_form=True, lang=lang, width=width
    )
    blocks = math_blocks(markdown)
    assert len(blocks) > 5
    errors = katex(blocks)
    assert errors == [None] * len(blocks), [
        (tex, error) for (tex, _), error in zip(blocks, errors, strict=True) if error
    ]


def test_jupyter_latex_parses_with_katex(katex):
    latex = derivation_of("seed003_two_layer_sigmoid.py")._repr_latex_()
    assert katex([(latex.strip("$\n"), True)]) == [None]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,6}(_[A-Za-z0-9]{1,5}){0,2}", fullmatch=True),
                min_size=1, max_size=20))  # fmt: skip
@pytest.mark.slow
def test_any_allowed_name_typesets(names):
    """Every identifier check_name accepts becomes TeX that KaTeX parses."""
    node = shutil.which("node")
    from .conftest import KATEX

    if node is None or not (KATEX / "package.json").is_file():
        pytest.skip("KaTeX is not installed")
    from .conftest import KATEX_CHECK

    allowed = []
    for name in names:
        try:
            allowed.append(check_name(name, "node"))
        except symgrad.SymgradError:
            continue
    items = [[f"{latex_name(n)} = \\frac{{\\partial {latex_name(n)}}}{{\\partial x}}", True]
             for n in allowed]  # fmt: skip
    import json

    result = subprocess.run(
        [node, str(KATEX_CHECK), str(KATEX)], input=json.dumps(items), capture_output=True,
        text=True, check=True,
    )  # fmt: skip
    assert json.loads(result.stdout) == [None] * len(items), (allowed, result.stdout)


HOSTILE = r"\input{/etc/hostname} $x$ #1 100% A&B my_model {open \end{document} ~^<>|"


def hostile_model(name=HOSTILE):
    m = symgrad.Model(name)
    w = m.params("w")
    m.loss("L", (w - 2) ** 2)
    m.example(w=0.5)
    return symgrad.derive(m)


def test_a_hostile_model_name_is_printed_literally_in_latex(pdflatex, tmp_path):
    source = symgrad.render(hostile_model(), "latex", standalone=True)
    assert "\\input{" not in source
    code, log, pdf = pdflatex(source, tmp_path)
    assert code == 0, log[-2000:]
    assert "(/etc/hostname" not in log  # TeX logs every file it opens: nothing was \input
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
        # (OT1's typewriter \_ is drawn as a rule, which pdftotext reads as a space)
        words = " ".join(text.split())
        for piece in HOSTILE.replace("my_model", "").split():
            assert piece in words, piece


def test_a_hostile_model_name_stays_text_in_markdown(katex):
    markdown = symgrad.render(hostile_model(), "markdown")
    title = markdown.splitlines()[0]
    assert title == "# Worked example: " + escape_markdown(HOSTILE)
    assert "$" not in title.replace("\\$", "")  # no math can start in the title
    # the math blocks are exactly the renderer's own, and KaTeX parses them all
    blocks = math_blocks(markdown)
    assert all("hostname" not in tex for tex, _ in blocks)
    assert katex(blocks) == [None] * len(blocks)


def test_escaping_covers_every_special_character():
    assert escape_text(r"a\b{c}$d&e#f^g_h%i~j") == (
        r"a\textbackslash{}b\{c\}\$d\&e\#f\textasciicircum{}g\_h\%i\textasciitilde{}j"
    )
    assert escape_markdown("a_b*c$d[e]<f>") == r"a\_b\*c\$d\[e\]\<f\>"


@pytest.mark.parametrize(
    ("name", "fmt", "message"),
    [
        ("caf\u00e9", "latex", "not printable ASCII"),
        ("모델", "latex", "Korean needs --lang ko"),
        ("two\nlines", "latex", "cannot be typeset"),
        ("two\nlines", "markdown", "control character"),
    ],
)
def test_a_name_that_cannot_be_typeset_is_refused(name, fmt, message):
    with pytest.raises(symgrad.SymgradError, match=message):
        symgrad.render(hostile_model(name), fmt)


def test_cli_refuses_an_untypesettable_name_in_one_line(tmp_path):
    path = tmp_path / "model.py"
    path.write_text(
        "from symgrad import Model\nm = Model('caf\u00e9')\nw = m.params('w')\n"
        "m.loss('L', w**2)\nm.example(w=1)\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "symgrad.cli", "derive", str(path), "--latex"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "cannot be typeset in LaTeX" in result.stderr


@pytest.mark.parametrize("example", EXAMPLE_FILES)
def test_korean_standalone_compiles_with_kotex(example, kotex, tmp_path):
    source = symgrad.render(derivation_of(example), "latex", standalone=True, lang="ko", lr=0.5)
    assert "\\usepackage{kotex}" in source and "순전파" in source
    code, log, _ = kotex(source, tmp_path)
    assert code == 0, log[-2000:]


def test_a_korean_model_name_compiles_with_kotex(kotex, tmp_path):
    source = symgrad.render(hostile_model("역전파 예제 #2"), "latex", standalone=True, lang="ko")
    code, log, _ = kotex(source, tmp_path)
    assert code == 0, log[-2000:]


def test_the_test_helpers_find_math_blocks():
    """The Markdown reader that feeds KaTeX finds every display and inline formula."""
    page = (
        "# T\n\n- a: $x_{1} = 1$, $y$ costs \\$5\n\n$$\nz = 1\n$$\n\n"
        "$$\n\\begin{aligned}\na &= b\n\\end{aligned}\n$$\n"
    )
    assert math_blocks(page) == [
        ("z = 1", True),
        ("\\begin{aligned}\na &= b\n\\end{aligned}", True),
        ("x_{1} = 1", False),
        ("y", False),
    ]


def test_examples_folder_is_what_ci_typesets():
    assert {"seed001_linear_regression.py", "seed002_chain_rule.py",
            "seed003_two_layer_sigmoid.py"} <= set(EXAMPLE_FILES)  # fmt: skip
    assert Path(EXAMPLES).is_dir()


def wide_model():
    """Twelve inputs into one sum, tanh and σ of it, a loss of both: long sums and closed forms
    far wider than a page."""
    m = symgrad.Model("wide")
    xs = m.inputs("x1:13")
    ws = m.params("w1:13")
    b = m.params("b")
    z = m.node("z", sum(w * x for w, x in zip(ws, xs, strict=True)) + b)
    a = m.node("a", symgrad.tanh(z))
    s = m.node("s", symgrad.sigmoid(z))
    m.loss("E_total", (a * s - 0.25) ** 2 + symgrad.log(1 + s**2))
    m.example(**{f"x{i}": (-1) ** i * 0.37 * i for i in range(1, 13)},
              **{f"w{i}": 0.05 * i - 0.3 for i in range(1, 13)}, b=-0.12)  # fmt: skip
    return symgrad.derive(m)


@pytest.mark.slow
def test_formulas_wider_than_the_page_are_broken_to_fit(pdflatex, tmp_path, monkeypatch):
    # SymPy cannot simplify these closed forms quickly; a small budget keeps the test short.
    monkeypatch.setattr(symgrad.rendering.worked, "CLOSED_FORM_SECONDS", 1.0)
    source = symgrad.render(wide_model(), "latex", standalone=True, lr=0.1, closed_form=True)
    assert "not simplified in time" in source
    code, log, _ = pdflatex(source, tmp_path)
    assert code == 0, log[-2000:]
    overfull = [line for line in log.splitlines() if line.startswith("Overfull")]
    assert not overfull, overfull


HOSTILE_NAME = 'a&b_%$#{}<x>"q\\input{/etc/passwd}'


def _hostile_model():
    m = symgrad.Model(HOSTILE_NAME)
    x = m.inputs("x")
    w = m.params("w")
    m.loss("L", (w * x - 1) ** 2)
    m.example(x=1.0, w=0.5)
    return symgrad.derive(m)


def test_a_model_name_of_special_characters_is_escaped_wherever_it_is_typeset():
    d = _hostile_model()
    latex = symgrad.render(d, "latex", standalone=True)
    assert (
        "\\input{/etc/passwd}" not in latex and "\\textbackslash{}input\\{/etc/passwd\\}" in latex
    )
    assert "a\\&b\\_\\%\\$\\#\\{\\}" in latex
    markdown = symgrad.render(d, "markdown")
    assert "a\\&b\\_\\%\\$\\#\\{\\}\\<x\\>" in markdown
    html = symgrad.verify(d, points=0)._repr_html_()
    assert "a&amp;b_%$#{}&lt;x&gt;&quot;q" in html and "<x>" not in html
    assert symgrad.graph_dot(d).startswith('digraph "a&b_%$#{}<x>\\"q\\\\input{/etc/passwd}" {')


def test_a_model_name_of_special_characters_compiles_as_text(pdflatex, tmp_path):
    code, log, _ = pdflatex(symgrad.render(_hostile_model(), "latex", standalone=True), tmp_path)
    assert code == 0, log[-2000:]


def _slides(path, tmp_path, beamer, *options):
    d = symgrad.derive(path)
    source = symgrad.render(d, "latex", slides=True, lr=0.1 if "lr" in options else None)
    code, log, pdf = beamer(source, tmp_path)
    assert code == 0, log[-3000:]
    assert "Overfull" not in log, re.findall(r"Overfull.*", log)
    return source, pdf


@pytest.mark.parametrize(
    "example", ["seed002_chain_rule.py", "seed003_two_layer_sigmoid.py", "seed004_relu_mlp.py"]
)
def test_slides_are_a_frame_per_part_and_nothing_overflows(example, beamer, tmp_path):
    source, pdf = _slides(str(EXAMPLES / example), tmp_path, beamer, "lr")
    titles = re.findall(r"\\begin\{frame\}\{(.*)\}$", source, re.MULTILINE)
    assert titles[0].startswith("Model: \\texttt{")
    parts = [re.sub(r" \(\d+/\d+\)$", "", t) for t in titles[1:]]
    assert list(dict.fromkeys(parts)) == [
        "Definitions",
        "Forward pass",
        "Loss",
        "Backward pass",
        "Gradients",  # the table on a frame of its own, under its heading
        "Update (learning rate $\\alpha = 0.1000$)",
    ]
    pages = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    assert int(re.search(r"Pages:\s+(\d+)", pages).group(1)) == len(titles)


@pytest.mark.slow
@pytest.mark.parametrize("model", sorted(p.stem for p in CORPUS_DIR.glob("*.py")))
def test_slides_of_every_tutorial_model_fit_their_frames(model, beamer, tmp_path):
    _slides(str(CORPUS_DIR / f"{model}.py"), tmp_path, beamer)


def test_a_standalone_document_names_its_model_once_in_its_title():
    d = symgrad.derive(load_example("seed002_chain_rule.py"))
    latex = symgrad.render(d, "latex", standalone=True)
    assert latex.count(r"\texttt{chain\_rule}") == 1
    assert r"\section*{Worked example: \texttt{chain\_rule}}" in latex
    fragment = symgrad.render(d, "latex")
    assert r"\textbf{Model} \texttt{chain\_rule}." in fragment  # a fragment has no title
