"""GradBench's ``kmeans`` eval: the Newton direction of the k-means cost.

    cost(P, C) = Σ_i min_j ‖C_j - P_i‖²          P: n points (n, d), C: k centroids (k, d)
    dir(P, C)  = J ⊘ H,   J = ∂cost/∂C,   H = the Hessian's diagonal

The squared distances are ‖P_i‖² + ‖C_j‖² - 2 P_i·C_j (an (n, k) matrix from one matrix
product, as in GradBench's JAX tool), the minimum a min reduction over the centroids; the
point's own ‖P_i‖² is added after the minimum (it does not depend on j), and the -2 scales C
(k x d) rather than the n x k product. The
Hessian is diagonal (2 × the size of each cluster, per coordinate), so diag H = H·1; ``dir``
is the method's gradient divided by the method's Hessian-vector product with ones
(``newton.py``; the Newton step of each centroid is C_j minus the mean of its points).

Workloads: points = rand(n, d) in turn from RandomState(31337) and centroids = the last k
points (so no cluster is empty), (k, n, d) for k in 10, 100, 1000, n in 1000, 10000 and d in
8, 16, sorted by k·n·d (ties in the eval's order).
"""

from __future__ import annotations

import numpy as np

from ...core.expr import Expr, square, variable
from ...core.expr import min as reduce_min
from ...core.expr import sum as reduce_sum
from ..spec import JSON, Derivative, Eval, InputError, array, floats, within

NAME = "kmeans"
SEED = 31337      # np.random.seed(31337) once, then each workload in turn
WORKLOADS = [{"k": k, "n": n, "d": d} for k, n, d in sorted(
    [(k, n, d) for k in (10, 100, 1000) for n in (1000, 10000) for d in (8, 16)],
    key=lambda v: v[0] * v[1] * v[2])]
KMEANS_WORK = 2 ** 27  # entries of the (n, k) distances: 13 times the eval's largest (10^7)


def sizes(input: JSON) -> tuple:
    """(n, k, d)."""
    P, C = array(input, "points", 2, nonempty=True), array(input, "centroids", 2, nonempty=True)
    if P.shape[1:] != C.shape[1:]:
        raise InputError(f"points {P.shape} and centroids {C.shape} differ in dimension")
    n, k, d = P.shape[0], C.shape[0], C.shape[1]
    within(n * k, KMEANS_WORK, "n * k (the rows of fields 'points' and 'centroids')",
           "KMEANS_WORK")
    return (n, k, d)


def point(input: JSON, sizes: tuple) -> dict:
    """{"points": (n, d), "centroids": (k, d)}."""
    return {"points": array(input, "points", 2), "centroids": array(input, "centroids", 2)}


def objective(n: int, k: int, d: int) -> Expr:
    """Σ_i min_j ‖C_j - P_i‖² with P = ``points`` (data) and C = ``centroids``."""
    P, C = variable("points"), variable("centroids")
    # min_j (‖P_i‖² + ‖C_j‖² - 2 P_i·C_j) = ‖P_i‖² + min_j (‖C_j‖² + P_i·(-2 C_j)): the
    # point's own term leaves the minimum and the -2 scales C, so the only n x k arrays are
    # one matrix product, one broadcast add and the min
    shifted = reduce_sum(square(C), axis=1)[None, :] + P @ (-2.0 * C).T
    return reduce_sum(square(P)) + reduce_sum(reduce_min(shifted, axis=1))


def derivative(sizes: tuple, method: str) -> Derivative:
    """J ⊘ (H·1) with respect to the centroids."""
    return Derivative("newton", objective(*sizes), ("centroids",))


def draw(rng: np.random.RandomState, params: dict) -> dict:
    """One workload's input as the eval draws it: rand(n, d), centroids its last k rows."""
    points = rng.rand(params["n"], params["d"])
    return {"points": points, "centroids": points[-params["k"]:].copy()}


EVAL = Eval(NAME, "cost", "dir", sizes, point, objective, derivative,
            primal_output=lambda value, input: float(value),
            derivative_output=lambda result, input: floats(result["centroids"]))
