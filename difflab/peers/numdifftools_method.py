"""numdifftools as a difflab method: ``numdifftools.Gradient``, ``Jacobian`` and ``Hessian``.

numdifftools (Brodtkorb) takes central differences at a geometric sequence of steps,
extrapolates them (Richardson) and keeps, per component, the estimate with the smallest error
estimate — the adaptive scheme difflab's default ``numeric`` follows. It is given f over the
flat vector of the ``wrt`` variables (``flat.Flat``), the other variables held at the point;
options (``method=``, ``order=``, ``step=`` ...) go to numdifftools unchanged.

It is approximate: judged at ``tolerance`` (rho). On the lab's scalar suite (42 functions,
seeds 0-2) its median rho is 1e-14 and its worst about 1e-11 (cos_cancel), apart from
sin(1/x) near 0, which it gets wrong; where its steps leave the domain (sqrt at 1e-10) it
gives nan, which counts as nan, not against the tolerance. numdifftools warns on the all-nan
columns such a step makes; the warning is silenced here (the nan result says it).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numdifftools as nd

from ..core.expr import Expr
from ..protocol import Prepared
from .flat import Flat


def _prepared(kind, unflatten: str, expr: Expr, wrt, shapes, options: dict) -> Prepared:
    """point -> numdifftools' ``kind`` (Gradient, Jacobian, Hessian) of f at the point's x."""
    flat = Flat(expr, wrt, shapes)

    def call(point):
        if flat.empty:  # an empty array in or out: nothing for numdifftools to do
            return flat.zero(unflatten)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", (UserWarning, RuntimeWarning))
            value = kind(flat.function(point), **options)(flat.x0(point))
        return getattr(flat, unflatten)(value)
    return Prepared(call, {"options": options})


class Numdifftools:
    """The method object: prepare, prepare_jacobian, prepare_hessian over numdifftools."""

    exact = False
    tolerance = 1e-9
    info = {"library": f"numdifftools {nd.__version__}"}

    @staticmethod
    def prepare(expr: Expr, wrt: Sequence[str], shapes: Mapping, **options) -> Prepared:
        """The gradient by ``numdifftools.Gradient`` (options passed to it)."""
        return _prepared(nd.Gradient, "gradient", expr, wrt, shapes, options)

    @staticmethod
    def prepare_jacobian(expr: Expr, wrt: Sequence[str], shapes: Mapping,
                         **options) -> Prepared:
        """The Jacobian by ``numdifftools.Jacobian``."""
        return _prepared(nd.Jacobian, "jacobian", expr, wrt, shapes, options)

    @staticmethod
    def prepare_hessian(expr: Expr, wrt: Sequence[str], shapes: Mapping,
                        **options) -> Prepared:
        """The Hessian by ``numdifftools.Hessian``."""
        return _prepared(nd.Hessian, "hessian", expr, wrt, shapes, options)


METHOD = Numdifftools()
