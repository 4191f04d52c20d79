"""Finite differences: derivatives from values of f alone.

Perturb one scalar input at a time and difference the results: one partial derivative per
input, each costing a few evaluations of the whole expression. That loop over inputs IS the
cost of the method (a gradient of n inputs costs about 2n evaluations of f), and the step h
trades truncation error (h^p for a scheme of order p) against rounding (eps |f| / h):

    forward    (f(x+h) - f(x)) / h                           O(h),   n + 1 evaluations
    backward   (f(x) - f(x-h)) / h                           O(h),   n + 1
    central    (f(x+h) - f(x-h)) / 2h                        O(h^2), 2n
    central4   (8 (f(x+h) - f(x-h)) - (f(x+2h) - f(x-2h))) / 12h    O(h^4), 4n
    richardson central differences at h, h/2, h/4 extrapolated to h -> 0 (Richardson's
               tableau), with an error estimate;             O(h^6), 6n (levels=3)
    complex    Im f(x + ih) / h with h = 1e-20: no subtraction, so no cancellation;
               exact to rounding, n evaluations in complex arithmetic, analytic f only.

Balancing h^p against eps/h gives the step h = c * max(1, |x|) with c ~ eps^(1/(p+1)). The step
is rounded to a power of two and then to (x + h) - x, so x + h is exactly x plus the step the
formula divides by.

The default scheme is ``central4``, chosen by measuring (tests/test_numeric.py repeats the
measurements). On eight smooth functions at 24 points, Richardson with three levels is more
accurate (median relative error 3e-14 against 1e-13, worst 6e-13 against 7e-12) but costs 6n
evaluations instead of 4n, and its widest step (2.9e-3 * max(1, |x|), where central4 reaches
3.7e-4) straddles kinks far more often: on gradients of a small ReLU network at 40 random
points, richardson was wrong beyond 1e-6 at 6 of them, central4 at 1 (median rho 2e-12 and
6e-12). Both are far below what the lab can otherwise see; central4 gives that accuracy at
two thirds of the cost and is the safer of the two on the ReLU losses the lab differentiates.
``richardson`` stays one option away, with its error estimate.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from numbers import Real

import numpy as np

from .evaluate import PRIMAL, bind, clean_point, run
from .ir import BINARY, UNARY, Expr
from .plan import Plan, compile_plan
from .protocol import Prepared, shaped
from .shapes import infer_shapes

EPS = float(np.finfo(np.float64).eps)
SCHEMES = ("forward", "backward", "central", "central4", "richardson", "complex")
DEFAULT_SCHEME = "central4"
NOT_ANALYTIC = ("abs", "relu", "max", "min")
COMPLEX_STEP = 1e-20
RICHARDSON_LEVELS = 3

# h = STEP_FACTOR[scheme] * max(1, |x|). Truncation C h^p against rounding eps |f| / h balances
# at h ~ eps^(1/(p+1)) when f's derivatives stay O(1). For analytic functions they grow like
# k!/r^k (r: the distance to the nearest singularity), so the higher the order the smaller the
# best constant; measured on eight functions at 24 points (exp, sin, log, atan, 1/(1+x^2),
# x^1.5, tanh, exp(x)/sqrt(sin^3 x + cos^3 x)), eps^(1/5)/4 for central4 gives a median
# relative error of 1e-13 and a worst of 7e-12, where eps^(1/5) gives 6e-13 and 2e-9.
# Richardson's largest step is h and its smallest h/4: eps^(1/7)/2 measured best (median 3e-14,
# worst 6e-13; 1e-2 is 30x worse at the worst point, 1e-3 4x).
STEP_FACTOR = {
    "forward": EPS ** (1 / 2),         # 1.5e-8
    "backward": EPS ** (1 / 2),
    "central": EPS ** (1 / 3),         # 6.1e-6
    "central4": EPS ** (1 / 5) / 4,    # 1.9e-4
    "richardson": EPS ** (1 / 7) / 2,  # 2.9e-3
    "complex": COMPLEX_STEP,           # absolute: no cancellation, so any tiny h works
}
# Second differences: truncation h^2 against rounding eps/h^2 -> h ~ eps^(1/4).
HESSIAN_STEP_FACTOR = EPS ** (1 / 4)   # 1.2e-4

# Symmetric stencils: f' ~ sum_k w_k (f(x + k h) - f(x - k h)) / (denominator h). Pairing
# the symmetric values first subtracts nearly equal numbers exactly (Sterbenz).
SYMMETRIC = {"central": (((1, 1.0),), 2.0), "central4": (((1, 8.0), (2, -1.0)), 12.0)}


# ---- options -----------------------------------------------------------------------------
def check_scheme(scheme: str) -> str:
    """``scheme`` if known, else a ValueError listing the known schemes."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown finite-difference scheme {scheme!r}: known schemes are "
                         f"{', '.join(SCHEMES)}")
    return scheme


def check_step(step) -> float | None:
    """``step`` as a positive finite float (or None for the scheme's relative rule)."""
    if step is None:
        return None
    if isinstance(step, bool) or not isinstance(step, Real) or not math.isfinite(step) \
            or step <= 0:
        raise ValueError(f"step must be a positive finite number, got step={step!r}")
    return float(step)


def check_levels(levels) -> int:
    """Richardson's number of steps as an int in 1..10, else a ValueError naming it."""
    if isinstance(levels, bool) or not isinstance(levels, int) or not 1 <= levels <= 10:
        raise ValueError(f"levels must be an integer from 1 to 10, got levels={levels!r}")
    return levels


def evaluations(scheme: str, n: int, levels: int = RICHARDSON_LEVELS) -> int:
    """Evaluations of f one gradient or Jacobian costs with ``scheme`` for n scalar inputs."""
    per_input = {"forward": 1, "backward": 1, "central": 2, "central4": 4,
                 "richardson": 2 * levels, "complex": 1}[check_scheme(scheme)]
    shared = 1 if scheme in ("forward", "backward") and n else 0  # f(x) itself, once
    return per_input * n + shared


_FORMULA = {"forward": "n + 1", "backward": "n + 1", "central": "2n", "central4": "4n",
            "complex": "n (complex arithmetic)"}


def step_size(x: float, scheme: str = DEFAULT_SCHEME, step: float | None = None,
              factor: float | None = None) -> float:
    """The step for input value ``x``: c * max(1, |x|) as a power of two, then (x + h) - x.

    Args:
        x: the input's value.
        scheme: picks c from STEP_FACTOR (ignored when ``factor`` is given).
        step: an absolute step overriding the rule (still made exact against x).
        factor: c itself (the Hessian uses eps^(1/4)).
    Returns:
        h > 0 such that x + h is exactly representable and (x + h) - x == h.
    """
    if scheme == "complex" and factor is None:
        return step if step is not None else COMPLEX_STEP  # x + ih never rounds
    if step is None:
        c = STEP_FACTOR[scheme] if factor is None else factor
        h = c * max(1.0, abs(x)) if math.isfinite(x) else c
        h = 2.0 ** round(math.log2(h))  # h/2, h/4 and 2h stay exact
    else:
        h = step
    if not math.isfinite(x):
        return h
    h_exact = (x + h) - x  # the classic trick: the step the arithmetic actually takes
    if h_exact <= 0:
        raise ValueError(f"step={h!r} vanishes next to x={x!r} (x + step == x): use a larger "
                         f"step")
    return h_exact


# ---- the difference formulas, for any f of one scalar ------------------------------------
def _richardson(f_at: Callable, x: float, h: float, levels: int):
    """Richardson's tableau on central differences at h, h/2, ...: (best value, error).

    The error estimate is the last correction |R[k][k] - R[k][k-1]| (it bounds the error of the
    previous, lower-order value) plus a bound on rounding carried through the same tableau.
    """
    table: list[list] = []
    noise: list[list] = []  # rounding bounds, combined as the tableau combines its values
    for i in range(levels):
        h_i = h / 2 ** i
        f_plus, f_minus = f_at(x + h_i), f_at(x - h_i)
        row = [(f_plus - f_minus) / (2.0 * h_i)]
        rounding = [EPS * np.maximum(np.abs(f_plus), np.abs(f_minus)) / h_i]
        for j in range(1, i + 1):
            # D = f' + a h^2 + b h^4 + ...: halving h divides the h^2j term by 4^j.
            row.append(row[j - 1] + (row[j - 1] - table[i - 1][j - 1]) / (4.0 ** j - 1.0))
            rounding.append(rounding[j - 1] + (rounding[j - 1] + noise[i - 1][j - 1])
                            / (4.0 ** j - 1.0))
        table.append(row)
        noise.append(rounding)
    best = table[-1][-1]
    correction = np.abs(best - table[-1][-2]) if levels > 1 else np.nan
    return best, correction + noise[-1][-1]


def difference(f_at: Callable, x: float, h: float, scheme: str, f0=None,
               levels: int = RICHARDSON_LEVELS):
    """One derivative by ``scheme``: (estimate, error estimate or None).

    Args:
        f_at: f as a function of the one perturbed input (may return an array).
        x: the input's value; h: the step (from ``step_size``).
        scheme: one of SCHEMES; f0: f(x), needed by forward and backward.
        levels: Richardson's number of step halvings.
    """
    with np.errstate(all="ignore"):  # inf - inf at an overflow is nan, silently (IEEE)
        if scheme == "complex":
            return np.imag(f_at(complex(x, h))) / h, None
        if scheme == "richardson":
            return _richardson(f_at, x, h, levels)
        if scheme == "forward":
            return (f_at(x + h) - f0) / h, None
        if scheme == "backward":
            return (f0 - f_at(x - h)) / h, None
        pairs, denominator = SYMMETRIC[scheme]
        total = 0.0
        for k, w in pairs:
            total = total + w * (f_at(x + k * h) - f_at(x - k * h))
        return total / (denominator * h), None


def derivative(f: Callable, x: float, scheme: str = DEFAULT_SCHEME, step: float | None = None,
               levels: int = RICHARDSON_LEVELS) -> float:
    """f'(x) of a plain Python function of one float (complex: f must accept complex).

    Args:
        f: the function; x: where; scheme: one of SCHEMES; step: an absolute step.
    Returns:
        the estimate.
    """
    x, step, levels = float(x), check_step(step), check_levels(levels)
    h = step_size(x, check_scheme(scheme), step)
    value, _ = difference(f, x, h, scheme, f(x) if scheme in ("forward", "backward") else None,
                          levels)
    return value


def richardson(f: Callable, x: float, step: float | None = None,
               levels: int = RICHARDSON_LEVELS) -> tuple[float, float]:
    """f'(x) by Richardson extrapolation, with its error estimate: (value, error)."""
    x, step, levels = float(x), check_step(step), check_levels(levels)
    return _richardson(f, x, step_size(x, "richardson", step), levels)


# ---- complex arithmetic for the complex step ---------------------------------------------
def _on_domain(fn, bad, edge, slope: float):
    """``fn`` on complex input as the real function sees the real part: nan outside the real
    domain (complex values would be finite there, and Im/h garbage) and an infinite slope at
    a domain edge such as sqrt(0) (where the complex value is merely huge)."""
    def complex_safe(z):
        if not np.iscomplexobj(z):
            return fn(z)
        x, y = np.real(z), np.imag(z)
        w = fn(z)
        at_edge = edge(x) & (y != 0)
        outside = bad(x)
        out = np.empty(np.shape(w), dtype=np.complex128)
        out.real = np.where(outside, np.nan, np.where(at_edge, fn(x), np.real(w)))
        out.imag = np.where(outside, np.nan, np.where(at_edge, slope * np.inf * np.sign(y),
                                                      np.imag(w)))
        return out
    return complex_safe


def _sigmoid_c(z):
    if not np.iscomplexobj(z):
        return PRIMAL["sigmoid"](z)
    # 1/(1 + e^-z) for Re z >= 0, e^z/(1 + e^z) below: the exponential never overflows.
    up = np.real(z) >= 0
    e = np.exp(np.where(up, -z, z))
    return np.where(up, 1.0 / (1.0 + e), e / (1.0 + e))


def _softplus_c(z):
    if not np.iscomplexobj(z):
        return PRIMAL["softplus"](z)
    # log(1 + e^z) = z + log1p(e^-z) for Re z > 0, log1p(e^z) below: no overflow.
    up = np.real(z) > 0
    return np.where(up, z, 0.0) + np.log1p(np.exp(np.where(up, -z, z)))


def _pow_c(a, b):
    if not (np.iscomplexobj(a) or np.iscomplexobj(b)):
        return np.power(a, b)
    w = np.asarray(np.power(a, b), dtype=np.complex128)
    a_re, b_re, b_im = np.real(a), np.real(b), np.imag(b)
    # Real x**y is nan for x < 0 unless y is an integer; a varying exponent is never one.
    bad = (a_re < 0) & ((b_re != np.round(b_re)) | (b_im != 0))
    # 0**y for y > 0 is 0 with zero slope in y (JAX); NumPy's complex power says nan.
    zero_base = (a == 0) & (b_re > 0)
    return np.where(bad, complex(np.nan, np.nan), np.where(zero_base, 0j, w))


def _real_only(op: str):
    """Non-analytic ops compute on real input only (slots the perturbation never reaches)."""
    def primal(*xs):
        if any(np.iscomplexobj(x) for x in xs):
            raise ValueError(f"complex step cannot differentiate {op}: not analytic")
        return PRIMAL[op](*xs)
    return primal


# op -> the op's value in complex arithmetic: PRIMAL where NumPy's complex function already is
# the analytic continuation, guarded versions where the real domain ends.
# Real evaluation is evaluate.PRIMAL; these are its complex-arithmetic twins.
RULE_TABLES = ("complex_rules",)
complex_rules = {op: PRIMAL[op] for op in UNARY + BINARY}
complex_rules["log"] = _on_domain(np.log, lambda x: x < 0, lambda x: x == 0, 1.0)
complex_rules["log1p"] = _on_domain(np.log1p, lambda x: x < -1, lambda x: x == -1, 1.0)
complex_rules["sqrt"] = _on_domain(np.sqrt, lambda x: x < 0, lambda x: x == 0, 1.0)
complex_rules["asin"] = _on_domain(np.arcsin, lambda x: np.abs(x) > 1,
                                   lambda x: np.abs(x) == 1, 1.0)
complex_rules["acos"] = _on_domain(np.arccos, lambda x: np.abs(x) > 1,
                                   lambda x: np.abs(x) == 1, -1.0)
complex_rules["sigmoid"] = _sigmoid_c
complex_rules["softplus"] = _softplus_c
complex_rules["pow"] = _pow_c
for _op in NOT_ANALYTIC:
    complex_rules[_op] = _real_only(_op)


def run_complex(plan: Plan, values: list) -> list:
    """Fill every non-leaf slot with complex-safe ops (the complex step's evaluator)."""
    ops, args = plan.ops, plan.args
    with np.errstate(all="ignore"):
        for slot, op in enumerate(ops):
            a = args[slot]
            if len(a) == 1:
                values[slot] = complex_rules[op](values[a[0]])
            elif a:
                values[slot] = complex_rules[op](values[a[0]], values[a[1]])
    return values


def non_analytic_op(plan: Plan, wrt: Sequence[str]) -> str | None:
    """The first abs/relu/max/min the perturbation of ``wrt`` reaches, if any."""
    reached = [False] * plan.size
    for slot, op in enumerate(plan.ops):
        if op == "var":
            reached[slot] = plan.attrs[slot] in wrt
        else:
            reached[slot] = any(reached[a] for a in plan.args[slot])
            if reached[slot] and op in NOT_ANALYTIC:
                return op
    return None


# ---- f at perturbed points of the plan ---------------------------------------------------
class _Perturbed:
    """f at a bound point with a few scalar components replaced, counting evaluations."""

    def __init__(self, plan: Plan, point: Mapping, wrt: Sequence[str], complex_step: bool):
        self.plan, self.complex_step, self.count = plan, complex_step, 0
        self.values = bind(plan, point)
        for name in wrt:  # private copies: components are written in place and restored
            slot = plan.var_slots[name]
            if isinstance(self.values[slot], np.ndarray):
                self.values[slot] = np.array(self.values[slot], dtype=np.float64)

    def __call__(self, changes: Sequence[tuple[int, int | None, float | complex]]):
        """f with component ``index`` of slot ``slot`` set to ``t`` for each change."""
        values, saved = self.values, []
        for slot, index, t in changes:
            old = values[slot]
            if index is None:
                saved.append((slot, None, old))
                values[slot] = t
            elif isinstance(t, complex):
                saved.append((slot, None, old))
                values[slot] = old.astype(np.complex128)
                values[slot].flat[index] = t
            else:
                saved.append((slot, index, old.flat[index]))
                old.flat[index] = t
        (run_complex if self.complex_step else run)(self.plan, values)
        out = np.array(values[self.plan.out])  # a copy: the output may alias an input
        for slot, index, old in reversed(saved):
            if index is None:
                values[slot] = old
            else:
                values[slot].flat[index] = old
        self.count += 1
        return out

    def components(self, wrt: Sequence[str]):
        """(name, slot, flat index or None, value) for every scalar input of ``wrt``."""
        for name in wrt:
            slot = self.plan.var_slots[name]
            value = self.values[slot]
            if isinstance(value, np.ndarray):
                for index, x in enumerate(value.flat):
                    yield name, slot, index, float(x)
            else:
                yield name, slot, None, value


# ---- the protocol ------------------------------------------------------------------------
def _checked(expr: Expr, wrt, shapes: Mapping) -> tuple[Plan, tuple, tuple[int, ...]]:
    plan = compile_plan(expr)
    wrt = tuple(wrt)
    for name in wrt:
        if name not in plan.var_slots:
            raise ValueError(f"cannot differentiate with respect to {name!r}: the expression "
                             f"depends only on {', '.join(plan.variables) or 'no variables'}")
    return plan, wrt, infer_shapes(plan, shapes)[plan.out]


def _resolve(plan: Plan, wrt: tuple, scheme: str, fallback: str | None) -> tuple[str, dict]:
    """The scheme actually used: complex step refuses non-analytic ops, or falls back."""
    check_scheme(scheme)
    if fallback is not None:
        check_scheme(fallback)
        if fallback == "complex":
            raise ValueError("fallback='complex' is no fallback: pick a real scheme")
    if scheme != "complex":
        return scheme, {}
    op = non_analytic_op(plan, wrt)
    if op is None:
        return scheme, {}
    if fallback is None:
        raise ValueError(f"complex step cannot differentiate {op}: not analytic (abs, relu, "
                         f"max and min have kinks); use another scheme or fallback='central'")
    return fallback, {"fallback": f"complex step refused ({op} is not analytic): used "
                                  f"{fallback}"}


def _prepare_columns(expr, wrt, shapes, scheme, step, fallback, levels, scalar_only):
    plan, wrt, out_shape = _checked(expr, wrt, shapes)
    if scalar_only and out_shape != ():
        raise ValueError(f"the gradient needs a scalar expression; this one is not scalar: "
                         f"its shape is {out_shape} (use prepare_jacobian)")
    step, levels = check_step(step), check_levels(levels)
    used, note = _resolve(plan, wrt, scheme, fallback)
    n = sum(math.prod(shapes[name]) for name in wrt)
    if step is None:
        step_rule = COMPLEX_STEP if used == "complex" else f"{STEP_FACTOR[used]:.3g} * max(1, |x|)"
    else:
        step_rule = step
    info = {"method": "numeric", "scheme": used, "inputs": n, "step": step_rule,
            "evaluations": evaluations(used, n, levels),
            "evaluations_formula": _FORMULA.get(used, f"{2 * levels}n ({levels} levels)"),
            **note}

    def columns(point: Mapping) -> dict:
        f = _Perturbed(plan, point, wrt, used == "complex")
        f0 = f(()) if used in ("forward", "backward") and n else None
        result = {name: np.zeros(out_shape + tuple(shapes[name])) for name in wrt}
        errors = {name: np.zeros_like(result[name]) for name in wrt} if used == "richardson" \
            else None
        for name, slot, index, x in f.components(wrt):
            h = step_size(x, used, step)
            value, error = difference(lambda t, s=slot, i=index: f(((s, i, t),)), x, h, used,
                                      f0, levels)
            at = (...,) if index is None else (...,) + np.unravel_index(index, shapes[name])
            result[name][at] = value
            if errors is not None:
                errors[name][at] = error
        info["evaluations_last_call"] = f.count
        if errors is not None:
            info["error_estimate"] = {k: shaped(v, np.shape(v)) for k, v in errors.items()}
        return result

    return columns, info, out_shape


def prepare(expr: Expr, wrt: Sequence[str], shapes: Mapping, scheme: str = DEFAULT_SCHEME,
            step: float | None = None, fallback: str | None = None,
            levels: int = RICHARDSON_LEVELS) -> Prepared:
    """The gradient of a scalar expression by finite differences.

    Args:
        expr: the expression; wrt: names to differentiate by; shapes: every variable's shape.
        scheme: one of SCHEMES; step: an absolute step overriding the relative rule.
        fallback: for scheme="complex", the real scheme to use when the expression has a
            non-analytic op (abs, relu, max, min); None refuses with a ValueError.
        levels: Richardson's number of steps (h, h/2, ...).
    Returns:
        a Prepared giving {name: float or array of the variable's shape}; its info holds the
        scheme, the evaluation count per call and its formula (and, for richardson, the last
        call's error estimate).
    """
    columns, info, _ = _prepare_columns(expr, wrt, shapes, scheme, step, fallback, levels, True)
    return Prepared(lambda point: {k: shaped(v, v.shape) for k, v in columns(point).items()},
                    info)


def prepare_jacobian(expr: Expr, wrt: Sequence[str], shapes: Mapping,
                     scheme: str = DEFAULT_SCHEME, step: float | None = None,
                     fallback: str | None = None, levels: int = RICHARDSON_LEVELS) -> Prepared:
    """The Jacobian by finite differences, one column per scalar input.

    Args: as ``prepare``; the expression may have any shape.
    Returns:
        a Prepared giving {name: array of shape output shape + variable's shape}.
    """
    columns, info, _ = _prepare_columns(expr, wrt, shapes, scheme, step, fallback, levels,
                                        False)
    return Prepared(columns, info)


def prepare_hessian(expr: Expr, wrt: Sequence[str], shapes: Mapping, scheme: str = "central",
                    step: float | None = None) -> Prepared:
    """The Hessian of a scalar expression by second central differences.

    H_ii = (f(x + h e_i) - 2 f(x) + f(x - h e_i)) / h^2 and, for i != j,
    H_ij = (f(++) - f(+-) - f(-+) + f(--)) / (4 h_i h_j): error O(h^2) + eps |f| / h^2, so
    h = eps^(1/4) * max(1, |x|). Costs 2n^2 + 1 evaluations for n scalar inputs.

    Args:
        expr, wrt, shapes: as ``prepare``; scheme: only "central" (second differences);
        step: an absolute step overriding the rule.
    Returns:
        a Prepared giving {a: {b: array of shape shape(a) + shape(b)}}.
    """
    if scheme != "central":
        raise ValueError(f"the numeric Hessian uses second central differences only: "
                         f"scheme={scheme!r} is not supported (use 'central')")
    plan, wrt, out_shape = _checked(expr, wrt, shapes)
    if out_shape != ():
        raise ValueError(f"the Hessian needs a scalar expression; this one is not scalar: "
                         f"its shape is {out_shape}")
    step = check_step(step)
    n = sum(math.prod(shapes[name]) for name in wrt)
    info = {"method": "numeric", "scheme": "central (second differences)", "inputs": n,
            "evaluations": 2 * n * n + 1, "evaluations_formula": "2n^2 + 1",
            "step": step if step is not None else f"{HESSIAN_STEP_FACTOR:.3g} * max(1, |x|)"}

    def hessian(point: Mapping) -> dict:
        f = _Perturbed(plan, point, wrt, False)
        f0 = float(f(()))
        inputs = [(slot, index, x, step_size(x, "central", step, HESSIAN_STEP_FACTOR))
                  for _, slot, index, x in f.components(wrt)]
        flat = np.zeros((n, n))
        for i, (slot_i, index_i, x_i, h_i) in enumerate(inputs):
            plus = f(((slot_i, index_i, x_i + h_i),))
            minus = f(((slot_i, index_i, x_i - h_i),))
            flat[i, i] = ((plus - f0) + (minus - f0)) / (h_i * h_i)
            for j in range(i):
                slot_j, index_j, x_j, h_j = inputs[j]
                f_ss = [f(((slot_i, index_i, x_i + s_i * h_i), (slot_j, index_j, x_j + s_j * h_j)))
                        for s_i, s_j in ((1, 1), (1, -1), (-1, 1), (-1, -1))]
                flat[i, j] = flat[j, i] = ((f_ss[0] - f_ss[1]) - (f_ss[2] - f_ss[3])) \
                    / (4.0 * h_i * h_j)
        info["evaluations_last_call"] = f.count
        result, start = {}, 0
        offsets = {}
        for name in wrt:
            offsets[name] = (start, start + math.prod(shapes[name]))
            start = offsets[name][1]
        for a in wrt:
            result[a] = {}
            for b in wrt:
                block = flat[offsets[a][0]:offsets[a][1], offsets[b][0]:offsets[b][1]]
                result[a][b] = shaped(block, tuple(shapes[a]) + tuple(shapes[b]))
        return result

    return Prepared(hessian, info)


# ---- one-shot ----------------------------------------------------------------------------
def _one_shot(expr: Expr, point: Mapping, wrt) -> tuple[dict, tuple, dict]:
    """A validated point, the names to differentiate by and the shapes, for one-shot calls."""
    if not isinstance(expr, Expr):
        raise TypeError(f"expected an expression, got {type(expr).__name__}")
    plan = compile_plan(expr)
    clean = clean_point(plan, point)
    names = plan.variables if wrt is None else (wrt,) if isinstance(wrt, str) else tuple(wrt)
    return clean, names, {name: np.shape(v) for name, v in clean.items()}


def grad(expr: Expr, point: Mapping, wrt: Sequence[str] | None = None,
         scheme: str = DEFAULT_SCHEME, step: float | None = None, **options) -> dict:
    """The gradient of a scalar expression at ``point`` by finite differences.

    Args:
        expr: the expression; point: every variable -> float or array.
        wrt: names to differentiate by (default: all); scheme: one of SCHEMES;
        step: an absolute step; options: ``fallback``, ``levels`` (see ``prepare``).
    Returns:
        {name: float or array of the variable's shape}.
    """
    from . import api  # validation and the preparation cache live there, for every method

    return api.grad(expr, point, method="numeric", wrt=wrt, scheme=scheme, step=step, **options)


def grad_with_error(expr: Expr, point: Mapping, wrt: Sequence[str] | None = None,
                    step: float | None = None, levels: int = RICHARDSON_LEVELS) -> tuple:
    """Richardson's gradient with its error estimate: ({name: value}, {name: error})."""
    clean, names, shapes = _one_shot(expr, point, wrt)
    prepared = prepare(expr, names, shapes, scheme="richardson", step=step, levels=levels)
    return prepared(clean), prepared.info["error_estimate"]
