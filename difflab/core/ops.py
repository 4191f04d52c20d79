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


@dataclass(frozen=True)
class Op:
    """One operation: ``arity`` arguments; ``shape(*arg_shapes)`` the result's shape;
    ``primal(*arg_values)`` its value (None for the leaves, whose value is their payload);
    ``kind`` groups ops that the engines treat alike (elementwise, reduction, ...)."""

    name: str
    arity: int
    kind: str
    primal: Callable | None
    shape: Callable[..., Shape] | None


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
}

LEAVES = tuple(name for name, op in OPS.items() if op.arity == 0)
UNARY = tuple(name for name, op in OPS.items() if op.arity == 1)
BINARY = tuple(name for name, op in OPS.items() if op.arity == 2)
ELEMENTWISE_BINARY = tuple(n for n in BINARY if OPS[n].kind == "elementwise")
REDUCTIONS = tuple(name for name, op in OPS.items() if op.kind == "reduction")
# op -> its NumPy function (every non-leaf op): what evaluators call, one lookup per slot.
PRIMAL: dict[str, Callable] = {name: op.primal for name, op in OPS.items() if op.primal}

# The functions of the grammar (called by name in text and exposed as dl.<name>), with arity.
FUNCTIONS: dict[str, int] = {
    **{name: 1 for name in UNARY if name != "neg"},
    "max": 2, "min": 2,
}
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
