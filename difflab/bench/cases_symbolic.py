"""Benchmark case of deep symbolic expressions: targets 6c (Euler's method with 1,000 steps) and
6d (Rosenbrock written with Python's sum() at n = 1,000).

Both are small but deep (depth 3,000 and 1,004), the expressions that symbolic refused when
SymPy's printers and lambdify set its budget by recursion depth. Each is prepared cold (our
cache and SymPy's emptied, a fresh graph) within symbolic's time budget, and its gradient must
match reverse mode's to rho 1e-12.
"""

from __future__ import annotations

import time

import numpy as np

import difflab as dl

from ..core.expr import Expr
from .cases_array import rows_of
from .targets import Row, Target, time_text
from .timer import interleave, median

EULER_H = 0.01
MATCH = 1e-12  # rho against reverse mode


def build_euler(steps: int) -> Expr:
    """x_{k+1} = x_k + h sin(x_k) from x_0 = x, as a user writes the loop (depth 3 per step)."""
    x = dl.variable("x")
    e = x
    for _ in range(steps):
        e = e + EULER_H * dl.sin(e)
    return e


def build_rosenbrock_sum(n: int) -> Expr:
    """Rosenbrock over x0 .. x{n-1} with Python's sum(): a chain of n - 1 additions."""
    x = dl.variables([f"x{i}" for i in range(n)])
    return sum(100.0 * (x[i + 1] - x[i] ** 2.0) ** 2.0 + (1.0 - x[i]) ** 2.0
               for i in range(n - 1))


def _rho(a: dict, b: dict) -> float:
    u = np.array([a[k] for k in b], dtype=float)
    v = np.array([b[k] for k in b], dtype=float)
    return float(np.max(np.abs(u - v) / np.maximum(1.0, np.abs(u) + np.abs(v)), initial=0.0))


def _prepare_cold(build, arg: int, repeats: int) -> tuple[list[float], object, Expr]:
    """Seconds to prepare a freshly built graph with every cache emptied, ``repeats`` times."""
    import sympy

    from .. import symbolic

    times, prepared, f = [], None, None
    for _ in range(repeats):
        f = build(arg)
        symbolic._prepare.cache_clear()
        sympy.core.cache.clear_cache()
        t0 = time.perf_counter()
        prepared = symbolic.prepare(f, f.variables, {v: () for v in f.variables})
        times.append(time.perf_counter() - t0)
    return times, prepared, f


def deep_symbolic_case(cfg: dict) -> tuple[list[Row], list[Target], dict]:
    """Targets 6c and 6d: cold preparation time within the budget, gradient = reverse's."""
    from .. import symbolic

    steps, n = cfg["euler_steps"], cfg["rosenbrock_sum_n"]
    rng = np.random.default_rng(cfg["seed"])
    cases = [("6c", f"euler {steps} steps", build_euler, steps, {"x": 0.7}, steps == 1000),
             ("6d", f"rosenbrock sum() n = {n}", build_rosenbrock_sum, n,
              {f"x{i}": float(v) for i, v in enumerate(rng.uniform(-1.5, 1.5, n))}, n == 1000)]
    rows, targets, info = [], [], {}
    for key, name, build, arg, point, full in cases:
        times, prepared, f = _prepare_cold(build, arg, cfg["prepare_repeats"])
        rho = _rho(prepared(point), dl.grad(f, point, method="reverse"))
        samples = interleave({"symbolic (prepared)": lambda p=prepared, q=point: p(q),
                              "reverse": lambda f=f, q=point: dl.grad(f, q, method="reverse")},
                             cfg["repeats"], cfg["min_time"])
        rows += rows_of(name, samples)
        prep = median(times)
        ok = prep < symbolic.TIME_BUDGET and rho <= MATCH
        targets.append(Target(key, prep, f"{time_text(prep)} (depth {prepared.info['depth']:,}"
                              f", rho {rho:.1e})", ok and full,
                              "" if rho <= MATCH else "gradient disagrees with reverse mode"))
        info[name] = {"prepare_cold_s": times, "rho_vs_reverse": rho,
                      **{k: v for k, v in prepared.info.items()
                         if k in ("depth", "scalar_nodes", "cse_ops", "cse_temporaries",
                                  "diff_seconds", "cse_seconds", "lambdify_seconds",
                                  "python_floats")}}
    return rows, targets, info
