"""A sparse cotangent: one nonzero entry per group, what a max or min reduction sends back.

The cotangent of ``y = max(x, axis)`` is ``y_bar`` at the position of each group's maximum
and 0 elsewhere (JAX's rule; a tie shares it, and a tie is left to the dense rule). Stored
dense, that is an array of x's size, mostly zeros, which every later step reads in full: an
(n, k) 0/1 matrix for k-means' nearest centroid, then a matrix product with it, O(n k d).
Stored as ``OneHot(shape, flat, value)`` it is one flat index and one value per group, and
the steps that meet it most often use it in O(groups):

- added into another cotangent: a scatter-add into it (``add_into``);
- summed over axes (an unbroadcast): a weighted ``np.bincount`` of the kept coordinates;
- in a matrix product's rule (``matmul_parts``): ``y_bar @ b.T`` and ``a.T @ y_bar`` read
  one row of b and a per nonzero entry;
- passed on unchanged by ``add`` and ``sub`` (negated).

Every other rule gets ``dense()``. A OneHot never leaves a sweep (``program.sweep`` makes
the cotangents it returns dense), so callers only ever see arrays.
"""

from __future__ import annotations

import numpy as np

from ..protocol import Shape

# Below this many entries per group a dense 0/1 mask costs less than finding each group's hit
# (k-means' dir at k = 10 centroids: 1.3 ms dense, 2.0 ms sparse; at k = 100: 6.1 and 5.4 ms)
MIN_GROUP = 32


class OneHot:
    """Zeros of ``shape`` but ``value`` at the flat positions ``flat`` (distinct)."""

    __slots__ = ("shape", "flat", "value")

    def __init__(self, shape: Shape, flat, value):
        self.shape = tuple(shape)
        self.flat = flat      # int, or int array (one per group)
        self.value = value    # float, or float array shaped like ``flat``

    def dense(self) -> np.ndarray:
        """The cotangent as a (fresh) array."""
        out = np.zeros(self.shape)
        out.reshape(-1)[self.flat] = self.value
        return out

    def add_into(self, out: np.ndarray) -> None:
        """``out += self``, in place (``out`` a C-contiguous float64 array of ``shape``)."""
        out.reshape(-1)[self.flat] += self.value

    def __neg__(self) -> OneHot:
        return OneHot(self.shape, self.flat, -self.value)

    def sum(self, axes: tuple[int, ...]) -> np.ndarray:
        """``np.sum(dense, axis=axes)``: each entry's value added at its kept coordinates."""
        kept = tuple(a for a in range(len(self.shape)) if a not in axes)
        shape = tuple(self.shape[a] for a in kept)
        if not kept:
            return np.float64(np.sum(self.value) if np.ndim(self.value) else self.value)
        if len(self.shape) == 2:  # (n, k) to (k,) or (n,): the column or the row of each entry
            n, k = self.shape
            at = self.flat % k if kept == (1,) else self.flat // k
            return np.bincount(np.atleast_1d(at), weights=np.broadcast_to(
                self.value, np.shape(at)), minlength=k if kept == (1,) else n)
        coords = np.unravel_index(np.atleast_1d(self.flat), self.shape)
        at = np.ravel_multi_index(tuple(coords[a] for a in kept), shape)
        weights = np.broadcast_to(self.value, at.shape)
        return np.bincount(at, weights=weights, minlength=int(np.prod(shape))).reshape(shape)


def of_extremum(x: np.ndarray, y_full, y_bar, reduced: tuple[int, ...]) -> OneHot | None:
    """The cotangent of a max/min of plain ``x`` over ``reduced`` as a OneHot, or None where
    some group has a tie or no hit (NaN): the dense rule shares those.

    Args:
        x: the operand (1-D or 2-D float64).
        y_full: the reduction's result with the reduced axes kept (broadcasts against x).
        y_bar: its cotangent, shaped like the result (or a scalar).
        reduced: the reduced axes (normalised, ascending).
    """
    if x.ndim == 1 or len(reduced) == x.ndim:        # one group: the whole array
        if x.size < MIN_GROUP:
            return None
        hit = x == y_full
        if np.count_nonzero(hit) != 1:
            return None
        return OneHot(x.shape, int(np.argmax(hit.reshape(-1))), np.float64(y_bar))
    if x.ndim != 2 or len(reduced) != 1 or x.shape[reduced[0]] < MIN_GROUP:
        return None
    axis = reduced[0]
    hit = x == y_full
    if not one_hit_each(hit, y_full):
        return None
    at = np.argmax(hit, axis=axis)                    # the hit's position in each group
    other = np.arange(x.shape[1 - axis])
    flat = at * x.shape[1] + other if axis == 0 else other * x.shape[1] + at
    value = np.reshape(np.asarray(y_bar, dtype=np.float64), -1)  # y_bar has y's size
    if value.size != other.size:
        value = np.broadcast_to(value, other.shape)
    return OneHot(x.shape, flat, value)


def one_hit_each(hit: np.ndarray, y) -> bool:
    """Whether every group of a max/min has exactly one hit (``hit``: x == the result, ``y``:
    the result, one entry per group). A group's max is one of its entries unless it is NaN, so
    with no NaN result each group has at least one hit, and as many hits as groups means one
    each: a count over the whole mask, not a sum along short rows."""
    return np.count_nonzero(hit) == np.size(y) and not np.isnan(y).any()


def matmul_parts(y_bar: OneHot, a, b, need) -> tuple:
    """``(y_bar @ b.T, a.T @ y_bar)`` (each only where ``need`` asks) for y = a @ b with a
    (n, d) and b (d, k) plain arrays and y_bar an (n, k) OneHot: O(entries x d)."""
    n, k = y_bar.shape
    d = a.shape[1]
    flat = np.atleast_1d(y_bar.flat)
    rows, cols = flat // k, flat % k
    value = np.broadcast_to(y_bar.value, flat.shape)
    lanes = np.arange(d)
    a_bar = b_bar = None
    if need[0]:   # row r of a_bar: value * column c of b, summed over the entries in row r
        at = (rows[:, None] * d + lanes).reshape(-1)
        a_bar = np.bincount(at, weights=(value[:, None] * b.T[cols]).reshape(-1),
                            minlength=n * d).reshape(n, d)
    if need[1]:   # column c of b_bar: value * row r of a, summed over the entries in column c
        at = (lanes[None, :] * k + cols[:, None]).reshape(-1)
        b_bar = np.bincount(at, weights=(value[:, None] * a[rows]).reshape(-1),
                            minlength=d * k).reshape(d, k)
    return a_bar, b_bar
