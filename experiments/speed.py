"""Speed: difflab's engines next to micrograd, HIPS autograd and JAX, one target per line.

Times the MLP loss (batch 256, 784-128-10, tanh, MSE) by reverse mode against a hand-written
NumPy backward pass, autograd and JAX with and without jit; the per-call cost of a 10-node
scalar gradient; micrograd's own scalar MLP (16-32-32-1 over 8 samples) built and
differentiated by difflab, micrograd and JAX without jit; 10,000 points in one call against
10,000 calls; forward against reverse mode (Rosenbrock up to n = 100, and every method at
n = 1); the tape's memory; preparing and evaluating the derivative of the logistic map l_13;
the adaptive finite differences against the 50-digit truth and numdifftools on the scalar
suite and sin(1000 x);
reverse mode's Jacobian R^8 -> R^1024 and Rosenbrock's Hessian at n = 128 (one batched sweep
each) against jax.jit(jax.jacrev) and jax.jit(jax.hessian);
preparing deep symbolic derivatives (Euler with 1,000 steps, Rosenbrock written with sum()).
Medians of interleaved runs in one process, float64. `make bench` runs it; the table of
targets is printed and written to reports/bench/ with the figures.
"""

CONFIG = {
    "seed": 0, "repeats": 9, "min_time": 0.05, "threads": 1, "out": "reports/bench",
    "mlp": {"batch": 256, "inputs": 784, "hidden": 128, "outputs": 10}, "memory_repeats": 3,
    "micrograd": {"sizes": [16, 32, 32, 1], "samples": 8, "repeats": 15, "jax_repeats": 3},
    "points": 10_000, "batch_repeats": 5,
    "rosenbrock_sizes": [2, 5, 10, 20, 50, 100],
    "logistic_n": 13, "prepare_repeats": 3, "euler_steps": 1000,
    "rosenbrock_sum_n": 1000,
    "numeric_seeds": [0, 1, 2, 3, 4], "sin1000_points": [1.0, 0.3, -2.2, 5.0],
    "numeric_functions": None,    # None: all 42 functions of the scalar suite
    "jacobian_shape": [8, 1024],   # (n, m) of the reverse Jacobian target
    "hessian_n": 128,              # Rosenbrock's n for the reverse Hessian targets
}

# A smoke test: tiny sizes, one or two samples (the verdicts then mean nothing).
QUICK = {
    "repeats": 2, "min_time": 0.0, "out": "reports/bench-quick",
    "mlp": {"batch": 4, "inputs": 6, "hidden": 5, "outputs": 2}, "memory_repeats": 1,
    "micrograd": {"sizes": [3, 4, 1], "samples": 2, "repeats": 2, "jax_repeats": 1},
    "points": 50, "batch_repeats": 1, "rosenbrock_sizes": [2, 5], "logistic_n": 5,
    "prepare_repeats": 1, "euler_steps": 50, "rosenbrock_sum_n": 20, "numeric_seeds": [0],
    "sin1000_points": [1.0],
    "numeric_functions": ["squire_trapp", "sqrt_small", "relu_product", "cos_cancel",
                          "six_var"],
    "jacobian_shape": [2, 16], "hessian_n": 8,
}

from difflab.bench import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main(CONFIG, QUICK))
