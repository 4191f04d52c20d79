"""Reverse mode's rules for the array ops (``ARRAY_VJP``, merged into ``vjp_rules``).

Conventions as in ``rules``: a binary rule is ``rule(y_bar, a, b, y, need) -> (a_bar,
b_bar)``. An op's constant parameters (an index, axes, a shape) are its last argument, a
``Param``, whose cotangent is always None. Cotangents may carry leading axes in front of the
value's axes (a batch of cotangents), so every rule addresses value axes from the end.
Indexing sends its cotangent back by a scatter-add: repeated indices of a gather add up.
"""

from __future__ import annotations

import numpy as np

from ..core.axes import (
    concat_parts,
    exclusive_prod,
    expand,
    extremum_weights,
    lead,
    lead_index,
    normal_axes,
    plain,
    softmax_weights,
    trailing,
)
from .onehot import of_extremum, one_hit_each


def _linear(fn):
    """Apply a linear map of cotangents to a plain array, or to a forward-mode Dual (value and
    tangent alike, the Dual type read from the argument: forward over reverse)."""
    def apply(t, *args):
        if hasattr(t, "x_dot"):
            return t.__class__(apply(t.value, *args), apply(t.x_dot, *args), t.tag)
        return fn(t, *args)
    return apply


@_linear
def _scatter(y_bar, shape, key, gather: bool):
    """Zeros of ``shape`` with ``y_bar`` added at ``key`` (np.add.at for a gather, whose
    repeated indices must add up; plain assignment for slices and ints, which never repeat)."""
    out = np.zeros(shape)
    if gather:
        np.add.at(out, key, y_bar)
    else:
        out[key] = y_bar
    return out


def _index_vjp(y_bar, x, p, y, need):
    n = lead(y_bar, y)
    front = np.shape(plain(y_bar))[:n]
    gather = any(item[0] == "take" for item in p.value)
    return _scatter(y_bar, front + np.shape(plain(x)), lead_index(p.value, n), gather), None


def _spread(y_bar, x, y, axes, keepdims):
    """A reduction's cotangent broadcast back over the reduced axes (leading axes kept)."""
    d = np.ndim(plain(x))
    if not d:
        return y_bar
    spread = expand(y_bar, axes, d, keepdims)
    return np.broadcast_to(spread, np.shape(plain(y_bar))[:lead(y_bar, y)] + np.shape(plain(x)))


def _reduce_sum_vjp(y_bar, x, p, y, need):
    axes, keepdims = p.value
    return _spread(y_bar, x, y, axes, keepdims), None


def _reduce_mean_vjp(y_bar, x, p, y, need):
    axes, keepdims = p.value
    shape = np.shape(plain(x))
    count = np.prod([shape[k] for k in (trailing(axes, len(shape)))], dtype=np.float64)
    return _spread(y_bar, x, y, axes, keepdims) / count, None


def _reduce_prod_vjp(y_bar, x, p, y, need):
    # d prod / d x_i = prod of the others (exact where some are 0)
    axes, keepdims = p.value
    return _spread(y_bar, x, y, axes, keepdims) * exclusive_prod(x, axes), None


def _reduce_extremum_vjp(y_bar, x, p, y, need):
    # JAX's rule: the cotangent shared equally among the elements equal to the result
    axes, keepdims = p.value
    plain_x = type(x) is np.ndarray and x.ndim and x.dtype == np.float64
    if plain_x and type(y) is np.float64 and \
            isinstance(y_bar, float):  # (np.float64 too) one max of a whole array, unbatched:
        sparse = of_extremum(x, y, y_bar, tuple(range(x.ndim)))  # y_bar at the one hit
        if sparse is not None:
            return sparse, None
        hit = x == y                   # ties: y_bar times the 0/1 mask, over their count
        weights = hit.astype(np.float64)
        weights *= y_bar / np.count_nonzero(hit)
        return weights, None
    ndim = np.ndim(plain(x))
    if plain_x and type(y) is np.ndarray and type(y_bar) is np.ndarray and \
            y_bar.ndim == y.ndim:      # partial, unbatched: y_bar at each group's one hit
        reduced = normal_axes(axes, ndim, "max")
        sparse = of_extremum(x, expand(y, axes, ndim, keepdims), y_bar, reduced)
        if sparse is not None:
            return sparse, None
    spread = _spread(y_bar, x, y, axes, keepdims)
    xv = plain(x)
    if not np.ndim(xv) or not isinstance(spread, np.ndarray | np.floating | float):
        return spread * extremum_weights(x, y, axes, keepdims), None  # (Duals, Jets, 0-d)
    # Plain arrays with a tie (or a batch of cotangents): each group's hits share its
    # cotangent: a compare, a 0/1 array scaled in place
    reduced = normal_axes(axes, ndim, "max")
    yv = plain(y)
    hit = xv == expand(yv, axes, ndim, keepdims)
    weights = hit.astype(np.float64)
    if not one_hit_each(hit, yv):  # ties (or a NaN): each group's hits share its cotangent
        count = np.sum(weights, axis=reduced, keepdims=True)
        with np.errstate(all="ignore"):
            weights /= count
    if np.shape(spread) != weights.shape:  # a batch of cotangents in front
        return spread * weights, None
    if isinstance(spread, np.ndarray) and (any(spread.strides) or not spread.size):
        weights *= spread
    else:  # one cotangent broadcast over everything (a sum's): a scalar product, or none
        scale = spread.flat[0] if isinstance(spread, np.ndarray) else spread
        if scale != 1.0:
            weights *= scale
    return weights, None


def _logsumexp_vjp(y_bar, x, p, y, need):
    axes, keepdims = p.value
    return _spread(y_bar, x, y, axes, keepdims) * softmax_weights(x, axes), None


def _softmax_vjp(y_bar, x, p, y, need):
    # x_bar = y * (y_bar - sum(y_bar * y)) along the axis
    axis = trailing((p.value,), np.ndim(plain(x)))
    return y * (y_bar - np.sum(y_bar * y, axis=axis, keepdims=True)), None


def _log_softmax_vjp(y_bar, x, p, y, need):
    # x_bar = y_bar - softmax * sum(y_bar) along the axis, softmax = exp(y)
    axis = trailing((p.value,), np.ndim(plain(x)))
    return y_bar - np.exp(y) * np.sum(y_bar, axis=axis, keepdims=True), None


def _reshape_vjp(y_bar, x, p, y, need):
    n = lead(y_bar, y)
    return np.reshape(y_bar, np.shape(plain(y_bar))[:n] + np.shape(plain(x))), None


def _permute_vjp(y_bar, x, p, y, need):
    n, perm = lead(y_bar, y), p.value
    inverse = np.argsort([k % len(perm) for k in perm])
    return np.transpose(y_bar, (*range(n), *(n + int(k) for k in inverse))), None


def _concat_vjp(y_bar, a, b, p, y, need):
    # each operand's part of the joined cotangent
    first, second = concat_parts(p.value, np.ndim(plain(a)), np.shape(plain(a))[p.value])
    return (y_bar[first] if need[0] else None), (y_bar[second] if need[1] else None)


def _select_vjp(y_bar, c, a, y, need):
    # the cotangent goes to the branch where the mask holds (0 elsewhere); the mask gets none
    return None, (np.where(plain(c), y_bar, 0.0) if need[1] else None)


def _select_not_vjp(y_bar, c, b, y, need):
    return None, (np.where(plain(c), 0.0, y_bar) if need[1] else None)


def _where_vjp(y_bar, c, a, b, y, need):
    # (plans compile where into select + select_not; kept for direct use)
    mask = plain(c)
    return (None, np.where(mask, y_bar, 0.0) if need[1] else None,
            np.where(mask, 0.0, y_bar) if need[2] else None)


def _comparison_vjp(y_bar, a, b, y, need):
    return None, None  # a 0/1 mask: derivative 0 (no cotangent flows through it)


ARRAY_VJP = {
    "square": lambda y_bar, x, y: y_bar * (2.0 * x),
    "index": _index_vjp, "reduce_sum": _reduce_sum_vjp, "reduce_mean": _reduce_mean_vjp,
    "reduce_prod": _reduce_prod_vjp, "reduce_max": _reduce_extremum_vjp,
    "reduce_min": _reduce_extremum_vjp, "logsumexp": _logsumexp_vjp, "softmax": _softmax_vjp,
    "log_softmax": _log_softmax_vjp, "reshape": _reshape_vjp, "permute": _permute_vjp,
    "concat": _concat_vjp, "select": _select_vjp, "select_not": _select_not_vjp,
    "where": _where_vjp,
    **{op: _comparison_vjp for op in ("lt", "le", "gt", "ge", "eq", "ne")},
}
