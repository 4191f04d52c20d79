"""GradBench's ``llsq`` eval (cmpad's ``llsq_obj``): a linear least-squares objective.

With t_i = -1 + 2 i / (n - 1) and s_i = sign(t_i) (sign(0) = 0), i = 0 .. n-1,

    primal(x)   = ½ Σ_i (s_i - Σ_j x_j t_i^j)²            x of shape (m,)
    gradient(x) = -Σ_i r_i t_i^j,   r_i = s_i - Σ_j x_j t_i^j

The monomials t_i^j depend on n and m only: they are a constant (n, m) matrix V of the IR,
built once per input shape, so f is ½ ‖s - V x‖² and its gradient -Vᵀ r. (GradBench's JAX
tool recomputes the powers inside f on every call, which adds work to its primal and its
gradient alike: its ratio gradient/primal is closer to 1 for that reason.)

Workloads: x = rand(m) in turn from RandomState(31337), (n, m) for n = 16 .. 16392 and
m = 128, sorted by n·m (``WORKLOADS``; the eval's n list has 8196 and 16392, sic).
"""

from __future__ import annotations

import numpy as np

from ...core.expr import Expr, constant, square, variable
from ...core.expr import sum as reduce_sum
from ..spec import JSON, Derivative, Eval, InputError, array, floats, integer, within

NAME = "llsq"
WORKLOADS = [{"n": n, "m": 128} for n in (16, 32, 64, 128, 256, 512, 1024, 2048, 4096,
                                          8196, 16392)]
SEED = 31337      # np.random.seed(31337) once, then each workload in turn
LLSQ_WORK = 2 ** 25  # entries of the (n, m) monomials: 16 times the eval's largest (16392 x 128)


def sizes(input: JSON) -> tuple:
    """(n, m)."""
    n = integer(input, "n", 2)
    m = len(array(input, "x", 1, nonempty=True))
    within(n * m, LLSQ_WORK, "n * m (field 'n' times x's length: the monomials' entries)",
           "LLSQ_WORK")
    return (n, m)


def point(input: JSON, sizes: tuple) -> dict:
    """{"x": float64 array (m,)}."""
    return {"x": array(input, "x", 1)}


def monomials(n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """(V, s): V[i, j] = t_i^j and s_i = sign(t_i), t_i = -1 + 2 i / (n - 1)."""
    if n < 2:
        raise InputError(f"llsq needs n >= 2 (t_i divides by n - 1), got n = {n}")
    t = -1.0 + np.arange(n) * 2.0 / (n - 1.0)
    return t[:, None] ** np.arange(m)[None, :], np.sign(t)


def objective(n: int, m: int) -> Expr:
    """½ Σ (s - V @ x)² for x of shape (m,), V and s constants of the sizes."""
    V, s = monomials(n, m)
    residual = constant(s) - constant(V) @ variable("x")
    return 0.5 * reduce_sum(square(residual))


def derivative(sizes: tuple, method: str) -> Derivative:
    """The gradient with respect to x."""
    return Derivative("grad", objective(*sizes), ("x",))


def draw(rng: np.random.RandomState, params: dict) -> dict:
    """One workload's input as the eval draws it: x = rand(m), and n."""
    return {"x": rng.rand(params["m"]), "n": params["n"]}


EVAL = Eval(NAME, "primal", "gradient", sizes, point, objective, derivative,
            primal_output=lambda value, input: float(value),
            derivative_output=lambda result, input: floats(result["x"]))
