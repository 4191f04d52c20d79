"""The one-shot public API: ``grad``, ``jacobian``, ``hessian``, ``jvp``, ``vjp``, ``hvp`` by any
method.

A method is a name from ``METHODS``, a variant ``numeric:<scheme>``, or a method registered
with ``register_method`` (``difflab.method_table`` holds the table). Each call validates the
point once (names, values, shapes), then fetches the method's prepared derivative from a small
cache keyed by (what, method, the expression's fingerprint ``Expr.key``, wrt, shapes) —
preparing only on a miss — and calls it. The methods themselves never see unvalidated input:
the tangents, cotangent and vector of the products are checked here too (names, shapes).
A method without its own ``prepare_jvp``/``prepare_vjp``/``prepare_hvp`` gets the generic
product built from its Jacobian or Hessian (``protocol``), so every method has all three.
"""

from __future__ import annotations

import inspect
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from numbers import Integral

import numpy as np

from .core.evaluate import PointError, _as_value, clean_point
from .core.expr import Expr
from .core.parser import parse
from .core.plan import compile_plan
from .core.shapes import infer_shapes
from .method_table import _MODULES as _MODULES  # (re-exported: dl.METHODS, api.resolve)
from .method_table import METHODS as METHODS
from .method_table import resolve
from .protocol import Prepared, hvp_from_hessian, jvp_from_jacobian, vjp_from_jacobian
from .tracer import traced

_PREPARE = {"grad": "prepare", "jacobian": "prepare_jacobian", "hessian": "prepare_hessian",
            "jvp": "prepare_jvp", "vjp": "prepare_vjp", "hvp": "prepare_hvp"}
# kind -> (what the generic product is built from, how) for a method without its own
_FALLBACK = {"jvp": ("jacobian", jvp_from_jacobian), "vjp": ("jacobian", vjp_from_jacobian),
             "hvp": ("hessian", hvp_from_hessian)}
_SCALAR_ONLY = ("grad", "hessian", "hvp")
CACHE_SIZE = 256


def _as_expr(expr, point: Mapping | None = None, shapes: Mapping | None = None) -> Expr:
    if isinstance(expr, str):
        return parse(expr)
    if not isinstance(expr, Expr):
        if callable(expr):  # a Python function: traced at the point's (or given) shapes, cached
            return traced(expr, point=point, shapes=shapes)
        raise TypeError(f"expected an expression, grammar text or a Python function, got "
                        f"{type(expr).__name__}")
    return expr


def _wrt(names: tuple[str, ...], wrt) -> tuple[str, ...]:
    if wrt is None:
        return names
    if isinstance(wrt, str):
        wrt = wrt.replace(",", " ").split()
    try:
        wrt = tuple(wrt)
    except TypeError:
        raise TypeError(f"wrt must be a variable name or a list of names, got {wrt!r}") from None
    if not wrt:
        raise ValueError("wrt is empty: name at least one variable to differentiate with "
                         f"respect to (the expression has {', '.join(names) or 'none'})")
    known = set(names)  # (a set: checking 100,000 names stays linear)
    for name in wrt:
        if not isinstance(name, str):
            raise TypeError(f"wrt must hold variable names, got {name!r}")
        if name not in known:  # a KeyError and a ValueError, like a missing point entry
            raise PointError(f"cannot differentiate with respect to {name!r}: the expression's "
                             f"variables are {', '.join(names) or 'none'}")
    if len(set(wrt)) != len(wrt):
        raise ValueError(f"wrt names a variable twice: {wrt}")
    return wrt


def _shapes(names: tuple[str, ...], shapes) -> dict[str, tuple[int, ...]]:
    """Every variable's shape as a tuple of non-negative ints (default ()); bad ones named."""
    if shapes is None:
        shapes = {}
    if not isinstance(shapes, Mapping):
        raise TypeError(f"shapes must map variable names to shapes, got {type(shapes).__name__}")
    out = {}
    for name in names:
        shape = shapes.get(name, ())
        if shape == () and shape.__class__ is tuple:  # a scalar (the common case): valid
            out[name] = ()
            continue
        try:
            shape = tuple(shape)
        except TypeError:
            raise TypeError(f"shape of {name!r} must be a tuple of ints, got {shape!r}") from None
        if not all(isinstance(n, Integral) and not isinstance(n, bool) and n >= 0
                   for n in shape):
            raise ValueError(f"shape of {name!r} must be a tuple of non-negative ints, "
                             f"got {shape!r}")
        out[name] = tuple(int(n) for n in shape)
    return out


def _check_options(method: str, fn, options: Mapping) -> None:
    """A TypeError naming the method and the option it does not take (where ``fn`` lists its
    options; a method taking ``**options`` checks them itself)."""
    params = inspect.signature(fn).parameters
    if not options or any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return
    known = [n for n, p in params.items() if n not in ("expr", "wrt", "shapes")
             and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]
    for name in options:
        if name not in known:
            raise TypeError(f"method {method!r} has no option {name!r}; its options: "
                            f"{', '.join(known) or 'none'}")


class _Checked:
    """A method's prepared function behind a check of the point against the declared shapes:
    the names, and each value's shape (values converted as ``clean_point`` does). A dict walk
    over the variables per call, no graph walk; ``unchecked`` is the method's own function
    (for ``grad``/``jacobian``/``hessian``, whose points are already cleaned)."""

    __slots__ = ("unchecked", "shapes", "what")

    def __init__(self, unchecked, shapes: dict[str, tuple[int, ...]], what: str):
        self.unchecked, self.shapes, self.what = unchecked, shapes, what

    def __call__(self, point: Mapping, *direction) -> dict:
        # (a product's prepared function also takes its direction: a tangent or cotangent)
        if point.__class__ is not dict and not isinstance(point, Mapping):
            raise TypeError(f"{self.what}: a point must map variable names to values, got "
                            f"{type(point).__name__}")
        clean = None
        for name, shape in self.shapes.items():
            try:
                value = point[name]
            except KeyError:
                raise PointError(f"{self.what}: missing variable {name!r}; it was prepared for "
                                 f"{', '.join(self.shapes) or 'no variables'}") from None
            cls = value.__class__
            if (cls is float and not shape) or (cls is np.ndarray and value.shape == shape
                                                and value.dtype == np.float64):
                continue  # already clean (the common case: nothing converted)
            value = _as_value(name, value)
            given = getattr(value, "shape", ())
            if given != shape:
                raise ValueError(f"{self.what}: variable {name!r} has shape {given}, but this "
                                 f"was prepared for shape {shape}; prepare again with "
                                 f"shapes={{{name!r}: {given}}} for that shape")
            if clean is None:
                clean = dict(point)
            clean[name] = value
        if len(point) != len(self.shapes):
            extra = [k for k in point if k not in self.shapes]
            raise PointError(f"{self.what}: unexpected variable {extra[0]!r} in the point; it "
                             f"was prepared for {', '.join(self.shapes) or 'no variables'}")
        return self.unchecked(point if clean is None else clean, *direction)


class _Cache(OrderedDict):
    """A small least-recently-used map from a preparation key to a Prepared."""

    def fetch(self, key, make):
        try:
            hash(key)
        except TypeError:  # an unhashable option value: prepare afresh (the method checks it)
            return make()
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
    """The prepared derivative (``kind`` = grad, jacobian, hessian, jvp, vjp or hvp) for given
    shapes.

    Args:
        kind: "grad", "jacobian", "hessian" or a product: "jvp", "vjp", "hvp" (called with
            (point, direction), see ``protocol``).
        expr: the expression, its text, or a Python function (traced at ``shapes``).
        wrt: names to differentiate with respect to (default: all variables).
        shapes: every variable's shape (default: all scalars).
        method: a name from ``METHODS`` or ``numeric:<scheme>``.
        options: passed to the method (e.g. ``step=`` for numeric).
    Returns:
        a ``Prepared``: call it with points of those shapes, many times. Each call checks the
        point's names and shapes (a ValueError naming the variable, the prepared and the given
        shape) and converts its values as ``grad`` does.
    """
    if kind not in _PREPARE:
        raise ValueError(f"unknown kind {kind!r}; one of {', '.join(_PREPARE)}")
    expr = _as_expr(expr, shapes=shapes)
    plan = compile_plan(expr)  # (found by the expression's fingerprint for a rebuilt graph)
    names = plan.variables
    wrt = _wrt(names, wrt)
    shapes = _shapes(names, shapes)
    module, method_options = resolve(method)
    options = {**method_options, **options}
    # The expression enters the key by its structural fingerprint: a freshly built, equal
    # graph finds its prepared derivative without a node of it being visited.
    # (The module is in the key too: a method registered again under its name is a new one.)
    key = (kind, method, module, tuple(sorted(options.items())), expr.key, wrt,
           tuple(shapes.items()))

    def make() -> Prepared:
        out_shape = infer_shapes(plan, shapes)[plan.out]
        if kind in _SCALAR_ONLY and out_shape != ():
            raise ValueError(f"{kind} needs a scalar-valued expression, but the result has "
                             f"shape {out_shape}; use jacobian for array-valued expressions")
        prepare = getattr(module, _PREPARE[kind], None)
        if prepare is None:  # the method's own Jacobian or Hessian, contracted
            base, build = _FALLBACK[kind]
            whole = prepared(base, expr, wrt, shapes, method, **options)
            if kind == "hvp":
                return build(whole, {name: shapes[name] for name in wrt})
            return build(whole, {name: shapes[name] for name in wrt}, out_shape)
        _check_options(method, prepare, options)
        inner = prepare(expr, wrt, shapes, **options)
        # every point is checked against the shapes it was prepared for, for every method
        return Prepared(_Checked(inner.fn, shapes, f"prepared {kind} ({method})"), inner.info)

    return _cache.fetch(key, make)


def _call(kind: str, expr, point: Mapping, method: str, wrt, options: dict):
    expr = _as_expr(expr, point=point)
    point = clean_point(compile_plan(expr), point)
    shapes = {name: getattr(value, "shape", ()) for name, value in point.items()}
    # (the point is clean and fits its own shapes: the method's function is called directly)
    return prepared(kind, expr, wrt, shapes, method, **options).fn.unchecked(point)


def grad(expr, point: Mapping, method: str = "reverse", wrt: Sequence[str] | None = None,
         **options) -> dict:
    """The gradient of a scalar-valued expression at a point.

    Args:
        expr: the expression, grammar text, or a Python function of named parameters
            (``dl.trace``: traced once per shapes of the point, cached).
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
    """The Jacobian of any expression (or Python function, as in ``grad``): {name: array of
    shape output shape + variable shape}."""
    return _call("jacobian", expr, point, method, wrt, options)


def hessian(expr, point: Mapping, method: str = "reverse", wrt: Sequence[str] | None = None,
            **options) -> dict:
    """The Hessian of a scalar expression (or Python function, as in ``grad``): {a: {b: array
    of shape shape(a) + shape(b)}}."""
    return _call("hessian", expr, point, method, wrt, options)


def _direction(what: str, target: str, value, shape: tuple):
    """A tangent / cotangent / vector part as a float or a float64 array of ``shape`` (that of
    ``target``, a variable or the output); anything else is an error naming both."""
    if isinstance(value, bool) or value is None or isinstance(value, str | bytes | Expr):
        raise TypeError(f"{what} for {target}: expected a number or an array of numbers, "
                        f"got {value!r}")
    try:
        arr = np.asarray(value)
    except Exception as err:  # ragged lists and the like
        raise TypeError(f"{what} for {target}: cannot make an array of {value!r}") from err
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{what} for {target}: expected real numbers, got {arr.dtype} "
                        f"({type(value).__name__})")
    if arr.shape != shape:
        raise ValueError(f"{what} for {target} has shape {arr.shape}, but {target} has shape "
                         f"{shape}")
    return float(arr) if not shape else arr.astype(np.float64)


def _directions(what: str, plan, directions, point: Mapping) -> tuple[tuple, dict]:
    """(wrt, {name: part}): the variables a tangent or vector dict moves, in the expression's
    order, each part checked against its variable's shape at the point."""
    if not isinstance(directions, Mapping):
        raise TypeError(f"{what} must map variable names to values of their shapes, got "
                        f"{type(directions).__name__}")
    if not directions:
        raise ValueError(f"{what} is empty: give a value for at least one variable (the "
                         f"expression has {', '.join(plan.variables) or 'none'})")
    for name in directions:
        if name not in plan.var_slots:
            raise PointError(f"{what} names {name!r}, which is not a variable of the "
                             f"expression (its variables: {', '.join(plan.variables) or 'none'})")
    wrt = tuple(name for name in plan.variables if name in directions)
    return wrt, {name: _direction(what, f"variable {name!r}", directions[name],
                                  np.shape(point[name])) for name in wrt}


def _product(kind: str, expr: Expr, point: dict, method: str, wrt, direction, options: dict):
    """A product at a point already cleaned (``clean_point``), its direction already checked."""
    shapes = {name: np.shape(value) for name, value in point.items()}
    return prepared(kind, expr, wrt, shapes, method, **options)(point, direction)


def jvp(expr, point: Mapping, tangents: Mapping, method: str = "forward", **options):
    """The Jacobian-vector product J v: how the output moves along the tangents.

    Args:
        expr: any expression, grammar text, or a Python function (traced at the point's
            shapes, as in ``grad``).
        point: every variable -> float or array.
        tangents: {name: tangent of that variable's shape}; the variables it leaves out are
            held fixed (tangent 0).
        method: one of ``METHODS`` (or ``numeric:<scheme>``); default forward mode.
        options: method options.
    Returns:
        J v with the output's shape (a float for a scalar output).
    Raises:
        PointError naming a tangent's unknown variable; ValueError/TypeError naming a
        tangent whose shape or type does not fit its variable.
    """
    expr = _as_expr(expr, point=point)  # a Python function: traced at the point's shapes
    plan = compile_plan(expr)
    clean = clean_point(plan, point)
    wrt, parts = _directions("tangent", plan, tangents, clean)
    return _product("jvp", expr, clean, method, wrt, parts, options)


def vjp(expr, point: Mapping, cotangent, method: str = "reverse",
        wrt: Sequence[str] | None = None, **options) -> dict:
    """The vector-Jacobian product v^T J: the gradient of <v, output>.

    Args:
        expr: any expression, grammar text, or a Python function (as in ``jvp``).
        point: every variable -> float or array.
        cotangent: a float or an array of the output's shape.
        method: one of ``METHODS`` (or ``numeric:<scheme>``); default reverse mode.
        wrt: the variables to differentiate with respect to (default: all).
        options: method options.
    Returns:
        {name: value} in ``wrt`` order, each with its variable's shape.
    Raises:
        ValueError naming both shapes when the cotangent does not have the output's shape.
    """
    expr = _as_expr(expr, point=point)  # a Python function: traced at the point's shapes
    plan = compile_plan(expr)
    clean = clean_point(plan, point)
    shapes = {name: np.shape(value) for name, value in clean.items()}
    out_shape = infer_shapes(plan, shapes)[plan.out]
    v = _direction("cotangent", "the output", cotangent, out_shape)
    return _product("vjp", expr, clean, method, _wrt(plan.variables, wrt), v, options)


def hvp(expr, point: Mapping, vector: Mapping, method: str = "reverse", **options) -> dict:
    """The Hessian-vector product H v of a scalar expression.

    Args:
        expr: a scalar-valued expression, grammar text, or a Python function (as in ``jvp``).
        point: every variable -> float or array.
        vector: {name: part of that variable's shape}; H is taken over the variables it
            names (the others are held fixed).
        method: one of ``METHODS`` (or ``numeric:<scheme>``); default reverse mode.
        options: method options.
    Returns:
        {name: (H v) part} for the names of ``vector``, each with its variable's shape.
    Raises:
        ValueError: the expression is not scalar-valued; a part that does not fit its
            variable (naming both shapes); PointError for an unknown name.
    """
    expr = _as_expr(expr, point=point)  # a Python function: traced at the point's shapes
    plan = compile_plan(expr)
    clean = clean_point(plan, point)
    wrt, parts = _directions("vector", plan, vector, clean)
    return _product("hvp", expr, clean, method, wrt, parts, options)


def clear_cache() -> None:
    """Forget every prepared derivative (so the next call measures preparation afresh)."""
    _cache.clear()
