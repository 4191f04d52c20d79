"""JAX's products, jitted: ``jax.jvp`` (J v), ``jax.vjp`` (v^T J) and jvp of grad (H v).

Each is traced from the same jax.numpy function as the gradient (``as_jax_function``), then
lowered and compiled for the declared shapes with the direction as a third argument, the
compile time kept apart in ``info`` (``compile_seconds``). Calls block until the result is
ready and hand back float64 NumPy values.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from ..core.expr import Expr
from ..protocol import Prepared, shaped
from .prepare import MAX_NODES, _jax, _scalar_only, _setup, as_jax_function


def _compiled(fn: Callable, plan, wrt, rest, shapes: Mapping, third, info: dict) -> Callable:
    """jit, lower and compile fn(wrt_values, rest_values, direction); ``third`` gives the
    direction's specs. Returns call(point, direction) -> JAX output (ready)."""
    jax = _jax()
    jnp = jax.numpy
    spec = lambda shape: jax.ShapeDtypeStruct(tuple(shape), jnp.float64)
    start = time.perf_counter()
    lowered = jax.jit(fn).lower(tuple(spec(shapes[n]) for n in wrt),
                                tuple(spec(shapes[n]) for n in rest), third(spec))
    traced = time.perf_counter()
    compiled = lowered.compile()
    done = time.perf_counter()
    info.update({"method": "jax", "nodes": plan.size, "trace_seconds": traced - start,
                 "xla_seconds": done - traced, "compile_seconds": done - start})
    as_args = lambda point, names: tuple(np.asarray(point[n], dtype=np.float64) for n in names)

    def call(point: Mapping, direction):
        return jax.block_until_ready(compiled(as_args(point, wrt), as_args(point, rest),
                                              direction))

    return call


def prepare_jvp(expr: Expr, wrt: Sequence[str], shapes: Mapping,
                max_nodes: int = MAX_NODES) -> Prepared:
    """J v by ``jax.jvp``, compiled.

    Args:
        expr: any expression; wrt: the variables the tangent moves; shapes: every variable's.
        max_nodes: refuse plans with more nodes (ValueError "too large for jax").
    Returns:
        a Prepared: (point, {name: tangent}) -> J v of the output's shape.
    """
    plan, wrt, rest, out_shape = _setup(expr, wrt, shapes, max_nodes)
    f = as_jax_function(plan, wrt, rest)
    jax = _jax()

    def jvp(w, r, tangents):
        return jax.jvp(lambda ws: f(ws, r), (w,), (tangents,))[1]

    info: dict = {"product": "jax.jvp"}
    call = _compiled(jvp, plan, wrt, rest, shapes,
                     lambda spec: tuple(spec(shapes[n]) for n in wrt), info)

    def jvp_at(point: Mapping, tangents: Mapping):
        t = tuple(np.asarray(tangents[n], dtype=np.float64) for n in wrt)
        return shaped(np.asarray(call(point, t)), out_shape)

    return Prepared(jvp_at, info)


def prepare_vjp(expr: Expr, wrt: Sequence[str], shapes: Mapping,
                max_nodes: int = MAX_NODES) -> Prepared:
    """v^T J by ``jax.vjp``, compiled.

    Returns:
        a Prepared: (point, cotangent of the output's shape) -> {name: value}.
    """
    plan, wrt, rest, out_shape = _setup(expr, wrt, shapes, max_nodes)
    f = as_jax_function(plan, wrt, rest)
    jax = _jax()

    def vjp(w, r, cotangent):
        _, pullback = jax.vjp(lambda ws: f(ws, r), w)
        return pullback(cotangent)[0]

    info: dict = {"product": "jax.vjp"}
    call = _compiled(vjp, plan, wrt, rest, shapes, lambda spec: spec(out_shape), info)

    def vjp_at(point: Mapping, cotangent) -> dict:
        bars = call(point, np.asarray(cotangent, dtype=np.float64))
        return {n: shaped(np.asarray(g), tuple(shapes[n])) for n, g in zip(wrt, bars,
                                                                          strict=True)}

    return Prepared(vjp_at, info)


def prepare_hvp(expr: Expr, wrt: Sequence[str], shapes: Mapping,
                max_nodes: int = MAX_NODES) -> Prepared:
    """H v of a scalar expression: ``jax.jvp`` of ``jax.grad`` (forward over reverse),
    compiled.

    Returns:
        a Prepared: (point, {name: vector part}) -> {name: (H v) part}.
    """
    plan, wrt, rest, out_shape = _setup(expr, wrt, shapes, max_nodes)
    _scalar_only(out_shape, "Hessian-vector product")
    f = as_jax_function(plan, wrt, rest)
    jax = _jax()

    def hvp(w, r, vector):
        return jax.jvp(jax.grad(lambda ws: f(ws, r)), (w,), (vector,))[1]

    info: dict = {"product": "jax.jvp of jax.grad"}
    call = _compiled(hvp, plan, wrt, rest, shapes,
                     lambda spec: tuple(spec(shapes[n]) for n in wrt), info)

    def hvp_at(point: Mapping, vector: Mapping) -> dict:
        v = tuple(np.asarray(vector[n], dtype=np.float64) for n in wrt)
        return {n: shaped(np.asarray(g), tuple(shapes[n]))
                for n, g in zip(wrt, call(point, v), strict=True)}

    return Prepared(hvp_at, info)
