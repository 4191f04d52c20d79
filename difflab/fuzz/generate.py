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

``generate_arrays`` does the same over variables of given shapes (``()``, ``(3,)``,
``(2, 3)`` ...): elementwise ops broadcast (an operand is paired only with pool entries whose
shape broadcasts with its own), ``matmul`` joins operands whose shapes fit (transposing one
where that makes them fit), and ``sum``/``mean``/``transpose`` change shapes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from ..core import arrays as ir
from ..core.expr import Expr, variable
from ..core.ops import COMPARISONS, REDUCTIONS, matmul_shape
from .arrays import ARRAY_OPS, array_step

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
    pool: list[Expr] = [variable(n) for n in names]
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


# ---- arrays -----------------------------------------------------------------------------
Shape = tuple[int, ...]
ARRAY_SHAPES: tuple[Shape, ...] = ((), (3,), (2, 3), (2, 1), (3, 2))
ARRAY_UNARY = SCALAR_UNARY + ("sum", "mean", "transpose")
ARRAY_BINARY = SCALAR_BINARY + ("matmul",)
POWERS = (2.0, 3.0)  # integer exponents: defined at every real base, negative ones included


def _broadcast(a: Shape, b: Shape) -> Shape | None:
    try:
        return tuple(np.broadcast_shapes(a, b))
    except ValueError:
        return None


def _matmul(a: Shape, b: Shape) -> Shape | None:
    try:
        return matmul_shape(a, b)
    except ValueError:
        return None


def _matmul_partners(pool: list, shape: Shape) -> list:
    """(expr, result shape) for every pool entry, or its transpose, that ``shape @`` fits."""
    partners = []
    for e, s in pool:
        for b, sb in ((e, s), (ir.transpose(e), s[::-1])):
            out = _matmul(shape, sb)
            if out is not None:
                partners.append((b, out))
                break
    return partners


def generate_arrays(choose: Chooser, shapes: Mapping[str, Shape], size: int = 6,
                    domain_safe: bool = True, unary: Sequence[str] = ARRAY_UNARY,
                    binary: Sequence[str] = ARRAY_BINARY,
                    array_ops: Sequence[str] = ARRAY_OPS) -> tuple[Expr, Shape]:
    """A random expression over variables of the given shapes, with broadcasting.

    Args:
        choose: picks one of ``options`` (as ``generate``).
        shapes: variable name -> shape.
        size: number of operations to apply.
        domain_safe: keep every op inside its domain at any real point.
        unary, binary: the ops to draw from (``sum mean transpose`` and ``matmul`` included).
        array_ops: the array programs' ops to draw from (see ``array_step``).
    Returns:
        (the expression, its shape). Only pool entries whose shapes fit are ever combined, so
        the expression is well shaped by construction.
    """
    pool: list[tuple[Expr, Shape]] = [(variable(n), tuple(s)) for n, s in shapes.items()]
    for _ in range(size):
        kind = choose("kind", ("unary", "binary", "constant", "array", "array") if array_ops else
                      ("unary", "binary", "constant"))
        a, sa = choose("operand", pool)
        if kind == "array":
            node, shape = array_step(choose, pool, a, sa, shapes, array_ops)
        elif kind == "constant":
            op = choose("op", ("add", "mul", "sub", "pow"))
            if op == "pow":
                node = a ** choose("exponent", POWERS)
            else:
                c = choose("constant", CONSTANTS)
                node = ir.BUILDERS[op](a, c) if choose("side", (0, 1)) else ir.BUILDERS[op](c, a)
            shape = sa
        elif kind == "unary":
            op = choose("op", unary)
            node = _safe(op, a, 0.5) if domain_safe else ir.BUILDERS[op](a)
            shape = () if op in REDUCTIONS else sa[::-1] if op == "transpose" else sa
        else:
            op = choose("op", binary)
            partners = _matmul_partners(pool, sa) if op == "matmul" else []
            if op == "matmul" and partners:
                b, shape = choose("operand", partners)
                node = ir.matmul(a, b)
            else:
                op = "mul" if op == "matmul" else op  # nothing fits: multiply instead
                fits = [(e, _broadcast(sa, s)) for e, s in pool if _broadcast(sa, s) is not None]
                b, shape = choose("operand", fits)
                node = _safe_binary(op, a, b, 0.5) if domain_safe else ir.BUILDERS[op](a, b)
        pool.append((node, shape))
    return pool[-1]


def random_shapes(rng: np.random.Generator, names: Sequence[str] = ("x", "v", "M"),
                  menu: Sequence[Shape] = ARRAY_SHAPES) -> dict[str, Shape]:
    """A shape for each name, drawn from ``menu``."""
    return {n: tuple(menu[int(rng.integers(len(menu)))]) for n in names}


def random_array_point(seed: int | np.random.Generator, shapes: Mapping[str, Shape],
                       scale: float = 1.5) -> dict:
    """A reproducible point: each variable uniform in [-scale, scale], a float for shape ()."""
    rng = np.random.default_rng(seed)
    return {n: rng.uniform(-scale, scale, size=s) if s else float(rng.uniform(-scale, scale))
            for n, s in shapes.items()}


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


def _arguments(expr: Expr, point: dict):
    """(op, argument values) for every op of ``expr`` at ``point``."""
    from ..core.evaluate import bind, clean_point, run
    from ..core.plan import compile_plan

    plan = compile_plan(expr)
    values = run(plan, bind(plan, clean_point(plan, point)))
    for slot, op in enumerate(plan.ops):
        yield op, [values[a] for a in plan.args[slot]], [plan.ops[a] for a in plan.args[slot]]


def kink_distance(expr: Expr, point: dict) -> float:
    """How far ``point`` is from a kink: the smallest |argument| of abs/relu and |a - b| of
    max/min over the expression (inf when it has none). Finite differences straddle a kink
    closer than their step; the one-sided derivatives then disagree with every exact method."""
    gaps = [np.inf]
    for op, args, _ in _arguments(expr, point):
        if op in ("abs", "relu"):
            gaps.append(float(np.min(np.abs(args[0]))))
        elif op in ("max", "min") or op in COMPARISONS:  # ties, and a mask's boundary
            gaps.append(float(np.min(np.abs(np.subtract(args[0], args[1])), initial=np.inf)))
        elif op in ("reduce_max", "reduce_min"):  # the gap between the two largest (smallest)
            gaps.append(_reduction_gap(np.asarray(args[0], dtype=float), args[1].value[0]))
    return min(gaps)


def _reduction_gap(x: np.ndarray, axes) -> float:
    """The smallest gap between the two extreme values of each group a max/min reduction
    reduces over (inf for groups of one)."""
    if x.ndim == 0:
        return np.inf
    axes = tuple(range(x.ndim)) if axes is None else tuple(a % x.ndim for a in axes)
    rest = [k for k in range(x.ndim) if k not in axes]
    groups = np.sort(np.transpose(x, rest + list(axes)).reshape(
        int(np.prod([x.shape[k] for k in rest], dtype=int)), -1), axis=-1)
    if groups.shape[-1] < 2:
        return np.inf
    return float(min(np.min(groups[:, -1] - groups[:, -2]), np.min(groups[:, 1] - groups[:, 0])))


def domain_margin(expr: Expr, point: dict) -> float:
    """How far inside every op's domain ``point`` is: the smallest distance of an argument
    from where its op stops being smooth and finite (negative when outside; inf when no op is
    restricted). log, sqrt: u (from 0); log1p: u + 1; asin, acos: 1 - |u|; tan: the distance
    to the nearest pole pi/2 + k pi; div: |denominator|; pow: the base, unless the exponent is
    a constant integer (then every real base is fine). Near an edge the derivatives grow
    without bound, and so does the truncation error of finite differences."""
    with np.errstate(all="ignore"):
        margins = [np.inf]
        for op, args, arg_ops in _arguments(expr, point):
            u = np.asarray(args[0], dtype=float) if args else None
            if op in ("log", "sqrt"):
                m = u
            elif op == "log1p":
                m = u + 1.0
            elif op in ("asin", "acos"):
                m = 1.0 - np.abs(u)
            elif op == "tan":
                m = np.abs(np.remainder(u - np.pi / 2, np.pi) - np.pi / 2)
                m = np.pi / 2 - m  # distance to the nearest pole
            elif op == "div":
                m = np.abs(args[1])
            elif op == "pow" and not (arg_ops[1] == "const" and
                                      np.all(np.asarray(args[1]) == np.round(args[1]))):
                m = u
            else:
                continue
            margins.append(float(np.nanmin(np.where(np.isnan(m), -np.inf, m))))
    return min(margins)
