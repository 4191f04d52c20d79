"""Size metrics of an expression: DAG nodes, equivalent tree nodes, depth, operation counts.

A DAG stores each shared subexpression once; a tree (what naive symbolic differentiation and
printing produce) stores it at every use. ``tree_size`` counts the tree without building it:
in topological order, a node's tree size is one plus its arguments' tree sizes (Python ints,
so an exponentially large tree is counted exactly).
"""

from __future__ import annotations

from dataclasses import dataclass

from .expr import Expr, toposort
from .parser import as_expression
from .plan import compile_plan


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
    tree: dict[int, int] = {}
    depth: dict[int, int] = {}
    for node in toposort(expr):
        tree[id(node)] = 1 + sum(tree[id(a)] for a in node.args)
        depth[id(node)] = 1 + max((depth[id(a)] for a in node.args), default=-1)
    plan = compile_plan(expr)
    ops = sum(1 for op in plan.ops if op not in ("const", "var"))
    return Size(plan.size, tree[id(expr)], depth[id(expr)], ops)
