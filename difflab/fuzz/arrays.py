"""Random steps of array programs for the fuzzer: indices, axes, shapes and partners drawn at
random, so that every array op (indexing and gathers, axis reductions, the softmax family,
where and comparisons, reshape, transpose, concatenate, stack, clip, outer, square) appears
with random shapes and parameters — each well shaped by construction.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from ..core import arrays as ir
from ..core.expr import Expr
from ..core.ops import OPS
from ..core.plan import compile_plan
from ..core.shapes import infer_shapes

Shape = tuple[int, ...]
Chooser = Callable[[str, Sequence], object]
REDUCERS = ("sum", "mean", "prod", "max", "min", "logsumexp")
ARRAY_OPS = ("index", "gather", *REDUCERS, "softmax", "log_softmax", "reshape", "permute",
             "concatenate", "stack", "where", "compare", "clip", "outer", "square")


def _axes(choose: Chooser, ndim: int):
    if ndim == 0 or choose("all axes", (True, False)):
        return None
    axes = [k for k in range(ndim) if choose(f"axis {k}", (True, False))] or [0]
    axes = [k - ndim if choose("negative", (True, False)) else k for k in axes]
    return axes[0] if len(axes) == 1 and choose("as int", (True, False)) else tuple(axes)


def _index(choose: Chooser, shape: Shape):
    key = []
    for n in shape[:choose("indexed axes", tuple(range(1, len(shape) + 1)))]:
        # a new axis (None) takes no axis of the operand: it goes before this axis's index,
        # so each index below still meets the axis (of length n) it was drawn for
        if choose("new axis", (False, False, False, True)):
            key.append(None)
        # an empty axis (a slice can make one) has no integer to index it with
        kind = choose("index kind", ("int", "slice", "all") if n else ("slice", "all"))
        if kind == "int":
            key.append(choose("i", tuple(range(-n, n))))
        elif kind == "slice":
            start = choose("start", (None, 0, 1, -1))
            step = choose("step", (None, 1, 2, -1))
            key.append(slice(start, None, step))
        else:
            key.append(slice(None))
    return tuple(key)


def array_step(choose: Chooser, pool: list, a: Expr, sa: Shape, var_shapes,
               ops: Sequence[str] = ARRAY_OPS) -> tuple[Expr, Shape]:
    """One random array op applied to ``a`` (of shape ``sa``), with partners from ``pool``:
    (the node, its shape). Ops that do not fit ``sa`` fall back to one that does."""
    sa = _shape(a, var_shapes)  # (from the op table's rules: the operand's shape for sure)
    fits = [op for op in ops if sa or op in (*REDUCERS, "where", "compare", "clip", "outer",
                                             "square", "stack", "reshape")]
    op = choose("array op", fits)
    if op == "gather" and not sa[0]:
        op = "index"                       # no index to gather from an empty axis
    if op == "index":
        node = a[_index(choose, sa)]
    elif op == "gather":
        n = sa[0]
        node = a[[choose("g", tuple(range(-n, n))) for _ in range(choose("len", (1, 2, 3, 4)))]]
    elif op in REDUCERS:
        node = getattr(ir, op)(a, axis=_axes(choose, len(sa)),
                               keepdims=choose("keepdims", (False, True)))
    elif op in ("softmax", "log_softmax"):
        node = getattr(ir, op)(a, axis=choose("axis", tuple(range(-len(sa), len(sa)))))
    elif op == "reshape":
        size = math.prod(sa)
        target = choose("target", ((size,), (-1,), (1, size), (size, 1), (1, -1), ()) if
                        size == 1 else ((size,), (-1,), (1, size), (size, 1), (-1, 1)))
        node = ir.reshape(a, target)
    elif op == "permute":
        node = ir.transpose(a, tuple(reversed(range(len(sa)))) if choose("reverse", (1, 0))
                            else tuple(range(len(sa))))
    elif op in ("concatenate", "stack"):
        same = [(e, s) for e, s in pool if (len(s) == len(sa) and (op == "stack" or sa) and
                (s == sa if op == "stack" else True))]
        axis = choose("axis", tuple(range(len(sa) + (op == "stack")))) if sa or op == "stack" \
            else 0
        partners = [e for e, s in same if op == "stack" or
                    s[:axis] + s[axis + 1:] == sa[:axis] + sa[axis + 1:]]
        b = choose("partner", partners) if partners else a
        node = getattr(ir, op)([a, b], axis=axis)
    elif op in ("where", "compare"):
        partners = [e for e, s in pool if _fits(sa, s)]
        b = choose("partner", partners)
        mask = choose("comparison", (ir.less, ir.less_equal, ir.greater, ir.greater_equal,
                                     ir.equal, ir.not_equal))(
            a, choose("threshold", (-0.5, 0.0, 0.5)))
        node = ir.where(mask, a, b) if op == "where" else mask * b + a
    elif op == "clip":
        node = ir.clip(a, -1.0, choose("high", (0.5, 1.0)))
    elif op == "outer":
        partners = [e for e, s in pool if math.prod(s) <= 6]
        node = ir.outer(a, choose("partner", partners)) if math.prod(sa) <= 6 else ir.square(a)
    else:
        node = ir.square(a)
    return node, _shape(node, var_shapes)


def _fits(a: Shape, b: Shape) -> bool:
    try:
        OPS["add"].shape(a, b)
        return True
    except ValueError:
        return False


def _shape(node: Expr, var_shapes) -> Shape:
    """The node's shape (by the op table's shape rules over a plan of the node)."""
    plan = compile_plan(node)
    return infer_shapes(plan, {n: var_shapes[n] for n in plan.var_slots})[plan.out]
