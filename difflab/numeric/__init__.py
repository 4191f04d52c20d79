"""Finite differences: derivatives from values of f alone.

    from difflab import numeric
    numeric.grad(f, {"x": 1.0, "y": 2.0}, scheme="central")
    numeric.derivative(math.sin, 1.0)          # any f of one scalar

``schemes`` holds the difference formulas and the step rules, ``adaptive`` the default scheme
(many steps, Richardson's tableau, the estimate with the smallest error estimate),
``complex_step`` the complex arithmetic for the complex step, ``budget`` the refusal of work
beyond numeric's budget, ``prepare`` the protocol's side and the one-shot functions, and
``products`` the JVP (one directional difference) and HVP.
"""

from .adaptive import adaptive_difference
from .budget import MAX_WORK, NumericTooLarge, plan_size
from .complex_step import RULE_TABLES, complex_rules, non_analytic_op, run_complex
from .noise import rounding_noise
from .prepare import grad, grad_with_error, prepare, prepare_hessian, prepare_jacobian
from .products import HVP_STEP_FACTOR, prepare_hvp, prepare_jvp
from .schemes import (
    COMPLEX_STEP,
    DEFAULT_SCHEME,
    EPS,
    HESSIAN_STEP_FACTOR,
    NOT_ANALYTIC,
    RICHARDSON_LEVELS,
    SCHEMES,
    STEP_FACTOR,
    check_levels,
    check_scheme,
    check_step,
    derivative,
    difference,
    evaluations,
    least_evaluations,
    richardson,
    step_size,
)

__all__ = [
    "adaptive_difference", "rounding_noise", "MAX_WORK", "NumericTooLarge", "plan_size",
    "least_evaluations", "RULE_TABLES", "complex_rules", "non_analytic_op", "run_complex", "grad",
    "grad_with_error", "prepare", "prepare_hessian", "prepare_jacobian", "prepare_jvp",
    "prepare_hvp", "HVP_STEP_FACTOR", "COMPLEX_STEP",
    "DEFAULT_SCHEME", "EPS", "HESSIAN_STEP_FACTOR", "NOT_ANALYTIC", "RICHARDSON_LEVELS",
    "SCHEMES", "STEP_FACTOR", "check_levels", "check_scheme", "check_step", "derivative",
    "difference", "evaluations", "richardson", "step_size",
]
