"""Forward mode for big scalar graphs: all directions pushed a level at a time.

The multi-direction pass of ``forward.py`` pushes through every slot a tangent with a leading
axis of k directions: one Python step and a NumPy call or two per slot. On a level schedule
(``levels.schedule``: groups of slots of one level and op) a whole group advances at once. The
tangents of all slots are the columns of one (k, slots) array; a group's rule, unchanged from
``forward.jvp_rules``, gets the gathered values (shape (g,)) and tangent columns (shape
(k, g)): a direction axis in front of the value axis, the layout the rules are written for.

Only the schedule differs: an argument that does not depend on a wrt variable passes no
tangent (None, never zeros: 0 * inf must not make a nan), as in ``forward.py``.
``forward.prepare`` uses this for gradients of big shallow scalar graphs when the (k, slots)
array fits the tangent budget.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..core.levels import IDENTITY, Schedule
from .rules import jvp_rules


def _same_jvp(x, y, x_dot):
    return x_dot  # sum, mean, transpose of a scalar: the identity


@dataclass(eq=False)
class LevelSweep:
    """A scalar gradient by forward mode on a level schedule: ``steps`` by rising level."""

    schedule: Schedule
    wrt: tuple[str, ...]
    seeds: np.ndarray       # the wrt variables' slots: direction i starts at seeds[i]
    steps: list[tuple]      # (rule, slots, a, b or None, a carries a tangent, b carries one)

    def gradient(self, point: Mapping) -> dict:
        """{name: float} for the wrt variables at a validated point of floats."""
        values = self.schedule.evaluate(point)
        k = len(self.wrt)
        T = np.zeros((k, len(values)))       # T[i, s] = d slot s / d input i
        T[np.arange(k), self.seeds] = 1.0
        with np.errstate(all="ignore"):
            for rule, out, a, b, has_a, has_b in self.steps:
                if b is None:
                    T[:, out] = rule(values[a], values[out], T[:, a])
                else:
                    T[:, out] = rule(values[a], values[b], values[out],
                                     T[:, a] if has_a else None, T[:, b] if has_b else None)
        column = T[:, self.schedule.plan.out]
        return {name: float(column[i]) for i, name in enumerate(self.wrt)}

    def info(self) -> dict:
        """Sizes for ``Prepared.info``."""
        return {"method": "forward", "slots": self.schedule.plan.size, "sweep": "levels",
                "directions": len(self.wrt), "passes": 1, "levels": self.schedule.levels,
                "groups": len(self.steps)}


_CARRY = {3: (True, True), 2: (True, False), 1: (False, True)}


def compile_levels(schedule: Schedule, wrt: Sequence[str]) -> LevelSweep:
    """The tangent steps of a scalar gradient on a level schedule.

    Args:
        schedule: the plan's level schedule (``levels.schedule``).
        wrt: the variables to differentiate with respect to (variables of the plan).
    Returns:
        a ``LevelSweep``.
    """
    plan = schedule.plan
    seeds = np.array([plan.var_slots[name] for name in wrt], dtype=np.intp)
    active = np.zeros(plan.size, dtype=bool)  # carries a tangent: depends on a wrt variable
    active[seeds] = True
    steps = []
    for op, out, a, b, in schedule.groups:
        has_a = active[a]
        if b is None:
            active[out] = has_a
            rule = _same_jvp if op in IDENTITY else jvp_rules[op]
            if has_a.all():
                steps.append((rule, out, a, None, True, False))
            elif has_a.any():
                steps.append((rule, out[has_a], a[has_a], None, True, False))
            continue
        has_b = active[b]
        active[out] = has_a | has_b
        code = 2 * has_a.astype(np.intp) + has_b  # split the group by which operands vary
        first = int(code[0])
        if (code == first).all():
            if first:
                steps.append((jvp_rules[op], out, a, b, *_CARRY[first]))
            continue
        for c, carry in _CARRY.items():
            sel = code == c
            if sel.any():
                steps.append((jvp_rules[op], out[sel], a[sel], b[sel], *carry))
    return LevelSweep(schedule, tuple(wrt), seeds, steps)
