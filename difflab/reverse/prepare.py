"""Reverse mode's side of the one protocol (``prepare``, ``prepare_jacobian``,
``prepare_hessian``, ``prepare_vjp``, ``prepare_hvp``) and the one-shot ``grad``,
``jacobian``, ``hessian``.

The gradient is one backward sweep of ``program`` (or a level schedule, ``levels``, for wide
all-scalar graphs); a VJP the same sweep seeded with the cotangent; the Jacobian one sweep
carrying every output's cotangent along a leading axis (``batch``); the Hessian and the HVP
forward over reverse: the sweep runs on ``Jet`` numbers carrying every direction at once
(``curvature``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from ..core.expr import Expr
from ..core.levels import scalar_schedule
from ..core.plan import gc_paused
from ..protocol import Prepared, Shape, shaped
from .batch import jacobian_rows, rows_per_sweep
from .curvature import Hessian
from .levels import compile_levels
from .program import Program, compile_program
from .rules import _ONE
from .sweep import _finish, sweep


# ---- the protocol ----------------------------------------------------------------------------
def _check_scalar(program: Program, what: str) -> None:
    shape = program.shapes[program.plan.out]
    if shape != ():
        raise ValueError(f"reverse {what} needs a scalar-valued expression, but the result has "
                         f"shape {shape}; use jacobian for array-valued expressions")


def prepare(expr: Expr, wrt: Sequence[str], shapes: Mapping[str, Shape], **options) -> Prepared:
    """The gradient of a scalar expression: one forward pass and one backward sweep per call.

    Args:
        expr: a scalar-valued expression.
        wrt: the variables to differentiate with respect to.
        shapes: every variable's shape.
    Returns:
        a ``Prepared``: point -> {name: gradient with the variable's shape}.
    """
    _no_options(options)
    levelled = _level_program(expr, wrt, shapes)
    if levelled is not None:  # a big, shallow scalar graph: swept a level at a time
        return Prepared(levelled.gradient, levelled.info())
    program = compile_program(expr, wrt, shapes)
    _check_scalar(program, "gradient")
    record = program.record
    results = [(name, program.plan.var_slots[name], program.shapes[program.plan.var_slots[name]])
               for name in program.wrt]

    def gradient(point: Mapping) -> dict:
        with np.errstate(all="ignore"):
            values = record(point, lean=True)
            bars = sweep(program, values, _ONE, None, True)
            return {name: _finish(bars[slot], shape) for name, slot, shape in results}

    return Prepared(gradient, _info(program))


def _level_program(expr: Expr, wrt: Sequence[str], shapes: Mapping[str, Shape]):
    """The gradient on a level schedule (``reverse_levels``) where one pays: every slot a
    scalar, a graph big and shallow enough. None otherwise (and for a wrt name that is not a
    variable, for ``compile_program`` to report)."""

    levelled = scalar_schedule(expr, wrt, shapes)
    with gc_paused():
        return None if levelled is None else compile_levels(levelled, tuple(wrt))


JACOBIAN_WORK = 2 ** 32    # floats one Jacobian's sweeps may touch: outputs x every slot's size
JACOBIAN_MEMORY = 2 ** 28  # floats of one Jacobian's result: outputs x inputs (2 GiB)


def prepare_jacobian(expr: Expr, wrt: Sequence[str], shapes: Mapping[str, Shape],
                     **options) -> Prepared:
    """The Jacobian: one forward pass, then ONE backward sweep carrying a cotangent per output
    element along a leading axis (``batch``; in chunks past ``batch.COTANGENT_BUDGET``).

    Args:
        expr: any expression.
        wrt: the variables to differentiate with respect to.
        shapes: every variable's shape.
    Returns:
        a Prepared: point -> {name: array of shape output shape + variable shape}.
    """
    _no_options(options)
    program = compile_program(expr, wrt, shapes)
    plan = program.plan
    out_shape = program.shapes[plan.out]
    results = [(name, program.shapes[plan.var_slots[name]]) for name in program.wrt]
    if out_shape == ():  # one output: the gradient's sweep, one cotangent, no batch axis
        gradient = prepare(expr, wrt, shapes)
        return Prepared(lambda point: {name: shaped(g, np.shape(g))
                                       for name, g in gradient(point).items()}, _info(program))
    m = math.prod(out_shape)
    # The budget: m sweeps over every slot's floats, and an m x inputs result
    work = m * sum(math.prod(shape) for shape in program.shapes)
    held = m * sum(math.prod(shape) for _, shape in results)
    if work > JACOBIAN_WORK or held > JACOBIAN_MEMORY:
        raise ValueError(f"reverse jacobian too large: {m:,} output elements, one backward "
                         f"sweep each: {work:.3g} floats of work (budget JACOBIAN_WORK = "
                         f"{JACOBIAN_WORK:.3g}) and {held:.3g} floats of result (budget "
                         f"JACOBIAN_MEMORY = {JACOBIAN_MEMORY:.3g}); raise them in "
                         f"difflab.reverse.prepare, or use forward mode if there are fewer "
                         f"inputs than outputs")

    def jacobian(point: Mapping) -> dict:
        with np.errstate(all="ignore"):
            rows = jacobian_rows(program, program.record(point, lean=True))
        return {name: shaped(row, out_shape + shape)
                for (name, shape), row in zip(results, rows, strict=True)}

    info = _info(program)
    info["rows_per_sweep"] = rows_per_sweep(program, math.prod(out_shape))
    return Prepared(jacobian, info)


def prepare_vjp(expr: Expr, wrt: Sequence[str], shapes: Mapping[str, Shape],
                **options) -> Prepared:
    """The vector-Jacobian product v^T J: one forward pass and one backward sweep seeded
    with the cotangent v (of the output's shape).

    Args:
        expr: any expression.
        wrt: the variables to differentiate with respect to.
        shapes: every variable's shape.
    Returns:
        a Prepared: (point, cotangent) -> {name: value of the variable's shape}.
    """
    _no_options(options)
    program = compile_program(expr, wrt, shapes)
    plan = program.plan
    out_shape = program.shapes[plan.out]
    results = [(name, plan.var_slots[name], program.shapes[plan.var_slots[name]])
               for name in program.wrt]

    def vjp(point: Mapping, cotangent) -> dict:
        seed = np.array(cotangent, dtype=np.float64) if out_shape else np.float64(cotangent)
        with np.errstate(all="ignore"):
            bars = sweep(program, program.record(point, lean=True), seed, None, True)
            return {name: _finish(np.zeros(shape) if bars[slot] is None else bars[slot], shape)
                    for name, slot, shape in results}

    return Prepared(vjp, _info(program))


def prepare_hessian(expr: Expr, wrt: Sequence[str], shapes: Mapping[str, Shape],
                    **options) -> Prepared:
    """The Hessian of a scalar expression, forward over reverse in one sweep.

    The gradient program (forward pass + backward sweep) runs on ``Jet`` numbers carrying all
    n input directions at once (``curvature.Hessian``): the tangents of the gradient entry
    d f / d x_i are row i of the Hessian. Chunks of directions past ``curvature.JET_BUDGET``.

    Args:
        expr: a scalar-valued expression.
        wrt: the variables to differentiate with respect to.
        shapes: every variable's shape.
    Returns:
        a ``Prepared``: point -> {a: {b: array of shape shape(a) + shape(b)}}.
    """
    _no_options(options)
    _check_scalar(compile_program(expr, wrt, shapes), "hessian")
    hess = Hessian(expr, tuple(wrt), shapes)
    blocks = hess.blocks

    if all(not shape for *_, shape in blocks):  # scalar variables: rows of floats
        names = [name for name, *_ in blocks]
        template = dict.fromkeys(names)  # (copying a dict of the right keys, then filling
                                         # it, skips the resizes of building each row anew)

        def scalar_hessian(point: Mapping) -> dict:
            H = {}
            for a, row in zip(names, hess.matrix(point).tolist(), strict=True):
                H[a] = entries = template.copy()
                entries.update(zip(names, row, strict=True))
            return H

        return Prepared(scalar_hessian, {**_info(hess.program), **hess.info()})

    def hessian(point: Mapping) -> dict:
        H = hess.matrix(point)
        return {a: {b: shaped(H[oa:oa + na, ob:ob + nb].reshape(sa + sb), sa + sb)
                    for b, _, ob, nb, sb in blocks} for a, _, oa, na, sa in blocks}

    return Prepared(hessian, {**_info(hess.program), **hess.info()})


def prepare_hvp(expr: Expr, wrt: Sequence[str], shapes: Mapping[str, Shape],
                **options) -> Prepared:
    """The Hessian-vector product H v of a scalar expression: forward over reverse, one sweep
    on Jets with one direction.

    Args:
        expr: a scalar-valued expression.
        wrt: the variables to differentiate with respect to (v has one part per variable).
        shapes: every variable's shape.
    Returns:
        a ``Prepared``: (point, {name: v part}) -> {name: (H v) part, the variable's shape}.
    """
    _no_options(options)
    _check_scalar(compile_program(expr, wrt, shapes), "hvp")
    hess = Hessian(expr, tuple(wrt), shapes)
    blocks = hess.blocks

    def hvp(point: Mapping, vector: Mapping) -> dict:
        V = np.concatenate([np.ravel(vector[name]) for name, *_ in blocks])[:, None]
        Hv = hess.times(point, V)[:, 0]
        return {name: shaped(Hv[off:off + size], shape) for name, _, off, size, shape in blocks}

    info = {**_info(hess.program), **hess.info()}
    info.pop("column_groups", None)  # (the Hessian's; H v sweeps v alone)
    if "sweeps" in info:
        info.update(directions=1, chunk=1, sweeps=1)
    return Prepared(hvp, info)


def _no_options(options: dict) -> None:
    if options:
        raise TypeError(f"reverse mode takes no options; got {', '.join(sorted(options))}")


def _info(program: Program) -> dict:
    return {"method": "reverse", "slots": program.plan.size,
            "needed_slots": sum(program.needed), "backward_steps": len(program.backward),
            "forward_steps": len(program.live_forward)}


# ---- one-shot conveniences, so `from difflab import reverse` works alone ------------------
def _one_shot(kind: str, expr, point: Mapping, wrt) -> dict:
    from .. import api  # validation and the preparation cache live there, for every method

    return getattr(api, kind)(expr, point, method="reverse", wrt=wrt)


def grad(expr: Expr, point: Mapping, wrt: Sequence[str] | None = None) -> dict:
    """The gradient of a scalar expression at ``point`` by reverse mode.

    Args:
        expr: the expression.
        point: every variable -> float or array.
        wrt: variable names (default: all).
    Returns:
        {name: gradient}, each with its variable's shape.
    """
    return _one_shot("grad", expr, point, wrt)


def jacobian(expr: Expr, point: Mapping, wrt: Sequence[str] | None = None) -> dict:
    """The Jacobian at ``point``: {name: array of shape output shape + variable shape}."""
    return _one_shot("jacobian", expr, point, wrt)


def hessian(expr: Expr, point: Mapping, wrt: Sequence[str] | None = None) -> dict:
    """The Hessian of a scalar expression at ``point``: {a: {b: shape(a) + shape(b)}}."""
    return _one_shot("hessian", expr, point, wrt)
