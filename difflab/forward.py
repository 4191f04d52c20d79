"""Forward mode on a plan: the tangent rules, and a tangent sweep over every slot.

Forward mode carries, next to every value ``x``, its tangent ``x_dot = dx/de`` along a chosen
input direction, and applies the chain rule in evaluation order: ``y = f(x)`` gets
``y_dot = f'(x) x_dot``. Two faces of that one idea share the rules in ``jvp_rules``:

* ``Dual`` numbers (``dual.py``, re-exported here with ``derivative``, ``jvp``, ``gradient``,
  ``grad_fn`` and the grammar's functions ``sin`` ... ``min``): forward mode on plain Python and
  NumPy code, with tagged perturbations for nested derivatives.
* The plan evaluator (``prepare``, ``prepare_jacobian``, ``prepare_hessian``; ``grad``,
  ``jacobian``, ``hessian`` one-shot): after the primal pass it walks the plan once more,
  pushing tangents with a LEADING AXIS OF DIRECTIONS (shape ``(k,) + value shape``), seeded
  with the identity over every scalar input in ``wrt``, so a whole gradient or Jacobian is one
  pass. Constants have no tangent (None, never zeros); a tangent is dropped after its last use.

Every rule in ``jvp_rules`` reads ``(primal args, primal result, tangent args)`` and works on
the TRAILING (value) axes of its tangents, so the same rule serves one direction (the Dual's
tangent has the value's shape) and many (a leading axis of directions). The Hessian is forward
over forward: each outer direction e_j enters as a Dual, the plan's tangent sweep runs on those
Duals, and the Dual part of the gradient is column j.
"""

from __future__ import annotations

import builtins
import math
import operator
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from .dual import (  # noqa: F401 - Dual and its functions are re-exported: forward.sin, ...
    _ONE,
    _TAGS,
    _ZERO,
    Dual,
    _dual,
    _fit,
    _perturbation,
    _shape,
    _strip,
    _zeros_like,
    abs,
    acos,
    asin,
    atan,
    cos,
    cosh,
    derivative,
    exp,
    expm1,
    grad_fn,
    gradient,
    jvp,
    log,
    log1p,
    max,
    mean,
    min,
    relu,
    sigmoid,
    sin,
    sinh,
    softplus,
    sqrt,
    sum,
    tan,
    tanh,
    transpose,
)
from .evaluate import PRIMAL, PointError
from .ir import Expr
from .plan import compile_plan, gc_paused
from .protocol import Prepared, Shape, shaped
from .shapes import ELEMENTWISE_BINARY, infer_shapes

RULE_TABLES = ("jvp_rules",)


# ---- the rules: (primal args, primal result, tangent args) -> the result's tangent --------
# Unary: rule(x, y, x_dot); binary: rule(a, b, y, a_dot, b_dot), where the tangent of an
# argument that does not vary is None (and no zeros are made for it). Factors are computed from
# primal values and multiplied onto the tangent, so they broadcast over a leading direction axis.
def _neg_jvp(x, y, x_dot): return -x_dot
def _sin_jvp(x, y, x_dot): return x_dot * np.cos(x)
def _cos_jvp(x, y, x_dot): return -x_dot * np.sin(x)
def _tan_jvp(x, y, x_dot): return x_dot * (1.0 + y * y)              # sec^2 = 1 + tan^2
def _asin_jvp(x, y, x_dot): return x_dot / np.sqrt(1.0 - x * x)
def _acos_jvp(x, y, x_dot): return -x_dot / np.sqrt(1.0 - x * x)
def _atan_jvp(x, y, x_dot): return x_dot / (1.0 + x * x)
def _sinh_jvp(x, y, x_dot): return x_dot * np.cosh(x)
def _cosh_jvp(x, y, x_dot): return x_dot * np.sinh(x)
def _tanh_jvp(x, y, x_dot): return x_dot * (1.0 - y * y)             # 1 - tanh^2
def _exp_jvp(x, y, x_dot): return x_dot * y                          # d e^x = e^x
def _log_jvp(x, y, x_dot): return x_dot / x
def _log1p_jvp(x, y, x_dot): return x_dot / (1.0 + x)
def _expm1_jvp(x, y, x_dot): return x_dot * (y + 1.0)                # e^x = expm1(x) + 1
def _sqrt_jvp(x, y, x_dot): return x_dot * (0.5 / y)                 # 1 / (2 sqrt x)
def _square_jvp(x, y, x_dot): return x_dot * (2.0 * x)
def _abs_jvp(x, y, x_dot): return x_dot * np.sign(_strip(x))         # sign(0) = 0: d|x| at 0 is 0
def _sigmoid_jvp(x, y, x_dot): return x_dot * (y * (1.0 - y))        # s' = s (1 - s)
def _softplus_jvp(x, y, x_dot): return x_dot * -np.expm1(-y)         # sigmoid(x) = 1 - e^-softplus
def _relu_jvp(x, y, x_dot): return _select(_strip(x) > 0.0, x_dot)   # 0 at the kink, as JAX


def _sum_jvp(x, y, x_dot):
    # d sum(x) = sum of x_dot over the value axes (the trailing ones), never the direction axis
    d = np.ndim(x)
    return np.sum(x_dot, axis=tuple(range(-d, 0))) if d else x_dot


def _mean_jvp(x, y, x_dot):
    shape = np.shape(x)
    return np.sum(x_dot, axis=tuple(range(-len(shape), 0))) / math.prod(shape) if shape else x_dot


def _transpose_jvp(x, y, x_dot):
    # transpose reverses the value axes; a leading direction axis stays in front
    d = np.ndim(x)
    if d < 2:
        return x_dot
    lead = np.ndim(x_dot) - d
    return np.transpose(x_dot, (*range(lead), *range(lead + d - 1, lead - 1, -1)))


def _add_jvp(a, b, y, a_dot, b_dot):
    if b_dot is None:
        return a_dot
    return b_dot if a_dot is None else a_dot + b_dot


def _sub_jvp(a, b, y, a_dot, b_dot):
    if b_dot is None:
        return a_dot
    return -b_dot if a_dot is None else a_dot - b_dot


def _mul_jvp(a, b, y, a_dot, b_dot):
    if b_dot is None:
        return a_dot * b
    return b_dot * a if a_dot is None else a_dot * b + b_dot * a


def _div_jvp(a, b, y, a_dot, b_dot):
    # d(a/b) = (a_dot - b_dot * a/b) / b, with y = a/b
    if b_dot is None:
        return a_dot / b
    return -(b_dot * y) / b if a_dot is None else (a_dot - b_dot * y) / b


def _pow_jvp(x, p, y, x_dot, p_dot):
    # d x^p = p x^(p-1) x_dot + log(x) x^p p_dot. The p-term exists only where p varies, so a
    # constant exponent never meets log of a negative base (x**3 at -2 is 12, not nan). As
    # JAX's rule for a float exponent: no special case at p == 0; log x is read as log 1 = 0
    # where x == 0.
    y_dot = None
    if x_dot is not None:
        y_dot = x_dot * (p * x ** (p - 1.0))  # x is np.float64 or an array: IEEE power
    if p_dot is not None:
        xs = _strip(x)
        if xs.__class__ is np.ndarray:
            log_x = np.log(np.where(xs == 0.0, 1.0, x))
        else:
            log_x = np.log(x) if xs != 0.0 else _ZERO
        t = p_dot * (log_x * y)
        y_dot = t if y_dot is None else y_dot + t
    return y_dot


def _extremum_jvp(greater):
    """max (greater = operator.gt) or min (operator.lt): JAX's balanced rule. The winner takes
    the tangent; a tie gives each argument half of its tangent (weights from the values)."""
    def rule(a, b, y, a_dot, b_dot):
        av, bv = _strip(a), _strip(b)
        tie = 0.5 * (av == bv)
        y_dot = None if a_dot is None else a_dot * (greater(av, bv) + tie)
        if b_dot is not None:
            t = b_dot * (greater(bv, av) + tie)
            y_dot = t if y_dot is None else y_dot + t
        return y_dot
    return rule


def _matmul_jvp(a, b, y, a_dot, b_dot):
    # d(a @ b) = a_dot @ b + a @ b_dot. A leading direction axis in a_dot acts as a row/batch
    # axis of a_dot @ b. With a 1-D b, a @ b_dot would contract the direction axis, so that term
    # is b_dot @ a^T (the same numbers with the directions kept in front).
    y_dot = None if a_dot is None else a_dot @ b
    if b_dot is not None:
        if np.ndim(b) == 1:
            t = b_dot @ (a if np.ndim(a) == 1 else np.swapaxes(a, -1, -2))
        else:
            t = a @ b_dot
        y_dot = t if y_dot is None else y_dot + t
    return y_dot


def _logaddexp_jvp(a, b, y, a_dot, b_dot):
    # d log(e^a + e^b) = e^(a - y) a_dot + e^(b - y) b_dot  (Duals only: softplus, sigmoid)
    y_dot = None if a_dot is None else a_dot * np.exp(a - y)
    if b_dot is not None:
        t = b_dot * np.exp(b - y)
        y_dot = t if y_dot is None else y_dot + t
    return y_dot


def _const_jvp(value, seed): return None   # a constant's tangent is absent, not zeros
def _var_jvp(value, seed): return seed     # a variable's tangent is its seed


jvp_rules: dict[str, Callable] = {
    "const": _const_jvp, "var": _var_jvp,
    "neg": _neg_jvp, "sin": _sin_jvp, "cos": _cos_jvp, "tan": _tan_jvp, "asin": _asin_jvp,
    "acos": _acos_jvp, "atan": _atan_jvp, "sinh": _sinh_jvp, "cosh": _cosh_jvp,
    "tanh": _tanh_jvp, "exp": _exp_jvp, "log": _log_jvp, "log1p": _log1p_jvp,
    "expm1": _expm1_jvp, "sqrt": _sqrt_jvp, "abs": _abs_jvp, "sigmoid": _sigmoid_jvp,
    "relu": _relu_jvp, "softplus": _softplus_jvp, "sum": _sum_jvp, "mean": _mean_jvp,
    "transpose": _transpose_jvp, "add": _add_jvp, "sub": _sub_jvp, "mul": _mul_jvp,
    "div": _div_jvp, "pow": _pow_jvp, "matmul": _matmul_jvp,
    "max": _extremum_jvp(operator.gt), "min": _extremum_jvp(operator.lt),
    # not ops of the IR, but NumPy ufuncs that Dual code (and PRIMAL) calls
    "square": _square_jvp, "logaddexp": _logaddexp_jvp,
}


def _select(mask, t):
    """t where mask holds, else 0: a select (as JAX's), so 0 even where t is inf or nan."""
    if mask.__class__ is not np.ndarray:
        return t if mask else _zeros_like(t)
    return np.where(mask, t, 0.0)



# ---- the tangent sweep over a plan --------------------------------------------------------
TANGENT_BUDGET = 2 ** 22  # floats per slot tangent; more directions are pushed in chunks
SEED_BUDGET = 2 ** 24     # floats in one pass's seeds: chunk x the inputs those directions hit
SCALAR_PASSES = 4         # up to this many directions of a scalar expression: one pass each


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
            else:
                forward.append((primal[ops[slot]], slot, a[0], a[1]))
            if active[a[0]] or active[a[-1]]:
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
            chunk = 1 if scalar_only and n <= SCALAR_PASSES else TANGENT_BUDGET // widest
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
            else:
                rule = self._broadcasting(ops[s], slot_shapes[a[0]], slot_shapes[a[1]],
                                          slot_shapes[s])
                steps.append((s, rule, a[0], a[1], dead.get(s, ())))
            alive += 1
            peak = alive if alive > peak else peak
            alive -= len(dead.get(s, ()))
        self.steps, self.peak = steps, peak
        self.fused = None  # the fused pass of ``derivative``, made on first use

        self.var_items = tuple(plan.var_slots.items())
        # Seeds are made once when they are small (all of them hold n * n floats)
        self.seeds = self._seeds(0, self.chunk) if self.chunk >= n else None
        self.chunk_seeds = list(self._chunks()) if n * n <= TANGENT_BUDGET else None

    def _broadcasting(self, op: str, sa: Shape, sb: Shape, out: Shape):
        """The binary rule, wrapped in a ``_Broadcast`` where the operands' shapes differ."""
        rule = jvp_rules[op]
        if op == "matmul":
            if self.lead and (len(sa) > 2 or len(sb) > 2) and (len(sa) == 1 or len(sb) == 1):
                raise ValueError(f"forward: matmul of a 1-D operand with a stack of matrices "
                                 f"is not supported: {sa} @ {sb}")
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



# ---- the protocol -------------------------------------------------------------------------
def _options(options: dict) -> int | None:
    unknown = set(options) - {"chunk"}
    if unknown:
        raise TypeError(f"forward mode takes only the option chunk=; got "
                        f"{', '.join(sorted(unknown))}")
    return options.get("chunk")


def _scalar_only(sweep: Sweep, what: str) -> None:
    if sweep.out_shape != ():
        raise ValueError(f"forward {what} needs a scalar-valued expression, but the result "
                         f"has shape {sweep.out_shape}; use jacobian for array-valued ones")


def prepare(expr: Expr, wrt: Sequence[str], shapes: Mapping[str, Shape], **options) -> Prepared:
    """The gradient of a scalar expression: one primal pass and one tangent pass per chunk.

    Args:
        expr: a scalar-valued expression.
        wrt: the variables to differentiate with respect to.
        shapes: every variable's shape.
        options: ``chunk=`` directions per tangent pass (default: all that fit
            ``TANGENT_BUDGET`` floats per slot).
    Returns:
        a ``Prepared``: point -> {name: gradient with the variable's shape}.
    """
    chunk = _options(options)
    levelled = _level_sweep(expr, wrt, shapes) if chunk is None else None
    if levelled is not None:  # a big, shallow scalar graph: pushed a level at a time
        return Prepared(levelled.gradient, levelled.info())
    sweep = Sweep(expr, wrt, shapes, chunk)
    _scalar_only(sweep, "gradient")
    if sweep.n == 1 and not sweep.lead and not sweep.blocks[0][4]:
        name = sweep.blocks[0][0]  # one scalar input: values and tangent in one fused pass

        def derivative_at(point: Mapping) -> dict:
            return {name: sweep.derivative(point)}

        return Prepared(derivative_at, sweep.info())

    def gradient_at(point: Mapping) -> dict:
        T = sweep.tangents(point)
        return {name: T[off:off + size].reshape(shape) if shape else float(T[off])
                for name, _, off, size, shape in sweep.blocks}

    return Prepared(gradient_at, sweep.info())


def _level_sweep(expr: Expr, wrt: Sequence[str], shapes: Mapping[str, Shape]):
    """The gradient on a level schedule (``forward_levels``) where one pays: every slot a
    scalar, a graph big and shallow enough, and (directions x slots) tangents within
    ``TANGENT_BUDGET``. None otherwise (and for a wrt name that is not a variable)."""
    from .forward_levels import compile_levels  # (it imports this module's rules)
    from .levels import scalar_schedule

    if len(wrt) * compile_plan(expr).size > TANGENT_BUDGET:
        return None
    levelled = scalar_schedule(expr, wrt, shapes)
    with gc_paused():
        return None if levelled is None else compile_levels(levelled, tuple(wrt))


def prepare_jacobian(expr: Expr, wrt: Sequence[str], shapes: Mapping[str, Shape],
                     **options) -> Prepared:
    """The Jacobian of any expression, all input directions pushed at once (or in chunks).

    Args:
        expr: any expression.
        wrt: the variables to differentiate with respect to.
        shapes: every variable's shape.
        options: ``chunk=`` as for ``prepare``.
    Returns:
        a ``Prepared``: point -> {name: array of shape output shape + variable shape}.
    """
    sweep = Sweep(expr, wrt, shapes, _options(options))
    out_shape = sweep.out_shape

    def jacobian_at(point: Mapping) -> dict:
        T = np.moveaxis(sweep.tangents(point), 0, -1)  # output shape + (n,)
        return {name: shaped(T[..., off:off + size].reshape(out_shape + shape),
                             out_shape + shape)
                for name, _, off, size, shape in sweep.blocks}

    return Prepared(jacobian_at, sweep.info())


def prepare_hessian(expr: Expr, wrt: Sequence[str], shapes: Mapping[str, Shape],
                    **options) -> Prepared:
    """The Hessian of a scalar expression, forward over forward.

    For each input direction e_j (outer, a tagged Dual on its variable's value) the plan runs
    on Duals and the tangent sweep (inner, all directions) gives the gradient as Duals whose
    tangent part is d grad / dx_j: column j of the Hessian. n outer passes.

    Args:
        expr: a scalar-valued expression.
        wrt: the variables to differentiate with respect to.
        shapes: every variable's shape.
        options: ``chunk=`` for the inner passes.
    Returns:
        a ``Prepared``: point -> {a: {b: array of shape shape(a) + shape(b)}}.
    """
    sweep = Sweep(expr, wrt, shapes, _options(options))
    _scalar_only(sweep, "hessian")

    def hessian_at(point: Mapping) -> dict:
        n = sweep.n
        H = np.zeros((n, n))
        leaves = sweep.leaves(point)
        with np.errstate(all="ignore"):
            for _, slot, off, size, shape in sweep.blocks:
                for j in range(size):  # outer direction e_j of this variable, a fresh tag
                    tag = next(_TAGS)
                    e = np.zeros(size)
                    e[j] = 1.0
                    values = leaves.copy()
                    values[slot] = _dual(leaves[slot], e.reshape(shape) if shape else _ONE, tag)
                    sweep.record(values)
                    for c0, c1, seeds in sweep.chunks():
                        t = sweep.push(values, seeds)
                        if t is not None:  # the gradient's tangent along e_j: column j
                            H[c0:c1, off + j] = _perturbation(t, tag)[1]
        return {a: {b: shaped(H[oa:oa + na, ob:ob + nb].reshape(sa + sb), sa + sb)
                    for b, _, ob, nb, sb in sweep.blocks}
                for a, _, oa, na, sa in sweep.blocks}

    return Prepared(hessian_at, sweep.info())


# ---- one-shot conveniences: `from difflab import forward` works on its own ----------------
def _one_shot(kind: str, expr, point: Mapping, wrt, options: dict) -> dict:
    from . import api  # validation and the preparation cache live there, for every method

    return getattr(api, kind)(expr, point, method="forward", wrt=wrt, **options)


def grad(expr: Expr, point: Mapping, wrt: Sequence[str] | None = None, **options) -> dict:
    """The gradient of a scalar expression at ``point`` by forward mode.

    Args:
        expr: the expression.
        point: every variable -> float or array.
        wrt: variable names (default: all).
        options: ``chunk=``.
    Returns:
        {name: gradient}, each with its variable's shape.
    """
    return _one_shot("grad", expr, point, wrt, options)


def jacobian(expr: Expr, point: Mapping, wrt: Sequence[str] | None = None, **options) -> dict:
    """The Jacobian at ``point``: {name: array of shape output shape + variable shape}."""
    return _one_shot("jacobian", expr, point, wrt, options)


def hessian(expr: Expr, point: Mapping, wrt: Sequence[str] | None = None, **options) -> dict:
    """The Hessian of a scalar expression at ``point``: {a: {b: shape(a) + shape(b)}}."""
    return _one_shot("hessian", expr, point, wrt, options)
