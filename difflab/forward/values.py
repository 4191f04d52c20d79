"""Values under layers of Duals: the plain number beneath them, its shape, zeros like it.

A Dual is recognised by its ``x_dot`` slot, so forward mode's rules and helpers read values
without importing the Dual type.
"""

from __future__ import annotations

import numpy as np

from ..protocol import Shape

_ZERO = np.float64(0.0)
_ONE = np.float64(1.0)


def _strip(v):
    """The plain number under every Dual layer (for masks: kinks, ties, zero tests)."""
    while hasattr(v, "x_dot"):
        v = v.value
    return v


def _shape(v) -> Shape:
    return np.shape(_strip(v))


def _zeros_like(t):
    shape = _shape(t)
    return np.zeros(shape) if shape else _ZERO


def _fit(t, shape: Shape):
    """``t`` spread to ``shape`` (a tangent handed back by a broadcasting op)."""
    return t if _shape(t) == shape else np.broadcast_to(t, shape)
