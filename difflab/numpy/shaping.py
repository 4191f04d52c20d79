"""``difflab.numpy``, shapes and arrays: reshape, transposes, joins, gathers, constructors.

Some of NumPy's functions need their operand's shape (``squeeze``, ``swapaxes``, ``hstack``,
``diagonal``...). An expression has one only while a Python function is traced at a point
(``dl.grad(fn, point)``, ``dl.trace(fn, shapes)``), or when it is a constant; elsewhere these
say so. (The constructors, ``zeros``, ``eye``, ``arange`` ..., are in ``constructors``.)
"""

from __future__ import annotations

import builtins

import numpy as np

from ..core import arrays as A
from ..core import expr as E
from ..core.expr import Expr
from ..core.params import normal_axes
from .elementwise import asarray


def shape(a) -> tuple[int, ...]:
    """The shape of ``a`` (an expression's is known while a function is traced at a point,
    or when it is a constant)."""
    return _shape(a, "shape")


def ndim(a) -> int:
    """The number of axes of ``a`` (known as ``shape`` is)."""
    return len(_shape(a, "ndim"))


def size(a) -> int:
    """The number of elements of ``a`` (known as ``shape`` is)."""
    return int(np.prod(_shape(a, "size"), dtype=np.int64))


def _shape(a, what: str) -> tuple[int, ...]:
    a = asarray(a)
    if a.op == "const":
        return np.shape(a.attr)
    try:
        return a.shape
    except AttributeError as err:
        raise TypeError(f"dnp.{what} needs the shape of its operand: {err}") from None


# ---- shapes and axes ----------------------------------------------------------------------
def reshape(a, shape) -> Expr:
    """``a`` with a new shape of the same size (one entry may be -1)."""
    return E.reshape(asarray(a), shape)


def ravel(a) -> Expr:
    """``a`` flattened to one axis (row-major)."""
    return E.reshape(asarray(a), (-1,))


def transpose(a, axes=None) -> Expr:
    """The axes reversed (``a.T``), or permuted by ``axes``."""
    return E.transpose(asarray(a), axes)


def swapaxes(a, axis1: int, axis2: int) -> Expr:
    """``a`` with two axes interchanged (needs ``a``'s rank)."""
    rank = len(_shape(a, "swapaxes"))
    i, j = normal_axes((axis1, axis2), rank, "dnp.swapaxes") if axis1 != axis2 else \
        normal_axes((axis1,), rank, "dnp.swapaxes") * 2
    perm = list(range(rank))
    perm[i], perm[j] = perm[j], perm[i]
    return E.transpose(asarray(a), tuple(perm))


def moveaxis(a, source, destination) -> Expr:
    """``a`` with axes moved from ``source`` to ``destination`` (ints or tuples)."""
    rank = len(_shape(a, "moveaxis"))
    src = normal_axes(tuple(np.atleast_1d(source).tolist()), rank, "dnp.moveaxis")
    dst = normal_axes(tuple(np.atleast_1d(destination).tolist()), rank, "dnp.moveaxis")
    if len(src) != len(dst):
        raise ValueError("dnp.moveaxis: source and destination need the same number of axes")
    order = [n for n in range(rank) if n not in src]
    for d, s in sorted(zip(dst, src, strict=True)):
        order.insert(d, s)
    return E.transpose(asarray(a), tuple(order))


def expand_dims(a, axis) -> Expr:
    """``a`` with a new axis of length 1 at ``axis`` (an int, or a tuple given the rank)."""
    a = asarray(a)
    if isinstance(axis, tuple | list):
        old = list(_shape(a, "expand_dims"))
        for k in sorted(normal_axes(tuple(axis), len(old) + len(axis), "dnp.expand_dims")):
            old.insert(k, 1)
        return E.reshape(a, tuple(old))
    key = (slice(None),) * axis + (None,) if axis >= 0 else \
        (Ellipsis, None) + (slice(None),) * (-axis - 1)
    return E.index(a, key)


def squeeze(a, axis=None) -> Expr:
    """``a`` without its axes of length 1 (or only those of ``axis``; needs the shape)."""
    dims = _shape(a, "squeeze")
    if axis is None:
        drop = {k for k, n in enumerate(dims) if n == 1}
    else:
        drop = set(normal_axes(tuple(np.atleast_1d(axis).tolist()), len(dims), "dnp.squeeze"))
        if any(dims[k] != 1 for k in drop):
            raise ValueError(f"dnp.squeeze: cannot squeeze an axis of length other than 1 "
                             f"(shape {dims}, axis {axis})")
    return E.reshape(asarray(a), tuple(n for k, n in enumerate(dims) if k not in drop))


# ---- joins and gathers ----------------------------------------------------------------------
def concatenate(arrays, axis=0) -> Expr:
    """The arrays joined along an existing ``axis`` (None: flattened, then joined)."""
    items = _items(arrays, "concatenate")
    if axis is None:
        return A.concatenate([ravel(item) for item in items], axis=0)
    return A.concatenate(items, axis=axis)


def stack(arrays, axis: int = 0) -> Expr:
    """Same-shape arrays stacked along a new ``axis``."""
    return A.stack(_items(arrays, "stack"), axis=axis)


def hstack(arrays) -> Expr:
    """Joined along the second axis (the first for 1-D arrays); needs the first's rank."""
    items = _items(arrays, "hstack")
    rank = len(_shape(items[0], "hstack"))
    if rank == 0:
        items = [E.reshape(item, (1,)) for item in items]
    return A.concatenate(items, axis=0 if rank <= 1 else 1)


def vstack(arrays) -> Expr:
    """Joined along the first axis, 1-D arrays as rows; needs the first's rank."""
    items = _items(arrays, "vstack")
    rank = len(_shape(items[0], "vstack"))
    if rank <= 1:
        items = [E.reshape(item, (1, -1)) for item in items]
    return A.concatenate(items, axis=0)


def _items(arrays, what: str) -> list[Expr]:
    if isinstance(arrays, Expr) or not isinstance(arrays, list | tuple):
        raise TypeError(f"dnp.{what} takes a list or tuple of arrays, got "
                        f"{type(arrays).__name__}")
    return [asarray(item) for item in arrays]


def _along(axis: int, item) -> tuple:
    """An index that applies ``item`` along ``axis`` (negative counts from the end)."""
    return (slice(None),) * axis + (item,) if axis >= 0 else \
        (Ellipsis, item) + (slice(None),) * (-axis - 1)


def take(a, indices, axis=None) -> Expr:
    """Elements at constant ``indices`` (an int or a list, repeats allowed: a gather whose
    cotangents add up) along ``axis`` (None: of the flattened array)."""
    a = asarray(a)
    if axis is None:
        a, axis = ravel(a), 0
    item = int(indices) if np.ndim(indices) == 0 else list(np.asarray(indices).ravel())
    return E.index(a, _along(axis, item))


def diff(a, n: int = 1, axis: int = -1) -> Expr:
    """The ``n``-th difference along ``axis``: a[1:] - a[:-1], ``n`` times."""
    out = asarray(a)
    for _ in range(n):
        out = E.index(out, _along(axis, slice(1, None))) - \
            E.index(out, _along(axis, slice(None, -1)))
    return out


def diagonal(a, offset: int = 0) -> Expr:
    """The diagonal of a 2-D ``a`` (``offset`` above it when positive); needs the shape."""
    rows, cols = _matrix(a, "diagonal")
    i0, j0 = (0, offset) if offset >= 0 else (-offset, 0)
    count = builtins.max(0, builtins.min(rows - i0, cols - j0))
    return E.index(ravel(a), [(i0 + k) * cols + j0 + k for k in range(count)])


def trace(a, offset: int = 0) -> Expr:
    """The sum of the diagonal of a 2-D ``a`` (NumPy's ``trace``; not ``dl.trace``)."""
    return E.sum(diagonal(a, offset))


def _matrix(a, what: str) -> tuple[int, int]:
    dims = _shape(a, what)
    if len(dims) != 2:
        raise ValueError(f"dnp.{what}: needs a 2-D array, got shape {dims}")
    return dims
