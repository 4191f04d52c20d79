"""Size metrics of an expression: DAG nodes, equivalent tree nodes, depth, operation counts.

A DAG stores each shared subexpression once; a tree (what naive symbolic differentiation and
printing produce) stores it at every use. ``tree_size`` counts the tree without building it:
in topological order, a node's tree size is one plus its arguments' tree sizes (Python ints,
so an exponentially large tree is counted exactly).

The count runs over the plan's slots (equal subexpressions merged: their trees are equal
too), and a slot's count is dropped after its last user has read it. A chain whose tree
doubles at every link (``e = sin(e) + e``) has counts of hundreds of thousands of bits; kept
for every slot they would take gigabytes, dropped they take a few live at once. Time is one
big-integer addition per argument: linear in the DAG, times the counts' length.
"""

from __future__ import annotations

from dataclasses import dataclass

from .expr import Expr
from .parser import as_expression
from .plan import compile_plan

_SMALL = 2 ** 60  # beyond this the small part moves into the big one


@dataclass(frozen=True)
class Size:
    """How big an expression is, three ways."""

    dag_nodes: int    # distinct nodes after merging equal subexpressions (the plan's slots)
    tree_nodes: int   # nodes of the equivalent tree (every shared use counted again)
    depth: int        # longest path from the root to a leaf, in edges
    ops: int          # non-leaf nodes of the DAG (operations a single evaluation performs)


def size(expr: Expr | str) -> Size:
    """Measure ``expr``.

    Args:
        expr: the expression (or its grammar text).
    Returns:
        a ``Size`` with DAG nodes, tree nodes, depth and operation count.
    """
    expr = as_expression(expr, "size")
    plan = compile_plan(expr)
    args = plan.args
    last = list(range(plan.size))  # slot -> the last slot that reads it (itself if none)
    for slot, a in enumerate(args):
        for arg in a:
            last[arg] = slot
    last[plan.out] = -1            # the root's counts are kept to the end
    # A slot's tree count is big[slot] + small[slot]: the +1s of unary ops and constants go
    # to the small part (O(1)), and only the sum of two big counts costs O(bits).
    big: list = [0] * plan.size
    small: list = [1] * plan.size
    depth: list = [0] * plan.size
    for slot, a in enumerate(args):
        if not a:
            continue
        if len(a) == 1:
            (x,) = a
            b, s, d = big[x], small[x] + 1, depth[x]
        else:  # (the op table's arity is at most 2)
            x, y = a
            bx, by = big[x], big[y]
            b = bx + by if bx and by else bx or by  # (no copy of a big count plus 0)
            s, d = small[x] + small[y] + 1, depth[x] if depth[x] > depth[y] else depth[y]
        if s > _SMALL:
            b, s = b + s, 0
        big[slot], small[slot], depth[slot] = b, s, d + 1
        for arg in a:
            if last[arg] == slot:  # read for the last time: drop its (maybe huge) count
                big[arg] = small[arg] = depth[arg] = None
    ops = sum(1 for op in plan.ops if op not in ("const", "var"))
    out = plan.out
    return Size(plan.size, big[out] + small[out], depth[out], ops)
