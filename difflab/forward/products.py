"""Forward mode's products: J v in one tangent pass, H v forward over forward in one outer pass.

A JVP is what forward mode computes natively: seed each wrt variable's tangent with its part
of v (no direction axis: ``Sweep(chunk=1)``) and push once; the output's tangent is J v. An HVP
is one outer direction of ``prepare_hessian``: the point's wrt values become Duals whose
tangent is v (a fresh tag), the plan's tangent sweep (inner, all directions) gives the
gradient as Duals, and their tangent part is d grad / d t along v = H v.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..core.expr import Expr
from ..protocol import Prepared, Shape, shaped
from .derivatives import _perturbation
from .dual import _TAGS, _dual
from .prepare import _options, _scalar_only
from .sweep import Sweep


def _part(value, shape: Shape):
    """A tangent part as the sweep holds it: np.float64 for a scalar, else a float64 array."""
    return np.float64(value) if not shape else np.asarray(value, dtype=np.float64)


def prepare_jvp(expr: Expr, wrt: Sequence[str], shapes: Mapping[str, Shape],
                **options) -> Prepared:
    """J v: one primal pass and one tangent pass seeded with v.

    Args:
        expr: any expression.
        wrt: the variables the tangent moves.
        shapes: every variable's shape.
        options: none (``chunk=`` is accepted and ignored: one direction needs no chunks).
    Returns:
        a Prepared: (point, {name: tangent}) -> J v of the output's shape.
    """
    _options(options)
    sweep = Sweep(expr, wrt, shapes, chunk=1)  # one direction: tangents without a lead axis
    out_shape = sweep.out_shape

    def jvp_at(point: Mapping, tangents: Mapping):
        seeds = [(slot, _part(tangents[name], shape)) for name, slot, _, _, shape in
                 sweep.blocks]
        with np.errstate(all="ignore"):
            values = sweep.record(sweep.leaves(point))
            t = sweep.push(values, seeds)
        return shaped(np.zeros(out_shape) if t is None else t, out_shape)

    info = sweep.info()
    info.update(directions=1, passes=1)
    return Prepared(jvp_at, info)


def prepare_hvp(expr: Expr, wrt: Sequence[str], shapes: Mapping[str, Shape],
                **options) -> Prepared:
    """H v of a scalar expression, forward over forward: one outer pass along v.

    Args:
        expr: a scalar-valued expression.
        wrt: the variables v moves (and H is taken over).
        shapes: every variable's shape.
        options: ``chunk=`` for the inner passes.
    Returns:
        a Prepared: (point, {name: vector part}) -> {name: (H v) part}.
    """
    chunk, budget = _options(options)
    sweep = Sweep(expr, wrt, shapes, chunk)
    _scalar_only(sweep, "hvp")
    sweep.check_budget("hvp", **budget)

    def hvp_at(point: Mapping, vector: Mapping) -> dict:
        tag = next(_TAGS)  # the outer perturbation, along v
        values = sweep.leaves(point)
        for name, slot, _, _, shape in sweep.blocks:
            values[slot] = _dual(values[slot], _part(vector[name], shape), tag)
        Hv = np.zeros(sweep.n)
        with np.errstate(all="ignore"):
            sweep.record(values)
            for c0, c1, seeds in sweep.chunks():
                t = sweep.push(values, seeds)
                if t is not None:  # the gradient's tangent along v
                    Hv[c0:c1] = _perturbation(t, tag)[1]
        return {name: shaped(Hv[off:off + size], shape)
                for name, _, off, size, shape in sweep.blocks}

    info = sweep.info()
    info["outer_passes"] = 1
    return Prepared(hvp_at, info)
