"""``difflab.numpy``, constructors: constant arrays (``zeros ones full eye arange linspace``...).

Each makes a constant (derivative 0) with NumPy's values. Their arguments are read as the rest
of the API reads numbers (``core.reals``): a fill value or an end point is a real number or an
array of them — a string, a bool or a complex number is refused, never parsed or cast — and a
size is a non-negative int. A bad argument is a TypeError (wrong kind) or a ValueError (wrong
value) that names the function and the argument, never a bare NumPy message.
"""

from __future__ import annotations

import math
import operator

import numpy as np

from ..core import arrays as A
from ..core import expr as E
from ..core.expr import Expr
from ..core.reals import as_array, as_float, describe
from .elementwise import asarray
from .shaping import _shape


def _count(value, function: str, argument: str) -> int:
    """A non-negative int (a Python or NumPy int; not a bool, a float or text)."""
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"{function}: {argument} must be an int, got {value!r}")
    try:
        n = operator.index(value)
    except TypeError:
        raise TypeError(f"{function}: {argument} must be an int, got {describe(value)} "
                        f"({type(value).__name__})") from None
    if n < 0:
        raise ValueError(f"{function}: {argument} must be non-negative, got {n}")
    return n


def _dims(shape, function: str) -> tuple[int, ...]:
    """A shape: an int or a tuple/list of non-negative ints."""
    if isinstance(shape, tuple | list):
        return tuple(_count(n, function, f"shape[{k}]") for k, n in enumerate(shape))
    return (_count(shape, function, "shape"),)


def _real(value, function: str, argument: str) -> np.ndarray:
    """A real number or an array of them, as float64 (``reals.as_array``'s refusals named)."""
    if isinstance(value, Expr):
        raise TypeError(f"{function}: {argument} must be a number or an array of numbers "
                        f"(a constant), got an expression; multiply it by dnp.ones(shape) "
                        f"for an array of its values")
    try:
        return as_array(value)
    except (TypeError, ValueError) as err:
        raise type(err)(f"{function}: {argument}: {err}") from None


def _scalar(value, function: str, argument: str) -> float:
    """A real number (a 0-d array too) as a float (``reals.as_float``'s refusals named)."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    try:
        return as_float(value)
    except (TypeError, ValueError) as err:
        raise type(err)(f"{function}: {argument}: {err}") from None


def zeros(shape) -> Expr:
    """A constant array of zeros of ``shape`` (an int or tuple of non-negative ints)."""
    return E.constant(np.zeros(_dims(shape, "dnp.zeros")))


def ones(shape) -> Expr:
    """A constant array of ones of ``shape``."""
    return E.constant(np.ones(_dims(shape, "dnp.ones")))


def full(shape, fill_value) -> Expr:
    """A constant array of ``shape`` filled with ``fill_value``: a real number, or an array
    that broadcasts to ``shape`` (a string, a bool or a complex number is a TypeError)."""
    dims = _dims(shape, "dnp.full")
    fill = _real(fill_value, "dnp.full", "fill_value")
    try:
        return E.constant(np.broadcast_to(fill, dims).copy())
    except ValueError:
        raise ValueError(f"dnp.full: fill_value of shape {fill.shape} does not broadcast to "
                         f"the shape {dims}") from None


def full_like(a, fill_value) -> Expr:
    """An array of ``a``'s shape filled with ``fill_value`` (derivative 0): a constant when
    the shape is known, else ``fill_value + (a < a)`` (exactly that, for every ``a``). The
    fill value is read as ``full`` reads it; an expression is allowed (it is broadcast)."""
    if isinstance(fill_value, Expr):
        return fill_value + A.less(a, a)
    fill = _real(fill_value, "dnp.full_like", "fill_value")
    try:
        shape = _shape(a, "full_like")
    except TypeError:  # not known here: the same values, spelled with a
        return asarray(fill) + A.less(a, a)
    try:
        return E.constant(np.broadcast_to(fill, shape).copy())
    except ValueError:
        raise ValueError(f"dnp.full_like: fill_value of shape {fill.shape} does not "
                         f"broadcast to the shape {shape}") from None


def zeros_like(a) -> Expr:
    """Zeros of ``a``'s shape (see ``full_like``)."""
    return full_like(a, 0.0)


def ones_like(a) -> Expr:
    """Ones of ``a``'s shape (see ``full_like``)."""
    return full_like(a, 1.0)


def eye(N: int, M: int | None = None, k: int = 0) -> Expr:
    """A constant N x M matrix (M defaults to N) with ones on the ``k``-th diagonal."""
    n = _count(N, "dnp.eye", "N")
    m = n if M is None else _count(M, "dnp.eye", "M")
    if isinstance(k, bool | np.bool_) or not isinstance(k, int | np.integer):
        raise TypeError(f"dnp.eye: k must be an int, got {describe(k)} ({type(k).__name__})")
    return E.constant(np.eye(n, m, int(k)))


def identity(n: int) -> Expr:
    """The constant n x n identity matrix."""
    return E.constant(np.identity(_count(n, "dnp.identity", "n")))


def arange(*args) -> Expr:
    """NumPy's ``arange(stop)`` / ``arange(start, stop[, step])`` as a constant (floats).

    Raises:
        TypeError: not one to three real numbers; ValueError: a step of 0, or a bound or
            step that is not finite (each naming dnp.arange and the argument).
    """
    if not 1 <= len(args) <= 3:
        raise TypeError(f"dnp.arange takes stop, or start, stop[, step]: 1 to 3 numbers, "
                        f"got {len(args)}")
    names = ("stop",) if len(args) == 1 else ("start", "stop", "step")[:len(args)]
    values = [_scalar(v, "dnp.arange", name) for v, name in zip(args, names, strict=True)]
    for v, name in zip(values, names, strict=True):
        if not math.isfinite(v):
            raise ValueError(f"dnp.arange: {name} must be finite, got {v}")
    if len(values) == 3 and values[2] == 0:
        raise ValueError("dnp.arange: step must not be zero")
    return E.constant(np.arange(*values, dtype=np.float64))


def linspace(start, stop, num: int = 50, endpoint: bool = True) -> Expr:
    """``num`` evenly spaced numbers from start to stop (real numbers, or arrays of them
    along a new first axis, as in NumPy), as a constant."""
    first = _real(start, "dnp.linspace", "start")
    last = _real(stop, "dnp.linspace", "stop")
    n = _count(num, "dnp.linspace", "num")
    if not isinstance(endpoint, bool | np.bool_):
        raise TypeError(f"dnp.linspace: endpoint must be True or False, got {endpoint!r}")
    try:
        return E.constant(np.linspace(first, last, n, endpoint=bool(endpoint)))
    except ValueError:
        raise ValueError(f"dnp.linspace: start of shape {first.shape} and stop of shape "
                         f"{last.shape} do not broadcast together") from None
