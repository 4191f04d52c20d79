"""A method of one's own: a user's object checked against the one protocol and wrapped, so
that the API and the lab use it exactly as they use a built-in method.

The object — an instance, a class of static methods, or a module — provides

    prepare(expr, wrt, shapes, **options) -> callable    required: point -> {name: gradient}
    prepare_jacobian(expr, wrt, shapes, **options)       optional: point -> {name: array}
    prepare_hessian(expr, wrt, shapes, **options)        optional: point -> {a: {b: array}}
    exact = True | False  and/or  tolerance = rho        required: how its results are judged
    info = {...}                                          optional: reported with every result

``exact = True`` holds the method to the exact methods' standard (rho <= 1e-12, the float64
rounding of the program); ``exact = False`` to the finite differences' (rho <= 1e-6);
``tolerance`` sets the rho bound itself (a Hessian is allowed 100 times it for an exact method,
1000 times for an approximate one, as for the built-ins). The callable ``prepare`` returns may
be anything callable; its ``info`` attribute (a ``Prepared`` has one) is reported too.

What the callable returns is checked and put in the protocol's format (floats for scalar
variables, float64 arrays of the right shape): a missing name, a shape other than the expected
one (never reshaped; a scalar takes a float or a 0-d array, not shape (1,)), or a value that
is not real numbers (complex, bool, text) is an error naming the method, the variable and the
shapes, not a wrong number downstream. A kind the
object does not provide raises NotImplementedError ("method 'mine' has no jacobian"), which the
lab records as "unsupported". The products (``prepare_jvp``, ``prepare_vjp``, ``prepare_hvp``)
are optional too: the object's own when it has them, else difflab.api builds them from its
Jacobian or Hessian (so a method with ``prepare_jacobian`` has ``jvp`` and ``vjp``, one with
``prepare_hessian`` has ``hvp``).
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Mapping
from numbers import Real

import numpy as np

from .core.plan import compile_plan
from .core.shapes import infer_shapes
from .protocol import Prepared

EXACT_TOLERANCE = 1e-12        # rho bound of an exact method (accuracy.TOLERANCES's)
APPROXIMATE_TOLERANCE = 1e-6   # of an approximate one without a tolerance (numeric's)
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")  # no colon: it separates a variant
KINDS = {"prepare": "gradient", "prepare_jacobian": "jacobian", "prepare_hessian": "hessian"}


def check_name(name) -> str:
    """``name`` if it can name a method: letters, digits, ``_ . -``, not starting with a digit.

    Raises:
        TypeError: not a string; ValueError: not such a name (the message says why).
    """
    if not isinstance(name, str):
        raise TypeError(f"a method name must be a string, got {type(name).__name__}")
    if not NAME.match(name):
        raise ValueError(f"{name!r} cannot name a method: use letters, digits, '_', '.' and "
                         f"'-', starting with a letter or '_' (':' separates a variant)")
    return name


def _judging(name: str, obj) -> tuple[bool, float]:
    """(exact, tolerance) from the object's declarations; a clear error when it has none."""
    exact, tol = getattr(obj, "exact", None), getattr(obj, "tolerance", None)
    if exact is None and tol is None:
        raise ValueError(f"method {name!r} must say how to judge it: exact = True (held to "
                         f"rho <= {EXACT_TOLERANCE:g}) or exact = False (rho <= "
                         f"{APPROXIMATE_TOLERANCE:g}), or tolerance = <largest acceptable rho>")
    if exact is not None and not isinstance(exact, bool):
        raise TypeError(f"method {name!r}: exact must be True or False, got {exact!r}")
    if tol is not None:
        if isinstance(tol, bool) or not isinstance(tol, Real) or not (0 < tol < math.inf):
            raise ValueError(f"method {name!r}: tolerance must be a positive number (the "
                             f"largest acceptable rho), got {tol!r}")
        return (exact if exact is not None else tol <= EXACT_TOLERANCE), float(tol)
    return exact, EXACT_TOLERANCE if exact else APPROXIMATE_TOLERANCE


def _check_signature(name: str, attr: str, fn) -> None:
    if not callable(fn):
        raise TypeError(f"method {name!r}: {attr} must be callable, got {type(fn).__name__}")
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin without a signature: trust it
        return
    try:
        signature.bind(None, (), {})
    except TypeError:
        hint = " (register an instance, not the class)" if "self" in signature.parameters \
            else ""
        raise TypeError(f"method {name!r}: {attr} must take (expr, wrt, shapes), its "
                        f"signature is {signature}{hint}") from None


class MethodPlugin:
    """A user's method object behind the protocol difflab's own methods implement."""

    def __init__(self, name: str, obj, source: str = "register_method"):
        """Check ``obj`` (see the module docstring).

        Args:
            name: the method's name.
            obj: the object implementing ``prepare`` (and optionally the rest).
            source: where it came from, for messages ("entry point ...").
        Raises:
            TypeError, ValueError: naming the method and what is missing or wrong.
        """
        self.name, self.obj, self.source = check_name(name), obj, source
        prepare = getattr(obj, "prepare", None)
        if prepare is None:
            raise TypeError(f"method {name!r}: {type(obj).__name__} {obj!r:.60} has no "
                            f"prepare(expr, wrt, shapes); that is the one method required")
        for attr in KINDS:
            if getattr(obj, attr, None) is not None:
                _check_signature(name, attr, getattr(obj, attr))
        self.exact, self.tolerance = _judging(name, obj)
        info = getattr(obj, "info", None)
        if info is not None and not isinstance(info, Mapping):
            raise TypeError(f"method {name!r}: info must be a dict, got {type(info).__name__}")
        self.info = dict(info or {})

    def __repr__(self) -> str:
        return f"<method {self.name!r} ({'exact' if self.exact else 'approximate'}, " \
               f"tolerance {self.tolerance:g}; {self.source})>"

    def _prepared(self, attr: str, expr, wrt, shapes, options: dict):
        fn = getattr(self.obj, attr, None)
        if fn is None:
            raise NotImplementedError(f"method {self.name!r} has no {KINDS[attr]} (its "
                                      f"object has no {attr})")
        _check_options(self.name, fn, options)
        made = fn(expr, tuple(wrt), dict(shapes), **options)
        if not callable(made):
            raise TypeError(f"method {self.name!r}: {attr} returned "
                            f"{type(made).__name__}, not a callable point -> derivatives")
        info = getattr(made, "info", None)
        return made, {**self.info, **(info if isinstance(info, Mapping) else {})}

    def prepare(self, expr, wrt, shapes, **options) -> Prepared:
        """The gradient, checked and shaped: {name: float | array of the variable's shape}."""
        made, info = self._prepared("prepare", expr, wrt, shapes, options)
        wrt = tuple(wrt)
        return Prepared(lambda point: {n: self._shaped(r, n, shapes[n])
                                       for n, r in self._entries(made(point), wrt)}, info)

    def prepare_jacobian(self, expr, wrt, shapes, **options) -> Prepared:
        """The Jacobian, checked and shaped: {name: array of output shape + variable shape}."""
        made, info = self._prepared("prepare_jacobian", expr, wrt, shapes, options)
        plan = compile_plan(expr)
        out = infer_shapes(plan, dict(shapes))[plan.out]
        wrt = tuple(wrt)
        return Prepared(lambda point: {n: self._shaped(r, n, out + tuple(shapes[n]))
                                       for n, r in self._entries(made(point), wrt)}, info)

    def prepare_hessian(self, expr, wrt, shapes, **options) -> Prepared:
        """The Hessian, checked and shaped: {a: {b: array of shape(a) + shape(b)}}."""
        made, info = self._prepared("prepare_hessian", expr, wrt, shapes, options)
        wrt = tuple(wrt)

        def call(point):
            return {a: {b: self._shaped(v, f"{a},{b}", tuple(shapes[a]) + tuple(shapes[b]))
                        for b, v in self._entries(row, wrt, a)}
                    for a, row in self._entries(made(point), wrt)}
        return Prepared(call, info)

    def __getattr__(self, attr: str):
        # A kind this wrapper does not define (prepare_jvp, prepare_vjp, prepare_hvp, ...):
        # the object's own, its results unchecked; an AttributeError when the object has none,
        # so that ``getattr(plugin, attr, None)`` is None and difflab.api builds the product
        # from this method's Jacobian or Hessian, as for a built-in method without one.
        if attr.startswith("prepare_") and "obj" in self.__dict__:
            if getattr(self.obj, attr, None) is not None:
                def own(expr, wrt, shapes, **options) -> Prepared:
                    return Prepared(*self._prepared(attr, expr, wrt, shapes, options))
                return own
            raise AttributeError(f"method {self.name!r} has no {attr} of its own (its "
                                 f"object has none)")
        raise AttributeError(attr)

    def _entries(self, result, wrt: tuple, row: str | None = None):
        """(name, value) for every name of ``wrt`` in ``result``, a dict; else an error."""
        where = f" in row {row!r}" if row else ""
        if not isinstance(result, Mapping):
            raise TypeError(f"method {self.name!r} returned {type(result).__name__}{where}, "
                            f"not a dict {{variable name: derivative}}")
        missing = [n for n in wrt if n not in result]
        if missing:
            raise ValueError(f"method {self.name!r} returned no derivative for "
                             f"{missing[0]!r}{where}; it returned {sorted(map(str, result))}")
        return [(n, result[n]) for n in wrt]

    def _shaped(self, value, label: str, shape: tuple):
        """``value`` as a float (``shape == ()``) or a float64 array of exactly ``shape``: real
        numbers only (ints become floats; complex, bool, strings and objects are refused), and
        the shape as it is, never reshaped (a (3, 2) array for a (2, 3) variable would be
        scrambled numbers). A scalar takes a float, an int, a NumPy scalar or a 0-d array, not
        a shape (1,) array (as ``float(np.ones(1))`` is deprecated in NumPy)."""
        try:
            array = np.asarray(value)
        except (TypeError, ValueError):  # a ragged list and the like
            array = None
        kind = "O" if array is None else array.dtype.kind
        if kind == "c":
            raise TypeError(f"method {self.name!r} returned complex numbers ({array.dtype}) for "
                            f"{label!r}; derivatives here are real: return the real part "
                            f"(.real, or .imag / h for a complex step) as floats")
        if kind not in "iuf":
            what = type(value).__name__ + (f" of {array.dtype}" if isinstance(value, np.ndarray)
                                           else "")
            raise TypeError(f"method {self.name!r} returned {what} for {label!r}, not numbers")
        if array.shape != shape:
            hint = " (a float or a 0-d array for a scalar)" if shape == () else ""
            raise ValueError(f"method {self.name!r} returned shape {array.shape} for "
                             f"{label!r}, expected {shape}{hint}; the shape is not changed "
                             f"for you (a reshape or transpose of the values is the method's "
                             f"to make)")
        return float(array) if shape == () else array.astype(np.float64)


def _check_options(name: str, fn, options: Mapping) -> None:
    """A TypeError naming the option the object's prepare does not take."""
    if not options:
        return
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return
    known = [n for n, p in params.items() if n not in ("expr", "wrt", "shapes")
             and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]
    for option in options:
        if option not in known:
            raise TypeError(f"method {name!r} has no option {option!r}; its options: "
                            f"{', '.join(known) or 'none'}")
