"""Shape inference: the shape of every slot of a plan, given the variables' shapes.

Shapes come from the point. Inferring them before any arithmetic lets every method reject a
bad point with a message that names the op and the shapes (``matmul: (2, 3) @ (4, 5)``),
lets ``grad`` refuse a non-scalar expression up front, and gives the Jacobian its layout.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .plan import Plan

Shape = tuple[int, ...]
ELEMENTWISE_BINARY = ("add", "sub", "mul", "div", "pow", "max", "min")


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
    for slot, op in enumerate(plan.ops):
        args = [out[a] for a in plan.args[slot]]
        if op == "var":
            shape = tuple(shapes[plan.attrs[slot]])
        elif op == "const":
            shape = np.shape(plan.attrs[slot])
        elif op in ELEMENTWISE_BINARY and args[0] == args[1]:
            shape = args[0]  # equal shapes (the common case) need no NumPy call
        elif op in ELEMENTWISE_BINARY:
            try:
                shape = tuple(np.broadcast_shapes(*args))
            except ValueError:
                raise ValueError(f"{op}: shapes {args[0]} and {args[1]} do not broadcast "
                                 f"together") from None
        elif op == "matmul":
            shape = matmul_shape(*args)
        elif op in ("sum", "mean"):
            shape = ()
        elif op == "transpose":
            shape = args[0][::-1]
        else:  # elementwise unary
            shape = args[0]
        out.append(shape)
    return out


def _all_scalar(plan: Plan, shapes: Mapping[str, Shape]) -> bool:
    """True when every variable is a scalar, no constant is an array and no op is a matmul
    (whose scalar operands are an error to report): then every slot is a scalar."""
    if any(tuple(shapes[name]) != () for name in plan.var_slots) or "matmul" in plan.ops:
        return False
    if "array_consts" not in plan.memo:
        plan.memo["array_consts"] = np.ndarray in set(map(type, plan.attrs))
    return not plan.memo["array_consts"]


def point_shapes(point: Mapping) -> dict[str, Shape]:
    """Each variable's shape in a (validated) point."""
    return {name: np.shape(value) for name, value in point.items()}
