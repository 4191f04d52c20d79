"""Shape inference: the shape of every slot of a plan, given the variables' shapes.

Shapes come from the point. Inferring them before any arithmetic lets every method reject a
bad point with a message that names the op and the shapes (``matmul: (2, 3) @ (4, 5)``),
using each op's shape rule from the op table,
lets ``grad`` refuse a non-scalar expression up front, and gives the Jacobian its layout.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .ops import OPS, PARAMETRIC, Shape
from .params import Param
from .plan import Plan


def infer_shapes(plan: Plan, shapes: Mapping[str, Shape]) -> list[Shape]:
    """Shape per slot of ``plan``.

    Args:
        plan: the compiled expression.
        shapes: every variable's shape.
    Returns:
        a list with each slot's shape.
    Raises:
        ValueError: two shapes do not fit, naming the op and both shapes.
    """
    # Every method asks again for the same plan and shapes: remember the answer on the plan.
    key = ("shapes",) + tuple(tuple(shapes[name]) for name in plan.var_slots)
    known = plan.memo.get(key)
    if known is None:
        known = plan.memo[key] = _infer(plan, shapes)
    return list(known)


def _infer(plan: Plan, shapes: Mapping[str, Shape]) -> list[Shape]:
    if _all_scalar(plan, shapes):  # scalars in, scalars everywhere: no per-slot work
        return [()] * len(plan.ops)
    out: list[Shape] = []
    rules = {name: op.shape for name, op in OPS.items()}
    for slot, op in enumerate(plan.ops):
        if op == "var":
            out.append(tuple(shapes[plan.attrs[slot]]))
        elif op == "const":
            out.append(np.shape(plan.attrs[slot]))
        else:  # a Param argument (an index, axes, a shape) is passed as itself
            out.append(rules[op](*[out[a] if plan.ops[a] != "const" or
                                   plan.attrs[a].__class__ is not Param else plan.attrs[a]
                                   for a in plan.args[slot]]))
    return out


_SHAPING = frozenset(("matmul", "concat", *PARAMETRIC))


def _all_scalar(plan: Plan, shapes: Mapping[str, Shape]) -> bool:
    """True when every variable is a scalar, no constant is an array and no op makes an array
    of scalars or must check its scalar operands (matmul, concat, and every op with constant
    parameters: an index or a reshape can make an array of a scalar, a softmax's axis must be
    checked): then every slot is a scalar."""
    if any(tuple(shapes[name]) != () for name in plan.var_slots):
        return False
    if "shape_ops" not in plan.memo:
        plan.memo["shape_ops"] = not _SHAPING.isdisjoint(plan.ops)
    if plan.memo["shape_ops"]:
        return False
    if "array_consts" not in plan.memo:
        kinds = set(map(type, plan.attrs))
        plan.memo["array_consts"] = np.ndarray in kinds or Param in kinds
    return not plan.memo["array_consts"]


def point_shapes(point: Mapping) -> dict[str, Shape]:
    """Each variable's shape in a (validated) point."""
    return {name: np.shape(value) for name, value in point.items()}
