"""The full Hessian of a tensor model in closed form: the Jacobian of H·v with respect to v.

The Hessian-vector product of a second-order derivation is an expression linear in the
directions v (``v_w``, ``v_b``): matrix products, sums, broadcasts and entry-by-entry products
with quantities of the forward and backward passes. Its Jacobian is read off that expression by
the rules of linear maps, once, when the Hessian is compiled:

    ∂(A v)/∂v = A,    ∂(c ⊙ v)/∂v = diag(c),    ∂(Σ v)/∂v = 1ᵀ,    ∂(v + u)/∂v = I + ∂u/∂v,

so that L2-regularised logistic regression's H·v = Xᵀ(p(1 − p) ⊙ X v_w)/N + λ v_w gives
H = Xᵀ diag(p(1 − p)) X/N + λI. Evaluating the result is matrix algebra on the point's values:
no column is computed by a Hessian-vector product of its own. The Jacobian with respect to one
variable's direction is an array with a leading axis over that variable's entries (a pass per
variable; the blocks are laid out as ``jax.hessian`` lays out the flattened variables); a chain
of sums and entry-by-entry products only gathers the diagonal coefficients (the p(1 − p) above),
so it costs one product with the Jacobian. A quantity that does not depend on v is computed by
code that symgrad's code generator prints, as the gradient's own is.

A model whose H·v holds an operation without a linear-map rule here (a convolution, say) is
refused by name; ``hvp`` still gives its Hessian-vector products.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import sympy

from . import arrays
from .arrays import shape_of
from .codegen import compile as compile_code
from .codegen import evaluator
from .errors import SymgradError

# Variables' entries up to which the Hessian is formed: 8,192² float64 is 512 MiB, and every
# Jacobian on the way has a leading axis of this length.
MAX_ENTRIES = 8192
Plan = Callable[[list, dict], Any]  # (the point's constants, a cache) → a Jacobian
Form = dict  # key → (coefficient, the Jacobian's plan, its shape): Σ diag(coefficient) J


class HessianMatrix:
    """The closed-form Hessian of ``order`` (a tensor model's SecondOrder), evaluated with
    NumPy (a Torch caller converts the result)."""

    def __init__(self, order, compiled):
        from .second_order import direction_name  # second_order builds on this module

        self.order = order
        self.compiled = compiled  # the backward-pass model's NumPy code: its trace gives values
        first = order.first
        self.shapes = {name: tuple(first.variable(name).shape or ()) for name in order.wrt}
        self.sizes = {name: math.prod(shape) for name, shape in self.shapes.items()}
        self.size = sum(self.sizes.values())
        if self.size > MAX_ENTRIES:
            gib = self.size**2 * 8 / 2**30
            raise SymgradError(
                f"the Hessian of {first.model!r} would be {self.size:,} × {self.size:,} "
                f"({gib:,.1f} GiB); hvp() gives Hessian-vector products without forming it"
            )
        offsets = np.cumsum([0, *self.sizes.values()])
        self.offsets = dict(zip(order.wrt, offsets.tolist(), strict=False))
        self.directions = {direction_name(name): name for name in order.wrt}
        self.adjoints = {a.symbol.name: a for a in order.second.adjoints if not a.is_loss}
        self._buffers = threading.local()  # each thread's arrays for the steps to write into
        self._keys = 0  # of the steps' results within a call, and of their arrays
        self._constant_index: dict = {}
        self._seeds: set = set()  # the plans of ∂v_b/∂v_b, the identity
        self.constants: list[sympy.Expr] = []
        # One pass per variable b: the Jacobians of every H·v part with respect to v_b alone
        # (a pass over all directions at once would carry v_w's zeros through v_b's steps).
        self.blocks: dict[tuple[str, str], Plan | None] = {}
        for live in order.wrt:
            self.live, self._depends, self._memo, self._forms = live, {}, {}, {}
            for name in order.wrt:
                self.blocks[name, live] = self._plan(order.hvp(name), name)
        self._constants = evaluator(self.constants, f"{first.model}.hessian")
        self._needed = {s.name for expr in self.constants for s in _names_in(expr)}
        self._first_suffices: bool | None = None  # known after the first call
        self.first = compile_code(first, "numpy")

    # --- what depends on the directions ----------------------------------------------------

    @property
    def live_size(self) -> int:
        """The number of directions of the pass being planned: the entries of its variable."""
        return self.sizes[self.live]

    def _dependent_name(self, name: str) -> bool:
        if name in self.directions:
            return self.directions[name] == self.live
        if name not in self.adjoints:
            return False
        if name not in self._depends:
            self._depends[name] = False  # an adjoint never reads itself
            self._depends[name] = self.depends(self.adjoints[name].expr)
        return self._depends[name]

    def depends(self, expr) -> bool:
        return any(self._dependent_name(getattr(s, "name", "")) for s in _names_in(expr))

    # --- the plan: Jacobians by the rules of linear maps -----------------------------------

    def _constant(self, expr) -> Plan:
        if expr not in self._constant_index:  # each quantity computed once per point
            self._constant_index[expr] = len(self.constants)
            self.constants.append(expr)
        index = self._constant_index[expr]
        return lambda values, cache: values[index]

    def _plan(self, expr, where: str) -> Plan | None:
        """How to compute ∂expr/∂v_b (leading axis: b's flattened entries), or None if expr
        does not depend on v_b. A subexpression met twice (the fused backward pass repeats
        X v) is computed once per point."""
        form = self._form(expr, where)
        if form is None:
            return None
        if expr not in self._memo:
            self._memo[expr] = self._materialize(form, shape_of(expr))
        return self._memo[expr]

    def _form(self, expr, where: str) -> Form | None:
        """∂expr/∂v_b as Σₖ diag(cₖ) Jₖ: entry-by-entry scalings of a few computed Jacobians.
        Sums, entry-by-entry products and broadcasts only change the coefficients cₖ (arrays
        the size of the expression, not of the Jacobian), so a chain of them costs one product
        with the Jacobian when a matrix product or a reduction needs it computed."""
        if not self.depends(expr):
            return None
        if expr in self._forms:
            return self._forms[expr]
        name = getattr(expr, "name", None)
        if name in self.directions:
            form = self._base(self._seed(self.directions[name]), shape_of(expr), seed=True)
        elif name in self.adjoints:
            form = self._form(self.adjoints[name].expr, name)
        elif isinstance(expr, sympy.Add | sympy.MatAdd):
            form = {}
            for term in expr.args:
                _merge(form, self._form(term, where) or {})
        elif isinstance(expr, sympy.Mul) and not isinstance(expr, sympy.MatMul):
            dependent = [f for f in expr.args if self.depends(f)]
            if len(dependent) != 1:
                raise _not_linear(expr, where)
            (factor,) = dependent
            coefficient = sympy.Mul(*[f for f in expr.args if f is not factor])
            form = _scaled(self._form(factor, where), coefficient)
        elif isinstance(expr, arrays.Elementwise):
            form = self._elementwise(expr, where)
        elif isinstance(expr, arrays.Broadcast):  # lifted to the shape where it is computed
            form = self._form(expr.value, where)
        elif isinstance(expr, sympy.MatMul) and not any(
            self.depends(f) for f in expr.args if shape_of(f)
        ):  # a scalar that depends on v times a matrix that does not (det W · W⁻ᵀ): the
            # scalar's Jacobian scaled by the matrix, entry by entry
            scalars = [f for f in expr.args if not shape_of(f)]
            dependent = [f for f in scalars if self.depends(f)]
            if len(dependent) != 1:
                raise _not_linear(expr, where)
            (factor,) = dependent
            rest = [f for f in expr.args if f is not factor]
            matrices = [f for f in rest if shape_of(f)]
            coefficient = sympy.Mul(*[f for f in rest if not shape_of(f)]) * _product_of(matrices)
            form = _scaled(self._form(factor, where), coefficient)
        else:
            form = self._base(self._structural(expr, where), shape_of(expr))
        self._forms[expr] = form
        return form

    def _base(self, plan: Plan, shape, *, seed: bool = False) -> Form:
        """A computed Jacobian as a form: itself, scaled by 1."""
        cached = _cached(self._new_key(), plan)
        if seed:
            self._seeds.add(cached)
        return {self._new_key(): (sympy.S.One, cached, shape)}

    def _materialize(self, form: Form, shape) -> Plan:
        """Σₖ cₖ ⊙ Jₖ into an array of its own (nothing to do for one unscaled term)."""
        terms = list(form.values())
        if len(terms) == 1 and terms[0][0] == 1 and tuple(terms[0][2]) == tuple(shape):
            return terms[0][1]
        scaled = [(None if c == 1 else self._constant(c), plan) for c, plan, _ in terms]
        key, spare = self._new_buffer(), self._new_buffer()

        def combined(values, cache):
            out = _out(cache, key, shape)
            for k, (coefficient, plan) in enumerate(scaled):
                term = out if k == 0 else _out(cache, spare, shape)
                jacobian = _lift(plan(values, cache), shape)
                if coefficient is None:
                    np.copyto(term, jacobian)
                else:
                    np.multiply(jacobian, coefficient(values, cache), out=term)
                if k > 0:
                    np.add(out, term, out=out)
            return out

        return _cached(self._new_key(), combined)

    def _structural(self, expr, where: str) -> Plan:
        """The Jacobian of an operation that moves entries around: a matrix product, a
        transpose, a reduction, a reshape, a slice."""
        shape = shape_of(expr)
        if isinstance(expr, sympy.MatMul | arrays.MatMul):
            return self._product(expr, where)
        if isinstance(expr, sympy.Transpose):
            inner = self._plan(expr.arg, where)
            return lambda values, cache: inner(values, cache).swapaxes(-1, -2)
        if isinstance(expr, arrays.Total):
            inner = self._plan(expr.matrix, where)
            size = self.live_size
            return lambda values, cache: inner(values, cache).reshape(size, -1).sum(1)
        if isinstance(expr, arrays.Reduce) and expr.kind_name == "sum":
            inner = self._plan(expr.matrix, where)
            axes = tuple(a + 1 for a in expr.axes)
            keep = expr.keepdims
            return lambda values, cache: inner(values, cache).sum(axes, keepdims=keep)
        if isinstance(expr, arrays.Reshape):
            inner = self._plan(expr.matrix, where)
            target = (self.live_size, *shape)
            return lambda values, cache: inner(values, cache).reshape(target)
        if isinstance(expr, arrays.Permute):
            inner = self._plan(expr.matrix, where)
            order = (0, *(a + 1 for a in expr.axes))
            return lambda values, cache: inner(values, cache).transpose(order)
        if isinstance(expr, arrays.Index | arrays.Embed) and not any(
            isinstance(part, sympy.MatrixExpr) for part in expr.parts
        ):  # slicing, and its pullback: the same key on every direction's array
            key = (slice(None), *arrays.python_key(expr.parts))
            if isinstance(expr, arrays.Index):
                inner = self._plan(expr.matrix, where)
                return lambda values, cache: inner(values, cache)[key]
            inner = self._plan(expr.values, where)
            target = (self.live_size, *shape)

            def embed(values, cache):
                out = np.zeros(target)
                np.add.at(out, key, inner(values, cache))
                return out

            return embed
        if isinstance(expr, arrays.Entry):
            inner = self._plan(expr.matrix, where)
            key = (slice(None), *expr.index)
            return lambda values, cache: inner(values, cache)[key]
        if isinstance(expr, arrays.Concatenate):
            parts = [(self._plan(a, where), shape_of(a)) for a in expr.arrays]
            axis = expr.axis + 1
            size = self.live_size

            def concatenate(values, cache):
                return np.concatenate(
                    [
                        np.zeros((size, *part_shape)) if part is None else part(values, cache)
                        for part, part_shape in parts
                    ],
                    axis=axis,
                )

            return concatenate
        raise _no_rule(_kind(expr), where)

    def _new_key(self) -> int:
        self._keys += 1
        return self._keys

    def _new_buffer(self) -> tuple[int, int]:
        """The key of an array a step writes into, with the number of directions of its pass."""
        return self._new_key(), self.live_size

    def _seed(self, variable: str) -> Plan:
        """∂v_b/∂b: the identity, in b's shape."""
        key, size = self._new_buffer()
        shape = self.shapes[variable]

        def seed(values, cache):
            buffers = cache["buffers"]
            if key not in buffers:
                buffers[key] = np.eye(size).reshape((size, *shape))
            return buffers[key]

        return seed

    def _product(self, expr, where: str) -> Plan:
        """A matrix product with one factor depending on v: the other factors multiply its
        Jacobian from the same sides."""
        if isinstance(expr, arrays.MatMul):
            factors = [expr.left, expr.right]
            scalars = []
        else:
            scalars = [f for f in expr.args if not shape_of(f)]
            factors = [f for f in expr.args if shape_of(f)]
        dependent = [k for k, f in enumerate(factors) if self.depends(f)]
        if len(dependent) != 1 or any(self.depends(s) for s in scalars):
            raise _not_linear(expr, where)
        (k,) = dependent
        batch = max(2, len(shape_of(factors[k])))
        if any(len(shape_of(f)) > batch for j, f in enumerate(factors) if j != k):
            # a constant with batch axes the factor lacks: NumPy would pair them with the
            # directions' axis
            raise _no_rule("a batched matrix product", where)
        inner = self._plan(factors[k], where)
        rank = len(shape_of(factors[k]))
        column = rank == 2 and shape_of(factors[k])[1] == 1
        two_d = all(len(shape_of(f)) == 2 for f in factors)
        if inner in self._seeds and 0 < k == len(factors) - 1 and column and two_d:
            # ∂(A v)/∂v = A, without a product with the identity
            a = self._constant(sympy.Mul(*scalars) * _product_of(factors[:k]))
            return lambda values, cache: a(values, cache).T[:, :, None]
        left = self._constant(_product_of(factors[:k])) if k > 0 else None
        right = self._constant(_product_of(factors[k + 1 :])) if k < len(factors) - 1 else None
        scale = self._constant(sympy.Mul(*scalars)) if scalars else None

        key = self._new_buffer()
        shape = shape_of(expr)

        def product(values, cache):
            out = inner(values, cache)
            own = _out(cache, key, shape)
            if left is not None:
                out = _left_product(left(values, cache), out, rank, None if right else own)
            if right is not None:
                b = right(values, cache)
                if rank == 1 and len(b.shape) >= 2:  # a vector times a matrix
                    out = (out[..., None, :] @ b)[..., 0, :]
                else:
                    out = _right_product(out, b, own)
            if scale is None:
                return out
            # into this step's own array: ``out`` may still be the factor's, which others read
            return np.multiply(_lift(out, shape), scale(values, cache), out=own)

        return product

    def _elementwise(self, expr: arrays.Elementwise, where: str) -> Form:
        """Σᵢ diag(∂f/∂operandᵢ) ∂operandᵢ/∂v over the operands that depend on v."""
        template, operands = expr.template, expr.operands
        variables = template.variables
        dependent = [i for i, operand in enumerate(operands) if self.depends(operand)]
        form: Form = {}
        for i in dependent:
            derivative = sympy.diff(template.expr, variables[i])
            used = [j for j, v in enumerate(variables) if derivative.has(v)]
            if any(j in dependent for j in used):
                raise _not_linear(expr, where)
            if used:
                slope = arrays.Elementwise(
                    sympy.Lambda(tuple(variables[j] for j in used), derivative),
                    *[operands[j] for j in used],
                )
            else:
                slope = derivative
            _merge(form, _scaled(self._form(operands[i], where), slope))
        return form

    # --- evaluation ------------------------------------------------------------------------

    def _values(self, values: dict) -> dict:
        """The point's values and every named quantity the constants read: from the first
        derivation's trace (its nodes and adjoints) where that has them all, which is cheaper
        than the backward-pass model's, else from the latter's at v = 0."""
        if self._first_suffices is not False:
            env = {**values, **self.first.trace(**values).values}
            if self._first_suffices or self._needed <= env.keys():
                self._first_suffices = True
                return env
            self._first_suffices = False
        directions = {
            direction: np.zeros(self.shapes[name]) if self.shapes[name] else 0.0
            for direction, name in self.directions.items()
        }
        return {**values, **self.compiled.trace(**values, **directions).values}

    def __call__(self, **values):
        """The Hessian at ``values``: rows and columns over the flattened entries of ``wrt``,
        in ``wrt`` order."""
        for variable in self.order.first.variables:  # its arrays are sized for these shapes
            given = values.get(variable.name)
            if given is not None and np.shape(given) != tuple(variable.shape or ()):
                raise SymgradError(
                    f"{variable.name!r} has shape {np.shape(given)}; model "
                    f"{self.order.first.model!r} declares {tuple(variable.shape or ())}"
                )
        env = self._values(values)
        constants = [np.asarray(c, dtype=np.float64) for c in self._constants(env)]
        if not hasattr(self._buffers, "arrays"):
            self._buffers.arrays = {}
        cache: dict = {"buffers": self._buffers.arrays}
        hessian = np.zeros((self.size, self.size))
        for (row, column), block in self.blocks.items():
            if block is None:
                continue
            rows, columns = self.sizes[row], self.sizes[column]
            jacobian = _lift(block(constants, cache), self.shapes[row]).reshape(columns, rows)
            r, c = self.offsets[row], self.offsets[column]
            hessian[r : r + rows, c : c + columns] = jacobian.T
        return hessian


def _left_product(a, jacobian, rank: int, out=None):
    """a @ (each direction's array): one matrix product for all directions where ``a`` is a
    matrix (NumPy would loop over the directions), else NumPy's own broadcasting; into
    ``out`` where given and the product is a column."""
    size = jacobian.shape[0]
    if a.ndim == 2 and rank == 2 and jacobian.shape[2] == 1:  # a column: (J a^T), contiguous
        if out is not None and out.shape == (size, a.shape[0], 1):
            np.matmul(jacobian[:, :, 0], a.T, out=out[:, :, 0])
            return out
        return (jacobian[:, :, 0] @ a.T)[:, :, None]
    if a.ndim == 2 and rank == 2:
        _, rows, cols = jacobian.shape
        stacked = jacobian.transpose(1, 0, 2).reshape(rows, size * cols)
        out = (a @ stacked).reshape(a.shape[0], size, cols).transpose(1, 0, 2)
        return np.ascontiguousarray(out)  # directions first again, for the products after
    if a.ndim == 2 and rank == 1:
        return jacobian @ a.T
    return (a @ jacobian[..., None])[..., 0] if rank == 1 else a @ jacobian


def _right_product(jacobian, b, out=None):
    """(each direction's array) @ b, as one matrix product where ``b`` is a matrix."""
    if b.ndim == 2 and jacobian.ndim == 3:
        size, rows, inner = jacobian.shape
        flat = jacobian.reshape(size * rows, inner)
        if out is not None and out.shape == (size, rows, b.shape[1]):
            np.matmul(flat, b, out=out.reshape(size * rows, b.shape[1]))
            return out
        return (flat @ b).reshape(size, rows, b.shape[1])
    return jacobian @ b


def _cached(key: int, inner: Plan) -> Plan:
    def plan(values, cache):
        if key not in cache:
            cache[key] = inner(values, cache)
        return cache[key]

    return plan


def _lift(jacobian, shape: tuple[int, ...]):
    """A Jacobian (leading axis θ) broadcast to an expression of ``shape``, as NumPy
    broadcasts the expression itself (trailing axes aligned)."""
    size, *own = jacobian.shape
    if tuple(own) == tuple(shape):
        return jacobian
    padded = jacobian.reshape((size, *(1,) * (len(shape) - len(own)), *own))
    target = (size, *shape)
    return np.broadcast_to(padded, target)


def _times(a, b):
    """a ⊙ b of two coefficients (numbers or arrays that broadcast)."""
    if a == 1:
        return b
    if b == 1:
        return a
    if not shape_of(a) and not shape_of(b):
        return a * b
    x, y = sympy.symbols("_c0 _c1")
    return arrays.Elementwise(sympy.Lambda((x, y), x * y), a, b)


def _plus(a, b):
    if not shape_of(a) and not shape_of(b):
        return a + b
    x, y = sympy.symbols("_c0 _c1")
    return arrays.Elementwise(sympy.Lambda((x, y), x + y), a, b)


def _scaled(form: Form | None, coefficient) -> Form:
    return {k: (_times(c, coefficient), plan, s) for k, (c, plan, s) in (form or {}).items()}


def _merge(form: Form, other: Form) -> None:
    """form += other: the coefficients of a Jacobian in both add up."""
    for key, (coefficient, plan, shape) in other.items():
        if key in form:
            form[key] = (_plus(form[key][0], coefficient), plan, shape)
        else:
            form[key] = (coefficient, plan, shape)


def _out(cache: dict, buffer: tuple[int, int], shape: tuple[int, ...]):
    """The array a step writes its Jacobian into: kept from call to call (per thread), since
    allocating fresh ones of this size costs more than the arithmetic (the allocator hands
    them back to the system and faults them in again)."""
    key, size = buffer
    buffers = cache["buffers"]
    out = buffers.get(key)
    if out is None:
        out = buffers[key] = np.empty((size, *shape))
    return out


def _product_of(factors: list):
    if len(factors) == 1:
        return factors[0]
    out = factors[0]
    for factor in factors[1:]:
        out = arrays.MatMul(out, factor) if len(shape_of(out)) != 2 else sympy.MatMul(out, factor)
    return out


def _names_in(expr) -> set:
    if isinstance(expr, sympy.Basic):
        return {s for s in expr.free_symbols if hasattr(s, "name")}
    return set()


def _kind(expr) -> str:
    kind = getattr(expr, "kind_name", None)
    name = type(expr).__name__
    return f"{name} ({kind})" if isinstance(kind, str) else name


def _no_rule(what: str, where: str) -> SymgradError:
    return SymgradError(
        f"the closed-form Hessian has no rule yet for {what} (in the second derivative "
        f"through {where}); hvp() gives Hessian-vector products of this model"
    )


def _not_linear(expr, where: str) -> SymgradError:
    return SymgradError(
        f"the Hessian-vector product through {where} is not linear in the direction at "
        f"{_kind(expr)}; this is a bug in symgrad's second derivative, please report it"
    )
