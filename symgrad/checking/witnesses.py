"""What ``symgrad.verify`` compares: the *claims* (symgrad's own generated code, or someone
else's gradient function) and the *witnesses* (PyTorch autograd on the model's forward pass,
and finite differences of the generated NumPy forward pass)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..codegen import CompiledGradient, compile
from ..derivation import Derivation
from ..errors import SymgradError
from . import finite_differences as fd


@dataclass
class Claim:
    """A gradient to check: ``call(point) -> {name: array}``, and its trace when it has one."""

    label: str
    call: Callable[[Mapping], dict]
    trace: Callable[[Mapping], dict] | None = None
    modified: list[str] = field(default_factory=list)  # arguments the last call changed


def numpy_args(point: Mapping, names, dtype: str) -> dict:
    """Fresh copies in ``dtype`` (a claim that updates its arguments in place must not move the
    point, or the model's example, under the other checks)."""
    if dtype == "float64":
        return {n: float(point[n]) if np.ndim(point[n]) == 0 else np.array(point[n]) for n in names}
    return {n: np.array(point[n], dtype=np.float32) for n in names}


def torch_args(point: Mapping, names, dtype: str, device: str, requires_grad=False) -> dict:
    import torch

    kind = getattr(torch, dtype)
    return {
        n: torch.tensor(
            np.asarray(point[n]), dtype=kind, device=device, requires_grad=requires_grad
        )
        for n in names
    }


def _as_array(value, label: str = "the gradient", name: str = "") -> np.ndarray:
    """A claimed gradient entry as float64, or a one-line error naming what is wrong with it."""
    module = type(value).__module__ or ""
    if module.startswith("torch"):
        if value.is_complex():
            raise SymgradError(f"{label} returned a complex gradient for {name}")
        value = value.detach().cpu().double().numpy()
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as error:  # a ragged list
        raise SymgradError(
            f"{label} returned {type(value).__name__} {value!r:.60} for {name}, "
            f"not an array of numbers ({error})"
        ) from None
    if np.iscomplexobj(array):
        raise SymgradError(f"{label} returned a complex gradient for {name}")
    if array.dtype.kind not in "biuf":
        raise SymgradError(
            f"{label} returned {type(value).__name__} {value!r:.60} for {name}, "
            "not an array of numbers"
        )
    return array.astype(np.float64)


def _shaped(gradients: dict[str, np.ndarray], d: Derivation, label: str) -> dict:
    """A claim's gradient in its variable's shape. A shape a gradient bug gives (transposed:
    the same size; summed over the wrong axis: the variable's 1 where the claim has n) is a
    wrong gradient the judges label; any other shape is bad input, said in one line."""
    for name, array in gradients.items():
        shape = tuple(d.variable(name).shape)
        if array.shape == shape:
            continue
        if array.size == int(np.prod(shape)):
            if array.squeeze().shape == np.empty(shape).squeeze().shape:
                gradients[name] = array.reshape(shape)  # (2,) for (1, 2): the same entries
            continue
        wrong_axis = array.ndim == len(shape) and all(
            n in (1, m) for n, m in zip(shape, array.shape, strict=True)
        )
        if wrong_axis:
            continue
        raise SymgradError(
            f"{label} returned the gradient of {name} with shape {array.shape}; "
            f"{name} has shape {shape}"
        )
    return gradients


def _claimed(value, label: str, name: str) -> np.ndarray:
    """One claimed gradient as float64. An array of whole numbers is a gradient truncated
    somewhere (astype(int), an integer buffer): comparing its entries would blame the
    arithmetic, not the dtype, so it is bad input."""
    dtype = getattr(value, "dtype", None)
    if (type(value).__module__ or "").startswith("torch"):
        whole = not (value.is_floating_point() or value.is_complex())
    else:
        whole = isinstance(dtype, np.dtype) and dtype.kind in "biu"
    if whole and np.ndim(value):
        raise SymgradError(
            f"{label} returned an integer array ({str(dtype).removeprefix('torch.')}) for the "
            f"gradient of {name}; a gradient holds floats (look for astype(int) or an integer "
            "buffer)"
        )
    return _as_array(value, label, name)


def _gradients(result, wrt: Sequence[str], label: str, known=()) -> dict[str, np.ndarray]:
    """A claimed gradient as ``{name: float64 array}``: from a dict by name, a tuple or list in
    ``wrt`` order, or a ``(loss, gradients)`` pair as symgrad's own functions return. A name
    that is none of ``known`` (the model's variables) is a typo the user must hear of."""
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], Mapping):
        result = result[1]
    if isinstance(result, Mapping):
        missing = [name for name in wrt if name not in result]
        if missing:
            raise SymgradError(
                f"{label} returned no gradient for {', '.join(missing)} "
                f"(it gave {', '.join(map(str, result)) or 'nothing'})"
            )
        extra = [str(name) for name in result if name not in wrt and name not in known]
        if extra:
            raise SymgradError(
                f"{label} returned a gradient named {', '.join(extra)}, which is no variable of "
                f"the model (it differentiates {', '.join(wrt)})"
            )
        return {name: _claimed(result[name], label, name) for name in wrt}
    if isinstance(result, (tuple, list)):
        if len(result) != len(wrt):
            raise SymgradError(
                f"{label} returned {len(result)} gradients; expected {len(wrt)}, "
                f"one for each of {', '.join(wrt)} in that order"
            )
        return {name: _claimed(value, label, name) for name, value in zip(wrt, result, strict=True)}
    if len(wrt) == 1:
        return {wrt[0]: _claimed(result, label, wrt[0])}
    raise SymgradError(
        f"{label} returned a {type(result).__name__}; return a dict by name or a tuple in the "
        f"order {', '.join(wrt)}"
    )


def own_claims(d: Derivation, dtype: str, device: str, torch_ok: bool) -> list[Claim]:
    numpy_fn = compile(d, "numpy")
    claims = [
        Claim(
            "numpy",
            lambda p: _gradients(numpy_fn(**numpy_args(p, d.arguments, dtype)), d.wrt, "numpy"),
            lambda p: numpy_fn.trace(**numpy_args(p, d.arguments, dtype)).values,
        )
    ]
    if torch_ok:
        torch_fn = compile(d, "torch")

        def call(p):
            args = torch_args(p, d.arguments, dtype, device)
            return _gradients(
                torch_fn.function(**args, device=device, dtype=_torch_dtype(dtype)), d.wrt, "torch"
            )

        def trace(p):
            args = torch_args(p, d.arguments, dtype, device)
            values = torch_fn.trace_function(**args, device=device, dtype=_torch_dtype(dtype))[2]
            return {k: _as_array(v) for k, v in values.items()}

        claims.append(Claim("torch", call, trace))
    return claims


def _torch_dtype(dtype: str):
    import torch

    return getattr(torch, dtype)


def _names(d: Derivation) -> set[str]:
    return {v.name for v in d.variables}


def against_claim(d: Derivation, against, dtype: str, device: str, torch_ok: bool) -> Claim:
    label = getattr(against, "__name__", None) or type(against).__name__
    if isinstance(against, CompiledGradient):
        label = f"{against.derivation.model} ({against.backend})"
    if isinstance(against, CompiledGradient):
        if against.backend == "torch":

            def call(p):
                args = torch_args(p, against.arguments, dtype, device)
                return _gradients(
                    against.function(**args, device=device, dtype=_torch_dtype(dtype)), d.wrt, label
                )

            def trace(p):
                args = torch_args(p, against.arguments, dtype, device)
                out = against.trace_function(**args, device=device, dtype=_torch_dtype(dtype))[2]
                return {k: _as_array(v) for k, v in out.items()}

        else:

            def call(p):
                result = against(**numpy_args(p, against.arguments, dtype))
                return _gradients(result, d.wrt, label, _names(d))

            def trace(p):
                return against.trace(**numpy_args(p, against.arguments, dtype)).values

        return Claim(label, call, trace)
    if not callable(against):
        raise SymgradError(f"against must be a callable that returns gradients, got {against!r}")
    origin = d.origin
    if origin is not None:  # the PyTorch code the model was traced from: autograd's gradient

        def call(p):
            _, gradients = origin.gradients(against, p, d.wrt, dtype, device)
            return _shaped(_gradients(gradients, d.wrt, label, _names(d)), d, label)

        return Claim(label, call, None)
    takes: list[str] = []  # decided on the first call: NumPy arrays, else torch tensors

    def call(p):
        attempts = takes or (["numpy", "torch"] if torch_ok else ["numpy"])
        first_error = None
        for kind in attempts:
            args = (
                numpy_args(p, d.arguments, dtype)
                if kind == "numpy"
                else torch_args(p, d.arguments, dtype, device)
            )
            given = {name: np.array(_as_array(value)) for name, value in args.items()}
            try:
                result = against(**args)
            except SymgradError:
                raise
            except Exception as error:
                first_error = first_error or error
                continue
            if not takes:
                takes.append(kind)
            claim.modified[:] = [
                name
                for name, value in args.items()
                if not np.array_equal(_as_array(value), given[name], equal_nan=True)
            ]
            return _shaped(_gradients(result, d.wrt, label, _names(d)), d, label)
        raise SymgradError(
            f"{label} failed when called with the model's values "
            f"({', '.join(d.arguments)}) as keywords: {type(first_error).__name__}: {first_error}"
        )

    claim = Claim(label, call, None)
    return claim


# --- the witnesses --------------------------------------------------------------------------------


def directions_of(name, direction) -> dict:
    """A direction in one variable (``name``, an array) or in several (``name`` None and
    ``direction`` a dict by variable), as a dict by variable."""
    return dict(direction) if name is None else {name: direction}


def moved(point: Mapping, name, direction, t) -> dict:
    """The point moved by t·direction (see ``directions_of``)."""
    out = dict(point)
    for n, d in directions_of(name, direction).items():
        out[n] = np.asarray(point[n], dtype=np.float64) + t * d
    return out


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


class Autograd:
    """PyTorch autograd on the model's forward pass in torch operations (symgrad's printer
    spells each node's definition; autograd, not the rule table, differentiates it)."""

    def __init__(self, d: Derivation):
        self.d = d
        compiled = compile(d, "torch")
        # the generated functions run under torch.no_grad(); the undecorated ones record a graph
        self.forward = compiled.forward_function.__wrapped__
        self.trace = compiled.trace_function.__wrapped__

    def gradients(self, point: Mapping) -> dict[str, np.ndarray]:
        import torch

        args = torch_args(point, self.d.arguments, "float64", "cpu", requires_grad=True)
        with torch.enable_grad():
            loss = self.forward(**args)
            leaves = [args[name] for name in self.d.wrt]
            if not loss.requires_grad:  # a constant loss: autograd's gradient is 0
                grads = [torch.zeros_like(leaf) for leaf in leaves]
            else:
                grads = torch.autograd.grad(loss, leaves, allow_unused=True, materialize_grads=True)
        return {name: _as_array(g) for name, g in zip(self.d.wrt, grads, strict=True)}

    def contributions(self, point: Mapping, name: str, shape) -> np.ndarray | None:
        """What each entry of ``name`` broadcast to ``shape`` adds to the gradient (autograd
        with the broadcast copy as the leaf): a bias's gradient is this summed over the
        broadcast axes. None where the model does not accept the broadcast copy."""
        import torch

        args = torch_args(point, self.d.arguments, "float64", "cpu", requires_grad=True)
        try:
            leaf = args[name].detach().broadcast_to(shape).clone().requires_grad_(True)
            with torch.enable_grad():
                loss = self.forward(**{**args, name: leaf})
                (grad,) = torch.autograd.grad(loss, [leaf], materialize_grads=True)
        except Exception:  # an operation that needs the variable's own shape
            return None
        return _as_array(grad)

    def adjoints(self, point: Mapping) -> dict[str, np.ndarray]:
        """Every node's adjoint (of one sample's loss), keyed as the trace keys them."""
        import torch

        args = torch_args(point, self.d.arguments, "float64", "cpu", requires_grad=True)
        with torch.enable_grad():
            _, _, values = self.trace(**args, dtype=torch.float64)
            nodes = [
                n
                for n in self.d.nodes[:-1]
                if values[n.name].requires_grad and n.name in self.d.adjoint_names
            ]
            loss = values[self.d.loss.name].sum()
            grads = torch.autograd.grad(
                loss, [values[n.name] for n in nodes], allow_unused=True, materialize_grads=True
            )
        return {
            self.d.adjoint(n.name).symbol.name: _as_array(g)
            for n, g in zip(nodes, grads, strict=True)
        }


class FiniteDifferences:
    """Directional derivatives of the loss, in float64, by the generated NumPy forward pass."""

    def __init__(self, d: Derivation, forward: CompiledGradient):
        self.d = d
        self.forward = forward
        self.analytic = not d.kinks and self._runs_on_complex()

    def _runs_on_complex(self) -> bool:
        point = self.d.example
        if not all(n in point for n in self.d.arguments):
            return False
        try:
            with np.errstate(all="ignore"):
                real = complex(
                    self.forward.forward(**{n: np.asarray(point[n]) for n in self.d.arguments})
                )
                value = complex(
                    self._complex_loss(
                        point, self.d.wrt[0], np.ones(np.shape(point[self.d.wrt[0]])), 0.0
                    )
                )
        except Exception:  # a primitive with no complex spelling (logaddexp): central differences
            return False
        return bool(
            np.isfinite(value.real) and abs(value.real - real.real) <= 1e-12 * max(1, abs(real))
        )

    def _complex_loss(self, point, name, direction, t):
        args = {n: np.asarray(point[n], dtype=np.float64) for n in self.d.arguments}
        return self.forward.forward(**moved(args, name, direction, t))

    def loss(self, point, name, direction, t) -> float:
        args = moved(point, name, direction, t)
        for n in directions_of(name, direction):
            if np.ndim(point[n]) == 0:
                args[n] = float(args[n])
        with np.errstate(all="ignore"):
            return float(self.forward.forward(**args))

    def estimate(
        self, point, name, direction, f0: float, scale: float, *, careful=False
    ) -> fd.Estimate:
        """φ'(0) for φ(t) = L(point with ``name`` moved by t·direction)."""
        if self.analytic and not careful:
            with np.errstate(all="ignore"):
                return fd.complex_step(
                    lambda t: self._complex_loss(point, name, direction, t), scale=scale
                )
        phi = lambda t: self.loss(point, name, direction, t)  # noqa: E731
        return fd.richardson(phi, f0) if careful else fd.central(phi, f0)

    def sides(self, point, name, direction, f0: float) -> tuple[fd.Estimate, fd.Estimate]:
        phi = lambda t: self.loss(point, name, direction, t)  # noqa: E731
        return fd.one_sided(phi, f0, -1), fd.one_sided(phi, f0, +1)
