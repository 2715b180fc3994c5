"""Matrix factorisation for recommendation (Koren et al. 2009): observed entries of R ≈ UVᵀ,
with an L2 penalty on both factors."""

from symgrad import Model, sum_squares

m = Model("matrix_factorisation")
R = m.input("R", shape=(4, 3))
M = m.input("M", shape=(4, 3), domain="binary")
U = m.param("U", shape=(4, 2))
V = m.param("V", shape=(3, 2))

E = m.node("E", M * (U @ V.T - R))
fit = m.node("fit", sum_squares(E))
reg = m.node("reg", 0.1 * (sum_squares(U) + sum_squares(V)))
m.loss("L", fit + reg)

m.example(random=13, M=[[1, 0, 1], [1, 1, 0], [0, 1, 1], [1, 0, 0]])


def reference():
    """The same model in plain PyTorch, node by node: the tests' independent oracle."""
    return {
        "E": lambda M, U, V, R: M * (U @ V.T - R),
        "fit": lambda E: (E**2).sum(),
        "reg": lambda U, V: 0.1 * ((U**2).sum() + (V**2).sum()),
        "L": lambda fit, reg: fit + reg,
    }
