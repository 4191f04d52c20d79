"""``difflab.numpy``, reductions: sum mean prod max min (NumPy's signatures: the second
positional argument is the axis), var and std, and the stable softmax family.

Note the one place NumPy and ``dl`` differ: ``dnp.max(a, 1)`` reduces over axis 1, as NumPy's
does, while ``dl.max(a, b)`` is elementwise; ``dnp.maximum(a, b)`` is NumPy's elementwise one.
"""

from __future__ import annotations

from numbers import Real

import numpy as np

from ..core import arrays as A
from ..core import expr as E
from ..core.expr import Expr
from ..core.params import normal_axes
from .elementwise import asarray


def sum(a, axis=None, keepdims: bool = False) -> Expr:  # noqa: A001 - NumPy's name
    """The sum over ``axis`` (an int or tuple, negative allowed; every axis by default).

    Args:
        a: an expression, number, array or list; axis: the axes; keepdims: keep them as 1s.
    Returns:
        the expression.
    """
    return E.sum(asarray(a), axis=axis, keepdims=keepdims)


def mean(a, axis=None, keepdims: bool = False) -> Expr:
    """The mean over ``axis`` (every axis by default); arguments as ``sum``."""
    return E.mean(asarray(a), axis=axis, keepdims=keepdims)


def prod(a, axis=None, keepdims: bool = False) -> Expr:
    """The product over ``axis`` (every axis by default); arguments as ``sum``."""
    return E.prod(asarray(a), axis=axis, keepdims=keepdims)


def max(a, axis=None, keepdims: bool = False) -> Expr:  # noqa: A001 - NumPy's name
    """The largest element over ``axis`` (every axis by default); tied maxima share the
    derivative equally (JAX's rule). For the elementwise maximum use ``maximum``."""
    return E.max(asarray(a), axis=axis, keepdims=keepdims)


def min(a, axis=None, keepdims: bool = False) -> Expr:  # noqa: A001 - NumPy's name
    """The smallest element over ``axis`` (every axis by default); ties share the
    derivative. For the elementwise minimum use ``minimum``."""
    return E.min(asarray(a), axis=axis, keepdims=keepdims)


amax, amin = max, min


def ptp(a, axis=None, keepdims: bool = False) -> Expr:
    """max - min over ``axis`` ("peak to peak")."""
    a = asarray(a)
    return max(a, axis, keepdims) - min(a, axis, keepdims)


def var(a, axis=None, ddof: int = 0, keepdims: bool = False) -> Expr:
    """The variance over ``axis``: sum(|a - mean(a)|**2) / max(n - ddof, 0), as NumPy's.

    Args:
        a: the values; axis: the axes (every axis by default); ddof: the "delta degrees of
            freedom", a real number (1 for the unbiased estimate; needs ``a``'s shape, known
            while a function is traced at a point); keepdims: keep the reduced axes as 1s.
    Returns:
        the expression. With ``ddof >= n`` it divides by 0, as NumPy does: inf where the
        deviations are not all 0, nan where they are (a RuntimeWarning at most, never an
        exception; JAX gives nan for both).
    """
    if isinstance(ddof, bool | np.bool_) or not isinstance(ddof, Real):
        raise TypeError(f"dnp.var: ddof must be a number, got {type(ddof).__name__}")
    a = asarray(a)
    deviation = a - E.mean(a, axis=axis, keepdims=True)
    if not ddof:
        return E.mean(E.square(deviation), axis=axis, keepdims=keepdims)
    n = _count(a, axis, "var")
    if n - ddof <= 0:  # NumPy's max(n - ddof, 0): inf, or nan for all-equal values
        return E.sum(E.square(deviation), axis=axis, keepdims=keepdims) / 0.0
    return E.mean(E.square(deviation), axis=axis, keepdims=keepdims) * (n / (n - ddof))


def std(a, axis=None, ddof: int = 0, keepdims: bool = False) -> Expr:
    """The standard deviation, sqrt(var(a, axis, ddof)) (its derivative is inf where the
    variance is 0, as in JAX)."""
    return E.sqrt(var(a, axis=axis, ddof=ddof, keepdims=keepdims))


def _count(a: Expr, axis, what: str) -> float:
    """The number of elements reduced over ``axis``, from ``a``'s shape."""
    try:
        shape = a.shape
    except AttributeError as err:
        raise TypeError(f"dnp.{what} with ddof needs the shape of its operand: {err}") from None
    axes = axis if isinstance(axis, tuple | list) else None if axis is None else (axis,)
    axes = normal_axes(None if axes is None else tuple(axes), len(shape), f"dnp.{what}")
    return float(np.prod([shape[k] for k in axes], dtype=np.float64))


def logsumexp(a, axis=None, keepdims: bool = False) -> Expr:
    """log(sum(exp(a))) over ``axis``, shifted by the max so it never overflows (SciPy's
    ``scipy.special.logsumexp``); its gradient is softmax(a)."""
    return A.logsumexp(asarray(a), axis=axis, keepdims=keepdims)


def softmax(a, axis: int = -1) -> Expr:
    """exp(a) / sum(exp(a)) along ``axis`` (default the last, as ``jax.nn.softmax``), stable."""
    return A.softmax(asarray(a), axis=axis)


def log_softmax(a, axis: int = -1) -> Expr:
    """a - logsumexp(a) along ``axis`` (default the last), stable."""
    return A.log_softmax(asarray(a), axis=axis)
