"""An expression as a function of one flat vector: the view numerical libraries take.

Libraries such as numdifftools and scipy.differentiate differentiate f: R^n -> R (or R^m) at a
vector x. ``Flat`` lays the variables of ``wrt`` end to end (each raveled in C order) as x,
holds every other variable at its value in the point, evaluates f with the IR's NumPy plan,
and turns the flat gradient (n,), Jacobian (m, n) or Hessian (n, n) back into the protocol's
dicts. A method of one's own over a flat vector can use it too.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from ..core.evaluate import bind, run_value
from ..core.expr import Expr
from ..core.plan import compile_plan
from ..core.shapes import infer_shapes
from ..protocol import shaped


class Flat:
    """``expr`` over the flat vector of its ``wrt`` variables (see the module docstring)."""

    def __init__(self, expr: Expr, wrt: Sequence[str], shapes: Mapping):
        """
        Args:
            expr: the expression.
            wrt: the variables laid end to end in x.
            shapes: every variable's shape.
        """
        self.plan = compile_plan(expr)
        self.wrt = tuple(wrt)
        self.shapes = {name: tuple(shape) for name, shape in shapes.items()}
        sizes = [math.prod(self.shapes[name]) for name in self.wrt]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        self.out_shape = infer_shapes(self.plan, self.shapes)[self.plan.out]

    @property
    def n(self) -> int:
        """The length of x."""
        return int(self.offsets[-1])

    @property
    def m(self) -> int:
        """The number of scalar outputs."""
        return math.prod(self.out_shape)

    @property
    def empty(self) -> bool:
        """No input (n = 0) or no output (m = 0): every derivative is an empty array."""
        return self.n == 0 or self.m == 0

    def zero(self, what: str) -> dict:
        """``what`` ("gradient", "jacobian", "hessian") of zeros: for an ``empty`` f, whose
        derivatives are empty arrays (numdifftools and scipy.differentiate fail on them)."""
        flat = {"gradient": (self.n,), "jacobian": (self.m, self.n), "hessian": (self.n, self.n)}
        return getattr(self, what)(np.zeros(flat[what]))

    def x0(self, point: Mapping) -> np.ndarray:
        """The point's ``wrt`` values as one float64 vector (n,)."""
        return np.concatenate([np.ravel(np.asarray(point[name], dtype=np.float64))
                               for name in self.wrt]) if self.wrt else np.zeros(0)

    def unflatten(self, x: np.ndarray) -> dict:
        """The ``wrt`` entries of a point from a flat vector."""
        return {name: self._piece(x, i, self.shapes[name]) for i, name in enumerate(self.wrt)}

    def _piece(self, x: np.ndarray, i: int, shape: tuple):
        piece = x[self.offsets[i]:self.offsets[i + 1]]
        return float(piece[0]) if shape == () else piece.reshape(shape)

    def function(self, point: Mapping) -> Callable[[np.ndarray], object]:
        """f(x): a float for a scalar expression, else the flat output (m,)."""
        fixed = dict(point)
        plan = self.plan
        scalar = self.out_shape == ()

        def f(x) -> object:
            x = np.asarray(x, dtype=np.float64).ravel()
            value = run_value(plan, bind(plan, {**fixed, **self.unflatten(x)}))
            return float(value) if scalar else np.ravel(np.asarray(value, dtype=np.float64))
        return f

    def gradient(self, g) -> dict:
        """{name: derivative} from a flat gradient (n,)."""
        g = np.asarray(g, dtype=np.float64).reshape(self.n)
        return {name: shaped(self._piece(g, i, self.shapes[name]), self.shapes[name])
                for i, name in enumerate(self.wrt)}

    def jacobian(self, J) -> dict:
        """{name: array of output shape + variable shape} from a flat Jacobian (m, n)."""
        J = np.asarray(J, dtype=np.float64).reshape(self.m, self.n)
        return {name: J[:, self.offsets[i]:self.offsets[i + 1]].reshape(
                    self.out_shape + self.shapes[name])
                for i, name in enumerate(self.wrt)}

    def hessian(self, H) -> dict:
        """{a: {b: array of shape(a) + shape(b)}} from a flat Hessian (n, n)."""
        H = np.asarray(H, dtype=np.float64).reshape(self.n, self.n)
        o = self.offsets
        return {a: {b: H[o[i]:o[i + 1], o[j]:o[j + 1]].reshape(self.shapes[a] + self.shapes[b])
                    for j, b in enumerate(self.wrt)}
                for i, a in enumerate(self.wrt)}
