"""The one protocol every differentiation method implements.

A method module (``symbolic``, ``numeric``, ``forward``, ``reverse``, ``jax_ref``) provides

    prepare(expr, wrt, shapes, **options) -> Prepared            # gradient of a scalar expr
    prepare_jacobian(expr, wrt, shapes, **options) -> Prepared   # any expr
    prepare_hessian(expr, wrt, shapes, **options) -> Prepared    # scalar expr
    prepare_jvp(expr, wrt, shapes, **options) -> Prepared        # J v (optional)
    prepare_vjp(expr, wrt, shapes, **options) -> Prepared        # v^T J (optional)
    prepare_hvp(expr, wrt, shapes, **options) -> Prepared        # H v, scalar expr (optional)

``wrt`` is a tuple of variable names, ``shapes`` maps *every* variable of ``expr`` to its shape
(a tuple; ``()`` for a scalar). Preparing is the expensive, once-per-shape step (SymPy diff +
lambdify, JAX tracing + compiling, compiling the plan); calling the ``Prepared`` is the cheap
step that runs at many points. A ``Prepared`` is called with a validated point (every variable
of ``expr`` mapped to a float or a float64 array of the declared shape) and returns

    gradient: {name: value}            value has the variable's shape (a float for a scalar)
    jacobian: {name: array}            shape = output shape + variable's shape
    hessian:  {name: {name2: array}}   shape = shape(name) + shape(name2)

The three products take a second, validated argument, ``prepared(point, direction)``:

    jvp: direction {name: tangent of the variable's shape} for every wrt name
         -> J v, the output's shape (a float for a scalar output)
    vjp: direction the cotangent, of the output's shape -> {name: value}, each of its shape
    hvp: direction {name: vector part} for every wrt name -> {name: (H v) part}

A method without one of them gets a generic one built from its own Jacobian or Hessian
(``jvp_from_jacobian``, ``vjp_from_jacobian``, ``hvp_from_hessian``): correct, not fast.

``Prepared.info`` carries what a method wants to report (expression sizes, evaluation counts,
compile time). Validation of points, shapes and names happens once, in ``difflab.api``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

Shape = tuple[int, ...]
Point = Mapping[str, object]


@dataclass
class Prepared:
    """A derivative ready to evaluate: ``prepared(point)``; ``info`` describes the preparation."""

    fn: Callable[..., object]
    info: dict = field(default_factory=dict)

    def __call__(self, point: Point, *direction):
        return self.fn(point, *direction)


def shaped(value, shape: Shape):
    """``value`` as a float for ``shape == ()``, else a float64 array of ``shape``."""
    if shape == ():
        return float(np.real_if_close(np.asarray(value)).reshape(()))
    return np.asarray(value, dtype=np.float64).reshape(shape)


# ---- generic products, for a method that has no prepare_jvp / prepare_vjp / prepare_hvp ------
def jvp_from_jacobian(jacobian: Prepared, shapes: Mapping[str, Shape], out_shape: Shape) \
        -> Prepared:
    """J v from a prepared Jacobian: sum over wrt names of J[name] contracted with v[name].

    Args:
        jacobian: the method's prepared Jacobian ({name: out_shape + shape(name)}).
        shapes: the wrt variables' shapes; out_shape: the output's shape.
    Returns:
        a Prepared: (point, {name: tangent}) -> J v of the output's shape.
    """
    def jvp(point: Point, tangents: Mapping) -> object:
        J = jacobian(point)
        total = np.zeros(out_shape)
        for name, shape in shapes.items():
            total = total + np.tensordot(np.asarray(J[name], dtype=np.float64),
                                         np.asarray(tangents[name], dtype=np.float64),
                                         axes=len(shape))
        return shaped(total, out_shape)

    return Prepared(jvp, {**jacobian.info, "product": "J v from the Jacobian"})


def vjp_from_jacobian(jacobian: Prepared, shapes: Mapping[str, Shape], out_shape: Shape) \
        -> Prepared:
    """v^T J from a prepared Jacobian: the cotangent contracted with each J[name].

    Returns:
        a Prepared: (point, cotangent) -> {name: value of the variable's shape}.
    """
    def vjp(point: Point, cotangent) -> dict:
        J = jacobian(point)
        v = np.asarray(cotangent, dtype=np.float64)
        return {name: shaped(np.tensordot(v, np.asarray(J[name], dtype=np.float64),
                                          axes=len(out_shape)), shape)
                for name, shape in shapes.items()}

    return Prepared(vjp, {**jacobian.info, "product": "v^T J from the Jacobian"})


def hvp_from_hessian(hessian: Prepared, shapes: Mapping[str, Shape]) -> Prepared:
    """H v from a prepared Hessian: (H v)[a] = sum over b of H[a][b] contracted with v[b].

    Returns:
        a Prepared: (point, {name: vector part}) -> {name: (H v) part}.
    """
    def hvp(point: Point, vector: Mapping) -> dict:
        H = hessian(point)
        out = {}
        for a, shape_a in shapes.items():
            total = np.zeros(shape_a)
            for b, shape_b in shapes.items():
                total = total + np.tensordot(np.asarray(H[a][b], dtype=np.float64),
                                             np.asarray(vector[b], dtype=np.float64),
                                             axes=len(shape_b))
            out[a] = shaped(total, shape_a)
        return out

    return Prepared(hvp, {**hessian.info, "product": "H v from the Hessian"})
