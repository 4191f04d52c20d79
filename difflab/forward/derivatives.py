"""Derivatives of Python functions by Dual numbers: ``derivative``, ``jvp``, ``gradient``,
``grad_fn``.

Each call takes a fresh perturbation tag (``dual._TAGS``), seeds its argument with a Dual of
that tag, runs ``f`` and reads the tangent of that tag off the result (``_perturbation``);
other tags in the result are older (outer) calls' perturbations and stay in it, so nested
derivatives compose: ``derivative(lambda x: gradient(lambda v: sum(v * v) * x, [1, 2]).sum(),
3.0)`` is 6.

What comes back from ``f`` is checked: it must be a number, an array of numbers or a Dual (a
str, None, a dict or a function is a TypeError naming it, not a derivative of 0), and it must
not carry the tag of a call that has already returned - a Dual that escaped an inner
``derivative`` through a side effect (stored outside it) has no meaning outside that call, and
is refused as JAX refuses an escaped tracer (UnexpectedTracerError).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Complex

import numpy as np

from .dual import _TAGS, Dual, _as_number, _dual
from .values import _ONE, _shape, _zeros_like


def _perturbation(y, tag: int):
    """(value, tangent) of ``y`` along perturbation ``tag``; a zero tangent if y does not
    carry it. A tag newer than ``tag`` belongs to a call made inside f that has returned: an
    escaped perturbation, refused."""
    if y.__class__ is not Dual or y.tag < tag:
        return y, _zeros_like(y)
    if y.tag == tag:
        return y.value, y.x_dot
    raise ValueError(f"the result carries the perturbation of an inner derivative or jvp "
                     f"(tag {y.tag}) that has already returned: a Dual escaped that call "
                     f"through a side effect (kept in a variable outside it?); return "
                     f"derivatives as results, as JAX requires (its UnexpectedTracerError)")


def _checked(y, what: str):
    """``y`` if it is a number, an array of numbers or a Dual, else a TypeError naming it."""
    cls = y.__class__
    if cls is Dual or cls is float or cls is np.float64:
        return y
    if isinstance(y, np.ndarray):
        if y.dtype.kind in "biufc":
            return y
        got = f"an array of dtype {y.dtype}"
    elif isinstance(y, Complex | np.number | np.bool_):
        return y
    elif y is None:
        got = "None"
    elif callable(y):
        got = f"a function ({getattr(y, '__name__', type(y).__name__)})"
    else:
        text = repr(y)
        got = f"a {type(y).__name__} ({text[:60] + '...' if len(text) > 60 else text})"
    raise TypeError(f"{what}: f must return a number, an array of numbers or a Dual (or a "
                    f"tuple/list of them), but it returned {got}")


def _tangent(y, tag: int, what: str):
    """The tangent of a checked result ``y`` along ``tag``."""
    return _perturbation(_checked(y, what), tag)[1]


def _plain(v):
    """A result for the caller: a float for a scalar, a writeable array, or a Dual."""
    if v.__class__ is Dual:
        return v
    if np.ndim(v) == 0:
        return float(v) if not isinstance(v, complex | np.complexfloating) else complex(v)
    v = np.asarray(v)
    return v if v.flags.writeable else v.copy()


def _stack(items: list, shape: tuple):
    """The entries of a gradient as one array of ``shape``; entries that are Duals (of outer
    derivatives) make it a Dual of arrays, level by level (recursion over nesting levels, a
    handful, not over a graph)."""
    tags = [v.tag for v in items if v.__class__ is Dual]
    if not tags:
        return np.array(items, dtype=np.float64).reshape(shape)
    tag = max(tags)
    values, x_dots = [], []
    for v in items:
        inside = v.__class__ is Dual and v.tag == tag
        values.append(v.value if inside else v)
        x_dots.append(v.x_dot if inside else 0.0)
    return _dual(_stack(values, shape), _stack(x_dots, shape), tag)


def derivative(f: Callable, x):
    """The derivative of ``f`` at ``x`` by one forward pass (a fresh perturbation tag).

    Args:
        f: a function of one argument written with operators, NumPy and ``forward.*``
            functions (it may itself call ``derivative``); it returns a number, an array, a
            Dual or a tuple/list of them.
        x: a float, an array (the tangent is all ones: the elementwise derivative of an
            elementwise f, or d/dt f(x + t) in general) or a Dual of an outer derivative.
    Returns:
        f'(x): a float, an array of f's output shape, or a Dual (nested derivatives); a
        tuple/list of them if f returns one.
    Raises:
        TypeError: f returned something else (the message names it).
        ValueError: the result carries an inner call's escaped perturbation.
    """
    tag = next(_TAGS)
    x = _as_number(x)
    shape = _shape(x)
    with np.errstate(all="ignore"):
        y = f(_dual(x, np.ones(shape) if shape else _ONE, tag))
    if isinstance(y, tuple | list):
        return type(y)(_plain(_tangent(v, tag, "derivative")) for v in y)
    return _plain(_tangent(y, tag, "derivative"))


def jvp(f: Callable, primals, tangents):
    """Value and directional derivative: ``(f(*primals), J_f(primals) @ tangents)``.

    Args:
        f: a function of ``len(primals)`` arguments (or of one, if ``primals`` is not a tuple
            or list); it may return a value or a tuple/list of values.
        primals: the point: a tuple/list of floats, arrays or Duals (or a single one).
        tangents: the direction, matching ``primals`` (each broadcast to its primal's shape).
    Returns:
        (value, tangent), each a tuple/list if f returns one.
    Raises:
        TypeError, ValueError: as ``derivative``.
    """
    single = not isinstance(primals, tuple | list)
    if single:
        primals, tangents = (primals,), (tangents,)
    if not isinstance(tangents, tuple | list) or len(tangents) != len(primals):
        raise ValueError(f"jvp: {len(primals)} primal(s) need as many tangents, got {tangents!r}")
    tag = next(_TAGS)
    args = []
    for i, (p, t) in enumerate(zip(primals, tangents, strict=True)):
        p, t = _as_number(p), _as_number(t)
        if _shape(t) != _shape(p):
            try:
                t = np.broadcast_to(t, _shape(p))
            except ValueError:
                raise ValueError(f"jvp: tangent {i} has shape {_shape(t)}, its primal "
                                 f"{_shape(p)}") from None
        args.append(_dual(p, t, tag))
    with np.errstate(all="ignore"):
        y = f(*args)
    if isinstance(y, tuple | list):
        pairs = [_perturbation(_checked(v, "jvp"), tag) for v in y]
        return (type(y)(_plain(v) for v, _ in pairs), type(y)(_plain(t) for _, t in pairs))
    value, tangent = _perturbation(_checked(y, "jvp"), tag)
    return _plain(value), _plain(tangent)


def gradient(f: Callable, x):
    """The gradient of a scalar function of one array: one forward pass per element.

    Args:
        f: array -> scalar (it may use Duals of an outer derivative: the gradient is then
            a Dual, and an outer ``derivative`` differentiates it).
        x: a float or an array of floats.
    Returns:
        df/dx with x's shape (a float for a scalar x; a Dual inside an outer derivative).
    """
    x = _as_number(x)
    shape = _shape(x)
    size = math.prod(shape)
    entries = []
    for i in range(size):
        e = np.zeros(size)
        e[i] = 1.0
        _, t = jvp(f, x, e.reshape(shape) if shape else _ONE)
        if np.ndim(t) != 0:
            raise ValueError(f"gradient needs f to return a scalar, got shape {np.shape(t)}")
        entries.append(t)
    if not shape:
        return entries[0]
    return _stack(entries, shape)


def grad_fn(f: Callable) -> Callable:
    """``grad_fn(f)(x) == gradient(f, x)``: the gradient as a function."""
    def grad_f(x):
        return gradient(f, x)
    grad_f.__doc__ = f"The gradient of {getattr(f, '__name__', 'f')} (forward mode)."
    return grad_f
