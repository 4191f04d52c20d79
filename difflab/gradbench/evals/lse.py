"""GradBench's ``lse`` eval: log-sum-exp and its gradient, softmax.

    primal(x)   = a + log Σ_i exp(x_i - a),   a = max_i x_i
    gradient(x) = exp(x - a) / Σ_i exp(x_i - a)

Written from primitives (a max reduction, exp, sum, log), as the eval's README asks, not with
the IR's own ``logsumexp`` op. The shift a is differentiated too: its derivative cancels
(1 - Σ softmax = 0 at the max), as in GradBench's JAX tool.

Workloads: x = np.random.rand(n) drawn in turn from one RandomState(31337), for n = 2500,
5000, ..., 1280000 (``WORKLOADS``).
"""

from __future__ import annotations

import numpy as np

from ...core.expr import Expr, exp, log, variable
from ...core.expr import max as reduce_max
from ...core.expr import sum as reduce_sum
from ..spec import JSON, Derivative, Eval, array, floats

NAME = "lse"
WORKLOADS = [{"n": n} for n in (2500, 5000, 10000, 20000, 40000, 80000, 160000, 320000,
                                640000, 1280000)]
SEED = 31337      # np.random.seed(31337) once, then each workload in turn


def sizes(input: JSON) -> tuple:
    """(n,)."""
    return (len(array(input, "x", 1, nonempty=True)),)


def point(input: JSON, sizes: tuple) -> dict:
    """{"x": float64 array (n,)}."""
    return {"x": array(input, "x", 1)}


def objective(n: int) -> Expr:
    """max(x) + log(sum(exp(x - max(x)))) over x of shape (n,)."""
    x = variable("x")
    a = reduce_max(x)
    return a + log(reduce_sum(exp(x - a)))


def derivative(sizes: tuple, method: str) -> Derivative:
    """The gradient with respect to x."""
    return Derivative("grad", objective(*sizes), ("x",))


def draw(rng: np.random.RandomState, params: dict) -> dict:
    """One workload's input as the eval draws it: x = rand(n)."""
    return {"x": rng.rand(params["n"])}


EVAL = Eval(NAME, "primal", "gradient", sizes, point, objective, derivative,
            primal_output=lambda value, input: float(value),
            derivative_output=lambda result, input: floats(result["x"]))
