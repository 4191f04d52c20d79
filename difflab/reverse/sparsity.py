"""Sparse Hessians of scalar graphs: H's pattern from the graph, and few directions that
recover all of it (Curtis, Powell and Reid's column groups).

Which entries of H can be nonzero follows from the graph alone. Writing each slot's value v_s
as a function of its arguments, the chain rule gives

    d2f / dx_i dx_j = sum over slots s of  bar_s * sum over arguments p, q of s of
                      d2 v_s / dv_p dv_q * dv_p / dx_i * dv_q / dx_j,

and dv_p / dx_i can be nonzero only if slot p depends on x_i. So H_ij can be nonzero only if
some nonlinear slot has arguments that depend on x_i and on x_j: the pattern is the union,
over the nonlinear slots, of all pairs of the variables their arguments depend on (linear
slots, + - and the identities, add none). It is a superset of H's nonzeros, found in one pass
over the level schedule with the dependency sets as the rows of a boolean (slots, n) array.

Columns of H that share no row of the pattern can be summed into one direction and told apart
again: H (e_j + e_l) has H_ij in the rows where column j can be nonzero and H_il where l can.
A greedy colouring of the columns' conflict graph (two columns conflict when they share a row)
gives p groups; one forward-over-reverse sweep with p directions then yields all of H. A
banded H of bandwidth w needs 2w + 1 (Rosenbrock: 3 of n), a dense one n: ``colouring``
returns None when the groups would save too little to pay for the pattern.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..core.levels import IDENTITY, Schedule

LINEAR = frozenset({"neg", "add", "sub"}) | IDENTITY  # second derivatives zero everywhere
MAX_CELLS = 2 ** 24   # slots x inputs of the dependency array; bigger graphs stay dense
MAX_DENSITY = 0.25    # a pattern denser than this saves too little: stop looking


def pattern(schedule: Schedule, wrt: Sequence[str]) -> np.ndarray | None:
    """The pattern of H over the wrt variables: P[i, j] False means H_ij is exactly zero.

    Args:
        schedule: a scalar graph's level schedule.
        wrt: the variables (scalars) of H, in order.
    Returns:
        P (n, n) boolean, or None when the graph is too big to track or P too dense to pay.
    """
    plan, n = schedule.plan, len(wrt)
    if n < 4 or plan.size * n > MAX_CELLS:
        return None
    depends = np.zeros((plan.size, n), dtype=bool)  # depends[s, i]: slot s depends on x_i
    depends[[plan.var_slots[name] for name in wrt], np.arange(n)] = True
    P = np.zeros((n, n), dtype=bool)
    for op, out, a, b in schedule.groups:
        args = depends[a] if b is None else depends[a] | depends[b]
        depends[out] = args
        if op in LINEAR:
            continue
        rows, cols = np.nonzero(args)  # each slot couples every pair of its inputs
        for inputs in np.split(cols, np.flatnonzero(np.diff(rows)) + 1):
            P[np.ix_(inputs, inputs)] = True
        if P.mean() > MAX_DENSITY:
            return None
    return P


def colouring(P: np.ndarray) -> np.ndarray | None:
    """A group per column such that no two columns of a group share a row of ``P``
    (greedy, smallest free group first); None when that saves less than half the columns."""
    n = len(P)
    groups = np.full(n, -1, dtype=np.intp)
    for j in range(n):
        conflict = P[P[:, j]].any(axis=0)   # the columns that share a row with column j
        taken = np.zeros(n + 1, dtype=bool)
        taken[groups[conflict]] = True       # (-1, the unassigned, lands on taken[-1])
        groups[j] = int(np.argmin(taken[:n]))
    return groups if groups.max() + 1 <= n // 2 else None


def seeds(groups: np.ndarray) -> np.ndarray:
    """The directions: column g of V is the sum of the e_j of group g, V of shape (n, p)."""
    V = np.zeros((len(groups), int(groups.max()) + 1))
    V[np.arange(len(groups)), groups] = 1.0
    return V


def recover(HV: np.ndarray, P: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """H from H V: H_ij = (H V)_i,group(j) where P allows it, exactly 0 elsewhere."""
    return np.where(P, HV[:, groups], 0.0)
