"""``compare``: one expression's gradient by every method, side by side, as a DataFrame.

Each row is a method: its derivative per variable, its largest error against the truth (rho
and relative error), the method's own error estimate where it makes one (the adaptive finite
differences, ``numeric``, and ``numeric:richardson``), the median time per call, the one-off
preparation time and a status. The first row is the truth itself: SymPy at 50 digits where it
can serve, JAX otherwise.

The status is the lab's outcome vocabulary (``execute``): "ok" (finite, within the method's
tolerance of the truth, ``accuracy.tolerance``), "wrong" (finite, beyond it), "nan" (some
component is nan) or "inf" (some component is +-inf, none nan), or the error a method raised.
A derivative that is not a number is never "ok", even where the truth agrees (sqrt(x) at 0 is
inf by every method and by the truth): the truth's own row then says "reference: inf" (or
"reference: nan"), so agreement is visible, and so is a method's nan where the truth is finite
(finite differences stepping out of log's domain at -1).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..api import METHODS, _as_expr, _wrt, prepared
from ..core.evaluate import clean_point
from ..core.plan import compile_plan
from .accuracy import compare_gradients, flatten, tolerance
from .timing import measure

RESULT_STATUSES = ("ok", "wrong", "nan", "inf")  # a method that gave a result; else its error


def finite_status(derivative: Mapping) -> str | None:
    """ "nan" if a component of ``derivative`` is nan, "inf" if one is infinite, else None."""
    values = [np.asarray(v, dtype=float) for v in flatten(derivative).values()]
    if any(np.isnan(v).any() for v in values):
        return "nan"
    if any(np.isinf(v).any() for v in values):
        return "inf"
    return None


def reference_gradient(expr, point: Mapping, wrt: tuple[str, ...]) -> tuple[dict, str]:
    """The truth: 50-digit SymPy, falling back to JAX when SymPy cannot serve."""
    from .. import truth

    try:
        return truth.gradient(expr, point, wrt=wrt), "sympy-50"
    except (ValueError, NotImplementedError, TypeError):
        return prepared("grad", expr, wrt, _shapes(point), "jax")(point), "jax"


def _shapes(point: Mapping) -> dict:
    return {k: np.shape(v) for k, v in point.items()}


def _methods(methods) -> tuple[str, ...]:
    """The methods to run: all of ``METHODS`` for None, one for a string (not its letters),
    else the list as given; an empty list is a ValueError (not "all"), a non-string a
    TypeError."""
    if methods is None:
        return METHODS
    if isinstance(methods, str):
        return (methods,)
    try:
        methods = tuple(methods)
    except TypeError:
        raise TypeError(f"compare: methods must be a method name or a list of names, got "
                        f"{type(methods).__name__}") from None
    if not methods:
        raise ValueError(f"compare: methods is empty; name at least one, or pass None for "
                         f"all of {', '.join(METHODS)}")
    for method in methods:
        if not isinstance(method, str):
            raise TypeError(f"compare: methods must hold method names, got {method!r}")
    return methods


def _cell(value):
    """A derivative for display: the float itself, or the array."""
    return float(value) if np.ndim(value) == 0 else np.asarray(value)


def _estimate(info: Mapping) -> float:
    """The largest component of a method's error estimate (info["error_estimate"]), or NaN."""
    errors = info.get("error_estimate") if isinstance(info, Mapping) else None
    if not errors:
        return float("nan")
    return float(max(np.max(np.asarray(v, dtype=float), initial=0.0) for v in errors.values()))


def compare(expr, point: Mapping, methods: Sequence[str] | None = None,
            wrt: Sequence[str] | None = None, min_time: float = 0.01) -> pd.DataFrame:
    """The gradient of ``expr`` at ``point`` by every method, with errors and times.

    Args:
        expr: a scalar-valued expression, its text, or a Python function (``dl.trace``).
        point: every variable -> float or array.
        methods: the methods to run: a list of names, or one name (default None: all of
            ``METHODS``; an empty list is a ValueError).
        wrt: variables to differentiate with respect to (default: all).
        min_time: the timer's shortest measured batch, in seconds.
    Returns:
        a DataFrame, one row per method (the truth first), columns ``method``, ``d/d<name>``
        per variable, ``max rho``, ``max rel err``, ``err est`` (the largest component of
        the method's own error estimate, NaN where it makes none), ``time/call [us]``,
        ``prepare [ms]`` and ``status`` (ok, wrong, nan, inf, or the error message; see the
        module docstring).
    """
    methods = _methods(methods)
    expr = _as_expr(expr, point=point)  # text, or a Python function traced at the point
    point = clean_point(compile_plan(expr), point)
    wrt = _wrt(compile_plan(expr).variables, wrt)
    shapes = _shapes(point)
    want, source = reference_gradient(expr, point, wrt)
    reference = finite_status(want)
    rows = [{"method": f"truth ({source})", **{f"d/d{k}": _cell(v) for k, v in want.items()},
             "max rho": 0.0, "max rel err": 0.0, "err est": np.nan,
             "time/call [us]": np.nan,
             "prepare [ms]": np.nan,
             "status": f"reference: {reference}" if reference else "reference"}]
    for method in methods:
        row = {"method": method}
        try:
            start = time.perf_counter()
            fn = prepared("grad", expr, wrt, shapes, method)
            prepare_ms = (time.perf_counter() - start) * 1e3
            got = fn(point)
            estimate = _estimate(fn.info)  # the estimate of this call, before the timed ones
            timing = measure(lambda fn=fn: fn(point), min_time=min_time, max_time=0.3)
        except Exception as err:  # a method's failure is a row, not a crash
            rows.append({**row, "status": f"{type(err).__name__}: {err}".split("\n")[0]})
            continue
        accuracy = compare_gradients(got, want, tolerance(method))
        rows.append({**row, **{f"d/d{k}": _cell(v) for k, v in got.items()},
                     "max rho": accuracy["max_rho"], "max rel err": accuracy["max_rel_err"],
                     "err est": estimate, "time/call [us]": timing.median * 1e6,
                     "prepare [ms]": prepare_ms,
                     "status": finite_status(got) or accuracy["outcome"]})
    return pd.DataFrame(rows)
