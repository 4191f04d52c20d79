"""GradBench's ``ode`` eval (cmpad's ``an_ode``): RK4 on a chain of linear ODEs.

    y_0' = x_0,   y_i' = x_i y_{i-1} (i > 0),   y(0) = 0,   integrated to t_f = 2

with s steps of the classical Runge–Kutta method (h = 2 / s):

    k1 = f(y), k2 = f(y + h/2 k1), k3 = f(y + h/2 k2), k4 = f(y + h k3),
    y <- y + h/6 (k1 + 2 k2 + 2 k3 + k4)

``primal`` is y(2) (shape (n,)), ``gradient`` the gradient of its last entry y_{n-1}(2) with
respect to x. In the IR, f(y) = x * concatenate([1], y[:-1]) (the shift feeds y_{i-1} to
component i, and the constant 1 makes y_0' = x_0); the s steps are unrolled.

Workloads: x = rand(n) in turn from RandomState(31337), (n, s) for n in 1000, 10000,
100000 and s in 1, 10, 100, sorted by n·s (ties in the eval's order).
"""

from __future__ import annotations

import numpy as np

from ...core.arrays import concatenate
from ...core.expr import Expr, constant, variable
from ..spec import JSON, Derivative, Eval, array, floats, integer, within

NAME = "ode"
T_FINAL = 2.0
SEED = 31337      # np.random.seed(31337) once, then each workload in turn
WORKLOADS = [{"n": n, "s": s} for n, s in sorted(
    [(n, s) for n in (1000, 10000, 100000) for s in (1, 10, 100)], key=lambda v: v[0] * v[1])]
# The s steps are unrolled into the IR (some 30 nodes a step) and each step's values are
# arrays of n: s is bounded by MAX_STEPS (100 times the eval's largest; the reverse gradient
# at s = 10^4 takes 7 s), n * s by ODE_WORK (13 times the largest, n = 10^5 and s = 100)
MAX_STEPS = 10 ** 4
ODE_WORK = 2 ** 27


def sizes(input: JSON) -> tuple:
    """(n, s), within MAX_STEPS and ODE_WORK."""
    s = integer(input, "s", 1, MAX_STEPS, " (difflab's bound MAX_STEPS: the steps are "
                "unrolled)")
    n = len(array(input, "x", 1, nonempty=True))
    within(n * s, ODE_WORK, "n * s (x's length times field 's')", "ODE_WORK")
    return (n, s)


def point(input: JSON, sizes: tuple) -> dict:
    """{"x": float64 array (n,)}."""
    return {"x": array(input, "x", 1)}


def objective(n: int, s: int) -> Expr:
    """y(2) after s RK4 steps, as a function of x of shape (n,)."""
    x = variable("x")
    one = constant(np.ones(1))

    def f(y):
        return x * (concatenate([one, y[:-1]]) if n > 1 else one)

    h = T_FINAL / s
    y = constant(np.zeros(n))
    for _ in range(s):
        k1 = f(y)
        k2 = f(y + (h / 2) * k1)
        k3 = f(y + (h / 2) * k2)
        k4 = f(y + h * k3)
        y = y + (h / 6) * (k1 + (2.0 * k2 + 2.0 * k3 + k4))
    return y


def derivative(sizes: tuple, method: str) -> Derivative:
    """The gradient of y_{n-1}(2) with respect to x."""
    return Derivative("grad", objective(*sizes)[-1], ("x",))


def draw(rng: np.random.RandomState, params: dict) -> dict:
    """One workload's input as the eval draws it: x = rand(n), and s."""
    return {"x": rng.rand(params["n"]), "s": params["s"]}


EVAL = Eval(NAME, "primal", "gradient", sizes, point, objective, derivative,
            primal_output=lambda value, input: floats(value),
            derivative_output=lambda result, input: floats(result["x"]))
