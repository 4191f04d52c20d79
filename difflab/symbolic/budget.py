"""The symbolic budget: SymPy must fail with a clear status, not hang.

The size of the scalar SymPy expression is estimated from the IR before anything is built
(``check_budget``, ``SymbolicTooLarge``), and a ``Clock`` checks the wall time while
differentiating and generating code. Symbolic's budget is size and time only: nothing it runs
recurses over the expression's depth. ``max_depth`` remains for callers that hand the
expression to SymPy's own recursive code (the truth's ``sympy.diff``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import sympy

from ..core.expr import Expr, toposort
from ..core.plan import compile_plan
from ..core.shapes import infer_shapes
from ..core.sympy_arrays import SCALAR_COST

Shape = tuple[int, ...]
MAX_NODES = 100_000   # scalar SymPy nodes of the expression (an estimate made before building)
TIME_BUDGET = 30.0    # seconds for differentiation + code generation
ZERO, ONE = sympy.S.Zero, sympy.S.One

# ---- the budget --------------------------------------------------------------------------
class SymbolicTooLarge(ValueError):
    """The expression is beyond the symbolic budget: too many nodes, or too slow."""


@dataclass(frozen=True)
class ScalarSize:
    """The expression written in scalars, as ``to_sympy_arrays`` will build it (estimates)."""

    nodes: int   # scalar nodes of the DAG (a matmul element of inner size k costs 2k)
    tree: int    # nodes of the scalar tree (shared subexpressions counted per use)
    depth: int   # longest path, in scalar operations


def scalar_size(expr: Expr, shapes: Mapping[str, Shape]) -> ScalarSize:
    """Estimate the size of ``expr`` in scalars from its plan and shapes (nothing is built).

    Args:
        expr: the expression.
        shapes: every variable's shape.
    Returns:
        a ``ScalarSize``.
    """
    plan = compile_plan(expr)
    slot_shapes = infer_shapes(plan, shapes)
    tree: list[int] = []
    depth: list[int] = []
    nodes = 0
    for slot, op in enumerate(plan.ops):
        args = plan.args[slot]
        size = int(np.prod(slot_shapes[slot], dtype=np.int64))
        arg_tree = [tree[a] for a in args]
        arg_depth = max((depth[a] for a in args), default=-1)
        if op in ("var", "const"):
            cost, t, d = size, 1, 0
        elif op == "matmul":  # each element: an Add of k products
            k = slot_shapes[args[0]][-1]
            cost, t, d = size * 2 * k, 1 + k * (1 + sum(arg_tree)), arg_depth + 2
        elif op in ("sum", "mean"):  # one Add of every element (and a division for mean)
            n = int(np.prod(slot_shapes[args[0]], dtype=np.int64))
            cost, t, d = n + 1, 2 + n * arg_tree[0], arg_depth + 2
        elif op == "transpose":
            cost, t, d = 0, arg_tree[0], arg_depth
        elif op in SCALAR_COST:  # the array ops with constant parameters, as built
            cost, t, d = SCALAR_COST[op](slot_shapes[args[0]], slot_shapes[slot],
                                         plan.attrs[args[-1]], arg_tree[:-1])
            d += arg_depth
        else:  # elementwise
            cost, t, d = size, 1 + sum(arg_tree), arg_depth + 1
        nodes += cost
        tree.append(t)
        depth.append(d)
    out_size = int(np.prod(slot_shapes[plan.out], dtype=np.int64))
    return ScalarSize(nodes, tree[plan.out] * out_size, depth[plan.out])


def check_count(expr: Expr, max_nodes: int, what: str = "symbolic", option: str = "max_nodes",
                error: type[SymbolicTooLarge] = SymbolicTooLarge) -> None:
    """Refuse an expression with more IR nodes than ``max_nodes``, in the time of one
    topological sort (before compiling a plan: a million-node chain is refused at once)."""
    count = len(toposort(expr))
    if count > max_nodes:
        raise error(f"too large for {what}: the expression has {count:,} nodes (limit "
                    f"{max_nodes:,}); pass {option}= to raise it")


def check_budget(expr: Expr, shapes: Mapping[str, Shape], *, max_nodes: int,
                 max_depth: int | None = None, what: str = "symbolic", tree: bool = False,
                 inputs: int = 1,
                 option: str = "max_nodes",
                 error: type[SymbolicTooLarge] = SymbolicTooLarge) -> ScalarSize:
    """Refuse an expression too big for SymPy before building anything.

    First the IR's node count (``check_count``), then the scalar estimate of ``scalar_size``.

    Args:
        expr, shapes: the expression and its variables' shapes.
        max_nodes: the limit on scalar nodes (DAG nodes, or tree nodes if ``tree``) times
            ``inputs``.
        max_depth: the limit on depth, for code that recurses over it (None: no limit).
        what: the method's name, for the message.
        tree: measure the scalar tree (for tree-walking ``sympy.diff``) instead of the DAG.
        inputs: number of scalar inputs differentiated by (each costs one tree walk).
        option: the name of the option that raises the limit, for the message.
        error: the exception class to raise (SymbolicTooLarge or a subclass).
    Returns:
        the ``ScalarSize``.
    Raises:
        SymbolicTooLarge: naming the size and the limit.
    """
    check_count(expr, max_nodes, what, option, error)
    size = scalar_size(expr, shapes)
    if max_depth is not None and size.depth > max_depth:
        raise error(f"too deep for {what}: depth {size.depth:,} (limit {max_depth:,}; SymPy "
                    f"recurses over depth)")
    measure = (size.tree if tree else size.nodes) * max(inputs, 1)
    if measure > max_nodes:
        kind = "tree" if tree else "DAG"
        times = f" x {inputs:,} inputs" if inputs > 1 else ""
        raise error(f"too large for {what}: {kind} of {measure // max(inputs, 1):,} scalar "
                    f"nodes{times} (limit {max_nodes:,}); pass {option}= to raise it")
    return size


class Clock:
    """Wall-clock budget. SymPy cannot be interrupted, so callers check between steps."""

    def __init__(self, budget: float, what: str = "symbolic",
                 error: type[SymbolicTooLarge] = SymbolicTooLarge):
        self.start, self.budget, self.what = time.perf_counter(), budget, what
        self.error = error

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def check(self, step: str) -> None:
        """Raise SymbolicTooLarge if the budget is spent (``step`` says where we were)."""
        if self.elapsed() > self.budget:
            raise self.error(f"too slow for {self.what}: {step} ran past the time "
                                   f"budget of {self.budget:g} s (time_budget=)")
