"""The one-shot public API: ``grad``, ``jacobian``, ``hessian`` by any method.

A method is a name from ``METHODS`` or a variant ``numeric:<scheme>``. Each call validates the
point once (names, values, shapes), then fetches the method's prepared derivative from a small
cache keyed by (what, method, expression, wrt, shapes) — preparing only on a miss — and calls
it. The methods themselves never see unvalidated input.
"""

from __future__ import annotations

import importlib
from collections import OrderedDict
from collections.abc import Mapping, Sequence

from .evaluate import clean_point
from .grammar import parse
from .ir import Expr
from .plan import compile_plan
from .protocol import Prepared
from .shapes import infer_shapes

METHODS: tuple[str, ...] = ("symbolic", "numeric", "forward", "reverse", "jax")
_MODULES = {"symbolic": "difflab.symbolic", "numeric": "difflab.numeric",
            "forward": "difflab.forward", "reverse": "difflab.reverse", "jax": "difflab.jax_ref"}
_PREPARE = {"grad": "prepare", "jacobian": "prepare_jacobian", "hessian": "prepare_hessian"}
CACHE_SIZE = 256


def resolve(method: str) -> tuple[object, dict]:
    """The module and options for a method name (``"reverse"``, ``"numeric:central"``).

    Raises:
        ValueError: unknown method or scheme; the message lists the known ones.
    """
    if not isinstance(method, str):
        raise TypeError(f"method must be a string, one of {', '.join(METHODS)}; got {method!r}")
    base, _, variant = method.partition(":")
    if base not in _MODULES:
        raise ValueError(f"unknown method {method!r}; known methods: {', '.join(METHODS)} "
                         f"(and numeric:<scheme>)")
    module = importlib.import_module(_MODULES[base])
    if not variant:
        return module, {}
    if base != "numeric":
        raise ValueError(f"method {base!r} has no variants; got {method!r}")
    if variant not in module.SCHEMES:
        raise ValueError(f"unknown numeric scheme {variant!r}; known schemes: "
                         f"{', '.join(module.SCHEMES)}")
    return module, {"scheme": variant}


def _as_expr(expr) -> Expr:
    if isinstance(expr, str):
        return parse(expr)
    if not isinstance(expr, Expr):
        raise TypeError(f"expected an expression (or grammar text), got {type(expr).__name__}")
    return expr


def _wrt(expr: Expr, wrt) -> tuple[str, ...]:
    names = expr.variables
    if wrt is None:
        return names
    if isinstance(wrt, str):
        wrt = wrt.replace(",", " ").split()
    wrt = tuple(wrt)
    if not wrt:
        raise ValueError("wrt is empty: name at least one variable to differentiate with "
                         f"respect to (the expression has {', '.join(names) or 'none'})")
    for name in wrt:
        if not isinstance(name, str):
            raise TypeError(f"wrt must hold variable names, got {name!r}")
        if name not in names:
            raise ValueError(f"cannot differentiate with respect to {name!r}: the expression's "
                             f"variables are {', '.join(names) or 'none'}")
    if len(set(wrt)) != len(wrt):
        raise ValueError(f"wrt names a variable twice: {wrt}")
    return wrt


class _Cache(OrderedDict):
    """A small least-recently-used map from a preparation key to a Prepared."""

    def fetch(self, key, make):
        if key in self:
            self.move_to_end(key)
            return self[key]
        value = self[key] = make()
        if len(self) > CACHE_SIZE:
            self.popitem(last=False)
        return value


_cache = _Cache()


def prepared(kind: str, expr, wrt=None, shapes: Mapping | None = None,
             method: str = "reverse", **options) -> Prepared:
    """The prepared derivative (``kind`` = grad, jacobian or hessian) for given shapes.

    Args:
        kind: "grad", "jacobian" or "hessian".
        expr: the expression (or its text).
        wrt: names to differentiate with respect to (default: all variables).
        shapes: every variable's shape (default: all scalars).
        method: a name from ``METHODS`` or ``numeric:<scheme>``.
        options: passed to the method (e.g. ``step=`` for numeric).
    Returns:
        a ``Prepared``: call it with points of those shapes, many times.
    """
    expr = _as_expr(expr)
    wrt = _wrt(expr, wrt)
    shapes = {n: tuple((shapes or {}).get(n, ())) for n in expr.variables}
    module, method_options = resolve(method)
    options = {**method_options, **options}
    key = (kind, method, tuple(sorted(options.items())), expr, wrt, tuple(shapes.items()))

    def make() -> Prepared:
        plan = compile_plan(expr)
        out_shape = infer_shapes(plan, shapes)[plan.out]
        if kind in ("grad", "hessian") and out_shape != ():
            raise ValueError(f"{kind} needs a scalar-valued expression, but the result has "
                             f"shape {out_shape}; use jacobian for array-valued expressions")
        return getattr(module, _PREPARE[kind])(expr, wrt, shapes, **options)

    return _cache.fetch(key, make)


def _call(kind: str, expr, point: Mapping, method: str, wrt, options: dict):
    expr = _as_expr(expr)
    point = clean_point(compile_plan(expr), point)
    shapes = {name: getattr(value, "shape", ()) for name, value in point.items()}
    return prepared(kind, expr, wrt, shapes, method, **options)(point)


def grad(expr, point: Mapping, method: str = "reverse", wrt: Sequence[str] | None = None,
         **options) -> dict:
    """The gradient of a scalar-valued expression at a point.

    Args:
        expr: the expression (or grammar text).
        point: every variable -> float or array.
        method: one of ``METHODS`` (or ``numeric:<scheme>``); default reverse mode.
        wrt: the variables to differentiate with respect to (default: all).
        options: method options (``step=`` for numeric).
    Returns:
        {name: derivative} in ``wrt`` order, each with its variable's shape.
    Raises:
        ValueError: the expression is not scalar-valued (the message gives its shape), an
            unknown method, a shape mismatch; PointError/TypeError for a bad point.
    """
    return _call("grad", expr, point, method, wrt, options)


def jacobian(expr, point: Mapping, method: str = "reverse", wrt: Sequence[str] | None = None,
             **options) -> dict:
    """The Jacobian of any expression: {name: array of shape output shape + variable shape}."""
    return _call("jacobian", expr, point, method, wrt, options)


def hessian(expr, point: Mapping, method: str = "reverse", wrt: Sequence[str] | None = None,
            **options) -> dict:
    """The Hessian of a scalar expression: {a: {b: array of shape shape(a) + shape(b)}}."""
    return _call("hessian", expr, point, method, wrt, options)


def clear_cache() -> None:
    """Forget every prepared derivative (so the next call measures preparation afresh)."""
    _cache.clear()
