"""Reverse mode's max/min reduction rule (``reverse.array_rules._reduce_extremum_vjp``).

The rule shares a cotangent equally among the elements equal to the result (JAX's rule); on
plain arrays it has a fast path for the tie-free case (a 0/1 mask scaled in place) and a
scalar-cotangent product for a total reduction. Checked against jax.grad / jax.jacrev on the
independent oracle (tests/jax_oracle.py, x64), with ties, partial axes, keepdims and a batch
of cotangents. Agreement per component in rho = |a - b| / max(1, |a| + |b|) <= 1e-12.
"""

import numpy as np
import pytest
from jax_oracle import jax, jax_function
from rho import rho

import difflab as dl

TOL = 1e-12
SEED = 7101


def _points():
    rng = np.random.default_rng(SEED)
    A = rng.uniform(-1, 1, size=(4, 5))
    tied = A.copy()
    tied[1, [0, 3]] = 2.0        # a tie within row 1 and within columns 0, 3
    tied[2, 3] = 2.0             # ... and a three-way tie of the whole array's max
    return {"no ties": A, "ties": tied}


CASES = [
    "max(A) * 3.0 + sum(A)",                                  # total reduction, scalar y_bar
    "min(A) - max(A) * max(A)",                               # cotangent != 1 at the max
    "sum(max(A, axis=1) * [1.0, 2.0, 3.0, 4.0])",              # partial reduction, array y_bar
    "sum(min(A, axis=0) * [1.0, -2.0, 3.0, 0.5, 2.0])",
    "sum(max(A, axis=1, keepdims=True) * A)",                  # keepdims, fan-out into A
    "max(A) + log(sum(exp(A - max(A))))",                      # lse's shape: the shift's path
    "sum(min(A, axis=1))",                                     # a sum's broadcast 1: no product
    "3.0 * sum(max(A, axis=0))",                               # a sum's broadcast 3: a scalar
]


@pytest.mark.parametrize("text", CASES)
@pytest.mark.parametrize("which", ["no ties", "ties"])
def test_reduce_extremum_gradient_matches_jax(text, which):
    A = _points()[which]
    expr = dl.parse(text)
    got = dl.grad(expr, {"A": A}, method="reverse")["A"]
    want = np.asarray(jax.grad(jax_function(expr, ["A"]))(A))
    assert rho(got, want) <= TOL, (text, which, got, want)


@pytest.mark.parametrize("which", ["no ties", "ties"])
def test_reduce_extremum_batched_jacobian_matches_jax(which):
    # a batch of cotangents in front of the value axes (one per output)
    A = _points()[which]
    expr = dl.parse("max(A * A, axis=1) - min(A, axis=1) * 2.0")
    got = dl.jacobian(expr, {"A": A}, method="reverse")["A"]
    want = np.asarray(jax.jacrev(jax_function(expr, ["A"]))(A))
    assert rho(got, want) <= TOL


def test_tied_max_splits_the_cotangent():
    # by hand: three elements equal to the max share 1/3 each of d/dmax = 5
    x = np.array([1.0, 4.0, -2.0, 4.0, 4.0])
    g = dl.grad("5.0 * max(x)", {"x": x}, method="reverse")["x"]
    assert rho(g, np.array([0.0, 5.0, 0.0, 5.0, 5.0]) / 3.0) <= 1e-15  # (5 * (1/3) rounds)
