"""NumPy's array functions on Dual numbers: joins, max/min/prod reductions and cumulative
products (``ARRAY_HANDLERS``, merged into the Dual type's ``__array_function__`` table).

Each handler works at the largest perturbation tag among its Dual operands (the others are
constants there, as in ``dual._lift2``) and computes value and tangent with plain NumPy on
the layers below. A Dual is recognised by its ``x_dot`` slot, so this module does not import
the Dual type: results are made with the operand's own class.
"""

from __future__ import annotations

import numpy as np

from ..core.axes import exclusive_prod, extremum_weights, plain


def _is_dual(v) -> bool:
    return hasattr(v, "x_dot")


def _make(like, value, x_dot, tag: int):
    d = object.__new__(like.__class__)
    d.value, d.x_dot, d.tag = value, x_dot, tag
    return d


def _top(items):
    """The Dual operand with the largest tag (None if there is none)."""
    duals = [v for v in items if _is_dual(v)]
    return max(duals, key=lambda d: d.tag) if duals else None


def _split(v, tag: int):
    """(value, tangent) of ``v`` at perturbation ``tag``: zeros for a constant there."""
    if _is_dual(v) and v.tag == tag:
        return v.value, v.x_dot
    return v, np.zeros(np.shape(plain(v)))


def _concatenate(arrays, axis=0, **kwargs):
    top = _top(arrays)
    parts = [_split(v, top.tag) for v in arrays]
    return _make(top, np.concatenate([p[0] for p in parts], axis=axis, **kwargs),
                 np.concatenate([p[1] for p in parts], axis=axis, **kwargs), top.tag)


def _stack(arrays, axis=0, **kwargs):
    top = _top(arrays)
    parts = [_split(v, top.tag) for v in arrays]
    return _make(top, np.stack([p[0] for p in parts], axis=axis, **kwargs),
                 np.stack([p[1] for p in parts], axis=axis, **kwargs), top.tag)


def _extremum(func):
    """np.max / np.min: the value's extremum; the tangent shared among tied elements (JAX)."""
    def handler(a, axis=None, keepdims=False, **kwargs):
        value = func(a.value, axis=axis, keepdims=keepdims, **kwargs)
        axes = None if axis is None else tuple(axis) if isinstance(axis, tuple) else (axis,)
        weights = extremum_weights(a.value, value, axes, keepdims)
        return _make(a, value, np.sum(a.x_dot * weights, axis=axis, keepdims=keepdims), a.tag)
    return handler


def _cumprod(a, axis=None, **kwargs):
    """Cumulative products by repeated multiplication (so tangents follow the product rule)."""
    if axis is None:
        a, axis = np.ravel(a), 0
    moved = np.moveaxis(a, axis, 0)
    out = [moved[0]]
    for k in range(1, np.shape(plain(moved))[0]):
        out.append(out[-1] * moved[k])
    return np.moveaxis(_stack(out) if any(map(_is_dual, out)) else np.stack(out), 0, axis)


def _prod(a, axis=None, keepdims=False, **kwargs):
    axes = None if axis is None else tuple(axis) if isinstance(axis, tuple) else (axis,)
    value = np.prod(a.value, axis=axis, keepdims=keepdims, **kwargs)
    return _make(a, value, np.sum(a.x_dot * exclusive_prod(a.value, axes), axis=axis,
                                  keepdims=keepdims), a.tag)


ARRAY_HANDLERS = {
    np.concatenate: _concatenate, np.stack: _stack, np.max: _extremum(np.max),
    np.amax: _extremum(np.max), np.min: _extremum(np.min), np.amin: _extremum(np.min),
    np.cumprod: _cumprod, np.prod: _prod,
}
