"""How accurate is each method's Hessian, and how does its cost grow with the inputs?

Second derivatives by symbolic, numeric (second central differences), forward (forward over
forward), reverse (forward over reverse) and JAX (jax.hessian) on scalar-suite functions of
2-6 variables, Rosenbrock with n = 4..128 inputs and a small MLP loss, against the truth
(50-digit SymPy up to 30 inputs, JAX beyond); time per Hessian and its ratio to f.
"""

CONFIG = {
    "methods": ["symbolic", "numeric", "forward", "reverse", "jax"],
    "scalar": ["atan_ratio", "rational_3", "four_var", "five_var", "six_var"],  # 2..6 inputs
    "rosenbrock_n": [4, 8, 16, 32, 64, 128],          # rosenbrock over one array x (n,)
    "max_n": {"numeric": 64},  # 2n^2 + 1 evaluations: 33k at n = 128, seconds per Hessian
    "mlp": [{"width": 3, "depth": 1, "batch": 4, "inputs": 2, "outputs": 1}],  # 13 weights
    "repeats": 6,         # passes over all cells: each time a median of 6 (interval 97%)
    "min_time": 0.005,    # timing of one repeat: seconds per batch ...
    "samples": 3,         # ... batches wanted ...
    "max_time": 0.1,      # ... and at most this long sampling one cell
    "time_limit": 60.0,   # seconds per cell (hard, in the worker)
    "isolate": True,
}
QUICK = {
    "scalar": ["atan_ratio"],
    "rosenbrock_n": [2, 4],
    "mlp": [],            # an MLP costs two JAX Hessian compilations (truth and method)
    "repeats": 3,
    "samples": 2,
    "max_time": 0.03,
    "isolate": False,
}

from difflab.lab.experiments import main  # noqa: E402 - the config block comes first

if __name__ == "__main__":
    main(__file__)
