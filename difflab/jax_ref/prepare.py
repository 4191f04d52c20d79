"""JAX as the reference: the IR as a jax.numpy function, differentiated and compiled by JAX.

The plan is walked once, while JAX traces it, with ``jnp_rules`` giving each op its
jax.numpy meaning; ``jax.grad``/``jacfwd``/``jacrev``/``hessian`` do the rest and ``jax.jit``
compiles the result. Preparing lowers and compiles for the declared shapes, timed apart from
the calls (``info["compile_seconds"]``); each call blocks until the result is ready and hands
back float64 NumPy values. JAX is imported on first use (``import difflab`` stays light) with
``jax_enable_x64`` switched on, and checked.

Tracing unrolls the graph into one XLA program, so its cost grows with the node count; above
``MAX_NODES`` the preparation refuses with a ValueError instead of compiling for minutes.

Kinks follow JAX (d relu(0) = 0, a tie of max/min splits 1/2 each) with one exception the
design fixes: d abs(0) = 0. jnp.abs's JVP is select(x >= 0, g, -g), which gives 1 at 0, so
abs is written x * sign(x): the same values, derivative sign(x).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence

import numpy as np

from ..core.expr import Expr
from ..core.params import numpy_index
from ..core.plan import Plan, compile_plan
from ..core.shapes import infer_shapes
from ..protocol import Prepared, shaped

MAX_NODES = 10_000
MODES = ("auto", "forward", "reverse")

jax = None  # the jax module, imported by _jax() on first use
jnp = None  # jax.numpy

# op -> its meaning on JAX arrays (leaves are handled by the walk). Functions look jnp/jax up
# when called, so this table exists before JAX is imported.
RULE_TABLES = ("jnp_rules",)
jnp_rules = {
    "neg": lambda a: jnp.negative(a),
    "add": lambda a, b: jnp.add(a, b),
    "sub": lambda a, b: jnp.subtract(a, b),
    "mul": lambda a, b: jnp.multiply(a, b),
    "div": lambda a, b: jnp.true_divide(a, b),
    "pow": lambda a, b: jnp.power(a, b),       # a constant exponent gets no d/dy term
    "matmul": lambda a, b: jnp.matmul(a, b),
    "max": lambda a, b: jnp.maximum(a, b),     # tie: 1/2 to each argument
    "min": lambda a, b: jnp.minimum(a, b),
    "sin": lambda a: jnp.sin(a),
    "cos": lambda a: jnp.cos(a),
    "tan": lambda a: jnp.tan(a),
    "asin": lambda a: jnp.arcsin(a),
    "acos": lambda a: jnp.arccos(a),
    "atan": lambda a: jnp.arctan(a),
    "sinh": lambda a: jnp.sinh(a),
    "cosh": lambda a: jnp.cosh(a),
    "tanh": lambda a: jnp.tanh(a),
    "exp": lambda a: jnp.exp(a),
    "log": lambda a: jnp.log(a),
    "log1p": lambda a: jnp.log1p(a),
    "expm1": lambda a: jnp.expm1(a),
    "sqrt": lambda a: jnp.sqrt(a),
    "abs": lambda a: a * jnp.sign(a),          # |a| with d|a| = sign(a): 0 at 0 (see above)
    "sigmoid": lambda a: jax.nn.sigmoid(a),
    "relu": lambda a: jax.nn.relu(a),          # custom JVP: 0 at 0
    "softplus": lambda a: jax.nn.softplus(a),
    "sum": lambda a: jnp.sum(a),               # every axis: a 0-d result
    "mean": lambda a: jnp.mean(a),
    "transpose": lambda a: jnp.transpose(a),   # reverses the axes
    "square": lambda a: jnp.square(a),
    "lt": lambda a, b: jnp.less(a, b).astype(jnp.float64),
    "le": lambda a, b: jnp.less_equal(a, b).astype(jnp.float64),
    "gt": lambda a, b: jnp.greater(a, b).astype(jnp.float64),
    "ge": lambda a, b: jnp.greater_equal(a, b).astype(jnp.float64),
    "eq": lambda a, b: jnp.equal(a, b).astype(jnp.float64),
    "ne": lambda a, b: jnp.not_equal(a, b).astype(jnp.float64),
    "where": lambda c, a, b: jnp.where(c != 0, a, b),
    "select": lambda c, a: jnp.where(c != 0, a, 0.0),     # where's halves (see core/plan.py)
    "select_not": lambda c, b: jnp.where(c != 0, 0.0, b),
    # ops with a constant Param (an index, axes, a shape) as their last argument
    "index": lambda a, p: a[numpy_index(p.value)],
    "reduce_sum": lambda a, p: jnp.sum(a, axis=p.value[0], keepdims=p.value[1]),
    "reduce_mean": lambda a, p: jnp.mean(a, axis=p.value[0], keepdims=p.value[1]),
    "reduce_prod": lambda a, p: jnp.prod(a, axis=p.value[0], keepdims=p.value[1]),
    "reduce_max": lambda a, p: jnp.max(a, axis=p.value[0], keepdims=p.value[1]),
    "reduce_min": lambda a, p: jnp.min(a, axis=p.value[0], keepdims=p.value[1]),
    "logsumexp": lambda a, p: jax.scipy.special.logsumexp(a, axis=p.value[0],
                                                          keepdims=p.value[1]),
    "softmax": lambda a, p: jax.nn.softmax(a, axis=p.value),
    "log_softmax": lambda a, p: jax.nn.log_softmax(a, axis=p.value),
    "reshape": lambda a, p: jnp.reshape(a, p.value),
    "permute": lambda a, p: jnp.transpose(a, p.value),
    "concat": lambda a, b, p: jnp.concatenate((a, b), axis=p.value),
}


def _jax():
    """Import JAX with 64-bit floats on (once), and check that they are."""
    global jax, jnp
    if jax is None:
        import jax as jax_module
        import jax.numpy as jnp_module
        import jax.scipy.special  # noqa: F401 - logsumexp

        jax_module.config.update("jax_enable_x64", True)
        jax, jnp = jax_module, jnp_module
    if not jax.config.jax_enable_x64 or jnp.zeros(()).dtype != np.float64:
        raise RuntimeError("jax runs without jax_enable_x64: difflab needs float64")
    return jax


def warm_up() -> None:
    """Import JAX and compile one tiny function, so the one-off start-up cost of XLA (a few
    seconds in a fresh process) is paid before anything is timed."""
    _jax().jit(lambda v: v * 2.0 + 1.0)(np.float64(1.0)).block_until_ready()


def check_size(plan: Plan, max_nodes: int = MAX_NODES) -> None:
    """Refuse plans too large to trace and compile in reasonable time."""
    if plan.size > max_nodes:
        raise ValueError(f"too large for jax: {plan.size} nodes (limit {max_nodes})")


def as_jax_function(plan: Plan, wrt: Sequence[str], rest: Sequence[str]):
    """The plan as f(wrt_values, rest_values) on JAX arrays (tuples in the given orders)."""
    ops, args, attrs = plan.ops, plan.args, plan.attrs

    def f(wrt_values, rest_values):
        bound = dict(zip(wrt, wrt_values, strict=True))
        bound.update(zip(rest, rest_values, strict=True))
        values: list = [None] * len(ops)
        for slot, op in enumerate(ops):
            a = args[slot]
            if op == "const":
                values[slot] = attrs[slot]
            elif op == "var":
                values[slot] = bound[attrs[slot]]
            elif len(a) == 1:
                values[slot] = jnp_rules[op](values[a[0]])
            else:  # (an op's constant Param argument is passed as itself)
                values[slot] = jnp_rules[op](*[values[i] for i in a])
        return jnp.asarray(values[plan.out], dtype=jnp.float64)

    return f


def _setup(expr: Expr, wrt, shapes: Mapping, max_nodes: int):
    _jax()
    plan = compile_plan(expr)
    check_size(plan, max_nodes)
    wrt = tuple(wrt)
    for name in wrt:
        if name not in plan.var_slots:
            raise ValueError(f"cannot differentiate with respect to {name!r}: the expression "
                             f"depends only on {', '.join(plan.variables) or 'no variables'}")
    rest = tuple(name for name in plan.variables if name not in wrt)
    out_shape = tuple(infer_shapes(plan, shapes)[plan.out])
    return plan, wrt, rest, out_shape


def _compile(transformed, plan: Plan, wrt, rest, shapes: Mapping, info: dict,
             differentiated: bool = True):
    """jit, lower and compile for the shapes; returns call(point) -> JAX output (ready)."""
    if not wrt and differentiated:  # JAX cannot differentiate by an empty tuple
        info.update({"method": "jax", "nodes": plan.size, "trace_seconds": 0.0,
                     "xla_seconds": 0.0, "compile_seconds": 0.0})
        return lambda point: ()
    spec = lambda names: tuple(jax.ShapeDtypeStruct(tuple(shapes[n]), jnp.float64)
                               for n in names)
    start = time.perf_counter()
    lowered = jax.jit(transformed).lower(spec(wrt), spec(rest))
    traced = time.perf_counter()
    compiled = lowered.compile()
    done = time.perf_counter()
    info.update({"method": "jax", "nodes": plan.size, "trace_seconds": traced - start,
                 "xla_seconds": done - traced, "compile_seconds": done - start})

    def call(point: Mapping):
        as_args = lambda names: tuple(np.asarray(point[n], dtype=np.float64) for n in names)
        return jax.block_until_ready(compiled(as_args(wrt), as_args(rest)))

    return call


def _scalar_only(out_shape, what: str) -> None:
    if out_shape != ():
        raise ValueError(f"the {what} needs a scalar expression; this one is not scalar: its "
                         f"shape is {out_shape}")


def prepare(expr: Expr, wrt: Sequence[str], shapes: Mapping,
            max_nodes: int = MAX_NODES) -> Prepared:
    """The gradient of a scalar expression: jax.jit(jax.grad(f)), compiled for ``shapes``.

    Args:
        expr: the expression; wrt: names to differentiate by; shapes: every variable's shape.
        max_nodes: refuse plans with more nodes (ValueError "too large for jax").
    Returns:
        a Prepared giving {name: float or float64 array}; info has compile_seconds.
    """
    plan, wrt, rest, out_shape = _setup(expr, wrt, shapes, max_nodes)
    _scalar_only(out_shape, "gradient")
    info: dict = {}
    call = _compile(jax.grad(as_jax_function(plan, wrt, rest)), plan, wrt, rest, shapes, info)
    return Prepared(lambda point: {name: shaped(np.asarray(g), tuple(shapes[name]))
                                   for name, g in zip(wrt, call(point), strict=True)}, info)


def prepare_jacobian(expr: Expr, wrt: Sequence[str], shapes: Mapping, mode: str = "auto",
                     max_nodes: int = MAX_NODES) -> Prepared:
    """The Jacobian by jax.jacfwd or jax.jacrev, compiled for ``shapes``.

    Args:
        expr, wrt, shapes, max_nodes: as ``prepare``; the expression may have any shape.
        mode: "auto" (jacfwd when there are no more inputs than outputs, else jacrev),
            "forward" or "reverse".
    Returns:
        a Prepared giving {name: array of shape output shape + variable's shape}.
    """
    if mode not in MODES:
        raise ValueError(f"unknown jacobian mode {mode!r}: known modes are {', '.join(MODES)}")
    plan, wrt, rest, out_shape = _setup(expr, wrt, shapes, max_nodes)
    inputs = sum(math.prod(shapes[name]) for name in wrt)
    if mode == "auto":  # one pass per input (forward) or per output (reverse): take fewer
        mode = "forward" if inputs <= math.prod(out_shape) else "reverse"
    jacobian = jax.jacfwd if mode == "forward" else jax.jacrev
    info: dict = {"mode": mode}
    call = _compile(jacobian(as_jax_function(plan, wrt, rest)), plan, wrt, rest, shapes, info)
    return Prepared(lambda point: {
        name: np.asarray(j, dtype=np.float64).reshape(out_shape + tuple(shapes[name]))
        for name, j in zip(wrt, call(point), strict=True)}, info)


def prepare_hessian(expr: Expr, wrt: Sequence[str], shapes: Mapping,
                    max_nodes: int = MAX_NODES) -> Prepared:
    """The Hessian of a scalar expression by jax.hessian (forward over reverse), compiled.

    Returns:
        a Prepared giving {a: {b: float or array of shape shape(a) + shape(b)}}.
    """
    plan, wrt, rest, out_shape = _setup(expr, wrt, shapes, max_nodes)
    _scalar_only(out_shape, "Hessian")
    info: dict = {}
    call = _compile(jax.hessian(as_jax_function(plan, wrt, rest)), plan, wrt, rest, shapes,
                    info)

    def hessian(point: Mapping) -> dict:
        rows = call(point)
        return {a: {b: shaped(np.asarray(rows[i][j]), tuple(shapes[a]) + tuple(shapes[b]))
                    for j, b in enumerate(wrt)} for i, a in enumerate(wrt)}

    return Prepared(hessian, info)


def function(expr: Expr, shapes: Mapping | None = None, max_nodes: int = MAX_NODES) -> Prepared:
    """The primal f itself, jitted (what derivative timings are compared with).

    Args:
        expr: the expression; shapes: every variable's shape, to compile ahead (info gets
            compile_seconds); None compiles on the first call for the shapes it sees.
    Returns:
        a Prepared giving f(point) as a float or a float64 array.
    """
    _jax()
    plan = compile_plan(expr)
    check_size(plan, max_nodes)
    names = plan.variables
    f = as_jax_function(plan, names, ())
    info: dict = {"method": "jax", "nodes": plan.size}
    if shapes is not None:
        call = _compile(lambda _, values: f(values, ()), plan, (), names, shapes, info,
                        differentiated=False)
    else:
        jitted = jax.jit(lambda values: f(values, ()))
        call = lambda point: jax.block_until_ready(
            jitted(tuple(np.asarray(point[n], dtype=np.float64) for n in names)))

    def value(point: Mapping):
        out = np.asarray(call(point), dtype=np.float64)
        return float(out) if out.ndim == 0 else out

    return Prepared(value, info)


def grad(expr: Expr, point: Mapping, wrt: Sequence[str] | None = None) -> dict:
    """The gradient of a scalar expression at ``point`` by JAX (compiled once per shapes).

    Args:
        expr: the expression; point: every variable -> float or array;
        wrt: names to differentiate by (default: all).
    Returns:
        {name: float or array of the variable's shape}.
    """
    from .. import api  # validation and the preparation cache live there, for every method

    return api.grad(expr, point, method="jax", wrt=wrt)
