"""Reverse mode's backward sweep: the compiled program (``program.py``) run on a tape.

``sweep(program, values, seed)`` visits the backward program's entries in reverse
topological order. Each turns its slot's cotangent into its arguments' with the op's rule,
sums it back over the axes an operand was broadcast along, and adds it into what the argument
has already received (fan-out). Sums the sweep owns are added into in place; a max/min's
cotangent may travel as a sparse ``OneHot`` (``onehot.py``), made dense before any rule that
does not take one and before the sweep returns.
"""

from __future__ import annotations

import numpy as np

from ..protocol import Shape
from .onehot import OneHot
from .program import Program
from .rules import vjp_rules

_F8 = np.dtype(np.float64)
# Rules that take a OneHot y_bar as it is (pass it on, or use its entries); the others get it
# dense
_SPARSE_AWARE = frozenset({vjp_rules["add"], vjp_rules["sub"], vjp_rules["matmul"]})


def sweep(program: Program, values: list, seed, trace: list | None = None,
          free: bool = False) -> list:
    """Run the backward program: cotangents of every needed slot, seeded at the output.

    Args:
        program: the compiled program.
        values: the tape (primal value per slot, from ``Program.record``).
        seed: the output's cotangent (1.0 for a gradient; a direction for a VJP).
        trace: a list to append one ``(slot, op, argument slots, y_bar, argument bars)`` per
            backward step to, or None (``tape.Step`` reads them).
        free: drop each cotangent and primal once the sweep has passed it (saves memory; the
            variables' cotangents are kept, the tape is no longer usable afterwards).
    Returns:
        cotangent per slot (None where none is needed); variables' slots hold the gradient.
    """
    bars = [None] * len(values)
    bars[program.plan.out] = seed
    # owned[s]: bars[s] is an array nothing else refers to, so later cotangents of s add into
    # it in place: a sum this sweep made (old + a_bar), and when the sweep frees as it goes
    # and keeps no trace, a rule's fresh result (one that owns its data, not y_bar) or a
    # y_bar passed on to one argument from a slot that owned it (freed right after). Every
    # cotangent of s arrives before s's own step reads it (reverse topological order), so no
    # reader ever sees it change. Views (of y_bar, a primal, the seed) are never added into.
    mine = free and trace is None
    owned = [False] * len(values)
    for rule, s, i, j, need, fix_i, fix_j in program.backward:
        y_bar = bars[s]
        if type(y_bar) is OneHot and rule not in _SPARSE_AWARE:
            y_bar = y_bar.dense()
        if j < 0:
            a_bar = rule(y_bar, values[i], values[s])
            old = bars[i]
            if old is None:
                bars[i] = a_bar
                if mine and type(a_bar) is np.ndarray:
                    owned[i] = _owns(a_bar, y_bar, owned[s])
            elif owned[i] and type(a_bar) is np.ndarray and a_bar.shape == old.shape:
                old += a_bar  # fan-out: cotangents add up (in place into the sweep's own sum)
            elif type(a_bar) is not OneHot and type(old) is not OneHot:
                bars[i] = old = old + a_bar
                owned[i] = type(old) is np.ndarray and old.dtype == _F8
            else:
                bars[i], owned[i] = _added(old, a_bar, owned[i])
            if trace is not None:
                trace.append((s, program.plan.ops[s], (i,), y_bar, (a_bar,)))
        else:
            a_bar, b_bar = rule(y_bar, values[i], values[j], values[s], need)
            if trace is not None:  # a trace shows arrays
                a_bar, b_bar = _dense(a_bar), _dense(b_bar)
            if a_bar is not None:
                if fix_i is not None:  # unbroadcast: sum over the axes a was stretched along
                    a_bar = _summed(a_bar, fix_i[0])
                    if fix_i[1] is not None:
                        a_bar = np.reshape(a_bar, fix_i[1])
                old = bars[i]
                if old is None:
                    bars[i] = a_bar
                    if mine and type(a_bar) is np.ndarray and a_bar is not b_bar:
                        owned[i] = _owns(a_bar, y_bar, owned[s])
                elif owned[i] and type(a_bar) is np.ndarray and a_bar.shape == old.shape:
                    old += a_bar
                elif type(a_bar) is not OneHot and type(old) is not OneHot:
                    bars[i] = old = old + a_bar
                    owned[i] = type(old) is np.ndarray and old.dtype == _F8
                else:
                    bars[i], owned[i] = _added(old, a_bar, owned[i])
            if b_bar is not None:
                if fix_j is not None:
                    b_bar = _summed(b_bar, fix_j[0])
                    if fix_j[1] is not None:
                        b_bar = np.reshape(b_bar, fix_j[1])
                    if len(fix_j) > 2:  # sub's: negated after the sum
                        b_bar = -b_bar
                old = bars[j]
                if old is None:
                    bars[j] = b_bar
                    if mine and type(b_bar) is np.ndarray and a_bar is not b_bar:
                        owned[j] = _owns(b_bar, y_bar, owned[s])
                elif owned[j] and type(b_bar) is np.ndarray and b_bar.shape == old.shape:
                    old += b_bar
                elif type(b_bar) is not OneHot and type(old) is not OneHot:
                    bars[j] = old = old + b_bar
                    owned[j] = type(old) is np.ndarray and old.dtype == _F8
                else:
                    bars[j], owned[j] = _added(old, b_bar, owned[j])
            if trace is not None:
                trace.append((s, program.plan.ops[s], (i, j), y_bar, (a_bar, b_bar)))
        if free:
            bars[s] = values[s] = None
    if program.sparse:  # a OneHot never leaves the sweep (freed: only variables' are left)
        for slot in program.plan.var_slots.values() if free else range(len(bars)):
            if type(bars[slot]) is OneHot:
                bars[slot] = bars[slot].dense()
    for slot in program.plan.var_slots.values():
        if bars[slot] is None:  # reached only through comparisons (derivative 0), or not at all
            bars[slot] = 0.0
    return bars


def _owns(bar: np.ndarray, y_bar, y_owned: bool) -> bool:
    """Whether a rule's result ``bar``, arriving first at its slot, is the sweep's own: a fresh
    float64 array (it owns its data), or y_bar passed on from a slot that owned it."""
    return y_owned if bar is y_bar else bar.base is None and bar.dtype == _F8


def _added(old, new, owned: bool) -> tuple:
    """``old + new`` (either may be a OneHot) and whether the sum is the sweep's own array
    (fresh, float64: later cotangents may be added into it in place)."""
    if type(new) is OneHot or type(old) is OneHot:
        sparse, other = (new, old) if type(new) is OneHot else (old, new)
        if type(other) is OneHot:
            other = other.dense()
        elif not (type(other) is np.ndarray and owned and other.flags.c_contiguous):
            if not isinstance(other, np.ndarray | float | np.floating):  # a Dual, a Jet
                return other + sparse.dense(), False
            other = np.array(np.broadcast_to(other, sparse.shape), dtype=np.float64)
        if other.shape == sparse.shape and other.dtype == np.float64:
            sparse.add_into(other)
            return other, True
        return other + sparse.dense(), False
    total = old + new
    return total, type(total) is np.ndarray and total.dtype == np.float64


def _summed(bar, axes: tuple[int, ...]):
    """``bar`` summed over ``axes`` (an unbroadcast): a OneHot's entries binned, a plain
    array's reduced by the ufunc (without np.sum's dispatch), anything else by np.sum."""
    if type(bar) is np.ndarray:
        return np.add.reduce(bar, axis=axes)
    return bar.sum(axes) if type(bar) is OneHot else np.sum(bar, axis=axes)


def _dense(bar):
    return bar.dense() if type(bar) is OneHot else bar


def _finish(bar, shape: Shape):
    """A cotangent as the protocol's result: a float, or a fresh writeable float64 array (zeros
    where no cotangent arrived: the output does not depend on the variable, e.g. only through
    a comparison)."""
    if bar is None:
        return 0.0 if not shape else np.zeros(shape)
    if not shape:
        return float(bar)
    if type(bar) is np.ndarray and bar.flags.writeable and bar.shape == shape:
        return bar
    return np.array(np.broadcast_to(bar, shape), dtype=np.float64)  # e.g. a broadcast view
