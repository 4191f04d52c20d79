"""Reverse mode for big scalar graphs: the tape swept a level at a time.

The per-slot sweep of ``reverse.py`` pays one Python step and one rule call per slot: ~2 us,
so ~60 ms for the 30,000 scalar slots of micrograd's MLP written with operators. That graph is
wide and shallow, and ``levels.schedule`` groups its slots by level and op. Here the tape is
recorded one group at a time (``Schedule.evaluate``) and swept backward one group at a time,
falling level by level, with the SAME rules (``reverse.vjp_rules``) applied to the gathered
values of a group at once. A group's cotangents scatter back with ``np.add.at``, which adds
every term where an argument is read by several slots of the group (a hidden unit read by
every unit of the next layer): fan-out sums, as on the per-slot tape.

Only the schedule differs: the rules, the IEEE and kink semantics and the skipped slots (those
that do not depend on a wrt variable get no cotangent; a constant operand gets no rule call) are
those of ``reverse.py``; sums may add in another order (last-bit differences). ``reverse.prepare``
uses this for gradients where a schedule exists; the tape, the Jacobian and the Hessian keep
the per-slot sweep.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..core.levels import IDENTITY, Schedule
from .rules import vjp_rules


def _same_vjp(y_bar, x, y):
    return y_bar  # sum, mean, transpose of a scalar: the identity


@dataclass(eq=False)
class LevelProgram:
    """A scalar gradient as groups: the schedule forward, ``backward`` by falling level."""

    schedule: Schedule
    wrt: tuple[str, ...]
    backward: list[tuple]   # (rule, slots, a, b or None, need)

    def gradient(self, point: Mapping) -> dict:
        """{name: float} for the wrt variables at a validated point of floats."""
        values = self.schedule.evaluate(point)
        bars = np.zeros(len(values))
        bars[self.schedule.plan.out] = 1.0
        add_at = np.add.at
        with np.errstate(all="ignore"):
            for rule, out, a, b, need in self.backward:
                y_bar = bars[out]
                if b is None:
                    add_at(bars, a, rule(y_bar, values[a], values[out]))
                    continue
                a_bar, b_bar = rule(y_bar, values[a], values[b], values[out], need)
                if a_bar is not None:
                    add_at(bars, a, a_bar)
                if b_bar is not None:
                    add_at(bars, b, b_bar)
        slots = self.schedule.plan.var_slots
        return {name: float(bars[slots[name]]) for name in self.wrt}

    def info(self) -> dict:
        """Sizes for ``Prepared.info``."""
        return {"method": "reverse", "slots": self.schedule.plan.size, "sweep": "levels",
                "levels": self.schedule.levels, "forward_groups": len(self.schedule.groups),
                "backward_groups": len(self.backward)}


_NEEDS = {3: (True, True), 2: (True, False), 1: (False, True)}


def compile_levels(schedule: Schedule, wrt: Sequence[str]) -> LevelProgram:
    """The backward groups of a scalar gradient on a level schedule.

    Args:
        schedule: the plan's level schedule (``levels.schedule``).
        wrt: the variables to differentiate with respect to (variables of the plan).
    Returns:
        a ``LevelProgram``.
    """
    plan = schedule.plan
    # Which slots depend on a wrt variable, level by level; every slot of a plan reaches its
    # output, so these are exactly the slots that need a cotangent.
    dep = np.zeros(plan.size, dtype=bool)
    dep[[plan.var_slots[name] for name in wrt]] = True
    marked = []
    for op, out, a, b in schedule.groups:
        need_a = dep[a]
        need_b = None if b is None else dep[b]
        dep[out] = need_a if b is None else need_a | need_b
        marked.append((op, out, a, b, need_a, need_b))
    backward = []
    for op, out, a, b, need_a, need_b in reversed(marked):
        if b is None:
            rule = _same_vjp if op in IDENTITY else vjp_rules[op]
            if need_a.all():
                backward.append((rule, out, a, None, None))
            elif need_a.any():
                backward.append((rule, out[need_a], a[need_a], None, None))
            continue
        # split the group by which arguments want a cotangent: code 2 * need_a + need_b
        code = 2 * need_a.astype(np.intp) + need_b
        first = int(code[0])
        if (code == first).all():
            if first:
                backward.append((vjp_rules[op], out, a, b, _NEEDS[first]))
            continue
        for c, need in _NEEDS.items():
            sel = code == c
            if sel.any():
                backward.append((vjp_rules[op], out[sel], a[sel], b[sel], need))
    return LevelProgram(schedule, tuple(wrt), backward)
