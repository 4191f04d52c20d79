"""Forward mode's side of the one protocol (``prepare``, ``prepare_jacobian``,
``prepare_hessian``) and the one-shot ``grad``, ``jacobian``, ``hessian``.

The gradient and Jacobian are one tangent sweep (``sweep.Sweep``) or, for wide all-scalar
graphs, a level schedule (``levels``). The Hessian is forward over forward: each outer
direction e_j enters as a Dual, the plan's tangent sweep runs on those Duals, and the Dual
part of the gradient is column j.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..core.expr import Expr
from ..core.plan import compile_plan, gc_paused
from ..protocol import Prepared, Shape, shaped
from .derivatives import _perturbation
from .dual import _TAGS, _dual
from .sweep import TANGENT_BUDGET, Sweep
from .values import _ONE


# ---- the protocol -------------------------------------------------------------------------
def _options(options: dict) -> tuple[int | None, dict]:
    """(chunk, the budget options) from forward mode's options."""
    unknown = set(options) - {"chunk", "max_work", "max_memory"}
    if unknown:
        raise TypeError(f"forward mode takes only the options chunk=, max_work=, max_memory=; "
                        f"got {', '.join(sorted(unknown))}")
    budget = {k: options[k] for k in ("max_work", "max_memory") if k in options}
    for k, v in budget.items():
        if isinstance(v, bool) or not isinstance(v, int | float) or not v > 0:
            raise ValueError(f"forward: option {k} must be a positive number of floats, "
                             f"got {v!r}")
    return options.get("chunk"), budget


def _scalar_only(sweep: Sweep, what: str) -> None:
    if sweep.out_shape != ():
        raise ValueError(f"forward {what} needs a scalar-valued expression, but the result "
                         f"has shape {sweep.out_shape}; use jacobian for array-valued ones")


def prepare(expr: Expr, wrt: Sequence[str], shapes: Mapping[str, Shape], **options) -> Prepared:
    """The gradient of a scalar expression: one primal pass and one tangent pass per chunk.

    Args:
        expr: a scalar-valued expression.
        wrt: the variables to differentiate with respect to.
        shapes: every variable's shape.
        options: ``chunk=`` directions per tangent pass (default: all that fit
            ``TANGENT_BUDGET`` floats per slot); ``max_work=``, ``max_memory=`` the budget in
            floats (default ``WORK_BUDGET``, ``MEMORY_BUDGET``: see ``sweep``).
    Returns:
        a ``Prepared``: point -> {name: gradient with the variable's shape}.
    """
    chunk, budget = _options(options)
    levelled = _level_sweep(expr, wrt, shapes) if chunk is None else None
    if levelled is not None:  # a big, shallow scalar graph: pushed a level at a time
        return Prepared(levelled.gradient, levelled.info())  # (within TANGENT_BUDGET)
    sweep = Sweep(expr, wrt, shapes, chunk)
    _scalar_only(sweep, "gradient")
    sweep.check_budget("gradient", **budget)
    if sweep.n == 1 and not sweep.lead and not sweep.blocks[0][4]:
        name = sweep.blocks[0][0]  # one scalar input: values and tangent in one fused pass

        def derivative_at(point: Mapping) -> dict:
            return {name: sweep.derivative(point)}

        return Prepared(derivative_at, sweep.info())

    def gradient_at(point: Mapping) -> dict:
        T = sweep.tangents(point)
        return {name: T[off:off + size].reshape(shape) if shape else float(T[off])
                for name, _, off, size, shape in sweep.blocks}

    return Prepared(gradient_at, sweep.info())


def _level_sweep(expr: Expr, wrt: Sequence[str], shapes: Mapping[str, Shape]):
    """The gradient on a level schedule (``forward_levels``) where one pays: every slot a
    scalar, a graph big and shallow enough, and (directions x slots) tangents within
    ``TANGENT_BUDGET``. None otherwise (and for a wrt name that is not a variable)."""
    from ..core.levels import scalar_schedule
    from .levels import compile_levels  # (it imports this module's rules)

    if len(wrt) * compile_plan(expr).size > TANGENT_BUDGET:
        return None
    levelled = scalar_schedule(expr, wrt, shapes)
    with gc_paused():
        return None if levelled is None else compile_levels(levelled, tuple(wrt))


def prepare_jacobian(expr: Expr, wrt: Sequence[str], shapes: Mapping[str, Shape],
                     **options) -> Prepared:
    """The Jacobian of any expression, all input directions pushed at once (or in chunks).

    Args:
        expr: any expression.
        wrt: the variables to differentiate with respect to.
        shapes: every variable's shape.
        options: ``chunk=``, ``max_work=``, ``max_memory=`` as for ``prepare``.
    Returns:
        a ``Prepared``: point -> {name: array of shape output shape + variable shape}.
    """
    chunk, budget = _options(options)
    sweep = Sweep(expr, wrt, shapes, chunk)
    sweep.check_budget("jacobian", **budget)
    out_shape = sweep.out_shape

    def jacobian_at(point: Mapping) -> dict:
        T = np.moveaxis(sweep.tangents(point), 0, -1)  # output shape + (n,)
        return {name: shaped(T[..., off:off + size].reshape(out_shape + shape),
                             out_shape + shape)
                for name, _, off, size, shape in sweep.blocks}

    return Prepared(jacobian_at, sweep.info())


def prepare_hessian(expr: Expr, wrt: Sequence[str], shapes: Mapping[str, Shape],
                    **options) -> Prepared:
    """The Hessian of a scalar expression, forward over forward.

    For each input direction e_j (outer, a tagged Dual on its variable's value) the plan runs
    on Duals and the tangent sweep (inner, all directions) gives the gradient as Duals whose
    tangent part is d grad / dx_j: column j of the Hessian. n outer passes.

    Args:
        expr: a scalar-valued expression.
        wrt: the variables to differentiate with respect to.
        shapes: every variable's shape.
        options: ``chunk=`` for the inner passes; ``max_work=``, ``max_memory=`` as for
            ``prepare`` (the work counts the n outer passes).
    Returns:
        a ``Prepared``: point -> {a: {b: array of shape shape(a) + shape(b)}}.
    """
    chunk, budget = _options(options)
    sweep = Sweep(expr, wrt, shapes, chunk)
    _scalar_only(sweep, "hessian")
    sweep.check_budget("hessian", outer=sweep.n, result=sweep.n * sweep.n, **budget)

    def hessian_at(point: Mapping) -> dict:
        n = sweep.n
        H = np.zeros((n, n))
        leaves = sweep.leaves(point)
        with np.errstate(all="ignore"):
            for _, slot, off, size, shape in sweep.blocks:
                for j in range(size):  # outer direction e_j of this variable, a fresh tag
                    tag = next(_TAGS)
                    e = np.zeros(size)
                    e[j] = 1.0
                    values = leaves.copy()
                    values[slot] = _dual(leaves[slot], e.reshape(shape) if shape else _ONE, tag)
                    sweep.record(values)
                    for c0, c1, seeds in sweep.chunks():
                        t = sweep.push(values, seeds)
                        if t is not None:  # the gradient's tangent along e_j: column j
                            H[c0:c1, off + j] = _perturbation(t, tag)[1]
        return {a: {b: shaped(H[oa:oa + na, ob:ob + nb].reshape(sa + sb), sa + sb)
                    for b, _, ob, nb, sb in sweep.blocks}
                for a, _, oa, na, sa in sweep.blocks}

    return Prepared(hessian_at, sweep.info())


# ---- one-shot conveniences: `from difflab import forward` works on its own ----------------
def _one_shot(kind: str, expr, point: Mapping, wrt, options: dict) -> dict:
    from .. import api  # validation and the preparation cache live there, for every method

    return getattr(api, kind)(expr, point, method="forward", wrt=wrt, **options)


def grad(expr: Expr, point: Mapping, wrt: Sequence[str] | None = None, **options) -> dict:
    """The gradient of a scalar expression at ``point`` by forward mode.

    Args:
        expr: the expression.
        point: every variable -> float or array.
        wrt: variable names (default: all).
        options: ``chunk=``, ``max_work=``, ``max_memory=``.
    Returns:
        {name: gradient}, each with its variable's shape.
    """
    return _one_shot("grad", expr, point, wrt, options)


def jacobian(expr: Expr, point: Mapping, wrt: Sequence[str] | None = None, **options) -> dict:
    """The Jacobian at ``point``: {name: array of shape output shape + variable shape}."""
    return _one_shot("jacobian", expr, point, wrt, options)


def hessian(expr: Expr, point: Mapping, wrt: Sequence[str] | None = None, **options) -> dict:
    """The Hessian of a scalar expression at ``point``: {a: {b: shape(a) + shape(b)}}."""
    return _one_shot("hessian", expr, point, wrt, options)
