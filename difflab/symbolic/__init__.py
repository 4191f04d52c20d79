"""Symbolic differentiation with SymPy: IR -> SymPy, differentiate, share, lambdify.

    from difflab import symbolic
    symbolic.grad(f, {"x": 1.0, "y": 2.0})
    symbolic.derivative_expr(f, "x")         # the SymPy derivative itself

``rules`` holds the chain rule per SymPy node, ``codegen`` the straight-line program (shared
subexpressions, no recursion), ``inputs`` the flat scalar inputs, ``budget`` the size and time
budget, and ``prepare`` the protocol's side and the one-shot functions.
SymPy is imported with this package, not with ``import difflab``.
"""

from .budget import (
    MAX_NODES,
    TIME_BUDGET,
    Clock,
    ScalarSize,
    SymbolicTooLarge,
    check_budget,
    check_count,
    scalar_size,
)
from .codegen import compile_components, straight_line
from .inputs import check_names, flat_args, float_args, input_symbols
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
    "MAX_NODES", "TIME_BUDGET", "Clock", "ScalarSize", "SymbolicTooLarge",
    "check_budget", "check_count", "scalar_size", "compile_components", "straight_line",
    "check_names", "flat_args", "float_args", "input_symbols", "derivative_expr", "grad",
    "layout",
    "prepare", "prepare_hessian", "prepare_jacobian", "warm_up", "DIFF_RULES", "RULE_TABLES",
    "graph", "jacobian_exprs", "sympy_rules", "tree_ops",
]
