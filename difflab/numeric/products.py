"""Finite differences' products: J v by differences of f along v, H v by differences of
gradients along v.

A directional derivative needs no loop over inputs: g(t) = f(x + t v) is a function of one
scalar, and g'(0) = J v. So a JVP costs what ONE partial derivative costs (2 evaluations of f
for central, 4 for central4, one complex one for the complex step), whatever the number of
inputs. The step in t is the scheme's rule scaled to the point and the direction,
h = c * max(1, |x|_inf) / |v|_inf (a power of two), so that t v moves x by the step the scheme
wants. An HVP is the directional derivative of the gradient: (grad f(x + h v) - grad f(x - h v))
/ 2h with this method's own gradient (any scheme), h = ``HVP_STEP_FACTOR`` * max(1, |x|_inf) /
|v|_inf: the gradient's own error (~1e-13 relative for central4) over h, against h^2.

A VJP has no such shortcut (v^T J is a combination of J's rows, and f's values give columns):
it is the generic product of the numeric Jacobian (``protocol.vjp_from_jacobian``). Schemes
this module does not difference along a direction, and options it does not know, take the
generic J v as well.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from ..core.evaluate import bind, run_value
from ..core.expr import Expr
from ..protocol import Prepared, jvp_from_jacobian, shaped
from .adaptive import adaptive_difference
from .complex_step import run_complex
from .prepare import _checked, _resolve, prepare, prepare_jacobian
from .schemes import (
    COMPLEX_STEP,
    DEFAULT_SCHEME,
    RICHARDSON_LEVELS,
    STEP_FACTOR,
    check_levels,
    check_step,
    difference,
)

# The schemes differenced along a direction here; the options they take.
DIRECTIONAL = ("forward", "backward", "central", "central4", "richardson", "complex",
               "adaptive")
OPTIONS = frozenset(("scheme", "step", "fallback", "levels"))
# Central differences of gradients: the gradient's error e (~1e-13) / h against h^2 balance at
# h ~ e^(1/3) ~ 5e-5, rounded to a power of two.
HVP_STEP_FACTOR = 2.0 ** -14
ADAPTIVE_EVALUATIONS = 1 + 84  # f(x), then at most the adaptive tableau's (one direction)


def _sizes(point: Mapping, wrt: Sequence[str], direction: Mapping) -> tuple[float, float]:
    """(max(1, |x|_inf), |v|_inf) over the wrt components."""
    x_norm = max([1.0] + [float(np.max(np.abs(point[n]), initial=0.0)) for n in wrt])
    v_norm = max([0.0] + [float(np.max(np.abs(direction[n]), initial=0.0)) for n in wrt])
    return x_norm, v_norm


def _step(factor: float, x_norm: float, v_norm: float) -> float:
    return 2.0 ** round(math.log2(factor * x_norm / v_norm))


def prepare_jvp(expr: Expr, wrt: Sequence[str], shapes: Mapping, **options) -> Prepared:
    """J v by one directional difference of f (the scheme's formula in t along v).

    Args:
        expr, wrt, shapes: as ``prepare``; the expression may have any shape.
        options: ``scheme`` (default ``DEFAULT_SCHEME``), ``step`` (an absolute step in t),
            ``fallback``, ``levels`` as for ``prepare``.
    Returns:
        a Prepared: (point, {name: tangent}) -> J v of the output's shape; its info holds the
        scheme and the evaluations per call.
    """
    scheme = options.get("scheme", DEFAULT_SCHEME)
    if set(options) - OPTIONS or scheme not in DIRECTIONAL:  # J v from the Jacobian
        jacobian = prepare_jacobian(expr, wrt, shapes, **options)
        plan, wrt, out_shape = _checked(expr, wrt, shapes)
        return jvp_from_jacobian(jacobian, {n: tuple(shapes[n]) for n in wrt}, out_shape)
    plan, wrt, out_shape = _checked(expr, wrt, shapes)
    step, levels = check_step(options.get("step")), check_levels(
        options.get("levels", RICHARDSON_LEVELS))
    used, note = _resolve(plan, wrt, scheme, options.get("fallback"))
    per = {"forward": 2, "backward": 2, "central": 2, "central4": 4, "complex": 1,
           "richardson": 2 * levels, "adaptive": ADAPTIVE_EVALUATIONS}[used]
    info = {"method": "numeric", "scheme": used, "product": "directional difference of f",
            "evaluations": per, **note}
    slots = [plan.var_slots[name] for name in wrt]

    def jvp(point: Mapping, tangents: Mapping):
        x_norm, v_norm = _sizes(point, wrt, tangents)
        if v_norm == 0.0:
            return shaped(np.zeros(out_shape), out_shape)
        values = bind(plan, point)
        x0 = [point[name] for name in wrt]
        v = [np.asarray(tangents[name], dtype=np.float64) for name in wrt]

        def g(t):  # f(x + t v): the complex step passes a complex t
            for slot, x, d in zip(slots, x0, v, strict=True):
                values[slot] = x + t * d
            if isinstance(t, complex):
                return np.array(run_complex(plan, values)[plan.out])
            return np.array(run_value(plan, values))

        if used == "adaptive":  # many steps in t, Richardson's tableau, the best estimate
            widest = step if step is not None else 2.0 * x_norm / v_norm
            value, _, _ = adaptive_difference(g, 0.0, g(0.0), step=widest)
            return shaped(np.real(value), out_shape)
        if used == "complex":
            h = COMPLEX_STEP if step is None else step
        else:
            h = step if step is not None else _step(STEP_FACTOR[used], x_norm, v_norm)
        f0 = g(0.0) if used in ("forward", "backward") else None
        value, _ = difference(g, 0.0, h, used, f0, levels)
        return shaped(np.real(value), out_shape)

    return Prepared(jvp, info)


def prepare_hvp(expr: Expr, wrt: Sequence[str], shapes: Mapping, **options) -> Prepared:
    """H v by central differences of this method's gradient along v (two gradients).

    Args:
        expr, wrt, shapes: as ``prepare`` (a scalar expression).
        options: passed to the gradient (``scheme``, ``step``, ...).
    Returns:
        a Prepared: (point, {name: vector part}) -> {name: (H v) part}.
    """
    gradient = prepare(expr, wrt, shapes, **options)
    wrt = tuple(wrt)
    info = {**gradient.info, "product": "central difference of gradients along v",
            "step_factor": HVP_STEP_FACTOR}
    if "evaluations" in info:
        info["evaluations"] = 2 * info["evaluations"]

    def hvp(point: Mapping, vector: Mapping) -> dict:
        x_norm, v_norm = _sizes(point, wrt, vector)
        if v_norm == 0.0:
            return {name: shaped(np.zeros(np.shape(point[name])), np.shape(point[name]))
                    for name in wrt}
        h = _step(HVP_STEP_FACTOR, x_norm, v_norm)
        moved = lambda s: {**point, **{n: point[n] + s * h * np.asarray(vector[n])
                                       for n in wrt}}
        plus, minus = gradient(moved(1.0)), gradient(moved(-1.0))
        with np.errstate(all="ignore"):
            return {n: shaped((np.asarray(plus[n]) - np.asarray(minus[n])) / (2.0 * h),
                              np.shape(point[n])) for n in wrt}

    return Prepared(hvp, info)
