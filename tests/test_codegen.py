"""Generated NumPy and PyTorch code: agreement with autograd, shape handling, readability."""

import ast
import shutil
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import symgrad
from symgrad import Model, SymgradError

from .conftest import load_example

SEED003 = "seed003_two_layer_sigmoid.py"


def seed003_batch(rng, n):
    d = symgrad.derive(load_example(SEED003))
    point = dict(d.example)
    point["x1"] = rng.normal(size=n)
    point["x2"] = rng.normal(size=n)
    point["y"] = rng.integers(0, 2, size=n).astype(float)
    return d, point


def autograd_seed003(torch, point, reduction):
    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in point.items()}
    z1 = t["W1"] * t["x1"] + t["W2"] * t["x2"] + t["b1"]
    z2 = t["W3"] * t["x1"] + t["W4"] * t["x2"] + t["b2"]
    s3 = torch.sigmoid(t["W5"] * torch.sigmoid(z1) + t["W6"] * torch.sigmoid(z2) + t["b3"])
    loss = torch.nn.functional.binary_cross_entropy(s3, t["y"], reduction=reduction)
    loss.backward()
    return loss.item(), {k: t[k].grad.numpy() for k in t}


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_batched_gradient_equals_autograd(torch, backend, reduction):
    rng = np.random.default_rng(0)
    d, point = seed003_batch(rng, 257)
    grad = symgrad.compile(d, backend, reduction=reduction)
    loss, gradients = grad(**point)
    expected_loss, expected = autograd_seed003(torch, point, reduction)
    assert float(loss) == pytest.approx(expected_loss, rel=1e-12)
    for name in d.wrt:
        got = np.asarray(gradients[name].cpu() if backend == "torch" else gradients[name])
        assert got.shape == np.shape(point[name])
        np.testing.assert_allclose(got, expected[name], rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_a_gradient_the_same_for_every_sample_counts_once_per_sample(torch, backend, reduction):
    """∂/∂b of b² is 2b at every sample: over a batch of 4 it is 2b for the mean and 8b for the
    sum (it came out as 2b/4 and 2b: the constant adjoint was reduced as if it were one sample)."""
    m = Model("m")
    x, y = m.inputs("x y")
    w, b = m.params("w b")
    m.loss("L", (w * x - y) ** 2 + b**2 + w * b, reduction=reduction)
    grad = symgrad.compile(symgrad.derive(m), backend)
    xs, ys = np.arange(4.0), np.array([0.0, 1.0, -1.0, 2.0])
    _, got = grad(x=xs, y=ys, w=0.5, b=0.3)
    wt = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    bt = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    per_sample = (wt * torch.tensor(xs) - torch.tensor(ys)) ** 2 + bt**2 + wt * bt
    getattr(per_sample, reduction)().backward()
    for name, want in (("w", wt.grad), ("b", bt.grad)):
        value = got[name].cpu().numpy() if backend == "torch" else got[name]
        assert np.shape(value) == ()
        assert float(value) == pytest.approx(float(want), rel=1e-14)


def test_python_floats_in_python_floats_out():
    d = symgrad.derive(load_example(SEED003))
    loss, gradients = symgrad.compile(d)(**d.example)
    assert np.ndim(loss) == 0 and all(np.ndim(g) == 0 for g in gradients.values())


def test_array_parameters_get_gradients_of_their_own_shape(torch):
    """A parameter may be an array that broadcasts against the batch: its gradient is summed
    over the broadcast axes back to its shape."""
    m = Model("m")
    x = m.inputs("x")
    w, b = m.params("w b")
    m.loss("L", (w * x + b) ** 2, reduction="sum")
    grad = symgrad.compile(symgrad.derive(m))
    xs = np.arange(12.0).reshape(4, 3)
    w0 = np.array([0.5, -1.0, 2.0])
    b0 = np.array([[1.0], [2.0], [3.0], [4.0]])
    _, g = grad(x=xs, w=w0, b=b0)
    wt = torch.tensor(w0, requires_grad=True)
    bt = torch.tensor(b0, requires_grad=True)
    ((wt * torch.tensor(xs) + bt) ** 2).sum().backward()
    np.testing.assert_allclose(g["w"], wt.grad.numpy(), rtol=1e-14)
    np.testing.assert_allclose(g["b"], bt.grad.numpy(), rtol=1e-14)


def test_torch_float32_and_dtype_option(torch):
    d = symgrad.derive(load_example(SEED003))
    grad = symgrad.compile(d, "torch")
    loss, g = grad(**d.example, dtype=torch.float32)
    assert loss.dtype == torch.float32 and g["W5"].dtype == torch.float32
    assert abs(g["W5"].item() - 0.27273791975670003) < 1e-6


def test_torch_on_cuda(torch):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    rng = np.random.default_rng(1)
    d, point = seed003_batch(rng, 1000)
    cpu = symgrad.compile(d, "torch")(**point)[1]
    gpu = symgrad.compile(d, "torch")(**point, device="cuda")[1]
    for name in d.wrt:
        assert gpu[name].device.type == "cuda"
        assert abs(gpu[name].cpu().item() - cpu[name].item()) <= 1e-12


def module_imports(source):
    tree = ast.parse(source)
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add((node.module or "").split(".")[0])
    return names


@pytest.mark.parametrize(
    ("backend", "modules"),
    [("numpy", {"numpy", "math", "threading"}), ("torch", {"torch", "threading"})],
)
def test_generated_source_imports_only_its_backend(torch, backend, modules):
    """NumPy or Torch, and of the standard library math (one sample in Python floats) and
    threading (each thread's kept arrays for a large batch)."""
    source = symgrad.compile(symgrad.derive(load_example(SEED003)), backend).source
    assert module_imports(source) == modules


def test_generated_source_reads_like_the_model():
    source = symgrad.compile(symgrad.derive(load_example(SEED003))).source
    body = source[source.index("def loss_and_grad") : source.index("def _forward_floats")]
    for line in [
        "z1 = W1*x1 + W2*x2 + b1",
        "sigma1 = _sigmoid(z1)",
        "dL_dz1 = dL_dsigma1*dsigma1_dz1",
    ]:
        assert line in body
    # the forward pass once: each sigmoid evaluated once, each node assigned once
    assert body.count("_sigmoid(") == 3
    for node in ["z1", "z2", "sigma1", "sigma2", "z3", "sigma3", "L"]:
        assert body.count(f"\n    {node} = ") == 1
    # BCE after a sigmoid, multiplied out and cancelled: ∂L/∂z₃ = σ₃ − y, no division
    assert "dL_dz3 = sigma3 - y" in body and "/sigma3" not in body


def test_common_subexpressions_are_computed_once():
    m = Model("shared")
    x = m.inputs("x")
    w = m.params("w")
    a = m.node("a", symgrad.exp(w * x) + 1)
    m.loss("L", symgrad.log(a) * symgrad.exp(w * x))
    source = symgrad.compile(symgrad.derive(m)).source
    body = source[source.index("def loss_and_grad") : source.index("def _forward_floats")]
    # w·x once, shared by e^(wx) in the node, in the loss and in ∂L/∂w
    assert body.count("w*x") == 1 and body.count("np.exp(_t0)") == 1


def test_python_floats_take_the_float_path_and_agree_with_numpy():
    d = symgrad.derive(load_example(SEED003))
    grad = symgrad.compile(d)
    floats = {k: float(v) for k, v in d.example.items()}
    zero_d = {k: np.float64(v).reshape(()) for k, v in d.example.items()}  # 0-d arrays: NumPy
    loss_f, g_f = grad.function(**floats)
    loss_a, g_a = grad.function(**zero_d)
    assert type(loss_f) is float and type(g_f["W5"]) is float
    assert isinstance(loss_a, np.floating)
    assert loss_f == pytest.approx(float(loss_a), rel=1e-15)
    for name in d.wrt:
        assert g_f[name] == pytest.approx(float(g_a[name]), rel=1e-14, abs=1e-17)


def test_float_path_hands_over_to_numpy_where_math_refuses():
    """σ(z) = 1 for z = 40 in float64, so BCE at y = 0 is log(0): math raises, NumPy gives
    inf; the compiled gradient gives NumPy's answer either way."""
    m = Model("saturated")
    z = m.params("z")
    y = m.inputs("y")
    m.loss("L", symgrad.bce(symgrad.sigmoid(z), y))
    grad = symgrad.compile(symgrad.derive(m))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and not one NumPy warning into the user's output
        loss, g = grad.function(z=40.0, y=0.0)
        reference, g_ref = grad.function(z=np.array(40.0), y=np.array(0.0))
    assert loss == reference == np.inf
    assert g["z"] == pytest.approx(float(g_ref["z"]))


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_a_division_by_zero_gives_inf_like_numpy_on_floats_and_arrays_without_warnings(backend):
    if backend == "torch":
        pytest.importorskip("torch")
    m = Model("division")
    x = m.inputs("x")
    w = m.params("w")
    m.loss("L", (x / (w - 1)) ** 2)
    grad = symgrad.compile(symgrad.derive(m), backend)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for value in (1.0, np.array([1.0, 1.0])):
            loss, g = grad(x=1.0, w=value)
            assert float(loss) == np.inf and np.all(np.asarray(g["w"]) == -np.inf)


def test_generated_source_passes_ruff(tmp_path, torch):
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed")
    for backend in ("numpy", "torch"):
        path = tmp_path / f"grad_{backend}.py"
        path.write_text(symgrad.compile(symgrad.derive(load_example(SEED003)), backend).source)
        result = subprocess.run(
            [
                ruff,
                "check",
                "--no-cache",
                "--isolated",
                "--select",
                "E,F,W,B",
                "--ignore",
                "E501",
                str(path),
            ],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout


def test_standalone_module_runs_without_symgrad(tmp_path):
    """The written module imports nothing of symgrad: run it where symgrad cannot be imported."""
    d = symgrad.derive(load_example(SEED003))
    (tmp_path / "seed003_grad.py").write_text(symgrad.compile(d).source)
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["symgrad"] = None  # importing symgrad now fails
        import seed003_grad
        loss, g = seed003_grad.loss_and_grad(**{dict(d.example)!r})
        print(repr(float(g["W5"])))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert float(result.stdout) == pytest.approx(0.27273791975670003, rel=1e-15)


def test_forward_alone():
    d = symgrad.derive(load_example(SEED003))
    grad = symgrad.compile(d)
    assert grad.forward(**d.example) == grad(**d.example)[0]


def test_call_errors_name_the_argument():
    d = symgrad.derive(load_example(SEED003))
    grad = symgrad.compile(d)
    point = dict(d.example)
    del point["y"]
    with pytest.raises(SymgradError, match="no value for 'y'"):
        grad(**point)
    with pytest.raises(SymgradError, match="'q' is not an input or parameter"):
        grad(**d.example, q=1.0)
    with pytest.raises(SymgradError, match="unknown backend 'jax'"):
        symgrad.compile(d, "jax")


def test_every_table_function_has_code_in_both_backends(torch):
    """One model using every primitive; both backends agree with autograd on it."""
    m = Model("all")
    x = m.inputs("x")
    a, b = m.params("a b")
    u = m.node("u", symgrad.sigmoid(a * x) + symgrad.tanh(b) + symgrad.relu(a - b))
    v = m.node("v", symgrad.softplus(u) * symgrad.exp(-(b**2)) + symgrad.log(1 + a**2))
    w = m.node("w", symgrad.sqrt(1 + v**2) + abs(a) + symgrad.Max(a, b) + symgrad.Min(a, 0))
    q = m.node("q", symgrad.sin(w) * symgrad.cos(v) + w**3 / (1 + u**2))
    m.loss(
        "L",
        symgrad.bce(symgrad.sigmoid(q), 0.25)
        + symgrad.squared_error(q, 1)
        + symgrad.sum_squares(u, v),
    )
    d = symgrad.derive(m)
    point = {"x": 0.7, "a": 0.3, "b": -0.4}

    t = {k: torch.tensor(val, dtype=torch.float64, requires_grad=True) for k, val in point.items()}
    tu = torch.sigmoid(t["a"] * t["x"]) + torch.tanh(t["b"]) + torch.relu(t["a"] - t["b"])
    tv = torch.nn.functional.softplus(tu) * torch.exp(-(t["b"] ** 2)) + torch.log(1 + t["a"] ** 2)
    tw = (
        torch.sqrt(1 + tv**2)
        + torch.abs(t["a"])
        + torch.maximum(t["a"], t["b"])
        + torch.minimum(t["a"], torch.zeros(()))
    )
    tq = torch.sin(tw) * torch.cos(tv) + tw**3 / (1 + tu**2)
    p = torch.sigmoid(tq)
    loss = -(0.25 * torch.log(p) + 0.75 * torch.log(1 - p)) + (tq - 1) ** 2 + tu**2 + tv**2
    loss.backward()
    for backend in ("numpy", "torch"):
        value, g = symgrad.compile(d, backend)(**point)
        assert float(value) == pytest.approx(loss.item(), rel=1e-13)
        for name in ("a", "b"):
            assert float(g[name]) == pytest.approx(t[name].grad.item(), rel=1e-12), (backend, name)


@pytest.mark.slow
def test_jit_hands_the_torch_code_to_torch_compile(torch):
    import shutil

    if shutil.which("gcc") is None and shutil.which("cc") is None:
        pytest.skip("torch.compile needs a C++ compiler")
    d = symgrad.derive(load_example(SEED003))
    rng = np.random.default_rng(3)
    _, point = seed003_batch(rng, 64)
    eager = symgrad.compile(d, "torch")(**point)[1]
    fused = symgrad.compile(d, "torch", jit=True)(**point)[1]
    for name in d.wrt:
        assert abs(fused[name].item() - eager[name].item()) <= 1e-12 * max(
            1, abs(eager[name].item())
        )
    with pytest.raises(SymgradError, match="jit=True needs the torch backend"):
        symgrad.compile(d, "numpy", jit=True)


# --- large batches: the code that writes into kept arrays ----------------------------------

KEPT = symgrad.codegen.buffers.KEPT_SIZE


def module_of(grad) -> dict:
    """The generated module's namespace (the functions are wrapped by np.errstate, no_grad)."""
    return sys.modules[grad.function.__module__].__dict__


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_a_large_batch_takes_the_kept_path_and_equals_autograd(
    torch, backend, reduction, monkeypatch
):
    rng = np.random.default_rng(1)
    d, point = seed003_batch(rng, KEPT + 5)
    grad = symgrad.compile(d, backend, reduction=reduction)
    namespace = module_of(grad)
    calls = []
    kept = namespace["_loss_and_grad_kept"]
    monkeypatch.setitem(namespace, "_loss_and_grad_kept", lambda *a: calls.append(1) or kept(*a))
    loss, gradients = grad(**point)
    assert calls, "the kept path was not taken"
    expected_loss, expected = autograd_seed003(torch, point, reduction)
    assert float(loss) == pytest.approx(expected_loss, rel=1e-12)
    assert float(grad.forward(**point)) == pytest.approx(expected_loss, rel=1e-12)
    for name in d.wrt:
        got = np.asarray(gradients[name].cpu() if backend == "torch" else gradients[name])
        assert got.shape == ()
        np.testing.assert_allclose(got, expected[name], rtol=1e-11)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_kept_arrays_never_reach_the_caller(torch, backend):
    """A second call, with other data, leaves the first call's results as they were; so does a
    call of forward between them."""
    rng = np.random.default_rng(2)
    d, first = seed003_batch(rng, KEPT)
    _, second = seed003_batch(rng, KEPT)
    grad = symgrad.compile(d, backend)
    loss, gradients = grad(**first)
    kept = {
        name: np.array(g.cpu().numpy() if backend == "torch" else g)
        for name, g in gradients.items()
    }
    kept_loss = float(loss)
    grad.forward(**second)
    grad(**second)
    assert float(loss) == kept_loss
    for name, g in gradients.items():
        assert np.array_equal(np.asarray(g.cpu().numpy() if backend == "torch" else g), kept[name])


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_threads_calling_at_once_each_get_their_own_gradient(torch, backend):
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(3)
    d = symgrad.derive(load_example(SEED003))
    points = [seed003_batch(rng, KEPT)[1] for _ in range(4)]
    grad = symgrad.compile(d, backend)
    expected = [autograd_seed003(torch, p, "mean")[1] for p in points]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda p: [grad(**p) for _ in range(5)][-1][1], points))
    for got, want in zip(results, expected, strict=True):
        for name in d.wrt:
            value = got[name].cpu() if backend == "torch" else got[name]
            np.testing.assert_allclose(np.asarray(value), want[name], rtol=1e-11)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_what_the_kept_path_cannot_serve_goes_the_plain_way(torch, backend, monkeypatch):
    """An array parameter, a float32 batch, batch arguments of two shapes: the plain code,
    with the plain code's results."""
    rng = np.random.default_rng(4)
    d, point = seed003_batch(rng, KEPT)
    grad = symgrad.compile(d, backend)
    monkeypatch.setitem(module_of(grad), "_loss_and_grad_kept", None)  # not called
    cases = [
        {**point, "W1": np.full(KEPT, 0.4352)},
        {**point, "x2": point["x2"][:1]},
    ]
    if backend == "numpy":
        cases.append({**point, "x1": point["x1"].astype(np.float32)})
    for case in cases:
        loss, _ = grad(**case)
        assert np.isfinite(float(loss))


def test_a_python_zero_on_the_kept_path_gives_numpys_inf_not_an_exception():
    """x/b at b = 0.0: the kept path folded 1/b into Python arithmetic, which raises where
    NumPy gives inf (found by review)."""
    m = Model("div")
    x, y = m.inputs("x y")
    w, b = m.params("w b")
    m.loss("L", (x / b + w - y) ** 2 + symgrad.log(b) * x + w**0.3 * x)
    grad = symgrad.compile(symgrad.derive(m))
    xs, ys = np.linspace(-1, 1, KEPT), np.zeros(KEPT)
    for bad in (0.0, 0):
        loss, gradients = grad(x=xs, y=ys, w=0.5, b=bad)
        expected_loss, expected = grad(x=xs, y=ys, w=0.5, b=np.float64(bad))
        np.testing.assert_equal(loss, expected_loss)  # inf or nan, as NumPy gives
        assert not np.isfinite(loss)
        for name in ("w", "b"):
            np.testing.assert_equal(gradients[name], expected[name])
        np.testing.assert_equal(grad.forward(x=xs, y=ys, w=0.5, b=bad), expected_loss)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_a_spelling_that_gives_back_its_argument_keeps_it_from_being_overwritten(
    torch, backend, monkeypatch
):
    """A user's stop-gradient spelled #1 returns the kept array it reads; that array was handed
    to a later operation while the stop-gradient's value was still read (found by review)."""
    import sympy

    stop = symgrad.primitive(
        "stop_gradient_kept",
        lambda x: x,
        derivative=lambda ans, x: (sympy.S.Zero,),
        numpy="#1",
        torch="#1.detach()",
    )
    m = Model("sg")
    x, y = m.inputs("x y")
    w, b = m.params("w b")
    s = m.node("s", symgrad.sin(w * x))
    h = m.node("h", stop(s))
    k = m.node("k", symgrad.exp(b * y) + symgrad.cos(b * x))
    m.loss("L", (k * h - y) ** 2 + h * b)
    grad = symgrad.compile(symgrad.derive(m), backend)
    rng = np.random.default_rng(1)
    point = {"x": rng.uniform(-2, 2, KEPT), "y": rng.uniform(0, 1, KEPT), "w": 0.5, "b": 0.5}
    loss, gradients = grad(**point)
    monkeypatch.setitem(module_of(grad), "_batch_shape", lambda *_: None)
    plain_loss, plain_gradients = grad(**point)
    assert float(loss) == pytest.approx(float(plain_loss), rel=1e-12)
    for name in ("w", "b"):
        assert float(gradients[name]) == pytest.approx(float(plain_gradients[name]), rel=1e-12)
