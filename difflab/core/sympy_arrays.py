"""The array ops over NumPy object arrays of SymPy scalars (``SYMPY_ARRAY``, op -> function).

An array stays an array of scalar expressions, so indexing, reshaping, transposing and joining
are NumPy's own operations on object arrays: they move scalars and do no arithmetic (a gather
repeats an element; its derivative then adds up by the chain rule). A reduction makes one
scalar per kept position from the elements along the reduced axes: an Add (sum, mean), a Mul
(prod), or one of ``sympy_functions``' n-ary functions (``max_of`` and ``min_of``, whose ties
split the derivative equally as in JAX, and the exact ``logsumexp``). ``softmax`` and
``log_softmax`` are exp(x_i - m) / sum_j exp(x_j - m) and (x_i - m) - log(sum_j exp(x_j - m))
along their axis, m the max held constant: exact, never overflowing in float64.
``where(c, a, b)`` is ``select_if(c, a) + select_unless(c, b)``, element by element, as plans
compile it.

Every function takes the operands' object arrays and, for an op with constant parameters,
the ``Param`` last, as the op table's primal does; shapes are checked by the caller.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import sympy

from .params import Param, normal_axes, numpy_index
from .sympy_functions import (
    logsumexp,
    max_of,
    min_of,
    minus,
    select_if,
    select_unless,
    shifted_exps,
)

Shape = tuple[int, ...]


def _obj(x) -> np.ndarray:
    return x if isinstance(x, np.ndarray) else np.asarray(x, dtype=object)


def _rows(a: np.ndarray, axes: tuple[int, ...]) -> tuple[Shape, np.ndarray]:
    """(kept shape, array of that shape + (n,)): each kept position's reduced elements."""
    rest = [k for k in range(a.ndim) if k not in axes]
    moved = np.transpose(a, rest + list(axes))
    kept = moved.shape[:len(rest)]
    n = int(np.prod([a.shape[k] for k in axes], dtype=np.int64))
    return kept, moved.reshape(kept + (n,))


def _reducer(what: str, combine: Callable[[list], sympy.Expr]) -> Callable:
    """A reduction over ``Param("axes", (axes, keepdims))``: ``combine`` of each row."""
    def reduce(a, p: Param):
        a = _obj(a)
        axes, keepdims = p.value
        axes = normal_axes(axes, a.ndim, what)
        kept, rows = _rows(a, axes)
        out = np.empty(kept, dtype=object)
        for index in np.ndindex(*kept):
            out[index] = combine(list(rows[index]))
        if keepdims:
            out = out.reshape(tuple(1 if k in axes else n for k, n in enumerate(a.shape)))
        return out
    return reduce


def _mean(xs: list) -> sympy.Expr:
    # an empty mean is 0/0: nan, as NumPy's
    return sympy.Add(*xs) / len(xs) if xs else sympy.nan


def _or_empty(fn, empty) -> Callable[[list], sympy.Expr]:
    # over no elements: logsumexp -inf (log of an empty sum); max and min of nothing are
    # refused by their shape rule, as NumPy refuses them
    return lambda xs: fn(*xs) if xs else empty


def _along(what: str, combine: Callable[[list], list]) -> Callable:
    """An op along ``Param("axis", k)`` mapping each line of elements to a line."""
    def along(a, p: Param):
        a = _obj(a)
        (axis,) = normal_axes((p.value,), a.ndim, what)
        moved = np.moveaxis(a, axis, -1)
        out = np.empty(moved.shape, dtype=object)
        for index in np.ndindex(*moved.shape[:-1]):
            out[index] = combine(list(moved[index]))
        return np.moveaxis(out, -1, axis)
    return along


def _softmax(xs: list) -> list:
    # exp(x_i - m) / sum_j exp(x_j - m), m the (constant) max: the parts logsumexp's
    # derivative is made of, so the two share them
    _, exps, total = shifted_exps(tuple(xs))
    return [e / total for e in exps]


def _log_softmax(xs: list) -> list:
    # (x_i - m) - log(sum_j exp(x_j - m)): x_i - m first, exact where x_i is near the max
    m, _, total = shifted_exps(tuple(xs))
    return [minus(x, m) - sympy.log(total) for x in xs]


_where = np.frompyfunc(lambda c, a, b: select_if(c, a) + select_unless(c, b), 3, 1)

SYMPY_ARRAY: dict[str, Callable] = {
    "index": lambda a, p: _obj(a)[numpy_index(p.value)],
    "reduce_sum": _reducer("sum", lambda xs: sympy.Add(*xs)),
    "reduce_mean": _reducer("mean", _mean),
    "reduce_prod": _reducer("prod", lambda xs: sympy.Mul(*xs)),
    "reduce_max": _reducer("max", lambda xs: max_of(*xs)),
    "reduce_min": _reducer("min", lambda xs: min_of(*xs)),
    "logsumexp": _reducer("logsumexp", _or_empty(logsumexp, sympy.S.NegativeInfinity)),
    "softmax": _along("softmax", _softmax),
    "log_softmax": _along("log_softmax", _log_softmax),
    "reshape": lambda a, p: np.reshape(_obj(a), p.value),
    "permute": lambda a, p: np.transpose(_obj(a), p.value),
    "concat": lambda a, b, p: np.concatenate((_obj(a), _obj(b)), axis=p.value),
    "where": lambda c, a, b: _where(_obj(c), _obj(a), _obj(b)),
}


# ---- the size of what is built, for the symbolic budget (estimated before building) -------
def _moves(shape_in: Shape, shape_out: Shape, p: Param, trees: list) -> tuple[int, int, int]:
    return 0, max(trees), 0  # no new nodes: each element is an element of an operand


def _reduced_count(shape_in: Shape, shape_out: Shape) -> int:
    return int(np.prod(shape_in, dtype=np.int64)) // max(int(np.prod(shape_out,
                                                                      dtype=np.int64)), 1)


def _combines(shape_in: Shape, shape_out: Shape, p: Param, trees: list) -> tuple[int, int, int]:
    # one node of n arguments per result element (and a division for a mean)
    n = _reduced_count(shape_in, shape_out)
    size_out = int(np.prod(shape_out, dtype=np.int64))
    return size_out * 2, 2 + n * trees[0], 2


def _normalizes(shape_in: Shape, shape_out: Shape, p: Param, trees: list) -> tuple[int, int,
                                                                                 int]:
    # per element exp(x_i - m) / sum_j exp(x_j - m), m the max of the n elements of the line:
    # 3 nodes per element and 3 per line, but as a tree each of the n + 1 exponentials holds m
    n = shape_in[p.value] if shape_in else 1
    size = int(np.prod(shape_in, dtype=np.int64))
    return 3 * size + 3 * (size // max(n, 1)), (n + 2) * (3 + (n + 1) * trees[0]), 5


# op -> cost(operand shape, result shape, Param, operands' tree sizes) -> (scalar nodes
# built, tree size of one result element, depth added): see symbolic.budget.scalar_size.
SCALAR_COST: dict[str, Callable] = {
    **{op: _moves for op in ("index", "reshape", "permute", "concat")},
    **{op: _combines for op in ("reduce_sum", "reduce_mean", "reduce_prod", "reduce_max",
                                "reduce_min", "logsumexp")},
    "softmax": _normalizes, "log_softmax": _normalizes,
}
