"""Forward over reverse with tangents only where the sweep reads smoothly (``reverse.reads``,
used by ``gradbench.newton``'s Newton step J ⊘ (H·1)).

References: JAX on the independent oracle (tests/jax_oracle.py, x64): J = jax.grad(f) and
H·1 = jax.jvp(jax.grad(f), x, ones), the step their ratio. Agreement per component in
rho = |a - b| / max(1, |a| + |b|) <= 1e-12. Structure: k-means' distance matrix, read by the
min reduction's mask only, carries no tangent.
"""

import numpy as np
import pytest
from jax_oracle import jax, jax_function
from rho import rho

import difflab as dl
from difflab.gradbench import newton
from difflab.gradbench.evals import kmeans
from difflab.reverse import compile_program, reads

TOL = 1e-12
SEED = 5150


CASES = [
    # (text, shapes, wrt): masks (max/min), smooth reads (mul, matmul, exp, square, div, sin)
    ("sum(min(square(P) @ C.T * 2.0 - P @ C.T, axis=0)) + sum(square(C))",
     {"P": (6, 2), "C": (3, 2)}, ("C",)),
    ("sum(exp(x * y) * x) + max(x * x) * sum(sin(x) / y)", {"x": (5,), "y": (5,)}, ("x",)),
    ("sum(max(A @ x, axis=0) * x[0:1]) + sum(exp(A) @ (x * x))", {"A": (4, 3), "x": (3,)},
     ("x",)),
    ("sum(square(x - max(x)) * exp(x - min(x))) + sum(x * x * x)", {"x": (7,)}, ("x",)),
]


@pytest.mark.parametrize("text, shapes, wrt", CASES)
def test_newton_step_matches_jax(text, shapes, wrt):
    rng = np.random.default_rng(SEED)
    point = {n: rng.uniform(0.3, 1.2, size=s) for n, s in shapes.items()}
    expr = dl.parse(text)
    got = newton.prepare_newton(expr, wrt, shapes, "reverse")(point)
    names = list(shapes)
    f = jax_function(expr, names)
    for k, name in enumerate(names):
        if name not in wrt:
            continue
        g = lambda v, k=k, name=name: jax.grad(f, argnums=k)(
            *[v if m == name else point[m] for m in names])
        J, Hv = jax.jvp(g, (point[name],), (np.ones(shapes[name]),))
        assert rho(got[name], np.asarray(J) / np.asarray(Hv)) <= TOL, (text, name)


def test_kmeans_distance_matrix_carries_no_tangent():
    n, k, d = 20, 4, 3
    expr = kmeans.objective(n, k, d)
    program = compile_program(expr, ("centroids",), {"points": (n, d), "centroids": (k, d)})
    plan = program.plan
    dual = reads.tangent_slots(program)
    (reduction,) = [s for s, op in enumerate(plan.ops) if op == "reduce_min"]
    distances = plan.args[reduction][0]
    assert program.shapes[distances] == (n, k)
    assert distances not in dual and reduction not in dual
    assert not any(program.shapes[s] == (n, k) for s in dual)  # nothing n x k is carried
    assert plan.var_slots["centroids"] in dual   # square(C)'s rule reads C smoothly


def test_kmeans_cost_makes_two_n_by_k_arrays():
    # the product P @ (-2 C)^T and its sum with the centroids' norms; the points' norms join
    # after the minimum (an n x k pass each fewer for the cost, its gradient and Newton step)
    n, k, d = 20, 4, 3
    program = compile_program(kmeans.objective(n, k, d), ("centroids",),
                              {"points": (n, d), "centroids": (k, d)})
    assert sum(shape == (n, k) for shape in program.shapes) == 2
