"""A model from PyTorch code: ``symgrad.from_torch(loss_fn, example)``.

The loss function runs once, on its example, under a ``TorchFunctionMode`` (PyTorch's
``__torch_function__`` protocol) that records every torch call reaching a tensor of the model:
the function as the code called it (``F.linear``, ``Tensor.mm``, ``F.binary_cross_entropy``)
with its keywords, the source line that called it and the module it ran in. A calculation
among constants runs as it is and stays a constant. Each recorded call is then written with
symgrad's operations (``TORCH_FUNCTIONS`` below: one row per function); a call with no row,
or a keyword a row cannot honour, is refused in one line naming the function and the line.

Names come from the source: a result the code assigns to a variable is a node of that name
(``hidden``, ``y_pred``, ``loss``); the output of a module is a node named by the module's path
(``layer1.0`` → ``layer1_0``); a module's parameter is named by its ``named_parameters()`` name
with dots as underscores (``layer2.0.weight`` → ``layer2_0_weight``). The rest is written
inside the nodes that use it.

Why this machinery and not ``torch.export`` or ``make_fx``: those trace at ATen's level (after
PyTorch's own decompositions) and their first call costs 1.4–1.8 s of compilation here for a
two-layer network, where one run of the function in eager mode costs milliseconds; and the
functions as written, with their keywords, are what a refusal must name. Like any tracer this
follows the example's path through Python control flow; a Python ``if`` on a tensor's value is
refused, as ``torch.export`` refuses it.
"""

from __future__ import annotations

import ast
import math
import numbers
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import sympy

from . import tensors as T
from .errors import SymgradError
from .model import Model
from .rules import is_choice, public_functions

_HERE = os.path.dirname(os.path.abspath(__file__))


# --- recording the calls --------------------------------------------------------------------


@dataclass
class Call:
    """One torch call that reached a tensor of the model."""

    name: str  # the function's name, as the rows know it (linear, mm, __add__, sum, …)
    args: tuple
    kwargs: dict
    result: object
    where: str  # "file:line" of the code that made the call
    module: str | None  # the path of the innermost module the call ran in


@dataclass
class Trace:
    calls: list[Call] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)  # id(tensor) → the name the code gives
    module_outputs: dict[int, str] = field(default_factory=dict)  # id(tensor) → module path
    keep: list = field(default_factory=list)  # the tensors named by id, kept alive


def _user_frame():
    """The innermost frame of the user's code: outside torch and outside symgrad."""
    frame = sys._getframe(1)
    while frame is not None:
        if _user_frame_filter(frame.f_code.co_filename):
            return frame
        frame = frame.f_back
    return None


def _where(frame) -> str:
    if frame is None:
        return "<unknown>"
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def _tensors_in(value):
    """The tensors in an argument: itself, or those in a list or tuple of them."""
    import torch

    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _tensors_in(item)
    elif isinstance(value, slice):
        yield from _tensors_in((value.start, value.stop, value.step))


def _record(loss_fn, example: dict, variables: set[int], names: dict[int, str]):
    """Run ``loss_fn(**example)`` recording the calls that reach ``variables`` (by id) or a
    parameter of a module; returns the trace, the result and the modules called."""
    import torch
    from torch.overrides import TorchFunctionMode

    trace = Trace()
    symbolic: set[int] = set(variables)
    module_stack: list = []
    top_modules: list = []  # modules called from the user's code, in order
    paths: dict[int, str] = {}  # id(module) → its path below its top-level module

    # tensors the model reads: variables, and every parameter that requires a gradient
    def reads(tensor) -> bool:  # a leaf that requires a gradient is a parameter
        return id(tensor) in symbolic or (tensor.requires_grad and tensor.is_leaf)

    class Recorder(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            involved = any(reads(t) for t in _tensors_in((args, tuple(kwargs.values()))))
            name = getattr(func, "__name__", None) or str(func)
            if name == "__get__":  # a property: Tensor.T, .shape, .dtype
                name = getattr(getattr(func, "__self__", None), "__name__", name)
            frame = _user_frame()
            if name in _SHAPE_ONLY:  # zeros_like(x): a constant of x's shape
                involved = False
            if involved and name in _VALUE_DEPENDENT:
                raise SymgradError(_value_dependent(name), _where(frame))
            if involved and _in_place(name):
                raise SymgradError(
                    f"{name} changes a tensor of the model in place; symgrad reads each value "
                    "once (write y = f(x) instead)",
                    _where(frame),
                )
            result = func(*args, **kwargs)
            if not involved:
                return result
            outputs = list(_tensors_in(result))
            if not outputs:  # .shape, .dim(), .size(): what the code reads of the shape
                return result
            for tensor in outputs:
                symbolic.add(id(tensor))
                trace.keep.append(tensor)
            module = paths.get(id(module_stack[-1])) if module_stack else None
            trace.calls.append(Call(name, args, kwargs, result, _where(frame), module))
            if frame is not None:
                _name_locals(frame, trace, symbolic)
            return result

    def before(module, inputs):
        if not module_stack and id(module) not in paths:
            top_modules.append(module)
            own = names.get(id(module), "module")
            for path, sub in module.named_modules():
                # a child of an nn.Sequential is "0": it goes by its parent's name, "net.0"
                paths.setdefault(id(sub), f"{own}.{path}" if path[:1].isdigit() else path)
        module_stack.append(module)

    def after(module, inputs, output):
        module_stack.pop()
        path = paths.get(id(module))
        for tensor in _tensors_in(output):
            if id(tensor) in symbolic and path:
                trace.module_outputs.setdefault(id(tensor), path)
        frame = _user_frame()
        if frame is not None:
            _name_locals(frame, trace, symbolic)

    hooks = [
        torch.nn.modules.module.register_module_forward_pre_hook(before),
        torch.nn.modules.module.register_module_forward_hook(after),
    ]
    try:
        with Recorder():
            result = loss_fn(**example)
    except SymgradError:
        raise
    except Exception as error:  # the code itself fails on its example
        raise SymgradError(
            f"{getattr(loss_fn, '__name__', 'the loss function')} failed on its example: "
            f"{type(error).__name__}: {error}",
            _user_line(error.__traceback__),
        ) from None
    finally:
        for hook in hooks:
            hook.remove()
    return trace, result, top_modules


def _user_line(traceback) -> str | None:
    """The innermost line of the user's code in a traceback."""
    where = None
    while traceback is not None:
        if _user_frame_filter(traceback.tb_frame.f_code.co_filename):
            where = f"{traceback.tb_frame.f_code.co_filename}:{traceback.tb_lineno}"
        traceback = traceback.tb_next
    return where


def _user_frame_filter(filename: str) -> bool:
    return not (
        filename.startswith(_HERE)
        or f"{os.sep}torch{os.sep}" in filename
        or filename.startswith("<frozen")
    )


def _name_locals(frame, trace: Trace, symbolic: set[int]) -> None:
    """Name the recorded results the user's code has assigned to variables by now."""
    for variable, value in list(frame.f_locals.items()):
        if (
            type(value).__name__ in ("Tensor", "Parameter")
            and id(value) in symbolic
            and id(value) not in trace.names
            and not variable.startswith("_")
        ):
            trace.names[id(value)] = variable
            trace.keep.append(value)


# functions that read a tensor's shape only: their results are constants
_SHAPE_ONLY = {"zeros_like", "ones_like", "full_like", "empty_like", "size", "dim", "numel"}

_VALUE_DEPENDENT = {
    "__bool__": "a Python if, while, and, or or not",
    "item": ".item()",
    "tolist": ".tolist()",
    "numpy": ".numpy()",
    "__int__": "int()",
    "__float__": "float()",
    "__index__": "an index",
    "detach": ".detach() (it stops the gradient)",
    "detach_": ".detach_() (it stops the gradient)",
    "__array__": "NumPy",
}


def _in_place(name: str) -> bool:
    """``x.add_(1)``, ``x += 1``, ``x[0] = y``: a change to a tensor after it was made."""
    if name.startswith("__"):
        return name == "__setitem__" or (name.startswith("__i") and name[3:-2] in _OPERATORS)
    return name.endswith("_")


_OPERATORS = {
    "add",
    "sub",
    "mul",
    "truediv",
    "div",
    "pow",
    "matmul",
    "floordiv",
    "mod",
    "and",
    "or",
}


def _value_dependent(name: str) -> str:
    what = _VALUE_DEPENDENT[name]
    if name.startswith("detach"):
        return f"{what} on a tensor of the model: symgrad has no gradient-stopping operation"
    return (
        f"{what} on a tensor of the model reads its value, which symgrad cannot follow "
        "symbolically; use torch.where for a choice"
    )


# --- writing the calls in symgrad's operations ----------------------------------------------


class _Arguments:
    """A call's arguments by position or keyword, against a signature written like
    ``"input, dim=None, keepdim=False"``; a keyword off its default that the row cannot
    honour is refused by name."""

    def __init__(self, call: Call, signature: str, values: Callable):
        self.call = call
        names, self.defaults = [], {}
        rest = None  # "*shape": the positional arguments left over
        for part in signature.split(","):
            part = part.strip()
            if not part or part == "*" or part.startswith("**"):
                continue
            if part.startswith("*"):
                rest = part[1:]
                continue
            key, _, default = part.partition("=")
            names.append(key)
            if default:
                self.defaults[key] = eval(default, {"math": math})  # our own table
        self.bound = {}
        if rest is not None:
            self.bound[rest] = tuple(call.args[len(names) :])
            names.append(rest)
        elif len(call.args) > len(names):
            raise SymgradError(
                f"{call.name} with {len(call.args)} arguments: symgrad reads it as "
                f"{call.name}({signature})",
                call.where,
            )
        for key, value in zip(names, call.args, strict=False):
            self.bound.setdefault(key, value)
        for key, value in call.kwargs.items():
            if key == "inplace":  # nn.ReLU(inplace=True): the result is the input object,
                continue  # so what reads it afterwards reads the result (values by id)
            if key not in names:
                raise SymgradError(
                    f"{call.name}: symgrad cannot honour the keyword {key!r}", call.where
                )
            self.bound[key] = value
        self.values = values

    def raw(self, key: str):
        return self.bound.get(key, self.defaults.get(key))

    def __getitem__(self, key: str):
        """The argument as a symgrad value (a Tensor, a SymPy scalar, a NumPy constant)."""
        return self.values(self.raw(key))

    def only(self, key: str, *allowed) -> None:
        """Refuse a keyword's value that the row cannot honour."""
        value = self.raw(key)
        if not any(value is a or (type(value) is type(a) and value == a) for a in allowed):
            raise SymgradError(
                f"{self.call.name}: symgrad cannot honour {key}={value!r} "
                f"(it takes {' or '.join(repr(a) for a in allowed)})",
                self.call.where,
            )


def _dims(value):
    """A torch ``dim`` argument as NumPy's ``axis``."""
    if value is None or isinstance(value, int):
        return value
    return tuple(value) if len(value) else None


def _reduced(loss, reduction: str, call: Call):
    if reduction == "mean":
        return T.mean(loss)
    if reduction == "sum":
        return T.sum(loss)
    if reduction == "none":
        return loss
    raise SymgradError(f"{call.name}: reduction must be 'mean', 'sum' or 'none'", call.where)


F = public_functions()  # symgrad's elementwise functions by NumPy's names


def _linear(a: _Arguments):
    out = T.matmul(a["input"], T.transpose(a["weight"]))
    return out if a.raw("bias") is None else out + a["bias"]


def _addmm(a: _Arguments):
    return a["beta"] * a["input"] + a["alpha"] * T.matmul(a["mat1"], a["mat2"])


def _reduction(kind: str):
    def row(a: _Arguments):
        a.only("dtype", None)
        return getattr(T, kind)(a["input"], axis=_dims(a.raw("dim")), keepdims=a.raw("keepdim"))

    return row


def _extremum(kind: str, pair: str):
    """torch.max(x), torch.max(x, dim) (its values), torch.max(x, y) (maximum)."""

    def row(a: _Arguments):
        other = a.raw("dim")
        if other is not None and not isinstance(other, int):  # two tensors
            return F[pair](a["input"], a["dim"])
        if other is None:
            return getattr(T, kind)(a["input"])
        raise SymgradError(
            f"{a.call.name}(x, dim) gives values and indices; symgrad takes "
            f"torch.a{kind}(x, dim) (the values)",
            a.call.where,
        )

    return row


def _variance(kind: str):
    def row(a: _Arguments):
        correction = a.raw("correction")
        unbiased = a.raw("unbiased")
        if isinstance(a.raw("dim"), bool):  # var(x, unbiased) by position
            unbiased, a.bound["dim"] = a.raw("dim"), None
        ddof = correction if correction is not None else (1 if unbiased in (None, True) else 0)
        return getattr(T, kind)(
            a["input"], axis=_dims(a.raw("dim")), keepdims=a.raw("keepdim"), ddof=ddof
        )

    return row


def _shape_arguments(a: _Arguments, key: str):
    """``view(2, 3)``, ``view((2, 3))`` or ``view(shape=(2, 3))``: the sizes."""
    given = a.raw(key)
    if len(given) == 1 and isinstance(given[0], (tuple, list)):
        return tuple(given[0])
    return tuple(given)


def _reshape(a: _Arguments):
    return T.reshape(a["input"], _shape_arguments(a, "shape"))


def _permute(a: _Arguments):
    return T.transpose(a["input"], _shape_arguments(a, "dims"))


def _flatten(a: _Arguments):
    x = a["input"]
    shape = T.shape_of(x)
    if not shape:
        return T.reshape(x, (1,))
    start, end = a.raw("start_dim") % len(shape), a.raw("end_dim") % len(shape)
    flat = int(np.prod(shape[start : end + 1]))
    return T.reshape(x, (*shape[:start], flat, *shape[end + 1 :]))


def _expand(a: _Arguments):
    x = a["input"]
    sizes = _shape_arguments(a, "size")
    have = (1,) * (len(sizes) - len(T.shape_of(x))) + T.shape_of(x)
    shape = tuple(n if s == -1 else s for s, n in zip(sizes, have, strict=True))
    return _broadcast_to(x, shape)


def _broadcast_to(x, shape):
    return T.Tensor(T.elementwise(lambda v, _: v, x, np.zeros(shape)))


def _choose(a: _Arguments):
    return T.where(a["condition"], a["input"], a["other"])


def _clamp(a: _Arguments):
    lo, hi = a.raw("min"), a.raw("max")
    x = a["input"]
    if lo is not None:
        x = F["maximum"](x, a["min"])
    if hi is not None:
        x = F["minimum"](x, a["max"])
    return x


def _softplus(a: _Arguments):
    beta = a.raw("beta")
    x = a["input"]
    return F["softplus"](x) if beta == 1 else F["softplus"](beta * x) / beta


def _gelu(a: _Arguments):
    a.only("approximate", "none", "tanh")
    return (F["gelu_tanh"] if a.raw("approximate") == "tanh" else F["gelu"])(a["input"])


def _mse_loss(a: _Arguments):
    return _reduced((a["input"] - a["target"]) ** 2, a.raw("reduction"), a.call)


def _l1_loss(a: _Arguments):
    return _reduced(F["abs"](a["input"] - a["target"]), a.raw("reduction"), a.call)


def _bce(a: _Arguments):
    a.only("weight", None)
    return _reduced(F["bce"](a["input"], a["target"]), a.raw("reduction"), a.call)


def _bce_with_logits(a: _Arguments):
    a.only("weight", None)
    a.only("pos_weight", None)
    z, y = a["input"], a["target"]
    return _reduced(
        F["softplus"](z) - y * z, a.raw("reduction"), a.call
    )  # −y log σ − (1−y) log(1−σ)


def _cross_entropy(a: _Arguments):
    a.only("weight", None)
    a.only("ignore_index", -100)
    a.only("label_smoothing", 0.0)
    return _reduced(
        _per_sample_nll(T.log_softmax(a["input"], axis=1), a), a.raw("reduction"), a.call
    )


def _nll_loss(a: _Arguments):
    a.only("weight", None)
    a.only("ignore_index", -100)
    return _reduced(_per_sample_nll(a["input"], a), a.raw("reduction"), a.call)


def _per_sample_nll(logp, a: _Arguments):
    """−log p of each sample's class: integer labels pick it, probabilities weigh every class."""
    import torch

    target = a.raw("target")
    shape = T.shape_of(logp)
    if len(shape) != 2:
        raise SymgradError(
            f"{a.call.name}: symgrad takes logits of shape (N, C), got {T.show_shape(shape)}",
            a.call.where,
        )
    if isinstance(target, torch.Tensor) and not target.is_floating_point():
        rows = np.arange(shape[0])
        return -T.index(logp, (rows, a["target"]))
    return -T.sum(a["target"] * logp, axis=1)


def _layer_norm(a: _Arguments):
    x = a["input"]
    normalized = tuple(a.raw("normalized_shape"))
    axes = tuple(range(-len(normalized), 0))
    mean = T.mean(x, axis=axes, keepdims=True)
    var = T.var(x, axis=axes, keepdims=True)
    out = (x - mean) / F["sqrt"](var + a.raw("eps"))
    if a.raw("weight") is not None:
        out = out * a["weight"]
    if a.raw("bias") is not None:
        out = out + a["bias"]
    return out


def _softmax(kind: str):
    def row(a: _Arguments):
        a.only("dtype", None)
        dim = a.raw("dim")
        if dim is None:
            raise SymgradError(f"{a.call.name} needs dim", a.call.where)
        return getattr(T, kind)(a["input"], axis=dim)

    return row


def _conv(dims: int):
    def row(a: _Arguments):
        a.only("groups", 1)
        if isinstance(a.raw("padding"), str):
            raise SymgradError(
                f"{a.call.name}: symgrad takes padding as numbers, not {a.raw('padding')!r}",
                a.call.where,
            )
        conv = T.conv1d if dims == 1 else T.conv2d
        out = conv(a["input"], a["weight"], a.raw("stride"), a.raw("padding"), a.raw("dilation"))
        if a.raw("bias") is None:
            return out
        bias = T.reshape(a["bias"], (-1,) + (1,) * dims)
        return out + bias

    return row


def _pool(kind: str, dims: int):
    def row(a: _Arguments):
        a.only("ceil_mode", False)
        if kind == "max":
            a.only("dilation", 1)
            a.only("return_indices", False)
        else:
            a.only("count_include_pad", True)
            a.only("divisor_override", None)
        function = getattr(T, f"{kind}_pool{dims}d")
        stride = a.raw("stride")
        return function(a["input"], a.raw("kernel_size"), stride or None, a.raw("padding"))

    return row


def _getitem(a: _Arguments):
    return T.index(a["input"], _key(a.raw("key"), a.values))


def _key(key, values):
    parts = key if isinstance(key, tuple) else (key,)
    out = []
    for part in parts:
        if isinstance(part, (slice, type(None), type(Ellipsis), int, bool)):
            out.append(part)
        else:
            out.append(values(part))
    return tuple(out) if isinstance(key, tuple) else out[0]


def _cat(kind: str):
    def row(a: _Arguments):
        arrays = [a.values(t) for t in a.raw("tensors")]
        return (T.concatenate if kind == "cat" else T.stack)(arrays, axis=a.raw("dim"))

    return row


def _dropout(a: _Arguments):
    if a.raw("training") and a.raw("p") > 0:
        raise SymgradError(
            f"{a.call.name} while training draws a random mask; symgrad derives the model in "
            "eval mode (model.eval(), or training=False)",
            a.call.where,
        )
    return a["input"]


def _elementwise(name: str, signature: str = "input"):
    def row(a: _Arguments):
        keys = [k.strip().partition("=")[0] for k in signature.split(",")]
        return F[name](*[a[k] for k in keys])

    return row


def _binary(operation: Callable, reflected: bool = False):
    def row(a: _Arguments):
        x, y = a["input"], a["other"]
        if a.raw("alpha") not in (None, 1):
            y = a.raw("alpha") * y
        return operation(y, x) if reflected else operation(x, y)

    return row


def _compare(operation: Callable):
    def row(a: _Arguments):
        x, y = a["input"], a["other"]
        if not isinstance(x, T.Tensor) and not isinstance(y, T.Tensor):  # 0-d: a 0/1 mask
            return sympy.Piecewise((1, operation(x, y)), (0, True))
        return operation(x, y)

    return row


def _power(reflected: bool = False):
    def row(a: _Arguments):
        x, y = a["input"], a["exponent"]
        return y**x if reflected else x**y

    return row


def _norm(a: _Arguments):
    """torch.norm / Tensor.norm / linalg.vector_norm: the 2-norm of the entries, along dim."""
    p = a.raw("p")
    if p not in (None, 2, 2.0, "fro"):
        raise SymgradError(f"{a.call.name}: symgrad takes the 2-norm, not p={p!r}", a.call.where)
    a.only("dtype", None)
    x = a["input"]
    squares = T.sum(x * x, axis=_dims(a.raw("dim")), keepdims=a.raw("keepdim"))
    return T.norm_sqrt(squares, a.call.name)  # its gradient 0 at 0, as torch's


def _norm_ord(a: _Arguments):
    a.bound["p"] = a.raw("ord")
    a.defaults["p"] = None
    return _norm(a)


def _masked_fill(a: _Arguments):
    """x.masked_fill(mask, value): value where the mask holds (a mask of the data or constant)."""
    condition = a["mask"]
    if not isinstance(condition, T.Tensor):
        condition = np.asarray(condition, dtype=bool)
    fill = a.raw("value")
    if isinstance(fill, float) and math.isinf(fill):
        raise SymgradError(
            f"{a.call.name} with {fill}: symgrad's arrays hold finite numbers (fill with a large "
            "finite number, or use torch.where)",
            a.call.where,
        )
    return T.where(condition, a["value"], a["input"])


def _one_hot(a: _Arguments):
    classes = a.raw("num_classes")
    if classes in (None, -1):
        raise SymgradError(f"{a.call.name} needs num_classes", a.call.where)
    return T.one_hot(a["input"], classes)


def _huber(kind: str):
    """huber_loss (delta) and smooth_l1_loss (beta): ½r² near 0, linear beyond."""

    def row(a: _Arguments):
        width = a.raw("delta" if kind == "huber" else "beta")
        r = a["input"] - a["target"]
        size = F["abs"](r)
        quadratic = 0.5 * r * r if kind == "huber" else 0.5 * r * r / width
        linear = width * (size - 0.5 * width) if kind == "huber" else size - 0.5 * width
        return _reduced(T.where(size < width, quadratic, linear), a.raw("reduction"), a.call)

    return row


def _identity(a: _Arguments):
    return a["input"]


_BINARY = "input, other, *, alpha=None"
_LOSS = "input, target, weight=None, size_average=None, reduce=None, reduction='mean'"
_CLASSES = "input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, "
_POOL = "input, kernel_size, stride=None, padding=0, "
_REDUCE = "input, dim=None, keepdim=False, *, dtype=None"

# One row per torch function or method, by its name: (signature, how symgrad writes it).
TORCH_FUNCTIONS: dict[str, tuple[str, Callable]] = {
    # arithmetic
    **{n: (_BINARY, _binary(lambda x, y: x + y)) for n in ("add", "__add__")},
    "__radd__": (_BINARY, _binary(lambda x, y: x + y, reflected=True)),
    **{n: (_BINARY, _binary(lambda x, y: x - y)) for n in ("sub", "subtract", "__sub__")},
    **{n: (_BINARY, _binary(lambda x, y: x - y, reflected=True)) for n in ("rsub", "__rsub__")},
    **{n: (_BINARY, _binary(lambda x, y: x * y)) for n in ("mul", "multiply", "__mul__")},
    "__rmul__": (_BINARY, _binary(lambda x, y: x * y, reflected=True)),
    **{
        n: ("input, other, *, rounding_mode=None", _binary(lambda x, y: x / y))
        for n in ("div", "divide", "true_divide", "__truediv__", "__div__")
    },
    "__rtruediv__": (_BINARY, _binary(lambda x, y: x / y, reflected=True)),
    "__rdiv__": (_BINARY, _binary(lambda x, y: x / y, reflected=True)),
    **{n: ("input, exponent", _power()) for n in ("pow", "__pow__", "float_power")},
    "__rpow__": ("input, exponent", _power(reflected=True)),
    **{n: ("input", lambda a: -a["input"]) for n in ("neg", "negative", "__neg__")},
    "__pos__": ("input", _identity),
    # products
    **{
        n: ("input, other", lambda a: T.matmul(a["input"], a["other"]))
        for n in ("matmul", "__matmul__", "mm", "bmm", "mv")
    },
    "__rmatmul__": ("input, other", lambda a: T.matmul(a["other"], a["input"])),
    "linear": ("input, weight, bias=None", _linear),
    "addmm": ("input, mat1, mat2, *, beta=1, alpha=1", _addmm),
    # comparisons (masks, for torch.where)
    **{n: ("input, other", _compare(lambda x, y: x > y)) for n in ("gt", "greater", "__gt__")},
    **{
        n: ("input, other", _compare(lambda x, y: x >= y))
        for n in ("ge", "greater_equal", "__ge__")
    },
    **{n: ("input, other", _compare(lambda x, y: x < y)) for n in ("lt", "less", "__lt__")},
    **{n: ("input, other", _compare(lambda x, y: x <= y)) for n in ("le", "less_equal", "__le__")},
    "where": ("condition, input, other", _choose),
    # functions entry by entry
    **{
        n: ("input", _elementwise(n))
        for n in (
            "exp",
            "log",
            "log1p",
            "expm1",
            "log2",
            "log10",
            "exp2",
            "sqrt",
            "rsqrt",
            "sin",
            "cos",
            "tan",
            "sinh",
            "cosh",
            "tanh",
            "sigmoid",
            "relu",
            "erf",
            "erfc",
            "erfinv",
            "square",
            "reciprocal",
            "silu",
            "mish",
            "selu",
            "softsign",
            "floor",
            "ceil",
            "trunc",
            "sign",
        )
    },
    **{n: ("input", _elementwise("abs")) for n in ("abs", "absolute", "__abs__")},
    **{n: ("input", _elementwise("arcsin")) for n in ("asin", "arcsin")},
    **{n: ("input", _elementwise("arccos")) for n in ("acos", "arccos")},
    **{n: ("input", _elementwise("arctan")) for n in ("atan", "arctan")},
    **{n: ("input, other", _elementwise("arctan2", "input, other")) for n in ("atan2", "arctan2")},
    "logsigmoid": ("input", lambda a: -F["softplus"](-a["input"])),
    "softplus": ("input, beta=1, threshold=20", _softplus),
    "gelu": ("input, approximate='none'", _gelu),
    "leaky_relu": (
        "input, negative_slope=0.01, inplace=False",
        _elementwise("leaky_relu", "input, negative_slope"),
    ),
    "elu": ("input, alpha=1.0, inplace=False", _elementwise("elu", "input, alpha")),
    "maximum": ("input, other", _elementwise("maximum", "input, other")),
    "minimum": ("input, other", _elementwise("minimum", "input, other")),
    **{n: ("input, min=None, max=None", _clamp) for n in ("clamp", "clip")},
    # reductions
    **{k: (_REDUCE, _reduction(k)) for k in ("sum", "mean", "prod")},
    "amax": (
        "input, dim=None, keepdim=False",
        lambda a: T.max(a["input"], axis=_dims(a.raw("dim")), keepdims=a.raw("keepdim")),
    ),
    "amin": (
        "input, dim=None, keepdim=False",
        lambda a: T.min(a["input"], axis=_dims(a.raw("dim")), keepdims=a.raw("keepdim")),
    ),
    "max": ("input, dim=None, keepdim=False", _extremum("max", "maximum")),
    "min": ("input, dim=None, keepdim=False", _extremum("min", "minimum")),
    "logsumexp": (
        "input, dim, keepdim=False",
        lambda a: T.logsumexp(a["input"], axis=_dims(a.raw("dim")), keepdims=a.raw("keepdim")),
    ),
    "var": ("input, dim=None, unbiased=None, keepdim=False, *, correction=None", _variance("var")),
    "std": ("input, dim=None, unbiased=None, keepdim=False, *, correction=None", _variance("std")),
    "cumsum": ("input, dim, *, dtype=None", lambda a: T.cumsum(a["input"], axis=a.raw("dim"))),
    "cumprod": ("input, dim, *, dtype=None", lambda a: T.cumprod(a["input"], axis=a.raw("dim"))),
    # shapes
    **{n: ("input, *shape", _reshape) for n in ("view", "reshape")},
    "permute": ("input, *dims", _permute),
    **{
        n: ("input, dim0, dim1", lambda a: T.swapaxes(a["input"], a.raw("dim0"), a.raw("dim1")))
        for n in ("transpose", "swapaxes")
    },
    "t": ("input", lambda a: T.transpose(a["input"])),
    "T": ("input", lambda a: T.transpose(a["input"])),
    "mT": ("input", lambda a: T.swapaxes(a["input"], -1, -2)),
    "flatten": ("input, start_dim=0, end_dim=-1", _flatten),
    "unsqueeze": ("input, dim", lambda a: T.expand_dims(a["input"], a.raw("dim"))),
    "squeeze": ("input, dim=None", lambda a: T.squeeze(a["input"], _dims(a.raw("dim")))),
    "expand": ("input, *size", _expand),
    "expand_as": ("input, other", lambda a: _broadcast_to(a["input"], tuple(a.raw("other").shape))),
    "__getitem__": ("input, key", _getitem),
    "cat": ("tensors, dim=0", _cat("cat")),
    "concat": ("tensors, dim=0", _cat("cat")),
    "concatenate": ("tensors, dim=0", _cat("cat")),
    "stack": ("tensors, dim=0", _cat("stack")),
    # no change to the values
    **{
        n: ("input, *args, **kwargs", _identity)
        for n in (
            "contiguous",
            "clone",
            "to",
            "float",
            "double",
            "cpu",
            "cuda",
            "type_as",
        )
    },
    "dropout": ("input, p=0.5, training=True, inplace=False", _dropout),
    "norm": ("input, p=None, dim=None, keepdim=False, out=None, dtype=None", _norm),
    **{
        n: ("input, ord=2, dim=None, keepdim=False, *, dtype=None", _norm_ord)
        for n in ("vector_norm", "linalg_vector_norm")
    },
    "masked_fill": ("input, mask, value", _masked_fill),
    "one_hot": ("input, num_classes=-1", _one_hot),
    "huber_loss": ("input, target, reduction='mean', delta=1.0, weight=None", _huber("huber")),
    "smooth_l1_loss": (
        "input, target, size_average=None, reduce=None, reduction='mean', beta=1.0",
        _huber("smooth_l1"),
    ),
    # the network's layers and losses
    "softmax": ("input, dim=None, _stacklevel=3, dtype=None", _softmax("softmax")),
    "log_softmax": ("input, dim=None, _stacklevel=3, dtype=None", _softmax("log_softmax")),
    "layer_norm": ("input, normalized_shape, weight=None, bias=None, eps=1e-05", _layer_norm),
    "mse_loss": (
        "input, target, size_average=None, reduce=None, reduction='mean', weight=None",
        _mse_loss,
    ),
    "l1_loss": ("input, target, size_average=None, reduce=None, reduction='mean'", _l1_loss),
    "binary_cross_entropy": (
        _LOSS,
        _bce,
    ),
    "binary_cross_entropy_with_logits": (
        _LOSS + ", pos_weight=None",
        _bce_with_logits,
    ),
    "cross_entropy": (
        _CLASSES + "reduction='mean', label_smoothing=0.0",
        _cross_entropy,
    ),
    "nll_loss": (
        _CLASSES + "reduction='mean'",
        _nll_loss,
    ),
    "conv1d": ("input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1", _conv(1)),
    "conv2d": ("input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1", _conv(2)),
    "max_pool1d": (
        _POOL + "dilation=1, ceil_mode=False, return_indices=False",
        _pool("max", 1),
    ),
    "max_pool2d": (
        _POOL + "dilation=1, ceil_mode=False, return_indices=False",
        _pool("max", 2),
    ),
    "avg_pool1d": (
        _POOL + "ceil_mode=False, count_include_pad=True",
        _pool("avg", 1),
    ),
    "avg_pool2d": (
        _POOL + "ceil_mode=False, count_include_pad=True, divisor_override=None",
        _pool("avg", 2),
    ),
}

# functions whose keywords the rows pass on untouched (the identity's *args)
_PASS_THROUGH = {"contiguous", "clone", "to", "float", "double", "cpu", "cuda", "type_as"}


# --- the model ------------------------------------------------------------------------------


def from_torch(
    loss_fn: Callable,
    example: Mapping,
    *,
    params=None,
    name: str | None = None,
) -> Model:
    """The symgrad model of a PyTorch loss function.

    ``loss_fn(**example)`` returns a scalar tensor; ``example`` maps names to tensors or
    numbers. The parameters are every ``nn.Parameter`` the function reaches through the modules
    it calls and every example tensor that requires a gradient, unless ``params`` names them
    (example keys, or a module parameter's ``named_parameters()`` name). The model's example is
    the example's values and the parameters' current values, in float64.
    """
    import torch

    if not callable(loss_fn):
        raise SymgradError(f"from_torch needs a function returning the loss, got {loss_fn!r}")
    if not isinstance(example, Mapping):
        raise SymgradError("from_torch needs the example as a dict of names to tensors or numbers")
    example = dict(example)
    wanted = None if params is None else [params] if isinstance(params, str) else list(params)
    for key, value in example.items():
        if not isinstance(value, (torch.Tensor, numbers.Real)) or isinstance(value, bool):
            raise SymgradError(
                f"from_torch: example value {key!r} is a {type(value).__name__}; "
                "give a tensor or a number"
            )
    variables = {id(v): k for k, v in example.items() if isinstance(v, torch.Tensor)}
    trace, result, modules = _record(loss_fn, example, set(variables), _names_in_code(loss_fn))
    if not isinstance(result, torch.Tensor) or result.dim() != 0:
        got = tuple(result.shape) if isinstance(result, torch.Tensor) else type(result).__name__
        raise SymgradError(f"from_torch: the loss function must return a scalar tensor, got {got}")
    if id(result) not in {id(t) for t in trace.keep}:
        raise SymgradError("from_torch: the loss does not depend on the example or the parameters")
    builder = _Builder(
        Model(name or getattr(loss_fn, "__name__", "model").replace("<lambda>", "model")),
        trace,
        loss_fn,
    )
    builder.declare(example, variables, modules, wanted)
    builder.replay(result, _returned_name(loss_fn))
    builder.model.origin = TorchOrigin(
        loss_fn,
        tuple(example),
        builder.bindings,
        [
            (dotted.replace(".", "_"), module, inner)
            for dotted, _, module, inner in builder.parameters
        ],
        _names_in_code(loss_fn),
    )
    return builder.model


def _returned_name(loss_fn) -> str:
    """The variable a ``return NAME`` statement of the function returns, else ``loss``."""
    try:
        import inspect
        import textwrap

        tree = ast.parse(textwrap.dedent(inspect.getsource(loss_fn)))
    except (OSError, TypeError, SyntaxError):
        return "loss"
    for node in ast.walk(tree):
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Name):
            return node.value.id
    return "loss"


# how SymPy fails to build a choice whose condition compares another (as_set of tanh's
# relational, ExprCondPair's assertion, piecewise_fold recursing without end)
_SYMPY_FAILURES = (AssertionError, ValueError, TypeError, RecursionError)


class _Builder:
    def __init__(self, model: Model, trace: Trace, loss_fn):
        self.model = model
        self.loss_fn = loss_fn
        self.code_names = _names_in_code(loss_fn)
        self.trace = trace
        self.values: dict[int, object] = {}  # id(tensor) → its symgrad value
        self.made_by: dict[int, str] = {}  # id(tensor) → the call that gave it, written inline
        self.taken: set[str] = set()
        self.bindings: dict[str, object] = {}  # symgrad name → the torch tensor it stands for

    # the variables
    def declare(self, example: dict, variables: dict[int, str], modules: list, wanted) -> None:
        import torch

        parameters = _module_parameters(modules, self.loss_fn)
        self.parameters = parameters
        known = set(example) | {n for n, *_ in parameters}
        for w in wanted or ():
            if w not in known and w.replace(".", "_") not in known:
                raise SymgradError(
                    f"from_torch: params names {w!r}, which is neither an example key nor a "
                    f"module parameter ({', '.join(sorted(known))})"
                )
        point = {}
        for key, value in example.items():
            is_param = (
                (key in wanted)
                if wanted is not None
                else isinstance(value, torch.Tensor) and value.requires_grad
            )
            array = _as_array(value)
            shape = array.shape
            labels = isinstance(value, torch.Tensor) and not (
                value.is_floating_point() or value.is_complex()
            )
            if labels and is_param:
                raise SymgradError(f"from_torch: {key!r} holds integers; it cannot be a parameter")
            declare = self.model.param if is_param else self.model.input
            domain = "labels" if labels else None
            symbol = declare(key, shape, domain=domain) if shape else declare(key, domain=domain)
            self._bind(value, key, symbol)
            point[key] = array
        for dotted, parameter, _, _ in parameters:
            key = dotted.replace(".", "_")
            if key in self.taken:
                raise SymgradError(
                    f"from_torch: the module parameter {dotted!r} and an example value share the "
                    f"name {key!r}"
                )
            is_param = (
                (dotted in wanted or key in wanted)
                if wanted is not None
                else parameter.requires_grad
            )
            array = _as_array(parameter)
            declare = self.model.param if is_param else self.model.input
            symbol = declare(key, array.shape) if array.shape else declare(key)
            self._bind(parameter, key, symbol)
            point[key] = array
        for tensor in self._free_leaves():  # W = torch.zeros(1, requires_grad=True) in the code
            key = self.code_names.get(id(tensor))
            if key is None or not _usable(key) or key in self.taken:
                raise SymgradError(
                    "from_torch: the loss reads a tensor that requires a gradient and is neither "
                    "in the example nor a module's parameter; pass it in the example"
                )
            is_param = (key in wanted) if wanted is not None else True
            declare = self.model.param if is_param else self.model.input
            array = _as_array(tensor)
            symbol = declare(key, array.shape) if array.shape else declare(key)
            self._bind(tensor, key, symbol)
            point[key] = array
        self.model.example(**point)

    def _free_leaves(self) -> list:
        """Tensors the calls read that require a gradient and are bound to no name yet."""
        out, seen = [], set()
        for call in self.trace.calls:
            for tensor in _tensors_in((call.args, tuple(call.kwargs.values()))):
                if (
                    tensor.requires_grad
                    and tensor.is_leaf
                    and id(tensor) not in self.values
                    and id(tensor) not in seen
                ):
                    seen.add(id(tensor))
                    out.append(tensor)
        return out

    def _bind(self, tensor, name: str, symbol) -> None:
        self.values[id(tensor)] = symbol
        self.taken.add(name)
        self.bindings[name] = tensor

    # the calls
    def value(self, x):
        """A call's argument as symgrad reads it."""
        import torch

        if isinstance(x, torch.Tensor):
            if id(x) in self.values:
                return self.values[id(x)]
            array = x.detach().cpu().numpy()
            if array.dtype.kind == "f":
                array = array.astype(np.float64)
            return array if array.ndim else array[()].item()
        if isinstance(x, (list, tuple)):
            return type(x)(self.value(v) for v in x)
        return x

    def replay(self, result, loss_name: str) -> None:
        for call in self.trace.calls:
            row = TORCH_FUNCTIONS.get(call.name)
            if row is None:
                raise SymgradError(
                    f"symgrad has no rule for torch's {call.name}; write the model with the "
                    "functions symgrad reads (see symgrad.pytorch.TORCH_FUNCTIONS)",
                    call.where,
                )
            signature, write = row
            if call.name in _PASS_THROUGH:
                call = Call(call.name, call.args[:1], {}, call.result, call.where, call.module)
            try:
                expr = self._written(call, signature, write)
            except SymgradError as error:
                raise SymgradError(error.message, error.where or call.where) from None
            outputs = list(_tensors_in(call.result))
            if len(outputs) != 1:
                raise SymgradError(
                    f"{call.name} gives {len(outputs)} tensors; symgrad takes one", call.where
                )
            tensor = outputs[0]
            expected = tuple(tensor.shape)
            if T.shape_of(expr) != expected:
                raise SymgradError(
                    f"symgrad reads {call.name} as giving shape {T.shape_of(expr)}, torch gives "
                    f"{expected}; please report this",
                    call.where,
                )
            if tensor is result:  # what comes after the loss does not change it
                self.model.loss(self._name(loss_name, "loss"), expr)
                return
            node = self._node_name(tensor)
            self.values[id(tensor)] = self.model.node(node, expr) if node else expr
            self.made_by[id(tensor)] = call.name
        raise SymgradError("from_torch: the loss is no calculation of the function's tensors")

    def _written(self, call: Call, signature: str, write: Callable):
        """The call's result as symgrad writes it. SymPy cannot build a choice of scalars whose
        condition compares another choice (where() of a where() of a clamp): as
        tensors.elementwise leaves such a choice of arrays unfused, each choice the call reads
        is then named a node of its own (where1), and the call written again."""
        try:
            return write(_Arguments(call, signature, self.value))
        except _SYMPY_FAILURES:
            if not self._name_choices(call):
                raise
        try:
            return write(_Arguments(call, signature, self.value))
        except _SYMPY_FAILURES:
            raise SymgradError(T.NESTED_CHOICE.format(what=call.name), call.where) from None

    def _name_choices(self, call: Call) -> bool:
        """Name each scalar the call reads that holds a choice, written inline so far."""
        named = False
        for tensor in _tensors_in((call.args, tuple(call.kwargs.values()))):
            value = self.values.get(id(tensor))
            if (
                isinstance(value, sympy.Expr)
                and not isinstance(value, sympy.Symbol)
                and not T.shape_of(value)
                and any(is_choice(e) for e in sympy.preorder_traversal(value))
            ):
                base = self.made_by.get(id(tensor), "")
                base = base if _usable(f"{base}1") else "choice"
                k = 1
                while f"{base}{k}" in self.taken:
                    k += 1
                self.taken.add(f"{base}{k}")
                self.values[id(tensor)] = self.model.node(f"{base}{k}", value)
                named = True
        return named

    def _node_name(self, tensor) -> str | None:
        """The code's name for a result, else its module's path; None: written inline."""
        variable = self.trace.names.get(id(tensor))
        module = self.trace.module_outputs.get(id(tensor))
        for candidate in (variable, module and module.replace(".", "_")):
            if candidate and _usable(candidate) and candidate not in self.taken:
                self.taken.add(candidate)
                return candidate
        return None

    def _name(self, preferred: str, fallback: str) -> str:
        name = preferred if _usable(preferred) and preferred not in self.taken else fallback
        while name in self.taken:
            name = f"{name}_"  # never reached with a sane model; keeps names unique
        self.taken.add(name)
        return name


class TorchOrigin:
    """Where a model traced by ``from_torch`` came from: runs PyTorch code (the traced function,
    or another with its signature, such as one with a custom backward, even from a fresh load
    of the file) at any point of the model, and gives autograd's gradient there.

    The code's modules and tensors are found by the names the code gives them: a module
    ``model`` takes the point's parameters for the call, a tensor ``W`` the point's W."""

    def __init__(self, function, keys, bindings, parameters, names: dict[int, str]):
        self.function = function  # the traced loss function
        self.keys = keys  # the example's names: the function's arguments
        self.bindings = bindings  # symgrad name → the tensor it stands for
        self.parameters = parameters  # (symgrad name, module, dotted name in the module)
        self.module_names = {id(module): names.get(id(module)) for _, module, _ in parameters}
        owned = {key for key, _, _ in parameters} | set(keys)
        self.free = [name for name in bindings if name not in owned]  # W, b read by name

    def gradients(self, function, point: Mapping, wrt, dtype: str = "float64", device="cpu"):
        """``(loss, {name: gradient})`` of ``function`` by autograd at ``point`` (symgrad names
        to values)."""
        import torch
        from torch.nn.utils.stateless import _reparametrize_module

        kind = getattr(torch, dtype)

        def tensor(name):
            original = self.bindings[name]
            if isinstance(original, torch.Tensor) and not original.is_floating_point():
                return torch.as_tensor(np.asarray(point[name]), device=device).to(original.dtype)
            return torch.tensor(
                np.asarray(point[name]), dtype=kind, device=device, requires_grad=name in wrt
            )

        values = {name: tensor(name) for name in point if name in self.bindings}
        arguments = {
            key: values[key] if isinstance(self.bindings[key], torch.Tensor) else float(point[key])
            for key in self.keys
        }
        in_code = {name: _object_named(function, name) for name in self.module_names.values()}
        by_module: dict[int, tuple] = {}
        for key, module, dotted in self.parameters:
            target = in_code.get(self.module_names[id(module)], module)
            if not isinstance(target, torch.nn.Module):
                target = module
            by_module.setdefault(id(target), (target, {}))[1][dotted] = values[key]
        managers = [_reparametrize_module(m, given) for m, given in by_module.values()]
        rebound = _Rebound(function, {name: values[name] for name in self.free if name in values})
        label = getattr(function, "__name__", "the loss function")
        try:
            with _contexts([*managers, rebound]):
                loss = function(**arguments)
        except SymgradError:
            raise
        except Exception as error:
            raise SymgradError(
                f"{label} failed at a point of the model: {type(error).__name__}: {error}",
                _user_line(error.__traceback__),
            ) from None
        if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
            raise SymgradError(f"{label} must return the scalar loss, got {type(loss).__name__}")
        grads = torch.autograd.grad(loss, [values[n] for n in wrt], allow_unused=True)
        return loss.detach(), {
            n: torch.zeros_like(values[n]) if g is None else g
            for n, g in zip(wrt, grads, strict=True)
        }


def _object_named(function, name: str):
    """What ``name`` means to the function: a global, or a variable of its closure."""
    code = getattr(function, "__code__", None)
    if code is not None and name in code.co_freevars and function.__closure__:
        return function.__closure__[code.co_freevars.index(name)].cell_contents
    return getattr(function, "__globals__", {}).get(name)


class _Rebound:
    """The function's globals and closure variables of the given names hold the given values
    for the call."""

    def __init__(self, function, replaced: dict):
        self.function, self.replaced, self.undo = function, replaced, []

    def __enter__(self):
        code = getattr(self.function, "__code__", None)
        free = code.co_freevars if code is not None else ()
        scope = getattr(self.function, "__globals__", {})
        for name, value in self.replaced.items():
            if name in free and self.function.__closure__:
                cell = self.function.__closure__[free.index(name)]
                self.undo.append((cell, None, cell.cell_contents))
                cell.cell_contents = value
            elif name in scope:
                self.undo.append((scope, name, scope[name]))
                scope[name] = value

    def __exit__(self, *exc):
        for holder, key, value in reversed(self.undo):
            if key is None:
                holder.cell_contents = value
            else:
                holder[key] = value
        self.undo.clear()


class _contexts:
    def __init__(self, managers):
        self.managers = managers

    def __enter__(self):
        for manager in self.managers:
            manager.__enter__()

    def __exit__(self, *exc):
        for manager in reversed(self.managers):
            manager.__exit__(*exc)


def _usable(name: str) -> bool:
    from .names import RESERVED

    return (
        name.isidentifier()
        and name.isascii()
        and not name.startswith("_")
        and not name.endswith("_")
        and "__" not in name
        and name not in RESERVED
    )


def _module_parameters(modules: list, loss_fn) -> list[tuple]:
    """(dotted name, parameter, module, name in the module) of every module the loss called.
    A name starts with the module's name in the code (``net.0.weight``, ``layer.weight``) when
    several modules have parameters, when the parameter is the module's own, or when
    ``named_parameters()`` alone would not be a name (``0.weight`` of an ``nn.Sequential``)."""
    with_parameters = [m for m in modules if any(True for _ in m.parameters())]
    names = _names_in_code(loss_fn)
    out, seen = [], set()
    for k, module in enumerate(with_parameters):
        own = names.get(id(module), "module" if len(with_parameters) == 1 else f"module{k}")
        for dotted, parameter in module.named_parameters():
            if id(parameter) in seen:
                continue
            seen.add(id(parameter))
            # a module's own weight is "layer.weight"; a submodule's, "layer1.0.weight"
            alone = len(with_parameters) == 1 and "." in dotted and not dotted[0].isdigit()
            out.append((dotted if alone else f"{own}.{dotted}", parameter, module, dotted))
    return out


def _names_in_code(function) -> dict[int, str]:
    """id(object) → the name the function's globals or closure give it."""
    import inspect

    try:
        found = inspect.getclosurevars(function)
    except TypeError:
        return {}
    out = {}
    for scope in (found.globals, found.nonlocals):
        for name, value in scope.items():
            out.setdefault(id(value), name)
    return out


def _as_array(value) -> np.ndarray:
    import torch

    if isinstance(value, torch.Tensor):
        array = value.detach().cpu().numpy()
        return array.astype(np.float64) if array.dtype.kind in "fc" else array
    return np.asarray(float(value))


__all__ = ["TORCH_FUNCTIONS", "from_torch"]
