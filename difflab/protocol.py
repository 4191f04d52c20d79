"""The one protocol every differentiation method implements.

A method module (``symbolic``, ``numeric``, ``forward``, ``reverse``, ``jax_ref``) provides

    prepare(expr, wrt, shapes, **options) -> Prepared            # gradient of a scalar expr
    prepare_jacobian(expr, wrt, shapes, **options) -> Prepared   # any expr
    prepare_hessian(expr, wrt, shapes, **options) -> Prepared    # scalar expr

``wrt`` is a tuple of variable names, ``shapes`` maps *every* variable of ``expr`` to its shape
(a tuple; ``()`` for a scalar). Preparing is the expensive, once-per-shape step (SymPy diff +
lambdify, JAX tracing + compiling, compiling the plan); calling the ``Prepared`` is the cheap
step that runs at many points. A ``Prepared`` is called with a validated point (every variable
of ``expr`` mapped to a float or a float64 array of the declared shape) and returns

    gradient: {name: value}            value has the variable's shape (a float for a scalar)
    jacobian: {name: array}            shape = output shape + variable's shape
    hessian:  {name: {name2: array}}   shape = shape(name) + shape(name2)

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

    fn: Callable[[Point], dict]
    info: dict = field(default_factory=dict)

    def __call__(self, point: Point) -> dict:
        return self.fn(point)


def shaped(value, shape: Shape):
    """``value`` as a float for ``shape == ()``, else a float64 array of ``shape``."""
    if shape == ():
        return float(np.real_if_close(np.asarray(value)).reshape(()))
    return np.asarray(value, dtype=np.float64).reshape(shape)
