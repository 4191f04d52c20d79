"""The op table: every operation of the IR, with its arity, shape rule and primal meaning.

This is the one place that says what an op *is*: how many arguments it takes, the shape of
its result given its arguments' shapes, and the NumPy function that computes it. The
differentiators own their derivative rules (``jvp_rules`` in ``difflab.forward``, ``vjp_rules``
in ``difflab.reverse``, ``sympy_rules`` in ``difflab.symbolic``, ``complex_rules`` in
``difflab.numeric``, ``jnp_rules`` in ``difflab.jax_ref``), each keyed by the names of this
table; a test checks that every op here has a rule in every table.

Outside an op's domain the primal follows IEEE (nan, inf); callers silence NumPy's warnings.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .params import Param, index_shape, normal_axes, numpy_index, reshaped

Shape = tuple[int, ...]


# ---- primal functions that NumPy does not spell directly --------------------------------
def _sigmoid(x):
    # 1 / (1 + exp(-x)) without overflow: exp(-log(1 + exp(-x))).
    return np.exp(-np.logaddexp(0.0, -x))


def _softplus(x):
    return np.logaddexp(0.0, x)  # log(1 + exp(x)), exact for large x


def _relu(x):
    return np.maximum(x, 0.0)


def _mean(x):
    return np.mean(x) if np.ndim(x) else x


def _sum(x):
    return np.sum(x) if np.ndim(x) else x


# ---- shape rules: argument shapes -> result shape ---------------------------------------
def _same_shape(a: Shape) -> Shape:
    return a


def broadcast_shape(op: str, a: Shape, b: Shape) -> Shape:
    """NumPy broadcasting of two operands, or a ValueError naming the op and both shapes."""
    if a == b:  # equal shapes (the common case) need no NumPy call
        return a
    try:
        return tuple(np.broadcast_shapes(a, b))
    except ValueError:
        raise ValueError(f"{op}: shapes {a} and {b} do not broadcast together") from None


def matmul_shape(a: Shape, b: Shape) -> Shape:
    """NumPy's ``@`` result shape for 1-D and 2-D operands (and stacks of matrices)."""
    if not a or not b:
        raise ValueError(f"matmul: {a} @ {b} (matmul needs arrays, not scalars)")
    inner_a = a[-1]
    inner_b = b[0] if len(b) == 1 else b[-2]
    if inner_a != inner_b:
        raise ValueError(f"matmul: {a} @ {b}")
    if len(a) == 1 and len(b) == 1:
        return ()
    if len(a) == 1:
        return b[:-2] + b[-1:]
    if len(b) == 1:
        return a[:-1]
    try:
        batch = np.broadcast_shapes(a[:-2], b[:-2])
    except ValueError:
        raise ValueError(f"matmul: {a} @ {b}") from None
    return tuple(batch) + (a[-2], b[-1])


def _reduced(a: Shape) -> Shape:
    return ()


def _reversed(a: Shape) -> Shape:
    return a[::-1]


# ---- ops with constant parameters (the last argument: a Param leaf, see params.py) --------
def _index(x, p: Param):
    if x.__class__ is float or x.__class__ is complex:  # a point's scalar: x[None] is valid
        x = np.asarray(x)
    return x[numpy_index(p.value)]


def _reducer(fn: Callable, **extra) -> Callable:
    def reduce(x, p: Param):
        axes, keepdims = p.value
        return fn(x, axis=axes, keepdims=keepdims, **extra)
    return reduce


def stable_max(x, axes, keepdims=True):
    """The max over ``axes`` for shifting exponentials: finite (0 where the max is +-inf or
    the axes are empty), so x - m never makes nan from inf - inf."""
    m = np.max(x, axis=axes, keepdims=keepdims, initial=-np.inf)
    return np.where(np.isfinite(m), m, 0.0)


def _logsumexp(x, p: Param):
    axes, keepdims = p.value
    m = stable_max(x, axes)
    with np.errstate(divide="ignore"):
        y = np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True)) + m
    return y if keepdims else np.squeeze(y, axis=axes) if axes is not None else y.reshape(())


def _softmax(x, p: Param):
    e = np.exp(x - stable_max(x, p.value))
    return e / np.sum(e, axis=p.value, keepdims=True)


def _log_softmax(x, p: Param):
    shifted = x - stable_max(x, p.value)
    with np.errstate(divide="ignore"):
        return shifted - np.log(np.sum(np.exp(shifted), axis=p.value, keepdims=True))


def _comparison(fn: Callable) -> Callable:
    def compare(a, b):
        return np.asarray(fn(a, b), dtype=np.float64)[()]  # 0/1, a float64 scalar or array
    return compare


_NO_IDENTITY = ("max", "min")  # the reductions without an identity (sum: 0, prod: 1, ...)


def _reduced_shape(what: str) -> Callable:
    def shape(a: Shape, p: Param) -> Shape:
        axes, keepdims = p.value
        axes = normal_axes(axes, len(a), what)
        empty = [k for k in axes if a[k] == 0]
        if empty and what in _NO_IDENTITY:  # as NumPy and JAX: max of nothing is undefined
            raise ValueError(f"{what} of shape {a} over the empty axis {empty[0]}: "
                             f"a zero-size reduction with no identity")
        if keepdims:
            return tuple(1 if k in axes else n for k, n in enumerate(a))
        return tuple(n for k, n in enumerate(a) if k not in axes)
    return shape


def _along_axis_shape(what: str) -> Callable:
    def shape(a: Shape, p: Param) -> Shape:
        normal_axes((p.value,), len(a), what)
        return a
    return shape


def _permuted_shape(a: Shape, p: Param) -> Shape:
    if len(p.value) != len(a):
        raise ValueError(f"transpose: axes {p.value} do not match an operand of shape {a}")
    return tuple(a[k] for k in p.value)


def _concat_shape(a: Shape, b: Shape, p: Param) -> Shape:
    if not a or not b or len(a) != len(b):
        raise ValueError(f"concatenate: shapes {a} and {b} (arrays of the same number of "
                         f"dimensions, at least 1)")
    (axis,) = normal_axes((p.value,), len(a), "concatenate")
    if a[:axis] + a[axis + 1:] != b[:axis] + b[axis + 1:]:
        raise ValueError(f"concatenate: shapes {a} and {b} differ outside axis {p.value}")
    return a[:axis] + (a[axis] + b[axis],) + a[axis + 1:]


def _where_shape(c: Shape, a: Shape, b: Shape) -> Shape:
    try:
        return tuple(np.broadcast_shapes(c, a, b))
    except ValueError:
        raise ValueError(f"where: shapes {c}, {a} and {b} do not broadcast together") from None


@dataclass(frozen=True)
class Op:
    """One operation: ``arity`` arguments; ``shape(*arg_shapes)`` the result's shape;
    ``primal(*arg_values)`` its value (None for the leaves, whose value is their payload);
    ``kind`` groups ops that the engines treat alike (elementwise, reduction, ...); ``params``:
    the last argument is a constant ``Param`` (an index, axes, a shape), never differentiated.
    A ``comparison`` has derivative 0: its result is a constant mask to every engine."""

    name: str
    arity: int
    kind: str
    primal: Callable | None
    shape: Callable[..., Shape] | None
    params: bool = False


def _elementwise_binary(name: str, primal: Callable) -> Op:
    return Op(name, 2, "elementwise", primal, lambda a, b: broadcast_shape(name, a, b))


_UNARY_PRIMAL: dict[str, Callable] = {
    "neg": np.negative, "sin": np.sin, "cos": np.cos, "tan": np.tan, "asin": np.arcsin,
    "acos": np.arccos, "atan": np.arctan, "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh,
    "exp": np.exp, "log": np.log, "log1p": np.log1p, "expm1": np.expm1, "sqrt": np.sqrt,
    "abs": np.abs, "sigmoid": _sigmoid, "relu": _relu, "softplus": _softplus,
}
_BINARY_PRIMAL: dict[str, Callable] = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide,
    "pow": np.power, "max": np.maximum, "min": np.minimum,
}
_COMPARISONS: dict[str, Callable] = {
    "lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal,
    "eq": np.equal, "ne": np.not_equal,
}
_REDUCTIONS: dict[str, Callable] = {
    "reduce_sum": _reducer(np.sum), "reduce_mean": _reducer(np.mean),
    "reduce_prod": _reducer(np.prod), "reduce_max": _reducer(np.max),
    "reduce_min": _reducer(np.min), "logsumexp": _logsumexp,
}

# name -> Op. Leaves first: creation order is (arguments before users) a topological order.
OPS: dict[str, Op] = {
    "const": Op("const", 0, "leaf", None, None),
    "var": Op("var", 0, "leaf", None, None),
    **{name: Op(name, 1, "elementwise", f, _same_shape) for name, f in _UNARY_PRIMAL.items()},
    "sum": Op("sum", 1, "reduction", _sum, _reduced),
    "mean": Op("mean", 1, "reduction", _mean, _reduced),
    "transpose": Op("transpose", 1, "structural", np.transpose, _reversed),
    **{name: _elementwise_binary(name, f) for name, f in _BINARY_PRIMAL.items()},
    "matmul": Op("matmul", 2, "matmul", np.matmul, matmul_shape),
    "square": Op("square", 1, "elementwise", np.square, _same_shape),
    **{name: Op(name, 2, "comparison", _comparison(f),
                lambda a, b, name=name: broadcast_shape(name, a, b))
       for name, f in _COMPARISONS.items()},
    "where": Op("where", 3, "select", lambda c, a, b: np.where(c, a, b)[()], _where_shape),
    # where's two halves in a plan (see plan.py): the branch where the mask holds, else 0
    "select": Op("select", 2, "select", lambda c, a: np.where(c, a, 0.0)[()],
                 lambda c, a: broadcast_shape("where", c, a)),
    "select_not": Op("select_not", 2, "select", lambda c, b: np.where(c, 0.0, b)[()],
                     lambda c, b: broadcast_shape("where", c, b)),
    # ops whose last argument is a Param
    "index": Op("index", 2, "index", _index, lambda a, p: index_shape(a, p.value), True),
    **{name: Op(name, 2, "reduction", f, _reduced_shape(name.removeprefix("reduce_")), True)
       for name, f in _REDUCTIONS.items()},
    "softmax": Op("softmax", 2, "normalize", _softmax, _along_axis_shape("softmax"), True),
    "log_softmax": Op("log_softmax", 2, "normalize", _log_softmax,
                      _along_axis_shape("log_softmax"), True),
    "reshape": Op("reshape", 2, "structural", lambda x, p: np.reshape(x, p.value),
                  lambda a, p: reshaped(a, p.value), True),
    "permute": Op("permute", 2, "structural", lambda x, p: np.transpose(x, p.value),
                  _permuted_shape, True),
    "concat": Op("concat", 3, "join", lambda a, b, p: np.concatenate((a, b), axis=p.value),
                 _concat_shape, True),
}

LEAVES = tuple(name for name, op in OPS.items() if op.arity == 0)
UNARY = tuple(name for name, op in OPS.items() if op.arity == 1)
BINARY = tuple(name for name, op in OPS.items() if op.arity == 2 and not op.params)
TERNARY = tuple(name for name, op in OPS.items() if op.arity == 3 and not op.params)
PARAMETRIC = tuple(name for name, op in OPS.items() if op.params)
COMPARISONS = tuple(_COMPARISONS)
# binary ops that broadcast their operands (their cotangents are summed back to each shape)
ELEMENTWISE_BINARY = tuple(n for n in BINARY if OPS[n].kind in ("elementwise", "comparison",
                                                                 "select"))
REDUCTIONS = tuple(name for name, op in OPS.items() if op.kind == "reduction")
# op -> its NumPy function (every non-leaf op): what evaluators call, one lookup per slot.
PRIMAL: dict[str, Callable] = {name: op.primal for name, op in OPS.items() if op.primal}

def bind_param(primal: Callable, param: Param) -> Callable:
    """An op of (a, b, param) as a function of (a, b): the constant parameter bound (for the
    engines, which walk ops of one or two arguments)."""
    def bound(a, b):
        return primal(a, b, param)
    return bound


# The functions of the grammar (called by name in text and exposed as dl.<name>), with arity.
FUNCTIONS: dict[str, int] = {
    **{name: 1 for name in UNARY if name != "neg"},
    "max": 2, "min": 2,
}
# The grammar's functions of arrays, with (least, most) positional arguments; keywords are
# checked by the parser (axis=, keepdims=). A list/tuple of constants goes where an index, an
# axis, a shape goes.
ARRAY_FUNCTIONS: dict[str, tuple[int, int]] = {
    "sum": (1, 1), "mean": (1, 1), "prod": (1, 1), "max": (1, 2), "min": (1, 2),
    "logsumexp": (1, 1), "softmax": (1, 1), "log_softmax": (1, 1), "where": (3, 3),
    "clip": (3, 3), "outer": (2, 2), "reshape": (2, 2), "transpose": (1, 2),
    "concatenate": (1, 1), "stack": (1, 1), "square": (1, 1),
}
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
