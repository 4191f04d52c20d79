"""For a map R^n -> R^m with n·m fixed, where do forward and reverse mode cross over?

y = tanh(A x + b) with n·m = 4096 fixed, from tall (n = 1, m = 4096) to wide (n = 4096,
m = 1): time per Jacobian by difflab's forward mode (n directions in one pass) and reverse
mode (m cotangents in one backward sweep), and by JAX's jacfwd and jacrev. Pass counts
predict the crossover at n = m; the measurement shows where it really is.
"""

CONFIG = {
    "product": 4096,       # n·m, a power of two
    "step": 1,             # n = 2^0, 2^step, 2^(2 step), ...
    "methods": ["forward", "reverse", "jax:jacfwd", "jax:jacrev"],
    "seed": 0,
    "isolate": True,       # cells in a worker process with hard limits
    "time_limit": 30.0,    # seconds per cell
    "repeats": 6,          # passes over all cells: each time is a median of 6 (interval 97%)
    "min_time": 0.005,     # timing of one repeat: least time of a batch, batches, seconds
    "samples": 3,
    "max_time": 0.1,
}
QUICK = {
    "product": 1024,
    "step": 5,             # n = 1, 32, 1024
    "isolate": False,
    "repeats": 3,
    "min_time": 0.002,
    "samples": 2,
    "max_time": 0.03,
}

from difflab.lab.experiments import main  # noqa: E402 - the config block comes first

if __name__ == "__main__":
    main(__file__)
