"""Reverse mode: a tape (Wengert list) swept backward with vector-Jacobian products.

Backpropagation is dynamic programming on the graph. Evaluate the plan once, recording the
primal value of every slot (the *tape*); then visit the slots in reverse topological order and,
for each, turn the cotangent of its result ``y_bar = d out / d y`` into cotangents of its
arguments with the op's rule from ``vjp_rules``, adding them into what the arguments have
already received (a node used twice gets the sum). One backward sweep costs a few times one
evaluation, whatever the number of inputs.

A rule is ``rule(y_bar, x, y) -> x_bar`` for a unary op and
``rule(y_bar, a, b, y, need) -> (a_bar, b_bar)`` for a binary op, where ``need`` says which
arguments want a cotangent (the other is returned as None and never computed). Rules reuse the
primal result ``y`` where the math allows (d exp = y, d tanh = 1 - y^2) and use NumPy functions
and operators only, so the same sweep runs on floats, arrays and forward-mode ``Dual`` numbers
(which is how ``prepare_hessian`` gets forward-over-reverse). A binary elementwise rule returns
cotangents of the *output's* shape; the sweep then "unbroadcasts" them: sums over the axes an
operand was broadcast along, back to its own shape.

Preparing compiles, once per (expression, wrt, shapes), a flat backward program: one entry
``(rule, slot, argument slots, need, unbroadcast)`` per slot that needs a cotangent (one that
depends on a wrt variable AND reaches the output), in reverse topological order. Zero
cotangents are never materialised. A call is then a loop with one list step and a NumPy call or
two per node; consumed cotangents and primals are dropped as the sweep passes them.

The teaching tape (``Tape``: a recorded Wengert list to print and sweep by hand; ``Step``: one
traced backward step) lives in ``tape.py`` and is re-exported here.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from .evaluate import PRIMAL
from .ir import Expr
from .plan import Plan, compile_plan, gc_paused
from .protocol import Prepared, Shape, shaped
from .shapes import ELEMENTWISE_BINARY, infer_shapes
from .tape import Step, Tape, summary  # noqa: F401 - re-exported (the sweep records Steps)

# ---- the rules: one per op, next to its math ---------------------------------------------
RULE_TABLES = ("vjp_rules",)
vjp_rules: dict[str, Callable | None] = {}


def _shape(x) -> Shape:
    return getattr(x, "shape", ())  # floats and NumPy scalars are 0-d


# unary: rule(y_bar, x, y) -> x_bar, with y = op(x)
vjp_rules["neg"] = lambda y_bar, x, y: -y_bar
vjp_rules["sin"] = lambda y_bar, x, y: y_bar * np.cos(x)
vjp_rules["cos"] = lambda y_bar, x, y: -(y_bar * np.sin(x))
vjp_rules["tan"] = lambda y_bar, x, y: y_bar * (1.0 + y * y)              # sec^2 = 1 + tan^2
vjp_rules["asin"] = lambda y_bar, x, y: y_bar / np.sqrt(1.0 - x * x)
vjp_rules["acos"] = lambda y_bar, x, y: -y_bar / np.sqrt(1.0 - x * x)
vjp_rules["atan"] = lambda y_bar, x, y: y_bar / (1.0 + x * x)
vjp_rules["sinh"] = lambda y_bar, x, y: y_bar * np.cosh(x)
vjp_rules["cosh"] = lambda y_bar, x, y: y_bar * np.sinh(x)
vjp_rules["tanh"] = lambda y_bar, x, y: y_bar * (1.0 - y * y)
vjp_rules["exp"] = lambda y_bar, x, y: y_bar * y                          # d e^x = e^x
vjp_rules["log"] = lambda y_bar, x, y: y_bar / x
vjp_rules["log1p"] = lambda y_bar, x, y: y_bar / (1.0 + x)
vjp_rules["expm1"] = lambda y_bar, x, y: y_bar * (y + 1.0)               # d (e^x - 1) = e^x
vjp_rules["sqrt"] = lambda y_bar, x, y: y_bar * (0.5 / y)                 # 1 / (2 sqrt x)
vjp_rules["abs"] = lambda y_bar, x, y: y_bar * np.sign(x)                 # sign(0) = 0
vjp_rules["sigmoid"] = lambda y_bar, x, y: y_bar * (y * (1.0 - y))        # s' = s (1 - s)
# softplus' = sigmoid(x) = 1 - e^(-softplus(x)), computed from y without cancellation
vjp_rules["softplus"] = lambda y_bar, x, y: y_bar * -np.expm1(-y)
# relu'(x) = 1 for x > 0, else 0 (0 at the kink, as JAX); a select, so 0 * inf stays 0
vjp_rules["relu"] = lambda y_bar, x, y: np.where(x > 0.0, y_bar, 0.0)
# reductions to a scalar: every element contributed once (sum) or 1/n (mean)
vjp_rules["sum"] = lambda y_bar, x, y: np.broadcast_to(y_bar, _shape(x)) if _shape(x) else y_bar
vjp_rules["mean"] = lambda y_bar, x, y: vjp_rules["sum"](y_bar / math.prod(_shape(x)), x, y)
vjp_rules["transpose"] = lambda y_bar, x, y: np.transpose(y_bar)


# binary: rule(y_bar, a, b, y, need) -> (a_bar, b_bar), each at the output's shape
def _add_vjp(y_bar, a, b, y, need):
    return (y_bar if need[0] else None), (y_bar if need[1] else None)


def _sub_vjp(y_bar, a, b, y, need):
    return (y_bar if need[0] else None), (-y_bar if need[1] else None)


def _mul_vjp(y_bar, a, b, y, need):
    return (y_bar * b if need[0] else None), (y_bar * a if need[1] else None)


def _div_vjp(y_bar, a, b, y, need):
    a_bar = y_bar / b                                  # d(a/b)/da = 1/b
    return (a_bar if need[0] else None), (-(a_bar * y) if need[1] else None)  # -a/b^2 = -y/b


def _pow_vjp(y_bar, a, b, y, need):
    # d a^b / da = b a^(b-1) (so x**3 at -2 is 12); d a^b / db = log(a) a^b, only when the
    # exponent varies: a constant exponent must not meet log of a negative base. As JAX,
    # log(a) is taken as log(1) = 0 at a == 0 (0^b is flat in b there).
    a_bar = y_bar * (b * a ** (b - 1.0)) if need[0] else None
    b_bar = y_bar * (np.log(np.where(a == 0.0, 1.0, a)) * y) if need[1] else None
    return a_bar, b_bar


def _extremum_vjp(y_bar, a, b, y, need):
    # The operand equal to the result gets the cotangent; a tie splits it 1/2 : 1/2 (JAX's
    # balanced rule: hit / (1 + other hit)). Shared by max and min: y tells which won.
    a_hit, b_hit = a == y, b == y
    a_bar = y_bar * (a_hit / (1.0 + b_hit)) if need[0] else None
    b_bar = y_bar * (b_hit / (1.0 + a_hit)) if need[1] else None
    return a_bar, b_bar


def _matmul_vjp(y_bar, a, b, y, need):
    # y = a @ b. Matrices: a_bar = y_bar @ b^T, b_bar = a^T @ y_bar. A 1-D operand is a row
    # (on the left) or a column (on the right) that NumPy drops from the result's shape, so
    # its outer products are written with reshapes.
    nd_a, nd_b = len(_shape(a)), len(_shape(b))
    a_bar = b_bar = None
    if nd_a == 2 and nd_b == 2:                        # (m,n) @ (n,p) -> (m,p)
        if need[0]:
            a_bar = np.matmul(y_bar, np.transpose(b))
        if need[1]:
            b_bar = np.matmul(np.transpose(a), y_bar)
    elif nd_a == 2:                                    # (m,n) @ (n,) -> (m,)
        if need[0]:
            a_bar = np.reshape(y_bar, (-1, 1)) * b     # outer(y_bar, b)
        if need[1]:
            b_bar = np.matmul(y_bar, a)                # a^T y_bar
    elif nd_b == 2:                                    # (n,) @ (n,m) -> (m,)
        if need[0]:
            a_bar = np.matmul(b, y_bar)
        if need[1]:
            b_bar = np.reshape(a, (-1, 1)) * y_bar     # outer(a, y_bar)
    else:                                              # (n,) @ (n,) -> ()
        if need[0]:
            a_bar = y_bar * b
        if need[1]:
            b_bar = y_bar * a
    return a_bar, b_bar


vjp_rules.update(add=_add_vjp, sub=_sub_vjp, mul=_mul_vjp, div=_div_vjp, pow=_pow_vjp,
                 max=_extremum_vjp, min=_extremum_vjp, matmul=_matmul_vjp)
# Leaves end the sweep: a variable's cotangent is the answer, a constant never needs one.
vjp_rules["var"] = vjp_rules["const"] = None

# The forward pass: PRIMAL's NumPy functions, with the arithmetic reached through Python's
# operators (the same IEEE operations; for NumPy scalars they skip the ufunc dispatch, ~20x
# faster). Scalars are kept as np.float64, never Python floats, so x / 0 is inf, not an error.
FORWARD = {**PRIMAL, "neg": operator.neg, "add": operator.add, "sub": operator.sub,
           "mul": operator.mul, "div": operator.truediv, "pow": operator.pow,
           "matmul": operator.matmul}
_ONE = np.float64(1.0)


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

    def record(self, point: Mapping, live_only: bool = False) -> list:
        """The primal value of every slot at a (validated) point: the tape's contents.

        Args:
            point: every variable -> float, array (or ``forward.Dual``).
            live_only: compute only the slots the backward sweep reads (and what they need).
        Returns:
            the value per slot (None for the slots skipped).
        """
        values = self.template.copy()
        for name, slot in self.plan.var_slots.items():
            value = point[name]
            values[slot] = np.float64(value) if type(value) is float else value
        for fn, s, i, j in self.live_forward if live_only else self.forward:
            values[s] = fn(values[i]) if j < 0 else fn(values[i], values[j])
        return values


def _unbroadcast_fix(shape: Shape, out: Shape):
    """How to sum a cotangent of shape ``out`` back to ``shape``: (axes, reshape) or None."""
    if shape == out:
        return None
    lead = len(out) - len(shape)
    axes = tuple(range(lead)) + tuple(lead + k for k, n in enumerate(shape)
                                      if n == 1 and out[lead + k] != 1)
    summed = tuple(n for k, n in enumerate(out) if k not in axes)
    return axes, (shape if summed != shape else None)


def compile_program(expr: Expr, wrt: Sequence[str], shapes: Mapping[str, Shape]) -> Program:
    """Compile ``expr`` for reverse mode (cached on the expression).

    Args:
        expr: the expression.
        wrt: names of the variables to differentiate with respect to.
        shapes: every variable's shape.
    Returns:
        the ``Program``.
    Raises:
        ValueError: shapes that do not fit (naming the op and shapes), a matmul operand of
            more than two dimensions, or a wrt name that is not a variable of ``expr``.
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
        if a and (depends[a[0]] or depends[a[-1]]):
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
            continue
        for i in a:
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
    forward, live_forward, template = [], [], [None] * n
    for s, a in enumerate(args):
        if a:
            step = (FORWARD[ops[s]], s, a[0], a[1] if len(a) == 2 else -1)
            forward.append(step)
            if live[s]:
                live_forward.append(step)
        elif ops[s] == "const":
            attr = plan.attrs[s]
            template[s] = np.float64(attr) if isinstance(attr, float) else attr
    return Program(plan, wrt, slot_shapes, needed, forward, live_forward, backward, template)


def _binary_entry(plan: Plan, s: int, slot_shapes: list[Shape], depends: list[bool]) -> tuple:
    """Binary slot ``s``'s step of the backward program: (rule, s, i, j, need, fix_i, fix_j)."""
    op, (i, j) = plan.ops[s], plan.args[s]
    if op == "matmul" and (len(slot_shapes[i]) > 2 or len(slot_shapes[j]) > 2):
        raise ValueError(f"reverse: matmul supports 1-D and 2-D operands, got "
                         f"{slot_shapes[i]} @ {slot_shapes[j]}")
    fix_i = fix_j = None
    if op in ELEMENTWISE_BINARY:
        fix_i = _unbroadcast_fix(slot_shapes[i], slot_shapes[s])
        fix_j = _unbroadcast_fix(slot_shapes[j], slot_shapes[s])
    return (vjp_rules[op], s, i, j, _NEED[depends[i], depends[j]], fix_i, fix_j)


# Rules that read neither the arguments' primals nor the result: y_bar passes straight on.
_READS_NO_PRIMAL = frozenset({"neg", "add", "sub", "transpose"})
_NEED = {(p, q): (p, q) for p in (False, True) for q in (False, True)}  # shared tuples



# ---- the backward sweep -------------------------------------------------------------------
def sweep(program: Program, values: list, seed, trace: list | None = None,
          free: bool = False) -> list:
    """Run the backward program: cotangents of every needed slot, seeded at the output.

    Args:
        program: the compiled program.
        values: the tape (primal value per slot, from ``Program.record``).
        seed: the output's cotangent (1.0 for a gradient; a direction for a VJP).
        trace: a list to append one ``Step`` per backward step to, or None.
        free: drop each cotangent and primal once the sweep has passed it (saves memory; the
            variables' cotangents are kept, the tape is no longer usable afterwards).
    Returns:
        cotangent per slot (None where none is needed); variables' slots hold the gradient.
    """
    bars = [None] * len(values)
    bars[program.plan.out] = seed
    for rule, s, i, j, need, fix_i, fix_j in program.backward:
        y_bar = bars[s]
        if j < 0:
            a_bar = rule(y_bar, values[i], values[s])
            old = bars[i]
            bars[i] = a_bar if old is None else old + a_bar  # fan-out: cotangents add up
            if trace is not None:
                trace.append(Step(s, program.plan.ops[s], (i,), y_bar, (a_bar,)))
        else:
            a_bar, b_bar = rule(y_bar, values[i], values[j], values[s], need)
            if a_bar is not None:
                if fix_i is not None:  # unbroadcast: sum over the axes a was stretched along
                    a_bar = np.sum(a_bar, axis=fix_i[0])
                    if fix_i[1] is not None:
                        a_bar = np.reshape(a_bar, fix_i[1])
                old = bars[i]
                bars[i] = a_bar if old is None else old + a_bar
            if b_bar is not None:
                if fix_j is not None:
                    b_bar = np.sum(b_bar, axis=fix_j[0])
                    if fix_j[1] is not None:
                        b_bar = np.reshape(b_bar, fix_j[1])
                old = bars[j]
                bars[j] = b_bar if old is None else old + b_bar
            if trace is not None:
                trace.append(Step(s, program.plan.ops[s], (i, j), y_bar, (a_bar, b_bar)))
        if free:
            bars[s] = values[s] = None
    return bars


def _finish(bar, shape: Shape):
    """A cotangent as the protocol's result: a float, or a fresh writeable float64 array."""
    if not shape:
        return float(bar)
    if type(bar) is np.ndarray and bar.flags.writeable and bar.shape == shape:
        return bar
    return np.array(np.broadcast_to(bar, shape), dtype=np.float64)  # e.g. a broadcast view


# ---- the protocol ----------------------------------------------------------------------------
def _check_scalar(program: Program, what: str) -> None:
    shape = program.shapes[program.plan.out]
    if shape != ():
        raise ValueError(f"reverse {what} needs a scalar-valued expression, but the result has "
                         f"shape {shape}; use jacobian for array-valued expressions")


def prepare(expr: Expr, wrt: Sequence[str], shapes: Mapping[str, Shape], **options) -> Prepared:
    """The gradient of a scalar expression: one forward pass and one backward sweep per call.

    Args:
        expr: a scalar-valued expression.
        wrt: the variables to differentiate with respect to.
        shapes: every variable's shape.
    Returns:
        a ``Prepared``: point -> {name: gradient with the variable's shape}.
    """
    _no_options(options)
    levelled = _level_program(expr, wrt, shapes)
    if levelled is not None:  # a big, shallow scalar graph: swept a level at a time
        return Prepared(levelled.gradient, levelled.info())
    program = compile_program(expr, wrt, shapes)
    _check_scalar(program, "gradient")
    record = program.record
    results = [(name, program.plan.var_slots[name], program.shapes[program.plan.var_slots[name]])
               for name in program.wrt]

    def gradient(point: Mapping) -> dict:
        with np.errstate(all="ignore"):
            values = record(point, live_only=True)
            bars = sweep(program, values, _ONE, None, True)
            return {name: _finish(bars[slot], shape) for name, slot, shape in results}

    return Prepared(gradient, _info(program))


def _level_program(expr: Expr, wrt: Sequence[str], shapes: Mapping[str, Shape]):
    """The gradient on a level schedule (``reverse_levels``) where one pays: every slot a
    scalar, a graph big and shallow enough. None otherwise (and for a wrt name that is not a
    variable, for ``compile_program`` to report)."""
    from .levels import scalar_schedule
    from .reverse_levels import compile_levels  # (it imports this module's rules)

    levelled = scalar_schedule(expr, wrt, shapes)
    with gc_paused():
        return None if levelled is None else compile_levels(levelled, tuple(wrt))


def prepare_jacobian(expr: Expr, wrt: Sequence[str], shapes: Mapping[str, Shape],
                     **options) -> Prepared:
    """The Jacobian: one forward pass, then one backward sweep per output element.

    Args:
        expr: any expression.
        wrt: the variables to differentiate with respect to.
        shapes: every variable's shape.
    Returns:
        a ``Prepared``: point -> {name: array of shape output shape + variable shape}.
    """
    _no_options(options)
    program = compile_program(expr, wrt, shapes)
    plan = program.plan
    out_shape = program.shapes[plan.out]
    m = math.prod(out_shape)
    results = [(name, plan.var_slots[name], program.shapes[plan.var_slots[name]])
               for name in program.wrt]

    def jacobian(point: Mapping) -> dict:
        jac = {name: np.zeros((m, *shape)) for name, _, shape in results}
        with np.errstate(all="ignore"):
            values = program.record(point, live_only=True)
            for k in range(m):
                seed = _ONE
                if out_shape:  # the k-th output element's direction: e_k
                    seed = np.zeros(out_shape)
                    seed.flat[k] = 1.0
                bars = sweep(program, values, seed)
                for name, slot, _ in results:
                    jac[name][k] = bars[slot]
        return {name: shaped(jac[name], out_shape + shape) for name, _, shape in results}

    return Prepared(jacobian, _info(program))


def prepare_hessian(expr: Expr, wrt: Sequence[str], shapes: Mapping[str, Shape],
                    **options) -> Prepared:
    """The Hessian of a scalar expression, forward over reverse.

    The gradient program (forward pass + backward sweep) runs on ``forward.Dual`` numbers: for
    each scalar input x_j of a wrt variable, ``forward.jvp`` perturbs x_j, and the tangent of
    every gradient entry d f / d x_i is d^2 f / (d x_i d x_j): column j of the Hessian. The
    vjp rules are written with NumPy functions and operators, so they run on Duals unchanged.
    One pass per scalar input (n passes, each a few times the cost of f).

    Args:
        expr: a scalar-valued expression.
        wrt: the variables to differentiate with respect to.
        shapes: every variable's shape.
    Returns:
        a ``Prepared``: point -> {a: {b: array of shape shape(a) + shape(b)}}.
    """
    from . import forward  # the Dual numbers (imported here: reverse mode alone needs none)

    _no_options(options)
    program = compile_program(expr, wrt, shapes)
    _check_scalar(program, "hessian")
    # On a Dual, PRIMAL's relu (np.maximum(x, 0)) would take max's tie rule, 1/2 at x = 0;
    # forward.relu takes relu's own rule, 0 (as JAX), so the Hessian's column is right there.
    program = replace(program, live_forward=[(forward.relu if fn is PRIMAL["relu"] else fn,
                                              s, i, j) for fn, s, i, j in program.live_forward])
    plan = program.plan
    blocks = [(name, plan.var_slots[name], program.shapes[plan.var_slots[name]])
              for name in program.wrt]

    def hessian(point: Mapping) -> dict:
        H = {a: {b: np.zeros((math.prod(sa), math.prod(sb))) for b, _, sb in blocks}
             for a, _, sa in blocks}
        for b, _, sb in blocks:
            def gradient_of_b(x_b, b=b):
                values = program.record({**point, b: x_b}, live_only=True)
                bars = sweep(program, values, _ONE)
                return [bars[slot] for _, slot, _ in blocks]

            for j in range(math.prod(sb)):
                e_j = np.zeros(sb)
                e_j.flat[j] = 1.0
                with np.errstate(all="ignore"):
                    _, columns = forward.jvp(gradient_of_b, point[b], e_j if sb else _ONE)
                for (a, _, _), column in zip(blocks, columns, strict=True):
                    H[a][b][:, j] = np.ravel(column)
        return {a: {b: shaped(H[a][b], sa + sb) for b, _, sb in blocks} for a, _, sa in blocks}

    info = _info(program)
    info["passes"] = "one forward + backward pass on Duals per scalar input"
    return Prepared(hessian, info)


def _no_options(options: dict) -> None:
    if options:
        raise TypeError(f"reverse mode takes no options; got {', '.join(sorted(options))}")


def _info(program: Program) -> dict:
    return {"method": "reverse", "slots": program.plan.size,
            "needed_slots": sum(program.needed), "backward_steps": len(program.backward),
            "forward_steps": len(program.live_forward)}


# ---- one-shot conveniences, so `from difflab import reverse` works alone ------------------
def _one_shot(kind: str, expr, point: Mapping, wrt) -> dict:
    from . import api  # validation and the preparation cache live there, for every method

    return getattr(api, kind)(expr, point, method="reverse", wrt=wrt)


def grad(expr: Expr, point: Mapping, wrt: Sequence[str] | None = None) -> dict:
    """The gradient of a scalar expression at ``point`` by reverse mode.

    Args:
        expr: the expression.
        point: every variable -> float or array.
        wrt: variable names (default: all).
    Returns:
        {name: gradient}, each with its variable's shape.
    """
    return _one_shot("grad", expr, point, wrt)


def jacobian(expr: Expr, point: Mapping, wrt: Sequence[str] | None = None) -> dict:
    """The Jacobian at ``point``: {name: array of shape output shape + variable shape}."""
    return _one_shot("jacobian", expr, point, wrt)


def hessian(expr: Expr, point: Mapping, wrt: Sequence[str] | None = None) -> dict:
    """The Hessian of a scalar expression at ``point``: {a: {b: shape(a) + shape(b)}}."""
    return _one_shot("hessian", expr, point, wrt)
