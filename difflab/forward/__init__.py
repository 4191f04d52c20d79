"""Forward mode: dual numbers for plain Python/NumPy code, and a tangent sweep over the IR.

    from difflab import forward
    forward.derivative(lambda t: t * forward.sin(t), 1.0)     # Dual numbers, nested safely
    forward.grad(f, {"x": 1.0, "y": 2.0})                     # the IR, all directions at once

``rules`` holds the jvp rules, ``dual`` the Dual type, ``derivatives`` the functions that
seed it (derivative, jvp, gradient), ``sweep``
the plan's tangent sweep, ``levels`` the level schedule for wide scalar graphs and
``prepare`` the protocol's side and the one-shot functions, ``products`` its JVP and HVP.
"""

from .derivatives import derivative, grad_fn, gradient, jvp
from .dual import (
    Dual,
    abs,
    acos,
    asin,
    atan,
    cos,
    cosh,
    exp,
    expm1,
    log,
    log1p,
    max,
    mean,
    min,
    relu,
    sigmoid,
    sin,
    sinh,
    softplus,
    sqrt,
    sum,
    tan,
    tanh,
    transpose,
)
from .prepare import grad, hessian, jacobian, prepare, prepare_hessian, prepare_jacobian
from .products import prepare_hvp, prepare_jvp
from .rules import RULE_TABLES, jvp_rules
from .sweep import (
    MEMORY_BUDGET,
    SEED_BUDGET,
    TANGENT_BUDGET,
    WORK_BUDGET,
    ForwardTooLarge,
    Sweep,
)

__all__ = [
    "Dual", "derivative", "jvp", "gradient", "grad_fn",
    "grad", "jacobian", "hessian", "prepare", "prepare_jacobian", "prepare_hessian",
    "prepare_jvp", "prepare_hvp",
    "RULE_TABLES", "jvp_rules", "Sweep", "SEED_BUDGET", "TANGENT_BUDGET",
    "WORK_BUDGET", "MEMORY_BUDGET", "ForwardTooLarge",
    "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "exp", "log",
    "log1p", "expm1", "sqrt", "abs", "sigmoid", "relu", "softplus", "sum", "mean", "max", "min",
    "transpose",
]
