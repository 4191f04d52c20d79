"""GradBench's workloads: every method's derivative/primal beside JAX, PyTorch and C++.

The evals of GradBench (github.com/gradbench/gradbench) in difflab's IR (difflab.gradbench),
on GradBench's own workloads (sizes, seeds and formulas of each eval's generator), by every
method: the ratio derivative / primal and the time per derivative, accuracy against the same
function by JAX (and the 50-digit truth at tiny sizes), beside the ratios GradBench publishes
for jax, pytorch and manual (its nightly run of 2026-03-14, commit f26651a7).
"""

CONFIG = {
    # "all" of GradBench's default workloads, a number (the first k), or a list of sizes. The
    # report's budget (ten minutes for every experiment on 2 cores) takes the first few of
    # each eval: their ratios are GradBench's at the same workloads.
    "evals": {"lse": 2, "llsq": 4, "gmm": 3, "kmeans": 2, "ode": 2,
              "det": 4, "lstm": 1, "ba": 1, "ht": 1},
    "methods": ["reverse", "forward", "numeric", "symbolic", "jax"],
    # Budget caps (workloads per eval, in GradBench's order): symbolic scalarises arrays and
    # meets its budget at the first sizes; numeric's adaptive differences cost ~10-60
    # evaluations of f per input.
    "max_workloads": {"symbolic": 1, "numeric": 1, "forward": 12},
    # rho = |a - b| / max(1, |a| + |b|) against JAX, per method: the exact methods sum up to
    # 10^5 products in another order than XLA (gmm at d = 64 differs by rho 4e-12), beyond
    # the lab's default of 1e-12 for a few terms
    "tolerances": {"reverse": 1e-10, "forward": 1e-10, "symbolic": 1e-10, "jax": 1e-10},
    # The 50-digit truth (difflab.truth) at these tiny sizes, every method's derivative
    "truth_sizes": {"lse": {"n": 6}, "llsq": {"n": 5, "m": 3},
                    "gmm": {"d": 2, "k": 2, "n": 3}, "kmeans": {"k": 2, "n": 6, "d": 2},
                    "ode": {"n": 3, "s": 2}, "det": {"ell": 3}, "lstm": {"l": 1, "c": 3},
                    "ba": {"n": 1, "m": 1, "p": 1},
                    "ht": {"N": 2, "V": 4, "complicated": False}},
    "truth_max_tree": 400_000,  # difflab.truth's budget (scalar tree x inputs), where it has one
    "seed": 0,
    "isolate": True,          # cells in a worker process with hard limits
    "time_limit": 20.0,       # seconds per cell (preparation, truth and timing included)
    "memory_limit_mib": 8192,
    "repeats": 6,             # passes over all cells: each time a median of 6 (interval 97%)
    "min_time": 0.0005,       # timing of one repeat: least time of a batch (short: a loaded
    "samples": 5,             # machine preempts long ones), batches, seconds per cell
    "max_time": 0.05,
}
QUICK = {
    "evals": {"lse": [{"n": 100}, {"n": 1000}], "llsq": [{"n": 16, "m": 8}],
              "gmm": [{"d": 2, "k": 3, "n": 20}], "kmeans": [{"k": 3, "n": 40, "d": 2}],
              "ode": [{"n": 20, "s": 2}], "det": [{"ell": 4}], "lstm": [{"l": 1, "c": 6}],
              "ba": [{"n": 2, "m": 3, "p": 7}],
              "ht": [{"N": 4, "V": 10, "complicated": True}]},
    "methods": ["reverse", "forward", "numeric"],
    "truth_sizes": {"lse": {"n": 4}, "det": {"ell": 2}},
    "isolate": False,
    "time_limit": 30.0,
    "repeats": 3,
    "min_time": 0.0005,
    "samples": 3,
    "max_time": 0.02,
}

from difflab.lab.experiments import main  # noqa: E402 - the config block comes first

if __name__ == "__main__":
    main(__file__)
