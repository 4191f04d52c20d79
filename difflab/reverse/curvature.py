"""Hessians and Hessian-vector products, forward over reverse, all directions in one sweep.

d/dt of the gradient along a direction v is H v. Seed every wrt variable with a ``Jet``
carrying k directions at once (the identity for a Hessian, k = n; one vector for an HVP), run
the program's forward pass and its unchanged backward sweep on Jets, and the gradient comes
back with k tangents: k columns of H from one sweep. Where a whole batch would not fit
``JET_BUDGET`` floats per slot, the directions go in chunks of k.

Two sweeps do this, as for the gradient:

- ``SlotHessian``: the per-slot program of ``program.py`` (any shapes), on Jets.
- ``LevelHessian``: a big, shallow all-scalar graph on its level schedule (``levels.py``), with
  the tangents of the slots that have them as the rows of (rows, k) arrays: a group's forward
  tangents by forward mode's rules, its backward step by the SAME vjp rule called on Jets of
  the gathered values, its tangent rows scattered back with their sums. When H's pattern is
  sparse (``sparsity``: Rosenbrock's is banded), the k directions are p column groups, not the
  n unit vectors: 3 directions for a tridiagonal H of any n.

Both compute forward tangents only where the backward sweep reads a primal, and carry none on
a cotangent that depends on no direction (the output's 1, the adds above it): those stay plain
numbers. ``JET_OPS`` are the ops whose rules are known to run on Jets; an expression with any
other op takes ``by_directions``: one forward-over-reverse sweep per direction on forward
mode's Duals.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from ..core.expr import Expr
from ..core.levels import IDENTITY, Schedule, scalar_schedule
from ..core.ops import PRIMAL
from ..core.plan import gc_paused
from ..protocol import Shape
from . import sparsity
from .jet import Jet, binary, jet, unary
from .program import _READS_NO_PRIMAL, Program, compile_program
from .rules import _ONE, vjp_rules
from .sweep import sweep

JET_BUDGET = 2 ** 22  # floats in one slot's tangents (k x its size); more directions: chunks
JET_OPS = frozenset((
    "const", "var", "neg", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh",
    "exp", "log", "log1p", "expm1", "sqrt", "abs", "sigmoid", "relu", "softplus", "sum",
    "mean", "transpose", "add", "sub", "mul", "div", "pow", "max", "min", "matmul"))


# ---- the per-slot sweep on Jets ----------------------------------------------------------------
class SlotHessian:
    """Forward over reverse on a compiled program: ``products`` runs one sweep on Jets."""

    def __init__(self, program: Program):
        self.program = program
        ops = program.plan.ops
        self.steps = [(ops[s], s, i, j) for _, s, i, j in program.live_forward]
        self.slots = [program.plan.var_slots[name] for name in program.wrt]
        self.widest = max([math.prod(program.shapes[s]) for s, need in
                           enumerate(program.needed) if need] + [1])

    def products(self, point: Mapping, dots: list) -> list:
        """d gradient / d t for k directions: per wrt variable, (k,) + shape, or None where
        its gradient does not vary along them.

        Args:
            point: a validated point.
            dots: per wrt variable its tangents, (k,) + shape, or None.
        """
        program = self.program
        values = program.template.copy()
        for name, slot in program.plan.var_slots.items():
            v = point[name]
            values[slot] = np.float64(v) if v.__class__ is float else v
        for slot, dot in zip(self.slots, dots, strict=True):
            values[slot] = jet(values[slot], dot)
        for op, s, i, j in self.steps:
            values[s] = unary(op, values[i]) if j < 0 else binary(op, values[i], values[j])
        bars = sweep(program, values, _ONE, None, True)
        return [bar.dot if bar.__class__ is Jet else None for bar in (bars[s] for s in self.slots)]


# ---- the level schedule with (slots, k) tangent rows ---------------------------------------
def _same_jvp(x, y, x_dot):
    return x_dot  # sum, mean, transpose of a scalar: the identity


def _same_vjp(y_bar, x, y):
    return y_bar


def _reads(op: str, need_a: bool, need_b: bool) -> tuple[bool, bool, bool]:
    """Which primals (a, b, y) op's vjp rule reads for the cotangents ``need`` asks for: only
    those need tangents. Linear ops read none; mul's a_bar reads b and its b_bar a; div's
    a_bar = y_bar / b and b_bar = -a_bar y; pow's a_bar reads a and b, its b_bar a and y. Any
    other op: all of them."""
    if op in _READS_NO_PRIMAL or op in IDENTITY:
        return False, False, False
    if op == "mul":
        return need_b, need_a, False
    if op == "div":
        return False, True, need_b
    if op == "pow":
        return True, need_a, need_b
    return True, True, True


def _gatherer(index: np.ndarray):
    """How to add rows at ``index`` into an array: None where the indices are distinct (a
    plain fancy +=), else (order, starts, unique) to sum repeated ones first."""
    if len(np.unique(index)) == len(index):
        return None
    order = np.argsort(index, kind="stable")
    sorted_index = index[order]
    starts = np.flatnonzero(np.r_[True, sorted_index[1:] != sorted_index[:-1]])
    return order, starts, sorted_index[starts]


def _add_rows(T: np.ndarray, index: np.ndarray, how, rows: np.ndarray) -> None:
    if how is None:
        T[index] += rows
    else:
        order, starts, unique = how
        T[unique] += np.add.reduceat(rows[order], starts, axis=0)


class LevelHessian:
    """Forward over reverse on a scalar graph's level schedule."""

    def __init__(self, schedule: Schedule, wrt: tuple[str, ...]):
        from ..forward.rules import jvp_rules  # (forward mode's rules: the tangent pass)

        plan = self.plan = schedule.plan
        self.schedule, self.wrt = schedule, wrt
        self.slots = np.array([plan.var_slots[name] for name in wrt], dtype=np.intp)
        n = plan.size
        active = np.zeros(n, dtype=bool)  # depends on a wrt variable
        active[self.slots] = True
        for _, out, a, b in schedule.groups:
            active[out] = active[a] if b is None else active[a] | active[b]
        # the backward groups: (op, out, a, b, need_a, need_b), split as reverse.levels does
        backward = []
        for op, out, a, b in reversed(schedule.groups):
            need_a = active[a]
            need_b = np.zeros_like(need_a) if b is None else active[b]
            code = 2 * need_a.astype(np.intp) + need_b
            for c in (3, 2, 1):
                sel = code == c
                if sel.any():
                    backward.append((op, out[sel], a[sel], None if b is None else b[sel],
                                     bool(c & 2), bool(c & 1)))
        # tangents: of the primals the backward rules read, and of what those depend on
        live = np.zeros(n, dtype=bool)
        for op, out, a, b, need_a, need_b in backward:
            reads = _reads(op, need_a, need_b)
            for s, r in ((a, reads[0]), (b, reads[1]), (out, reads[2])):
                if r and s is not None:
                    live[s] |= active[s]
        for _, out, a, b in reversed(schedule.groups):
            for s in (a,) if b is None else (a, b):
                live[s] |= active[s] & live[out]
        # the backward steps, split once more by which of y_bar, y, a, b carry tangents
        carry = np.zeros(n, dtype=bool)  # the cotangent has tangents
        steps = []
        for op, out, a, b, need_a, need_b in backward:
            rule = _same_vjp if op in IDENTITY else vjp_rules[op]
            reads = _reads(op, need_a, need_b)
            bits = [carry[out], reads[2] & active[out], reads[0] & active[a],
                    reads[1] & active[b] if b is not None else np.zeros(len(out), dtype=bool)]
            code = sum(bit.astype(np.intp) << k for k, bit in enumerate(bits))
            for c in np.unique(code):
                sel = code == c
                o, x, z = out[sel], a[sel], None if b is None else b[sel]
                flags = tuple(bool(c >> k & 1) for k in range(4))
                makes = any(flags)  # the arguments' cotangents get tangents
                if need_a:
                    carry[x] |= makes
                if need_b:
                    carry[z] |= makes
                steps.append((rule, o, x, z, (need_a, need_b), flags, makes))
        # Tangent rows only for the slots that have them: T for ``live`` (and the seeds), B
        # for ``carry``; ``t_row``/``b_row`` map a slot to its row.
        live[self.slots] = carry[self.slots] = True
        t_row, b_row = np.full(n, -1, dtype=np.intp), np.full(n, -1, dtype=np.intp)
        t_row[live] = np.arange(int(live.sum()))
        b_row[carry] = np.arange(int(carry.sum()))
        self.t_rows, self.b_rows = int(live.sum()), int(carry.sum())
        self.t_seeds, self.b_slots = t_row[self.slots], b_row[self.slots]
        self.forward = []  # (rule, out, a, b or None, rows of out, a, b (or None))
        for op, out, a, b in schedule.groups:
            keep = live[out]
            if not keep.any():
                continue
            rule = _same_jvp if op in IDENTITY else jvp_rules[op]
            has_a = active[a] & keep
            if b is None:
                o, x = out[keep], a[keep]
                self.forward.append((rule, o, x, None, t_row[o], t_row[x], None))
                continue
            code = 2 * has_a.astype(np.intp) + (active[b] & keep)
            for c in (3, 2, 1):
                sel = code == c
                if sel.any():
                    o, x, z = out[sel], a[sel], b[sel]
                    self.forward.append((rule, o, x, z, t_row[o], t_row[x] if c & 2 else None,
                                         t_row[z] if c & 1 else None))
        self.backward = []  # (rule, out, a, b, need, rows: B of out, T of out, a, b; scatter)
        for rule, o, x, z, need, (j_bar, j_y, j_a, j_b), makes in steps:
            rows = (b_row[o] if j_bar else None, t_row[o] if j_y else None,
                    t_row[x] if j_a else None, t_row[z] if j_b else None)
            into_a = (b_row[x], _gatherer(b_row[x])) if need[0] and makes else None
            into_b = (b_row[z], _gatherer(b_row[z])) if need[1] and makes else None
            self.backward.append((rule, o, x, z, need, *rows, into_a, into_b))

    def products(self, point: Mapping, V: np.ndarray) -> np.ndarray:
        """H V for the wrt scalars: V (n, k) directions -> (n, k)."""
        values = self.schedule.evaluate(point)
        k = V.shape[1]
        T = np.zeros((self.t_rows, k))  # T[row of s] = d slot s / d t
        T[self.t_seeds] = V
        with np.errstate(all="ignore"):
            for rule, out, a, b, r_out, r_a, r_b in self.forward:
                if b is None:
                    T[r_out] = rule(values[a], values[out], T[r_a].T).T
                else:
                    T[r_out] = rule(values[a], values[b], values[out],
                                    None if r_a is None else T[r_a].T,
                                    None if r_b is None else T[r_b].T).T
            bars = np.zeros(len(values))
            bars[self.plan.out] = 1.0
            B = np.zeros((self.b_rows, k))  # B[row of s] = d bar_s / d t
            add_at = np.add.at
            for rule, out, a, b, need, rb_out, rt_out, rt_a, rt_b, into_a, into_b in \
                    self.backward:
                y_bar = jet(bars[out], None if rb_out is None else B[rb_out].T)
                x = jet(values[a], None if rt_a is None else T[rt_a].T)
                y = jet(values[out], None if rt_out is None else T[rt_out].T)
                if b is None:
                    results = ((a, rule(y_bar, x, y), into_a),)
                else:
                    z = jet(values[b], None if rt_b is None else T[rt_b].T)
                    a_bar, b_bar = rule(y_bar, x, z, y, need)
                    results = ((a, a_bar, into_a), (b, b_bar, into_b))
                for index, bar, into in results:
                    if bar is None:
                        continue
                    if bar.__class__ is Jet:
                        add_at(bars, index, bar.value)
                        _add_rows(B, into[0], into[1], bar.dot.T)
                    else:
                        add_at(bars, index, bar)
        return B[self.b_slots]

    def info(self) -> dict:
        """Sizes for ``Prepared.info``."""
        return {"sweep": "levels", "levels": self.schedule.levels,
                "forward_groups": len(self.forward), "backward_groups": len(self.backward)}


def by_directions(program: Program, point: Mapping, blocks: list) -> np.ndarray:
    """The flat Hessian (n, n), one forward-over-reverse sweep per direction on forward
    mode's Duals (for expressions with ops outside ``JET_OPS``)."""
    from .. import forward  # the Dual numbers

    # On a Dual, PRIMAL's relu (np.maximum(x, 0)) would take max's tie rule, 1/2 at x = 0;
    # forward.relu takes relu's own rule, 0 (as JAX), so the Hessian's column is right there.
    program = replace(program, derived={}, live_forward=[
        (forward.relu if fn is PRIMAL["relu"] else fn, s, i, j)
        for fn, s, i, j in program.live_forward])
    n = sum(b[3] for b in blocks)
    H = np.zeros((n, n))
    for b, _, off, size, shape in blocks:
        def gradient_of_b(x_b, b=b):
            values = program.record({**point, b: x_b}, live_only=True)
            bars = sweep(program, values, _ONE)
            return [bars[slot] for _, slot, _, _, _ in blocks]

        for j in range(size):
            e_j = np.zeros(shape)
            e_j.flat[j] = 1.0
            with np.errstate(all="ignore"):
                _, columns = forward.jvp(gradient_of_b, point[b], e_j if shape else _ONE)
            for (_, _, off_a, size_a, _), column in zip(blocks, columns, strict=True):
                H[off_a:off_a + size_a, off + j] = np.ravel(column)
    return H


class Hessian:
    """H V for one (expression, wrt, shapes): on the level schedule where one exists, else on
    the per-slot program, else (ops outside ``JET_OPS``) one direction at a time."""

    def __init__(self, expr: Expr, wrt: tuple[str, ...], shapes: Mapping[str, Shape]):
        program = self.program = compile_program(expr, wrt, shapes)
        self.blocks, n = [], 0
        for name in program.wrt:  # (name, slot, offset, size, shape) of the flat inputs
            slot = program.plan.var_slots[name]
            shape = tuple(program.shapes[slot])
            self.blocks.append((name, slot, n, math.prod(shape), shape))
            n += math.prod(shape)
        self.n = n
        self.levels = self.slots = self.pattern = self.groups = None
        if set(program.plan.ops) <= JET_OPS:
            schedule = scalar_schedule(expr, wrt, shapes)
            if schedule is not None:
                with gc_paused():
                    self.levels = LevelHessian(schedule, program.wrt)
                    self.pattern = sparsity.pattern(schedule, program.wrt)
                    if self.pattern is not None:
                        self.groups = sparsity.colouring(self.pattern)
            else:
                self.slots = SlotHessian(program)

    def matrix(self, point: Mapping) -> np.ndarray:
        """The whole Hessian (n, n) at a validated point: H times the identity, or, for a
        sparse pattern, H times the p column groups of ``sparsity`` and read back."""
        if self.groups is None:
            return self.times(point, np.eye(self.n))
        HV = self.times(point, sparsity.seeds(self.groups))
        return sparsity.recover(HV, self.pattern, self.groups)

    def chunk(self) -> int:
        """Directions per sweep: all n unless k tangents of the widest slot (of every slot, on
        levels) pass ``JET_BUDGET`` floats (read here, at call time)."""
        if self.levels is not None:
            widest = self.levels.plan.size
        else:
            widest = self.slots.widest if self.slots is not None else 1
        return max(1, min(self.n, JET_BUDGET // max(widest, 1)))

    def times(self, point: Mapping, V: np.ndarray) -> np.ndarray:
        """H @ V at a validated point, for directions V of shape (n, k): shape (n, k)."""
        n, k = V.shape
        if self.levels is None and self.slots is None:
            with np.errstate(all="ignore"):
                return by_directions(self.program, point, self.blocks) @ V
        out = np.zeros((n, k))
        step = self.chunk()
        with np.errstate(all="ignore"):
            for c0 in range(0, k, step):
                part = V[:, c0:c0 + step]
                if self.levels is not None:
                    out[:, c0:c0 + step] = self.levels.products(point, part)
                    continue
                dots = [None if not part[off:off + size].any() else
                        np.ascontiguousarray(part[off:off + size].T).reshape((-1,) + shape)
                        for _, _, off, size, shape in self.blocks]
                for (_, _, off, size, _), dot in zip(
                        self.blocks, self.slots.products(point, dots), strict=True):
                    if dot is not None:
                        # (k rows given: a zero-size block has no -1 to infer)
                        out[off:off + size, c0:c0 + step] = np.reshape(
                            dot, (part.shape[1], size)).T
        return out

    def info(self) -> dict:
        """How the Hessian is swept, for ``Prepared.info``."""
        if self.levels is None and self.slots is None:
            return {"passes": "one forward + backward pass on Duals per scalar input"}
        k = self.chunk()
        p = self.n if self.groups is None else int(self.groups.max()) + 1
        info = {"passes": "forward over reverse: one sweep on Jets per chunk of directions",
                "directions": self.n, "chunk": min(k, p), "sweeps": -(-p // k)}
        if self.groups is not None:
            info["column_groups"] = p  # sparse pattern: p directions recover all of H
        return {**info, **(self.levels.info() if self.levels is not None else {})}
