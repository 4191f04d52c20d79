"""Forward mode's rules for the array ops: indexing, axis reductions, the softmax family,
selection, comparisons, reshaping and joining (``ARRAY_JVP``, merged into ``jvp_rules``).

Conventions as in ``rules``: a rule reads (primal args, primal result, tangent args) and works
on the trailing (value) axes of its tangents, which may carry a leading axis of directions. An
op's constant parameters (an index, axes, a shape) are its last primal argument, a ``Param``,
whose tangent is always None. A tangent of None is an absent (zero) tangent.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.axes import (
    exclusive_prod,
    extremum_weights,
    lead,
    lead_index,
    plain,
    softmax_weights,
    trailing,
)
from .zeros import _times


# ---- indexing: the tangent is indexed as the value is ----------------------------------------
def _index_jvp(x, p, y, x_dot, p_dot):
    return x_dot[lead_index(p.value, lead(x_dot, x))]


# ---- reductions over axes: d sum = sum of d, and so on ---------------------------------------
def _reduce_sum_jvp(x, p, y, x_dot, p_dot):
    axes, keepdims = p.value
    return np.sum(x_dot, axis=trailing(axes, np.ndim(plain(x))), keepdims=keepdims)


def _reduce_mean_jvp(x, p, y, x_dot, p_dot):
    # over an empty axis the mean is nan whatever x is: tangent 0 (as mean's rule), not 0/0
    axes, keepdims = p.value
    total = np.sum(x_dot, axis=trailing(axes, np.ndim(plain(x))), keepdims=keepdims)
    shape = np.shape(plain(x))
    n = math.prod(shape[a] for a in (range(len(shape)) if axes is None else axes))
    return total / n if n else total * 0.0


def _reduce_prod_jvp(x, p, y, x_dot, p_dot):
    # d prod(x) = sum_i x_dot_i * prod_{j != i} x_j (exact where some x_j are 0)
    axes, keepdims = p.value
    return np.sum(_times(x_dot, exclusive_prod(x, axes)), axis=trailing(axes, np.ndim(plain(x))),
                  keepdims=keepdims)


def _reduce_extremum_jvp(x, p, y, x_dot, p_dot):
    # JAX's rule: the tangent of the elements equal to the result, averaged over the ties
    axes, keepdims = p.value
    weights = extremum_weights(x, y, axes, keepdims)
    return np.sum(_times(x_dot, weights), axis=trailing(axes, np.ndim(plain(x))),
                  keepdims=keepdims)


def _logsumexp_jvp(x, p, y, x_dot, p_dot):
    # d logsumexp(x) = sum softmax(x) * x_dot, softmax = exp(x - logsumexp(x))
    axes, keepdims = p.value
    d = np.ndim(plain(x))
    return np.sum(_times(x_dot, softmax_weights(x, axes)), axis=trailing(axes, d),
                  keepdims=keepdims)


def _softmax_jvp(x, p, y, x_dot, p_dot):
    # d softmax = y * (x_dot - sum(y * x_dot)) along the axis
    axis = trailing((p.value,), np.ndim(plain(x)))
    y_x_dot = _times(x_dot, y)
    return y_x_dot - _times(np.sum(y_x_dot, axis=axis, keepdims=True), y)


def _log_softmax_jvp(x, p, y, x_dot, p_dot):
    # d log_softmax = x_dot - sum(softmax * x_dot) along the axis, softmax = exp(y)
    axis = trailing((p.value,), np.ndim(plain(x)))
    return x_dot - np.sum(_times(x_dot, np.exp(y)), axis=axis, keepdims=True)


# ---- reshaping and joining: linear, the tangent moves as the value does -------------------
def _reshape_jvp(x, p, y, x_dot, p_dot):
    n = lead(x_dot, x)
    return np.reshape(x_dot, np.shape(plain(x_dot))[:n] + np.shape(plain(y)))


def _permute_jvp(x, p, y, x_dot, p_dot):
    n = lead(x_dot, x)
    return np.transpose(x_dot, (*range(n), *(n + k % len(p.value) for k in p.value)))


def _concat_jvp(a, b, p, y, a_dot, b_dot, p_dot):
    # the tangents joined as the values are; an absent one is zeros of its operand's shape
    t = a_dot if a_dot is not None else b_dot
    n = lead(t, a if a_dot is not None else b)
    front = np.shape(plain(t))[:n]
    if a_dot is None:
        a_dot = np.zeros(front + np.shape(plain(a)))
    if b_dot is None:
        b_dot = np.zeros(front + np.shape(plain(b)))
    return np.concatenate((a_dot, b_dot), axis=p.value - np.ndim(plain(a)) if p.value >= 0
                          else p.value)


# ---- selection and comparisons ------------------------------------------------------------
def _select_jvp(c, a, y, c_dot, a_dot):
    # the branch's tangent where the mask holds, 0 elsewhere (a select, so 0 even where the
    # other branch's tangent is inf or nan); the mask itself has derivative 0
    return None if a_dot is None else np.where(plain(c), a_dot, 0.0)


def _select_not_jvp(c, b, y, c_dot, b_dot):
    return None if b_dot is None else np.where(plain(c), 0.0, b_dot)


def _where_jvp(c, a, b, y, c_dot, a_dot, b_dot):
    # (plans compile where into select + select_not; this serves Duals and direct calls)
    zero = 0.0
    return np.where(plain(c), zero if a_dot is None else a_dot, zero if b_dot is None else b_dot)


def _comparison_jvp(a, b, y, a_dot, b_dot):
    return None  # a 0/1 mask: derivative 0 (the engines never push tangents through it)


ARRAY_JVP = {
    "index": _index_jvp, "reduce_sum": _reduce_sum_jvp, "reduce_mean": _reduce_mean_jvp,
    "reduce_prod": _reduce_prod_jvp, "reduce_max": _reduce_extremum_jvp,
    "reduce_min": _reduce_extremum_jvp, "logsumexp": _logsumexp_jvp, "softmax": _softmax_jvp,
    "log_softmax": _log_softmax_jvp, "reshape": _reshape_jvp, "permute": _permute_jvp,
    "concat": _concat_jvp, "select": _select_jvp, "select_not": _select_not_jvp,
    "where": _where_jvp,
    **{op: _comparison_jvp for op in ("lt", "le", "gt", "ge", "eq", "ne")},
}
