"""``compare``: one expression's gradient by every method, side by side, as a DataFrame.

Each row is a method: its derivative per variable, its largest error against the truth (rho
and relative error), the median time per call and the one-off preparation time. The first row
is the truth itself: SymPy at 50 digits where it can serve, JAX otherwise.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..api import METHODS, _as_expr, _wrt, prepared
from ..core.evaluate import clean_point
from ..core.plan import compile_plan
from .accuracy import flatten, rel_err, rho
from .timing import measure


def reference_gradient(expr, point: Mapping, wrt: tuple[str, ...]) -> tuple[dict, str]:
    """The truth: 50-digit SymPy, falling back to JAX when SymPy cannot serve."""
    from .. import truth

    try:
        return truth.gradient(expr, point, wrt=wrt), "sympy-50"
    except (ValueError, NotImplementedError, TypeError):
        return prepared("grad", expr, wrt, _shapes(point), "jax")(point), "jax"


def _shapes(point: Mapping) -> dict:
    return {k: np.shape(v) for k, v in point.items()}


def _cell(value):
    """A derivative for display: the float itself, or the array."""
    return float(value) if np.ndim(value) == 0 else np.asarray(value)


def compare(expr, point: Mapping, methods: Sequence[str] | None = None,
            wrt: Sequence[str] | None = None, min_time: float = 0.01) -> pd.DataFrame:
    """The gradient of ``expr`` at ``point`` by every method, with errors and times.

    Args:
        expr: a scalar-valued expression (or its text).
        point: every variable -> float or array.
        methods: the methods to run (default: all of ``METHODS``).
        wrt: variables to differentiate with respect to (default: all).
        min_time: the timer's shortest measured batch, in seconds.
    Returns:
        a DataFrame, one row per method (the truth first), columns ``method``, ``d/d<name>``
        per variable, ``max rho``, ``max rel err``, ``time/call [us]``, ``prepare [ms]`` and
        ``status`` (ok, or the error message).
    """
    expr = _as_expr(expr)
    point = clean_point(compile_plan(expr), point)
    wrt = _wrt(expr.variables, wrt)
    shapes = _shapes(point)
    want, source = reference_gradient(expr, point, wrt)
    rows = [{"method": f"truth ({source})", **{f"d/d{k}": _cell(v) for k, v in want.items()},
             "max rho": 0.0, "max rel err": 0.0, "time/call [us]": np.nan,
             "prepare [ms]": np.nan, "status": "reference"}]
    want_flat = flatten(want)
    for method in methods or METHODS:
        row = {"method": method}
        try:
            start = time.perf_counter()
            fn = prepared("grad", expr, wrt, shapes, method)
            prepare_ms = (time.perf_counter() - start) * 1e3
            got = fn(point)
            timing = measure(lambda fn=fn: fn(point), min_time=min_time, max_time=0.3)
        except Exception as err:  # a method's failure is a row, not a crash
            rows.append({**row, "status": f"{type(err).__name__}: {err}".split("\n")[0]})
            continue
        got_flat = flatten(got)
        rhos = [np.max(rho(got_flat[k], want_flat[k]), initial=0.0) for k in want_flat]
        rels = [np.max(rel_err(got_flat[k], want_flat[k]), initial=0.0) for k in want_flat]
        rows.append({**row, **{f"d/d{k}": _cell(v) for k, v in got.items()},
                     "max rho": float(max(rhos)), "max rel err": float(max(rels)),
                     "time/call [us]": timing.median * 1e6, "prepare [ms]": prepare_ms,
                     "status": "ok"})
    return pd.DataFrame(rows)
