"""A sparse cotangent: what an index (``x[key]``, ints and slices) sends back to ``x``.

The cotangent of ``y = x[key]`` is zeros of x's shape with ``y_bar`` at ``key``. Made dense,
it costs a pass to zero x's size and one to copy y_bar in, and every step after it reads all
of x's size again: a parameter vector unpacked into many pieces (``theta[0:10]``,
``theta[10:20]``, ...) gets one full-size array per piece, O(pieces x size) for what is
O(size). Kept as ``Sliced(shape, key, value)``, the sweep uses it in O(the slice):

- added into another cotangent: ``out[key] += value``, in place (``add_into``);
- passed on by ``add`` and ``sub`` (negated), and through ``mul`` (``value`` times the other
  operand's entries at ``key``, or times a scalar): the steps of ``y + h * x[1:]``.

Every other rule gets ``dense()``, and a Sliced never leaves a sweep (``sweep`` makes the
cotangents it returns dense). Only a basic index makes one: a gather (an index array) may
repeat entries, which must add up, and keeps the dense ``np.add.at`` rule (``array_rules``).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..core.axes import lead_index
from ..protocol import Shape

# Below this many entries in x, zeros and an assignment cost less than the object and its
# indexing: the dense rule stays
MIN_SIZE = 64
_F8 = np.dtype(np.float64)
_SCALARS = (float, np.float64)


class Sliced:
    """Zeros of ``shape`` but ``value`` (broadcast) at the basic index ``key``."""

    __slots__ = ("shape", "key", "value")
    __array_ufunc__ = None  # ndarray * Sliced defers to Sliced.__rmul__ (not an object array)

    def __init__(self, shape: Shape, key: tuple, value):
        self.shape = shape
        self.key = key
        self.value = value    # float64 array (or scalar) that broadcasts to x[key]'s shape

    def dense(self) -> np.ndarray:
        """The cotangent as a (fresh) array."""
        out = np.zeros(self.shape)
        out[self.key] = self.value
        return out

    def add_into(self, out: np.ndarray) -> None:
        """``out += self``, in place (``out`` a writeable float64 array of ``shape``)."""
        out[self.key] += self.value

    def __neg__(self) -> Sliced:
        return Sliced(self.shape, self.key, -self.value)

    def __mul__(self, other):
        """``dense() * other``: still a Sliced for a scalar, or an array of ``shape`` (its
        entries at ``key``); made dense for anything else (a broadcast, a Dual)."""
        if type(other) in _SCALARS:
            return Sliced(self.shape, self.key, self.value * other)
        if type(other) is np.ndarray and other.shape == self.shape:
            return Sliced(self.shape, self.key, self.value * other[self.key])
        return self.dense() * other

    __rmul__ = __mul__


def of_index(y_bar, x, p, y) -> Sliced | None:
    """The cotangent of ``y = x[p]`` as a Sliced, or None where the dense rule is the one to
    use: a gather, a small x, or anything but a plain float64 x and y_bar of y's shape (a
    batch of cotangents, forward-mode Duals)."""
    if type(x) is not np.ndarray or x.size < MIN_SIZE or x.dtype != _F8:
        return None
    kind = type(y_bar)
    if kind is np.ndarray:
        if y_bar.dtype != _F8 or y_bar.shape != y.shape:
            return None
    elif kind not in _SCALARS or y.shape:
        return None
    key = _basic_key(p.value)
    return None if key is None else Sliced(x.shape, key, y_bar)


@lru_cache(maxsize=4096)
def _basic_key(spec: tuple) -> tuple | None:
    """The NumPy index of a spec, or None for a gather (an index spec is a constant of the
    expression: made once, not per sweep)."""
    return None if any(item[0] == "take" for item in spec) else lead_index(spec, 0)
