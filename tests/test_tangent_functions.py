"""Google Tangent's test functions as symgrad models, checked against PyTorch autograd.

Source: google/tangent at 6533e83 (August 2018), ``tests/functions.py`` and the two functions of
``tests/test_hessian_vector_products.py``. Each function symgrad can state is ported; its
gradient (both backends) and its Hessian-vector product (both backends; the whole Hessian too
when every variable is a scalar) must equal torch autograd's, by double backward, at three
points drawn clear of every branch boundary.

How they are ported. A model is built by running Python, so straight-line code, calls, tuples,
dicts, lists and loops with fixed counts are written as they are: where the code is pure
arithmetic, or calls NumPy or TensorFlow, the very same function runs twice, once on symgrad's
symbols with ``np``/``tf`` standing for symgrad's functions (SYMGRAD_NP, SYMGRAD_TF) and once on
torch tensors (TORCH_NP, TORCH_TF). Branches on data become ``sympy.Piecewise`` on the symgrad
side, one named node per assignment, while the torch side keeps Tangent's ``if``. A vector the
code indexes (``x[0]``, ``x[1:]``, ``for a in x``) is declared as its entries x0…x4 and handed
to the code as a list; torch gets the real vector and NumPy's indexing. A result that is not a
scalar (a tuple, a vector) is weighed by data w: the loss is ⟨w, f⟩, the cotangent Tangent
seeds with ones. TensorFlow's expand_dims, squeeze and reshape are NumPy's.

Ported (with n = 1, 2, 3 where the function takes n, and i = 0, 1, 2 for passthru_pack):
id_, unary_sub, sum_, cast_sum_, overwrite_call, tanh, identity_assign, increment, saxpy, mul,
add, saxpy_call, saxpy_anf, saxpy_overwrite, gradname_aliasing, overwrite_if,
test_binop_{mul,div,sub,add}{1,2,3} (sub3 is a − a and div3 is a / a: losses SymPy folds to a
constant), nested_if, multiarg_if, fn_multiply, fn_multiple_return, test_anf_list,
test_deep_anf_list, test_subscript1, test_subscript2, test_subscript3, test_list_and_subscript,
test_implicit_indexing, serial_if, multivar_if, serial_for, serial_ifthenfor, serial_forthenif,
devilish_nested_if, overwrite_ifelse, overwrite_arg, overwrite_non_arg, third_pow,
direct_third_pow, iter_third_pow1, iter_third_pow2, iterpower_static, iterpower,
cond_iterpower1, cond_iterpower2, superfor_iterpower, super_iterpower, numpy_sum, numpy_mean,
numpy_exp, numpy_exp2, numpy_sqrt, numpy_cos, numpy_sin, numpy_tan, numpy_cosh, numpy_sinh,
numpy_tanh, numpy_arccos, numpy_arcsin, numpy_arctan, numpy_atleast_1d, numpy_atleast_2d,
logistic_regression, det, tfe_negative, tfe_exp, tfe_log, tfe_tanh, tfe_cosh, tfe_sinh,
tfe_rsqrt, tfe_expand_dims_before, tfe_expand_dims_after, tfe_squeeze_before (the second of its
two definitions, which is the one Python keeps), tfe_reshape_flat, tfe_reshape_noop, tfe_add,
tfe_add_bcast, tfe_subtract, tfe_multiply, tfe_divide, tfe_maximum, tfe_squared_difference,
tfe_matmul (all four transpose flags), tfe_trace_fn (through _trace_mul), tfe_notrace_fn
(through _nontrace_mul), mul_with_call, if_mul_with_call, iterpower_with_call, nested_call,
iterpower_with_nested_def, unpacking_args_saxpy, dict_saxpy, dict_wrapper, passthru_pack,
passthru_unpack, cart2polar (with arctan2(b, a), which its comment says it means),
listcomp, active_subscript, init_array_grad_maybe_active, slicing, rnn, augassign, bilinear,
stack_pushing, gradgrad_pow, gradgrad_pow_twice, gradgrad_chain_of_mults,
gradgrad_chain_of_multcalls, useless_stack_ops, redefining_var_as_list, nested_dict,
extended_slice; and f_straightline, f_calltree from the HVP tests. (stack_pushing,
useless_stack_ops and redefining_var_as_list push and pop Tangent's own tape; what they compute
is a⁴, a and a.)

Not ported, and why:
- tfe_reduce_sum, tfe_reduce_sum_axis, tfe_reduce_mean, tfe_reduce_mean_axis, tfe_reduce_max,
  tfe_reduce_max_axis, tfe_matmul_highdim, tfe_conv2d, tfe_max_pool, tfe_avg_pool: their
  arguments are 4-D images (batch × height × width × channels); symgrad's tensors have at most
  two axes, and it has no convolution, pooling or max over entries.
- numpy_atleast_3d: makes a 3-D array (symgrad has no third axis).
- inlining_contextmanager: ``insert_grad_of`` rewrites the gradient (g·0.9) on purpose, so what
  it asks for is not the function's derivative.
- while_big: the number of times the loop runs depends on |a|, so no fixed unrolling states it.
- _inner_fn, _trace_mul, _nontrace_mul: helpers, ported through the functions that call them.
"""

# Tangent's code is kept as Tangent wrote it: if/else blocks, `0 > a`, unused unpacked names.
# ruff: noqa: SIM108, SIM300, RUF059

from __future__ import annotations

import builtins
import operator
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from types import SimpleNamespace

import numpy as np
import pytest
import sympy
from sympy import Piecewise

import symgrad
from symgrad import Model

from .oracles import assert_close, autograd, both_signs, draw, second_order, seeded, torch

BACKENDS = ["numpy", "torch"]
POINTS = 3
SMALL = ((-2.0, 2.0),)
NONZERO = both_signs(0.1, 2.0)
POSITIVE = ((0.2, 2.0),)
UNIT = ((-0.8, 0.8),)
# every a is at least 0.2 from every b, and either may be the larger
LARGER = ((-2.0, -1.1), (0.1, 0.9))
SMALLER = ((-0.9, -0.1), (1.1, 2.0))


def _symgrad(name: str):
    def call(*args, **keywords):
        found = getattr(symgrad, name, None)
        assert found is not None, f"symgrad.{name} does not exist"
        return found(*args, **keywords)

    return call


def _total(total):
    """np.sum: Python's sum of a list, the library's sum of an array."""
    return lambda x: builtins.sum(x) if isinstance(x, list | tuple) else total(x)


# The NumPy and TensorFlow calls Tangent's functions make, for symgrad and for torch.
SYMGRAD_NP = SimpleNamespace(
    sum=_total(_symgrad("sum")),
    mean=_symgrad("mean"),
    multiply=operator.mul,
    dot=operator.matmul,
    atleast_1d=lambda x: x,
    atleast_2d=lambda x: x,  # (n,) is already a 1×n row
    linalg=SimpleNamespace(det=_symgrad("det")),
    **{
        name: _symgrad(name)
        for name in (
            "exp",
            "log",
            "sqrt",
            "cos",
            "sin",
            "tan",
            "cosh",
            "sinh",
            "tanh",
            "arccos",
            "arcsin",
            "arctan",
            "arctan2",
        )
    },
)
TORCH_NP = SimpleNamespace(
    sum=_total(torch.sum),
    mean=torch.mean,
    multiply=torch.mul,
    dot=torch.matmul,
    atleast_1d=torch.atleast_1d,
    atleast_2d=torch.atleast_2d,
    linalg=SimpleNamespace(det=torch.linalg.det),
    exp=torch.exp,
    log=torch.log,
    sqrt=torch.sqrt,
    cos=torch.cos,
    sin=torch.sin,
    tan=torch.tan,
    cosh=torch.cosh,
    sinh=torch.sinh,
    tanh=torch.tanh,
    arccos=torch.acos,
    arcsin=torch.asin,
    arctan=torch.atan,
    arctan2=torch.atan2,
)


def _matmul(a, b, transpose_a=False, transpose_b=False):
    return (a.T if transpose_a else a) @ (b.T if transpose_b else b)


SYMGRAD_TF = SimpleNamespace(
    negative=operator.neg,
    add=operator.add,
    subtract=operator.sub,
    multiply=operator.mul,
    divide=operator.truediv,
    squared_difference=lambda a, b: (a - b) ** 2,
    matmul=_matmul,
    expand_dims=symgrad.expand_dims,
    squeeze=symgrad.squeeze,
    reshape=symgrad.reshape,
    shape=lambda t: t.shape,
    reduce_sum=lambda t: symgrad.sum(t),
    **{name: _symgrad(name) for name in ("exp", "log", "tanh", "cosh", "sinh", "rsqrt", "maximum")},
)
TORCH_TF = SimpleNamespace(
    negative=torch.neg,
    add=torch.add,
    subtract=torch.sub,
    multiply=torch.mul,
    divide=torch.div,
    squared_difference=lambda a, b: (a - b) ** 2,
    matmul=_matmul,
    expand_dims=torch.unsqueeze,
    squeeze=torch.squeeze,
    reshape=torch.reshape,
    shape=lambda t: t.shape,
    reduce_sum=torch.sum,
    exp=torch.exp,
    log=torch.log,
    tanh=torch.tanh,
    cosh=torch.cosh,
    sinh=torch.sinh,
    rsqrt=torch.rsqrt,
    maximum=torch.maximum,
)


# --- Tangent's functions, as Tangent writes them (np and tf passed in; Tangent's test_* names
# lose their prefix here, so that pytest does not take them for tests) ----------------------------


def id_(a):
    return a


def unary_sub(a):
    return -a


def sum_(np, x):
    return np.sum(x)


def overwrite_call(np, x):
    x = np.sum(x)
    x = x * x
    return x


def identity_assign(a):
    b = a
    return b


def increment(a):
    return a + 1


def saxpy(a, b, c):
    return a * b + c


def mul(a, b):
    return a * b


def add(a, b):
    return a + b


def saxpy_call(a, b, c):
    return add(mul(a, b), c)


def saxpy_anf(a, b, c):
    t1 = a * b
    t2 = t1 + c
    return t2


def saxpy_overwrite(a, b, c):
    t = a * b
    t = t + c
    return t


def gradname_aliasing(a):
    da = a * a
    return da


def fn_multiple_return(a):
    return 2 * a, a


def anf_list(a):
    b = [1, a * a, 2]
    return builtins.sum(b)


def deep_anf_list(x):
    b = [1, x[0] * x[1] * x[2], 3]
    return builtins.sum(b)


def subscript1(x):
    a = x[0]
    b = x[1]
    return a * b


def list_and_subscript(a):
    x = [1.0, a, 3.0]
    return x[0] * x[1]


def implicit_indexing(x):
    res = 0.0
    for a in x:
        res += a
    return res


def serial_for(a, n):
    for _ in range(n):
        a = a * a
    a = 2.0 * a
    for _ in range(n + 1):
        a = a * 3.0
    return a


def overwrite_arg(a):
    a = a * 3.0
    return a


def overwrite_non_arg(a):
    b = a
    b = b * 3.0
    return b


def third_pow(a):
    return a * a * a


def direct_third_pow(a):
    return a**3


def iter_third_pow1(a):
    out = 1
    for _ in range(3):
        out = out * a
    return out


def iter_third_pow2(a):
    out = a
    for _ in range(3 - 1):
        out = out * a
    return out


def iterpower_static(a):
    for _ in range(3):
        a = a * a
    return a


def iterpower(a, n):
    for _ in range(n):
        a = a * a
    return a


def superfor_iterpower(a):
    for _ in range(2):
        for _ in range(3):
            a = a * a
    return a


def super_iterpower(a):
    for _ in range(3):
        a = a * a * a
    return a


def _inner_fn(a, b):
    return a * b


def mul_with_call(a, b):
    return _inner_fn(a, b)


def iterpower_with_call(a, n):
    for _ in range(n):
        a = _inner_fn(a, a)
    return a


def nested_call(a, b):
    return mul_with_call(a, b)


def iterpower_with_nested_def(a, n):
    def _fn(a, n):
        return a * n

    for _ in range(n):
        a = _fn(a, a)
    return a


def unpacking_args_saxpy(abc_packed_in_tuple):
    a, b, c = abc_packed_in_tuple
    return a * b + c


def dict_saxpy(val):
    return val["a"] * val["b"] + val["c"]


def dict_wrapper(abc_packed_in_tuple):
    a, b, c = abc_packed_in_tuple
    return dict_saxpy(dict(a=a, b=b, c=c))


def passthru_pack(a, b, c, i):
    x = a, b, c
    return x[i]


def passthru_unpack(abc_packed_in_tuple):
    a, b, c = abc_packed_in_tuple
    return a


def cart2polar(np, a, b):
    r = np.sqrt(a**2.0 + b**2.0)
    theta = np.arctan2(b, a)  # Tangent's has np.arctan(b, a), "Should really be arctan2"
    return r, theta


def listcomp(a):
    return builtins.sum([i * 3 for i in a])


def slicing(x):
    return builtins.sum(x[1:])


def augassign(a):
    x = a * a
    x *= x
    return x


def augassign_torch(t):
    x = t["a"] * t["a"]
    x = x * x  # Tangent's x *= x on a float; on a tensor *= would overwrite what autograd keeps
    return x


def bilinear(np, x, h, U, W, b):
    y = np.dot(x, W)
    y = y + np.dot(h, U)
    y = y + b
    y = np.tanh(y)
    return np.sum(y)


def logistic_regression(np, input, label, W, b):
    h1 = np.dot(input, W) + b
    prediction = 0.5 * (np.tanh(h1) + 1)
    label_probabilities = prediction * label + (1 - prediction) * (1 - label)
    loss = -np.sum(np.log(label_probabilities))
    return loss


def det(np, sqm):
    return np.linalg.det(sqm)


def stack_pushing(a):
    y = a * a
    aa = a  # tangent.push(stack, a, 'abc'); aa = tangent.pop(stack, 'abc')
    z = y * aa
    z = z * aa
    return z


def gradgrad_pow_twice(a):
    a = a * a
    y = a * a
    return y


def gradgrad_chain_of_mults(a):
    b = a
    b = a * a
    c = b * b
    d = c * c
    return d


def gradgrad_chain_of_multcalls(a):
    b = mul(a, a)
    c = mul(b, b)
    d = mul(c, c)
    return d


def useless_stack_ops(a):
    b = a * a  # pushed and popped again
    del b
    return a


def redefining_var_as_list(a):
    x = a
    x = [a]
    del x
    return a


def nested_dict(p):
    return p["i"]["j"] * p["i"]["k"]


def f_straightline(np, x):
    a = x * x * x
    b = a * x**2.0
    return np.sum(b)


def cube(a):
    b = a * a * a
    return b


def f_calltree(np, x):
    a = cube(x)
    b = a * x**2.0
    return np.sum(b)


def numpy_function(name):
    def f(np, a):
        return getattr(np, name)(a)

    return f


def numpy_exp2(np, a):
    return np.exp(np.exp(a))


def numpy_mean(np, x):
    return np.mean(x)


def numpy_atleast_1d(np, x):
    return np.sum(np.atleast_1d(x))


def numpy_atleast_2d(np, x):
    return np.sum(np.atleast_2d(x))


def tfe_unary(name):
    def f(tf, t):
        return getattr(tf, name)(t)

    return f


def tfe_binary(name):
    def f(tf, t1, t2):
        return getattr(tf, name)(t1, t2)

    return f


def tfe_expand_dims_before(tf, t):
    return tf.expand_dims(t, 0)


def tfe_expand_dims_after(tf, t):
    return tf.expand_dims(t, 1)


def tfe_squeeze_before(tf, t):  # Tangent's second definition of this name
    return tf.squeeze(tf.expand_dims(t, 1), 1)


def tfe_reshape_flat(tf, t):
    return tf.reshape(t, (-1,))


def tfe_reshape_noop(tf, t):
    return tf.reshape(tf.reshape(t, (-1,)), tf.shape(t))


def tfe_matmul(flags):
    def f(tf, mat1, mat2):
        return tf.matmul(mat1, mat2, transpose_a=flags[0], transpose_b=flags[1])

    return f


def _trace_mul(tf, a, b):
    return tf.multiply(a, b)


def tfe_trace_fn(tf, t):
    out = _trace_mul(tf, t, t)
    return tf.reduce_sum(out)


def tfe_notrace_fn(tf, t):
    out = _trace_mul(tf, t, t)  # _nontrace_mul is the same product without tangent.trace
    return tf.reduce_sum(out)


# --- the same functions with branches on data: Piecewise for symgrad, Tangent's if for torch ----


def overwrite_if_symbolic(m, s):
    a = s["a"]
    return Piecewise((a * 3.0, a > 0), (a * 2.0, True))


def overwrite_if(t):
    a = t["a"]
    if a > 0:
        a = a * 3.0
    else:
        a = a * 2.0
    return a


def nested_if_symbolic(m, s):
    a = s["a"]
    return Piecewise((a * a, (a > 0) & (a < 10)), (a, a > 0), (3.0 * a, True))


def nested_if(t):
    a = t["a"]
    if a > 0:
        if a < 10:
            a = a * a
    else:
        a = 3.0 * a
    return a


def multiarg_if_symbolic(m, s):
    a = s["a"]
    b = m.node("b", Piecewise((3.0, a * a / 3.0 > 0), (4.0, True)))
    a = m.node("a_1", a * b)
    inner = Piecewise((a / b, a / 2.0 < 0), (a * b, True))
    return Piecewise((a * a, a < b - a * b), (inner, a > b + 3.0 * a), (-a, True))


def multiarg_if(t):
    a = t["a"]
    if a * a / 3.0 > 0:
        b = 3.0
    else:
        b = 4.0
    a = a * b
    if a < b - a * b:
        a = a * a
    elif a > b + 3.0 * a:
        if a / 2.0 < 0:
            a = a / b
        else:
            a = a * b
    else:
        a = -a
    return a


def serial_if_symbolic(m, s):
    a = s["a"]
    a = m.node("a_1", Piecewise((a * a, a > 0), (a, True)))
    a = m.node("a_2", a + a)
    return Piecewise((3.0 * a, a < 0), (a, True))


def serial_if(t):
    a = t["a"]
    if a > 0:
        a = a * a
    a = a + a
    if a < 0:
        a = 3.0 * a
    return a


def multivar_if_symbolic(m, s):
    a, b = s["a"], s["b"]
    return Piecewise((a * a, a > b), (a * b, True))


def multivar_if(t):
    a, b = t["a"], t["b"]
    if a > b:
        a = a * a
    else:
        a = a * b
    return a


def serial_ifthenfor_symbolic(n):
    def build(m, s):
        a = s["a"]
        a = m.node("a_1", Piecewise((a * a, a > 0), (a, True)))
        a = 2.0 * a
        for _ in range(n):
            a = a * a
        return a

    return build


def serial_ifthenfor(n):
    def f(t):
        a = t["a"]
        if a > 0:
            a = a * a
        a = 2.0 * a
        for _ in range(n):
            a = a * a
        return a

    return f


def serial_forthenif_symbolic(n):
    def build(m, s):
        a = s["a"]
        for _ in range(n):
            a = a * a
        a = m.node("a_1", 2.0 * a)
        return Piecewise((a * a, a > 0), (a, True))

    return build


def serial_forthenif(n):
    def f(t):
        a = t["a"]
        for _ in range(n):
            a = a * a
        a = 2.0 * a
        if a > 0:
            a = a * a
        return a

    return f


def devilish_nested_if_symbolic(m, s):
    a = s["a"]
    tripled = 3.0 * a
    return Piecewise(
        (tripled * tripled, (a > 0) & (tripled < 10)), (tripled * 2.0, a > 0), (a, True)
    )


def devilish_nested_if(t):
    a = t["a"]
    if a > 0:
        a = a * 3.0
        if a < 10:
            a = a * a
        else:
            a = a * 2.0
    return a


def overwrite_ifelse_symbolic(m, s):
    a = s["a"]
    return Piecewise((a * 3.0, a > 0), (a * 2.0, 0 > a), (1.0 * a, True))


def overwrite_ifelse(t):
    a = t["a"]
    if a > 0:
        a = a * 3.0
    elif 0 > a:
        a = a * 2.0
    else:
        a = 1.0 * a
    return a


def cond_iterpower1_symbolic(m, s):
    a = s["a"]
    for i in range(3):
        a = m.node(f"a_{i + 1}", Piecewise((a * a, a < 20), (a, True)))
    return a


def cond_iterpower1(t):
    a = t["a"]
    for _ in range(3):
        if a < 20:
            a = a * a
    return a


def cond_iterpower2_symbolic(m, s):
    a = s["a"]
    return Piecewise((iterpower_static(a), a < 20), (a, True))


def cond_iterpower2(t):
    a = t["a"]
    if a < 20:
        for _ in range(3):
            a = a * a
    return a


def numpy_sqrt_symbolic(m, s):
    a = s["a"]
    return Piecewise((symgrad.sqrt(a), a >= 0), (symgrad.sqrt(-a), True))


def numpy_sqrt(t):
    a = t["a"]
    if a >= 0:
        r = torch.sqrt(a)
    else:
        r = torch.sqrt(-a)
    return r


def if_mul_with_call_symbolic(m, s):
    a, b = s["a"], s["b"]
    return Piecewise((_inner_fn(a, b), a > b), (_inner_fn(b, a), True))


def if_mul_with_call(t):
    a, b = t["a"], t["b"]
    if a > b:
        o = _inner_fn(a, b)
    else:
        o = _inner_fn(b, a)
    return o


def gradgrad_pow_symbolic(m, s):
    a, b = s["a"], s["b"]
    return Piecewise((a**b, a >= 0), ((-a) ** b, True))


def gradgrad_pow(t):
    a, b = t["a"], t["b"]
    if a >= 0:
        a = a**b
    else:
        a = (-a) ** b
    return a


# --- indexing: symgrad gets the entries as a list, torch the vector ------------------------------

ENTRIES = 5


def entries(s):
    return [s[f"x{i}"] for i in range(ENTRIES)]


def vector(t):
    return torch.stack([t[f"x{i}"] for i in range(ENTRIES)])


def subscript2_symbolic(x):
    x = list(x)
    a = x[0]
    b = x[1]
    x[0] = a * b
    return builtins.sum(x)


def subscript2(x):
    a = x[0].clone()  # NumPy's x[0] is a copy, torch's a view
    b = x[1].clone()
    x = x.clone()
    x[0] = a * b
    return x.sum()


def subscript3_symbolic(x):
    x = list(x)
    y = [entry**2.0 for entry in x]
    x[0] = y[1] * y[2]
    return builtins.sum(xi * yi for xi, yi in zip(x, y, strict=True))


def subscript3(x):
    y = x**2.0
    x = x.clone()  # NumPy's y keeps the x it was made from
    x[0] = y[1] * y[2]
    return (x * y).sum()


def active_subscript_symbolic(x):
    y = [0.0] * len(x)
    for i in range(len(x)):
        y[i] = x[i]
    return builtins.sum(y)


def active_subscript(x):
    y = torch.zeros_like(x)
    for i in range(len(x)):
        y[i] = x[i]
    return y.sum()


def init_array_grad_maybe_active_symbolic(x):
    h = [[0.0] * 3 for _ in range(len(x))]
    for t in range(len(h)):
        h[t] = [x[t]] * 3
    return builtins.sum(builtins.sum(row) for row in h)


def init_array_grad_maybe_active(x):
    h = torch.zeros((len(x), 3), dtype=x.dtype)
    for t in range(len(h)):
        h[t] = x[t]
    return h.sum()


def extended_slice_symbolic(x):
    return builtins.sum(x[::2])


def extended_slice(x):
    return x[::2, None].sum()


def rnn_symbolic(m, s):
    inputs, W = [s[f"inputs{t}"] for t in range(3)], s["W"]
    h = [0]
    for t in range(3):
        h.append(m.node(f"h{t + 1}", inputs[t] @ W + h[t]))
    return builtins.sum(symgrad.sum(row) for row in h[1:])


def rnn(t):
    inputs, W = torch.stack([t[f"inputs{k}"] for k in range(3)]), t["W"]
    h = torch.zeros((4, 3), dtype=W.dtype)
    for k in range(3):
        h[k + 1] = inputs[k] @ W + h[k]
    return h[1:].sum()


# --- the table -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Port:
    """One Tangent function: its variables (name → role, shape, domain), the loss from
    symgrad's symbols (``symbolic(model, symbols)``), and the loss from torch tensors."""

    name: str
    variables: dict
    symbolic: Callable
    reference: Callable

    @property
    def params(self) -> list[str]:
        return [n for n, (role, _, _) in self.variables.items() if role == "param"]


def scalars(names: str, domain=SMALL, role: str = "param") -> dict:
    return {n: (role, (), domain) for n in names.split()}


def weighted(outputs, weights, total):
    """⟨w, f⟩ for a result that is a tuple or a vector; the result itself when a scalar."""
    if not weights:
        return outputs
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    terms = []
    for w, out in zip(weights, outputs, strict=True):
        terms.append(total(w * out) if getattr(w * out, "shape", ()) else w * out)
    return builtins.sum(terms[1:], terms[0])


def same(name, function, variables, *, module=None, weights=(), pack=None):
    """Tangent's ``function`` run on symgrad's symbols and on torch tensors alike. ``module``
    is np or tf; ``weights`` name the data w of ⟨w, f⟩; ``pack`` turns the variables into the
    function's arguments (a tuple, a dict)."""
    arguments = [n for n in variables if n not in weights]
    pack = pack or (lambda values: [values[n] for n in arguments])

    def run(values, modules, total):
        front = [modules] if module else []
        return weighted(function(*front, *pack(values)), [values[w] for w in weights], total)

    return Port(
        name,
        variables,
        lambda m, s: run(s, SYMGRAD_TF if module == "tf" else SYMGRAD_NP, symgrad.sum),
        lambda t: run(t, TORCH_TF if module == "tf" else TORCH_NP, torch.sum),
    )


def branchy(name, symbolic, reference, variables):
    return Port(name, variables, symbolic, reference)


def indexed(name, symbolic, reference=None, domain=SMALL):
    """A function of a vector x that indexes it: symgrad states it on the entries x0…x4."""
    reference = reference or symbolic
    return Port(
        name,
        scalars(" ".join(f"x{i}" for i in range(ENTRIES)), domain),
        lambda m, s: symbolic(entries(s)),
        lambda t: reference(vector(t)),
    )


A = scalars("a")
ABC = scalars("a b c")
VECTOR = {"x": ("param", (ENTRIES,), SMALL)}
T = {"t": ("param", (ENTRIES,), SMALL)}
T_POSITIVE = {"t": ("param", (ENTRIES,), POSITIVE)}
T1_T2 = {"t1": ("param", (ENTRIES,), SMALL), "t2": ("param", (ENTRIES,), SMALL)}


def weight(shape) -> dict:
    return {"w": ("input", shape, SMALL)}


def one_hot_label(rng, shape):
    """Tangent's label: zeros, label[1] = 1."""
    return np.eye(5)[1]


PORTS = [
    # straight-line code on scalars
    same("id_", id_, A),
    same("unary_sub", unary_sub, A),
    same("tanh", numpy_function("tanh"), A, module="np"),
    same("identity_assign", identity_assign, A),
    same("increment", increment, A),
    same("saxpy", saxpy, ABC),
    same("mul", mul, scalars("a b")),
    same("add", add, scalars("a b")),
    same("saxpy_call", saxpy_call, ABC),
    same("saxpy_anf", saxpy_anf, ABC),
    same("saxpy_overwrite", saxpy_overwrite, ABC),
    same("gradname_aliasing", gradname_aliasing, A),
    same("test_binop_mul1", lambda a: a * 3.0, A),
    same("test_binop_mul2", lambda a: 3.0 * a, A),
    same("test_binop_mul3", lambda a: a * a, A),
    same("test_binop_div1", lambda a: a / 3.0, A),
    same("test_binop_div2", lambda a: 3.0 / a, scalars("a", both_signs(0.3, 2.0))),
    same("test_binop_div3", lambda a: a / a, scalars("a", NONZERO)),
    same("test_binop_sub1", lambda a: a - 3.0, A),
    same("test_binop_sub2", lambda a: 3.0 - a, A),
    same("test_binop_sub3", lambda a: a - a, A),
    same("test_binop_add1", lambda a: a + 3.0, A),
    same("test_binop_add2", lambda a: 3.0 + a, A),
    same("test_binop_add3", lambda a: a + a, A),
    same("fn_multiply", lambda np, a: np.multiply(a, 3.0), A, module="np"),
    same(
        "fn_multiple_return",
        fn_multiple_return,
        {**A, **scalars("w0 w1", role="input")},
        weights=("w0", "w1"),
    ),
    same("test_anf_list", anf_list, A),
    same("test_list_and_subscript", list_and_subscript, A),
    same("overwrite_arg", overwrite_arg, A),
    same("overwrite_non_arg", overwrite_non_arg, A),
    same("third_pow", third_pow, A),
    same("direct_third_pow", direct_third_pow, A),
    same("iter_third_pow1", iter_third_pow1, A),
    same("iter_third_pow2", iter_third_pow2, A),
    same("iterpower_static", iterpower_static, A),
    same("superfor_iterpower", superfor_iterpower, scalars("a", ((-1.1, 1.1),))),
    same("super_iterpower", super_iterpower, scalars("a", ((-1.2, 1.2),))),
    Port("augassign", A, lambda m, s: augassign(s["a"]), augassign_torch),
    same("stack_pushing", stack_pushing, A),
    same("gradgrad_pow_twice", gradgrad_pow_twice, A),
    same("gradgrad_chain_of_mults", gradgrad_chain_of_mults, A),
    same("gradgrad_chain_of_multcalls", gradgrad_chain_of_multcalls, A),
    same("useless_stack_ops", useless_stack_ops, A),
    same("redefining_var_as_list", redefining_var_as_list, A),
    same("mul_with_call", mul_with_call, scalars("a b")),
    same("nested_call", nested_call, scalars("a b")),
    same(
        "unpacking_args_saxpy", unpacking_args_saxpy, ABC, pack=lambda v: [(v["a"], v["b"], v["c"])]
    ),
    same("dict_saxpy", dict_saxpy, ABC, pack=lambda v: [{"a": v["a"], "b": v["b"], "c": v["c"]}]),
    same("dict_wrapper", dict_wrapper, ABC, pack=lambda v: [(v["a"], v["b"], v["c"])]),
    same("passthru_unpack", passthru_unpack, ABC, pack=lambda v: [(v["a"], v["b"], v["c"])]),
    same(
        "nested_dict",
        nested_dict,
        scalars("j k"),
        pack=lambda v: [{"i": {"j": v["j"], "k": v["k"]}}],
    ),
    *[
        same(
            f"passthru_pack(i={i})",
            passthru_pack,
            ABC,
            pack=lambda v, i=i: [v["a"], v["b"], v["c"], i],
        )
        for i in range(3)
    ],
    *[
        port
        for n in (1, 2, 3)
        for port in (
            same(
                f"serial_for(n={n})", lambda a, n=n: serial_for(a, n), scalars("a", ((-1.3, 1.3),))
            ),
            same(f"iterpower(n={n})", lambda a, n=n: iterpower(a, n), A),
            same(f"iterpower_with_call(n={n})", lambda a, n=n: iterpower_with_call(a, n), A),
            same(
                f"iterpower_with_nested_def(n={n})",
                lambda a, n=n: iterpower_with_nested_def(a, n),
                A,
            ),
            branchy(
                f"serial_ifthenfor(n={n})",
                serial_ifthenfor_symbolic(n),
                serial_ifthenfor(n),
                scalars("a", both_signs(0.1, 1.3)),
            ),
            branchy(
                f"serial_forthenif(n={n})",
                serial_forthenif_symbolic(n),
                serial_forthenif(n),
                scalars("a", both_signs(0.1, 1.3)),
            ),
        )
    ],
    # branches on data
    branchy("overwrite_if", overwrite_if_symbolic, overwrite_if, scalars("a", NONZERO)),
    branchy(
        "nested_if",
        nested_if_symbolic,
        nested_if,
        scalars("a", ((-2.0, -0.1), (0.1, 9.5), (10.5, 12.0))),
    ),
    branchy(
        "multiarg_if",
        multiarg_if_symbolic,
        multiarg_if,
        scalars("a", ((-2.0, -0.1), (0.1, 0.2), (0.3, 2.0))),
    ),
    branchy("serial_if", serial_if_symbolic, serial_if, scalars("a", NONZERO)),
    branchy(
        "multivar_if",
        multivar_if_symbolic,
        multivar_if,
        {**scalars("a", LARGER), **scalars("b", SMALLER)},
    ),
    branchy(
        "devilish_nested_if",
        devilish_nested_if_symbolic,
        devilish_nested_if,
        scalars("a", ((-2.0, -0.1), (0.1, 3.2), (3.5, 5.0))),
    ),
    branchy("overwrite_ifelse", overwrite_ifelse_symbolic, overwrite_ifelse, scalars("a", NONZERO)),
    branchy(
        "cond_iterpower1",
        cond_iterpower1_symbolic,
        cond_iterpower1,
        scalars("a", both_signs(0.1, 2.0) + both_signs(2.3, 4.0)),
    ),
    branchy(
        "cond_iterpower2",
        cond_iterpower2_symbolic,
        cond_iterpower2,
        scalars("a", ((-1.5, 1.5), (20.5, 21.5))),
    ),
    branchy("numpy_sqrt", numpy_sqrt_symbolic, numpy_sqrt, scalars("a", both_signs(0.2, 2.0))),
    branchy(
        "if_mul_with_call",
        if_mul_with_call_symbolic,
        if_mul_with_call,
        {**scalars("a", LARGER), **scalars("b", SMALLER)},
    ),
    branchy(
        "gradgrad_pow",
        gradgrad_pow_symbolic,
        gradgrad_pow,
        {**scalars("a", both_signs(0.3, 2.0)), **scalars("b")},
    ),
    # NumPy on scalars
    same("numpy_exp", numpy_function("exp"), A, module="np"),
    same("numpy_exp2", numpy_exp2, scalars("a", ((-2.0, 1.0),)), module="np"),
    same("numpy_cos", numpy_function("cos"), A, module="np"),
    same("numpy_sin", numpy_function("sin"), A, module="np"),
    same("numpy_tan", numpy_function("tan"), scalars("a", ((-1.3, 1.3),)), module="np"),
    same("numpy_cosh", numpy_function("cosh"), A, module="np"),
    same("numpy_sinh", numpy_function("sinh"), A, module="np"),
    same("numpy_tanh", numpy_function("tanh"), A, module="np"),
    same("numpy_arccos", numpy_function("arccos"), scalars("a", UNIT), module="np"),
    same("numpy_arcsin", numpy_function("arcsin"), scalars("a", UNIT), module="np"),
    same("numpy_arctan", numpy_function("arctan"), A, module="np"),
    same(
        "cart2polar",
        cart2polar,
        {**scalars("a b", both_signs(0.3, 2.0)), **scalars("w0 w1", role="input")},
        module="np",
        weights=("w0", "w1"),
    ),
    # NumPy on vectors and matrices
    same("sum_", sum_, VECTOR, module="np"),
    same("cast_sum_", sum_, VECTOR, module="np"),  # np.array(x) is x
    same("overwrite_call", overwrite_call, VECTOR, module="np"),
    same("numpy_sum", sum_, VECTOR, module="np"),
    same("numpy_mean", numpy_mean, VECTOR, module="np"),
    same("numpy_atleast_1d", numpy_atleast_1d, VECTOR, module="np"),
    same("numpy_atleast_2d", numpy_atleast_2d, VECTOR, module="np"),
    same("f_straightline", f_straightline, VECTOR, module="np"),
    same("f_calltree", f_calltree, VECTOR, module="np"),
    same(
        "logistic_regression",
        logistic_regression,
        {
            "input": ("input", (3,), ((0.0, 1.0),)),
            "label": ("input", (5,), one_hot_label),
            "W": ("param", (3, 5), SMALL),
            "b": ("param", (5,), SMALL),
        },
        module="np",
    ),
    same("det", det, {"sqm": ("param", (3, 3), SMALL)}, module="np"),
    same(
        "bilinear",
        bilinear,
        {
            "x": ("param", (1, 3), SMALL),
            "h": ("param", (1, 3), SMALL),
            "U": ("param", (3, 3), SMALL),
            "W": ("param", (3, 3), SMALL),
            "b": ("param", (1, 3), SMALL),
        },
        module="np",
    ),
    branchy(
        "rnn",
        rnn_symbolic,
        rnn,
        {**{f"inputs{t}": ("param", (2,), SMALL) for t in range(3)}, "W": ("param", (2, 3), SMALL)},
    ),
    # indexing a vector
    indexed("test_deep_anf_list", deep_anf_list),
    indexed("test_subscript1", subscript1),
    indexed("test_subscript2", subscript2_symbolic, subscript2),
    indexed("test_subscript3", subscript3_symbolic, subscript3),
    indexed("test_implicit_indexing", implicit_indexing),
    indexed("listcomp", listcomp),
    indexed("active_subscript", active_subscript_symbolic, active_subscript),
    indexed(
        "init_array_grad_maybe_active",
        init_array_grad_maybe_active_symbolic,
        init_array_grad_maybe_active,
    ),
    indexed("slicing", slicing),
    indexed("extended_slice", extended_slice_symbolic, extended_slice),
    # TensorFlow eager on vectors (t of 5 entries) and matrices
    *[
        same(
            f"tfe_{name}",
            tfe_unary(name),
            {**(T_POSITIVE if positive else T), **weight((ENTRIES,))},
            module="tf",
            weights=("w",),
        )
        for name, positive in [
            ("negative", False),
            ("exp", False),
            ("log", True),
            ("tanh", False),
            ("cosh", False),
            ("sinh", False),
            ("rsqrt", True),
        ]
    ],
    same(
        "tfe_expand_dims_before",
        tfe_expand_dims_before,
        {**T, **weight((1, ENTRIES))},
        module="tf",
        weights=("w",),
    ),
    same(
        "tfe_expand_dims_after",
        tfe_expand_dims_after,
        {**T, **weight((ENTRIES, 1))},
        module="tf",
        weights=("w",),
    ),
    same(
        "tfe_squeeze_before",
        tfe_squeeze_before,
        {**T, **weight((ENTRIES,))},
        module="tf",
        weights=("w",),
    ),
    same(
        "tfe_reshape_flat",
        tfe_reshape_flat,
        {**T, **weight((ENTRIES,))},
        module="tf",
        weights=("w",),
    ),
    same(
        "tfe_reshape_noop",
        tfe_reshape_noop,
        {**T, **weight((ENTRIES,))},
        module="tf",
        weights=("w",),
    ),
    *[
        same(
            f"tfe_{name}",
            tfe_binary(name),
            {**T1_T2, **weight((ENTRIES,))},
            module="tf",
            weights=("w",),
        )
        for name in ("add", "subtract", "multiply", "squared_difference")
    ],
    same(
        "tfe_add_bcast",
        tfe_binary("add"),
        {"s": ("param", (), SMALL), **T, **weight((ENTRIES,))},
        module="tf",
        weights=("w",),
    ),
    same(
        "tfe_divide",
        tfe_binary("divide"),
        {
            "t1": ("param", (ENTRIES,), SMALL),
            "t2": ("param", (ENTRIES,), both_signs(0.5, 2.0)),
            **weight((ENTRIES,)),
        },
        module="tf",
        weights=("w",),
    ),
    same(
        "tfe_maximum",
        tfe_binary("maximum"),
        {
            "t1": ("param", (ENTRIES,), LARGER),
            "t2": ("param", (ENTRIES,), SMALLER),
            **weight((ENTRIES,)),
        },
        module="tf",
        weights=("w",),
    ),
    *[
        same(
            f"tfe_matmul(transpose_a={a}, transpose_b={b})",
            tfe_matmul((a, b)),
            {"mat1": ("param", (3, 3), SMALL), "mat2": ("param", (3, 3), SMALL), **weight((3, 3))},
            module="tf",
            weights=("w",),
        )
        for a in (False, True)
        for b in (False, True)
    ],
    same("tfe_trace_fn", tfe_trace_fn, T, module="tf"),
    same("tfe_notrace_fn", tfe_notrace_fn, T, module="tf"),
]
BY_NAME = {port.name: port for port in PORTS}
assert len(BY_NAME) == len(PORTS), "two ports share a name"


@cache
def port_model(name: str) -> Model:
    port = BY_NAME[name]
    m = Model(f"tangent {name}")
    symbols = {}
    for variable, (role, shape, _) in port.variables.items():
        declare = m.param if role == "param" else m.input
        symbols[variable] = declare(variable, shape or None)
    m.loss("L", port.symbolic(m, symbols))
    return m


@cache
def derivation(name: str):
    return symgrad.derive(port_model(name))


@cache
def hessian(name: str):
    return second_order(port_model(name))


def points(port: Port) -> list[dict]:
    found = []
    for k in range(POINTS):
        rng = seeded("tangent", port.name, k)
        values = {}
        for variable, (_, shape, domain) in port.variables.items():
            values[variable] = domain(rng, shape) if callable(domain) else draw(rng, domain, shape)
        found.append(values)
    return found


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("port", PORTS, ids=[port.name for port in PORTS])
def test_gradient_equals_autograds(port, backend):
    compiled = symgrad.compile(derivation(port.name), backend)
    for values in points(port):
        loss, gradient = compiled(**values)
        want, expected = autograd(port.reference, values, port.params)
        where = f"{port.name} at {values} ({backend})"
        assert_close(loss, want, f"{where}: the loss")
        for name in port.params:
            assert_close(gradient[name], expected[name], f"{where}: ∂L/∂{name}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("port", PORTS, ids=[port.name for port in PORTS])
def test_hessian_vector_product_equals_autograds(port, backend):
    compiled = hessian(port.name).compile(backend)
    scalar = all(port.variables[n][1] == () for n in port.params)
    for k, values in enumerate(points(port)):
        rng = seeded("tangent direction", port.name, k)
        v = {n: draw(rng, ((-1.0, 1.0),), port.variables[n][1]) for n in port.params}
        _, _, expected = autograd(port.reference, values, port.params, v)
        product = compiled.hvp(v, **values)
        where = f"{port.name} at {values} ({backend})"
        for name in port.params:
            assert_close(product[name], expected[name], f"{where}: (H v) for {name}")
        if scalar:
            columns = []
            for j, _ in enumerate(port.params):
                unit = {n: float(i == j) for i, n in enumerate(port.params)}
                hv = autograd(port.reference, values, port.params, unit)[2]
                columns.append([hv[n] for n in port.params])
            assert_close(compiled.hessian(**values), np.array(columns).T, f"{where}: the Hessian")


def test_sympy_keeps_the_piecewise_of_a_branch():
    """The branch ports really are Piecewise: SymPy has not folded them away."""
    for name in ("overwrite_if", "nested_if", "multivar_if", "gradgrad_pow", "numpy_sqrt"):
        loss = port_model(name).loss_node.expr
        assert loss.has(sympy.Piecewise), f"{name}: {loss}"
