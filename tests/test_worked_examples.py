"""The worked examples, on every surface, read back and checked number by number.

Every printed value is compared with PyTorch autograd on the model's own definitions
(``support/oracle.py``), which shares nothing with symgrad's chain rule or generated code, and
the seed notes' printed values are checked to the digit.
"""

from __future__ import annotations

import math
import re

import pytest
import sympy

import symgrad
from symgrad.derivation import Partial
from symgrad.rendering import format_number
from symgrad.rendering.printers import LatexPrinter, TextPrinter, visual_width

from .conftest import load_example
from .support.oracle import torch_values
from .support.parse import decimals, latex_equations, text_equations
from .test_seeds import SEED003_PRINTED  # the note's printed forward pass and loss

SURFACES = ("text", "latex", "markdown")
EXAMPLES = ("seed002_chain_rule.py", "seed003_two_layer_sigmoid.py")


def render(name: str, fmt: str, **options):
    derivation = symgrad.derive(load_example(name))
    return derivation, symgrad.render(derivation, fmt, **options)


def equations(fmt: str, output: str) -> dict[str, list[list[str]]]:
    """lhs → the parts of each equation with that lhs (in order), minus signs made ASCII."""
    found = text_equations(output) if fmt == "text" else latex_equations(output)
    out: dict[str, list[list[str]]] = {}
    for lhs, _, parts in found:
        out.setdefault(lhs, []).append([p.replace("−", "-") for p in parts])
    return out


def printed(fmt: str, symbol) -> str:
    printer = TextPrinter() if fmt == "text" else LatexPrinter()
    return printer.doprint(symbol)


def number(value, digits: int = 4) -> str:
    return format_number(float(value), digits)


def quantities(derivation) -> dict[sympy.Symbol, str]:
    """Every quantity a worked example gives a value: nodes, local gradients, adjoints."""
    out = {node.symbol: node.name for node in derivation.nodes}
    for local in derivation.locals:
        if local.symbol is not None:
            out[local.symbol] = local.symbol.name
    for adjoint in derivation.adjoints:
        if not adjoint.is_loss:
            out[adjoint.symbol] = adjoint.symbol.name
    return out


@pytest.mark.parametrize("fmt", SURFACES)
def test_seed003_forward_pass_prints_the_notes_values(fmt):
    _, output = render("seed003_two_layer_sigmoid.py", fmt)
    found = equations(fmt, output)
    for name, value in SEED003_PRINTED.items():
        lhs = printed(fmt, sympy.Symbol(name))
        assert found[lhs][-1][-1] == value, (name, found[lhs])
    # z₁ as the note writes it: definition = numbers substituted = value
    z1 = found[printed(fmt, sympy.Symbol("z1"))][-1]
    times = " · " if fmt == "text" else r" \times "
    assert z1[-2] == f"0.4352{times}1 + 0.3545{times}1 + (-0.1419)"


@pytest.mark.parametrize("fmt", SURFACES)
@pytest.mark.parametrize("example", EXAMPLES)
def test_every_value_is_autograds(fmt, example, torch):
    """Each equation ends in its quantity's value: node, local gradient, adjoint, update; each
    is the correctly rounded float64 value autograd computes."""
    derivation, output = render(example, fmt, lr=1.0)
    oracle = torch_values(derivation, dict(derivation.example), lr=1.0)
    found = equations(fmt, output)
    nodes = {node.symbol for node in derivation.nodes}
    checked = 0
    for symbol, code in quantities(derivation).items():
        lhs = printed(fmt, symbol)
        assert lhs in found, (lhs, sorted(found))
        for parts in found[lhs]:
            if symbol in nodes and len(parts) == 1:
                continue  # the model's definition, before any number
            assert parts[-1] == number(oracle[code]), (lhs, parts, oracle[code])
            checked += 1
    for name in derivation.wrt:
        (parts,) = found[printed(fmt, derivation.symbol(name))]
        assert parts[-1] == number(oracle[f"__updated_{name}"]), (name, parts)
        checked += 1
    assert checked >= len(derivation.nodes) + len(derivation.wrt)


@pytest.mark.parametrize("fmt", SURFACES)
@pytest.mark.parametrize("example", EXAMPLES)
@pytest.mark.parametrize("digits", [4, 6])
def test_no_printed_number_without_a_source(fmt, example, digits, torch):
    """Every decimal printed is the rounding of a point value, the learning rate or a value
    autograd computes: nothing is made up or rounded twice."""
    derivation, output = render(example, fmt, lr=0.5, digits=digits)
    oracle = torch_values(derivation, dict(derivation.example), lr=0.5)
    scalars = [float(v) for v in oracle.values() if getattr(v, "ndim", 0) == 0]
    # −z₁ in e^{−z₁} is printed as the negated value
    sources = {number(sign * v, digits) for v in scalars for sign in (1, -1)}
    sources |= {number(v, digits) for v in derivation.example.values()}
    sources |= {number(0.5, digits)}
    shown = decimals(output)
    assert shown
    assert set(shown) <= sources, set(shown) - sources


@pytest.mark.parametrize("fmt", SURFACES)
def test_chain_products_substitute_the_values_before_them(fmt, torch):
    """∂L/∂z₃ = ∂L/∂σ₃ · ∂σ₃/∂z₃ = 1.7107 · 0.2428 = 0.4154: the numbers are the upstream
    adjoint and the local gradient, in that order, negative ones in parentheses."""
    derivation, output = render("seed003_two_layer_sigmoid.py", fmt)
    oracle = torch_values(derivation, dict(derivation.example))
    found = equations(fmt, output)
    times = " · " if fmt == "text" else r" \times "

    def shown(value):
        text = number(value)
        return f"({text})" if text.startswith("-") else text

    chains = 0
    for adjoint in derivation.adjoints:
        if adjoint.is_loss or adjoint.terms[0].upstream is None:
            continue
        (term,) = adjoint.terms
        (parts,) = found[printed(fmt, adjoint.symbol)]
        expected = shown(oracle[term.upstream.name]) + times + shown(oracle[term.local.symbol.name])
        assert parts[-2] == expected, (adjoint.name, parts)
        chains += 1
    assert chains == len(derivation.adjoints) - 2  # all but the loss and ∂L/∂σ₃


def test_seed002_reproduces_the_lectures_chain():
    """∂loss/∂s = 2s = −2, ∂loss/∂ŷ = −2 × 1 = −2, ∂loss/∂w = −2 × x = −2 × 1 = −2."""
    _, latex = render("seed002_chain_rule.py", "latex")
    found = equations("latex", latex)
    frac = r"\frac{\partial \mathrm{loss}}{\partial %s}"
    assert found[frac % "s"] == [["2 s", r"2 \times (-1)", "-2"]]
    assert found[frac % r"\hat{y}"] == [
        [frac % "s" + r" \times " + r"\frac{\partial s}{\partial \hat{y}}", r"(-2) \times 1", "-2"]
    ]
    assert found[r"\frac{\partial \hat{y}}{\partial w}"] == [["x", "1"]]
    assert found[frac % "w"] == [
        [frac % r"\hat{y}" + r" \times " + r"\frac{\partial \hat{y}}{\partial w}",
         r"(-2) \times 1", "-2"]
    ]  # fmt: skip
    _, text = render("seed002_chain_rule.py", "text")
    assert "  ∂loss/∂s = 2s = 2 · (−1) = −2\n" in text
    assert "  ∂loss/∂ŷ = ∂loss/∂s · ∂s/∂ŷ = (−2) · 1 = −2\n" in text
    assert "  ∂loss/∂w = ∂loss/∂ŷ · ∂ŷ/∂w = (−2) · 1 = −2\n" in text


def test_seed003_update_with_lr_1_matches_torch_sgd(torch):
    """optimizer.step() with SGD(lr=1): W₅ from −0.1725 to −0.4452, as the note's run."""
    _, latex = render("seed003_two_layer_sigmoid.py", "latex", lr=1.0)
    assert (
        r"W_{5} &\leftarrow W_{5} - \alpha \frac{\partial L}{\partial W_{5}}"
        r" = -0.1725 - 1 \times 0.2727 = -0.4452" in latex
    )
    net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Sigmoid(), torch.nn.Linear(2, 1),
                              torch.nn.Sigmoid()).double()  # fmt: skip
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[0.4352, 0.3545], [0.1951, 0.4835]]))
        net[0].bias.copy_(torch.tensor([-0.1419, 0.0439]))
        net[2].weight.copy_(torch.tensor([[-0.1725, 0.1129]]))
        net[2].bias.copy_(torch.tensor([-0.3043]))
    optimizer = torch.optim.SGD(net.parameters(), lr=1)
    x = torch.tensor([[1.0, 1.0]], dtype=torch.float64)
    torch.nn.BCELoss()(net(x), torch.zeros(1, 1, dtype=torch.float64)).backward()
    optimizer.step()
    found = equations("latex", latex)
    after = {"W5": net[2].weight[0, 0], "W6": net[2].weight[0, 1], "b3": net[2].bias[0],
             "W1": net[0].weight[0, 0], "b1": net[0].bias[0]}  # fmt: skip
    for name, value in after.items():
        assert found[printed("latex", sympy.Symbol(name))][-1][-1] == number(value.item()), name


@pytest.mark.parametrize("fmt", SURFACES)
def test_symbolic_has_the_same_structure_without_numbers(fmt):
    _, numeric = render("seed003_two_layer_sigmoid.py", fmt, lr=1.0)
    _, symbolic = render("seed003_two_layer_sigmoid.py", fmt, lr=1.0, symbolic=True)
    assert not decimals(symbolic)
    for title in ("Model", "Loss", "Backward pass", "Gradients", "Update"):
        assert title in symbolic and title in numeric
    found = equations(fmt, symbolic)
    dz3 = printed(fmt, Partial("L", "z3"))
    assert len(found[dz3][0]) == 1  # the chain, and nothing after it
    # the gradient table gives each gradient as a formula in the named nodes
    assert ("∂L/∂z₃ · σ₁" if fmt == "text" else r"\partial L/\partial z_{3} \times \sigma_{1}") in (
        symbolic
    )


def test_a_model_without_an_example_renders_symbolically(tmp_path):
    model = symgrad.Model("no_point")
    w = model.params("w")
    model.loss("L", (w - 1) ** 2)
    for fmt in SURFACES:
        output = symgrad.render(symgrad.derive(model), fmt, lr=0.1)
        assert not decimals(output)
        assert "Update" in output


def test_digits_round_the_float64_values(torch):
    derivation, text = render("seed003_two_layer_sigmoid.py", "text", digits=6)
    oracle = torch_values(derivation, dict(derivation.example))
    found = equations("text", text)
    assert found["σ₁"][-1][-1] == number(oracle["sigma1"], 6) == "0.656515"
    assert found["L"][-1][-1] == "0.536884"


def shared_model():
    """w feeds two nodes, so ∂L/∂w is a sum over two consumers."""
    m = symgrad.Model("shared")
    x = m.inputs("x")
    w = m.params("w")
    a = m.node("a", w * x)
    b = m.node("b", w**2)
    m.loss("L", a * b + symgrad.sigmoid(a))
    m.example(x=1.5, w=-0.7)
    return m


@pytest.mark.parametrize("fmt", SURFACES)
def test_a_sum_over_consumers_is_shown_term_by_term(fmt, torch):
    derivation = symgrad.derive(shared_model())
    output = symgrad.render(derivation, fmt)
    oracle = torch_values(derivation, dict(derivation.example))
    (parts,) = equations(fmt, output)[printed(fmt, Partial("L", "w"))]
    chain, products, terms, value = parts
    assert chain.count("+") == 1
    # the two terms are ∂L/∂a · ∂a/∂w and ∂L/∂b · ∂b/∂w, each the product of autograd's values
    first = oracle["dL_da"] * oracle["da_dw"]
    second = oracle["dL_db"] * oracle["db_dw"]
    second_shown = number(second)
    if second_shown.startswith("-"):
        second_shown = f"({second_shown})"
    assert terms == f"{number(first)} + {second_shown}", terms
    assert value == number(oracle["dL_dw"])
    assert products.count(r"\times" if fmt != "text" else "·") == 2
    # a function of a negative value: the function's own parentheses are enough
    assert ("σ(−1.0500)" if fmt == "text" else r"\sigma(-1.0500)") in output


def test_batched_example_shows_values_and_reduced_gradients(torch):
    derivation, text = render("seed001_linear_regression.py", "text", lr=0.01)
    oracle = torch_values(derivation, dict(derivation.example), lr=0.01)
    assert "∂loss/∂W  −28" in text and "∂loss/∂b  −12" in text
    assert oracle["__gradient_W"] == -28 and oracle["__gradient_b"] == -12
    # W ← W − α ∂loss/∂W with the mean gradient over the batch
    assert "W ← W − α · ∂loss/∂W = 0 − 0.0100 · (−28) = 0.2800" in text
    assert "pred = Wx + b = [0, 0, 0]" in text


@pytest.mark.slow
def test_closed_forms_are_the_gradients(torch):
    """Each closed form, evaluated at the point by SymPy, is autograd's gradient."""
    derivation = symgrad.derive(load_example("seed003_two_layer_sigmoid.py"))
    example = symgrad.rendering.worked_example(derivation, closed_form=True)
    oracle = torch_values(derivation, dict(derivation.example))
    closed = example.section("closed")
    assert [eq.lhs for eq in closed.equations] == [derivation.adjoint(n).symbol for n in
                                                   derivation.wrt]  # fmt: skip
    point = {derivation.symbol(k): v for k, v in derivation.example.items()}
    for name, equation in zip(derivation.wrt, closed.equations, strict=True):
        (form,) = equation.forms
        assert not any(isinstance(s, Partial) for s in form.free_symbols)
        value = float(form.xreplace(point).evalf(30))
        assert value == pytest.approx(oracle[f"__gradient_{name}"], rel=1e-12)
    latex = symgrad.render(derivation, "latex", closed_form=True)
    assert "Closed form" in latex
    assert re.search(r"\\frac\{\\partial L\}\{\\partial b_\{3\}\} &= \\sigma\(", latex)


@pytest.mark.parametrize("fmt", SURFACES)
def test_korean_prose(fmt):
    _, output = render("seed003_two_layer_sigmoid.py", fmt, lr=1.0, lang="ko")
    for word in ("순전파", "손실", "역전파", "기울기", "가중치 갱신", "학습률"):
        assert word in output, word
    for word in ("Forward pass", "Backward pass", "Update"):
        assert word not in output


def test_bad_options_are_one_clear_error():
    derivation = symgrad.derive(load_example("seed002_chain_rule.py"))
    cases = [
        ({"fmt": "html"}, "unknown format 'html'"),
        ({"lang": "fr"}, "unknown language 'fr'"),
        ({"fmt": "markdown", "standalone": True}, "standalone applies to LaTeX"),
        ({"lr": float("nan")}, "learning rate must be a finite number"),
    ]
    for options, message in cases:
        fmt = options.pop("fmt", "text")
        with pytest.raises(symgrad.SymgradError, match=message):
            symgrad.render(derivation, fmt, **options)


def test_jupyter_representations():
    derivation = symgrad.derive(load_example("seed003_two_layer_sigmoid.py"))
    markdown = derivation._repr_markdown_()
    assert markdown == symgrad.render(derivation, "markdown")
    latex = derivation._repr_latex_()
    assert latex.startswith("$$\n\\begin{aligned}") and latex.endswith("\\end{aligned}\n$$")
    assert "= 0.6478" in latex and r"\textbf{Backward pass}" in latex


def test_wrapped_lines_fit_and_keep_every_term():
    """LatexPrinter.wrap breaks a long sum and a long product into lines of the given width
    (in estimated ems) and loses nothing: the lines joined are the formula, with its sized
    parentheses spelled \\bigl( \\bigr) where a group spans lines."""
    xs = sympy.symbols("x1:25", real=True)
    long_sum = sum((i + 1) * x for i, x in enumerate(xs))
    product = sympy.Mul(*[symgrad.sigmoid(x + 1) for x in xs[:10]])
    printer = LatexPrinter()
    for expr in (long_sum, product, symgrad.tanh(long_sum) ** 2):
        lines = printer.wrap(expr, 30)
        assert len(lines) > 1
        assert all(visual_width(line) <= 30 for line in lines), lines
        joined = " ".join(lines).replace(r"\bigl(", "(").replace(r"\bigr)", ")")
        joined = re.sub(r"\\times (?=\\sigma)", "", joined)  # × repeated at a broken product
        assert re.sub(r"\s", "", joined) == re.sub(r"\s", "", printer.doprint(expr))


def test_numbered_names_in_natural_order():
    xs = sympy.symbols("x1:13", real=True)
    printed = TextPrinter().doprint(sum(xs))
    assert printed.startswith("x₁ + x₂ + x₃") and printed.endswith("x₁₀ + x₁₁ + x₁₂")


def test_closed_forms_left_unsimplified_are_said_so(monkeypatch):
    monkeypatch.setattr(symgrad.rendering.worked, "CLOSED_FORM_SECONDS", 0.0)
    derivation = symgrad.derive(load_example("seed002_chain_rule.py"))
    text = symgrad.render(derivation, "text", closed_form=True)
    assert "Closed form (not simplified in time, shown as substituted: w)" in text
    # substituted, not simplified: the chain's factors as they were
    assert "∂loss/∂w = 2x(wx − y) = −2" in text


def test_batched_closed_forms_are_per_sample():
    _, text = render("seed001_linear_regression.py", "text", closed_form=True)
    assert "∂loss/∂W = 2x(Wx + b − y) = [−6, −24, −54]" in text


def _squared_error_of_a_sigmoid():
    m = symgrad.Model("linear")
    x1, x2, y = m.inputs("x1 x2 y")
    w1, w2, b = m.params("w1 w2 b")
    y_pred = m.node("y_pred", w1 * x1 + w2 * x2 + b)
    h = m.node("h", symgrad.sigmoid(y_pred))
    m.loss("loss", (h - y) ** 2)
    m.example(x1=1.0, x2=2.0, y=1.0, w1=0.5, w2=-0.5, b=0.1)
    return symgrad.derive(m)


def test_a_derivative_is_written_factored_as_a_textbook_writes_it():
    d = _squared_error_of_a_sigmoid()
    text = symgrad.render(d, "text")
    h = 1 / (1 + math.exp(0.4))  # σ(0.1 + 0.5 − 1)
    worked = f"∂loss/∂h = 2(h − y) = 2 · ({h:.4f} − 1) = {2 * (h - 1):.4f}".replace("-", "−")
    assert worked in text  # and its value is the derivative's: 2(σ − y)
    latex = symgrad.render(d, "latex")
    assert (
        r"\frac{\partial \mathrm{loss}}{\partial h} &= 2 (h - y) = 2 \times (0.4013 - 1)" in latex
    )
    # one sample's loss: the batch's reduction is said as such, not as this line's meaning
    assert "loss: loss (per sample; a batch takes the mean)" in text


def test_wrt_works_out_only_what_the_chosen_gradients_need():
    d = symgrad.derive(load_example("seed003_two_layer_sigmoid.py"), wrt=["W5", "b3"])
    assert [a.name for a in d.adjoints] == ["L", "sigma3", "z3", "W5", "b3"]
    text = symgrad.render(d, "text")
    for needless in ("∂L/∂σ₁", "∂L/∂σ₂", "∂L/∂z₁", "∂L/∂z₂"):
        assert needless not in text
    full = symgrad.verify(load_example("seed003_two_layer_sigmoid.py"), points=1)
    pruned = symgrad.verify(d, points=1)
    assert pruned.ok and full.ok
    everything = symgrad.compile(symgrad.derive(load_example("seed003_two_layer_sigmoid.py")))
    point = d.example
    _, want = everything(**point)
    _, got = symgrad.compile(d)(**point)
    assert set(got) == {"W5", "b3"} and all(got[n] == want[n] for n in got)


def test_symbolic_keeps_every_node_of_the_forward_pass():
    d = symgrad.derive(load_example("seed003_two_layer_sigmoid.py"))
    forward = symgrad.render(d, "text", symbolic=True).split("Forward pass")[1].split("Loss")[0]
    assert [line.split(" = ")[0].strip() for line in forward.strip().splitlines()] == [
        "z₁",
        "z₂",
        "σ₁",
        "σ₂",
        "z₃",
        "σ₃",
    ]


def _display_rows(markdown: str, section: str) -> list[str]:
    """The rows of a section's display in rendered Markdown."""
    block = markdown.split(f"## {section}")[1].split("$$")[1]
    body = block.strip().removeprefix("\\begin{aligned}").removesuffix("\\end{aligned}")
    return [row.strip() for row in re.split(r"\\\\(?:\[\d+pt\])?\n", body.strip())]


def test_a_narrower_page_breaks_more_and_every_right_side_starts_after_the_widest_left():
    """``width`` is the room a row may take: the forward pass of note 003 takes more rows at a
    phone's 15 ems than at a page's 38, and every row, its left-hand column included (the
    widest left side of the display), fits the room by symgrad's estimate."""
    d = symgrad.derive(load_example("seed003_two_layer_sigmoid.py"))
    counts = {}
    for width in (38, 29, 15):
        rows = _display_rows(symgrad.render(d, "markdown", width=width), "Forward pass")
        column = max(visual_width(row.split("&")[0]) for row in rows)
        for row in rows:
            assert column + visual_width(row.split("&", 1)[1]) <= width, (width, row)
        counts[width] = len(rows)
    assert counts[38] < counts[29] < counts[15]
    # the same numbers whatever the width: only the breaks differ
    wide, narrow = (symgrad.render(d, "markdown", width=w) for w in (38, 15))
    assert decimals(wide) == decimals(narrow)


def test_a_broken_matrix_product_keeps_its_parentheses():
    """xᵀ(∂loss/∂hidden ⊙ 𝟙[xw₁ > 0]) broken across rows is still that product (it printed
    xᵀ ∂loss/∂hidden ⊙ 𝟙[…], which reads as (xᵀ ∂loss/∂hidden) ⊙ 𝟙[…])."""
    d = symgrad.derive(load_example("seed004_relu_mlp.py"))
    rows = _display_rows(symgrad.render(d, "markdown", width=15), "Backward pass")
    start = next(
        i
        for i, row in enumerate(rows)
        if row.startswith(r"\frac{\partial \mathrm{loss}}{\partial w_{1}}")
    )
    joined = " ".join(
        row.split("&", 1)[1].replace(r"\qquad", "") for row in rows[start : start + 3]
    )
    want = r"= x^{\top}\,\left(\frac{\partial \mathrm{loss}}{\partial \mathrm{hidden}} \odot \mathbf{1}\left[x\,w_{1} > 0\right]\right) \in \mathbf{R}^{1000 \times 100}"
    assert re.sub(r"\s|\\,", "", joined) == re.sub(r"\s|\\,", "", want)


def test_a_partial_derivative_stays_stacked_when_its_row_breaks():
    """∂loss/∂linear.weight cannot break inside: written out inline it is only wider."""
    d = symgrad.derive(load_example("seed000_torch.py"))
    rows = _display_rows(symgrad.render(d, "markdown", lr=0.01, width=15), "Update")
    assert r"\frac{\partial \mathrm{loss}}{\partial \mathrm{linear.weight}}" in " ".join(rows)
    assert "bigm/" not in " ".join(rows)


def test_vectors_and_matrices_share_their_brackets():
    d = symgrad.derive(load_example("seed003_torch.py"))
    latex = symgrad.render(d, "latex", only="backward")
    assert r"\begin{bmatrix} -0.0162 & -0.0162 \\ 0.0103 & 0.0103 \end{bmatrix}" in latex
    assert r"\left[-0.0162, 0.0103\right]" in latex  # the bias's gradient, a vector
    assert "pmatrix" not in latex


def test_rows_of_stacked_fractions_are_spaced_apart():
    """A row break next to a row with a stacked fraction gets a small gap; plain rows do not."""
    d = symgrad.derive(load_example("seed003_two_layer_sigmoid.py"))
    latex = symgrad.render(d, "latex", only="forward")
    assert r"z_{1} &= W_{1} x_{1}" in latex
    assert re.search(r"= 0\.6478 \\displaybreak\[0\]\\\\\n", latex)  # z₁ then z₂: no gap
    assert re.search(r"= 0\.7225 \\displaybreak\[0\]\\\\\[3pt\]\n\\sigma_{1}", latex)
    markdown = symgrad.render(d, "markdown", only="backward")
    assert markdown.count(r"\\[3pt]") == len(_display_rows(markdown, "Backward pass")) - 1


def test_width_is_checked():
    d = symgrad.derive(load_example("seed002_chain_rule.py"))
    for options, message in [
        ({"fmt": "text", "width": 20}, "width applies to LaTeX and Markdown"),
        ({"fmt": "markdown", "width": 3}, "width must be a number of ems from 10 to 200"),
        ({"fmt": "latex", "width": "wide"}, "width must be a number of ems"),
    ]:
        fmt = options.pop("fmt")
        with pytest.raises(symgrad.SymgradError, match=message):
            symgrad.render(d, fmt, **options)


def test_slides_split_a_long_part_evenly():
    """Note 003's nine updates, each a row of stacked fractions (two rows high), need two
    frames: five and four, not four, four and one left over."""
    d = symgrad.derive(load_example("seed003_two_layer_sigmoid.py"))
    slides = symgrad.render(d, "latex", slides=True, lr=1.0, only="update")
    frames = re.findall(r"\\begin\{frame\}\{(.*?)\}\n.*?\\end\{frame\}", slides, re.S)
    bodies = re.findall(r"\\begin\{frame\}.*?\\end\{frame\}", slides, re.S)
    assert [title.rsplit(" ", 1)[-1] for title in frames] == ["(1/2)", "(2/2)"]
    assert [body.count(r"\leftarrow") for body in bodies] == [5, 4]
