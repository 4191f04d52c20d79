"""The Jacobian's seed kept diagonal: k one-hot cotangents stored as one vector.

A reverse Jacobian seeds the output (m elements) with rows c0 .. c1-1 of the identity, a batch
of k = c1 - c0 cotangents of shape (k,) + out_shape. Pushed back through elementwise ops (the
tail of most vector-valued functions: tanh(A x + b), a residual, an activation) each row stays
one-hot: row r is ``d[c0 + r]`` at element c0 + r and zero elsewhere, where ``d`` (of the
value's shape) is the product of the elementwise derivatives so far. ``Diagonal(d, c0, c1)``
stores just ``d``: an elementwise rule costs m numbers instead of k * m, and a matrix product
with it (``y_bar @ A``, the cotangent of A x) is a row scaling of A's rows c0 .. c1-1.

It is the same batch, only stored sparsely: ``np.asarray`` (and any operation not below)
materialises it as the dense (k,) + shape array and goes on from there, so every rule
works on it unchanged. Kept diagonal: products and quotients with a plain array of the
value's shape (or one that broadcasts to it), negation, ``np.where`` with a scalar, sums of
two Diagonals of the same rows, and ``diagonal @ matrix`` for a 1-D value. Off the diagonal
the zeros stay exact zeros: 0 / 0 at one element never leaks a nan into the other rows.
"""

from __future__ import annotations

import numpy as np

_new = object.__new__


class Diagonal:
    """Rows c0 .. c1-1 of diag(d): a batch of k = c1 - c0 cotangents of d's shape."""

    __slots__ = ("d", "c0", "c1")
    __hash__ = None

    def __init__(self, d, c0: int, c1: int):
        d = np.asarray(d, dtype=np.float64)
        if not 0 <= c0 <= c1 <= d.size:
            raise ValueError(f"Diagonal: rows {c0}..{c1} of a diagonal of {d.size} elements")
        self.d, self.c0, self.c1 = d, int(c0), int(c1)

    shape = property(lambda self: (self.c1 - self.c0,) + self.d.shape,
                     doc="The batch's shape: (k,) + the value's shape.")
    ndim = property(lambda self: 1 + self.d.ndim, doc="The batch's number of axes.")

    def __repr__(self) -> str:
        return f"Diagonal({self.d!r}, rows {self.c0}..{self.c1})"

    def dense(self) -> np.ndarray:
        """The batch as a (k,) + shape array."""
        k, size = self.c1 - self.c0, self.d.size
        out = np.zeros((k, size))
        rows = np.arange(k)
        out[rows, rows + self.c0] = self.d.reshape(-1)[self.c0:self.c1]
        return out.reshape(self.shape)

    def __array__(self, dtype=None, copy=None):
        out = self.dense()
        return out if dtype is None else out.astype(dtype)

    # ---- what stays diagonal ------------------------------------------------------------
    def _scaled(self, factor):
        """diag(d) * factor for a plain factor that broadcasts to d's shape, else None."""
        if factor.__class__ is Diagonal or not _fits(factor, self.d.shape):
            return None
        return _diagonal(self.d * factor, self.c0, self.c1)

    def __mul__(self, other):
        out = self._scaled(other)
        return self.dense() * other if out is None else out

    __rmul__ = __mul__

    def __truediv__(self, other):
        if other.__class__ is Diagonal or not _fits(other, self.d.shape):
            return self.dense() / other
        return _diagonal(self.d / other, self.c0, self.c1)

    def __rtruediv__(self, other):
        return other / self.dense()

    def __neg__(self):
        return _diagonal(-self.d, self.c0, self.c1)

    def __add__(self, other):
        if other.__class__ is Diagonal and (other.c0, other.c1, other.d.shape) == \
                (self.c0, self.c1, self.d.shape):
            return _diagonal(self.d + other.d, self.c0, self.c1)
        return self.dense() + other

    __radd__ = __add__

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return other - self.dense()

    def __matmul__(self, other):
        if self.d.ndim == 1 and not isinstance(other, Diagonal) and np.ndim(other) == 2:
            # (k, m) one-hot rows @ (m, n): row r is d[c0 + r] * other[c0 + r]
            c0, c1 = self.c0, self.c1
            return self.d[c0:c1, None] * np.asarray(other)[c0:c1]
        return self.dense() @ other

    def __rmatmul__(self, other):
        return other @ self.dense()

    def __getitem__(self, index):
        return self.dense()[index]

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        # a plain array on the other side: the methods above (reflected where it is on the
        # left); they fall back to dense arrays themselves, so this never loops
        if method == "__call__" and not kwargs:
            if ufunc is np.negative and len(inputs) == 1:
                return -self
            if len(inputs) == 2 and ufunc in _BINARY:
                a, b = inputs
                if a.__class__ is Diagonal:
                    return getattr(a, _BINARY[ufunc][0])(b)
                return getattr(b, _BINARY[ufunc][1])(a)
        dense = [v.dense() if v.__class__ is Diagonal else v for v in inputs]
        return getattr(ufunc, method)(*dense, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        if func is np.where and len(args) == 3 and not kwargs:
            condition, x, y = args
            if x.__class__ is Diagonal and y.__class__ is not Diagonal and np.ndim(y) == 0 \
                    and y == 0 and condition.__class__ is not Diagonal \
                    and _fits(condition, x.d.shape):  # relu's select: where(mask, y_bar, 0)
                return _diagonal(np.where(condition, x.d, 0.0), x.c0, x.c1)
        if func is np.shape:
            return self.shape
        if func is np.ndim:
            return self.ndim
        dense = lambda v: v.dense() if v.__class__ is Diagonal else v
        args = [dense(a) for a in args]
        kwargs = {k: dense(v) for k, v in kwargs.items()}
        return func(*args, **kwargs)


_BINARY = {np.multiply: ("__mul__", "__rmul__"), np.true_divide: ("__truediv__", "__rtruediv__"),
           np.add: ("__add__", "__radd__"), np.subtract: ("__sub__", "__rsub__"),
           np.matmul: ("__matmul__", "__rmatmul__")}


def _diagonal(d, c0: int, c1: int) -> Diagonal:
    out = _new(Diagonal)
    out.d, out.c0, out.c1 = d, c0, c1
    return out


def _fits(factor, shape: tuple) -> bool:
    """A plain factor that broadcasts to ``shape`` without growing it (no batch axis)."""
    f_shape = np.shape(factor)
    if f_shape == shape or f_shape == ():
        return True
    if len(f_shape) > len(shape):
        return False
    return all(a in (1, b) for a, b in zip(f_shape[::-1], shape[::-1], strict=False))


def materialise(value):
    """A sweep's result as a plain value: a Diagonal becomes its dense batch."""
    return value.dense() if value.__class__ is Diagonal else value
