"""Benchmark case for the adaptive finite differences: accuracy against the 50-digit truth and
against numdifftools' defaults (targets 7a and 7b).

Every function of the scalar suite (42, at ``numeric_seeds``: seed 0 the textbook point, the
others random in the function's box, which stays clear of kinks and poles) and d/dx sin(1000 x)
at ``sin1000_points``, differentiated by ``numeric`` (the adaptive scheme), ``numeric:central4``
(the old default) and numdifftools (``nd.Derivative`` for one variable, ``nd.Gradient`` for
more, default options), each against ``difflab.truth``. A function's figure is its largest
component rho = |a - b| / max(1, |a| + |b|) over its points.

7b compares, per function, adaptive's worst rho with numdifftools': it holds where adaptive's is
not larger, or where both are below ``TIE`` (1e-12: both right to 12 digits, and what
separates them is the rounding of one evaluation against another, not the method).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable

import numpy as np

import difflab as dl

from ..core.evaluate import bind, run_value
from ..core.plan import compile_plan
from ..lab.accuracy import rho
from ..lab.scalar_suite import SCALAR_CASES
from .targets import Row, Target, unmeasured

TOLERANCE = 1e-9    # 7a: rho against the truth wherever f is smooth at the point
TIE = 1e-12         # 7b: below this for both, neither is worse
SIN1000 = "sin(1000 * x)"


def _problems(cfg: dict) -> list[tuple[str, object, list[dict]]]:
    """(name, expression, points) for the chosen suite functions and sin(1000 x)."""
    names = cfg.get("numeric_functions")
    out = []
    for case in SCALAR_CASES:
        if names and case.name not in names:
            continue
        points = [dict(case.at) if seed == 0 else
                  case.sample(np.random.default_rng(seed), {}) for seed in cfg["numeric_seeds"]]
        out.append((case.name, case.build(), points))
    out.append(("sin(1000x)", dl.parse(SIN1000), [{"x": x} for x in cfg["sin1000_points"]]))
    return out


def _numdifftools_gradient(expr, counter: list) -> Callable[[dict], dict]:
    """numdifftools' default gradient of ``expr`` as a function of a point (counting f)."""
    import numdifftools as nd

    plan = compile_plan(expr)
    names = plan.variables

    def f(vector):
        counter[0] += 1
        values = bind(plan, {n: float(v) for n, v in zip(names, np.atleast_1d(vector),
                                                         strict=True)})
        return float(run_value(plan, values))

    def gradient(point: dict) -> dict:
        x = np.array([point[n] for n in names])
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (its All-NaN warnings where f(x +- h) is nan)
            if len(names) == 1:
                g = [nd.Derivative(lambda t: f([t]))(x[0])]
            else:
                g = np.atleast_1d(nd.Gradient(f)(x))
        return {n: float(v) for n, v in zip(names, g, strict=True)}

    return gradient


def _contenders(expr, have_nd: bool, counters: dict) -> dict[str, Callable[[dict], dict]]:
    adaptive = dl.prepared("grad", expr, shapes={}, method="numeric")
    central4 = dl.prepared("grad", expr, shapes={}, method="numeric:central4")

    def numeric(point):
        got = adaptive(point)
        counters["numeric"][0] += adaptive.info["evaluations_last_call"]
        counters["estimate"].append((got, dict(adaptive.info["error_estimate"])))
        return got

    def old(point):
        counters["numeric:central4"][0] += central4.info["evaluations"]
        return central4(point)

    out = {"numeric": numeric, "numeric:central4": old}
    if have_nd:
        out["numdifftools"] = _numdifftools_gradient(expr, counters["numdifftools"])
    return out


def numeric_case(cfg: dict, available: dict) -> tuple[list[Row], list[Target], dict]:
    """Targets 7a and 7b: the accuracy table, with per-call times and evaluation counts."""
    from .. import truth  # (SymPy: here, so the cases before this one time a process without
    #                        SymPy's objects for the garbage collector to walk)
    have_nd = not available.get("numdifftools", "unavailable").startswith("unavailable")
    names = ["numeric", "numeric:central4"] + (["numdifftools"] if have_nd else [])
    worst = {}                        # function -> contender -> worst rho
    times = {n: [] for n in names}
    counters = {n: [0] for n in names} | {"estimate": []}
    inputs = 0
    bounded = components = 0
    for name, expr, points in _problems(cfg):
        contenders = _contenders(expr, have_nd, counters)
        worst[name] = dict.fromkeys(names, 0.0)
        for point in points:
            want = truth.gradient(expr, point)
            inputs += len(want)
            for contender, fn in contenders.items():
                t0 = time.perf_counter()
                got = fn(point)
                times[contender].append(time.perf_counter() - t0)
                r = max(float(rho(got[k], want[k])) for k in want)
                worst[name][contender] = max(worst[name][contender], r)
            got, error = counters["estimate"][-1]
            bounded += sum(abs(got[k] - want[k]) <= error[k] for k in want)
            components += len(want)
    rows = [Row("accuracy suite", n, float(np.median(times[n])),
                float(np.subtract(*np.percentile(times[n], [75, 25]))), len(times[n]),
                {"worst_rho": max(w[n] for w in worst.values()),
                 "median_rho": float(np.median([w[n] for w in worst.values()])),
                 "evals_per_input": counters[n][0] / inputs}) for n in names]
    ad = {k: w["numeric"] for k, w in worst.items()}
    top = max(ad, key=ad.get)
    targets = [Target("7a", ad[top], f"worst rho {ad[top]:.1e} ({top}); sin(1000x) "
                      f"{ad['sin(1000x)']:.1e}", ad[top] <= TOLERANCE,
                      f"{len(ad) - 1} suite functions x {len(cfg['numeric_seeds'])} points, "
                      f"sin(1000x) at {len(cfg['sin1000_points'])}; error estimate >= actual "
                      f"error at {bounded} of {components} components")]
    if have_nd:
        nd = {k: w["numdifftools"] for k, w in worst.items()}
        strictly = [k for k in ad if ad[k] > nd[k]]
        beyond = [k for k in strictly if max(ad[k], nd[k]) > TIE]
        detail = ", ".join(f"{k} {ad[k]:.1e} vs {nd[k]:.1e}" for k in strictly) or "none"
        targets.append(Target("7b", float(len(beyond)),
                              f"worse on {len(beyond)} of {len(ad)} (strictly: {detail})",
                              not beyond, f"ties below {TIE:g}; numdifftools "
                              f"{available['numdifftools']}"))
    else:
        targets.append(unmeasured("7b", f"numdifftools {available.get('numdifftools')}"))
    info = {"worst_rho_per_function": worst, "tie": TIE, "tolerance": TOLERANCE,
            "seeds": cfg["numeric_seeds"], "sin1000_points": cfg["sin1000_points"],
            "error_estimate_bounds": f"{bounded} of {components}",
            "evaluations_per_input": {n: counters[n][0] / inputs for n in names}}
    return rows, targets, info


def accuracy_table(info: dict) -> str:
    """The per-function table of worst rho (adaptive, central4, numdifftools) as text."""
    worst = info["worst_rho_per_function"]
    names = list(next(iter(worst.values())))
    lines = [f"{'function':<20}" + "".join(f"{n:>18}" for n in names)]
    for fn, row in worst.items():
        lines.append(f"{fn:<20}" + "".join(f"{row[n]:>18.1e}" for n in names))
    return "\n".join(lines)
