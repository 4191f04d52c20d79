"""``difflab.numpy``, elementwise: NumPy's ufuncs over the IR, its constants, and ``asarray``.

Every function takes expressions, Python numbers, NumPy arrays and (nested) lists alike and
returns an expression: ``dnp.exp(2.0)`` is the node exp(2), not a number. Functions NumPy
spells that the IR has no op for are composed from ops that keep NumPy's values and JAX's
derivatives (``log2(x) = log(x) / log(2)``, ``logaddexp(a, b) = max(a, b) + log1p(exp(-|a -
b|))``, ``sign`` from comparisons: derivative 0).
"""

from __future__ import annotations

import math

import numpy as np

from ..core import arrays as A
from ..core import expr as E
from ..core.expr import Expr

pi = math.pi
e = math.e
inf = math.inf
nan = math.nan
euler_gamma = float(np.euler_gamma)
newaxis = None


def _holds_expr(value) -> bool:
    """True when a (nested) list or tuple holds an expression somewhere (iterative)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Expr):
            return True
        if isinstance(item, list | tuple):
            stack.extend(item)
    return False


def asarray(a) -> Expr:
    """``a`` as an expression: an expression stays itself; a number, a NumPy array (booleans
    as 0/1) or a nested list of numbers becomes a constant; a list holding expressions is
    stacked along a new first axis (``dnp.array([x[0] ** 2, x[1]])``).

    Args:
        a: an expression, number, array or (nested) list.
    Returns:
        the expression.
    """
    if isinstance(a, Expr):
        return a
    if isinstance(a, list | tuple) and _holds_expr(a):
        return A.stack([asarray(item) for item in a])  # (nesting depth = the array's rank)
    arr = np.asarray(a)
    if arr.dtype.kind == "b":
        arr = arr.astype(np.float64)
    return E.constant(arr)


array = asarray


def _unary(name: str, build, doc: str):
    def function(x) -> Expr:
        return build(asarray(x))
    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"{doc}, elementwise (NumPy's ``{name}``); returns an expression."
    return function


def _binary(name: str, build, doc: str):
    def function(x1, x2) -> Expr:
        return build(asarray(x1), asarray(x2))
    function.__name__ = function.__qualname__ = name
    function.__doc__ = (f"{doc}, elementwise with broadcasting (NumPy's ``{name}``); returns "
                        f"an expression.")
    return function


_LN2, _LN10 = math.log(2.0), math.log(10.0)


def _sign(x: Expr) -> Expr:
    # (x > 0) - (x < 0): derivative 0 everywhere (JAX's); nan stays nan, as in NumPy
    return A.where(A.not_equal(x, x), x, A.greater(x, 0.0) - A.less(x, 0.0))


def _logaddexp(a: Expr, b: Expr) -> Expr:
    # log(e^a + e^b) = a + softplus(b - a) = b + softplus(a - b): the larger plus the
    # softplus of the (non-positive) difference, so nothing overflows and a tiny correction
    # keeps its digits. Both branches are the same smooth function, so every derivative is
    # exact at a tie too (d2/da2 = 1/4 at a == b; max(a, b) + log1p(exp(-|a - b|)) loses it
    # there). Equal infinities make the difference nan: a + b is their value, as NumPy's.
    d = a - b
    smooth = A.where(A.greater_equal(d, 0.0), a + E.softplus(-d), b + E.softplus(d))
    return A.where(A.not_equal(d, d), a + b, smooth)


negative = _unary("negative", E.neg, "-x")
positive = _unary("positive", lambda x: x, "+x")
exp = _unary("exp", E.exp, "e**x")
exp2 = _unary("exp2", lambda x: E.pow(2.0, x), "2**x")
expm1 = _unary("expm1", E.expm1, "e**x - 1 (accurate near 0)")
log = _unary("log", E.log, "The natural logarithm")
log2 = _unary("log2", lambda x: E.log(x) / _LN2, "The base-2 logarithm")
log10 = _unary("log10", lambda x: E.log(x) / _LN10, "The base-10 logarithm")
log1p = _unary("log1p", E.log1p, "log(1 + x) (accurate near 0)")
sqrt = _unary("sqrt", E.sqrt, "The square root")
square = _unary("square", E.square, "x**2")
reciprocal = _unary("reciprocal", lambda x: 1.0 / x, "1 / x")
sin = _unary("sin", E.sin, "The sine")
cos = _unary("cos", E.cos, "The cosine")
tan = _unary("tan", E.tan, "The tangent")
arcsin = asin = _unary("arcsin", E.asin, "The inverse sine")
arccos = acos = _unary("arccos", E.acos, "The inverse cosine")
arctan = atan = _unary("arctan", E.atan, "The inverse tangent")
sinh = _unary("sinh", E.sinh, "The hyperbolic sine")
cosh = _unary("cosh", E.cosh, "The hyperbolic cosine")
tanh = _unary("tanh", E.tanh, "The hyperbolic tangent")
abs = absolute = fabs = _unary("abs", E.abs, "|x| (derivative 0 at 0, as JAX)")  # noqa: A001
sign = _unary("sign", _sign, "-1, 0 or 1 (derivative 0)")
# not NumPy's, but what its users reach for in a loss (jax.nn's names)
sigmoid = _unary("sigmoid", E.sigmoid, "1 / (1 + e**-x) (stable)")
relu = _unary("relu", E.relu, "max(x, 0) (derivative 0 at 0, as JAX)")
softplus = _unary("softplus", E.softplus, "log(1 + e**x) (stable)")

add = _binary("add", E.add, "x1 + x2")
subtract = _binary("subtract", E.sub, "x1 - x2")
multiply = _binary("multiply", E.mul, "x1 * x2")
divide = true_divide = _binary("divide", E.div, "x1 / x2")
power = float_power = _binary("power", E.pow, "x1 ** x2")
maximum = _binary("maximum", E.max, "The larger of x1, x2 (a tie splits the derivative)")
minimum = _binary("minimum", E.min, "The smaller of x1, x2 (a tie splits the derivative)")
hypot = _binary("hypot", lambda a, b: E.sqrt(a * a + b * b), "sqrt(x1**2 + x2**2)")
logaddexp = _binary("logaddexp", _logaddexp, "log(e**x1 + e**x2) (stable)")

# comparisons and logic: 0/1 masks (floats), derivative 0; for dnp.where's condition
less = _binary("less", A.less, "1 where x1 < x2, else 0")
less_equal = _binary("less_equal", A.less_equal, "1 where x1 <= x2, else 0")
greater = _binary("greater", A.greater, "1 where x1 > x2, else 0")
greater_equal = _binary("greater_equal", A.greater_equal, "1 where x1 >= x2, else 0")
equal = _binary("equal", A.equal, "1 where x1 == x2, else 0")
not_equal = _binary("not_equal", A.not_equal, "1 where x1 != x2, else 0")


def _of_conditions(function):
    """``function`` refusing a Python bool argument (``x == y`` between expressions is one,
    see ``core.arrays.check_condition``) before ``asarray`` would make it 0 or 1."""
    def checked(*conditions) -> Expr:
        for condition in conditions:
            A.check_condition(condition, f"dnp.{function.__name__}")
        return function(*conditions)
    checked.__name__ = checked.__qualname__ = function.__name__
    checked.__doc__ = function.__doc__ + " A Python bool argument is a TypeError."
    return checked


logical_and = _of_conditions(_binary(
    "logical_and", lambda a, b: A.not_equal(a, 0.0) * A.not_equal(b, 0.0),
    "1 where both are nonzero, else 0"))
logical_or = _of_conditions(_binary(
    "logical_or", lambda a, b: E.max(A.not_equal(a, 0.0), A.not_equal(b, 0.0)),
    "1 where either is nonzero, else 0"))
logical_not = _of_conditions(_unary("logical_not", lambda x: A.equal(x, 0.0),
                                    "1 where x is 0, else 0"))
isnan = _unary("isnan", lambda x: A.not_equal(x, x), "1 where x is nan, else 0")
isinf = _unary("isinf", lambda x: A.equal(E.abs(x), inf), "1 where x is +-inf, else 0")
isfinite = _unary("isfinite", lambda x: A.less(E.abs(x), inf), "1 where x is finite, else 0")


def where(condition, x=None, y=None) -> Expr:
    """``x`` where ``condition`` is nonzero, else ``y`` (NumPy's three-argument ``where``;
    each branch's derivative goes through its own mask).

    Args:
        condition: a mask (``x > 0``, ``dnp.equal(x, y)``, a NumPy array of bools) or any
            array (nonzero is true); not a Python bool: ``x == y`` between expressions
            compares their structure, giving one bool (a TypeError that says so).
        x, y: the values to choose between (broadcast together).
    Returns:
        the expression.
    """
    A.check_condition(condition, "dnp.where")
    if x is None or y is None:
        raise TypeError("dnp.where(condition) alone (NumPy's nonzero) has no derivative; "
                        "give both branches: dnp.where(condition, x, y)")
    return A.where(asarray(condition), asarray(x), asarray(y))


def clip(a, a_min, a_max) -> Expr:
    """``a`` limited to [a_min, a_max] (either may be None), as min(max(a, a_min), a_max):
    at a bound the derivative is JAX's 1/2.

    Args:
        a: the values; a_min, a_max: the bounds (numbers, arrays or expressions, or None).
    Returns:
        the expression.
    """
    if a_min is None and a_max is None:
        raise ValueError("dnp.clip: give a_min or a_max (or both)")
    out = asarray(a)
    if a_min is not None:
        out = E.max(out, asarray(a_min))
    if a_max is not None:
        out = E.min(out, asarray(a_max))
    return out
