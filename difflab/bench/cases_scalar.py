"""Benchmark cases on scalar graphs: targets 2 (micrograd's MLP), 4 (forward mode) and 6
(symbolic preparation and evaluation).

micrograd's workload is timed with Python's garbage collector on (its default, and how a
training loop runs) and, as a second figure, off; the collector runs untimed between calls so
that garbage left by one contender is not collected on another's clock.
"""

from __future__ import annotations

import time

import numpy as np

import difflab as dl

from ..lab.families import (
    build_logistic_map,
    build_rosenbrock,
    build_sum_nonlinear,
    sample_rosenbrock,
    sample_sum_nonlinear,
)
from . import peers
from .cases_array import AGREE, rho_max, rows_of
from .targets import Row, Target, ratio_text, time_text, unmeasured
from .timer import interleave, median, without_gc


def micrograd_case(cfg: dict, available: dict) -> tuple[list[Row], list[Target], dict]:
    """Targets 2a and 2b: build + backward of micrograd's MLP, against micrograd and JAX."""
    m = cfg["micrograd"]
    work = peers.scalar_mlp(tuple(m["sizes"]), m["samples"], cfg["seed"])
    ours = peers.difflab_step(work)
    contenders = {"difflab (dl.variables + dl.grad reverse)": ours,
                  "difflab, GC off": without_gc(ours),
                  "difflab, first step (nothing prepared)": peers.difflab_step(work, cold=True)}
    info: dict = {"parameters": len(work.weights)}
    have_micrograd = not available["micrograd"].startswith("unavailable")
    have_jax = not available["jax"].startswith("unavailable")
    if have_micrograd:
        theirs = peers.micrograd_step(work)
        contenders["micrograd"] = theirs
        contenders["micrograd, GC off"] = without_gc(theirs)
        info["micrograd_nodes"] = peers.micrograd_nodes(work)
        info["micrograd_chain_limit"] = peers.micrograd_chain_limit()
    if have_jax and m["jax_repeats"] > 0:
        contenders["JAX without jit"] = peers.jax_scalar_step(work)
    want = np.array(ours())
    agrees = {name: float(np.max(np.abs(np.array(fn()) - want) /
                                 np.maximum(1.0, np.abs(want)))) <= AGREE
              for name, fn in contenders.items()}
    loss = peers.scalar_loss(work, dl.variables([f"p{k}" for k in range(len(want))]), dl.relu)
    info["difflab_slots"] = dl.size(loss).dag_nodes
    samples = interleave(contenders, m["repeats"], 0.0, collect=True, warm=False,
                         caps={"JAX without jit": m["jax_repeats"]})  # (warmed by agrees)
    nodes = info.get("micrograd_nodes", info["difflab_slots"])
    rows = rows_of("micrograd MLP", samples, agrees=agrees)
    for row in rows:
        row.extra["per_node"] = row.median / nodes
    ours_t = median(samples["difflab (dl.variables + dl.grad reverse)"])
    targets = []
    if have_micrograd:
        r = ours_t / median(samples["micrograd"])
        r_off = median(samples["difflab, GC off"]) / median(samples["micrograd, GC off"])
        info["ratio_gc_off"] = r_off
        targets.append(Target("2a", r, f"{ratio_text(r)} (GC off: {ratio_text(r_off)})",
                              r <= 0.5 and agrees["micrograd"],
                              "judged with the garbage collector on (Python's default)"))
    else:
        targets.append(unmeasured("2a", f"micrograd {available['micrograd']}"))
    if "JAX without jit" in samples:
        r = median(samples["JAX without jit"]) / ours_t
        targets.append(Target("2b", r, f"{r:.0f}x", r >= 20 and agrees["JAX without jit"]))
    else:
        targets.append(unmeasured("2b", f"jax {available['jax']}"))
    return rows, targets, info


METHODS_N1 = ("forward", "reverse", "symbolic", "numeric", "jax")


def forward_case(cfg: dict, available: dict) -> tuple[list[Row], list[Target], dict]:
    """Target 4a (Rosenbrock n = 100, forward vs reverse) and 4b (n = 1: every method), with a
    sweep over n for the figure."""
    rows, sweep, agrees = [], [], True
    for n in cfg["rosenbrock_sizes"]:
        f = build_rosenbrock(n)
        point = sample_rosenbrock(np.random.default_rng(cfg["seed"]), {"n": n})
        want = dl.grad(f, point, method="reverse")
        agrees = agrees and rho_max(dl.grad(f, point, method="forward"), want) <= AGREE
        samples = interleave({m: (lambda m=m, f=f, point=point: dl.grad(f, point, method=m))
                              for m in ("forward", "reverse")}, cfg["repeats"], cfg["min_time"])
        sweep += rows_of("rosenbrock", samples, n=n)
    at = {(r.extra["n"], r.contender): r.median for r in sweep}
    n_max = max(cfg["rosenbrock_sizes"])
    ratio = at[(n_max, "forward")] / at[(n_max, "reverse")]
    targets = [Target("4a", ratio, f"{ratio_text(ratio)} at n = {n_max}",
                      ratio <= 3.0 and n_max == 100 and agrees,
                      "" if agrees else "forward and reverse gradients disagree")]

    f1 = build_sum_nonlinear(1)  # sin(x) exp(x) + log1p(x^2): n = 1 of a family of any n
    point = sample_sum_nonlinear(np.random.default_rng(cfg["seed"]), {"n": 1})
    methods = [m for m in METHODS_N1 if m != "jax" or not available["jax"].startswith("unav")]
    samples = interleave({m: (lambda m=m: dl.grad(f1, point, method=m)) for m in methods},
                         cfg["repeats"], cfg["min_time"])
    rows += rows_of("n = 1", samples)
    best = min(methods, key=lambda m: median(samples[m]))
    runner_up = min((m for m in methods if m != "forward"), key=lambda m: median(samples[m]))
    lead = median(samples[runner_up]) / median(samples["forward"])
    targets.append(Target("4b", lead, f"{best} fastest; {runner_up} / forward = "
                          f"{ratio_text(lead)}", best == "forward"))
    return rows + sweep, targets, {"n = 1 function": "sum_nonlinear(1): sin(x) exp(x) + "
                                   "log1p(x^2)", "rosenbrock_sizes": cfg["rosenbrock_sizes"]}


def symbolic_case(cfg: dict) -> tuple[list[Row], list[Target], dict]:
    """Target 6: preparing d l_13 symbolically (cold: SymPy's caches and ours emptied; warm),
    and its gradient per call against the tape's."""
    import sympy

    from .. import symbolic

    n = cfg["logistic_n"]
    cold, warm = [], []
    for _ in range(cfg["prepare_repeats"]):
        for kept, times in ((False, cold), (True, warm)):
            expr = build_logistic_map(n)  # a new graph: nothing cached on it
            symbolic._prepare.cache_clear()
            if not kept:
                sympy.core.cache.clear_cache()
            t0 = time.perf_counter()
            symbolic.prepare(expr, ("x",), {"x": ()})
            times.append(time.perf_counter() - t0)
    f = build_logistic_map(n)
    point = {"x": 0.2}
    want = dl.grad(f, point, method="reverse")
    agrees = rho_max(dl.grad(f, point, method="symbolic"), want) <= AGREE
    samples = interleave({m: (lambda m=m: dl.grad(f, point, method=m))
                          for m in ("symbolic", "reverse", "forward")},
                         cfg["repeats"], cfg["min_time"])
    rows = rows_of(f"logistic map l_{n}", samples)
    prep = median(cold)
    ratio = median(samples["symbolic"]) / median(samples["reverse"])
    targets = [Target("6a", prep, f"{time_text(prep)} (warm {time_text(median(warm))})",
                      prep < 2.0 and n == 13),
               Target("6b", ratio, ratio_text(ratio), ratio <= 1.0 and agrees,
                      "" if agrees else "symbolic gradient disagrees with the tape")]
    info = {"prepare_cold_s": cold, "prepare_warm_s": warm,
            "symbolic_info": {k: v for k, v in dl.prepared("grad", f, None, {}, "symbolic")
                              .info.items() if isinstance(v, int | float | str | bool)}}
    return rows, targets, info
