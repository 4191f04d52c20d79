"""Level schedules: a plan's slots grouped by level and op, for evaluators that batch.

A slot's *level* is one more than its deepest argument's (leaves are level 0), so no slot reads
another of its own level: all the slots of one level that share an op can be computed by ONE
NumPy call on their gathered argument values. A network written with scalar operators
(micrograd's MLP: ~30,000 scalar slots) is only ~100 levels deep, so a walk over its groups
makes a few hundred NumPy calls where a walk over its slots makes tens of thousands of Python
steps. Chains and small expressions gain nothing (``schedule`` returns None for them: their
groups would hold a slot or two each) and keep the per-slot walk.

This module knows no derivative: it orders the plan's slots and evaluates the primal
(``evaluate.PRIMAL``, the one meaning of each op). ``reverse_levels`` and ``forward_levels``
apply their own rules group by group.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .ops import OPS, PRIMAL
from .plan import Plan, compile_plan, gc_paused

MIN_SLOTS = 512      # below this the per-slot walk is as fast (a NumPy call costs ~20 slots)
MIN_GROUP = 16       # slots per group on average, else the per-slot walk is faster
MIN_LEAF_SHARE = 64  # fewer than one leaf per 64 slots: chain-like, not tried
# On a scalar, sum, mean and transpose are the identity; on a gathered group they would
# reduce or reorder it, so a schedule applies them as the identity.
IDENTITY = frozenset(("sum", "mean", "transpose"))
# the ops a level schedule runs (on scalars): leaves, elementwise maths and the identities
_BATCHED = frozenset(name for name, op in OPS.items()
                     if op.kind in ("leaf", "elementwise") and not op.params) | IDENTITY
_OPCODE = {op: k for k, op in enumerate(OPS)}


def _same(x):
    return x


@dataclass(eq=False)
class Schedule:
    """A scalar plan's op slots in groups: ``(op, slots, a, b)`` by increasing level, where
    ``a`` and ``b`` hold each slot's argument slots (``b`` is None for a unary op)."""

    plan: Plan
    groups: list[tuple[str, np.ndarray, np.ndarray, np.ndarray | None]]
    levels: int
    template: np.ndarray      # slot values with the constants filled in
    var_index: np.ndarray     # the variables' slots ...
    var_names: tuple[str, ...]  # ... and names

    def evaluate(self, point: Mapping) -> np.ndarray:
        """Every slot's value at a (validated) point of floats, one NumPy call per group."""
        values = self.template.copy()
        values[self.var_index] = [point[name] for name in self.var_names]
        with np.errstate(all="ignore"):
            for op, out, a, b in self.groups:
                fn = _same if op in IDENTITY else PRIMAL[op]
                values[out] = fn(values[a]) if b is None else fn(values[a], values[b])
        return values


def schedule(plan: Plan, slot_shapes: Sequence[tuple]) -> Schedule | None:
    """The plan's level schedule (cached on the plan), or None where batching does not pay.

    Args:
        plan: the expression's plan.
        slot_shapes: every slot's shape; a schedule needs them all to be scalars.
    Returns:
        a ``Schedule``; None for an array slot, a small, chain-like or deep graph, or groups
        that would be too small on average.
    """
    if plan.size < MIN_SLOTS or any(slot_shapes):
        return None
    if "levels" not in plan.memo:  # (the grouping depends on the plan alone)
        plan.memo["levels"] = _build(plan)
    return plan.memo["levels"]


def _build(plan: Plan) -> Schedule | None:
    n, ops, args = plan.size, plan.ops, plan.args
    if not _BATCHED.issuperset(set(ops)):  # comparisons, selects, parameters: slot by slot
        return None
    if (ops.count("var") + ops.count("const")) * MIN_LEAF_SHARE < n:
        return None
    # Each slot's level, in topological order: the only per-slot Python loop.
    level = []
    append = level.append
    for a in args:
        if a:
            x, y = level[a[0]], level[a[-1]]
            append((x if x > y else y) + 1)
        else:
            append(0)
    if level[plan.out] * MIN_GROUP > n:
        return None
    # The argument slots as arrays (-1 where there is none), at C speed.
    arity = np.fromiter(map(len, args), np.intp, n)
    flat = np.fromiter(itertools.chain.from_iterable(args), np.intp, int(arity.sum()))
    start = np.cumsum(arity) - arity
    inner = np.flatnonzero(arity)
    A = np.full(n, -1, dtype=np.intp)
    A[inner] = flat[start[inner]]
    B = np.full(n, -1, dtype=np.intp)
    binary = np.flatnonzero(arity == 2)
    B[binary] = flat[start[binary] + 1]
    opcode = np.fromiter(map(_OPCODE.__getitem__, ops), np.intp, n)
    key = np.array(level, dtype=np.intp) * len(OPS) + opcode
    slots = inner[np.argsort(key[inner], kind="stable")]
    k = key[slots]
    runs = np.split(slots, np.flatnonzero(k[1:] != k[:-1]) + 1) if slots.size else []
    if len(runs) * MIN_GROUP > n:
        return None
    groups = [(ops[g[0]], g, A[g], B[g] if B[g[0]] >= 0 else None) for g in runs]
    template = np.zeros(n)
    consts = np.flatnonzero(opcode == _OPCODE["const"])
    template[consts] = [plan.attrs[s] for s in consts]
    names = tuple(plan.var_slots)
    return Schedule(plan, groups, level[plan.out], template,
                    np.array([plan.var_slots[name] for name in names], dtype=np.intp), names)


def scalar_schedule(expr, wrt: Sequence[str], shapes: Mapping[str, tuple]):
    """The level schedule of ``expr`` where one pays: every variable a scalar, every wrt name
    a variable, a graph of at least ``MIN_SLOTS`` slots that ``schedule`` accepts. Else None
    (the engines then walk slot by slot, and report any bad wrt name themselves)."""
    from .shapes import infer_shapes

    plan = compile_plan(expr)
    if plan.size < MIN_SLOTS or any(tuple(shapes[name]) for name in plan.var_slots) or \
            any(name not in plan.var_slots for name in wrt):
        return None
    with gc_paused():
        return schedule(plan, infer_shapes(plan, shapes))
