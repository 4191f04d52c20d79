"""``difflab.numpy``, products and norms: matmul dot vdot outer, and ``linalg.norm``.

``dnp.linalg`` is this module, so ``dnp.linalg.norm(x)`` reads as in NumPy. ``dot`` follows
NumPy for scalars (a product) and for 1-D and 2-D operands (``matmul``); for operands of higher
rank, where NumPy's ``dot`` and ``matmul`` differ, it asks for ``matmul``.
"""

from __future__ import annotations

import math

import numpy as np

from ..core import arrays as A
from ..core import expr as E
from ..core.expr import Expr
from .elementwise import asarray


def matmul(x1, x2) -> Expr:
    """The matrix product ``x1 @ x2`` (1-D operands as vectors, stacks of matrices broadcast)."""
    return E.matmul(asarray(x1), asarray(x2))


def _rank(a: Expr) -> int | None:
    """The rank when it is known (a constant, or inside a traced function), else None."""
    if a.op == "const":
        return np.ndim(a.attr)
    try:
        return len(a.shape)
    except AttributeError:
        return None


def dot(a, b) -> Expr:
    """NumPy's ``dot``: a product when either is a scalar, else ``matmul`` (1-D and 2-D)."""
    a, b = asarray(a), asarray(b)
    ranks = (_rank(a), _rank(b))
    if 0 in ranks:
        return a * b
    if ranks[1] is not None and ranks[1] > 2:
        raise ValueError(f"dnp.dot of operands of rank {ranks}: NumPy's dot of N-D arrays "
                         f"sums over a's last and b's second-to-last axis; spell it with "
                         f"dnp.matmul (stacks of matrices) or sum and reshape")
    return E.matmul(a, b)


def vdot(a, b) -> Expr:
    """The dot product of the flattened arrays: sum(ravel(a) * ravel(b))."""
    return E.sum(E.reshape(asarray(a), (-1,)) * E.reshape(asarray(b), (-1,)))


def outer(a, b) -> Expr:
    """The outer product of the flattened ``a`` and ``b``: out[i, j] = a[i] * b[j]."""
    return A.outer(asarray(a), asarray(b))


def norm(x, ord=None, axis=None, keepdims: bool = False) -> Expr:  # noqa: A002 - NumPy's
    """NumPy's ``linalg.norm`` for what the IR can express: ``ord`` None or "fro" (the
    2-norm of the elements over ``axis``: the Frobenius norm of a matrix), and vector norms
    ``ord`` = 1, 2, inf, -inf over one integer ``axis`` (or a 1-D ``x``). Matrix norms other
    than Frobenius (spectral, nuclear) need decompositions the IR does not have.

    The derivative at x = 0 is 0 * inf = nan (sqrt at 0) in reverse mode, symbolic and JAX;
    forward mode gives 0 there, as for sqrt(x * x) (docs/edge_cases.md).
    """
    x = asarray(x)
    if ord is None or ord == "fro":
        if ord == "fro" and not (axis is None or isinstance(axis, tuple) and len(axis) == 2):
            raise ValueError("dnp.linalg.norm: ord='fro' is a matrix norm (axis None or a "
                             "pair of axes)")
        return E.sqrt(E.sum(E.square(x), axis=axis, keepdims=keepdims))
    if axis is None and _rank(x) == 1:
        axis = 0
    if not isinstance(axis, int) or isinstance(axis, bool):
        raise ValueError(f"dnp.linalg.norm: ord={ord!r} is supported as a vector norm: give "
                         f"one integer axis (or a 1-D array); matrix norms other than 'fro' "
                         f"are not expressible in the IR")
    if ord == 2:
        return E.sqrt(E.sum(E.square(x), axis=axis, keepdims=keepdims))
    if ord == 1:
        return E.sum(E.abs(x), axis=axis, keepdims=keepdims)
    if ord == math.inf:
        return E.max(E.abs(x), axis=axis, keepdims=keepdims)
    if ord == -math.inf:
        return E.min(E.abs(x), axis=axis, keepdims=keepdims)
    raise ValueError(f"dnp.linalg.norm: unsupported ord {ord!r} (None, 'fro', 1, 2, inf, -inf)")
