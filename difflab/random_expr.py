"""Random expressions for round-trip tests, cross-method fuzzing and the lab's random problems.

``generate(choose, ...)`` builds an expression from a stream of choices, so one generator
serves two drivers: a seeded NumPy ``Generator`` (``random_expression``) and Hypothesis
(``tests/strategies.py`` passes a chooser that draws, so failures shrink). Built bottom-up
from a pool of subexpressions — new nodes may reuse earlier ones, giving shared
subexpressions (a DAG, not just a tree) — with no recursion.

With ``domain_safe=True`` every op whose domain is restricted gets an argument shaped to stay
inside it at any real point (``log(u**2 + c)``, ``asin(0.9 * tanh(u))``, a positive base for a
real power ...), and arguments of ``exp``-like ops are squashed so nothing overflows: every
method should then agree at every point.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from . import ir
from .ir import Expr

Chooser = Callable[[str, Sequence], object]  # (what, options) -> one of the options

SCALAR_UNARY = ("neg", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh",
                "exp", "log", "log1p", "expm1", "sqrt", "abs", "sigmoid", "relu", "softplus")
SCALAR_BINARY = ("add", "sub", "mul", "div", "pow", "max", "min")
CONSTANTS = (0.5, 1.0, 2.0, 3.0, -1.5, 0.25, 1.7)


def _safe(op: str, u: Expr, c: float) -> Expr:
    """``op`` applied to ``u`` reshaped so the result is finite at every real ``u``."""
    if op in ("log", "sqrt"):
        return ir.BUILDERS[op](u * u + c)            # argument >= c > 0
    if op == "log1p":
        return ir.log1p(u * u)                       # argument >= 0 > -1
    if op in ("asin", "acos"):
        return ir.BUILDERS[op](0.9 * ir.tanh(u))     # |argument| < 0.9
    if op == "tan":
        return ir.tan(ir.atan(u))                    # |argument| < pi/2, tan(atan u) = u
    if op in ("exp", "expm1", "sinh", "cosh"):
        return ir.BUILDERS[op](2.0 * ir.tanh(u))     # no overflow
    return ir.BUILDERS[op](u)


def _safe_binary(op: str, a: Expr, b: Expr, c: float) -> Expr:
    if op == "div":
        return a / (b * b + c)                       # denominator >= c > 0
    if op == "pow":
        return ir.exp(ir.tanh(a)) ** ir.tanh(b)      # positive base, bounded exponent
    return ir.BUILDERS[op](a, b)


def generate(choose: Chooser, names: Sequence[str] = ("x", "y"), size: int = 6,
             domain_safe: bool = False, unary: Sequence[str] = SCALAR_UNARY,
             binary: Sequence[str] = SCALAR_BINARY) -> Expr:
    """A random scalar expression over ``names`` with about ``size`` operations.

    Args:
        choose: picks one of ``options``; ``what`` names the decision (for Hypothesis labels).
        names: variable names to draw from.
        size: number of operations to apply.
        domain_safe: keep every op inside its domain at any real point (see module docstring).
        unary, binary: the ops to draw from.
    Returns:
        the expression (the last node built, which uses every earlier one it was built from).
    """
    pool: list[Expr] = [ir.variable(n) for n in names]
    for _ in range(size):
        kind = choose("kind", ("unary", "binary", "constant"))
        a = choose("operand", pool)
        if kind == "constant":
            c = choose("constant", CONSTANTS)
            op = choose("op", ("add", "mul", "sub"))
            node = ir.BUILDERS[op](a, c) if choose("side", (0, 1)) else ir.BUILDERS[op](c, a)
        elif kind == "unary":
            op = choose("op", unary)
            node = _safe(op, a, 0.5) if domain_safe else ir.BUILDERS[op](a)
        else:
            op = choose("op", binary)
            b = choose("operand", pool)
            node = _safe_binary(op, a, b, 0.5) if domain_safe else ir.BUILDERS[op](a, b)
        pool.append(node)
    return pool[-1]


def random_expression(seed: int | np.random.Generator, names: Sequence[str] = ("x", "y"),
                      size: int = 6, domain_safe: bool = True) -> Expr:
    """A random expression from a seeded NumPy generator (reproducible for a given seed)."""
    rng = np.random.default_rng(seed)

    def choose(what, options):
        return options[int(rng.integers(len(options)))]

    return generate(choose, names, size, domain_safe)


def random_point(seed: int | np.random.Generator, names: Sequence[str],
                 scale: float = 2.0) -> dict[str, float]:
    """A reproducible point with every variable uniform in [-scale, scale]."""
    rng = np.random.default_rng(seed)
    return {n: float(rng.uniform(-scale, scale)) for n in names}


def kink_distance(expr: Expr, point: dict) -> float:
    """How far ``point`` is from a kink: the smallest |argument| of abs/relu and |a - b| of
    max/min over the expression (inf when it has none). Finite differences straddle a kink
    closer than their step; the one-sided derivatives then disagree with every exact method."""
    from .evaluate import bind, clean_point, run
    from .plan import compile_plan

    plan = compile_plan(expr)
    values = run(plan, bind(plan, clean_point(plan, point)))
    gaps = [np.inf]
    for slot, op in enumerate(plan.ops):
        args = [values[a] for a in plan.args[slot]]
        if op in ("abs", "relu"):
            gaps.append(float(np.min(np.abs(args[0]))))
        elif op in ("max", "min"):
            gaps.append(float(np.min(np.abs(np.subtract(args[0], args[1])))))
    return min(gaps)
