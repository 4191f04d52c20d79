"""The diagonal Newton step J ⊘ (H·1) of a scalar expression, by any method.

k-means' ``dir`` (GradBench's ``kmeans`` eval) is the gradient J of the cost divided
elementwise by its Hessian's diagonal; the cost's Hessian is diagonal, so diag H = H·1, the
Hessian-vector product with a vector of ones (what GradBench's JAX tool computes with
``jvp(grad f, C, ones)``). Each method gets it its own way:

- reverse: forward over reverse in one pass. The backward program runs on forward-mode Duals
  whose tangent is the vector of ones; the sweep's values are J and their tangents H·1.
- jax: ``jax.jvp(jax.grad(f), x, ones)``, jitted and compiled for the shapes.
- any other method: its gradient, and H·1 from its own Hessian-vector product where the API
  has one (``dl.hvp``), else from its own Hessian contracted with the ones (n² entries: the
  method gives up at sizes where that does not fit, with the method's own message).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from .. import api, forward, jax_ref, reverse
from ..core.expr import Expr
from ..core.ops import PRIMAL
from ..core.plan import compile_plan
from ..protocol import Prepared, Shape, shaped
from ..reverse import reads


def prepare_newton(expr: Expr, wrt: Sequence[str], shapes: Mapping[str, Shape],
                   method: str) -> Prepared:
    """J ⊘ (H·1) for a scalar ``expr``, prepared once for ``shapes``.

    Args:
        expr: a scalar-valued expression.
        wrt: the variables of the step.
        shapes: every variable's shape.
        method: any method the API accepts.
    Returns:
        a Prepared: point -> {name: step of the variable's shape}.
    """
    wrt = tuple(wrt)
    api.resolve(method)  # an unknown method is named before any work
    base = method.partition(":")[0]
    if base == "reverse":
        return _forward_over_reverse(expr, wrt, shapes)
    if base == "jax":
        return _jax_newton(expr, wrt, shapes)
    return _generic(expr, wrt, shapes, method)


def _ones(shapes: Mapping[str, Shape], wrt: Sequence[str]) -> list:
    return [np.ones(shapes[n]) if shapes[n] else 1.0 for n in wrt]


def _forward_over_reverse(expr: Expr, wrt: tuple, shapes: Mapping[str, Shape]) -> Prepared:
    program = reverse.compile_program(expr, wrt, shapes)
    if program.shapes[program.plan.out] != ():
        raise ValueError(f"the Newton step needs a scalar-valued expression, but the result "
                         f"has shape {program.shapes[program.plan.out]}")
    # On a Dual, PRIMAL's relu (np.maximum(x, 0)) would take max's tie rule at 0; forward's
    # relu takes relu's own (as JAX), as in reverse mode's Hessian.
    program = replace(program, live_forward=[(forward.relu if fn is PRIMAL["relu"] else fn,
                                              s, i, j) for fn, s, i, j in program.live_forward])
    slots = [program.plan.var_slots[n] for n in wrt]
    ones = _ones(shapes, wrt)
    # Only the slots the sweep reads smoothly (and what they are made of) carry tangents; the
    # others (k-means' distance matrix, read by min's mask only) are computed plainly
    dual = reads.tangent_slots(program)
    # and an array no rule reads by value is freed after its last use (``Program.drops``)
    steps = [(fn, s, i, j, s in dual, drop)
             for (fn, s, i, j), drop in zip(program.live_forward, program.drops, strict=True)]

    def record(point: Mapping) -> list:
        values = program.template.copy()
        for name, slot in program.plan.var_slots.items():
            value = point[name]
            values[slot] = np.float64(value) if type(value) is float else value
        for fn, s, i, j, carried, drop in steps:
            a = values[i] if carried else _value(values[i])
            if j < 0:
                values[s] = fn(a)
            else:
                values[s] = fn(a, values[j] if carried else _value(values[j]))
            for slot, stand_in in drop:
                values[slot] = stand_in
        return values

    def newton(point: Mapping) -> dict:
        def gradient(*x_wrt):
            values = record({**point, **dict(zip(wrt, x_wrt, strict=True))})
            bars = reverse.sweep(program, values, 1.0, None, True)  # (frees as it goes)
            return [0.0 * x if bars[s] is None else bars[s]
                    for x, s in zip(x_wrt, slots, strict=True)]

        with np.errstate(all="ignore"):
            g, hv = forward.jvp(gradient, tuple(point[n] for n in wrt), tuple(ones))
            return {n: shaped(np.asarray(a) / np.asarray(b), shapes[n])
                    for n, a, b in zip(wrt, g, hv, strict=True)}

    return Prepared(newton, {"method": "reverse", "newton": "forward over reverse, one pass",
                             "backward_steps": len(program.backward),
                             "tangent_slots": len(dual)})


def _value(v):
    """A Dual's value (a plain number or array as it is)."""
    return v.value if hasattr(v, "x_dot") else v


def _jax_newton(expr: Expr, wrt: tuple, shapes: Mapping[str, Shape]) -> Prepared:


    jax_ref.warm_up()  # imports JAX with float64 on (and checks it)
    import jax
    import jax.numpy as jnp

    plan = compile_plan(expr)
    jax_ref.check_size(plan)
    rest = tuple(n for n in plan.variables if n not in wrt)
    f = jax_ref.as_jax_function(plan, wrt, rest)
    g = jax.grad(f)
    ones = tuple(jnp.ones(shapes[n]) for n in wrt)

    def step(w, r):
        grads, hv = jax.jvp(lambda ww: g(ww, r), (w,), (ones,))
        return tuple(a / b for a, b in zip(grads, hv, strict=True))

    spec = lambda names: tuple(jax.ShapeDtypeStruct(tuple(shapes[n]), jnp.float64)
                               for n in names)
    start = time.perf_counter()
    compiled = jax.jit(step).lower(spec(wrt), spec(rest)).compile()
    info = {"method": "jax", "newton": "jvp of grad", "compile_seconds":
            time.perf_counter() - start}

    def newton(point: Mapping) -> dict:
        args = lambda names: tuple(np.asarray(point[n], dtype=np.float64) for n in names)
        out = jax.block_until_ready(compiled(args(wrt), args(rest)))
        return {n: shaped(np.asarray(v), shapes[n]) for n, v in zip(wrt, out, strict=True)}

    return Prepared(newton, info)


def _generic(expr: Expr, wrt: tuple, shapes: Mapping[str, Shape], method: str) -> Prepared:
    gradient = api.prepared("grad", expr, wrt, shapes, method)
    ones = dict(zip(wrt, _ones(shapes, wrt), strict=True))
    if hasattr(api, "hvp"):  # the API's Hessian-vector products, where it has them
        hvp = api.prepared("hvp", expr, wrt, shapes, method)
        product = lambda point: hvp(point, ones)
        how = "the method's gradient and Hessian-vector product"
    else:
        hessian = api.prepared("hessian", expr, wrt, shapes, method)

        def product(point: Mapping) -> dict:
            H = hessian(point)
            return {a: sum(np.tensordot(np.asarray(H[a][b], dtype=np.float64), ones[b],
                                        axes=len(shapes[b])) for b in wrt) for a in wrt}
        how = "the method's gradient and Hessian (contracted with ones)"

    def newton(point: Mapping) -> dict:
        g, hv = gradient(point), product(point)
        with np.errstate(all="ignore"):
            return {n: shaped(np.asarray(g[n]) / np.asarray(hv[n]), shapes[n]) for n in wrt}

    return Prepared(newton, {**gradient.info, "newton": how,
                             "hessian_entries": math.prod(sum(math.prod(shapes[n])
                                                              for n in wrt) for _ in (0, 1))})
