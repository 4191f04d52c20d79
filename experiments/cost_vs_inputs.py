"""How does the cost of one gradient grow with the number of inputs n?

f = sum_i sin(x_i) exp(x_i / n) + log1p(x_i^2) over n scalar variables, n = 1 .. 1000, by every
method: time per gradient, t(grad) / t(f) against the cheap-gradient bound (omega ~ 3-5,
Griewank & Walther), and noise-free operation counts from the IR. Finite differences and
forward mode should grow like n; reverse mode should stay a constant multiple of f.
"""

CONFIG = {
    "problem": "sum_nonlinear",           # n scalar variables x0 .. x{n-1}
    "sizes": [1, 3, 10, 30, 100, 300, 1000],
    "methods": ["numeric", "forward", "reverse", "symbolic", "jax"],
    # Budget caps: finite differences cost ~4n evaluations of an f that itself grows like n
    # (1.4 s per gradient at n = 100); SymPy's preparation grows ~n^2 (30 s at n = 1000);
    # JAX compiles the gradient and the jitted f, growing with the node count (22 s at n = 300).
    "max_n": {"numeric": 100, "symbolic": 100, "jax": 100},
    "fit_from": 10,        # slopes are fitted for n >= this (below, fixed overheads dominate)
    "seed": 0,
    # In-process: f is timed right before and after each size's cells, in the same process,
    # so the ratio t(grad)/t(f) shares the machine's conditions (every cell is bounded by
    # the caps above). True: cells in a worker with hard limits, f in this process.
    "isolate": False,
    "time_limit": 30.0,    # seconds per cell (enforced only with isolate)
    "repeats": 6,          # passes over the sweep: every time a median of 6 (interval 97%)
    "min_time": 0.01,      # timing of one repeat: least time of a batch, batches, seconds
    "samples": 3,
    "max_time": 0.1,
}
QUICK = {
    "sizes": [1, 4, 16, 64],
    "max_n": {"numeric": 64, "symbolic": 16, "jax": 4},
    "fit_from": 4,
    "repeats": 3,
    "min_time": 0.005,
    "samples": 2,
    "max_time": 0.05,
}

from difflab.lab.experiments import main  # noqa: E402 - the config block comes first

if __name__ == "__main__":
    main(__file__)
