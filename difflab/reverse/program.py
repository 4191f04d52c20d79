"""Reverse mode's engine: a tape (Wengert list) swept backward with vector-Jacobian products.

Backpropagation is dynamic programming on the graph. Evaluate the plan once, recording the
primal value of every slot (the *tape*); then visit the slots in reverse topological order and,
for each, turn the cotangent of its result ``y_bar = d out / d y`` into cotangents of its
arguments with the op's rule from ``rules.vjp_rules``, adding them into what the arguments have
already received (a node used twice gets the sum). One backward sweep costs a few times one
evaluation, whatever the number of inputs.

Preparing compiles, once per (expression, wrt, shapes), a flat backward program: one entry
``(rule, slot, argument slots, need, unbroadcast)`` per slot that needs a cotangent (one that
depends on a wrt variable AND reaches the output), in reverse topological order. Zero
cotangents are never materialised. A call is then a loop with one list step and a NumPy call or
two per node (``sweep.py``); consumed cotangents and primals are dropped as the sweep passes
them.

Memory. The tape need not hold every value: a rule reads only some of its operands by value
(``rules.VALUE_READS``: mul's cotangent for a reads b, add's reads nothing), so a gradient's
forward pass (``record(lean=True)``) frees each other array after its last forward use. An
ODE solver's tape then holds the products' operands, about a sixth of its arrays. Fan-out
sums are made in place once the sweep owns the sum, and the cotangents of a max/min and of an
index stay sparse (``onehot.py``, ``sliced.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..core.expr import Expr
from ..core.ops import COMPARISONS, ELEMENTWISE_BINARY, bind_param
from ..core.plan import Plan, compile_plan, gc_paused
from ..core.shapes import infer_shapes
from ..protocol import Shape
from .rules import FORWARD, VALUE_READS, filled, vjp_rules


# ---- compiling: which slots need a cotangent, and the flat programs -----------------------
@dataclass(eq=False)
class Program:
    """An expression compiled for reverse mode at fixed shapes and wrt variables."""

    plan: Plan
    wrt: tuple[str, ...]
    shapes: list[Shape]                  # per slot
    needed: list[bool]                   # per slot: depends on a wrt variable and reaches out
    forward: list[tuple]                 # (fn, slot, i, j) for every op slot, j = -1 if unary
    live_forward: list[tuple]            # the same, only slots whose value the sweep reads
    backward: list[tuple]                # (rule, slot, i, j, need, fix_i, fix_j), reversed
    template: list                       # slot values with constants filled in
    drops: list[tuple] = field(default_factory=list)  # per live_forward step: (slot, stand-in)
    frees: bool = False                  # some step of drops frees a slot
    sparse: bool = False                 # has a max/min or an index (sparse cotangents)
    derived: dict = field(default_factory=dict)  # variants made on first use (batch.batched)

    def record(self, point: Mapping, live_only: bool = False, lean: bool = False) -> list:
        """The primal value of every slot at a (validated) point: the tape's contents.

        Args:
            point: every variable -> float, array (or ``forward.Dual``).
            live_only: compute only the slots the backward sweep reads (and what they need).
            lean: as ``live_only``, and keep only the arrays a rule reads by value
                (``rules.VALUE_READS``): the others are freed after their last use in the
                forward pass, a shape-only NaN stand-in left in their place. For one plain
                sweep (a gradient, a VJP): the tape is then not for display.
        Returns:
            the value per slot (None for the slots skipped).
        """
        values = self.template.copy()
        for name, slot in self.plan.var_slots.items():
            value = point[name]
            values[slot] = np.float64(value) if type(value) is float else value
        if lean and self.frees:
            for (fn, s, i, j), drop in zip(self.live_forward, self.drops, strict=True):
                values[s] = fn(values[i]) if j < 0 else fn(values[i], values[j])
                for slot, stand_in in drop:
                    values[slot] = stand_in
            return values
        for fn, s, i, j in self.live_forward if live_only or lean else self.forward:
            values[s] = fn(values[i]) if j < 0 else fn(values[i], values[j])
        return values


def _unbroadcast_fix(shape: Shape, out: Shape, sign: float = 1.0):
    """How to sum a cotangent of shape ``out`` back to ``shape``: (axes, reshape, sign) or
    None (``sign`` multiplies the sum: -1 for sub's b, whose rule is then add's)."""
    if shape == out:
        return None
    lead = len(out) - len(shape)
    axes = tuple(range(lead)) + tuple(lead + k for k, n in enumerate(shape)
                                      if n == 1 and out[lead + k] != 1)
    summed = tuple(n for k, n in enumerate(out) if k not in axes)
    return axes, (shape if summed != shape else None), sign


def compile_program(expr: Expr, wrt: Sequence[str], shapes: Mapping[str, Shape]) -> Program:
    """Compile ``expr`` for reverse mode (cached on the expression).

    Args:
        expr: the expression.
        wrt: names of the variables to differentiate with respect to.
        shapes: every variable's shape.
    Returns:
        the ``Program``.
    Raises:
        ValueError: shapes that do not fit (naming the op and shapes), or a wrt name that is
            not a variable of ``expr``.
    """
    wrt = tuple(wrt)
    key = ("reverse-program", wrt, tuple(sorted((n, tuple(s)) for n, s in shapes.items())))
    cache = expr.cache()
    if key in cache:
        return cache[key]
    with gc_paused():  # a million-node plan makes millions of tuples: skip GC scans
        plan = compile_plan(expr)
        for name in wrt:
            if name not in plan.var_slots:
                raise ValueError(f"reverse: cannot differentiate with respect to {name!r}: the "
                                 f"expression's variables are "
                                 f"{', '.join(plan.variables) or 'none'}")
        slot_shapes = infer_shapes(plan, shapes)
        program = _compile(plan, wrt, slot_shapes)
    cache[key] = program
    return program


def _compile(plan: Plan, wrt: tuple[str, ...], slot_shapes: list[Shape]) -> Program:
    n, ops, args = plan.size, plan.ops, plan.args
    # depends[s]: s is a function of some wrt variable (a forward pass over the slots)
    depends = [False] * n
    for name in wrt:
        depends[plan.var_slots[name]] = True
    for s, a in enumerate(args):
        if a and (depends[a[0]] or depends[a[-1]] or (len(a) == 3 and depends[a[1]])) and \
                ops[s] not in COMPARISONS:  # (a comparison is a constant mask)
            depends[s] = True
    # One backward pass. reaches[s]: the output depends on s (every slot of a plan does, but
    # the sweep must not rely on it); needed = depends and reaches. live[s]: the sweep reads
    # s's primal, or computes one it reads from s (the forward pass may skip the others).
    reaches, needed, live = [False] * n, [False] * n, [False] * n
    reaches[plan.out] = True
    backward = []
    for s in range(n - 1, -1, -1):
        a = args[s]
        if not reaches[s] or not a:
            if live[s]:  # read by a rule though no cotangent reaches it (a mask): computed
                for i in a:
                    live[i] = True
            continue
        for i in a[_FIRST_CARRIED.get(ops[s], 0):]:  # a mask's operands get no cotangent
            reaches[i] = True
        if depends[s]:
            needed[s] = True
            if ops[s] not in _READS_NO_PRIMAL:
                live[s] = True
                for i in a:
                    live[i] = True
            if len(a) == 1:  # (the common case, inlined: a million-node chain compiles fast)
                backward.append((vjp_rules[ops[s]], s, a[0], -1, None, None, None))
            else:
                backward.append(_binary_entry(plan, s, slot_shapes, depends))
        if live[s]:
            for i in a:
                live[i] = True
    for name in wrt:
        needed[plan.var_slots[name]] = True
        if not reaches[plan.var_slots[name]]:  # used only in masks: its cotangent is 0
            backward.append((_zero_vjp(slot_shapes[plan.var_slots[name]]), plan.out,
                             plan.var_slots[name], -1, None, None, None))
    forward, live_forward, template = [], [], [None] * n
    for s, a in enumerate(args):
        if a:
            if len(a) == 3:  # concat: its third argument, the axis, is a constant bound here
                step = (bind_param(FORWARD[ops[s]], plan.attrs[a[2]]), s, a[0], a[1])
            else:
                step = (FORWARD[ops[s]], s, a[0], a[1] if len(a) == 2 else -1)
            forward.append(step)
            if live[s]:
                live_forward.append(step)
        elif ops[s] == "const":
            attr = plan.attrs[s]
            template[s] = np.float64(attr) if isinstance(attr, float) else attr
    drops = _drops(plan, live_forward, backward, slot_shapes)
    return Program(plan, wrt, slot_shapes, needed, forward, live_forward, backward, template,
                   drops=drops, frees=any(drops), sparse=any(op in _SPARSE for op in plan.ops))


def _drops(plan: Plan, live_forward: list, backward: list, slot_shapes: list) -> list:
    """Per step of ``live_forward``, the arrays a lean forward pass may free after it: those no
    later step reads and no backward rule reads by value, each with its stand-in (a read-only
    zero-stride NaN array of its shape, so a rule that reads its shape or rank still can)."""
    ops, n = plan.ops, plan.size
    kept = [False] * n
    for _rule, s, i, j, need, *_ in backward:
        reads = VALUE_READS[ops[s]](need) if ops[s] in VALUE_READS else "aby"
        for name, slot in (("a", i), ("b", j), ("y", s)):
            if slot >= 0 and name in reads:
                kept[slot] = True
    last = {}
    for p, (_fn, _s, i, j) in enumerate(live_forward):
        last[i] = p
        if j >= 0:
            last[j] = p
    stand_ins: dict = {}
    drops = [()] * len(live_forward)
    for p, (_fn, s, i, j) in enumerate(live_forward):
        done = [a for a in {i, j, s} if a >= 0 and last.get(a, p) == p]
        drop = tuple((a, _stand_in(slot_shapes[a], stand_ins)) for a in sorted(done)
                     if not kept[a] and slot_shapes[a] and ops[a] not in ("var", "const"))
        if drop:
            drops[p] = drop
    return drops


def _stand_in(shape: Shape, made: dict):
    """A read-only NaN array of ``shape`` taking no memory (one per shape)."""
    if shape not in made:
        made[shape] = filled(np.nan, shape)
    return made[shape]


def _binary_entry(plan: Plan, s: int, slot_shapes: list[Shape], depends: list[bool]) -> tuple:
    """Binary slot ``s``'s step of the backward program: (rule, s, i, j, need, fix_i, fix_j).
    A concat's constant axis (its third argument) is bound into its rule."""
    op, (i, j) = plan.ops[s], plan.args[s][:2]
    if len(plan.args[s]) == 3:
        rule, param = vjp_rules[op], plan.attrs[plan.args[s][2]]
        return (lambda y_bar, a, b, y, need: rule(y_bar, a, b, param, y, need), s, i, j,
                _NEED[depends[i], depends[j]], None, None)
    fix_i = fix_j = None
    rule = vjp_rules[op]
    if op in ELEMENTWISE_BINARY:
        fix_i = _unbroadcast_fix(slot_shapes[i], slot_shapes[s])
        fix_j = _unbroadcast_fix(slot_shapes[j], slot_shapes[s], -1.0 if op == "sub" else 1.0)
        if op == "sub" and fix_j is not None:  # a - b, b broadcast: y_bar summed, then negated
            rule = vjp_rules["add"]            # (one pass over y_bar, not two)
    return (rule, s, i, j, _NEED[depends[i], depends[j]], fix_i, fix_j)


# The first argument a cotangent flows to, where not the first (a comparison: none, a select:
# not its mask), so the sweep never meets a slot without a cotangent.
_FIRST_CARRIED = {**{op: 2 for op in COMPARISONS}, "select": 1, "select_not": 1}


def _zero_vjp(shape: Shape):
    """The step of a wrt variable no cotangent reaches: zeros of its shape."""
    return lambda y_bar, x, y: np.zeros(shape) if shape else np.float64(0.0)


# Rules that read neither the arguments' primals nor the result: y_bar passes straight on.
# (transpose reads its result's rank, to keep a batch axis of cotangents in front.)
_READS_NO_PRIMAL = frozenset({"neg", "add", "sub"})
_NEED = {(p, q): (p, q) for p in (False, True) for q in (False, True)}  # shared tuples
_SPARSE = frozenset({"reduce_max", "reduce_min", "index"})  # may send sparse cotangents
