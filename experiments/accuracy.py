"""How close does each method's gradient get to the exact derivative?

Every method, every finite-difference scheme (``numeric`` is the adaptive default) and two
peers (numdifftools and scipy.differentiate, registered methods from the `peers` extra), on
the 42 functions of the scalar suite (each at its textbook point and at random points of its
domain) against the truth: SymPy's derivative evaluated at 50 digits. Error rho =
|a - b| / max(1, |a| + |b|) per component.
"""

CONFIG = {
    "methods": ["symbolic", "forward", "reverse", "jax",
                "numeric", "numeric:complex", "numeric:richardson", "numeric:central4",
                "numeric:central", "numeric:backward", "numeric:forward",
                "numdifftools", "scipy"],  # peers: pip install 'difflab[peers]'
    "problems": None,     # None: the whole scalar suite
    "seeds": [0, 1],      # seed 0: each function's textbook point; others: random in its box
    "isolate": True,      # cells in a worker process with hard limits
    "time_limit": 60.0,   # seconds per cell
}
QUICK = {
    "problems": ["squire_trapp", "logistic4", "exp_large", "sqrt_small", "relu_product",
                 "cos_cancel", "sin_inverse", "six_var"],
    "seeds": [0],
    "isolate": False,
}

from difflab.lab.experiments import main  # noqa: E402 - the config block comes first

if __name__ == "__main__":
    main(__file__)
