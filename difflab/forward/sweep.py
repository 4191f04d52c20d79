"""The tangent sweep over a plan: forward mode for an IR expression, all directions at once.

After the primal pass the sweep walks the plan once more, pushing tangents with a LEADING AXIS
OF DIRECTIONS (shape ``(k,) + value shape``), seeded with the identity over every scalar input
in ``wrt``, so a whole gradient or Jacobian is one pass. Constants have no tangent (None, never
zeros); a tangent is dropped after its last use. The rules are ``rules.jvp_rules``.
"""
from __future__ import annotations

import builtins
import math
import operator
from collections.abc import Mapping, Sequence

import numpy as np

from ..core.evaluate import PointError
from ..core.expr import Expr
from ..core.ops import COMPARISONS, ELEMENTWISE_BINARY, PRIMAL, bind_param
from ..core.plan import compile_plan, gc_paused
from ..core.shapes import infer_shapes
from ..protocol import Shape
from .dual import relu
from .rules import jvp_rules
from .values import _ONE, _ZERO, _fit, _shape

# ---- the tangent sweep over a plan --------------------------------------------------------
TANGENT_BUDGET = 2 ** 22  # floats per slot tangent; more directions are pushed in chunks
SEED_BUDGET = 2 ** 24     # floats in one pass's seeds: chunk x the inputs those directions hit
SCALAR_PASSES = 4         # up to this many directions of a scalar expression: one pass each
MASK_PASSES = 4096        # up to this many passes the work is counted per pass (``_cost``)
# What one call may cost, checked at prepare time (``Sweep.check_budget``); options
# ``max_work=`` and ``max_memory=`` raise or lower them. Work: every direction's tangent runs
# through every slot that depends on a wrt variable, so directions x the floats of one
# direction's pass (a matmul slot counts its output x the contracted length; a Hessian has n
# outer passes of that). Measured: 1e8 (elementwise ops, memory-bound) to 3e9 (matmuls)
# floats a second, so the default is seconds to about half a minute. Memory: the result
# (directions x output size) and one pass's live tangents.
WORK_BUDGET = 2 ** 32     # floats of tangent work in one call
MEMORY_BUDGET = 2 ** 28   # floats held at once (2 GiB)


class ForwardTooLarge(ValueError):
    """The derivative is beyond forward mode's budget: too much work or memory."""


def bind_param_rule(rule, param):
    """A rule of (a, b, param) as a binary rule: the constant parameter bound (concat)."""
    def bound(a, b, y, a_dot, b_dot):
        return rule(a, b, param, y, a_dot, b_dot, None)
    return bound


class _Broadcast:
    """A binary rule at a slot where NumPy broadcasts the operands: pad each tangent with unit
    axes after the direction axis (so trailing axes align), then spread the result's tangent to
    the full (directions,) + output shape if the rule handed back a narrower one."""

    __slots__ = ("rule", "pad_a", "pad_b", "out_shape", "lead")

    def __init__(self, rule, pad_a, pad_b, out_shape, lead):
        self.rule, self.pad_a, self.pad_b = rule, pad_a, pad_b
        self.out_shape, self.lead = out_shape, lead

    def __call__(self, a, b, y, a_dot, b_dot):
        t = a_dot if a_dot is not None else b_dot
        k = _shape(t)[:1] if self.lead else ()
        if a_dot is not None and self.pad_a is not None:
            a_dot = np.reshape(a_dot, k + self.pad_a)
        if b_dot is not None and self.pad_b is not None:
            b_dot = np.reshape(b_dot, k + self.pad_b)
        return _fit(self.rule(a, b, y, a_dot, b_dot), k + self.out_shape)


class Sweep:
    """The tangent sweep of one (expression, wrt, shapes), compiled at prepare time.

    Directions are the scalar inputs of the ``wrt`` variables in order (``blocks`` holds each
    variable's (name, slot, offset, size, shape)). ``forward`` computes every slot's value;
    ``steps`` holds ``(slot, rule, a, b, dead)`` for every slot that depends on a wrt variable
    (``b = -1`` for a unary op; ``dead``: the tangents used there for the last time). ``chunk``
    directions are pushed per pass; with ``chunk == 1`` tangents have no direction axis at all
    (NumPy scalars for a scalar expression).
    """

    def __init__(self, expr: Expr, wrt: Sequence[str], shapes: Mapping[str, Shape],
                 chunk: int | None = None):
        with gc_paused():  # a million-node plan makes millions of tuples: skip GC scans
            plan = self.plan = compile_plan(expr)
            for name in wrt:
                if name not in plan.var_slots:
                    raise PointError(f"forward: cannot differentiate with respect to {name!r}: "
                                     f"the expression's variables are "
                                     f"{', '.join(plan.variables) or 'none'}")
            slot_shapes = infer_shapes(plan, shapes)
            self._compile(tuple(wrt), slot_shapes, chunk)

    def _compile(self, wrt: tuple[str, ...], slot_shapes: list[Shape], chunk) -> None:
        plan, ops, args = self.plan, self.plan.ops, self.plan.args
        self.wrt, self.out, self.out_shape = wrt, plan.out, slot_shapes[plan.out]
        self.blocks, n = [], 0
        for name in wrt:
            slot = plan.var_slots[name]
            size = math.prod(slot_shapes[slot])
            self.blocks.append((name, slot, n, size, slot_shapes[slot]))
            n += size
        self.n = n
        active = [False] * plan.size  # depends on a wrt variable
        for block in self.blocks:
            active[block[1]] = True
        order = []                    # the slots that get a tangent, in topological order
        last = {}                     # slot -> the step slot that reads its tangent last
        self.template = [None] * plan.size  # slot values with the constants filled in
        self.forward = []                   # (fn, slot, a, b) for every op slot
        forward, primal = self.forward, FAST_PRIMAL
        for slot, a in enumerate(args):
            if not a:
                if ops[slot] == "const":
                    attr = plan.attrs[slot]
                    self.template[slot] = np.float64(attr) if isinstance(attr, float) else attr
                continue
            if len(a) == 1:
                forward.append((primal[ops[slot]], slot, a[0], -1))
            elif len(a) == 2:
                forward.append((primal[ops[slot]], slot, a[0], a[1]))
            else:  # concat: its third argument, the axis, is a constant bound here
                forward.append((bind_param(primal[ops[slot]], plan.attrs[a[2]]), slot, a[0],
                                a[1]))
            if (active[a[0]] or active[a[-1]] or (len(a) == 3 and active[a[1]])) and \
                    ops[slot] not in COMPARISONS:  # (a comparison is a constant mask)
                active[slot] = True
                order.append(slot)
                for arg in a:
                    if active[arg]:
                        last[arg] = slot
        active_shapes = {slot_shapes[s] for s in order} | {b[4] for b in self.blocks}
        scalar_only = active_shapes <= {()}
        widest = builtins.max([math.prod(s) for s in active_shapes] or [1])
        if chunk is None:  # all directions in one pass, within the memory budget; a few
            # directions of a scalar expression go faster one by one on NumPy scalars
            chunk = 1 if scalar_only and n <= SCALAR_PASSES else \
                TANGENT_BUDGET // builtins.max(widest, 1)  # (0 for zero-size slots only)
            # A pass seeds each input block its directions reach with a (chunk,) + shape
            # identity slice: chunk x (up to chunk + 2 blocks) floats. Many scalar inputs (a
            # 100,000-input sum) would otherwise seed n x n floats in one pass.
            biggest = builtins.max([b[3] for b in self.blocks] or [1])
            while chunk > 1 and chunk * builtins.min(n, chunk + 2 * biggest) > SEED_BUDGET:
                chunk //= 2
        elif isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
            raise ValueError(f"forward: option chunk must be a positive integer, got {chunk!r}")
        self.chunk = builtins.max(1, builtins.min(chunk, n))
        self.lead = self.chunk > 1

        dead = {}
        for a, s in last.items():
            dead[s] = dead.get(s, ()) + (a,)
        rules, steps, alive, peak = jvp_rules, [], len(self.blocks), len(self.blocks)
        for s in order:
            a = args[s]
            if len(a) == 1:
                steps.append((s, rules[ops[s]], a[0], -1, dead.get(s, ())))
            elif len(a) == 3:
                steps.append((s, bind_param_rule(rules[ops[s]], plan.attrs[a[2]]), a[0], a[1],
                              dead.get(s, ())))
            else:
                rule = self._broadcasting(ops[s], slot_shapes[a[0]], slot_shapes[a[1]],
                                          slot_shapes[s])
                steps.append((s, rule, a[0], a[1], dead.get(s, ())))
            alive += 1
            peak = alive if alive > peak else peak
            alive -= len(dead.get(s, ()))
        self.steps, self.peak = steps, peak
        self._cost(order, dead, slot_shapes)
        self.fused = None  # the fused pass of ``derivative``, made on first use

        self.var_items = tuple(plan.var_slots.items())
        # Seeds are made once when they are small (all of them hold n * n floats)
        self.seeds = self._seeds(0, self.chunk) if self.chunk >= n else None
        self.chunk_seeds = list(self._chunks()) if n * n <= TANGENT_BUDGET else None

    def _cost(self, order: list, dead: dict, slot_shapes: list[Shape]) -> None:
        """``work``: the floats of tangent one call pushes - at each slot (and seed), the
        directions of the passes that reach it times its size (a matmul: times the contracted
        length); ``peak_floats``: the floats of one direction's tangents alive at once. The
        passes reaching a slot are a bitmask (OR of its arguments'); beyond ``MASK_PASSES``
        passes every direction is counted at every slot (an upper bound)."""
        ops, args, chunk, n = self.plan.ops, self.plan.args, self.chunk, self.n
        exact = -(-n // chunk) <= MASK_PASSES
        reach = {}  # slot -> the passes reaching it, while its tangent is alive
        work = floats = 0
        for _, slot, off, size, _ in self.blocks:
            first, end = off // chunk, (off + size - 1) // chunk + 1
            reach[slot] = ((1 << (end - first)) - 1) << first if exact else 0
            work += (builtins.min((end - first) * chunk, n) if exact else n) * size
            floats += size
        peak = floats
        for s in order:
            a, size = args[s], math.prod(slot_shapes[s])
            k = n
            if exact:
                bits = reach.get(a[0], 0) | reach.get(a[-1], 0)
                reach[s] = bits
                k = builtins.min(bits.bit_count() * chunk, n)
            work += k * size * (slot_shapes[a[0]][-1] if ops[s] == "matmul" else 1)
            floats += size
            peak = floats if floats > peak else peak
            for d in dead.get(s, ()):
                floats -= math.prod(slot_shapes[d])
                reach.pop(d, None)
        self.work, self.peak_floats = work, peak

    def check_budget(self, what: str, outer: int = 1, result: int | None = None,
                     max_work: float | None = None, max_memory: float | None = None) -> None:
        """Refuse, before any pass runs, a derivative beyond the budget.

        Args:
            what: "gradient", "jacobian" or "hessian" (for the message).
            outer: passes of the whole sweep (a Hessian's n outer directions).
            result: floats in the result (default: directions x output size).
            max_work, max_memory: the budgets (default ``WORK_BUDGET``, ``MEMORY_BUDGET``).
        Raises:
            ForwardTooLarge: with the numbers and the option that raises the budget.
        """
        max_work = WORK_BUDGET if max_work is None else max_work
        max_memory = MEMORY_BUDGET if max_memory is None else max_memory
        work = self.work * outer
        if work > max_work:
            outer = f" per outer pass x {outer:,} outer passes = {work:.3g}" if outer > 1 else ""
            raise ForwardTooLarge(
                f"forward {what} too large: its {self.n:,} directions push {self.work:.3g} "
                f"floats of tangent through the slots they reach{outer}, over the budget of "
                f"{max_work:.3g}; pass max_work= to raise it"
                + (", or use reverse mode (one sweep for a gradient)" if what == "gradient"
                   else ""))
        result = self.n * math.prod(self.out_shape) if result is None else result
        live = self.chunk * self.peak_floats
        if result + live > max_memory:
            raise ForwardTooLarge(
                f"forward {what} too large: it holds {result + live:.3g} floats at once "
                f"({result:.3g} in the result, {live:.3g} in live tangents), "
                f"{(result + live) * 8 / 2 ** 30:,.1f} GiB, over the budget of "
                f"{max_memory:.3g} floats; pass max_memory= to raise it"
                + (" (or chunk= to push fewer directions at once)" if live > result else ""))

    def _broadcasting(self, op: str, sa: Shape, sb: Shape, out: Shape):
        """The binary rule, wrapped in a ``_Broadcast`` where the operands' shapes differ."""
        rule = jvp_rules[op]
        if op == "matmul":
            if len(sa) > 2 or len(sb) > 2:  # stacks: the rule aligns the directions itself
                return rule
            pad = [None, None]
            for i, s in enumerate((sa, sb)):  # stacks: align the batch axes after directions
                if self.lead and 2 <= len(s) < len(out):
                    pad[i] = (1,) * (len(out) - len(s)) + s
            return rule if pad == [None, None] else _Broadcast(rule, *pad, out, self.lead)
        if op not in ELEMENTWISE_BINARY or (sa == out and sb == out):
            return rule
        pad = [(1,) * (len(out) - len(s)) + s if self.lead and len(s) < len(out) else None
               for s in (sa, sb)]
        return _Broadcast(rule, *pad, out, self.lead)

    def _seeds(self, c0: int, c1: int) -> list[tuple[int, object]]:
        """(slot, tangent) of the wrt variables that directions c0..c1-1 reach: identity
        blocks. The others have no tangent in this pass (None, not zeros)."""
        seeds = []
        for _, slot, off, size, shape in self.blocks:
            if off + size <= c0 or off >= c1:
                continue
            if self.lead:  # seed[r, j] = 1 where direction c0 + r is input off + j
                seed = np.eye(c1 - c0, size, k=c0 - off).reshape((c1 - c0,) + shape)
            elif shape:
                seed = np.zeros(size)
                if off <= c0 < off + size:
                    seed[c0 - off] = 1.0
                seed = seed.reshape(shape)
            else:
                seed = _ONE if c0 == off else _ZERO
            seed.setflags(write=False) if seed.__class__ is np.ndarray else None
            seeds.append((slot, jvp_rules["var"](None, seed)))
        return seeds

    def chunks(self):
        """(c0, c1, seeds) per pass over the directions."""
        return self.chunk_seeds if self.chunk_seeds is not None else self._chunks()

    def _chunks(self):
        for c0 in range(0, self.n, self.chunk):
            c1 = builtins.min(c0 + self.chunk, self.n)
            yield c0, c1, self._seeds(c0, c1)

    def leaves(self, point: Mapping) -> list:
        """Slot values with the constants and the (validated) point's variables filled in."""
        values = self.template.copy()
        for name, slot in self.var_items:
            v = point[name]
            values[slot] = np.float64(v) if v.__class__ is float else v
        return values

    def record(self, values: list) -> list:
        """Fill every op slot of ``values`` (from ``leaves``) with its primal value."""
        for fn, s, a, b in self.forward:
            values[s] = fn(values[a]) if b < 0 else fn(values[a], values[b])
        return values

    def push(self, values: list, seeds) -> object:
        """The output's tangent for the seeded directions (None if it does not vary)."""
        tangents = [None] * len(values)
        for slot, seed in seeds:
            tangents[slot] = seed
        for slot, rule, a, b, dead in self.steps:
            if b < 0:
                if tangents[a] is not None:  # (None: unseeded in this pass, so constant)
                    tangents[slot] = rule(values[a], values[slot], tangents[a])
            elif tangents[a] is not None or tangents[b] is not None:
                tangents[slot] = rule(values[a], values[b], values[slot], tangents[a],
                                      tangents[b])
            for d in dead:
                tangents[d] = None
        return tangents[self.out]

    def derivative(self, point: Mapping) -> float:
        """d out / d x for the one scalar input: values and tangents in one fused pass (the
        cheapest derivative of all for a function of one variable)."""
        fused = self.fused
        if fused is None:  # (fn, rule or None where the slot carries no tangent, s, a, b)
            rules = {step[0]: step[1] for step in self.steps}
            fused = self.fused = [(fn, rules.get(s), s, a, b) for fn, s, a, b in self.forward]
        values = self.leaves(point)
        tangents = [None] * len(values)
        tangents[self.blocks[0][1]] = _ONE
        with np.errstate(all="ignore"):
            for fn, rule, s, a, b in fused:
                if b < 0:
                    x = values[a]
                    y = values[s] = fn(x)
                    if rule is not None:
                        tangents[s] = rule(x, y, tangents[a])
                else:
                    p, q = values[a], values[b]
                    y = values[s] = fn(p, q)
                    if rule is not None:
                        tangents[s] = rule(p, q, y, tangents[a], tangents[b])
        t = tangents[self.out]
        return 0.0 if t is None else float(t)

    def tangents(self, point: Mapping) -> np.ndarray:
        """d out / d inputs at ``point``: a fresh array of shape (n,) + output shape."""
        full = (self.n,) + self.out_shape
        with np.errstate(all="ignore"):
            values = self.record(self.leaves(point))
            if self.seeds is not None:  # one pass (the usual case)
                t = self.push(values, self.seeds)
                return np.zeros(full) if t is None else np.array(t, dtype=np.float64).reshape(full)
            parts = []
            for c0, c1, seeds in self.chunks():
                t = self.push(values, seeds)
                if t is None:
                    t = np.zeros(((c1 - c0,) if self.lead else ()) + self.out_shape)
                parts.append(t)
            return np.concatenate(parts) if self.lead else np.array(parts, dtype=np.float64)

    def info(self) -> dict:
        """What the preparation made: sizes, directions, passes, the most tangents alive."""
        return {"method": "forward", "slots": self.plan.size, "active_slots": len(self.steps),
                "directions": self.n, "chunk": self.chunk,
                "passes": -(-self.n // self.chunk), "peak_live_tangents": self.peak}


# The primal pass: PRIMAL's NumPy functions, with arithmetic through Python's operators (the
# same IEEE operations on NumPy scalars, without the ufunc dispatch). Values are np.float64 or
# arrays, never Python floats, so x / 0 is inf, not ZeroDivisionError.
FAST_PRIMAL = {**PRIMAL, "neg": operator.neg, "add": operator.add, "sub": operator.sub,
               "mul": operator.mul, "div": operator.truediv, "pow": operator.pow,
               "matmul": operator.matmul, "relu": relu}  # (relu: see _DUAL_PRIMAL)
