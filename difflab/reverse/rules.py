"""Reverse mode's rules: ``vjp_rules[op]`` turns a result's cotangent into its arguments'.

A rule is ``rule(y_bar, x, y) -> x_bar`` for a unary op and
``rule(y_bar, a, b, y, need) -> (a_bar, b_bar)`` for a binary op, where ``need`` says which
arguments want a cotangent (the other is returned as None and never computed). Rules reuse the
primal result ``y`` where the math allows (d exp = y, d tanh = 1 - y^2) and use NumPy functions
and operators only, so the same sweep runs on floats, arrays and numbers that carry tangents
(``reverse.jet.Jet``, ``forward.Dual``: forward over reverse, for Hessians).

Many cotangents at once (the batch convention). ``y_bar`` has the shape ``lead + shape(y)``:
``lead`` is ``()`` for one cotangent (a gradient, a VJP: the hot path) or ``(k,)`` for k
cotangents swept together (the rows of a Jacobian). A rule works on the TRAILING axes and must
give ``x_bar`` the shape ``lead + shape(x)`` (a binary elementwise rule: ``lead`` + the
output's shape, see below). Elementwise rules get this for free (NumPy broadcasting aligns the
trailing axes: ``y_bar * cos(x)``). A rule that reshapes, reduces, reorders or contracts finds
the batch from the ranks, ``lead = ndim(y_bar) - ndim(y)``, and keeps those leading axes in
front (see ``sum``, ``transpose``, ``matmul`` below); it never branches on it in the scalar
case beyond that one test. Write an outer product as ``y_bar[..., None] * b`` (not a reshape
to (-1, 1)) and a contraction with ``np.matmul`` on the trailing axes.

A binary elementwise rule returns cotangents of the *output's* shape (with the lead); the sweep
then "unbroadcasts" them: sums over the axes an operand was broadcast along, back to its own
shape, skipping the batch axis (``program.py`` for one cotangent, ``batch.py`` for k).

A new op checks itself against this in tests/test_reverse_batch.py (k cotangents at once must
equal k sweeps of one). For Hessians its rule also runs on ``Jet`` values (forward over
reverse): once it does, add the op to ``curvature.JET_OPS``; until then an expression with it
gets its Hessian one direction at a time on forward mode's Duals.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable

import numpy as np

from ..core.ops import PRIMAL
from ..protocol import Shape
from .array_rules import ARRAY_VJP
from .onehot import OneHot, matmul_parts

# ---- the rules: one per op, next to its math ---------------------------------------------
RULE_TABLES = ("vjp_rules",)
vjp_rules: dict[str, Callable | None] = {}


def _shape(x) -> Shape:
    return getattr(x, "shape", ())  # floats and NumPy scalars are 0-d


def filled(value: float, shape: Shape) -> np.ndarray:
    """A read-only array of ``shape`` with every entry ``value``, taking no memory (a
    zero-stride view of one float, as ``np.broadcast_to`` makes, without its overhead)."""
    out = np.ndarray(shape, np.float64, np.array(value, dtype=np.float64), 0, (0,) * len(shape))
    out.flags.writeable = False
    return out


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
# reductions to a scalar: every element contributed once (sum) or 1/n (mean). y is a
# scalar, so y_bar's own shape is the batch: each of its entries spreads over x's shape.
def _sum_vjp(y_bar, x, y):
    shape = _shape(x)
    if not shape:
        return y_bar
    lead = _shape(y_bar)
    if not lead:
        if type(y_bar) is np.float64 or type(y_bar) is float:  # (np.broadcast_to: 5x slower)
            return filled(y_bar, shape)
        return np.broadcast_to(y_bar, shape)
    return np.broadcast_to(np.reshape(y_bar, lead + (1,) * len(shape)), lead + shape)


def _transpose_vjp(y_bar, x, y):
    # transpose reverses the value axes; a batch axis in front stays in front (the rank of
    # y tells them apart, so the forward pass records transpose's result)
    lead = np.ndim(y_bar) - np.ndim(y)
    if not lead:
        return np.transpose(y_bar)
    d = np.ndim(y)
    return np.transpose(y_bar, (*range(lead), *range(lead + d - 1, lead - 1, -1)))


vjp_rules["sum"] = _sum_vjp
vjp_rules["mean"] = lambda y_bar, x, y: _sum_vjp(y_bar / math.prod(_shape(x)), x, y)
vjp_rules["transpose"] = _transpose_vjp


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
    # its outer products are written with new trailing axes. np.matmul contracts the trailing
    # axes and broadcasts the rest, so a batch of cotangents in front passes through.
    if type(y_bar) is OneHot:  # a max/min's cotangent: one entry per row or column
        if type(a) is np.ndarray and type(b) is np.ndarray and a.ndim == b.ndim == 2:
            return matmul_parts(y_bar, a, b, need)
        y_bar = y_bar.dense()
    nd_a, nd_b = len(_shape(a)), len(_shape(b))
    if nd_a > 2 or nd_b > 2:
        return _stacked_matmul_vjp(y_bar, a, b, y, need)
    a_bar = b_bar = None
    if nd_a == 2 and nd_b == 2:                        # (m,n) @ (n,p) -> (m,p)
        if need[0]:
            a_bar = np.matmul(y_bar, np.transpose(b))
        if need[1]:
            b_bar = np.matmul(np.transpose(a), y_bar)
    elif nd_a == 2:                                    # (m,n) @ (n,) -> (m,)
        if need[0]:
            a_bar = y_bar[..., None] * b               # outer(y_bar, b)
        if need[1]:
            b_bar = np.matmul(y_bar, a)                # a^T y_bar
    elif nd_b == 2:                                    # (n,) @ (n,m) -> (m,)
        if need[0]:  # b y_bar (for a batch: y_bar b^T, the batch axis kept in front)
            a_bar = np.matmul(b, y_bar) if y_bar.ndim == 1 else np.matmul(y_bar, np.transpose(b))
        if need[1]:
            b_bar = np.reshape(a, (-1, 1)) * y_bar[..., None, :]  # outer(a, y_bar)
    elif np.ndim(y_bar) == 0:                          # (n,) @ (n,) -> ()
        a_bar = y_bar * b if need[0] else None
        b_bar = y_bar * a if need[1] else None
    else:                                              # ... with a batch of cotangents
        a_bar = y_bar[..., None] * b if need[0] else None
        b_bar = y_bar[..., None] * a if need[1] else None
    return a_bar, b_bar


def _stacked_matmul_vjp(y_bar, a, b, y, need):
    # Stacks of matrices (NumPy's @ over the leading axes, broadcast): with a 1-D operand
    # made a row (1, k) or a column (k, 1) and y_bar given the axis NumPy dropped, it is the
    # matrix rule per stack, a_bar = y_bar @ b^T and b_bar = a^T @ y_bar, each summed over the
    # stack axes its operand was broadcast along. A batch of cotangents in front stays there.
    # (Only transpose, indexing, @ and sum: Jets and Duals of a Hessian pass through.)
    if hasattr(y_bar, "dense"):                        # a Jacobian's diagonal seed
        y_bar = y_bar.dense()
    nd_a, nd_b = len(_shape(a)), len(_shape(b))
    lead = len(_shape(y_bar)) - len(_shape(y))         # 1 for a batch of cotangents, else 0
    a2 = a[None, :] if nd_a == 1 else a
    b2 = b[:, None] if nd_b == 1 else b
    y2 = y_bar[..., None, :] if nd_a == 1 else y_bar
    y2 = y2[..., None] if nd_b == 1 else y2
    a_bar = b_bar = None
    if need[0]:
        a_bar = _sum_to(y2 @ _swap(b2), _shape(a2), lead)
        a_bar = a_bar[..., 0, :] if nd_a == 1 else a_bar
    if need[1]:
        b_bar = _sum_to(_swap(a2) @ y2, _shape(b2), lead)
        b_bar = b_bar[..., 0] if nd_b == 1 else b_bar
    return a_bar, b_bar


def _swap(x):
    """``x`` with its last two axes swapped (each matrix of a stack transposed)."""
    nd = len(_shape(x))
    return np.transpose(x, (*range(nd - 2), nd - 1, nd - 2))


def _sum_to(x, shape, lead: int):
    """``x`` (``lead`` batch axes, then a shape ``shape`` broadcasts to) summed to ``shape``."""
    full = _shape(x)
    extra = len(full) - lead - len(shape)
    if extra:
        x = np.sum(x, axis=tuple(range(lead, lead + extra)))
        full = full[:lead] + full[lead + extra:]
    stretched = tuple(lead + i for i, n in enumerate(shape) if n == 1 and full[lead + i] != 1)
    return np.sum(x, axis=stretched, keepdims=True) if stretched else x


vjp_rules.update(add=_add_vjp, sub=_sub_vjp, mul=_mul_vjp, div=_div_vjp, pow=_pow_vjp,
                 max=_extremum_vjp, min=_extremum_vjp, matmul=_matmul_vjp)
vjp_rules.update(ARRAY_VJP)
# Leaves end the sweep: a variable's cotangent is the answer, a constant never needs one.
vjp_rules["var"] = vjp_rules["const"] = None

# What each rule reads of the primal values by *value*, given ``need``: "a" the first
# argument, "b" the second, "y" the result (a unary rule's ``x`` is "a"). Everything else it
# may read only for its shape or rank (sum's broadcast, index's scatter, concat's split), so a
# gradient's forward pass keeps only these values and frees the others once the forward pass
# is done with them (``program.py``: a shape-only placeholder stands in). An op not listed
# reads all three (always correct, never leaner). tests/test_reverse_reads.py checks every
# entry: the rule gives the same result with the unread values replaced by NaN placeholders.
_READ_A, _READ_Y, _READ_NONE = (lambda need: "a"), (lambda need: "y"), (lambda need: "")
VALUE_READS = {
    **dict.fromkeys(("sin", "cos", "asin", "acos", "atan", "sinh", "cosh", "log", "log1p",
                     "abs", "relu", "square", "logsumexp", "reduce_prod",
                     "select", "select_not"), _READ_A),    # (select's "a" is its mask)
    **dict.fromkeys(("tan", "tanh", "exp", "expm1", "sqrt", "sigmoid", "softplus",
                     "softmax", "log_softmax"), _READ_Y),
    **dict.fromkeys(("neg", "add", "sub", "sum", "mean", "transpose", "index", "reduce_sum",
                     "reduce_mean", "reshape", "permute", "concat",
                     "lt", "le", "gt", "ge", "eq", "ne"), _READ_NONE),
    # y = a * b or a @ b: a's cotangent reads b, b's reads a
    "mul": lambda need: ("b" if need[0] else "") + ("a" if need[1] else ""),
    "matmul": lambda need: ("b" if need[0] else "") + ("a" if need[1] else ""),
    "div": lambda need: "by" if need[1] else "b",           # y_bar / b, and -(y_bar / b) y
}

# The forward pass: PRIMAL's NumPy functions, with the arithmetic reached through Python's
# operators (the same IEEE operations; for NumPy scalars they skip the ufunc dispatch, ~20x
# faster). Scalars are kept as np.float64, never Python floats, so x / 0 is inf, not an error.
FORWARD = {**PRIMAL, "neg": operator.neg, "add": operator.add, "sub": operator.sub,
           "mul": operator.mul, "div": operator.truediv, "pow": operator.pow,
           "matmul": operator.matmul}
_ONE = np.float64(1.0)
