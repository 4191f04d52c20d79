"""difflab.numpy: NumPy's names with NumPy's meaning over the IR.

Values are checked against NumPy itself on seeded random inputs (given as constants, and as
variables of a point); the functions that difflab.numpy composes from several ops (log2,
logaddexp, sign, var, norm ...) have their derivatives checked against JAX's own functions.
Tolerances: rtol 1e-12 for values (the same float64 arithmetic, at most reordered), 1e-10 for
derivatives.
"""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import difflab as dl
import difflab.numpy as dnp
from difflab.core.expr import Expr

jax.config.update("jax_enable_x64", True)

RNG = np.random.default_rng(20261201)
X = RNG.uniform(0.2, 2.0, size=(3, 4))        # positive: every log and sqrt is defined
V = RNG.uniform(-1.5, 1.5, size=5)
U = RNG.uniform(-0.9, 0.9, size=(3, 4))       # inside (-1, 1) for arcsin and arccos

UNARY = ["exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "square",
         "reciprocal", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh",
         "tanh", "abs", "absolute", "fabs", "sign", "negative", "positive"]
BINARY = ["add", "subtract", "multiply", "divide", "true_divide", "power", "maximum",
          "minimum", "hypot", "logaddexp", "less", "less_equal", "greater", "greater_equal",
          "equal", "not_equal", "logical_and", "logical_or"]


def value(expr, point=None):
    assert isinstance(expr, Expr)
    return dl.evaluate(expr, point or {})


def close(got, want, rtol=1e-12):
    np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-14)


@pytest.mark.parametrize("name", UNARY)
def test_unary_functions_evaluate_like_numpy(name):
    data = U if name in ("arcsin", "arccos") else X
    want = getattr(np, name)(data)
    close(value(getattr(dnp, name)(data)), want)                       # a constant array
    close(value(getattr(dnp, name)(dl.variable("a")), {"a": data}), want)  # a variable
    close(value(getattr(dnp, name)(float(data[0, 0]))), want[0, 0])    # a Python float


@pytest.mark.parametrize("name", BINARY)
def test_binary_functions_evaluate_like_numpy(name):
    a, b = X, X[0] * 1.1            # broadcasting (3, 4) with (4,)
    b = np.where(RNG.uniform(size=4) < 0.3, a[0], b)   # some ties for the comparisons
    want = np.asarray(getattr(np, name)(a, b), dtype=float)
    close(value(getattr(dnp, name)(a, b)), want)
    x, y = dl.variables("x y")
    close(value(getattr(dnp, name)(x, y), {"x": a, "y": b}), want)
    close(value(getattr(dnp, name)(x, 2.0), {"x": a}),
          np.asarray(getattr(np, name)(a, 2.0), dtype=float))


@pytest.mark.parametrize("name", ["sum", "mean", "prod", "max", "min", "amax", "amin", "ptp",
                                  "var", "std"])
@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 1)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_evaluate_like_numpy(name, axis, keepdims):
    want = getattr(np, name)(X, axis=axis, keepdims=keepdims)
    a = dl.variable("a")
    close(value(getattr(dnp, name)(a, axis=axis, keepdims=keepdims), {"a": X}), want)
    close(value(getattr(dnp, name)(X, axis, keepdims=keepdims)), want)  # axis positional


def test_reduction_second_positional_is_the_axis_as_in_numpy():
    # dnp.max(a, 1) is NumPy's max over axis 1 (dl.max(a, b) is elementwise)
    close(value(dnp.max(X, 1)), np.max(X, 1))
    close(value(dnp.sum(X, 0)), np.sum(X, 0))
    close(value(dnp.maximum(X, 1.0)), np.maximum(X, 1.0))


def test_var_and_std_with_ddof_use_the_constant_shape():
    for axis in (None, 0, (0, 1)):
        close(value(dnp.var(X, axis=axis, ddof=1)), np.var(X, axis=axis, ddof=1))
        close(value(dnp.std(X, axis=axis, ddof=1)), np.std(X, axis=axis, ddof=1))
    with pytest.raises(TypeError, match="var with ddof needs the shape"):
        dnp.var(dl.variable("a"), ddof=1)        # a variable outside a trace has no shape


def test_logsumexp_softmax_log_softmax():
    from scipy.special import log_softmax, logsumexp, softmax

    for axis in (None, 0, 1):
        close(value(dnp.logsumexp(X, axis=axis)), logsumexp(X, axis=axis))
    for axis in (0, 1, -1):
        close(value(dnp.softmax(X, axis=axis)), softmax(X, axis=axis))
        close(value(dnp.log_softmax(X, axis=axis)), log_softmax(X, axis=axis))
    big = np.array([1000.0, 1001.0, 999.0])
    assert value(dnp.logsumexp(big)) == pytest.approx(logsumexp(big), rel=1e-15)
    assert value(dnp.logaddexp(1000.0, 1000.0)) == pytest.approx(1000.0 + math.log(2), rel=1e-15)


def test_shapes_and_joins_like_numpy():
    A, B = X, X[:2] * 2.0
    close(value(dnp.reshape(A, (4, 3))), np.reshape(A, (4, 3)))
    close(value(dnp.ravel(A)), np.ravel(A))
    close(value(dnp.transpose(A)), A.T)
    T3 = RNG.normal(size=(2, 3, 4))
    close(value(dnp.transpose(T3, (2, 0, 1))), np.transpose(T3, (2, 0, 1)))
    close(value(dnp.swapaxes(T3, 0, 2)), np.swapaxes(T3, 0, 2))
    close(value(dnp.moveaxis(T3, 0, -1)), np.moveaxis(T3, 0, -1))
    close(value(dnp.moveaxis(T3, (0, 1), (2, 0))), np.moveaxis(T3, (0, 1), (2, 0)))
    for axis in (0, 1, -1, (0, 2)):
        close(value(dnp.expand_dims(A, axis)), np.expand_dims(A, axis))
    S = RNG.normal(size=(1, 3, 1))
    close(value(dnp.squeeze(S)), np.squeeze(S))
    close(value(dnp.squeeze(S, axis=2)), np.squeeze(S, axis=2))
    with pytest.raises(ValueError, match="cannot squeeze"):
        dnp.squeeze(S, axis=1)
    close(value(dnp.concatenate([A, B])), np.concatenate([A, B]))
    close(value(dnp.concatenate([A, A], axis=1)), np.concatenate([A, A], axis=1))
    close(value(dnp.concatenate([A, V], axis=None)), np.concatenate([A, V], axis=None))
    for axis in (0, 1, -1, 2):
        close(value(dnp.stack([A, A * 3.0], axis=axis)), np.stack([A, A * 3.0], axis=axis))
    close(value(dnp.hstack([V, V])), np.hstack([V, V]))
    close(value(dnp.hstack([A, A])), np.hstack([A, A]))
    close(value(dnp.vstack([V, V])), np.vstack([V, V]))
    close(value(dnp.vstack([A, B])), np.vstack([A, B]))
    assert dnp.shape(A) == (3, 4) and dnp.ndim(V) == 1 and dnp.size(A) == 12


def test_gathers_differences_diagonals_like_numpy():
    A = X
    close(value(dnp.take(A, [0, 2, 2, 5])), np.take(A, [0, 2, 2, 5]))
    close(value(dnp.take(A, [3, 0, 3], axis=1)), np.take(A, [3, 0, 3], axis=1))
    close(value(dnp.take(A, 1, axis=0)), np.take(A, 1, axis=0))
    close(value(dnp.take(A, [2, 0], axis=-2)), np.take(A, [2, 0], axis=-2))
    for n, axis in ((1, -1), (2, -1), (1, 0)):
        close(value(dnp.diff(A, n=n, axis=axis)), np.diff(A, n=n, axis=axis))
    for offset in (0, 1, 3, -1, -2, 5):
        close(value(dnp.diagonal(A, offset)), np.diagonal(A, offset))
        close(value(dnp.trace(A, offset)), np.trace(A, offset))


def test_products_and_norms_like_numpy():
    M = RNG.normal(size=(4, 2))
    close(value(dnp.matmul(X, M)), X @ M)
    close(value(dnp.dot(X, M)), np.dot(X, M))
    close(value(dnp.dot(V, V)), np.dot(V, V))
    close(value(dnp.dot(2.5, X)), np.dot(2.5, X))       # a scalar: a product
    close(value(dnp.vdot(X, X)), np.vdot(X, X))
    close(value(dnp.outer(V, X[0])), np.outer(V, X[0]))
    for kwargs in ({}, {"ord": "fro"}, {"axis": 0}, {"axis": 1, "ord": 1},
                   {"axis": 1, "ord": np.inf}, {"axis": 0, "ord": -np.inf},
                   {"axis": -1, "ord": 2, "keepdims": True}):
        close(value(dnp.linalg.norm(X, **kwargs)), np.linalg.norm(X, **kwargs))
    close(value(dnp.linalg.norm(V, ord=1)), np.linalg.norm(V, ord=1))
    with pytest.raises(ValueError, match="matrix norms"):
        dnp.linalg.norm(X, ord=2)          # the spectral norm: not expressible


def test_selection_masks_and_constants():
    cond = X > 1.0                                     # a NumPy boolean mask works as 0/1
    close(value(dnp.where(cond, X, -X)), np.where(cond, X, -X))
    x = dl.variable("x")
    close(value(dnp.where(x > 1.0, x, 0.5 * x), {"x": X}), np.where(X > 1.0, X, 0.5 * X))
    close(value(dnp.clip(X, 0.5, 1.5)), np.clip(X, 0.5, 1.5))
    close(value(dnp.clip(X, None, 1.0)), np.clip(X, None, 1.0))
    special = np.array([0.0, np.inf, -np.inf, np.nan, 2.0])
    for name in ("isnan", "isinf", "isfinite", "logical_not"):
        close(value(getattr(dnp, name)(special)), getattr(np, name)(special).astype(float))
    close(value(dnp.sign(special)), np.sign(special))
    close(value(dnp.zeros((2, 3))), np.zeros((2, 3)))
    close(value(dnp.ones(4)), np.ones(4))
    close(value(dnp.full((2, 2), 7.5)), np.full((2, 2), 7.5))
    close(value(dnp.eye(3, 4, 1)), np.eye(3, 4, 1))
    close(value(dnp.identity(3)), np.identity(3))
    close(value(dnp.arange(2, 9, 3)), np.arange(2, 9, 3))
    close(value(dnp.linspace(0, 1, 5)), np.linspace(0, 1, 5))
    close(value(dnp.zeros_like(X)), np.zeros_like(X))
    close(value(dnp.full_like(x, 3.0), {"x": X}), np.full_like(X, 3.0))   # shape unknown
    close(value(dnp.ones_like(x), {"x": np.array([np.nan, 1.0])}), [1.0, 1.0])
    close(value(dnp.array([x, 2.0 * x]), {"x": 1.5}), [1.5, 3.0])      # stacked
    close(value(dnp.array([[1, 2], [3, 4]])), np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert (dnp.pi, dnp.e, dnp.inf, dnp.newaxis) == (np.pi, np.e, np.inf, None)
    assert math.isnan(dnp.nan)
    with pytest.raises(TypeError, match="give both branches"):
        dnp.where(X > 1.0)


# ---- derivatives of the composed functions, against JAX's own --------------------------------
COMPOSED = {
    "log2": (lambda a: dnp.sum(dnp.log2(a)), lambda a: jnp.sum(jnp.log2(a))),
    "log10": (lambda a: dnp.sum(dnp.log10(a)), lambda a: jnp.sum(jnp.log10(a))),
    "exp2": (lambda a: dnp.sum(dnp.exp2(a)), lambda a: jnp.sum(jnp.exp2(a))),
    "reciprocal": (lambda a: dnp.sum(dnp.reciprocal(a)), lambda a: jnp.sum(1.0 / a)),
    "sign": (lambda a: dnp.sum(dnp.sign(a) * a), lambda a: jnp.sum(jnp.sign(a) * a)),
    "hypot": (lambda a: dnp.sum(dnp.hypot(a, a[::-1])),
              lambda a: jnp.sum(jnp.hypot(a, a[::-1]))),
    "logaddexp": (lambda a: dnp.sum(dnp.logaddexp(a, a[::-1])),   # a tie in the middle
                  lambda a: jnp.sum(jnp.logaddexp(a, a[::-1]))),
    "var": (lambda a: dnp.var(a, ddof=1), lambda a: jnp.var(a, ddof=1)),
    "std": (lambda a: dnp.std(a), lambda a: jnp.std(a)),
    "ptp": (lambda a: dnp.ptp(a), lambda a: jnp.ptp(a)),
    "norm": (lambda a: dnp.linalg.norm(a), lambda a: jnp.linalg.norm(a)),
    "norm1": (lambda a: dnp.linalg.norm(a, ord=1), lambda a: jnp.linalg.norm(a, ord=1)),
    "clip": (lambda a: dnp.sum(dnp.clip(a, -1.0, 1.0)), lambda a: jnp.sum(jnp.clip(a, -1., 1.))),
    "diff": (lambda a: dnp.sum(dnp.square(dnp.diff(a, n=2))),
             lambda a: jnp.sum(jnp.square(jnp.diff(a, n=2)))),
    "take": (lambda a: dnp.sum(dnp.take(a, [0, 2, 2]) ** 3),
             lambda a: jnp.sum(a[jnp.array([0, 2, 2])] ** 3)),
}


@pytest.mark.parametrize("name", list(COMPOSED))
@pytest.mark.parametrize("method", ["forward", "reverse", "jax"])
def test_composed_derivatives_match_jax(name, method):
    ours, theirs = COMPOSED[name]
    a = np.array([0.3, 1.7, 1.0, -1.0, 0.9]) if name in ("clip", "sign", "hypot", "logaddexp",
                                                        "ptp", "diff", "take") else \
        np.array([0.3, 1.7, 1.2, 0.8, 2.5])
    got = dl.grad(ours, {"a": a}, method=method)["a"]   # the lambda, traced (dl.trace)
    if name not in _JAX_GRADIENTS:                       # (compiled once per function)
        _JAX_GRADIENTS[name] = np.asarray(jax.jit(jax.grad(theirs))(a))
    np.testing.assert_allclose(got, _JAX_GRADIENTS[name], rtol=1e-10, atol=1e-14)


_JAX_GRADIENTS: dict = {}


# ---- regressions found while building difflab.numpy ------------------------------------------
def test_ternary_nodes_hash_every_argument():
    # concat and where have three arguments; their fingerprints ignored all but the first, so
    # concatenate([A, B]) and concatenate([A, A], axis=1) shared a cached plan (wrong shapes)
    A, B = X, X[:2] * 2.0
    first, second = dnp.concatenate([A, B]), dnp.concatenate([A, A], axis=1)
    assert first.key != second.key and first != second
    assert value(first).shape == (5, 4) and value(second).shape == (3, 8)
    c, a, b = dl.variables("c a b")
    assert dl.where(c, a, b).key != dl.where(c, a, 2.0 * b).key


def test_stacking_scalar_variables_evaluates():
    # x[None] on a point's Python float (stack, dnp.array) failed in evaluate and numeric
    x, y = dl.variables("x y")
    assert value(dnp.array([x, y * x]), {"x": 1.5, "y": 2.0}).tolist() == [1.5, 3.0]
    for method in ("numeric", "numeric:complex", "forward", "reverse"):
        got = dl.grad(dnp.sum(dnp.stack([x, y * x])), {"x": 1.5, "y": 2.0}, method=method)
        assert got == pytest.approx({"x": 3.0, "y": 1.5}, rel=1e-8)


@pytest.mark.parametrize("method", ["symbolic", "forward", "reverse", "jax"])
def test_logaddexp_has_its_curvature_at_a_tie(method):
    # max(a, b) + log1p(exp(-|a - b|)) gave d2/da2 = 0 at a == b, where it is 1/4 (the kinks
    # of max and |.| cancel in the value, not in the second derivative); JAX's logaddexp is
    # the reference. Points: a tie, near ties either side, and far apart.
    def f(a, b):
        return dnp.sum(dnp.logaddexp(a, b) ** 2)

    a = np.array([1.0, 1.0, 0.3, -2.0])
    b = np.array([1.0, 1.0 + 1e-9, 0.3 - 1e-9, 30.0])
    H = dl.hessian(f, {"a": a, "b": b}, method=method)
    want = jax.hessian(lambda a, b: jnp.sum(jnp.logaddexp(a, b) ** 2), argnums=(0, 1))(a, b)
    for (i, u), (j, v) in itertools.product(enumerate("ab"), repeat=2):
        np.testing.assert_allclose(H[u][v], want[i][j], rtol=1e-12, atol=1e-15)


def test_logaddexp_values_keep_small_corrections_and_infinities():
    # a tiny correction keeps its digits whichever argument is larger; equal infinities are
    # their value (NumPy's), not nan
    pairs = [(0.0, -40.0), (-40.0, 0.0), (np.inf, np.inf), (-np.inf, -np.inf),
             (np.inf, -np.inf), (-1e308, 1e308), (1000.0, 999.0), (np.nan, 1.0)]
    for a, b in pairs:
        got = float(dl.evaluate(dnp.logaddexp(dl.variable("a"), dl.variable("b")),
                                {"a": a, "b": b}))
        want = float(np.logaddexp(a, b))
        assert got == pytest.approx(want, rel=1e-15, nan_ok=True), (a, b)


# ---- a Python bool where a mask belongs: == between expressions compares structure -----------
def test_a_python_bool_condition_is_refused_and_dnp_equal_gives_the_mask():
    def w(x, y):  # x == y between expressions is one Python bool (False here: x is not y)
        return dnp.sum(dnp.where(x == y, x * y, x - y))

    point = {"x": np.array([1.0, 2.0]), "y": np.array([1.0, 3.0])}
    with pytest.raises(TypeError, match=r"dnp.where: the condition is the Python bool False.* "
                                        r"== and != .*compare their structure.*dnp.equal"):
        dl.evaluate(w, point)
    with pytest.raises(TypeError, match="compare their structure"):
        dl.grad(w, point)
    x, y = dl.variables("x y")
    for refused in (lambda: dnp.where(x != y, x, y), lambda: dl.where(x == x, x, y),
                    lambda: dnp.logical_and(x == y, x > 0), lambda: dnp.logical_or(x > 0, True),
                    lambda: dnp.logical_not(x != y)):
        with pytest.raises(TypeError, match="the condition is the Python bool .*dnp.not_equal"):
            refused()

    def ok(x, y):
        return dnp.sum(dnp.where(dnp.equal(x, y), x * y, x - y))

    def ok_jax(x, y):
        return jnp.sum(jnp.where(jnp.equal(x, y), x * y, x - y))

    args = (point["x"], point["y"])
    assert dl.evaluate(ok, point) == float(ok_jax(*args)) == 0.0
    want = jax.grad(ok_jax, argnums=(0, 1))(*args)
    got = dl.grad(ok, point)
    np.testing.assert_allclose(got["x"], want[0], rtol=1e-15)
    np.testing.assert_allclose(got["y"], want[1], rtol=1e-15)
    # NumPy's bools (an array, or a 0-d bool) are masks as before
    mask = np.array([True, False])
    close(value(dnp.where(mask, x, y), point), np.where(mask, *args))
    close(value(dnp.where(np.bool_(True), x, 2.0), {"x": args[0]}), args[0])
    close(value(dnp.logical_and(mask, x < y), point), [0.0, 0.0])


# ---- constructors read their arguments as the API reads numbers ------------------------------
@pytest.mark.parametrize("call, error, message", [
    (lambda: dnp.full((2,), 1j), TypeError, r"dnp.full: fill_value: expected real numbers, "
     r"got complex128"),
    (lambda: dnp.full((2,), "1.5"), TypeError, r"dnp.full: fill_value: .*got '1.5'"),
    (lambda: dnp.full(2, "abc"), TypeError, r"dnp.full: fill_value: .*got 'abc'"),
    (lambda: dnp.full(2, True), TypeError, r"dnp.full: fill_value: .*got True"),
    (lambda: dnp.full((2,), [1.0, 2.0, 3.0]), ValueError,
     r"dnp.full: fill_value of shape \(3,\) does not broadcast to the shape \(2,\)"),
    (lambda: dnp.full_like(dl.variable("x"), "7"), TypeError, r"dnp.full_like: fill_value: "
     r".*got '7'"),
    (lambda: dnp.full_like(X, 2 + 0j), TypeError, r"dnp.full_like: fill_value: .*complex"),
    (lambda: dnp.zeros(-1), ValueError, r"dnp.zeros: shape must be non-negative, got -1"),
    (lambda: dnp.ones((2, -3)), ValueError, r"dnp.ones: shape\[1\] must be non-negative"),
    (lambda: dnp.zeros(2.0), TypeError, r"dnp.zeros: shape must be an int, got 2.0"),
    (lambda: dnp.zeros("3"), TypeError, r"dnp.zeros: shape must be an int, got '3'"),
    (lambda: dnp.eye("3"), TypeError, r"dnp.eye: N must be an int, got '3'"),
    (lambda: dnp.eye(3, -1), ValueError, r"dnp.eye: M must be non-negative"),
    (lambda: dnp.eye(3, 3, 0.5), TypeError, r"dnp.eye: k must be an int"),
    (lambda: dnp.identity(True), TypeError, r"dnp.identity: n must be an int, got True"),
    (lambda: dnp.arange("5"), TypeError, r"dnp.arange: stop: expected a real number, got '5'"),
    (lambda: dnp.arange(0, 1, 0), ValueError, r"dnp.arange: step must not be zero"),
    (lambda: dnp.arange(0, np.inf), ValueError, r"dnp.arange: stop must be finite"),
    (lambda: dnp.arange(1j), TypeError, r"dnp.arange: stop: expected a real number"),
    (lambda: dnp.arange(), TypeError, r"dnp.arange takes stop, or start, stop\[, step\]"),
    (lambda: dnp.linspace(0, 1, -5), ValueError, r"dnp.linspace: num must be non-negative, "
     r"got -5"),
    (lambda: dnp.linspace(0, 1, 2.5), TypeError, r"dnp.linspace: num must be an int"),
    (lambda: dnp.linspace("0", 1), TypeError, r"dnp.linspace: start: .*got '0'"),
    (lambda: dnp.linspace([0.0, 1.0], [1.0, 2.0, 3.0]),
     ValueError, r"dnp.linspace: start of shape \(2,\) and stop of shape \(3,\)"),
])
def test_constructors_refuse_bad_arguments_naming_the_function(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_constructors_keep_numpys_values_for_good_arguments():
    close(value(dnp.full((2, 3), [1, 2, 3])), np.full((2, 3), [1, 2, 3], dtype=float))
    close(value(dnp.full(np.int64(2), np.float32(0.5))), np.full(2, 0.5))
    close(value(dnp.zeros((2, np.int64(0)))), np.zeros((2, 0)))
    close(value(dnp.zeros([2, 3])), np.zeros((2, 3)))
    close(value(dnp.arange(1.5)), np.arange(1.5))
    close(value(dnp.arange(5, 0, -2)), np.arange(5, 0, -2, dtype=float))
    close(value(dnp.arange(np.float64(0.25), 2, 0.5)), np.arange(0.25, 2, 0.5))
    close(value(dnp.eye(np.int64(3), None, -1)), np.eye(3, k=-1))
    close(value(dnp.linspace(0, 1, 0)), np.linspace(0, 1, 0))
    close(value(dnp.linspace([0.0, 1.0], 2.0, 3, endpoint=False)),
          np.linspace([0.0, 1.0], 2.0, 3, endpoint=False))
    x = dl.variable("x")
    close(value(dnp.full_like(x, np.array(7)), {"x": X}), np.full_like(X, 7.0))
    close(value(dnp.full_like(x, 2.0 * x), {"x": X}), 2.0 * X)  # an expression: its values
    close(value(dnp.full_like(X, [1, 2, 3, 4])), np.full_like(X, [1, 2, 3, 4]))


# ---- var with ddof >= n: NumPy divides by max(n - ddof, 0) -----------------------------------
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_var_with_ddof_at_least_n_gives_numpys_inf_or_nan():
    def var(ddof, axis=None):
        return lambda x: dnp.var(x, ddof=ddof, axis=axis)

    for data in (V, np.full(4, 2.5), X):
        n = data.size
        for ddof in (n, n + 2, float(n), n - 0.5, 1):
            close(value(dnp.var(data, ddof=ddof)), np.var(data, ddof=ddof))
            close(dl.evaluate(var(ddof), {"x": data}), np.var(data, ddof=ddof))
            close(dl.evaluate(lambda x, d=ddof: dnp.std(x, ddof=d), {"x": data}),
                  np.std(data, ddof=ddof))
    assert dl.evaluate(var(5), {"x": V}) == np.inf
    assert math.isnan(dl.evaluate(var(4), {"x": np.ones(4)}))
    for ddof in (3, 4):  # per axis: 3 rows, so ddof 3 divides by 0 along axis 0
        close(dl.evaluate(var(ddof, 0), {"x": X}), np.var(X, axis=0, ddof=ddof))
        close(dl.evaluate(var(ddof, 1), {"x": X}), np.var(X, axis=1, ddof=ddof))
    with pytest.raises(TypeError, match="dnp.var: ddof must be a number, got str"):
        dnp.var(X, ddof="1")
