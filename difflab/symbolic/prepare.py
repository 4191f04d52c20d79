"""Symbolic differentiation with SymPy: IR -> SymPy, differentiate, share, compile.

The expression becomes SymPy scalars (``sympy_bridge``: an array variable is an object array of
scalar symbols), every scalar input in ``wrt`` is differentiated, common subexpressions are
eliminated over all derivative components together, and ONE straight-line program turns the
result into a NumPy function of the flat scalar inputs.

Why not plain ``sympy.diff``: SymPy differentiates the expression *tree*. Every use of a shared
subexpression is differentiated again, and each nested ``Derivative`` re-walks its whole
argument (``replace``, ``free_symbols``), so d l_13 of the logistic map takes ~8 s although
the expression has 43 distinct nodes. Here the chain rule runs once per distinct SymPy node
(a walk over the DAG in topological order, memoised), with SymPy's own derivative of each
function (``fdiff``: sin' = cos, Abs' = sign, Max' = Heaviside(a - b) ...) and this module's
rules for sums, products and powers in ``DIFF_RULES``. The chain-rule products are left
unevaluated (``Mul(..., evaluate=False)``): SymPy's canonical ordering would compare deep
arguments at every level (a 200-deep chain took 14 s to differentiate that way, 0.01 s so).
The raw derivative is exactly what the chain rule writes — its tree (``raw_ops``) swells
exponentially on the logistic map — and CSE shrinks it back (``cse_ops``); Baydin et al. 2018.

Kinks follow JAX: d relu(0) = 0 (Heaviside(x, 0)), d abs(0) = 0 (sign), d max(a, b) at a tie
is 1/2 to each (Heaviside(a - b) with Heaviside(0) = 1/2), and sign and Heaviside have
derivative 0 (so Hessians never meet a DiracDelta). x**y: d/dx = y x**(y-1); d/dy =
log(x) x**y only where y depends on the variable, with log(0) replaced by 0 as JAX does.

The expression is built unevaluated (``sympy.evaluate(False)``): it is the IR's computation
node for node, so x/x at 0, exp(x) * 0 at 1000 or sqrt(x*x) at 0 give nan as in JAX, and a
constant such as sqrt(-1) stays a computation (nan in float64), not SymPy's complex ``I``. The
derivative components become one straight-line program (``codegen``): every distinct node one
line, walked without recursion, so depth is no limit. A budget keeps SymPy from hanging: the
size is checked before anything is built (``SymbolicTooLarge``), and the wall clock is checked
while differentiating and generating code.
"""
from __future__ import annotations

import functools
import time
from collections.abc import Mapping, Sequence
from numbers import Real

import numpy as np
import sympy

from ..core import sympy_bridge
from ..core.expr import Expr
from ..core.parser import as_expression
from ..core.plan import compile_plan
from ..core.shapes import infer_shapes
from ..protocol import Prepared, shaped
from .budget import MAX_NODES, TIME_BUDGET, Clock, Shape, check_budget
from .codegen import compile_components
from .inputs import check_names, flat_args, float_args, input_symbols
from .rules import jacobian_exprs, tree_ops

READER_DEPTH = 200  # derivative_expr returns an evaluated SymPy expression, whose evaluation
#                     and printing recurse over depth (~250 levels overflowed)


# ---- preparing ---------------------------------------------------------------------------
@functools.lru_cache(maxsize=128)
def _prepare(kind: str, expr: Expr, wrt: tuple, shape_key: tuple, max_nodes: int,
             time_budget: float) -> Prepared:
    shapes = dict(shape_key)
    check_names(expr, wrt, shapes)
    begin = time.perf_counter()
    size = check_budget(expr, shapes, max_nodes=max_nodes, what="symbolic")
    plan = compile_plan(expr)
    out_shape = infer_shapes(plan, shapes)[plan.out]
    if kind != "jacobian" and out_shape != ():
        raise ValueError(f"the {kind} needs a scalar expression; this one has shape "
                         f"{out_shape} (use prepare_jacobian)")
    names = expr.variables
    symbols = input_symbols(names, shapes)
    args = [s for name in names for s in symbols[name].ravel()]
    inputs = [s for name in wrt for s in symbols[name].ravel()]
    clock = Clock(time_budget, "symbolic")
    # Unevaluated: the SymPy expression is the IR's computation, node for node, and so is its
    # derivative. SymPy's evaluation would rewrite x/x as 1, exp(x)*0 as 0 and sqrt(-1) as I
    # (changing the answer at 0, inf and nan, and going complex where float64 gives nan), and
    # flatten x + h sin(x) + ... into sums whose sorting is quadratic in the depth.
    with sympy.evaluate(False):
        outputs = list(sympy_bridge.to_sympy_arrays(expr, shapes, symbols).ravel())
        jac = jacobian_exprs(outputs, inputs, clock)
        if kind == "hessian":
            jac = jacobian_exprs(jac[0], inputs, clock)
    diff_seconds = clock.elapsed()
    components, unpack = layout(kind, jac, wrt, shapes, out_shape)
    fn, info = compile_components(components, args, clock)
    info.update(method="symbolic", kind=kind, diff_seconds=diff_seconds,
                primal_ops=tree_ops(outputs), scalar_nodes=size.nodes, depth=size.depth,
                prepare_seconds=time.perf_counter() - begin)

    if info["python_floats"]:  # only + and * : Python floats, the same IEEE results
        def evaluate(point: Mapping) -> dict:
            return unpack(fn(float_args(point, names)))

        return Prepared(evaluate, info)

    def evaluate(point: Mapping) -> dict:
        with np.errstate(all="ignore"):
            flat = fn(flat_args(point, names))
        return unpack(flat)

    return Prepared(evaluate, info)


def layout(kind: str, jac: list, wrt: Sequence[str], shapes: Mapping, out_shape: Shape):
    """Flatten a derivative matrix into one component list, in the protocol's layout.

    Args:
        kind: "gradient", "jacobian" or "hessian".
        jac: ``jac[i][j]`` = d output i / d input j (for a Hessian: d2 f / d input i d input j),
            inputs being the scalars of ``wrt`` in order.
        wrt, shapes, out_shape: the variables, their shapes and the output's shape.
    Returns:
        (components, unpack): ``unpack(flat values)`` gives gradient {name: shape(name)},
        jacobian {name: out_shape + shape(name)} or hessian {a: {b: shape(a) + shape(b)}}.
    """
    spans, k = {}, 0
    for name in wrt:
        n = int(np.prod(shapes[name], dtype=int))
        spans[name] = range(k, k + n)
        k += n
    blocks = []  # (key, shape, components)
    for a in wrt:
        if kind == "hessian":
            for b in wrt:
                blocks.append(((a, b), tuple(shapes[a]) + tuple(shapes[b]),
                               [jac[i][j] for i in spans[a] for j in spans[b]]))
        else:
            rows = range(len(jac)) if kind == "jacobian" else range(1)
            shape = (out_shape if kind == "jacobian" else ()) + tuple(shapes[a])
            blocks.append((a, shape, [jac[i][j] for i in rows for j in spans[a]]))
    components, slices, start = [], [], 0
    for key, shape, block in blocks:
        components.extend(block)
        slices.append((key, shape, slice(start, start + len(block))))
        start += len(block)

    def unpack(flat: np.ndarray) -> dict:
        result: dict = {}
        for key, shape, part in slices:
            if kind == "hessian":
                result.setdefault(key[0], {})[key[1]] = shaped(flat[part], shape)
            else:
                result[key] = shaped(flat[part], shape)
        return result

    return components, unpack


def _options(expr: Expr, wrt, shapes: Mapping, max_nodes: int, time_budget: float) -> tuple:
    if not isinstance(expr, Expr):
        raise TypeError(f"symbolic: expected an expression, got {type(expr).__name__}")
    wrt = (wrt,) if isinstance(wrt, str) else tuple(wrt)
    shape_key = tuple(sorted((name, tuple(int(n) for n in shape))
                             for name, shape in shapes.items()))
    budget = {"max_nodes": max_nodes, "time_budget": time_budget}
    for name, value in budget.items():  # a number, or an error naming the option
        if isinstance(value, bool) or not isinstance(value, Real):
            raise TypeError(f"symbolic: option {name} must be a number, got {value!r}")
    return expr, wrt, shape_key, int(max_nodes), float(time_budget)


def prepare(expr: Expr, wrt: Sequence[str], shapes: Mapping[str, Shape], *,
            max_nodes: int = MAX_NODES, time_budget: float = TIME_BUDGET) -> Prepared:
    """The gradient of a scalar expression, differentiated symbolically and lambdified.

    Args:
        expr: a scalar-valued expression.
        wrt: names of the variables to differentiate by.
        shapes: every variable's shape (``()`` for a scalar).
        max_nodes: refuse expressions with more estimated scalar SymPy nodes than this.
        time_budget: seconds allowed for differentiation and code generation (depth is no
            limit: nothing recurses over it).
    Returns:
        a cached ``Prepared``: point -> {name: gradient}; ``info`` has the derivative's sizes
        (``raw_ops``, ``raw_dag_ops``, ``cse_ops``, ``cse_temporaries``, ``primal_ops``) and
        the seconds spent (``diff_seconds``, ``cse_seconds``, ``lambdify_seconds``).
    Raises:
        SymbolicTooLarge: the expression exceeds the budget (a ValueError).
        ValueError: the expression is not scalar, or a name or shape is missing.
    """
    return _prepare("gradient", *_options(expr, wrt, shapes, max_nodes, time_budget))


def prepare_jacobian(expr: Expr, wrt: Sequence[str], shapes: Mapping[str, Shape], *,
                     max_nodes: int = MAX_NODES,
                     time_budget: float = TIME_BUDGET) -> Prepared:
    """The Jacobian of any expression: point -> {name: array of out_shape + shape(name)}.

    Arguments, info and errors as ``prepare``.
    """
    return _prepare("jacobian", *_options(expr, wrt, shapes, max_nodes, time_budget))


def prepare_hessian(expr: Expr, wrt: Sequence[str], shapes: Mapping[str, Shape], *,
                    max_nodes: int = MAX_NODES,
                    time_budget: float = TIME_BUDGET) -> Prepared:
    """The Hessian of a scalar expression: point -> {a: {b: array of shape(a) + shape(b)}}.

    The gradient's components are differentiated again by the same rules. Arguments, info
    and errors as ``prepare``.
    """
    return _prepare("hessian", *_options(expr, wrt, shapes, max_nodes, time_budget))


def warm_up() -> None:
    """Pay SymPy's one-off costs before anything is timed: importing SymPy, its printers and
    lambdify's code generation take seconds in a fresh interpreter (more than a cell's whole
    time limit on a loaded machine). Differentiates one small expression with arrays, a
    matrix product and the common functions, and evaluates it; its cache entry is dropped."""
    from ..core import expr as ir

    W, x, b = ir.variable("W"), ir.variable("x"), ir.variable("b")
    z = ir.tanh(W @ x + b)
    f = ir.sum(ir.sigmoid(z) * ir.exp(-z) + ir.log1p(z * z)
               + ir.sin(z) / (1.0 + ir.sqrt(z * z + 1.0)))
    shapes = {"W": (2, 3), "x": (3,), "b": (2,)}
    point = {"W": np.full((2, 3), 0.1), "x": np.ones(3), "b": np.zeros(2)}
    prepare(f, ("W", "b"), shapes)(point)
    prepare(ir.variable("s") * ir.cos(ir.variable("s")), ("s",), {"s": ()})({"s": 0.5})
    _prepare.cache_clear()


def grad(expr: Expr, point: Mapping, wrt: Sequence[str] | None = None) -> dict:
    """One-shot gradient: ``grad(f, {"x": 1.0})`` -> {"x": df/dx}.

    Args:
        expr: a scalar-valued expression.
        point: maps every variable of ``expr`` to a float or an array.
        wrt: the variables to differentiate by (default: all).
    Returns:
        {name: value with that variable's shape}.
    """
    from .. import api  # validation and the preparation cache live there, for every method

    return api.grad(expr, point, method="symbolic", wrt=wrt)


def derivative_expr(expr: Expr | str, wrt: str | Sequence[str]):
    """The derivative as a SymPy expression, for a reader (scalar variables, natural names).

    Args:
        expr: a scalar expression of scalar variables (or its grammar text).
        wrt: one variable name (returns an expression) or several (returns {name: expr}).
    Returns:
        the SymPy derivative (evaluated, so it reads as SymPy would print it), or a dict.
    Raises:
        SymbolicTooLarge: deeper than ``READER_DEPTH``: SymPy's evaluation and printing of
            the expression returned recurse over its depth (``prepare`` has no such limit).
    """
    expr = as_expression(expr, "derivative_expr")
    names = [wrt] if isinstance(wrt, str) else list(wrt)
    check_names(expr, tuple(names), {v: () for v in expr.variables})
    check_budget(expr, {v: () for v in expr.variables}, max_nodes=MAX_NODES,
                 max_depth=READER_DEPTH, what="symbolic's derivative_expr")
    f = sympy_bridge.to_sympy(expr)
    if not isinstance(f, sympy.Expr):
        raise ValueError("derivative_expr needs a scalar expression of scalar variables")
    symbols = [sympy.Symbol(name, real=True) for name in names]
    row = jacobian_exprs([f], symbols)[0]
    exprs = {name: d.doit() for name, d in zip(names, row, strict=True)}
    return exprs[wrt] if isinstance(wrt, str) else exprs
