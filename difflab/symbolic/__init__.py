"""Symbolic differentiation with SymPy: IR -> SymPy, differentiate, share, lambdify.

    from difflab import symbolic
    symbolic.grad(f, {"x": 1.0, "y": 2.0})
    symbolic.derivative_expr(f, "x")         # the SymPy derivative itself

``rules`` holds the chain rule per SymPy node, ``codegen`` CSE and lambdify, ``budget`` the
size, depth and time budget, and ``prepare`` the protocol's side and the one-shot functions.
SymPy is imported with this package, not with ``import difflab``.
"""

from .budget import (
    MAX_DEPTH,
    MAX_NODES,
    TIME_BUDGET,
    Clock,
    ScalarSize,
    SymbolicTooLarge,
    check_budget,
    check_count,
    scalar_size,
)
from .codegen import eliminate_common, flat_args, float_args, input_symbols, lambdify_shared
from .prepare import (
    _prepare,  # noqa: F401 - its cache is cleared by the benchmark and tests
    derivative_expr,
    grad,
    layout,
    prepare,
    prepare_hessian,
    prepare_jacobian,
    warm_up,
)
from .rules import DIFF_RULES, RULE_TABLES, graph, jacobian_exprs, sympy_rules, tree_ops

__all__ = [
    "MAX_DEPTH", "MAX_NODES", "TIME_BUDGET", "Clock", "ScalarSize", "SymbolicTooLarge",
    "check_budget", "check_count", "scalar_size", "eliminate_common", "flat_args",
    "float_args", "input_symbols", "lambdify_shared", "derivative_expr", "grad", "layout",
    "prepare", "prepare_hessian", "prepare_jacobian", "warm_up", "DIFF_RULES", "RULE_TABLES",
    "graph", "jacobian_exprs", "sympy_rules", "tree_ops",
]
