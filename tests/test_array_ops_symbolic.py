"""The array ops in symbolic and in the 50-digit truth, against JAX written by hand here.

Every new op (indexing, axis reductions, the softmax family, where and its halves, the
comparisons, reshape, permute, concat, square) in a case over x (4,), A (2, 3) and a scalar s,
at a point away from ties and kinks, next to the same function written in jax.numpy. Gradients
and values must agree within rho = |a - b| / max(1, |a| + |b|) <= 1e-12 (both sides are
float64; the truth is correctly rounded), Hessians within 1e-11. Ties, where's boundary and
comparisons at equality are checked in every exact method against JAX's conventions (exact
fractions: 1/2, 1/3); finite differences straddle those discontinuities by design and are
not asked there. Stability: logsumexp, softmax and log_softmax at 1000s against mpmath at 50
digits (rtol 1e-15 for the truth, 1e-12 for symbolic's float64 code).
"""

import functools

import mpmath
import numpy as np
import pytest
from jax_oracle import jax, jnp

import difflab as dl
from difflab import symbolic, truth
from difflab.core import arrays as arrays_mod
from difflab.core import ops
from difflab.core.graph import toposort

EXACT = ("symbolic", "forward", "reverse", "jax")
TOL, HESSIAN_TOL = 1e-12, 1e-11

POINT = {"x": np.array([0.7, -1.3, 0.4, 1.1]), "A": np.array([[0.2, 0.9, -0.6],
                                                              [1.4, -0.3, 0.8]]), "s": 0.85}
NAMES = ("x", "A", "s")
CUT = np.array([0.5, -1.5, 0.9, 0.6])  # compared with x: mixed masks, no ties at POINT


def _concat(a, b, axis):
    return arrays_mod.concat(a, b, axis)


# case -> (difflab expression of x, A, s; the same in jax.numpy). Each case uses its op (its
# name) at least once, with its constant parameters in several forms.
CASES = {
    "index": (
        lambda x, A, s: dl.sum(x[1:3] * A[1, ::-1][:2]) + A[0, -1] * dl.sum(x[[0, 0, 3]]) +
        dl.sum(A[..., None, 1] * s),
        lambda x, A, s: jnp.sum(x[1:3] * A[1, ::-1][:2]) + A[0, -1] *
        jnp.sum(x[jnp.array([0, 0, 3])]) + jnp.sum(A[..., None, 1] * s)),
    "reduce_sum": (
        lambda x, A, s: dl.sum(dl.sum(A, axis=0) * x[:3]) +
        dl.sum(dl.sum(A * s, axis=(0, 1), keepdims=True) * A),
        lambda x, A, s: jnp.sum(jnp.sum(A, axis=0) * x[:3]) +
        jnp.sum(jnp.sum(A * s, axis=(0, 1), keepdims=True) * A)),
    "reduce_mean": (
        lambda x, A, s: dl.sum(dl.mean(A * A, axis=-1) * x[1:3]) +
        dl.sum(dl.mean(A * s, axis=0, keepdims=True) * A),
        lambda x, A, s: jnp.sum(jnp.mean(A * A, axis=-1) * x[1:3]) +
        jnp.sum(jnp.mean(A * s, axis=0, keepdims=True) * A)),
    "reduce_prod": (
        lambda x, A, s: dl.prod(x) + dl.sum(dl.prod(A + s, axis=1) * x[:2]),
        lambda x, A, s: jnp.prod(x) + jnp.sum(jnp.prod(A + s, axis=1) * x[:2])),
    "reduce_max": (
        lambda x, A, s: dl.max(x * s) + dl.sum(dl.max(A, axis=1) * x[2:]),
        lambda x, A, s: jnp.max(x * s) + jnp.sum(jnp.max(A, axis=1) * x[2:])),
    "reduce_min": (
        lambda x, A, s: dl.min(A) * s + dl.sum(dl.min(A * x[:3], axis=0, keepdims=True)),
        lambda x, A, s: jnp.min(A) * s + jnp.sum(jnp.min(A * x[:3], axis=0, keepdims=True))),
    "logsumexp": (
        lambda x, A, s: dl.logsumexp(x * s) + dl.sum(dl.logsumexp(A, axis=0) * x[:3]) +
        dl.sum(dl.logsumexp(A * s, axis=(0, 1), keepdims=True)),
        lambda x, A, s: jax.scipy.special.logsumexp(x * s) +
        jnp.sum(jax.scipy.special.logsumexp(A, axis=0) * x[:3]) +
        jnp.sum(jax.scipy.special.logsumexp(A * s, axis=(0, 1), keepdims=True))),
    "softmax": (
        lambda x, A, s: dl.sum(dl.softmax(x * s) * x) + dl.sum(dl.softmax(A, axis=0) * A),
        lambda x, A, s: jnp.sum(jax.nn.softmax(x * s) * x) +
        jnp.sum(jax.nn.softmax(A, axis=0) * A)),
    "log_softmax": (
        lambda x, A, s: dl.sum(dl.log_softmax(A * s, axis=-1) * A) +
        dl.sum(dl.log_softmax(x) * x),
        lambda x, A, s: jnp.sum(jax.nn.log_softmax(A * s, axis=-1) * A) +
        jnp.sum(jax.nn.log_softmax(x) * x)),
    "reshape": (
        lambda x, A, s: dl.sum(dl.reshape(A, (3, 2)) * dl.reshape(x[:3] * s, (3, 1))) +
        dl.sum(dl.reshape(x, (2, -1)) ** 2 * A[:, :2]),
        lambda x, A, s: jnp.sum(jnp.reshape(A, (3, 2)) * jnp.reshape(x[:3] * s, (3, 1))) +
        jnp.sum(jnp.reshape(x, (2, -1)) ** 2 * A[:, :2])),
    "permute": (
        lambda x, A, s: dl.sum(dl.transpose(A, (1, 0)) @ A * s) +
        dl.sum(dl.transpose(dl.reshape(x, (2, 2, 1)), (2, 0, 1)) * A[:, :2]),
        lambda x, A, s: jnp.sum(jnp.transpose(A, (1, 0)) @ A * s) +
        jnp.sum(jnp.transpose(jnp.reshape(x, (2, 2, 1)), (2, 0, 1)) * A[:, :2])),
    "concat": (
        lambda x, A, s: dl.sum(_concat(x, A[0] * s, 0) ** 2 * np.arange(1.0, 8.0)) +
        dl.sum(_concat(A, A * s, -1) * np.arange(12.0).reshape(2, 6)),
        lambda x, A, s: jnp.sum(jnp.concatenate([x, A[0] * s]) ** 2 * np.arange(1.0, 8.0)) +
        jnp.sum(jnp.concatenate([A, A * s], axis=-1) * np.arange(12.0).reshape(2, 6))),
    "where": (
        lambda x, A, s: dl.sum(dl.where(A > 0.5, A * s, -A * A)) +
        dl.sum(dl.where(x < s, dl.exp(x), dl.log(x * x))),
        lambda x, A, s: jnp.sum(jnp.where(A > 0.5, A * s, -A * A)) +
        jnp.sum(jnp.where(x < s, jnp.exp(x), jnp.log(x * x)))),
    "select": (  # where's halves, as plans make them; the mask is any nonzero value
        lambda x, A, s: dl.sum(arrays_mod.BUILDERS["select"](x - CUT, x * s) +
                               arrays_mod.BUILDERS["select_not"](x > CUT, x * x)) +
        dl.sum(arrays_mod.BUILDERS["select"](A > 0, A * A)),
        lambda x, A, s: jnp.sum(jnp.where(x - CUT != 0, x * s, 0.0) +
                                jnp.where(x > CUT, 0.0, x * x)) +
        jnp.sum(jnp.where(A > 0, A * A, 0.0))),
    "square": (
        lambda x, A, s: dl.sum(dl.square(A * s)) + dl.sum(dl.square(x)),
        lambda x, A, s: jnp.sum(jnp.square(A * s)) + jnp.sum(jnp.square(x))),
}
_COMPARE = {"lt": (dl.less, jnp.less), "le": (dl.less_equal, jnp.less_equal),
            "gt": (dl.greater, jnp.greater), "ge": (dl.greater_equal, jnp.greater_equal),
            "eq": (dl.equal, jnp.equal), "ne": (dl.not_equal, jnp.not_equal)}
for _op, (_ours, _theirs) in _COMPARE.items():  # a mask times a smooth function of each
    CASES[_op] = (
        lambda x, A, s, f=_ours: dl.sum(f(x, CUT) * x * x * s) + dl.sum(f(A, s) * A),
        lambda x, A, s, f=_theirs: jnp.sum(f(x, CUT) * x * x * s) + jnp.sum(f(A, s) * A))
EQUAL = np.array([[0.2, 0.0, 0.0], [0.0, -0.3, 1.0]])  # equal to A at two entries exactly
CASES["eq"] = (
    lambda x, A, s: dl.sum(dl.equal(x, [0.7, 0.0, 0.4, 0.0]) * x * x * s) +
    dl.sum(dl.equal(A, EQUAL) * A * A),
    lambda x, A, s: jnp.sum(jnp.equal(x, jnp.array([0.7, 0.0, 0.4, 0.0])) * x * x * s) +
    jnp.sum(jnp.equal(A, EQUAL) * A * A))


def rho(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(a) + np.abs(b)), initial=0.0))


@functools.cache
def _jax(case: str, kind: str = "grad"):
    fn = CASES[case][1]
    args = [jnp.asarray(POINT[n]) for n in NAMES]
    if kind == "value":
        return float(fn(*args))
    derive = jax.grad if kind == "grad" else jax.hessian
    out = jax.jit(derive(fn, argnums=(0, 1, 2)))(*args)  # jitted: eager JAX is slower here
    if kind == "grad":
        return {n: np.asarray(g) for n, g in zip(NAMES, out, strict=True)}
    return {a: {b: np.asarray(out[i][j]) for j, b in enumerate(NAMES)}
            for i, a in enumerate(NAMES)}


def _expr(case: str):
    return CASES[case][0](*dl.variables("x A s"))


def test_every_new_op_has_a_case():
    old = {"const", "var", "neg", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh",
           "tanh", "exp", "log", "log1p", "expm1", "sqrt", "abs", "sigmoid", "relu",
           "softplus", "sum", "mean", "transpose", "add", "sub", "mul", "div", "pow", "max",
           "min", "matmul"}
    used = {case: {node.op for node in toposort(_expr(case))} for case in CASES}
    assert set(ops.OPS) - old <= set().union(*used.values())
    for case, case_ops in used.items():  # each case uses the op it is named after
        assert case in case_ops, case


@pytest.mark.parametrize("case", sorted(CASES))
def test_symbolic_against_jax(case):
    f = _expr(case)
    want = _jax(case)
    got = symbolic.grad(f, POINT)
    for name in NAMES:
        assert np.shape(got[name]) == np.shape(want[name])
        assert rho(got[name], want[name]) <= TOL, (case, name, got[name], want[name])


@pytest.mark.parametrize("case", sorted(CASES))
def test_truth_against_jax(case):
    f = _expr(case)
    assert rho(truth.value(f, POINT), _jax(case, "value")) <= TOL
    want, got = _jax(case), truth.gradient(f, POINT)
    for name in NAMES:
        assert rho(got[name], want[name]) <= TOL, (case, name, got[name], want[name])


@pytest.mark.parametrize("case", sorted(CASES))
def test_symbolic_hessian_against_jax(case):
    want = _jax(case, "hessian")
    got = dl.hessian(_expr(case), POINT, method="symbolic")
    for a in NAMES:
        for b in NAMES:
            assert rho(got[a][b], want[a][b]) <= HESSIAN_TOL, (case, a, b)


@pytest.mark.parametrize("case", ["index", "reduce_prod", "reduce_max", "reduce_min",
                                  "logsumexp", "softmax", "log_softmax", "where", "concat",
                                  "eq"])
def test_truth_hessian_against_jax(case):
    want = _jax(case, "hessian")
    got = truth.hessian(_expr(case), POINT, max_tree=500_000)
    for a in NAMES:
        for b in NAMES:
            assert rho(got[a][b], want[a][b]) <= HESSIAN_TOL, (case, a, b)


def test_jacobians_of_array_results_against_jax():
    x, A = dl.variables("x A")
    cases = [(dl.softmax(A * x[:3], axis=0), lambda x, A: jax.nn.softmax(A * x[:3], axis=0)),
             (dl.log_softmax(A, axis=1)[:, ::2], lambda x, A: jax.nn.log_softmax(A)[:, ::2]),
             (dl.max(A, axis=0) * x[1:], lambda x, A: jnp.max(A, axis=0) * x[1:]),
             (dl.where(x > 0, x, 0.1 * x), lambda x, A: jnp.where(x > 0, x, 0.1 * x))]
    for f, jf in cases:
        want = dict(zip("xA", jax.jit(jax.jacrev(jf, argnums=(0, 1)))(POINT["x"], POINT["A"]),
                        strict=True))
        point = {name: POINT[name] for name in f.variables}
        for got in (dl.jacobian(f, point, method="symbolic"), truth.jacobian(f, point)):
            for name in f.variables:
                assert rho(got[name], want[name]) <= TOL, (str(f), name)


# ---- ties, boundaries, equality: JAX's conventions, in every exact method -------------------
TIES = [
    # max of [1, 3, 3, 2]: the two tied maxima split the derivative
    (lambda x: dl.max(x), np.array([1.0, 3.0, 3.0, 2.0]), [0, 0.5, 0.5, 0]),
    (lambda x: dl.max(x), np.array([2.0, 2.0, 2.0, 1.0]), [1 / 3, 1 / 3, 1 / 3, 0]),
    (lambda x: dl.min(x * 2.0), np.array([-1.0, 4.0, -1.0, -1.0]), [2 / 3, 0, 2 / 3, 2 / 3]),
    # along an axis, each line its own ties: [[1, 3, 3], [5, 5, 0]] -> maxima 3 and 5
    (lambda x: dl.sum(dl.max(dl.reshape(x, (2, 2)), axis=1) * [1.0, 10.0]),
     np.array([4.0, 4.0, 6.0, 6.0]), [0.5, 0.5, 5.0, 5.0]),
    (lambda x: dl.sum(dl.min(dl.reshape(x, (2, 2)), axis=0, keepdims=True) * [[1.0, 10.0]]),
     np.array([1.0, 2.0, 1.0, 3.0]), [0.5, 10.0, 0.5, 0.0]),
    # a tie of a value with itself: max(sin x, sin x) has derivative cos x (1/2 + 1/2)
    (lambda x: dl.sum(dl.max(dl.stack([dl.sin(x), dl.sin(x)]), axis=0)),
     np.array([0.1, 0.2, 0.3, 0.4]), np.cos([0.1, 0.2, 0.3, 0.4])),
    # where at its boundary: x > 0 is false at 0 (the other branch), x >= 0 is true
    (lambda x: dl.sum(dl.where(x > 0, x * x + x, 3.0 * x)), np.array([0.0, 1.0, -1.0, 0.0]),
     [3.0, 3.0, 3.0, 3.0]),
    (lambda x: dl.sum(dl.where(x >= 0, x * x + x, 3.0 * x)), np.array([0.0, 1.0, -1.0, 0.0]),
     [1.0, 3.0, 3.0, 1.0]),
    # where with a 0/1 mask given as data: c == 0 takes b, c == 1 takes a
    (lambda x: dl.sum(dl.where(dl.constant(np.array([0.0, 1.0, 1.0, 0.0])), x, -2.0 * x)),
     np.array([0.5, 0.5, 0.5, 0.5]), [-2.0, 1.0, 1.0, -2.0]),
]


def _jax_ties(k):
    jfns = [lambda x: jnp.max(x), lambda x: jnp.max(x), lambda x: jnp.min(x * 2.0),
            lambda x: jnp.sum(jnp.max(x.reshape(2, 2), axis=1) * jnp.array([1.0, 10.0])),
            lambda x: jnp.sum(jnp.min(x.reshape(2, 2), axis=0, keepdims=True) *
                              jnp.array([[1.0, 10.0]])),
            lambda x: jnp.sum(jnp.max(jnp.stack([jnp.sin(x), jnp.sin(x)]), axis=0)),
            lambda x: jnp.sum(jnp.where(x > 0, x * x + x, 3.0 * x)),
            lambda x: jnp.sum(jnp.where(x >= 0, x * x + x, 3.0 * x)),
            lambda x: jnp.sum(jnp.where(jnp.array([0.0, 1.0, 1.0, 0.0]) != 0, x, -2.0 * x))]
    return np.asarray(jax.grad(jfns[k])(jnp.asarray(TIES[k][1])))


@pytest.mark.parametrize("k", range(len(TIES)))
def test_ties_and_boundaries_follow_jax_in_every_exact_method(k):
    build, x0, want = TIES[k]
    f = build(dl.variable("x"))
    np.testing.assert_allclose(_jax_ties(k), want, rtol=1e-15, atol=0)  # JAX's own rule
    for method in EXACT:
        np.testing.assert_allclose(dl.grad(f, {"x": x0}, method=method)["x"], want,
                                   rtol=1e-15, atol=0, err_msg=method)
    np.testing.assert_allclose(truth.gradient(f, {"x": x0})["x"], want, rtol=1e-15, atol=0)


@pytest.mark.parametrize("op", ops.COMPARISONS)
def test_comparisons_at_equality_are_masks_with_derivative_zero(op):
    # cmp(x, y) * x * y at x == y: the mask's value (the comparison at a tie) times the
    # product's derivative; the mask itself contributes nothing (JAX: derivative 0)
    ours, theirs = _COMPARE[op]
    x0 = np.array([1.0, -2.0, 0.5])
    point = {"x": x0, "y": x0.copy()}
    x, y = dl.variables("x y")
    f = dl.sum(ours(x, y) * x * y + ours(x, 1.0))
    mask = float(theirs(1.0, 1.0))
    jx, jy = jax.grad(lambda a, b: jnp.sum(theirs(a, b) * a * b + theirs(a, 1.0)),
                      argnums=(0, 1))(x0, x0)
    np.testing.assert_array_equal(jx, mask * x0)
    np.testing.assert_array_equal(jy, mask * x0)
    for method in EXACT + ("truth",):
        got = truth.gradient(f, point) if method == "truth" else dl.grad(f, point,
                                                                           method=method)
        np.testing.assert_array_equal(got["x"], mask * x0, err_msg=method)
        np.testing.assert_array_equal(got["y"], mask * x0, err_msg=method)
    assert truth.value(ours(x, y), {"x": 1.0, "y": 1.0}) == mask
    hess = dl.hessian(f, point, method="symbolic")
    np.testing.assert_array_equal(hess["x"]["y"], mask * np.eye(3))
    np.testing.assert_array_equal(hess["x"]["x"], np.zeros((3, 3)))


def test_an_untaken_branch_adds_exactly_zero():
    # where(x != 0, sin(x)/x, 1) at 0: the untaken branch's derivative is 0/0, selected away
    # (JAX's jvp of select does the same; jax.grad multiplies it by 0 and gives nan)
    x = dl.variable("x")
    f = dl.where(dl.not_equal(x, 0.0), dl.sin(x) / x, 1.0)
    for method in ("symbolic", "forward"):
        assert dl.grad(f, {"x": 0.0}, method=method)["x"] == 0.0
    assert truth.gradient(f, {"x": 0.0})["x"] == 0.0
    _, tangent = jax.jvp(lambda v: jnp.where(v != 0, jnp.sin(v) / v, 1.0), (0.0,), (1.0,))
    assert float(tangent) == 0.0
    # away from 0 the taken branch: (x cos x - sin x) / x^2
    assert truth.gradient(f, {"x": 0.5})["x"] == pytest.approx(
        (0.5 * np.cos(0.5) - np.sin(0.5)) / 0.25, rel=1e-15)


# ---- stability: the softmax family at 1000s ----------------------------------------------
def _mp_softmax(values):
    """(logsumexp, softmax, log_softmax) at 50 digits, shifted by the max (exact for any
    shift; this one keeps x - m exact where the digits of x would not fit in 50)."""
    with mpmath.workdps(50):
        xs = [mpmath.mpf(v) for v in values]
        m = max(xs)
        total = mpmath.fsum(mpmath.exp(v - m) for v in xs)
        return (float(m + mpmath.log(total)), np.array([float(mpmath.exp(v - m) / total)
                                                        for v in xs]),
                np.array([float((v - m) - mpmath.log(total)) for v in xs]))


@pytest.mark.parametrize("values", [[1000.0, 1001.0, 999.0], [-1000.0, -1001.0, -999.5],
                                    [1e300, 1e300, -1e300]])
def test_logsumexp_softmax_log_softmax_never_overflow(values):
    x = dl.variable("x")
    point = {"x": np.array(values)}
    total, want_p, want_log_p = _mp_softmax(values)
    # the truth: exact at 50 digits (mpmath's exponent range is unbounded)
    assert truth.value(dl.logsumexp(x), point) == pytest.approx(total, rel=1e-15)
    np.testing.assert_allclose(truth.value(dl.softmax(x), point), want_p, rtol=1e-15)
    np.testing.assert_allclose(truth.value(dl.log_softmax(x), point), want_log_p, rtol=1e-15)
    np.testing.assert_allclose(truth.gradient(dl.logsumexp(x), point)["x"], want_p,
                               rtol=1e-15)
    # symbolic's float64 code: finite, and right to a few rounding errors of x - logsumexp
    w = np.array([1.0, -2.0, 0.5])
    for f, want in ((dl.logsumexp(x), want_p),
                    (dl.sum(dl.log_softmax(x) * w), w - want_p * w.sum()),
                    (dl.sum(dl.softmax(x) * w), want_p * (w - want_p @ w))):
        got = symbolic.grad(f, point)["x"]
        assert np.all(np.isfinite(got))
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)
        np.testing.assert_allclose(got, dl.grad(f, point, method="jax")["x"], rtol=1e-12,
                                   atol=1e-300)
    hess = dl.hessian(dl.logsumexp(x), point, method="symbolic")["x"]["x"]
    np.testing.assert_allclose(hess, np.diag(want_p) - np.outer(want_p, want_p), rtol=1e-12,
                               atol=1e-300)


def test_logsumexp_at_50_digits_in_the_truth():
    # the truth is exact where float64 would overflow: 1001 + log(1 + e^-1 + e^-2)
    x = dl.variable("x")
    with mpmath.workdps(60):
        want = 1001 + mpmath.log(1 + mpmath.exp(-1) + mpmath.exp(-2))
    assert truth.value(dl.logsumexp(x), {"x": np.array([1000.0, 1001.0, 999.0])}) == float(want)
    naive = dl.log(dl.sum(dl.exp(x)))  # the unshifted formula is exact at 50 digits too
    assert truth.value(naive, {"x": np.array([1000.0, 1001.0, 999.0])}) == float(want)


@pytest.mark.parametrize("method", dl.METHODS + ("numeric:complex",))
def test_scalars_made_arrays_by_an_index_or_a_stack(method):
    # scalar variables, array slots: x[None, None] is (1, 1), stack([x, 2y]) is (2,); the
    # shapes are inferred (not taken as all scalar) and a Python float is indexed
    x, y = dl.variables("x y")
    f = dl.sum(x[None, None] * y) + dl.sum(dl.stack([x, y * 2.0]) ** 2) + dl.sum(
        dl.reshape(y, (1, 1, 1)) * x)
    point = {"x": 1.5, "y": 0.5}
    assert dl.evaluate(dl.stack([x, y]), point).tolist() == [1.5, 0.5]
    assert dl.evaluate(f, point) == 0.75 + 3.25 + 0.75
    got = dl.grad(f, point, method=method)  # d/dx: y + 2x + y, d/dy: x + 8y + x
    assert got == pytest.approx({"x": 4.0, "y": 7.0}, rel=1e-8)
    assert truth.gradient(f, point) == {"x": 4.0, "y": 7.0}
