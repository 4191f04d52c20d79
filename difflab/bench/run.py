"""Running the benchmark: pin threads, run every case, print the target table, write the report.

A case that fails (a peer that breaks, a bug) is reported with its targets as not measured and
the run goes on; a peer that is not installed only removes its rows.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from ..lab.machine import describe_machine
from ..lab.timing import thread_env, thread_settings
from . import cases_array, cases_numeric, cases_reverse, cases_scalar, cases_symbolic, peers
from .targets import TARGETS, table, unmeasured

DEFAULTS = {
    "seed": 0, "repeats": 9, "min_time": 0.05, "threads": 1, "out": "reports/bench",
    "mlp": {"batch": 256, "inputs": 784, "hidden": 128, "outputs": 10}, "memory_repeats": 3,
    "micrograd": {"sizes": [16, 32, 32, 1], "samples": 8, "repeats": 15, "jax_repeats": 3},
    "points": 10_000, "batch_repeats": 5,
    "rosenbrock_sizes": [2, 5, 10, 20, 50, 100],
    "logistic_n": 13, "prepare_repeats": 3, "euler_steps": 1000, "rosenbrock_sum_n": 1000,
    "numeric_seeds": [0, 1, 2, 3, 4], "sin1000_points": [1.0, 0.3, -2.2, 5.0],
    "numeric_functions": None,
    "jacobian_shape": [8, 1024], "hessian_n": 128,
}


def _threads(threads: int | None) -> tuple[contextlib.AbstractContextManager, dict]:
    """Pin BLAS (threadpoolctl, now) and XLA (XLA_FLAGS, before jax loads) to ``threads``;
    returns the pinning context and what is in force (pools, kernel, variables)."""
    if threads and "jax" not in sys.modules:
        os.environ["XLA_FLAGS"] = thread_env(threads)["XLA_FLAGS"]
    info: dict = {"requested": threads, "environment": thread_settings(),
                  "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
                  "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE")}
    try:
        import threadpoolctl
    except ImportError:
        info["blas"] = "threadpoolctl not installed: BLAS threads not pinned or recorded"
        return contextlib.nullcontext(), info
    # (threadpool_limits pins as it is made; leaving its block restores the pools)
    limit = threadpoolctl.threadpool_limits(threads) if threads else contextlib.nullcontext()
    info["blas"] = [{k: pool.get(k) for k in ("internal_api", "version", "num_threads",
                                              "architecture", "threading_layer")}
                    for pool in threadpoolctl.threadpool_info()]
    return limit, info


def run(config: dict | None = None, echo: Callable[[str], None] = print) -> dict:
    """Run every case with ``config`` (over ``DEFAULTS``), print the target table, write the
    report into ``config["out"]``.

    Returns:
        {"targets": [...], "rows": [...], "table": text, "report": path of speed.md}.
    """
    from . import report

    cfg = {**DEFAULTS, **(config or {})}
    limit, threads = _threads(cfg["threads"])
    available = peers.availability()
    echo("peers: " + ", ".join(f"{k} {v}" for k, v in available.items()))
    rows, targets, memory, extras = [], [], [], {"available": available}
    cases = [
        ("mlp", lambda: cases_array.mlp_case(cfg, available), ("1a", "5")),
        ("overhead", lambda: cases_array.overhead_case(cfg), ("1b",)),
        ("micrograd", lambda: cases_scalar.micrograd_case(cfg, available), ("2a", "2b")),
        ("batched", lambda: cases_array.batched_case(cfg), ("3",)),
        ("forward", lambda: cases_scalar.forward_case(cfg, available), ("4a", "4b")),
        ("symbolic", lambda: cases_scalar.symbolic_case(cfg), ("6a", "6b")),
        ("deep symbolic", lambda: cases_symbolic.deep_symbolic_case(cfg), ("6c", "6d")),
        ("numeric", lambda: cases_numeric.numeric_case(cfg, available), ("7a", "7b")),
        ("reverse", lambda: cases_reverse.reverse_case(cfg, available), cases_reverse.KEYS),
    ]
    with limit:
        for name, case, keys in cases:
            echo(f"case {name} ...")
            try:
                got = case()
            except Exception as err:  # report it, keep going
                echo("".join(traceback.format_exception(err)[-3:]))
                targets += [unmeasured(k, f"case failed: {type(err).__name__}: {err}")
                            for k in keys]
                continue
            rows += got[0]
            targets += got[1]
            if name == "mlp":
                memory = got[2]
            elif len(got) > 2:
                extras[name] = got[2]
            if name == "numeric":
                echo(cases_numeric.accuracy_table(got[2]))
    text = table(targets)
    echo(text)
    meta = {**describe_machine(), "threads": threads, "config": cfg}
    page = report.write(Path(cfg["out"]), targets, rows, memory, extras, meta)
    echo(f"report: {page}")
    return {"targets": targets, "rows": rows, "table": text, "report": page,
            "all_targets": list(TARGETS)}


def main(config: dict, quick: dict | None = None, argv: list[str] | None = None) -> int:
    """Command line of experiments/speed.py: ``--quick`` applies the QUICK overrides,
    ``--out DIR`` writes the report elsewhere. Returns 0 (the verdicts are in the report)."""
    parser = argparse.ArgumentParser(description="difflab speed benchmark")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test")
    parser.add_argument("--out", help="report directory (default from CONFIG)")
    args = parser.parse_args(argv)
    cfg = {**config, **(quick or {})} if args.quick else dict(config)
    if args.out:
        cfg["out"] = args.out
    run(cfg)
    return 0
