"""GradBench's ``gmm`` eval: the log posterior of a Gaussian mixture with a Wishart prior.

ADBench's GMM objective with GradBench's three fixes (a sign, the precision matrices'
orientation, the prior on the precisions). For k components in d dimensions and n points x_i:
Q_k is lower triangular with diagonal exp(q_k) and the strictly lower part filled column by
column from l_k; the precision is Q_kᵀ Q_k. With β_ik = α_k + Σ_j q_kj - ½‖Q_k (x_i - μ_k)‖²,

    F = -n d/2 log 2π + Σ_i logsumexp_k β_ik - n logsumexp(α)
        + k (n_w d (log γ - ½ log 2) - log Γ_d(n_w / 2))
        - Σ_k (½ γ² (‖exp(q_k)‖² + ‖l_k‖²) - m Σ_j q_kj),          n_w = d + m + 1

(log Γ_d, the multivariate log-gamma function, of constants: a number at build time).
``objective`` is F, ``jacobian`` its gradient with respect to α, μ, q and l, as an object
{alpha, mu, q, l} of the inputs' nesting.

In the IR, Q for all components is one gather: [exp(q) | l | 0] (k, d + d(d-1)/2 + 1) indexed
by a constant list of d² positions and reshaped to (k, d, d). Q_k x_i for every k and i is one
2-D matrix product, reshape(Q, (k d, d)) @ xᵀ, and Q_k μ_k a product summed over the last
axis; the squared norms are (k, n), the logsumexp runs over the components.

Workloads: per (d, k), in the eval's order (sorted by d·k), rng = default_rng(31337) afresh,
then x (n × normal(d)), alpha (normal(k)), mu (k × uniform(d)), q (k × normal(d)),
l (k × normal(d(d-1)/2)), in that order; n = 1000, m = 0, gamma = 1.
"""

from __future__ import annotations

import math

import numpy as np

from ...core.arrays import concatenate, logsumexp
from ...core.expr import Expr, constant, exp, reshape, square, variable
from ...core.expr import sum as reduce_sum
from ..spec import JSON, Derivative, Eval, InputError, array, field_of, floats, integer, within

NAME = "gmm"
SEED = 31337      # default_rng(31337) afresh for every workload
SEQUENTIAL = False
WORKLOADS = [{"d": d, "k": k, "n": 1000} for d, k in sorted(
    [(d, k) for d in (2, 10, 20, 32, 64) for k in (5, 10, 25, 50, 100)],
    key=lambda v: v[0] * v[1])]
WRT = ("alpha", "mu", "q", "l")
GMM_WORK = 2 ** 26  # entries of Q_k x_i, (k, d, n): 10 times the eval's largest (64 x 100 x 1000)


def sizes(input: JSON) -> tuple:
    """(n, k, d, m, gamma): the shapes and the prior's constants (they enter the IR)."""
    d, k, n, m = (integer(input, name, low) for name, low in
                  (("d", 1), ("k", 1), ("n", 1), ("m", 0)))
    within(k * d * n, GMM_WORK, "k * d * n (of fields 'k', 'd' and 'n')", "GMM_WORK")
    gamma = field_of(input, "gamma")
    if isinstance(gamma, bool) or not isinstance(gamma, int | float) or not gamma > 0:
        raise InputError(f"gamma must be a positive number, got {gamma!r}")
    return (n, k, d, m, float(gamma))


def point(input: JSON, sizes: tuple) -> dict:
    """{"x": (n, d), "alpha": (k,), "mu": (k, d), "q": (k, d), "l": (k, d(d-1)/2)}."""
    n, k, d, _, _ = sizes
    shapes = {"x": (n, d), "alpha": (k,), "mu": (k, d), "q": (k, d), "l": (k, d * (d - 1) // 2)}
    out = {}
    for name, shape in shapes.items():
        value = array(input, name, len(shape))
        if value.size == 0:
            value = value.reshape(shape)
        if value.shape != shape:
            raise InputError(f"field {name!r} has shape {value.shape}; d = {d}, k = {k}, "
                             f"n = {n} need {shape}")
        out[name] = value
    return out


def log_gamma_d(a: float, d: int) -> float:
    """The multivariate log-gamma function log Γ_d(a) = d(d-1)/4 log π + Σ_j lgamma(a + (1-j)/2)."""
    return d * (d - 1) / 4 * math.log(math.pi) + sum(math.lgamma(a + (1 - j) / 2)
                                                     for j in range(1, d + 1))


def q_positions(d: int) -> list[int]:
    """Where each entry of Q (row-major d×d) sits in [exp(q) | l | 0]: the diagonal in
    exp(q), the strictly lower part in l column by column, zeros above."""
    L = d * (d - 1) // 2
    index, position = {}, 0
    for j in range(d):
        for i in range(j + 1, d):
            index[i, j] = d + position
            position += 1
    return [i if i == j else index.get((i, j), d + L) for i in range(d) for j in range(d)]


def objective(n: int, k: int, d: int, m: int, gamma: float) -> Expr:
    """F, the log posterior, over alpha, mu, q, l (and the data x)."""
    x, alpha, mu, q, l = (variable(name) for name in ("x", "alpha", "mu", "q", "l"))
    parts = [exp(q), l, constant(np.zeros((k, 1)))] if d > 1 else [exp(q), constant(
        np.zeros((k, 1)))]
    Q = reshape(concatenate(parts, axis=1)[:, q_positions(d)], (k, d, d))
    Qx = reshape(reshape(Q, (k * d, d)) @ x.T, (k, d, n))         # Q_k x_i
    Qmu = reduce_sum(Q * reshape(mu, (k, 1, d)), axis=2)          # Q_k mu_k, (k, d)
    sq = reduce_sum(square(Qx - reshape(Qmu, (k, d, 1))), axis=1)  # (k, n)
    sum_q = reduce_sum(q, axis=1)
    beta = reshape(alpha + sum_q, (k, 1)) - 0.5 * sq
    n_w = d + m + 1
    const = (-n * d / 2 * math.log(2 * math.pi)
             + k * (n_w * d * (math.log(gamma) - 0.5 * math.log(2)) - log_gamma_d(n_w / 2, d)))
    frobenius = reduce_sum(square(exp(q))) + (reduce_sum(square(l)) if d > 1 else 0.0)
    prior = 0.5 * gamma * gamma * frobenius - m * reduce_sum(sum_q)
    return reduce_sum(logsumexp(beta, axis=0)) - n * logsumexp(alpha) + const - prior


def derivative(sizes: tuple, method: str) -> Derivative:
    """The gradient with respect to alpha, mu, q and l (l only where d > 1)."""
    return Derivative("grad", objective(*sizes), WRT if sizes[2] > 1 else WRT[:3])


def jacobian_output(result: dict, input: JSON) -> dict:
    """{alpha, mu, q, l} nested as the input (l of empty rows where d = 1)."""
    out = {name: floats(result[name]) for name in WRT[:3]}
    out["l"] = floats(result["l"]) if "l" in result else [[] for _ in out["alpha"]]
    return out


def draw(rng: np.random.Generator, params: dict) -> dict:
    """One workload's input as the eval draws it from default_rng(31337)."""
    d, k, n = params["d"], params["k"], params["n"]
    return {"d": d, "k": k, "n": n,
            "x": np.array([rng.normal(size=d) for _ in range(n)]), "m": 0, "gamma": 1.0,
            "alpha": rng.normal(size=k), "mu": np.array([rng.uniform(size=d) for _ in range(k)]),
            "q": np.array([rng.normal(size=d) for _ in range(k)]),
            "l": np.array([rng.normal(size=d * (d - 1) // 2) for _ in range(k)]).reshape(
                k, d * (d - 1) // 2)}


EVAL = Eval(NAME, "objective", "jacobian", sizes, point, objective, derivative,
            primal_output=lambda value, input: float(value), derivative_output=jacobian_output)
