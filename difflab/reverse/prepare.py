"""Reverse mode's side of the one protocol (``prepare``, ``prepare_jacobian``,
``prepare_hessian``) and the one-shot ``grad``, ``jacobian``, ``hessian``.

The gradient is one backward sweep of ``program`` (or a level schedule, ``levels``, for wide
all-scalar graphs); the Jacobian one sweep per output component; the Hessian forward over
reverse: the sweep runs on forward-mode Duals.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from ..core.expr import Expr
from ..core.levels import scalar_schedule
from ..core.ops import PRIMAL
from ..core.plan import gc_paused
from ..protocol import Prepared, Shape, shaped
from .levels import compile_levels
from .program import Program, _finish, compile_program, sweep
from .rules import _ONE


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
            values = record(point, live_only=True)
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
    """The Jacobian: one forward pass, then one backward sweep per output element.

    Args:
        expr: any expression.
        wrt: the variables to differentiate with respect to.
        shapes: every variable's shape.
    Returns:
        a ``Prepared``: point -> {name: array of shape output shape + variable shape}.
    """
    _no_options(options)
    program = compile_program(expr, wrt, shapes)
    plan = program.plan
    out_shape = program.shapes[plan.out]
    m = math.prod(out_shape)
    results = [(name, plan.var_slots[name], program.shapes[plan.var_slots[name]])
               for name in program.wrt]
    # The budget: m sweeps over every slot's floats, and an m x inputs result
    work = m * sum(math.prod(shape) for shape in program.shapes)
    held = m * sum(math.prod(shape) for _, _, shape in results)
    if work > JACOBIAN_WORK or held > JACOBIAN_MEMORY:
        raise ValueError(f"reverse jacobian too large: {m:,} output elements, one backward "
                         f"sweep each: {work:.3g} floats of work (budget JACOBIAN_WORK = "
                         f"{JACOBIAN_WORK:.3g}) and {held:.3g} floats of result (budget "
                         f"JACOBIAN_MEMORY = {JACOBIAN_MEMORY:.3g}); raise them in "
                         f"difflab.reverse.prepare, or use forward mode if there are fewer "
                         f"inputs than outputs")

    def jacobian(point: Mapping) -> dict:
        jac = {name: np.zeros((m, *shape)) for name, _, shape in results}
        with np.errstate(all="ignore"):
            values = program.record(point, live_only=True)
            for k in range(m):
                seed = _ONE
                if out_shape:  # the k-th output element's direction: e_k
                    seed = np.zeros(out_shape)
                    seed.flat[k] = 1.0
                bars = sweep(program, values, seed)
                for name, slot, _ in results:
                    jac[name][k] = bars[slot]
        return {name: shaped(jac[name], out_shape + shape) for name, _, shape in results}

    return Prepared(jacobian, _info(program))


def prepare_hessian(expr: Expr, wrt: Sequence[str], shapes: Mapping[str, Shape],
                    **options) -> Prepared:
    """The Hessian of a scalar expression, forward over reverse.

    The gradient program (forward pass + backward sweep) runs on ``forward.Dual`` numbers: for
    each scalar input x_j of a wrt variable, ``forward.jvp`` perturbs x_j, and the tangent of
    every gradient entry d f / d x_i is d^2 f / (d x_i d x_j): column j of the Hessian. The
    vjp rules are written with NumPy functions and operators, so they run on Duals unchanged.
    One pass per scalar input (n passes, each a few times the cost of f).

    Args:
        expr: a scalar-valued expression.
        wrt: the variables to differentiate with respect to.
        shapes: every variable's shape.
    Returns:
        a ``Prepared``: point -> {a: {b: array of shape shape(a) + shape(b)}}.
    """
    from .. import forward  # the Dual numbers (imported here: reverse mode alone needs none)

    _no_options(options)
    program = compile_program(expr, wrt, shapes)
    _check_scalar(program, "hessian")
    # On a Dual, PRIMAL's relu (np.maximum(x, 0)) would take max's tie rule, 1/2 at x = 0;
    # forward.relu takes relu's own rule, 0 (as JAX), so the Hessian's column is right there.
    program = replace(program, live_forward=[(forward.relu if fn is PRIMAL["relu"] else fn,
                                              s, i, j) for fn, s, i, j in program.live_forward])
    plan = program.plan
    blocks = [(name, plan.var_slots[name], program.shapes[plan.var_slots[name]])
              for name in program.wrt]

    def hessian(point: Mapping) -> dict:
        H = {a: {b: np.zeros((math.prod(sa), math.prod(sb))) for b, _, sb in blocks}
             for a, _, sa in blocks}
        for b, _, sb in blocks:
            def gradient_of_b(x_b, b=b):
                values = program.record({**point, b: x_b}, live_only=True)
                bars = sweep(program, values, _ONE)
                return [bars[slot] for _, slot, _ in blocks]

            for j in range(math.prod(sb)):
                e_j = np.zeros(sb)
                e_j.flat[j] = 1.0
                with np.errstate(all="ignore"):
                    _, columns = forward.jvp(gradient_of_b, point[b], e_j if sb else _ONE)
                for (a, _, _), column in zip(blocks, columns, strict=True):
                    H[a][b][:, j] = np.ravel(column)
        return {a: {b: shaped(H[a][b], sa + sb) for b, _, sb in blocks} for a, _, sa in blocks}

    info = _info(program)
    info["passes"] = "one forward + backward pass on Duals per scalar input"
    return Prepared(hessian, info)


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
