"""The Hessian of a tensor model as formulas, block by block, for the worked example.

``hessian_matrix`` computes the Jacobian of H·v with respect to v by the rules of linear maps;
this module writes the same Jacobians down as matrix formulas, where every quantity on the way
is a vector or a number (a column of parameters, as logistic regression's w), so that the
textbook's Xᵀ diag(p(1 − p)) X/N + λI can be read off the page:

    ∂v/∂v = I,   ∂(A u)/∂v = A ∂u/∂v,   ∂(c ⊙ u)/∂v = c ⊙ ∂u/∂v,   ∂(Σ u)/∂v = 𝟙ᵀ ∂u/∂v,

with c ⊙ J scaling the rows of J (NumPy's ``c * J`` for a column c: diag(c) J). A block that
passes through anything else (a matrix variable, whose Jacobian needs Kronecker products) has
no formula here; its numbers are still in the matrix.
"""

from __future__ import annotations

import sympy

from . import arrays
from .arrays import shape_of
from .second_order import direction_name
from .tensors import elementwise, unwrap


class _NoFormula(Exception):
    """An operation (or a shape) these rules do not write: no formula for the model."""


def hessian_formulas(order) -> dict[tuple[str, str], sympy.Basic] | None:
    """∂²L/∂a∂b for every pair of ``order.wrt`` (a SecondOrder of a tensor model) as a matrix
    of shape (entries of a) × (entries of b), a number for two scalars; None where some block
    has no formula."""
    first = order.first
    sizes = {}
    for name in order.wrt:
        shape = tuple(first.variable(name).shape or ())
        if shape not in ((), (1,), (1, 1)) and not (len(shape) == 2 and shape[1] == 1):
            return None  # a matrix, or a row: its entries are not one column
        sizes[name] = _size(shape)
    adjoints = {a.symbol.name: a for a in order.second.adjoints if not a.is_loss}
    formulas = {}
    try:
        for live in order.wrt:
            jacobian = _Jacobian(live, sizes[live], adjoints)
            for row in order.wrt:
                form = jacobian(order.hvp(row))
                formulas[row, live] = (
                    _zero(sizes[row], sizes[live]) if form is None else _written(form, sizes[row])
                )
    except _NoFormula:
        return None
    return formulas


# ∂u/∂v as Σₖ cₖ ⊙ Bₖ: entry-by-entry scalings (a column, or a number) of a few Jacobians. A
# chain of sums and entry-by-entry products only changes the coefficients, so that the page
# shows Xᵀ(c ⊙ X) with one c, not the chain's factors one by one.
Form = list  # of (coefficient, Jacobian)


class _Jacobian:
    """∂expr/∂v_live as a form (rows: expr's entries; columns: live's), or None where expr
    does not depend on v_live."""

    def __init__(self, live: str, size: int, adjoints: dict):
        self.direction = direction_name(live)
        self.size = size
        self.adjoints = adjoints
        self.memo: dict = {}

    def __call__(self, expr) -> Form | None:
        if expr not in self.memo:
            self.memo[expr] = self._form(expr)
        return self.memo[expr]

    def depends(self, expr) -> bool:
        for s in expr.free_symbols:
            name = getattr(s, "name", None)
            if name == self.direction or (name in self.adjoints and self(s) is not None):
                return True
        return False

    def _form(self, expr) -> Form | None:
        name = getattr(expr, "name", None)
        if name == self.direction:
            return [(sympy.S.One, sympy.Identity(self.size) if self.size > 1 else sympy.S.One)]
        if name in self.adjoints:  # a quantity of the second backward pass: its definition
            return self(self.adjoints[name].expr)
        if not self.depends(expr):
            return None
        size = _size(shape_of(expr))  # refuses what is not a vector or a number
        if isinstance(expr, sympy.Add | sympy.MatAdd):
            return _merged([self(term) for term in expr.args])
        if isinstance(expr, sympy.Transpose) or (  # a vector's entries, in the same order
            isinstance(expr, arrays.Broadcast) and not shape_of(expr.value)
        ):  # a number repeated: its rows are repeated when the form is written
            return self(expr.args[0])
        if isinstance(expr, arrays.Elementwise):
            return self._elementwise(expr)
        if isinstance(expr, sympy.Mul | sympy.MatMul):
            return self._product(list(expr.args), size)
        if isinstance(expr, arrays.MatMul):
            return self._product([expr.left, expr.right], size)
        if isinstance(expr, arrays.Total) or (
            isinstance(expr, arrays.Reduce) and expr.kind_name == "sum"
        ):
            inner, entries = self(expr.matrix), _size(shape_of(expr.matrix))
            if size == entries:  # summed over an axis of length 1
                return inner
            if size != 1:
                raise _NoFormula
            if self.size == 1:  # a number's slopes summed: a number, beside the others
                return [(sympy.S.One, arrays.Total(_written(inner, entries)))]
            ones = sympy.Transpose(sympy.OneMatrix(entries, 1))  # 𝟙ᵀ, as a row
            return [(sympy.S.One, _times(ones, _written(inner, entries)))]
        raise _NoFormula

    def _product(self, factors: list, size: int) -> Form:
        """A product with one factor that depends on v: a number scales the coefficients; the
        matrices before a vector multiply its Jacobian from the left; after a row uᵀ, B
        multiplies as (uᵀB)ᵀ = Bᵀu."""
        dependent = [k for k, f in enumerate(factors) if self.depends(f)]
        if len(dependent) != 1:
            raise _NoFormula  # not linear in v (H·v never is)
        factor = factors[dependent[0]]
        inner = self(factor)
        numbers = [f for f in factors if not shape_of(f) and f is not factor]
        matrices = [f for f in factors if shape_of(f) and f is not factor]
        coefficient = sympy.Mul(*numbers)
        if not shape_of(factor):  # a number that depends on v, times a constant vector
            if matrices:
                vector = _as_column(_matrix_product(matrices))
                return _scaled([(c, _times(vector, b)) for c, b in inner], coefficient)
            return _scaled(inner, coefficient)
        position = [f for f in factors if shape_of(f)].index(factor)
        before, after = matrices[:position], matrices[position:]
        entries = _size(shape_of(factor))
        written = _written(inner, entries)
        shape = shape_of(factor)
        if after and not before and len(shape) == 2 and shape[0] == 1 and shape[1] > 1:  # uᵀB
            return _scaled([(sympy.S.One, _times(_matrix_product(after).T, written))], coefficient)
        if after or not before:  # a 1 × 1 matrix is a number here, but not to SymPy
            raise _NoFormula
        return _scaled([(sympy.S.One, _times(_matrix_product(before), written))], coefficient)

    def _elementwise(self, expr: arrays.Elementwise) -> Form:
        """Σᵢ (∂f/∂operandᵢ) ⊙ ∂operandᵢ/∂v over the operands that depend on v."""
        variables, body = expr.template.variables, expr.template.expr
        forms = []
        for i, operand in enumerate(expr.operands):
            inner = self(operand)
            if inner is None:
                continue
            slope = sympy.diff(body, variables[i])
            used = [j for j, v in enumerate(variables) if slope.has(v)]
            if any(self.depends(expr.operands[j]) for j in used):
                raise _NoFormula
            if all(not shape_of(expr.operands[j]) for j in used):  # one number
                slope = slope.xreplace({variables[j]: expr.operands[j] for j in used})
            else:
                slope = arrays.Elementwise(
                    sympy.Lambda(tuple(variables[j] for j in used), slope),
                    *[expr.operands[j] for j in used],
                )
            forms.append(_scaled(inner, _as_column(slope)))
        return _merged(forms)


def _scaled(form: Form, coefficient) -> Form:
    """Each coefficient of ``form`` times ``coefficient``, entry by entry."""
    return [(_entrywise(lambda a, b: a * b, c, coefficient), base) for c, base in form]


def _merged(forms: list) -> Form | None:
    """The sum of forms: a Jacobian met twice gets the sum of its coefficients."""
    out: dict = {}
    for form in forms:
        for coefficient, base in form or ():
            out[base] = (
                coefficient
                if base not in out
                else _entrywise(lambda a, b: a + b, out[base], coefficient)
            )
    return [(c, base) for base, c in out.items()] or None


def _entrywise(function, a, b):
    if not shape_of(a) and not shape_of(b):
        return function(a, b)
    if function(sympy.S.One, sympy.S.One) == 1:  # a product: by 1 is nothing
        if a == 1:
            return b
        if b == 1:
            return a
    return unwrap(elementwise(function, a, b))


def _written(form: Form, size: int):
    """Σₖ cₖ ⊙ Bₖ as one formula: a column coefficient scales Bₖ's rows (diag(c) Bₖ, written
    as NumPy writes it, c ⊙ Bₖ); a number scales it."""
    terms = []
    for coefficient, base in form:
        if size > 1 and _rows(base) != size:
            base = _times(sympy.OneMatrix(size, 1), base)  # a number repeated, its row too
        if shape_of(coefficient) and base == sympy.OneMatrix(size, 1):
            terms.append(coefficient)  # c ⊙ 𝟙 = c
        elif shape_of(coefficient):
            terms.append(unwrap(elementwise(lambda a, b: a * b, coefficient, base)))
        else:
            terms.append(base if coefficient == 1 else coefficient * base)
    if len({bool(shape_of(term)) for term in terms}) > 1:
        raise _NoFormula  # a 1 × 1 product beside a number: SymPy adds no matrix to a scalar
    out = terms[0]
    for term in terms[1:]:
        out = out + term
    return out


def _size(shape) -> int:
    if shape in ((), (1,), (1, 1)):
        return 1
    if len(shape) == 1 or (len(shape) == 2 and 1 in shape):
        return max(shape)
    raise _NoFormula


def _as_column(vector):
    shape = shape_of(vector)
    if len(shape) == 2 and shape[0] == 1 and shape[1] > 1:
        return vector.T
    if len(shape) == 1:
        return arrays.Reshape(vector, (shape[0], 1))
    return vector


def _rows(jacobian) -> int:
    shape = shape_of(jacobian)
    return shape[0] if shape else 1


def _matrix_product(matrices: list):
    out = matrices[0]
    for m in matrices[1:]:
        out = _times(out, m)
    return out


def _times(a, b):
    """a · b, the identity and 1 left out."""
    if isinstance(a, sympy.Identity) or a == 1:
        return b
    if isinstance(b, sympy.Identity) or b == 1:
        return a
    if not shape_of(a) or not shape_of(b):
        return a * b
    if all(len(shape_of(x)) == 2 for x in (a, b)):
        return sympy.MatMul(a, b)
    return arrays.MatMul(a, b)


def _zero(rows: int, columns: int):
    return sympy.S.Zero if rows == columns == 1 else sympy.ZeroMatrix(rows, columns)
