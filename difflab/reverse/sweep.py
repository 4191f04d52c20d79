"""Reverse mode's backward sweep: the compiled program (``program.py``) run on a tape.

``sweep(program, values, seed)`` visits the backward program's entries in reverse
topological order. Each turns its slot's cotangent into its arguments' with the op's rule,
sums it back over the axes an operand was broadcast along, and adds it into what the argument
has already received (fan-out). Sums the sweep owns are added into in place. Two sparse
cotangents travel as they are: a max/min's ``OneHot`` (``onehot.py``) and an index's
``Sliced`` (``sliced.py``), each made dense before any rule that does not take it and before
the sweep returns.
"""

from __future__ import annotations

import numpy as np

from ..protocol import Shape
from .onehot import OneHot
from .program import Program
from .rules import vjp_rules
from .sliced import Sliced, of_index

_F8 = np.dtype(np.float64)
_INDEX = vjp_rules["index"]
# Per sparse kind, the rules that take it as y_bar as it is (pass it on, or use its entries);
# the others get it dense
_TAKES = {OneHot: frozenset({vjp_rules["add"], vjp_rules["sub"], vjp_rules["matmul"]}),
          Sliced: frozenset({vjp_rules["add"], vjp_rules["sub"], vjp_rules["mul"]})}


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
        if type(y_bar) in _TAKES and rule not in _TAKES[type(y_bar)]:
            y_bar = y_bar.dense()
        if j < 0:
            a_bar = rule(y_bar, values[i], values[s])
            _add_in(bars, owned, i, a_bar, y_bar, owned[s] if mine else None)
            if trace is not None:
                trace.append((s, program.plan.ops[s], (i,), y_bar, (a_bar,)))
        else:
            sliced = rule is _INDEX and trace is None and \
                of_index(y_bar, values[i], values[j], values[s])
            if sliced:
                a_bar, b_bar = sliced, None
            else:
                a_bar, b_bar = rule(y_bar, values[i], values[j], values[s], need)
            if trace is not None:  # a trace shows arrays
                a_bar, b_bar = _dense(a_bar), _dense(b_bar)
            # (add passes one y_bar to both arguments: then neither may claim it)
            claim = owned[s] if mine and a_bar is not b_bar else None
            if a_bar is not None:
                if fix_i is not None:
                    a_bar = _unbroadcast(a_bar, fix_i)
                _add_in(bars, owned, i, a_bar, y_bar, claim)
            if b_bar is not None:
                if fix_j is not None:
                    b_bar = _unbroadcast(b_bar, fix_j)
                _add_in(bars, owned, j, b_bar, y_bar, claim)
            if trace is not None:
                trace.append((s, program.plan.ops[s], (i, j), y_bar, (a_bar, b_bar)))
        if free:
            bars[s] = values[s] = None
    if program.sparse:  # a sparse cotangent never leaves the sweep (freed: only variables')
        for slot in program.plan.var_slots.values() if free else range(len(bars)):
            if type(bars[slot]) in _TAKES:
                bars[slot] = bars[slot].dense()
    for slot in program.plan.var_slots.values():
        if bars[slot] is None:  # reached only through comparisons (derivative 0), or not at all
            bars[slot] = 0.0
    return bars


def _add_in(bars: list, owned: list, slot: int, bar, y_bar, claim: bool | None) -> None:
    """Add the cotangent ``bar`` into ``bars[slot]`` (fan-out: cotangents add up).

    In place where the sweep owns the sum there; a first arrival becomes the sweep's own when
    ``claim`` is not None (the sweep frees as it goes and keeps no trace) and ``bar`` is a
    fresh float64 array, or y_bar itself passed on from a slot that owned it (``claim``)."""
    old = bars[slot]
    if old is None:
        bars[slot] = bar
        if claim is not None and type(bar) is np.ndarray:
            owned[slot] = claim if bar is y_bar else bar.base is None and bar.dtype == _F8
    elif owned[slot] and type(bar) is np.ndarray and bar.shape == old.shape:
        old += bar
    elif type(bar) not in _TAKES and type(old) not in _TAKES:
        bars[slot] = old = old + bar
        owned[slot] = type(old) is np.ndarray and old.dtype == _F8
    else:
        bars[slot], owned[slot] = _added(old, bar, owned[slot])


def _unbroadcast(bar, fix: tuple):
    """A cotangent summed back to its operand's shape: over the axes it was stretched along
    (a OneHot's entries binned, a plain array by the ufunc, without np.sum's dispatch), then
    reshaped, and multiplied by the entry's sign (-1 for sub's b, negated after the sum)."""
    axes, reshape, sign = fix
    if type(bar) is Sliced:
        bar = bar.dense()
    if type(bar) is np.ndarray:
        bar = np.add.reduce(bar, axis=axes)
    else:
        bar = bar.sum(axes) if type(bar) is OneHot else np.sum(bar, axis=axes)
    if reshape is not None:
        bar = np.reshape(bar, reshape)
    return bar if sign > 0 else -bar


def _added(old, new, owned: bool) -> tuple:
    """``old + new`` (either may be sparse: a OneHot, a Sliced) and whether the sum is the
    sweep's own array (fresh, float64: later cotangents may be added into it in place)."""
    if type(new) in _TAKES or type(old) in _TAKES:
        sparse, other = (new, old) if type(new) in _TAKES else (old, new)
        if type(other) in _TAKES:
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


def _dense(bar):
    return bar.dense() if type(bar) in _TAKES else bar


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
