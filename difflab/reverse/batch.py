"""Many cotangents in one backward sweep: every row of a Jacobian along a leading axis.

A backward sweep is linear in its seed: seeding the output with k cotangents stacked along a
new leading axis, shape ``(k,) + out_shape``, carries all k through the SAME program at once,
and every slot's cotangent gets the shape ``(k,) + its shape``. Seeded with the identity over
the output's m elements, one sweep gives all m rows of the Jacobian: m rule calls become one
per slot, each a NumPy call on k times the data (forward mode does the same with tangents,
``forward.sweep``).

The rules follow the batch convention of ``rules.py`` (they work on trailing axes). Only the
unbroadcast step of the program differs: summing over the axes an operand was broadcast along
must skip the batch axis, so ``batched(program, k)`` is the program with those axes shifted
by one (made once per k, kept on the program). The scalar gradient (one cotangent, no batch
axis) runs the unshifted program, untouched.

The identity seed is a ``diagonal.Diagonal``: stored as one vector while it passes elementwise
ops (k one-hot rows stay one-hot there), dense from the first op that mixes elements. A tall
Jacobian whose output is an elementwise function of a matrix product (tanh(A x + b)) then
costs about what f costs, not m times the size of the output.

Memory: a batch holds k cotangents per live slot. ``COTANGENT_BUDGET`` bounds the floats of
one slot's batch (k times the widest slot that needs a cotangent); more rows are swept in
chunks of k, the tape recorded once and shared by the chunks.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from ..protocol import Shape
from .diagonal import Diagonal, materialise
from .program import Program
from .sweep import sweep

COTANGENT_BUDGET = 2 ** 22  # floats in one slot's batch of cotangents (32 MiB); else chunks


def _shift(fix, k: int, shape: Shape):
    """An unbroadcast fix (axes, reshape, sign) for cotangents with a batch axis of k in front."""
    if fix is None:
        return None
    axes, reshape, sign = fix
    return tuple(a + 1 for a in axes), (None if reshape is None else (k,) + tuple(shape)), sign


def batched(program: Program, k: int) -> Program:
    """``program`` for a batch of k cotangents: the same steps, unbroadcasts shifted.

    Args:
        program: a compiled reverse program.
        k: the batch size (the seed's leading axis).
    Returns:
        a Program sharing the plan, tape layout and rules (cached on ``program`` per k).
    """
    key = ("batched", k)
    found = program.derived.get(key)
    if found is not None:
        return found
    shapes, backward = program.shapes, []
    for entry in program.backward:
        rule, s, i, j, need, fix_i, fix_j = entry
        if fix_i is None and fix_j is None:
            backward.append(entry)
        else:
            backward.append((rule, s, i, j, need, _shift(fix_i, k, shapes[i]),
                             _shift(fix_j, k, shapes[j])))
    found = program.derived[key] = replace(program, backward=backward, derived={})
    return found


def rows_per_sweep(program: Program, m: int) -> int:
    """How many cotangents one sweep carries: all m, unless a slot's batch would pass
    ``COTANGENT_BUDGET`` floats (read here, at call time)."""
    widest = max([math.prod(program.shapes[s]) for s, need in enumerate(program.needed)
                  if need] + [1])
    return max(1, min(m, COTANGENT_BUDGET // max(widest, 1)))


def jacobian_rows(program: Program, values: list) -> list[np.ndarray]:
    """Every row of the Jacobian: batched sweeps seeded with the identity over the output.

    Args:
        program: the compiled program (any output shape).
        values: its tape (``Program.record``); left intact, so chunks can share it.
    Returns:
        per wrt variable (in ``program.wrt`` order) an array of shape (m,) + its shape, row r
        being d out.flat[r] / d variable.
    """
    plan = program.plan
    out_shape = program.shapes[plan.out]
    m = math.prod(out_shape)
    slots = [plan.var_slots[name] for name in program.wrt]
    rows = [np.zeros((m,) + tuple(program.shapes[s])) for s in slots]
    k = rows_per_sweep(program, m)
    for c0 in range(0, m, k):
        c1 = min(m, c0 + k)
        seed = Diagonal(np.ones(out_shape), c0, c1)  # e_c0 .. e_c1-1, stored as one vector
        # free=True drops each cotangent once passed (the peak is the live frontier, not the
        # whole tape); it frees primals too, so the sweep gets its own list of them
        bars = sweep(batched(program, c1 - c0), values.copy(), seed, None, True)
        for out, slot in zip(rows, slots, strict=True):
            if bars[slot] is not None:  # (None: the output does not depend on it)
                out[c0:c1] = materialise(bars[slot])
    return rows
