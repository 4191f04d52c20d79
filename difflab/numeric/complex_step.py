"""The complex step's arithmetic: every op on complex values, for Im f(x + ih) / h.

``complex_rules`` is numeric's rule table: each op's complex extension (NumPy's where it is
analytic, a continuation that keeps the derivative where NumPy's complex branch would not).
Ops that are not analytic (``abs``, ``relu``, ``max``, ``min``) are refused by
``non_analytic_op`` before a complex step is taken across them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..core.ops import COMPARISONS, PRIMAL
from ..core.plan import Plan
from .schemes import NOT_ANALYTIC


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
complex_rules = dict(PRIMAL)  # every op; the array ops (index, sum over axes, reshape, join,
# logsumexp and softmax, whose max shift cancels exactly) are analytic with NumPy's complex
# functions as they are. Comparisons and masks read the real part: the perturbation never
# moves a branch.
for _op in COMPARISONS:
    complex_rules[_op] = (lambda f: lambda a, b: f(np.real(a), np.real(b)))(PRIMAL[_op])
complex_rules["select"] = lambda c, a: np.where(np.real(c), a, 0.0)[()]
complex_rules["select_not"] = lambda c, b: np.where(np.real(c), 0.0, b)[()]
complex_rules["where"] = lambda c, a, b: np.where(np.real(c), a, b)[()]
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
                values[slot] = complex_rules[op](*[values[i] for i in a])
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
