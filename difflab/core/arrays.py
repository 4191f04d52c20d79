"""The array functions built from nodes: where, joins, stable softmax family, comparisons,
and composites (stack, clip, outer, add_n) that are spelled with other ops.

``BUILDERS`` maps every op of the table to the function that makes its node (the parser, the
SymPy bridge and the fuzzer build through it).
"""

from __future__ import annotations

from collections.abc import Sequence

from .expr import (
    Expr,
    _as_expr,
    _param,
    abs,
    acos,
    add,
    asin,
    atan,
    cos,
    cosh,
    div,
    exp,
    expm1,
    index,
    log,
    log1p,
    matmul,
    max,
    mean,
    min,
    mul,
    neg,
    pow,
    prod,
    relu,
    reshape,
    sigmoid,
    sin,
    sinh,
    softplus,
    sqrt,
    square,
    sub,
    sum,
    tan,
    tanh,
    transpose,
)
from .ops import OPS
from .params import axes_param, axis_param


def _select(c, a) -> Expr:  # where's halves, made by plans (not a function of the grammar)
    return Expr("select", (_as_expr(c), _as_expr(a)))


def _select_not(c, b) -> Expr:
    return Expr("select_not", (_as_expr(c), _as_expr(b)))



def logsumexp(a, axis=None, keepdims=False) -> Expr:
    """log(sum(exp(a))) over ``axis``, shifted by the max so it never overflows."""
    return Expr("logsumexp", (_as_expr(a), _param(axes_param(axis, keepdims))))


def softmax(a, axis=-1) -> Expr:
    """exp(a) / sum(exp(a)) along ``axis`` (stable)."""
    return Expr("softmax", (_as_expr(a), _param(axis_param(axis))))


def log_softmax(a, axis=-1) -> Expr:
    """a - logsumexp(a) along ``axis`` (stable)."""
    return Expr("log_softmax", (_as_expr(a), _param(axis_param(axis))))


def check_condition(value, function: str):
    """``value``, unless it is a Python bool: then a TypeError naming ``function``. A bool
    where a mask belongs is almost always ``x == y`` or ``x != y`` between expressions, which
    compare the expressions' structure (one bool), not their values elementwise."""
    if isinstance(value, bool):
        raise TypeError(
            f"{function}: the condition is the Python bool {value}, not a mask. Between "
            f"expressions, == and != compare their structure (is it the same expression?), "
            f"not their values; for an elementwise 0/1 mask use dnp.equal(a, b) or "
            f"dnp.not_equal(a, b) (dl.equal, dl.not_equal)")
    return value


def where(condition, a, b) -> Expr:
    """``a`` where ``condition`` is nonzero, else ``b`` (each branch's cotangent goes
    through its own mask; the condition's derivative is 0). A Python bool condition is a
    TypeError (see ``check_condition``)."""
    check_condition(condition, "dl.where")
    return Expr("where", (_as_expr(condition), _as_expr(a), _as_expr(b)))


def concat(a, b, axis: int = 0) -> Expr:
    """Two arrays joined along ``axis`` (``concatenate`` joins a list)."""
    return Expr("concat", (_as_expr(a), _as_expr(b), _param(axis_param(axis))))


def less(a, b) -> Expr: return Expr("lt", (_as_expr(a), _as_expr(b)))
def less_equal(a, b) -> Expr: return Expr("le", (_as_expr(a), _as_expr(b)))
def greater(a, b) -> Expr: return Expr("gt", (_as_expr(a), _as_expr(b)))
def greater_equal(a, b) -> Expr: return Expr("ge", (_as_expr(a), _as_expr(b)))
def equal(a, b) -> Expr: return Expr("eq", (_as_expr(a), _as_expr(b)))
def not_equal(a, b) -> Expr: return Expr("ne", (_as_expr(a), _as_expr(b)))


def concatenate(arrays: Sequence, axis: int = 0) -> Expr:
    """A list of arrays joined along ``axis``: a balanced tree of two-way joins."""
    items = _items(arrays, "concatenate")
    return _balanced(items, lambda a, b: concat(a, b, axis))


def stack(arrays: Sequence, axis: int = 0) -> Expr:
    """A list of same-shape arrays stacked along a new ``axis``."""
    items = _items(arrays, "stack")
    if not isinstance(axis, int) or isinstance(axis, bool):
        raise TypeError(f"stack: axis must be a constant integer, got {axis!r}")
    # a new unit axis at ``axis`` (counted from the end when negative), then a join there
    key = (slice(None),) * axis + (None,) if axis >= 0 else \
        (Ellipsis, None) + (slice(None),) * (-axis - 1)
    return concatenate([index(item, key) for item in items], axis=axis)


def clip(a, lo, hi) -> Expr:
    """min(max(a, lo), hi), as JAX spells it (so its derivative at a bound is JAX's: 1/2)."""
    return min(max(a, lo), hi)


def outer(a, b) -> Expr:
    """The outer product of (flattened) ``a`` and ``b``: a column times a row."""
    return mul(reshape(a, (-1, 1)), reshape(b, (1, -1)))


def add_n(terms: Sequence) -> Expr:
    """The sum of many terms as a balanced tree (depth log2 n, not n: a Python ``sum()`` of
    10,000 terms would be a 10,000-deep chain)."""
    return _balanced(_items(terms, "add_n"), add)


def _items(arrays, what: str) -> list[Expr]:
    if isinstance(arrays, Expr) or not isinstance(arrays, Sequence | tuple) or \
            isinstance(arrays, str):
        raise TypeError(f"{what} takes a list of arrays, got {type(arrays).__name__}")
    if not arrays:
        raise ValueError(f"{what} needs at least one array")
    return [_as_expr(a) for a in arrays]


def _balanced(items: list[Expr], join) -> Expr:
    """Pairwise joins, level by level (iterative): depth ceil(log2 n)."""
    while len(items) > 1:
        paired = [join(items[k], items[k + 1]) for k in range(0, len(items) - 1, 2)]
        items = paired + ([items[-1]] if len(items) % 2 else [])
    return items[0]


# op name -> builder, for the parser and the SymPy bridge.
BUILDERS = {
    "neg": neg, "sin": sin, "cos": cos, "tan": tan, "asin": asin, "acos": acos, "atan": atan,
    "sinh": sinh, "cosh": cosh, "tanh": tanh, "exp": exp, "log": log, "log1p": log1p,
    "expm1": expm1, "sqrt": sqrt, "abs": abs, "sigmoid": sigmoid, "relu": relu,
    "softplus": softplus, "sum": sum, "mean": mean, "transpose": transpose, "max": max,
    "min": min, "add": add, "sub": sub, "mul": mul, "div": div, "pow": pow, "matmul": matmul,
    "square": square, "lt": less, "le": less_equal, "gt": greater, "ge": greater_equal,
    "eq": equal, "ne": not_equal, "where": where, "select": _select,
    "select_not": _select_not, "concat": concat, "index": index,
    "reduce_sum": lambda a, axis=None, keepdims=False: Expr(
        "reduce_sum", (_as_expr(a), _param(axes_param(axis, keepdims)))),
    "reduce_mean": lambda a, axis=None, keepdims=False: Expr(
        "reduce_mean", (_as_expr(a), _param(axes_param(axis, keepdims)))),
    "reduce_prod": prod, "reduce_max": max, "reduce_min": min, "logsumexp": logsumexp,
    "softmax": softmax, "log_softmax": log_softmax, "reshape": reshape,
    "permute": transpose,
}
assert set(BUILDERS) == set(OPS) - {"const", "var"}
