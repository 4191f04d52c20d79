"""An eval's two functions, prepared with a method for one input shape.

``prepare(ev, function, sizes, method)`` builds the IR (``ev.objective``, cached per sizes) and
the method's preparation, and returns a ``Computation``: ``run(point)`` is what GradBench
times, ``variables`` the names its point needs. The primal is the IR evaluated by the plan
(by a jitted JAX function for the ``jax`` method: JAX's primal is compiled too); the
derivative is the method's prepared gradient, Jacobian or Newton step (``newton.py``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from .. import api, jax_ref
from ..core.evaluate import bind, run_value
from ..core.expr import Expr
from ..core.plan import compile_plan
from ..core.shapes import infer_shapes
from .newton import prepare_newton
from .spec import Derivative, Eval

CACHE_SIZE = 4   # prepared computations kept per tool: an eval sends a primal and a derivative
                 # per input and moves on (a big IR, lstm's, holds hundreds of MB)


@dataclass(frozen=True)
class Computation:
    """One function of an eval at one input shape, ready to run many times."""

    run: Callable[[Mapping], object]
    variables: tuple[str, ...]        # what the point must hold
    zeros: Mapping[str, tuple]        # variables evaluated at 0 (a compressed Jacobian's)
    info: Mapping

    def point(self, full: Mapping) -> dict:
        """This computation's point from the eval's (not timed): its variables only."""
        out = {}
        for name in self.variables:
            if name in self.zeros:
                shape = self.zeros[name]
                out[name] = np.zeros(shape) if shape else 0.0
            else:
                out[name] = full[name]
        return out


class LRU(OrderedDict):
    """A small least-recently-used map; ``fetch`` makes what is missing and says what it
    dropped (``on_evict``)."""

    def fetch(self, key: object, make: Callable, limit: int,
              on_evict: Callable | None = None) -> object:
        """The value at ``key``, made (and older ones dropped beyond ``limit``) if missing."""
        if key in self:
            self.move_to_end(key)
            return self[key]
        value = self[key] = make()
        while len(self) > limit:
            self.popitem(last=False)
            if on_evict is not None:
                on_evict()
        return value


_objectives = LRU()  # (eval, sizes) -> Expr


def objective(ev: Eval, sizes: tuple) -> Expr:
    """The eval's primal IR at ``sizes`` (built once per sizes)."""
    return _objectives.fetch((ev.name, sizes), lambda: ev.objective(*sizes), CACHE_SIZE)


def shapes_of(expr: Expr, point: Mapping) -> dict[str, tuple]:
    """Every variable's shape, read from a point of the eval."""
    return {n: np.shape(point[n]) for n in compile_plan(expr).variables}


def prepare_primal(expr: Expr, shapes: Mapping[str, tuple], method: str) -> Callable:
    """f itself: the plan evaluator, or jitted JAX for the ``jax`` method."""
    if method.partition(":")[0] == "jax":
        return jax_ref.function(expr, shapes)
    plan = compile_plan(expr)
    infer_shapes(plan, shapes)  # shapes that do not fit are named now, not in the timed loop

    def primal(point: Mapping):
        with np.errstate(all="ignore"):
            return run_value(plan, bind(plan, point))

    return primal


def prepare_derivative(d: Derivative, shapes: Mapping[str, tuple], method: str) -> Callable:
    """The method's prepared derivative for ``d``: point -> {name: value}."""
    if d.kind == "newton":
        return prepare_newton(d.expr, d.wrt, shapes, method)
    return api.prepared(d.kind, d.expr, d.wrt, shapes, method)


def prepare(ev: Eval, function: str, sizes: tuple, full_point: Mapping,
            method: str) -> Computation:
    """The eval's ``function`` at ``sizes`` prepared with ``method``.

    Args:
        ev: the eval.
        function: its primal or derivative function's name.
        sizes: the shape key (``ev.sizes(input)``).
        full_point: the eval's point (its shapes are read; the values are not used).
        method: any method the API accepts.
    Returns:
        the ``Computation``.
    Raises:
        KeyError naming the eval's functions for an unknown ``function``.
    """
    if function == ev.primal:
        expr = objective(ev, sizes)
        shapes = shapes_of(expr, full_point)
        fn = prepare_primal(expr, shapes, method)
        return Computation(fn, tuple(shapes), {}, {"what": "primal"})
    if function == ev.derivative_name:
        d = ev.derivative(sizes, method)
        plan = compile_plan(d.expr)
        shapes = {n: tuple(d.zeros[n]) if n in d.zeros else np.shape(full_point[n])
                  for n in plan.variables}
        fn = prepare_derivative(d, shapes, method)
        return Computation(fn, plan.variables, dict(d.zeros),
                           {"what": d.kind, **dict(getattr(fn, "info", {}) or {})})
    raise KeyError(f"module {ev.name!r} has no function {function!r}; its functions: "
                   f"{', '.join(ev.functions)}")
