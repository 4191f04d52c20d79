"""Axis arithmetic for the array ops' derivative rules (not rules themselves).

The engines carry a tangent or cotangent with leading axes in front of the value's axes (a
batch of directions or of cotangents). A rule for an op over axes therefore addresses the
value's axes from the end: ``trailing(axes, ndim)`` turns axes of a value of ``ndim``
dimensions into negative ones, and ``lead(t, x)`` counts the extra leading axes of ``t``.
The helpers read the plain number under any layer of forward-mode Duals (``plain``), so the
same rule runs on floats, arrays and Duals.
"""

from __future__ import annotations

import numpy as np

from .ops import stable_max
from .params import normal_axes, numpy_index


def plain(v):
    """The plain number under every Dual layer (a Dual is recognised by its ``x_dot``)."""
    while hasattr(v, "x_dot"):
        v = v.value
    return v


def lead(t, x) -> int:
    """How many leading (batch) axes ``t`` has in front of the axes of value ``x``."""
    return np.ndim(plain(t)) - np.ndim(plain(x))


def trailing(axes, ndim: int) -> tuple[int, ...]:
    """``axes`` (None: all) of a value of ``ndim`` dimensions, counted from the end."""
    return tuple(a - ndim for a in normal_axes(axes, ndim, "reduction"))


def expand(y, axes, ndim: int, keepdims: bool):
    """A reduction's result (or its cotangent) with the reduced axes back as ones, so it
    broadcasts against the operand (of ``ndim`` dimensions, plus any leading axes)."""
    if keepdims:
        return y
    return np.expand_dims(y, trailing(axes, ndim)) if ndim else y


def softmax_weights(x, axes):
    """exp(x) / sum(exp(x)) over ``axes``, shifted by the (constant) max: the weights of
    logsumexp's derivative, accurate where exp(x - logsumexp(x)) would lose the low bits of a
    large logsumexp."""
    e = np.exp(x - stable_max(plain(x), axes))
    return e / np.sum(e, axis=axes, keepdims=True)


def lead_index(spec: tuple, n_lead: int) -> tuple:
    """The NumPy index of ``spec`` with ``n_lead`` leading axes left whole."""
    return (slice(None),) * n_lead + numpy_index(spec)


def exclusive_prod(x, axes):
    """prod over ``axes`` of every element but each one itself (exact with zeros: prefix and
    suffix products, no division), shaped like ``x``."""
    x = np.asarray(plain(x)) if not hasattr(x, "x_dot") else x
    ndim = np.ndim(plain(x))
    axes = normal_axes(axes, ndim, "prod")
    rest = [k for k in range(ndim) if k not in axes]
    moved = np.transpose(x, rest + list(axes))
    shape = np.shape(plain(moved))
    if 0 in shape[len(rest):]:  # nothing to multiply: an empty array like x (not one 1)
        return np.zeros(np.shape(plain(x)))
    flat = np.reshape(moved, shape[:len(rest)] + (-1,))
    ones = np.ones(np.shape(plain(flat))[:-1] + (1,))
    before = np.concatenate([ones, np.cumprod(flat, axis=-1)[..., :-1]], axis=-1)
    after = np.concatenate([np.cumprod(flat[..., ::-1], axis=-1)[..., -2::-1], ones], axis=-1)
    others = np.reshape(before * after, shape)
    return np.transpose(others, np.argsort(rest + list(axes)))


def extremum_weights(x, y, axes, keepdims: bool):
    """JAX's rule for a max/min reduction: 1/k on each of the k elements equal to the result
    (ties share), 0 elsewhere; shaped like ``x``."""
    xv = plain(x)
    hit = (xv == expand(plain(y), axes, np.ndim(xv), keepdims)).astype(np.float64)
    with np.errstate(all="ignore"):
        return hit / np.sum(hit, axis=normal_axes(axes, np.ndim(xv), "max"), keepdims=True)


def concat_parts(axis: int, ndim: int, first: int) -> tuple[tuple, tuple]:
    """Indices (from the end, leading axes whole) of the two halves of a concatenation whose
    first part is ``first`` long along ``axis``."""
    (k,) = normal_axes((axis,), ndim, "concatenate")
    rest = (slice(None),) * (ndim - 1 - k)
    return (Ellipsis, slice(0, first), *rest), (Ellipsis, slice(first, None), *rest)
