"""Tensor models: matrix-level derivations checked against PyTorch autograd, the seeds 004 and
000 at full size, and every shape error."""

import importlib.util

import numpy as np
import pytest
import sympy

import symgrad
from symgrad import Model, SymgradError
from symgrad import tensors as T

from .conftest import example_path, load_example

torch = pytest.importorskip("torch")


def module(name):
    spec = importlib.util.spec_from_file_location(name, example_path(name + ".py"))
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def check_against_autograd(model, torch_loss, point=None, rtol=1e-11, backends=("numpy", "torch")):
    """symgrad's gradient of ``model`` in both backends equals autograd's of ``torch_loss``."""
    d = symgrad.derive(model)
    point = point or dict(d.example)
    t = {
        k: torch.tensor(np.asarray(v), dtype=torch.float64, requires_grad=True)
        for k, v in point.items()
    }
    expected = torch_loss(t)
    expected.backward()
    for backend in backends:
        loss, grads = symgrad.compile(d, backend)(**point)
        assert float(loss) == pytest.approx(expected.item(), rel=rtol, abs=1e-12)
        for name in d.wrt:
            got = grads[name].numpy() if backend == "torch" else np.asarray(grads[name])
            want = t[name].grad.numpy()
            assert got.shape == np.shape(point[name]), (backend, name)
            scale = max(np.abs(want).max(), 1e-300)
            assert np.abs(got - want).max() <= rtol * scale + 1e-13, (backend, name)
    return d


class TestSeed004ReluMlp:
    def test_full_size_gradient_equals_autograd_to_1e_10(self):
        m = load_example("seed004_relu_mlp.py")
        d = check_against_autograd(
            m, lambda t: ((torch.relu(t["x"] @ t["w1"]) @ t["w2"] - t["y"]) ** 2).sum(), rtol=1e-10
        )
        assert d.variable("w1").shape == (1000, 100)

    def test_textbook_matrix_chain(self):
        d = symgrad.derive(load_example("seed004_relu_mlp.py"))
        x, w1, hidden = d.symbol("x"), d.symbol("w1"), d.symbol("hidden")
        pullback = d.adjoint("w1").expr
        # ∂L/∂w1 = xᵀ (∂L/∂hidden ⊙ 𝟙[x w1 > 0])
        assert isinstance(pullback, sympy.MatMul) and pullback.args[0] == x.T
        mask = pullback.args[1]
        assert isinstance(mask, T.Elementwise)
        assert d.adjoint("hidden").symbol in mask.operands and x * w1 in mask.operands
        assert mask.template.expr.has(sympy.Heaviside)
        assert hidden not in pullback.free_symbols  # the mask comes from x w1, as written

    def test_manual_training_reproduces_torchs_loss_sequence(self):
        seed004 = module("seed004_relu_mlp")
        d = symgrad.derive(seed004.m)
        generator = torch.Generator().manual_seed(4)
        point = {
            "x": torch.randn(32, 1000, generator=generator, dtype=torch.float64),
            "y": torch.randn(32, 2, generator=generator, dtype=torch.float64),
            "w1": torch.randn(1000, 100, generator=generator, dtype=torch.float64),
            "w2": torch.randn(100, 2, generator=generator, dtype=torch.float64),
        }
        arrays = {k: v.numpy() for k, v in point.items()}
        ours = seed004.train(symgrad.compile(d), arrays, iterations=300, every=10)
        w1, w2 = point["w1"].clone().requires_grad_(), point["w2"].clone().requires_grad_()
        theirs = []
        for t in range(1, 301):  # the note's loop
            loss = (torch.relu(point["x"].mm(w1)).mm(w2) - point["y"]).pow(2).sum()
            if t % 10 == 0:
                theirs.append(loss.item())
            loss.backward()
            with torch.no_grad():
                w1 -= 1e-6 * w1.grad
                w2 -= 1e-6 * w2.grad
                w1.grad.zero_()
                w2.grad.zero_()
        # The loss falls from 8e4 to 4e-20 in 300 steps. Both runs agree to 1e-9 relative while
        # the loss is large, and to 1e-14 of the starting loss throughout: at the end both are
        # at float64's rounding floor, where the last digits of two correct programs differ.
        assert len(ours) == 30 and ours[-1] < 1e-15 * ours[0]
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-14 * theirs[0])


class TestSeed000LinearAdam:
    def test_adam_with_the_generated_gradient_equals_torchs_adam(self):
        seed000 = module("seed000_linear_adam")
        d = symgrad.derive(seed000.m)
        start = {"W": d.example["W"], "b": d.example["b"]}
        ours = seed000.adam(symgrad.compile(d), start)

        layer = torch.nn.Linear(1, 1).double()
        with torch.no_grad():
            layer.weight.copy_(torch.tensor(start["W"]))
            layer.bias.copy_(torch.tensor(start["b"]))
        optimizer = torch.optim.Adam(layer.parameters(), lr=0.01)
        criterion = torch.nn.MSELoss()
        x = torch.tensor(seed000.X_TRAIN)
        y = torch.tensor(seed000.Y_TRAIN)
        theirs = []
        for epoch in range(1000):  # the note's loop
            loss = criterion(layer(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if (epoch + 1) % 100 == 0:
                theirs.append(loss.item())
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-8)

    def test_the_notes_printed_losses(self):
        """From the starting weights found by search, the printed losses come out to five
        significant digits (the note ran in float32; this is float64)."""
        seed000 = module("seed000_linear_adam")
        d = symgrad.derive(seed000.m)
        ours = seed000.adam(symgrad.compile(d), {"W": d.example["W"], "b": d.example["b"]})
        printed = [17.822374, 3.998354, 0.747344, 0.254126, 0.192581, 0.171242, 0.152221,
                   0.133719, 0.116020, 0.099409]  # fmt: skip
        np.testing.assert_allclose(ours, printed, rtol=5e-6)
        assert [f"{v:.6f}" for v in ours[4:]] == [f"{v:.6f}" for v in printed[4:]]


def small_model(build, shapes, seed=0):
    """A model of the given input/param shapes whose loss ``build`` makes from them."""
    m = Model("small")
    symbols = {}
    for name, (role, shape) in shapes.items():
        symbols[name] = m.input(name, shape) if role == "input" else m.param(name, shape)
    m.loss("L", build(symbols))
    rng = np.random.default_rng(seed)
    m.example(
        **{
            name: rng.normal(size=shape) if shape else float(rng.normal())
            for name, (_, shape) in shapes.items()
        }
    )
    return m


OPERATIONS = {
    "matmul_bias_broadcast": (
        lambda s: symgrad.sum_squares(s["X"] @ s["W"] + s["b"]),
        lambda t: ((t["X"] @ t["W"] + t["b"]) ** 2).sum(),
        {"X": ("input", (4, 3)), "W": ("param", (3, 2)), "b": ("param", (2,))},
    ),
    "repeated_factor": (  # A appears twice in one product: each place gets its own share
        lambda s: T.sum(s["A"] @ s["B"] @ s["A"]) + T.sum(s["A"] @ s["A"].T @ s["A"]),
        lambda t: (t["A"] @ t["B"] @ t["A"]).sum() + (t["A"] @ t["A"].T @ t["A"]).sum(),
        {"A": ("param", (3, 3)), "B": ("param", (3, 3))},
    ),
    "column_bias_and_scalar": (
        lambda s: T.sum(s["a"] * (s["A"] + s["c"]) - 1),
        lambda t: (t["a"] * (t["A"] + t["c"]) - 1).sum(),
        {"A": ("param", (3, 2)), "c": ("param", (3, 1)), "a": ("param", ())},
    ),
    "hadamard_and_transpose": (
        lambda s: T.sum(T.hadamard(s["A"], s["B"].T) * s["A"]),
        lambda t: (t["A"] * t["B"].T * t["A"]).sum(),
        {"A": ("param", (2, 3)), "B": ("param", (3, 2))},
    ),
    "elementwise_primitives": (
        lambda s: T.mean(
            symgrad.sigmoid(s["A"])
            + symgrad.tanh(s["A"]) * symgrad.softplus(s["A"])
            + symgrad.exp(s["A"] / 3)
            + symgrad.log(1 + s["A"] ** 2)
            + symgrad.sqrt(2 + s["A"])
            + abs(s["A"])
            + symgrad.relu(s["A"])
        ),
        lambda t: (
            torch.sigmoid(t["A"])
            + torch.tanh(t["A"]) * torch.nn.functional.softplus(t["A"])
            + torch.exp(t["A"] / 3)
            + torch.log(1 + t["A"] ** 2)
            + torch.sqrt(2 + t["A"])
            + t["A"].abs()
            + torch.relu(t["A"])
        ).mean(),
        {"A": ("param", (3, 4))},
    ),
    "axis_sums_and_means": (
        lambda s: T.sum(T.sum(s["A"], axis=0) ** 2) + T.sum(T.mean(s["A"], axis=1) ** 3),
        lambda t: (t["A"].sum(0) ** 2).sum() + (t["A"].mean(1) ** 3).sum(),
        {"A": ("param", (3, 4))},
    ),
    "trace_det_logdet_inverse": (
        lambda s: (
            T.trace(s["A"] @ s["A"].T)
            + T.det(s["A"])
            + T.logdet(s["A"] @ s["A"].T + 3 * s["I"])
            + T.sum(T.inv(s["A"] @ s["A"].T + 3 * s["I"]))
        ),
        lambda t: (
            torch.trace(t["A"] @ t["A"].T)
            + torch.linalg.det(t["A"])
            + torch.logdet(t["A"] @ t["A"].T + 3 * t["I"])
            + torch.linalg.inv(t["A"] @ t["A"].T + 3 * t["I"]).sum()
        ),
        {"A": ("param", (3, 3)), "I": ("input", (3, 3))},
    ),
    "norms": (
        lambda s: T.norm(s["A"]) + T.norm(s["v"], 2) + 0.5 * T.norm(s["A"], 2),
        lambda t: (
            torch.linalg.matrix_norm(t["A"])
            + torch.linalg.vector_norm(t["v"])
            + 0.5 * torch.linalg.matrix_norm(t["A"], ord=2)
        ),
        {"A": ("param", (3, 4)), "v": ("param", (5,))},
    ),
    "softmax_log_softmax": (
        lambda s: T.sum(T.softmax(s["Z"]) * s["Y"]) + T.sum(T.log_softmax(s["Z"], axis=0) * s["Y"]),
        lambda t: (
            (torch.softmax(t["Z"], 1) * t["Y"]).sum()
            + (torch.log_softmax(t["Z"], 0) * t["Y"]).sum()
        ),
        {"Z": ("param", (4, 3)), "Y": ("input", (4, 3))},
    ),
    "sympy_native_expressions": (
        lambda s: (
            sympy.Trace(sympy.HadamardProduct(s["A"].expr, s["A"].expr).T * s["B"].expr)
            + sympy.log(sympy.Determinant(s["B"].expr.T * s["B"].expr + s["I"].expr))
            + sympy.Trace(s["B"].expr.inv() * 0 + s["B"].expr)
        ),
        lambda t: (
            torch.trace((t["A"] * t["A"]).T @ t["B"])
            + torch.logdet(t["B"].T @ t["B"] + t["I"])
            + torch.trace(t["B"])
        ),
        {"A": ("param", (3, 3)), "B": ("param", (3, 3)), "I": ("input", (3, 3))},
    ),
    "one_by_one_loss": (
        lambda s: s["u"].T @ s["M"] @ s["u"],
        lambda t: (t["u"].T @ t["M"] @ t["u"]).sum(),
        {"u": ("param", (3, 1)), "M": ("input", (3, 3))},
    ),
}


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_matrix_operation_equals_autograd(name):
    build, reference, shapes = OPERATIONS[name]
    m = small_model(build, shapes)
    if name == "trace_det_logdet_inverse":
        m.example(I=np.eye(3))
    if name == "sympy_native_expressions":
        m.example(I=np.eye(3))
    check_against_autograd(m, reference)


def test_cross_entropy_with_labels_and_one_hot_equals_torch():
    rng = np.random.default_rng(1)
    logits, labels = rng.normal(size=(5, 3)), np.array([0, 2, 1, 1, 0])
    for targets in (labels.astype(float), np.eye(3)[labels]):
        m = Model("ce")
        Z = m.param("Z", (5, 3))
        y = m.input("y", targets.shape)
        m.loss("L", T.cross_entropy(Z, y))
        m.example(Z=logits, y=targets)
        check_against_autograd(
            m,
            lambda t: torch.nn.functional.cross_entropy(t["Z"], torch.tensor(labels)),
        )


def test_seed003_network_with_layers_equals_the_scalar_version():
    """The note's network as nn.Linear layers: W (out × in), bias rows; the same gradient as
    the hand-written scalar model."""
    m = Model("two_layer_sigmoid_layers")
    x = m.input("x", (1, 2))
    y = m.input("y", (1, 1))
    W_1, b_1 = m.param("W_1", (2, 2)), m.param("b_1", (2,))
    W_2, b_2 = m.param("W_2", (1, 2)), m.param("b_2", (1,))
    a1 = m.node("a1", symgrad.sigmoid(x @ W_1.T + b_1))
    a2 = m.node("a2", symgrad.sigmoid(a1 @ W_2.T + b_2))
    m.loss("L", T.sum(symgrad.bce(a2, y)))
    m.example(
        x=[[1, 1]],
        y=[[0]],
        W_1=[[0.4352, 0.3545], [0.1951, 0.4835]],
        b_1=[-0.1419, 0.0439],
        W_2=[[-0.1725, 0.1129]],
        b_2=[-0.3043],
    )
    d = symgrad.derive(m)
    _, g = symgrad.compile(d)(**d.example)
    scalar = symgrad.derive(load_example("seed003_two_layer_sigmoid.py"))
    _, s = symgrad.compile(scalar)(**scalar.example)
    pairs = {("W_1", (0, 0)): "W1", ("W_1", (0, 1)): "W2", ("W_1", (1, 0)): "W3", ("W_1", (1, 1)): "W4",
             ("W_2", (0, 0)): "W5", ("W_2", (0, 1)): "W6", ("b_1", (0,)): "b1", ("b_1", (1,)): "b2",
             ("b_2", (0,)): "b3"}  # fmt: skip
    for (name, index), scalar_name in pairs.items():
        assert g[name][index] == pytest.approx(float(s[scalar_name]), rel=1e-14, abs=1e-16)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda m: m.param("A", (3, 2)) @ m.param("B", (3, 2)),
            "A is 3×2 and B is 3×2; the inner sizes 2 and 3 differ",
        ),
        (
            lambda m: m.param("A", (3, 2)) + m.param("B", (2, 3)),
            "shapes do not broadcast in A + B: A is 3×2, B is 2×3",
        ),
        (lambda m: m.param("A", (3, 2)) * m.param("b", (3,)), "A is 3×2, b is (3,)"),
        (lambda m: T.trace(m.param("A", (3, 2))), "trace needs a square matrix; A is 3×2"),
        (lambda m: T.inv(m.param("A", (2, 3))), "inv needs a square matrix"),
        (lambda m: m.param("A", (2, 2)) ** m.param("B", (3, 2)), "A is 2×2, B is 3×2"),
        (
            lambda m: (
                m.param(
                    "A",
                    (2, 2),
                )
                @ 3
            ),
            "needs an array, got the scalar 3",
        ),
        (lambda m: m.param("A", (2, 0)), "shape must be"),
        (lambda m: T.cross_entropy(m.param("Z", (4, 3)), m.input("y", (3,))), "targets y are (3,)"),
    ],
)
def test_shape_errors_name_both_operands(build, message):
    m = Model("m")
    with pytest.raises(SymgradError) as error:
        build(m)
    assert message in str(error.value)


def test_loss_must_be_scalar_or_one_by_one():
    m = Model("m")
    A = m.param("A", (3, 2))
    with pytest.raises(SymgradError, match=r"loss 'L' must be a scalar; it has shape 3×2"):
        m.loss("L", A * 2)


def test_matrix_powers():
    m = Model("m")
    A = m.param("A", (3, 3))
    with pytest.raises(SymgradError, match="matrix power"):
        m.node("P", sympy.MatPow(A.expr, sympy.Rational(1, 2)))
    m.loss("L", T.sum(A @ A @ A.T @ A))  # SymPy writes A @ A as A**2
    m.example(A=np.random.default_rng(5).normal(size=(3, 3)))
    check_against_autograd(m, lambda t: (t["A"] @ t["A"] @ t["A"].T @ t["A"]).sum())


def test_negative_and_zero_matrix_powers():
    m = Model("m")
    A = m.param("A", (3, 3))
    P = m.node("P", sympy.MatPow(A.expr, -2))
    m.loss("L", T.sum(P) + T.trace(sympy.MatPow(A.expr, 0)))
    m.example(A=np.random.default_rng(5).normal(size=(3, 3)) + 3 * np.eye(3))
    check_against_autograd(
        m, lambda t: torch.linalg.matrix_power(torch.linalg.inv(t["A"]), 2).sum() + 3
    )


def test_tanh_of_a_sympy_matrix_symbol_means_entry_by_entry():
    m = Model("m")
    A = m.param("A", (2, 2))
    H = m.node("H", sympy.tanh(A.expr))  # SymPy would make a scalar-looking tanh(A)
    assert isinstance(m.nodes[0].expr, T.Elementwise)
    m.loss("L", T.sum(H))
    m.example(A=[[0.1, 0.2], [0.3, -0.4]])
    check_against_autograd(m, lambda t: torch.tanh(t["A"]).sum())


def test_example_shapes_are_checked():
    m = Model("m")
    m.param("A", (2, 3))
    with pytest.raises(
        SymgradError, match=r"has shape \(3, 2\), but the variable is declared \(2, 3\)"
    ):
        m.example(A=np.zeros((3, 2)))


def test_random_example_fills_every_variable():
    m = Model("m")
    m.param("A", (2, 3))
    m.param("a")
    m.example(random=3)
    assert m.example_point["A"].shape == (2, 3) and isinstance(m.example_point["a"], float)


def test_generated_tensor_code_uses_matrix_products_not_loops():
    d = symgrad.derive(load_example("seed004_relu_mlp.py"))
    source = symgrad.compile(d).source
    assert "for " not in source.split("def loss_and_grad")[1]
    assert "x.T @ " in source and "@ w2.T" in source


def test_torch_tensor_model_on_cuda():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    d = symgrad.derive(load_example("seed004_relu_mlp.py"))
    _, g = symgrad.compile(d, "torch")(**d.example, device="cuda")
    _, c = symgrad.compile(d)(**d.example)
    assert g["w1"].device.type == "cuda"
    np.testing.assert_allclose(g["w1"].cpu().numpy(), c["w1"], rtol=1e-10)


def test_text_worked_example_shows_the_matrix_chain_with_shapes():
    text = symgrad.render(symgrad.derive(load_example("seed004_relu_mlp.py")))
    assert "hidden = relu(x w₁) ∈ ℝ³²ˣ¹⁰⁰" in text
    assert "∂loss/∂w₁ = xᵀ (∂loss/∂hidden ⊙ 𝟙[x w₁ > 0]) ∈ ℝ¹⁰⁰⁰ˣ¹⁰⁰" in text
    assert "(1000×100 matrix)" in text  # too large to print its numbers


def test_latex_worked_example_of_a_tensor_model():
    latex = symgrad.render(symgrad.derive(load_example("seed004_relu_mlp.py")), "latex")
    assert (
        r"\mathrm{hidden} &= \operatorname{relu}(x\,w_{1}) \in \mathbf{R}^{32 \times 100}" in latex
    )
    assert (
        r"x^{\top}\,\left(\frac{\partial \mathrm{loss}}{\partial \mathrm{hidden}} \odot \mathbf{1}\left[x\,w_{1} > 0\right]\right)"
        in latex
    )


def test_small_matrices_are_printed_with_their_numbers():
    d = symgrad.derive(load_example("seed003_layers.py"))
    text = symgrad.render(d)
    _, g = symgrad.compile(d)(**d.example)
    w1 = g["W1"]
    shown = f"[[{w1[0, 0]:.4f}, {w1[0, 1]:.4f}], [{w1[1, 0]:.4f}, {w1[1, 1]:.4f}]]".replace(
        "-", "−"
    )
    assert f"∂L/∂W₁ = (∂L/∂z₁)ᵀ x ∈ ℝ²ˣ² = {shown}" in text


def test_derive_json_reports_tensors_as_nested_lists():
    import json

    from click.testing import CliRunner

    from symgrad.cli import main

    result = CliRunner().invoke(main, ["derive", example_path("seed003_layers.py"), "--json"])
    data = json.loads(result.output)
    d = symgrad.derive(load_example("seed003_layers.py"))
    _, g = symgrad.compile(d)(**d.example)
    assert np.allclose(np.array(data["gradient"]["W1"]), g["W1"], rtol=1e-15)
    assert np.shape(data["gradient"]["W1"]) == (2, 2) and np.shape(data["gradient"]["b1"]) == (2,)
    assert np.shape(data["values"]["z1"]) == (1, 2)


def test_cli_unroll_takes_matrix_names_in_wrt():
    import json

    from click.testing import CliRunner

    from symgrad.cli import main

    runner = CliRunner()
    result = runner.invoke(
        main, ["derive", example_path("seed003_layers.py"), "--unroll", "--wrt", "W2,b2", "--json"]
    )
    data = json.loads(result.output)
    assert data["wrt"] == ["W2_1", "W2_2", "b2"]
    assert round(data["gradient"]["W2_1"], 4) == 0.2727  # the note's ∂L/∂W5
    text = runner.invoke(main, ["derive", example_path("seed003_layers.py"), "--unroll"]).output
    assert "(z₁)₁ = (W₁)₁,₁x₁ + (W₁)₁,₂x₂ + (b₁)₁" in text or "= 0.6478" in text
