"""Reverse mode's sparse cotangent of a max/min reduction (``reverse.onehot``).

The OneHot's own operations are checked against the dense array it stands for; gradients that
carry one through broadcast adds, subtractions, matrix products, fan-out and the Newton step
are checked against JAX (the independent oracle, tests/jax_oracle.py, x64), with groups wide
enough (>= ``MIN_GROUP``) that the sparse path runs, and with ties and NaNs, which the dense
rule handles. Agreement per component in rho = |a - b| / max(1, |a| + |b|) <= 1e-12.
"""

import numpy as np
import pytest
from jax_oracle import jax, jax_function
from rho import rho
from sparse_spy import spy_made

import difflab as dl
from difflab.core.plan import compile_plan
from difflab.gradbench.newton import prepare_newton
from difflab.reverse.onehot import MIN_GROUP, OneHot, matmul_parts, of_extremum

TOL = 1e-12
SEED = 8101
W = MIN_GROUP + 8   # a group wide enough for the sparse path


def _rng():
    return np.random.default_rng(SEED)


def _sparse_2d(axis: int, shape=(5, W)) -> tuple[OneHot, np.ndarray]:
    x = _rng().uniform(-1, 1, shape)
    y = np.max(x, axis=axis, keepdims=True)
    y_bar = _rng().uniform(1, 2, np.max(x, axis=axis).shape)
    return of_extremum(x, y, y_bar, (axis,)), (x == y) * np.expand_dims(y_bar, axis)


@pytest.mark.parametrize("axis", [0, 1])
def test_dense_add_into_neg_and_sums_are_the_dense_arrays(axis):
    shape = (W, 5) if axis == 0 else (5, W)
    sparse, dense = _sparse_2d(axis, shape)
    assert sparse is not None
    np.testing.assert_array_equal(sparse.dense(), dense)
    np.testing.assert_array_equal((-sparse).dense(), -dense)
    out = _rng().uniform(size=shape)
    expected = out + dense
    sparse.add_into(out)
    np.testing.assert_array_equal(out, expected)
    for axes in ((0,), (1,), (0, 1)):
        np.testing.assert_allclose(sparse.sum(axes), np.sum(dense, axis=axes), rtol=1e-15)


def test_sums_of_a_three_dimensional_one_hot():
    dense = np.zeros((3, 4, 5))
    flat = np.array([7, 22, 41, 59])
    value = np.array([1.5, -2.0, 0.25, 3.0])
    dense.reshape(-1)[flat] = value
    sparse = OneHot(dense.shape, flat, value)
    for axes in ((0,), (1,), (2,), (0, 2), (1, 2), (0, 1, 2)):
        np.testing.assert_allclose(sparse.sum(axes), np.sum(dense, axis=axes), rtol=1e-15)


@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize("need", [(True, False), (False, True), (True, True)])
def test_matmul_parts_are_the_dense_products(axis, need):
    n, k, d = (W, 6, 3) if axis == 0 else (6, W, 3)
    sparse, dense = _sparse_2d(axis, (n, k))
    a, b = _rng().uniform(size=(n, d)), _rng().uniform(size=(d, k))
    a_bar, b_bar = matmul_parts(sparse, a, b, need)
    if need[0]:
        np.testing.assert_allclose(a_bar, dense @ b.T, rtol=1e-14)
    else:
        assert a_bar is None
    if need[1]:
        np.testing.assert_allclose(b_bar, a.T @ dense, rtol=1e-14)
    else:
        assert b_bar is None


def test_ties_nans_and_narrow_groups_are_left_to_the_dense_rule():
    x = _rng().uniform(size=(4, W))
    x[2, [3, 9]] = 5.0                                    # a tie in row 2
    assert of_extremum(x, x.max(axis=1, keepdims=True), np.ones(4), (1,)) is None
    x = _rng().uniform(size=(4, W))
    x[1, 0] = np.nan                                      # a NaN row: no hit equals NaN
    assert of_extremum(x, x.max(axis=1, keepdims=True), np.ones(4), (1,)) is None
    x = _rng().uniform(size=(4, MIN_GROUP - 1))           # narrow groups: dense is cheaper
    assert of_extremum(x, x.max(axis=1, keepdims=True), np.ones(4), (1,)) is None
    x = np.linspace(0.0, 1.0, W)
    x[[4, 9]] = 3.0                                       # a tie of the whole array
    assert of_extremum(x, np.float64(3.0), 1.0, (0,)) is None
    x[4] = 2.0
    whole = of_extremum(x, np.float64(3.0), 2.0, (0,))
    assert (whole.flat, whole.value) == (9, 2.0)
    assert of_extremum(x[:MIN_GROUP - 1], np.float64(1.0), 1.0, (0,)) is None  # too small


CASES = [
    "sum(max(A, axis=1) * c)",                                   # partial, array y_bar
    "sum(min(D, axis=0) * c)",                                   # along axis 0
    "sum(max(A, axis=1, keepdims=True) * A)",                    # keepdims, fan-out into A
    "sum(min(B @ A, axis=1))",                                   # a matrix product's rule
    "sum(min(r + B @ A, axis=1)) + sum(r * r)",                  # a broadcast add's sum
    "sum(max(A - r, axis=1) * c) - sum(max(A, axis=1))",         # sub, then a second sparse
    "max(A) + log(sum(exp(A - max(A))))",                        # lse's shape: total max
    "sum(max(A, axis=1)) + sum(min(A, axis=1)) + sum(A * A)",    # two sparse and a dense sum
]


def _point(ties: bool) -> dict:
    rng = _rng()
    A = rng.uniform(-1, 1, (6, W))
    if ties:
        A[1, [0, 7]] = 3.0        # a tie within row 1, and one of the whole array's max
    return {"A": A, "B": rng.uniform(-1, 1, (6, 6)), "r": rng.uniform(-1, 1, (1, W)),
            "c": rng.uniform(1, 2, 6), "D": rng.uniform(-1, 1, (W, 6))}


@pytest.mark.parametrize("ties", [False, True], ids=["no ties", "ties"])
@pytest.mark.parametrize("text", CASES)
def test_gradients_through_one_hots_match_jax(text, ties, monkeypatch):
    made = spy_made(monkeypatch, "difflab.reverse.array_rules", "of_extremum")
    expr = dl.parse(text)
    point = _point(ties)
    names = list(compile_plan(expr).variables)
    point = {n: point[n] for n in names}
    got = dl.grad(expr, point, method="reverse")
    want = jax.grad(jax_function(expr, names), argnums=tuple(range(len(names))))(
        *(point[n] for n in names))
    for name, w in zip(names, want, strict=True):
        assert rho(got[name], np.asarray(w)) <= TOL, (text, name)
    if not ties:
        assert made and all(made), "the sparse path did not run"


def test_newton_step_through_a_one_hot_matches_jax():
    # k-means' shape: the nearest of W centroids, d = 3
    rng = _rng()
    P, C = rng.uniform(size=(50, 3)), rng.uniform(size=(W, 3))
    text = "sum(min(sum(C * C, axis=1)[None, :] + P @ (-2.0 * C).T, axis=1))"
    expr = dl.parse(text)
    step = prepare_newton(expr, ("C",), {"P": P.shape, "C": C.shape}, "reverse")(
        {"P": P, "C": C})["C"]
    f = jax_function(expr, ["P", "C"])
    g = jax.grad(f, argnums=1)
    hv = jax.jvp(lambda c: g(P, c), (C,), (np.ones_like(C),))[1]
    with np.errstate(invalid="ignore"):
        want = np.asarray(g(P, C)) / np.asarray(hv)
    both = np.isfinite(want)   # a centroid that no point is nearest to: 0 / 0 in both
    assert both.any()
    assert rho(step[both], want[both]) <= TOL
    np.testing.assert_array_equal(np.isfinite(step), both)
