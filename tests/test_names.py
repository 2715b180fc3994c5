import pytest

from symgrad import SymgradError
from symgrad.names import check_name, latex_name, text_name


@pytest.mark.parametrize(
    ("name", "latex", "text"),
    [
        ("sigma1", r"\sigma_{1}", "σ₁"),
        ("W1", "W_{1}", "W₁"),
        ("W12", "W_{12}", "W₁₂"),
        ("x_hat", r"\hat{x}", "x̂"),
        ("y_hat", r"\hat{y}", "ŷ"),
        ("net_h1", r"\mathrm{net}_{h1}", "netₕ₁"),
        ("E_total", r"E_{\mathrm{total}}", "Eₜₒₜₐₗ"),
        ("x", "x", "x"),
        ("loss", r"\mathrm{loss}", "loss"),  # upright: not the product l·o·s·s
        ("alpha", r"\alpha", "α"),
        ("W_alpha", r"W_{\alpha}", "W_α"),
        ("x_bar2", r"x_{\mathrm{bar2}}", "x_bar2"),
        ("x_bar", r"\bar{x}", "x̄"),
    ],
)
def test_typesetting(name, latex, text):
    assert latex_name(name) == latex
    assert text_name(name) == text


@pytest.mark.parametrize(
    "name",
    ["", "1x", "x-y", "lambda", "_x", "x_", "a__b", "np", "torch", "σ", "x y", "\\input{a}", "$"],
)
def test_bad_names_are_refused(name):
    with pytest.raises(SymgradError) as error:
        check_name(name, "node", "model.py:3")
    assert str(error.value).startswith("model.py:3: node name")


def test_good_names_pass():
    for name in ["z1", "sigma3", "E_total", "x_hat", "dz", "W1"]:
        assert check_name(name, "node") == name


@pytest.mark.parametrize(
    ("name", "text", "latex"),
    [
        ("layer2_0_weight", "layer2.0.weight", r"\mathrm{layer2.0.weight}"),
        ("layer1_0", "layer1.0", r"\mathrm{layer1.0}"),
        ("net_0_bias", "net.0.bias", r"\mathrm{net.0.bias}"),
        ("fc_weight", "fc.weight", r"\mathrm{fc.weight}"),
        ("W1_1_2", "(W₁)₁,₂", "(W_{1})_{1,2}"),  # still an entry of W₁ (--unroll)
        ("sigma1_2", "(σ₁)₂", r"(\sigma_{1})_{2}"),
    ],
)
def test_a_pytorch_module_path_is_written_as_pytorch_writes_it(name, text, latex):
    """from_torch names a parameter layer2_0_weight: a reader knows it as layer2.0.weight."""
    assert text_name(name) == text
    assert latex_name(name) == latex
