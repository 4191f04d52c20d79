"""An exactly-zero tangent entry stays zero: the products of forward mode's rules.

A rule multiplies a tangent by a factor f'(x). Where that factor is inf or nan (sqrt' at 0,
1/x at 0, x * y at y = inf) a tangent entry that is exactly 0 - a direction that does not
reach this value - would give 0 * inf = nan, and one direction's nan would show in every
direction sharing the pass. As reverse mode skips zero cotangents and JAX's zeros are
symbolic, such a product is 0 (a select, like relu's): each direction's derivative depends
on its own tangent alone. The check is on the factor (value-sized, not directions x value),
and the mask is made only where it fails. On Duals (forward over forward) an entry is zero
when every level of it is.
"""

from __future__ import annotations

import math

import numpy as np

from .values import _ZERO, _shape, _strip


def _leaves(v) -> list:
    """The plain numbers/arrays of a Dual tower: its values and tangents at every level."""
    out, stack = [], [v]
    while stack:
        v = stack.pop()
        if hasattr(v, "x_dot"):
            stack.append(v.value)
            stack.append(v.x_dot)
        else:
            out.append(v)
    return out


def _finite(f) -> bool:
    """Every entry of ``f`` (every level of a Dual) is finite."""
    cls = f.__class__
    if cls is np.float64 or cls is float:
        return math.isfinite(f)
    if cls is np.ndarray:
        return _finite_array(f)
    if hasattr(f, "x_dot"):  # (recursion over nesting levels, a handful)
        return _finite(f.value) and _finite(f.x_dot)
    return bool(np.isfinite(f).all())


def _finite_array(f: np.ndarray) -> bool:
    # f . f is inf or nan iff an entry is (or overflows, above 1e154: then the mask is made,
    # which changes nothing) - one BLAS call, cheaper than isfinite(f).all() on small arrays
    if f.dtype.kind != "f":
        return True
    r = f.ravel()
    return math.isfinite(r.dot(r))


def _zero_entries(t):
    """Where ``t`` is exactly 0 (at every level of a Dual)."""
    if not hasattr(t, "x_dot"):
        return t == 0.0
    zero = True
    for leaf in _leaves(t):
        zero = zero & (leaf == 0.0)
    return zero


def _keep_zeros(t, p):
    """``p`` (a product with tangent ``t``) with 0 wherever ``t`` is exactly 0."""
    p = np.where(_zero_entries(t), 0.0, p)
    return p[()] if p.__class__ is np.ndarray and p.ndim == 0 else p


def _times(t, f):
    """``t * f`` for a tangent ``t`` and a factor ``f``; 0 where t is 0, even where f is not
    finite."""
    p = t * f
    if p.__class__ is np.float64:  # one scalar direction (inline: the scalar sweep's case)
        return p if p == p or t != 0.0 else _ZERO
    return p if _finite(f) else _keep_zeros(t, p)


def _over(t, d):
    """``t / d`` for a tangent ``t``; 0 where t is 0, even where d is 0 or nan."""
    p = t / d
    cls = d.__class__
    if p.__class__ is np.float64:
        return p if p == p or t != 0.0 else _ZERO
    if cls is np.float64 or cls is float:
        safe = d != 0.0 and d == d               # 0/0 and 0/nan are nan; 0/inf is 0
    elif cls is np.ndarray:
        safe = bool((np.abs(d) > 0.0).all())     # (nan > 0 is False)
    else:
        safe = bool((np.abs(_strip(d)) > 0.0).all()) and _finite(d)
    return p if safe else _keep_zeros(t, p)


def _matmul_times(t, f):
    """``t @ f`` for a tangent ``t`` (leading axes: directions, stacks) and a factor ``f``,
    where an exactly-zero entry of t contributes 0 even against an inf or nan entry of f.

    Columns of f with a non-finite entry are contracted as masked products (memory: t's size
    x those columns); the other columns by one matmul."""
    if _finite(f):
        return t @ f
    t_1d, f_1d = np.ndim(t) == 1, np.ndim(f) == 1
    t2 = t[None, :] if t_1d else t
    f2 = f[:, None] if f_1d else f
    shape = _shape(f2)
    bad = False
    for leaf in _leaves(f2):
        bad = bad | ~np.isfinite(leaf)
    bad_col = np.broadcast_to(bad, shape).reshape(-1, shape[-1]).any(axis=0)
    cols = np.flatnonzero(bad_col)
    out = t2 @ np.where(bad_col, 0.0, f2)           # the finite columns (bad ones replaced)
    f_bad = f2[..., cols]                           # stack + (n, c)
    prod = t2[..., :, :, None] * f_bad[..., None, :, :]   # (..., m, n, c)
    prod = np.where(_zero_entries(t2)[..., :, :, None], 0.0, prod)
    where = np.zeros(shape[-1], dtype=np.intp)
    where[cols] = np.arange(cols.size)
    out = np.where(bad_col, np.sum(prod, axis=-2)[..., where], out)
    if f_1d:
        out = out[..., 0]
    if t_1d:
        out = out[..., 0] if f_1d else out[..., 0, :]
    return out[()] if out.__class__ is np.ndarray and out.ndim == 0 else out
