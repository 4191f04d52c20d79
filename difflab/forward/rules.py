"""Forward mode's rules: ``jvp_rules[op](primal args, primal result, tangent args)``.

Forward mode carries, next to every value ``x``, its tangent ``x_dot = dx/de`` along a chosen
input direction, and applies the chain rule in evaluation order: ``y = f(x)`` gets
``y_dot = f'(x) x_dot``. Each rule below is that one line of calculus for one op. A rule works
on the TRAILING (value) axes of its tangents, so the same rule serves one direction (a Dual's
tangent has the value's shape) and many (the plan sweep's leading axis of directions). A
tangent of None is an absent (zero) tangent; a rule never materialises zeros for it.

The values may be Duals of an outer perturbation (forward over forward); ``_strip`` reads the
plain number under them for masks (kinks, ties), recognising a Dual by its ``x_dot`` slot so
these rules need not import the Dual type.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable

import numpy as np

from .array_rules import ARRAY_JVP
from .values import _ZERO, _strip, _zeros_like
from .zeros import _finite, _matmul_times, _over, _times

RULE_TABLES = ("jvp_rules",)
# ---- the rules: (primal args, primal result, tangent args) -> the result's tangent --------
# Unary: rule(x, y, x_dot); binary: rule(a, b, y, a_dot, b_dot), where the tangent of an
# argument that does not vary is None (and no zeros are made for it). Factors are computed from
# primal values and multiplied onto the tangent, so they broadcast over a leading direction axis.
def _neg_jvp(x, y, x_dot): return -x_dot
def _sin_jvp(x, y, x_dot): return _times(x_dot, np.cos(x))
def _cos_jvp(x, y, x_dot): return _times(-x_dot, np.sin(x))
def _tan_jvp(x, y, x_dot): return _times(x_dot, 1.0 + y * y)            # sec^2 = 1 + tan^2
def _asin_jvp(x, y, x_dot): return _over(x_dot, np.sqrt(1.0 - x * x))
def _acos_jvp(x, y, x_dot): return _over(-x_dot, np.sqrt(1.0 - x * x))
def _atan_jvp(x, y, x_dot): return _over(x_dot, 1.0 + x * x)
def _sinh_jvp(x, y, x_dot): return _times(x_dot, np.cosh(x))
def _cosh_jvp(x, y, x_dot): return _times(x_dot, np.sinh(x))
def _tanh_jvp(x, y, x_dot): return _times(x_dot, 1.0 - y * y)           # 1 - tanh^2
def _exp_jvp(x, y, x_dot): return _times(x_dot, y)                      # d e^x = e^x
def _log_jvp(x, y, x_dot): return _over(x_dot, x)
def _log1p_jvp(x, y, x_dot): return _over(x_dot, 1.0 + x)
def _expm1_jvp(x, y, x_dot): return _times(x_dot, y + 1.0)              # e^x = expm1(x) + 1
def _sqrt_jvp(x, y, x_dot): return _times(x_dot, 0.5 / y)               # 1 / (2 sqrt x)
def _square_jvp(x, y, x_dot): return _times(x_dot, 2.0 * x)
def _abs_jvp(x, y, x_dot): return _times(x_dot, np.sign(_strip(x)))     # sign(0) = 0: d|x| = 0 at 0
def _sigmoid_jvp(x, y, x_dot): return _times(x_dot, y * (1.0 - y))      # s' = s (1 - s)
def _softplus_jvp(x, y, x_dot): return _times(x_dot, -np.expm1(-y))     # sigmoid = 1 - e^-sp
def _relu_jvp(x, y, x_dot): return _select(_strip(x) > 0.0, x_dot)      # 0 at the kink, as JAX


def _sum_jvp(x, y, x_dot):
    # d sum(x) = sum of x_dot over the value axes (the trailing ones), never the direction axis
    d = np.ndim(x)
    return np.sum(x_dot, axis=tuple(range(-d, 0))) if d else x_dot


def _mean_jvp(x, y, x_dot):
    # the mean of no elements is nan, a constant: no direction reaches it, its tangent is 0
    # (as reverse mode's, whose cotangent flows to no element), not 0/0
    shape = np.shape(x)
    if not shape:
        return x_dot
    total = np.sum(x_dot, axis=tuple(range(-len(shape), 0)))
    n = math.prod(shape)
    return total / n if n else total * 0.0


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
        return _times(a_dot, b)
    if a_dot is None:
        return _times(b_dot, a)
    if a_dot.__class__ is np.float64 and b_dot.__class__ is np.float64:
        t = a_dot * b + b_dot * a  # scalars: only a nan can differ from the masked sum
        if t == t:
            return t
    return _times(a_dot, b) + _times(b_dot, a)


def _div_jvp(a, b, y, a_dot, b_dot):
    # d(a/b) = (a_dot - b_dot * a/b) / b, with y = a/b
    if b_dot is None:
        return _over(a_dot, b)
    if a_dot is None:
        return -_over(_times(b_dot, y), b)
    if a_dot.__class__ is np.float64 and b_dot.__class__ is np.float64:
        t = (a_dot - b_dot * y) / b  # scalars: as for mul
        if t == t:
            return t
    return _over(a_dot - _times(b_dot, y), b)


def _pow_jvp(x, p, y, x_dot, p_dot):
    # d x^p = p x^(p-1) x_dot + log(x) x^p p_dot. The p-term exists only where p varies, so a
    # constant exponent never meets log of a negative base (x**3 at -2 is 12, not nan). As
    # JAX's rule for a float exponent: no special case at p == 0; log x is read as log 1 = 0
    # where x == 0.
    y_dot = None
    if x_dot is not None:
        y_dot = _times(x_dot, p * x ** (p - 1.0))  # x: np.float64 or an array: IEEE power
    if p_dot is not None:
        xs = _strip(x)
        if xs.__class__ is np.ndarray:
            log_x = np.log(np.where(xs == 0.0, 1.0, x))
        else:
            log_x = np.log(x) if xs != 0.0 else _ZERO
        t = _times(p_dot, log_x * y)
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
    if np.ndim(a) > 2 or np.ndim(b) > 2:
        return _stacked_matmul_jvp(a, b, a_dot, b_dot)
    y_dot = None if a_dot is None else _matmul_times(a_dot, b)
    if b_dot is not None:
        if np.ndim(b) == 1:
            t = _matmul_times(b_dot, a if np.ndim(a) == 1 else np.swapaxes(a, -1, -2))
        elif _finite(a):
            t = a @ b_dot
        elif np.ndim(a) == 1:  # a @ b_dot = b_dot^T @ a, the tangent on the left
            t = _matmul_times(np.swapaxes(b_dot, -1, -2), a)
        else:                  # a @ b_dot = (b_dot^T @ a^T)^T
            t = np.swapaxes(_matmul_times(np.swapaxes(b_dot, -1, -2),
                                          np.swapaxes(a, -1, -2)), -1, -2)
        y_dot = t if y_dot is None else y_dot + t
    return y_dot


def _stacked_matmul_jvp(a, b, a_dot, b_dot):
    # Stacks of matrices: a 1-D operand made a row (1, n) or a column (n, 1), a tangent's
    # direction axis (if any) padded to sit in front of every stack axis, so it is one more
    # stack axis of np.matmul and directions never mix; the added row/column dropped after.
    # (a @ b_dot is (b_dot^T @ a^T)^T: the tangent on the left, where zeros stay zero.)
    nd_a, nd_b = np.ndim(a), np.ndim(b)
    lead = np.ndim(a_dot) - nd_a if a_dot is not None else np.ndim(b_dot) - nd_b
    a2 = np.expand_dims(a, 0) if nd_a == 1 else a
    b2 = np.expand_dims(b, -1) if nd_b == 1 else b
    nd = max(np.ndim(a2), np.ndim(b2))

    def lift(t, nd_t: int, row: bool):
        t = np.expand_dims(t, -2 if row else -1) if nd_t == 1 else t
        missing = nd - max(nd_t, 2)
        if lead and missing:  # (k, ...) -> (k, 1, ..., 1, ...): stacks aligned after k
            t = np.reshape(t, np.shape(t)[:1] + (1,) * missing + np.shape(t)[1:])
        return t

    y_dot = None
    if a_dot is not None:
        y_dot = _matmul_times(lift(a_dot, nd_a, True), b2)
    if b_dot is not None:
        t = np.swapaxes(_matmul_times(np.swapaxes(lift(b_dot, nd_b, False), -1, -2),
                                      np.swapaxes(a2, -1, -2)), -1, -2)
        y_dot = t if y_dot is None else y_dot + t
    if nd_a == 1:
        y_dot = np.squeeze(y_dot, axis=-2)
    if nd_b == 1:
        y_dot = np.squeeze(y_dot, axis=-1)
    return y_dot


def _logaddexp_jvp(a, b, y, a_dot, b_dot):
    # d log(e^a + e^b) = e^(a - y) a_dot + e^(b - y) b_dot  (Duals only: softplus, sigmoid)
    y_dot = None if a_dot is None else _times(a_dot, np.exp(a - y))
    if b_dot is not None:
        t = _times(b_dot, np.exp(b - y))
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
    "square": _square_jvp,
    **ARRAY_JVP,
    # not an op of the IR, but a NumPy ufunc that Dual code (and PRIMAL) calls
    "logaddexp": _logaddexp_jvp,
}


def _select(mask, t):
    """t where mask holds, else 0: a select (as JAX's), so 0 even where t is inf or nan."""
    if mask.__class__ is not np.ndarray:
        return t if mask else _zeros_like(t)
    return np.where(mask, t, 0.0)
