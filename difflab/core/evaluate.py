"""Evaluation: bind a point to a plan's variables and run every slot through NumPy.

Each slot runs its op's primal from the op table (``ops.PRIMAL``). Outside an op's domain the
result follows IEEE (nan, inf) and NumPy's warnings are silenced.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from numbers import Real

import numpy as np

from .expr import Expr
from .ops import OPS, PRIMAL
from .parser import parse
from .plan import Plan, compile_plan
from .printer import summary
from .reals import as_array, as_float
from .shapes import infer_shapes, point_shapes


class PointError(KeyError, ValueError):
    """A point that does not fit the expression: a variable missing or not expected."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def _as_value(name: str, value, allow_complex: bool = False):
    """One point entry as a float or a float64 (or complex) array; bad values name the variable
    (see ``reals``: a number beyond float64, a ragged list, a masked array, ...)."""
    if type(value) is float:
        return value
    if isinstance(value, Expr):
        raise TypeError(f"variable {name!r}: expected a number, got an expression "
                        f"({summary(value)})")
    try:
        if isinstance(value, Real | Decimal) and not isinstance(value, bool):
            return as_float(value)
        arr = as_array(value, allow_complex)
    except TypeError as err:
        raise TypeError(f"variable {name!r}: {err}") from None
    except ValueError as err:
        raise ValueError(f"variable {name!r}: {err}") from None
    if arr.ndim == 0:
        return complex(arr) if arr.dtype.kind == "c" else float(arr)
    return arr


def clean_point(plan: Plan, point: Mapping, allow_complex: bool = False) -> dict:
    """``point`` checked against the plan's variables, values as floats or float64 arrays.

    Raises PointError (a KeyError and a ValueError) naming missing or unexpected variables, and
    TypeError naming a variable whose value is not a number.
    """
    if not isinstance(point, Mapping):
        raise TypeError(f"a point must map variable names to values, got {type(point).__name__}")
    clean = {}
    for name in plan.var_slots:
        if name not in point:
            raise PointError(f"missing variable {name!r}: the point gives "
                             f"{_names(point)}; the expression needs {_names(plan.var_slots)}")
        clean[name] = _as_value(name, point[name], allow_complex)
    if len(point) != len(clean):
        extra = [k for k in point if k not in plan.var_slots]
        raise PointError(f"unexpected variable {extra[0]!r} in the point: the expression "
                         f"depends only on {_names(plan.var_slots)}")
    return clean


def bind(plan: Plan, point: Mapping) -> list:
    """Slot values with the leaves filled in: constants from the plan, variables from ``point``
    (already cleaned, see ``clean_point``); the other slots are None, for ``run`` to fill."""
    values: list = [None] * len(plan.ops)
    for name, slot in plan.var_slots.items():
        values[slot] = point[name]
    for slot, op in enumerate(plan.ops):
        if op == "const":
            values[slot] = plan.attrs[slot]
    return values


def _names(names) -> str:
    names = sorted(map(str, names))
    return ", ".join(names) if names else "no variables"


def describe_failure(plan: Plan, slot: int, values: list, err: Exception) -> str:
    """A message naming the op and its argument shapes, e.g. ``matmul: (2, 3) @ (4, 5)``."""
    op = plan.ops[slot]
    shapes = [np.shape(values[a]) for a in plan.args[slot]]
    if op == "matmul":
        return f"matmul: {shapes[0]} @ {shapes[1]} ({_short(err)})"
    if OPS[op].params:
        return f"{op} of shape {shapes[0]}: {_short(err)}"
    if len(shapes) == 2:
        return f"{op}: shapes {shapes[0]} and {shapes[1]} do not broadcast together"
    return f"{op} of shape {shapes[0]}: {_short(err)}"


def _short(err: Exception) -> str:
    return str(err).split("\n")[0]


def run(plan: Plan, values: list) -> list:
    """Fill every non-leaf slot of ``values`` in order; returns ``values``."""
    return _execute(plan, values, _keep_all(plan))


def run_value(plan: Plan, values: list):
    """The plan's output (``run(plan, values)[plan.out]``), dropping each intermediate result
    after its last use: memory holds the live values only, not one array per node (an
    unrolled loop over large arrays stays in cache instead of page-faulting gigabytes).
    ``values`` keeps the leaves and the output; the other slots are left empty."""
    return _execute(plan, values, _last_uses(plan))[plan.out]


def _execute(plan: Plan, values: list, frees: tuple) -> list:
    """The one evaluation loop: each computed slot in order, then the slots ``frees[slot]``
    says are read no more are dropped."""
    ops, args = plan.ops, plan.args
    slot = 0
    try:
        with np.errstate(all="ignore"):
            for slot, op in enumerate(ops):
                a = args[slot]
                if len(a) == 1:
                    values[slot] = PRIMAL[op](values[a[0]])
                elif len(a) == 2:
                    values[slot] = PRIMAL[op](values[a[0]], values[a[1]])
                elif a:
                    values[slot] = PRIMAL[op](*[values[i] for i in a])
                else:
                    continue
                for i in frees[slot]:
                    values[i] = None
    except (ValueError, TypeError) as err:
        raise ValueError(describe_failure(plan, slot, values, err)) from None
    return values


def _keep_all(plan: Plan) -> tuple:
    """``frees`` for ``run``: nothing is dropped (cached on the plan)."""
    keep = plan.memo.get("keep_all")
    if keep is None:
        keep = plan.memo["keep_all"] = ((),) * plan.size
    return keep


def _last_uses(plan: Plan) -> tuple:
    """Per slot, the computed slots whose last reader it is (cached on the plan): after that
    step their values are never read again. The output and the leaves are kept."""
    frees = plan.memo.get("frees")
    if frees is None:
        last = [-1] * plan.size
        for slot, a in enumerate(plan.args):
            for i in a:
                last[i] = slot
        dying: list = [[] for _ in range(plan.size)]
        for i, reader in enumerate(last):
            if reader >= 0 and plan.args[i] and i != plan.out:
                dying[reader].append(i)
        frees = plan.memo["frees"] = tuple(tuple(d) for d in dying)
    return frees


def as_result(value):
    """A float for a scalar result, an ndarray otherwise."""
    if np.ndim(value) == 0:
        return complex(value) if np.iscomplexobj(value) else float(value)
    return np.asarray(value)


def evaluate(expr: Expr, point: Mapping):
    """The value of ``expr`` at ``point``.

    Args:
        expr: an expression (from ``parse``, ``variables`` and operators).
        point: maps every variable of ``expr`` to a float or an array (NumPy broadcasting).
    Returns:
        a float for a scalar result, else an ndarray.
    """
    if isinstance(expr, str):
        expr = parse(expr)  # (text, as every entry of the API takes it)
    if not isinstance(expr, Expr):
        raise TypeError(f"evaluate() needs an expression, got {type(expr).__name__}")
    plan = compile_plan(expr)
    point = clean_point(plan, point)
    infer_shapes(plan, point_shapes(point))  # an index or a shape that does not fit: named
    return as_result(run_value(plan, bind(plan, point)))
