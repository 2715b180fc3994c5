"""Second order: the Hessian of scalar models against torch.autograd.functional.hessian, and
Hessian-vector products of tensor models against torch.func."""

import ast
from pathlib import Path

import numpy as np
import pytest
import sympy

import symgrad
from symgrad import Model, SymgradError, hessian
from symgrad import tensors as T
from symgrad.loader import load_model

from .conftest import load_example
from .support.corpus import corpus_paths, reference_of

CORPUS = Path(__file__).parent / "corpus"

torch = pytest.importorskip("torch")


def seed003_loss(names, point):
    def f(p):
        v = {
            **{k: torch.tensor(x, dtype=torch.float64) for k, x in point.items()},
            **dict(zip(names, p, strict=True)),
        }
        z1 = v["W1"] * v["x1"] + v["W2"] * v["x2"] + v["b1"]
        z2 = v["W3"] * v["x1"] + v["W4"] * v["x2"] + v["b2"]
        s3 = torch.sigmoid(v["W5"] * torch.sigmoid(z1) + v["W6"] * torch.sigmoid(z2) + v["b3"])
        return -(v["y"] * torch.log(s3) + (1 - v["y"]) * torch.log(1 - s3))

    return f


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_seed003_hessian_equals_autograd(backend):
    d = symgrad.derive(load_example("seed003_two_layer_sigmoid.py"))
    order = symgrad.hessian(load_example("seed003_two_layer_sigmoid.py"))
    H = order.compile(backend).hessian(**d.example)
    start = torch.tensor([d.example[n] for n in d.wrt], dtype=torch.float64)
    expected = torch.autograd.functional.hessian(seed003_loss(d.wrt, d.example), start).numpy()
    assert H.shape == (9, 9)
    np.testing.assert_allclose(H, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(H, H.T, atol=1e-15)


def test_hessian_entries_in_terms_of_the_forward_nodes():
    d = symgrad.derive(load_example("seed003_two_layer_sigmoid.py"))
    order = hessian(d)
    sigma1, sigma3 = d.symbol("sigma1"), d.symbol("sigma3")
    # ∂²L/∂W5² = σ₁² σ₃(1 − σ₃) for a sigmoid output with BCE
    assert sympy.simplify(order.entry("W5", "W5") - sigma1**2 * sigma3 * (1 - sigma3)) == 0
    H = order.compile().hessian(**d.example)
    values = {**d.example, **symgrad.compile(d).trace(**d.example).values}
    for i, row in enumerate(d.wrt):
        for j, col in enumerate(d.wrt):
            entry = order.entry(row, col)
            number = float(entry.subs({s: values[s.name] for s in entry.free_symbols}))
            assert number == pytest.approx(H[i, j], rel=1e-10, abs=1e-14), (row, col)


def test_hessian_of_a_batched_scalar_model_is_the_mean_of_the_per_sample_ones():
    d = symgrad.derive(load_example("seed001_linear_regression.py"))
    H = hessian(d).compile().hessian(**d.example)
    # loss = mean((W x + b − y)²): H = 2 mean([[x², x], [x, 1]]) with x = 1, 2, 3
    np.testing.assert_allclose(H, 2 * np.array([[14 / 3, 2.0], [2.0, 1.0]]), rtol=1e-14)


def test_seed004_hessian_vector_product_equals_torch_func():
    d = symgrad.derive(load_example("seed004_relu_mlp.py"))
    rng = np.random.default_rng(0)
    v = {"w1": rng.normal(size=(1000, 100)), "w2": rng.normal(size=(100, 2))}
    for backend in ("numpy", "torch"):
        hv = hessian(d).compile(backend).hvp(v, **d.example)
        x, y = torch.tensor(d.example["x"]), torch.tensor(d.example["y"])

        def f(w1, w2, x=x, y=y):
            return ((torch.relu(x @ w1) @ w2 - y) ** 2).sum()

        primal = (torch.tensor(d.example["w1"]), torch.tensor(d.example["w2"]))
        _, expected = torch.func.jvp(
            torch.func.grad(f, argnums=(0, 1)),
            primal,
            (torch.tensor(v["w1"]), torch.tensor(v["w2"])),
        )
        for name, want in zip(("w1", "w2"), expected, strict=True):
            got = hv[name].numpy() if backend == "torch" else hv[name]
            assert np.abs(got - want.numpy()).max() <= 1e-10 * np.abs(want.numpy()).max()


def test_hessian_vector_product_through_softmax_logdet_and_inverse():
    m = Model("curvy")
    Z = m.param("Z", (3, 4))
    A = m.param("A", (3, 3))
    Y = m.input("Y", (3, 4))
    eye = T.Tensor(sympy.Identity(3))
    S = A @ A.T + eye
    m.loss(
        "L",
        T.sum(T.log_softmax(Z) * Y) + T.logdet(S) + T.sum(T.inv(S)) + T.sum(symgrad.tanh(Z) ** 3),
    )
    rng = np.random.default_rng(2)
    m.example(Z=rng.normal(size=(3, 4)), A=rng.normal(size=(3, 3)), Y=rng.normal(size=(3, 4)))
    d = symgrad.derive(m)
    v = {"Z": rng.normal(size=(3, 4)), "A": rng.normal(size=(3, 3))}
    hv = hessian(d).compile().hvp(v, **d.example)

    def f(Z, A):
        y = torch.tensor(d.example["Y"])
        S = A @ A.T + torch.eye(3, dtype=torch.float64)
        return (
            (torch.log_softmax(Z, 1) * y).sum()
            + torch.logdet(S)
            + torch.linalg.inv(S).sum()
            + (torch.tanh(Z) ** 3).sum()
        )

    primal = (torch.tensor(d.example["Z"]), torch.tensor(d.example["A"]))
    _, expected = torch.func.jvp(
        torch.func.grad(f, argnums=(0, 1)), primal, (torch.tensor(v["Z"]), torch.tensor(v["A"]))
    )
    for name, want in zip(("Z", "A"), expected, strict=True):
        np.testing.assert_allclose(hv[name], want.numpy(), rtol=1e-10, atol=1e-12)


def test_second_order_of_the_spectral_norm_is_refused():
    m = Model("spectral")
    A = m.param("A", (3, 3))
    m.loss("L", T.norm(A, 2))
    with pytest.raises(SymgradError, match="no proven rule to differentiate u₁v₁ᵀ"):
        symgrad.hessian(m)


def test_a_hessian_too_large_to_form_is_refused_by_its_size():
    d = symgrad.derive(load_example("seed004_relu_mlp.py"))
    with pytest.raises(SymgradError, match=r"100,200 × 100,200 \(74.8 GiB\); hvp\(\) gives"):
        hessian(d).compile().hessian(**d.example)


def _torch_hessian(d, functions, point):
    """torch.autograd.functional.hessian of the corpus file's own PyTorch version of the model
    (``reference()``), over the flattened entries of ``wrt``: the oracle, sharing nothing with
    symgrad's second derivative."""
    import inspect

    sizes = [int(np.prod(np.shape(point[name]))) for name in d.wrt]

    def loss(flat):
        tensors = {name: torch.tensor(np.asarray(v, dtype=np.float64)) for name, v in point.items()}
        for name, piece in zip(d.wrt, torch.split(flat, sizes), strict=True):
            tensors[name] = piece.reshape(np.shape(point[name]))
        for node in d.nodes:
            function = functions[node.name]
            tensors[node.name] = function(
                *[tensors[a] for a in inspect.signature(function).parameters]
            )
        return tensors[d.loss.name]

    flat = torch.cat(
        [torch.tensor(np.asarray(point[n], dtype=np.float64)).reshape(-1) for n in d.wrt]
    )
    return torch.autograd.functional.hessian(loss, flat).numpy()


EVERYDAY_CORPUS = ("logreg_l2", "attention", "lstm", "layernorm", "conv1d_slicing")


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(p, marks=() if p.stem in EVERYDAY_CORPUS else pytest.mark.slow, id=p.stem)
        for p in corpus_paths()
    ],
)
def test_the_closed_form_hessian_of_every_corpus_model_equals_torch(path):
    """The full Hessian of a tensor model, read off H·v in closed form, over the flattened
    variables in wrt order (jax.hessian's layout), is torch's."""
    d = symgrad.derive(load_model(str(path)))
    point = {name: np.asarray(value, dtype=np.float64) for name, value in d.example.items()}
    got = hessian(d).compile().hessian(**point)
    want = _torch_hessian(d, reference_of(path), point)
    assert got.shape == want.shape == (sum(np.size(point[n]) for n in d.wrt),) * 2
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9 * np.abs(want).max())


def test_the_logistic_regression_hessian_is_its_textbook_closed_form():
    """L = mean BCE(σ(Xw + b), y) + λ/2‖w‖²: H = X̃ᵀ diag(p(1 − p)) X̃/N + diag(λ, …, λ, 0),
    with X̃ = [X 1], computed here from the formula alone."""
    d = symgrad.derive(load_model(str(CORPUS / "logreg_l2.py")))
    point = {name: np.asarray(value, dtype=np.float64) for name, value in d.example.items()}
    X, w, b = point["X"], point["w"], point["b"]
    with_bias = np.hstack([X, np.ones((len(X), 1))])
    p = 1 / (1 + np.exp(-(X @ w + b)))
    textbook = with_bias.T @ (p * (1 - p) * with_bias) / len(X) + np.diag([0.1] * 3 + [0.0])
    for backend in ("numpy", "torch"):
        got = hessian(d).compile(backend).hessian(**point)
        got = got.numpy() if backend == "torch" else got
        np.testing.assert_allclose(got, textbook, rtol=1e-13, atol=1e-15)


def test_an_operation_without_a_linear_map_rule_is_named():
    m = Model("conv")
    x = m.input("x", (2, 3, 9))
    w = m.param("w", (4, 3, 3))
    m.loss("L", T.sum(symgrad.tanh(symgrad.conv1d(x, w))))
    rng = np.random.default_rng(0)
    m.example(x=rng.normal(size=(2, 3, 9)), w=rng.normal(size=(4, 3, 3)))
    d = symgrad.derive(m)
    with pytest.raises(SymgradError, match=r"no rule yet for Conv.*hvp\(\) gives"):
        hessian(d).compile().hessian(**d.example)
    assert hessian(d).compile().hvp({"w": np.ones((4, 3, 3))}, **d.example)["w"].shape == (4, 3, 3)


def test_hessian_section_prints_the_numbers_autograd_gives():
    d = symgrad.derive(load_example("seed003_two_layer_sigmoid.py"), wrt="W5,W6,b3")
    text = symgrad.render(d, "text", hessian=True)
    names = ["W5", "W6", "b3"]
    start = torch.tensor([d.example[n] for n in names], dtype=torch.float64)
    H = torch.autograd.functional.hessian(seed003_loss(names, d.example), start).numpy()
    labels = {"W5": "W₅", "W6": "W₆", "b3": "b₃"}
    for i, a in enumerate(names):
        for j, b in enumerate(names[i:], start=i):
            below = f"∂{labels[a]}²" if a == b else f"∂{labels[a]}∂{labels[b]}"
            line = next(
                line for line in text.splitlines() if line.strip().startswith(f"∂²L/{below} =")
            )
            printed = line.rsplit("= ", 1)[1]
            assert printed == f"{H[i, j]:.4f}".replace("-", "−"), line
    matrix_line = next(line for line in text.splitlines() if line.strip().startswith("∇²L ="))
    assert matrix_line.count("[") == 4  # a 3×3 matrix


def test_hessian_section_compiles_and_parses(pdflatex, tmp_path):
    for name in ("seed002_chain_rule.py", "seed003_two_layer_sigmoid.py", "seed003_layers.py"):
        d = symgrad.derive(load_example(name))
        code, log, _ = pdflatex(symgrad.render(d, "latex", standalone=True, hessian=True), tmp_path)
        assert code == 0, log[-1500:]
        assert not [line for line in log.splitlines() if line.startswith("Overfull \\hbox")]


def test_hessian_section_of_a_tensor_model_prints_hessian_vector_products():
    """The layered seed 003 network: H v for v of ones in every entry, as torch's double
    backward gives it, and Hv = ⟨v, ∇L⟩."""
    d = symgrad.derive(load_example("seed003_layers.py"))
    text = symgrad.render(d, "text", hessian=True)
    point = {k: torch.tensor(np.asarray(v, dtype=np.float64)) for k, v in d.example.items()}
    params = {k: point[k].clone().requires_grad_(True) for k in d.wrt}
    z1 = point["x"] @ params["W1"].T + params["b1"]
    s2 = torch.sigmoid(torch.sigmoid(z1) @ params["W2"].T + params["b2"])
    loss = torch.nn.functional.binary_cross_entropy(s2, point["y"], reduction="sum")
    grads = torch.autograd.grad(loss, list(params.values()), create_graph=True)
    directional = sum(g.sum() for g in grads)  # v = 1 in every entry
    products = torch.autograd.grad(directional, list(params.values()))
    lines = {line.split(" = ")[0].strip(): line for line in text.splitlines() if " = " in line}
    assert lines["v_W1"].endswith("v_W1 = 𝟙 ∈ ℝ²ˣ²") and lines["v_b2"].endswith("= 1 ∈ ℝ¹")
    assert lines["Hv"].endswith(f"= {float(directional.detach()):.4f}".replace("-", "−"))
    labels = {"W1": "W₁", "b1": "b₁", "W2": "W₂", "b2": "b₂"}
    for name, product in zip(d.wrt, products, strict=True):
        printed = lines[f"∂Hv/∂{labels[name]}"].rsplit("= ", 1)[1].replace("−", "-")
        shown = np.array(ast.literal_eval(printed), dtype=np.float64)
        np.testing.assert_allclose(shown.ravel(), product.numpy().ravel(), atol=5.1e-5)
    assert "Hessian-vector products" in text


def test_a_small_tensor_models_worked_hessian_shows_the_matrix_torch_computes():
    """logreg_l2 has 4 entries (w 3×1, b): its --hessian section ends with the 4×4 matrix,
    whose printed numbers are torch's Hessian rounded."""
    path = CORPUS / "logreg_l2.py"
    d = symgrad.derive(load_model(str(path)))
    point = {name: np.asarray(value, dtype=np.float64) for name, value in d.example.items()}
    want = _torch_hessian(d, reference_of(path), point)
    text = symgrad.render(d, "text", hessian=True, only="hessian")
    line = next(row for row in text.splitlines() if row.strip().startswith("∇²L = "))
    rows = "[" + ", ".join("[" + ", ".join(f"{v:.4f}" for v in row) + "]" for row in want) + "]"
    assert line.strip() == "∇²L = " + rows.replace("-", "−")


@pytest.mark.parametrize("case", ["det", "det of WᵀW", "tanh of det · X"])
def test_a_scalar_that_depends_on_v_times_a_constant_matrix(case):
    """H·v of det W holds (Σ v ⊙ W⁻ᵀ) det W · W⁻ᵀ: a scalar linear in v times a matrix that is
    not. It was refused as 'not linear' (found by review); its Hessian is torch's."""
    m = Model("determinant")
    W = m.param("W", (3, 3))
    X = m.input("X", (3, 3))
    if case == "det":
        m.loss("L", T.det(W) + T.sum(X * 0))
    elif case == "det of WᵀW":
        m.loss("L", T.det(W.T @ W) + T.sum(X * 0))
    else:
        m.loss("L", T.sum(symgrad.tanh(T.det(W) * X)))
    rng = np.random.default_rng(1)
    point = {"W": rng.normal(size=(3, 3)), "X": rng.normal(size=(3, 3))}
    m.example(**point)
    got = hessian(symgrad.derive(m)).compile().hessian(**point)
    x = torch.tensor(point["X"])

    def f(flat):
        w = flat.reshape(3, 3)
        if case == "det":
            return torch.det(w)
        if case == "det of WᵀW":
            return torch.det(w.T @ w)
        return torch.tanh(torch.det(w) * x).sum()

    want = torch.autograd.functional.hessian(f, torch.tensor(point["W"]).reshape(-1)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12 * np.abs(want).max())


@pytest.mark.parametrize("shape", [(4, 2), (4,)])
def test_a_batched_product_with_a_variable_has_torchs_hessian(shape):
    """X (2×3×4) @ W, W a matrix or a vector: NumPy's batched matmul, through H·v's reshapes."""
    m = Model("batched")
    W = m.param("W", shape)
    X = m.input("X", (2, 3, 4))
    m.loss("L", T.sum(symgrad.tanh(X @ W)))
    rng = np.random.default_rng(3)
    point = {"W": rng.normal(size=shape), "X": rng.normal(size=(2, 3, 4))}
    m.example(**point)
    got = hessian(symgrad.derive(m)).compile().hessian(**point)
    x = torch.tensor(point["X"])
    want = torch.autograd.functional.hessian(
        lambda w: torch.tanh(x @ w.reshape(shape)).sum(), torch.tensor(point["W"]).reshape(-1)
    ).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12 * np.abs(want).max())


def test_a_value_of_the_wrong_shape_is_named():
    d = symgrad.derive(load_model(str(CORPUS / "logreg_l2.py")))
    point = dict(d.example, X=np.zeros((7, 3)))
    with pytest.raises(SymgradError, match=r"'X' has shape \(7, 3\); model 'logreg_l2' declares"):
        hessian(d).compile().hessian(**point)


VECTOR_MODELS = ["logreg_l2.py", "focal.py", "huber_regression.py"]


@pytest.mark.parametrize("name", VECTOR_MODELS)
def test_the_hessian_blocks_written_as_formulas_evaluate_to_torchs_hessian(name):
    """Each block ∂²L/∂a∂b that the worked example writes as a formula (a model whose
    variables are vectors or numbers), evaluated at the example point, is torch's block."""
    from symgrad.codegen import evaluator
    from symgrad.hessian_formula import hessian_formulas
    from symgrad.second_order import direction_name

    path = CORPUS / name
    d = symgrad.derive(load_model(str(path)))
    point = {n: np.asarray(v, dtype=np.float64) for n, v in d.example.items()}
    want = _torch_hessian(d, reference_of(path), point)
    order = hessian(d)
    formulas = hessian_formulas(order)
    assert formulas is not None and set(formulas) == {(a, b) for a in d.wrt for b in d.wrt}
    zero = {direction_name(n): np.zeros(np.shape(point[n])) for n in d.wrt}
    env = {**point, **symgrad.compile(order.second).trace(**point, **zero).values}
    blocks = list(formulas)
    values = evaluator([formulas[b] for b in blocks], "hessian blocks")(env)
    sizes = [int(np.prod(np.shape(point[n]))) for n in d.wrt]
    offsets = dict(zip(d.wrt, np.cumsum([0, *sizes]).tolist(), strict=False))
    size = dict(zip(d.wrt, sizes, strict=True))
    for (a, b), value in zip(blocks, values, strict=True):
        block = want[offsets[a] : offsets[a] + size[a], offsets[b] : offsets[b] + size[b]]
        got = np.broadcast_to(np.asarray(value, dtype=np.float64), block.shape)
        np.testing.assert_allclose(
            got, block, rtol=1e-9, atol=1e-9 * np.abs(want).max(), err_msg=f"{a}, {b}"
        )


def test_the_logistic_regression_hessian_is_written_as_the_textbook_writes_it():
    """∂²L/∂w² = λ·∂L/∂penalty·I + Xᵀ(c ⊙ X): the penalty's identity and the data's Xᵀ diag(c) X,
    with torch's numbers; b's blocks are the sum and Xᵀ of the same c."""
    path = CORPUS / "logreg_l2.py"
    d = symgrad.derive(load_model(str(path)))
    point = {n: np.asarray(v, dtype=np.float64) for n, v in d.example.items()}
    want = _torch_hessian(d, reference_of(path), point)
    text = symgrad.render(d, "text", hessian=True, only="hessian")
    lines = {row.split(" = ")[0].strip(): row for row in text.splitlines() if " = " in row}
    ww, wb, bb = lines["∂²L/∂w²"], lines["∂²L/∂w∂b"], lines["∂²L/∂b²"]
    assert ww.split(" = ")[1].startswith("0.1000 · ∂L/∂penalty · I + Xᵀ (p ⊙ X ⊙ (1 − p) ⊙")
    assert wb.split(" = ")[1].startswith("Xᵀ (p ⊙ (1 − p) ⊙") and "∈ ℝ³ˣ¹" in wb
    assert bb.split(" = ")[1].startswith("sum(p ⊙ (1 − p) ⊙")
    shown = np.array(ast.literal_eval(ww.rsplit(" = ", 1)[1].replace("−", "-")))
    np.testing.assert_allclose(shown, want[:3, :3], atol=5.1e-5)
    assert float(bb.rsplit(" = ", 1)[1].replace("−", "-")) == pytest.approx(want[3, 3], abs=5e-5)


def test_a_matrix_variable_has_no_block_formula_but_keeps_its_products():
    """W's entries are not one column: its Jacobians would need Kronecker products, so the
    section keeps to Hessian-vector products (and the matrix, when small)."""
    d = symgrad.derive(load_example("seed003_layers.py"))
    text = symgrad.render(d, "text", hessian=True, only="hessian")
    assert "∂Hv/∂W₁" in text and "∂²L/∂W₁" not in text


def test_the_hessian_blocks_compile_in_latex(pdflatex, tmp_path):
    d = symgrad.derive(load_model(str(CORPUS / "logreg_l2.py")))
    code, log, _ = pdflatex(symgrad.render(d, "latex", standalone=True, hessian=True), tmp_path)
    assert code == 0, log[-1500:]
    assert not [line for line in log.splitlines() if line.startswith("Overfull \\hbox")]


@pytest.mark.parametrize("case", ["exp(x + b²)", "tanh(c·Xw) + c²"])
def test_a_number_reaching_the_loss_through_a_vector_and_directly_has_torchs_blocks(case):
    """b's block is a sum over the vector's entries plus a number: written as sum(…) + …, a
    number (a 1 × 1 𝟙ᵀ(…) beside a number raised SymPy's TypeError; found by review)."""
    from symgrad.codegen import evaluator
    from symgrad.hessian_formula import hessian_formulas
    from symgrad.second_order import direction_name

    m = Model("k")
    rng = np.random.default_rng(3)
    if case == "exp(x + b²)":
        x = m.input("x", shape=(5, 1))
        b = m.param("b")
        m.loss("L", T.sum(symgrad.exp(x + b**2)))
        point = {"x": rng.normal(size=(5, 1)), "b": 0.4}

        def loss(x, b):
            return torch.exp(x + b**2).sum()
    else:
        X = m.input("X", shape=(4, 3))
        w = m.param("w", shape=(3, 1))
        c = m.param("c")
        z = m.node("z", X @ w)
        m.loss("L", T.sum(symgrad.tanh(c * z)) + c**2)
        point = {"X": rng.normal(size=(4, 3)), "w": rng.normal(size=(3, 1)), "c": 0.7}

        def loss(X, w, c):
            return torch.tanh(c * (X @ w)).sum() + c**2

    m.example(**point)
    d = symgrad.derive(m)
    order = hessian(d)
    formulas = hessian_formulas(order)
    assert formulas is not None
    text = symgrad.render(d, "text", hessian=True, only="hessian")
    number = "b" if case.startswith("exp") else "c"
    line = next(row for row in text.splitlines() if row.strip().startswith(f"∂²L/∂{number}² = "))
    assert "sum(" in line  # the vector's slopes summed, beside the number's own term
    tensors = {n: torch.tensor(np.asarray(v, dtype=np.float64)) for n, v in point.items()}
    wrt = list(d.wrt)
    sizes = [tensors[n].numel() for n in wrt]

    def flat_loss(flat):
        parts = dict(tensors)
        for n, piece in zip(wrt, torch.split(flat, sizes), strict=True):
            parts[n] = piece.reshape(tensors[n].shape)
        return loss(**parts)

    start = torch.cat([tensors[n].reshape(-1) for n in wrt])
    want = torch.autograd.functional.hessian(flat_loss, start).numpy()
    zero = {direction_name(n): np.zeros(np.shape(point[n])) for n in wrt}
    env = {**point, **symgrad.compile(order.second).trace(**point, **zero).values}
    blocks = list(formulas)
    values = evaluator([formulas[k] for k in blocks], "blocks")(env)
    offsets = dict(zip(wrt, np.cumsum([0, *sizes]).tolist(), strict=False))
    size = dict(zip(wrt, sizes, strict=True))
    for (a, b), value in zip(blocks, values, strict=True):
        block = want[offsets[a] : offsets[a] + size[a], offsets[b] : offsets[b] + size[b]]
        got = np.broadcast_to(np.asarray(value, dtype=np.float64), block.shape)
        np.testing.assert_allclose(got, block, rtol=1e-9, atol=1e-12, err_msg=f"{a}, {b}")
