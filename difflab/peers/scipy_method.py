"""scipy.differentiate as a difflab method: ``jacobian`` (gradients too) and ``hessian``.

SciPy >= 1.15's ``scipy.differentiate`` takes central differences of order 8 (by default),
starting at step 0.5 and dividing it by 2 each iteration until its error estimate falls below
``atol + rtol |df|`` (rtol = sqrt(eps) by default) or grows. It wants f vectorised over extra
trailing axes of x; difflab's plan evaluates one point at a time, so ``_batched`` loops over
them. Options (``tolerances=``, ``order=``, ``initial_step=``, ``maxiter=`` ...) go to SciPy.

It is approximate: judged at ``tolerance`` (rho), its stopping rule's rtol = sqrt(eps) ~
1.5e-8 with some slack. On the lab's scalar suite (42 functions, seeds 0-2) its median rho is
2e-13 and its worst about 6e-11, apart from sin(1/x) near 0, which it gets wrong; where its
steps leave the domain (sqrt at 1e-10, atanh near 1) it reports nan.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import scipy
from scipy import differentiate

from ..core.expr import Expr
from ..protocol import Prepared
from .flat import Flat


def _batched(f: Callable, m: int | None) -> Callable:
    """f over x of shape (n, ...) -> (...) for a scalar f (``m`` None), else (m, ...)."""
    def g(x):
        x = np.asarray(x, dtype=np.float64)
        batch = x.shape[1:]
        columns = x.reshape(x.shape[0], -1)
        values = [f(columns[:, k]) for k in range(columns.shape[1])]
        if m is None:
            return np.asarray(values, dtype=np.float64).reshape(batch)
        return np.stack(values, axis=-1).reshape((m,) + batch)
    return g


class ScipyDifferentiate:
    """The method object: prepare, prepare_jacobian, prepare_hessian over scipy.differentiate."""

    exact = False
    tolerance = 1e-7
    info = {"library": f"scipy {scipy.__version__} (scipy.differentiate)"}

    @staticmethod
    def prepare(expr: Expr, wrt: Sequence[str], shapes: Mapping, **options) -> Prepared:
        """The gradient: ``scipy.differentiate.jacobian`` of the scalar f (options passed)."""
        flat = Flat(expr, wrt, shapes)

        def call(point):
            if flat.empty:  # an empty array in or out: nothing for scipy to do
                return flat.zero("gradient")
            result = differentiate.jacobian(_batched(flat.function(point), None),
                                            flat.x0(point), **options)
            return flat.gradient(result.df)
        return Prepared(call, {"options": options})

    @staticmethod
    def prepare_jacobian(expr: Expr, wrt: Sequence[str], shapes: Mapping,
                         **options) -> Prepared:
        """The Jacobian by ``scipy.differentiate.jacobian``: df has shape (m, n)."""
        flat = Flat(expr, wrt, shapes)

        def call(point):
            if flat.empty:  # an empty array in or out: nothing for scipy to do
                return flat.zero("jacobian")
            result = differentiate.jacobian(_batched(flat.function(point), flat.m),
                                            flat.x0(point), **options)
            return flat.jacobian(result.df)
        return Prepared(call, {"options": options})

    @staticmethod
    def prepare_hessian(expr: Expr, wrt: Sequence[str], shapes: Mapping,
                        **options) -> Prepared:
        """The Hessian by ``scipy.differentiate.hessian``: ddf has shape (n, n)."""
        flat = Flat(expr, wrt, shapes)

        def call(point):
            if flat.empty:  # an empty array in or out: nothing for scipy to do
                return flat.zero("hessian")
            result = differentiate.hessian(_batched(flat.function(point), None),
                                           flat.x0(point), **options)
            return flat.hessian(result.ddf)
        return Prepared(call, {"options": options})


METHOD = ScipyDifferentiate()
