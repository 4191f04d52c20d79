"""Reverse mode: a tape (Wengert list) swept backward with vector-Jacobian products.

    from difflab import reverse
    reverse.grad(f, {"x": 1.0, "y": 2.0})
    tape = reverse.Tape.record(f, point); tape.backward(trace=True); print(tape.format_steps())

``rules`` holds the vjp rules, ``program`` the compiled backward program and its sweep,
``levels`` the level schedule for wide scalar graphs, ``batch`` many cotangents in one sweep
(Jacobians; ``diagonal`` keeps the seed compact), ``jet`` and ``curvature`` forward over
reverse with every direction at once, ``tape`` the teaching tape and ``prepare`` the
protocol's side and the one-shot functions.
"""

from .batch import COTANGENT_BUDGET, batched, jacobian_rows
from .curvature import JET_BUDGET, JET_OPS, Hessian
from .diagonal import Diagonal
from .jet import Jet
from .prepare import (
    grad,
    hessian,
    jacobian,
    prepare,
    prepare_hessian,
    prepare_hvp,
    prepare_jacobian,
    prepare_vjp,
)
from .program import Program, compile_program
from .rules import RULE_TABLES, vjp_rules
from .sweep import sweep
from .tape import Step, Tape, summary

__all__ = [
    "grad", "jacobian", "hessian", "prepare", "prepare_jacobian", "prepare_hessian",
    "prepare_vjp", "prepare_hvp", "COTANGENT_BUDGET", "batched", "jacobian_rows", "Diagonal",
    "JET_BUDGET", "JET_OPS", "Hessian", "Jet",
    "Program", "compile_program", "sweep", "RULE_TABLES", "vjp_rules", "Step", "Tape",
    "summary",
]
