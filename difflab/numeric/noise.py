"""How far f is from its exact value at a point: ``rounding_noise``, the adaptive scheme's
measure of f's own rounding error (``adaptive`` stops its steps where the difference's
rounding, noise / h, exceeds its best error estimate).

Values of f alone cannot tell (where softplus(x) - x cancels to 2e-9 out of 20, f is known
to 4e-15 only), so f is re-evaluated with every operation's result off by one eps, in two
sign patterns, and the largest change is the estimate.
"""

from __future__ import annotations

import functools

import numpy as np

from ..core.ops import COMPARISONS, PRIMAL
from ..core.plan import Plan

EPS = float(np.finfo(np.float64).eps)
PROBE_SIGNS = 2     # rounding probes per call: all +eps, then alternating signs


@functools.lru_cache(maxsize=64)
def _checkerboard(shape: tuple) -> np.ndarray | float:
    """+1 and -1 alternating along every axis (1.0 for a scalar): the alternating probe's
    signs within an array, so that entries which cancel exactly (a sum of tanh(0.5) and
    tanh(-0.5)) are not all scaled alike, which would keep their cancellation exact."""
    if not shape:
        return 1.0
    signs = np.where(np.add.reduce(np.indices(shape)) % 2 == 1, -1.0, 1.0)
    signs.setflags(write=False)  # (cached per shape: one per call of the probe, not per op)
    return signs


def rounding_noise(plan: Plan, values: list, f0) -> np.ndarray:
    """The rounding error of f at a bound point, measured: f re-run with every operation's
    result scaled by 1 + eps (then by 1 - eps and 1 + eps alternately, from operation to
    operation and from entry to entry of an array), the largest change. A comparison keeps
    its unperturbed mask: its operands' scaled copies would split an exact tie (y != 1.0 * y)
    that no evaluation of f near the point splits, and the jump would pass for noise.

    Args:
        plan: the compiled expression; values: its slots with the leaves bound (``bind``);
            the other slots are overwritten. f0: f at that point.
    Returns:
        |f~ - f| with f's shape (an estimate of f's own rounding error near the point). Where
        neither probe moves f at all, the terms of f cancel exactly in both (a sum over
        entries that pair off, as tanh(0.5) + tanh(0.0) + tanh(-0.5)), and the change says
        nothing: there eps times the largest intermediate |value| stands in, the rounding of
        such a cancellation near the point.
    """
    ops, args, out = plan.ops, plan.args, plan.out
    f0 = np.asarray(f0, dtype=np.float64)
    change = np.zeros(f0.shape)
    scale = 0.0   # the largest finite |value| of an operation's result
    with np.errstate(all="ignore"):
        masks = _masks(plan, list(values))
        for alternate in range(PROBE_SIGNS):
            sign = 1.0
            for slot, op in enumerate(ops):
                a = args[slot]
                if not a:
                    continue
                if slot in masks:
                    values[slot] = masks[slot]
                    continue
                v = PRIMAL[op](*[values[i] for i in a])
                if np.asarray(v).dtype.kind == "f":  # (masks and indices stay exact)
                    if not alternate and np.size(v):
                        size = np.abs(v)
                        scale = max(scale, float(np.max(size, initial=0.0,
                                                        where=np.isfinite(size))))
                    v = v * (1.0 + sign * EPS * (_checkerboard(np.shape(v)) if alternate
                                                 else 1.0))
                    sign = -sign if alternate else sign
                values[slot] = v
            change = np.maximum(change, np.abs(np.asarray(values[out], np.float64) - f0))
    return np.where(change == 0.0, EPS * scale, change)


def _masks(plan: Plan, values: list) -> dict:
    """Every comparison's mask at the point, unperturbed (slot -> mask), from one plain pass
    over ``values`` (a copy: the caller's list is the probes')."""
    if not any(op in COMPARISONS for op in plan.ops):
        return {}
    masks = {}
    for slot, op in enumerate(plan.ops):
        a = plan.args[slot]
        if a:
            values[slot] = PRIMAL[op](*[values[i] for i in a])
            if op in COMPARISONS:
                masks[slot] = values[slot]
    return masks
