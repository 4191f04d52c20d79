"""truth: the 50-digit reference against mpmath evaluations of hand-written formulas (compared
to the last bit or so: rtol 1e-15), NumPy backward passes (float64: rtol 1e-12), kinks as JAX,
IEEE results outside the domain, and the budget."""

import time

import mpmath
import numpy as np
import pytest
from mlp_reference import mlp_backward, mlp_problem

import difflab as dl
from difflab import fuzz, truth
from difflab.core import arrays as arrays_mod
from difflab.symbolic import SymbolicTooLarge

EXACT = 1e-15  # truth and the reference are both correctly rounded 50-digit values

mp = mpmath.mp


def mp_sigmoid(x):
    return 1 / (1 + mpmath.exp(-x))


# op -> (mpmath f, mpmath f', point)
UNARY = {
    "neg": (lambda x: -x, lambda x: -1, 0.3),
    "sin": (mpmath.sin, mpmath.cos, 0.3),
    "cos": (mpmath.cos, lambda x: -mpmath.sin(x), 0.3),
    "tan": (mpmath.tan, lambda x: 1 / mpmath.cos(x) ** 2, 0.3),
    "asin": (mpmath.asin, lambda x: 1 / mpmath.sqrt(1 - x**2), 0.3),
    "acos": (mpmath.acos, lambda x: -1 / mpmath.sqrt(1 - x**2), 0.3),
    "atan": (mpmath.atan, lambda x: 1 / (1 + x**2), 0.3),
    "sinh": (mpmath.sinh, mpmath.cosh, 0.3),
    "cosh": (mpmath.cosh, mpmath.sinh, 0.3),
    "tanh": (mpmath.tanh, lambda x: 1 / mpmath.cosh(x) ** 2, 0.3),
    "exp": (mpmath.exp, mpmath.exp, 0.3),
    "log": (mpmath.log, lambda x: 1 / x, 0.3),
    "log1p": (mpmath.log1p, lambda x: 1 / (1 + x), 0.3),
    "expm1": (mpmath.expm1, mpmath.exp, 0.3),
    "sqrt": (mpmath.sqrt, lambda x: 1 / (2 * mpmath.sqrt(x)), 0.3),
    "abs": (mpmath.fabs, lambda x: mpmath.sign(x), -0.3),
    "sigmoid": (mp_sigmoid, lambda x: mp_sigmoid(x) * (1 - mp_sigmoid(x)), 0.3),
    "relu": (lambda x: max(x, 0), lambda x: 1 if x > 0 else 0, 0.3),
    "softplus": (lambda x: mpmath.log(1 + mpmath.exp(x)), mp_sigmoid, 0.3),
    "square": (lambda x: x * x, lambda x: 2 * x, 0.3),
}

# op -> (mpmath f(a, b), (d/da, d/db)), at a = 1.3, b = 0.7
BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: (1, 1)),
    "sub": (lambda a, b: a - b, lambda a, b: (1, -1)),
    "mul": (lambda a, b: a * b, lambda a, b: (b, a)),
    "div": (lambda a, b: a / b, lambda a, b: (1 / b, -a / b**2)),
    "pow": (lambda a, b: a**b, lambda a, b: (b * a ** (b - 1), mpmath.log(a) * a**b)),
    "max": (max, lambda a, b: (1, 0)),
    "min": (min, lambda a, b: (0, 1)),
    # 0/1 masks (derivative 0) and where's halves (the branch through the mask, a = 1.3 != 0)
    "lt": (lambda a, b: int(a < b), lambda a, b: (0, 0)),
    "le": (lambda a, b: int(a <= b), lambda a, b: (0, 0)),
    "gt": (lambda a, b: int(a > b), lambda a, b: (0, 0)),
    "ge": (lambda a, b: int(a >= b), lambda a, b: (0, 0)),
    "eq": (lambda a, b: int(a == b), lambda a, b: (0, 0)),
    "ne": (lambda a, b: int(a != b), lambda a, b: (0, 0)),
    "select": (lambda a, b: b, lambda a, b: (0, 1)),
    "select_not": (lambda a, b: 0, lambda a, b: (0, 0)),
}


def at50(fn, *floats):
    """fn at exactly these float64 inputs, computed at 50 digits and rounded to float64."""
    with mpmath.workdps(50):
        return float(fn(*[mpmath.mpf(v) for v in floats]))


@pytest.mark.parametrize("op", sorted(UNARY))
def test_unary_value_and_derivative_at_50_digits(op):
    f, df, x0 = UNARY[op]
    x = dl.variable("x")
    expr = arrays_mod.BUILDERS[op](x)
    assert truth.value(expr, {"x": x0}) == pytest.approx(at50(f, x0), rel=EXACT, abs=0)
    g = truth.gradient(expr, {"x": x0})
    assert isinstance(g["x"], float)
    assert g["x"] == pytest.approx(at50(df, x0), rel=EXACT, abs=0)


@pytest.mark.parametrize("op", sorted(BINARY))
def test_binary_value_and_partials_at_50_digits(op):
    f, df = BINARY[op]
    a, b = dl.variables("a b")
    expr = arrays_mod.BUILDERS[op](a, b)
    point = {"a": 1.3, "b": 0.7}
    assert truth.value(expr, point) == pytest.approx(at50(f, 1.3, 0.7), rel=EXACT)
    g = truth.gradient(expr, point)
    assert g["a"] == pytest.approx(at50(lambda p, q: df(p, q)[0], 1.3, 0.7), rel=EXACT)
    assert g["b"] == pytest.approx(at50(lambda p, q: df(p, q)[1], 1.3, 0.7), rel=EXACT)


def test_the_classic_example_against_mpmath_diff():
    # f(x) = exp(x) / sqrt(sin(x)^3 + cos(x)^3) at x = 1.5
    x = dl.variable("x")
    f = dl.exp(x) / dl.sqrt(dl.sin(x) ** 3.0 + dl.cos(x) ** 3.0)
    with mpmath.workdps(50):
        ref = mpmath.diff(lambda t: mpmath.exp(t) / mpmath.sqrt(mpmath.sin(t) ** 3
                                                                + mpmath.cos(t) ** 3),
                          mpmath.mpf(1.5))
    assert truth.gradient(f, {"x": 1.5})["x"] == pytest.approx(float(ref), rel=EXACT, abs=0)


def test_fifty_digits_beat_float64():
    # log(1 + x) at x = 1e-20: float64 rounds 1 + x to 1 and gives 0; the truth gives x.
    x = dl.variable("x")
    assert dl.evaluate(dl.log(1.0 + x), {"x": 1e-20}) == 0.0
    assert truth.value(dl.log(1.0 + x), {"x": 1e-20}) == pytest.approx(1e-20, rel=EXACT)
    assert truth.value(dl.log(1.0 + x), {"x": 1e-20}, dps=15) == 0.0


def test_mlp_loss_against_numpy_backward():
    loss, p = mlp_problem()
    H = np.tanh(p["X"] @ p["W"] + p["b"])
    R = H @ p["V"] + p["c"] - p["Y"]
    expected = mlp_backward(**p)
    got = truth.gradient(loss, p)
    for name, value in expected.items():
        assert got[name].shape == value.shape
        np.testing.assert_allclose(got[name], value, rtol=1e-12, atol=1e-16)
    assert truth.value(loss, p) == pytest.approx(np.mean(R**2), rel=1e-14)


def test_arrays_broadcasting_matmul_and_reductions():
    rng = np.random.default_rng(4)
    A, B, v = rng.normal(size=(2, 3)), rng.normal(size=(3,)), rng.normal(size=(3,))
    a, b, w = dl.variables("a b w")
    value = truth.value(a * b, {"a": A, "b": B})
    np.testing.assert_allclose(value, A * B, rtol=EXACT)
    g = truth.gradient(dl.sum(dl.sin(a) * b) + dl.mean(a @ w), {"a": A, "b": B, "w": v})
    np.testing.assert_allclose(g["a"], np.cos(A) * B + np.outer(np.ones(2), v) / 2, rtol=1e-14)
    np.testing.assert_allclose(g["b"], np.sin(A).sum(0), rtol=1e-14)
    np.testing.assert_allclose(g["w"], A.sum(0) / 2, rtol=1e-14)
    g = truth.gradient(dl.sum(dl.transpose(a) * dl.constant(np.arange(6.0).reshape(3, 2))),
                       {"a": A})
    np.testing.assert_allclose(g["a"], np.arange(6.0).reshape(3, 2).T, rtol=0)


def test_jacobian_and_hessian():
    x, y = dl.variables("x y")
    J = truth.jacobian(dl.sin(x * y), {"x": np.array([0.2, 0.5]), "y": 1.5})
    assert J["x"].shape == (2, 2) and J["y"].shape == (2,)
    np.testing.assert_allclose(J["x"], np.diag(1.5 * np.cos(1.5 * np.array([0.2, 0.5]))),
                               rtol=1e-15)
    np.testing.assert_allclose(J["y"], np.array([0.2, 0.5]) * np.cos(1.5 * np.array([0.2, 0.5])),
                               rtol=1e-15)
    f = x**2.0 * y + dl.sin(x * y)
    H = truth.hessian(f, {"x": 0.7, "y": -1.3})
    fxx = at50(lambda a, b: 2 * b - b**2 * mpmath.sin(a * b), 0.7, -1.3)
    fxy = at50(lambda a, b: 2 * a + mpmath.cos(a * b) - a * b * mpmath.sin(a * b), 0.7, -1.3)
    fyy = at50(lambda a, b: -a**2 * mpmath.sin(a * b), 0.7, -1.3)
    assert H["x"]["x"] == pytest.approx(fxx, rel=EXACT)
    assert H["x"]["y"] == H["y"]["x"] == pytest.approx(fxy, rel=EXACT)
    assert H["y"]["y"] == pytest.approx(fyy, rel=EXACT)


def test_kinks_follow_jax():
    x, y = dl.variables("x y")
    assert truth.gradient(dl.relu(x), {"x": 0.0}) == {"x": 0.0}
    assert truth.gradient(dl.abs(x), {"x": 0.0}) == {"x": 0.0}
    assert truth.gradient(dl.abs(dl.log(x)), {"x": 1.0}) == {"x": 0.0}   # |u| of a real u
    assert truth.gradient(dl.max(x, y), {"x": 2.0, "y": 2.0}) == {"x": 0.5, "y": 0.5}
    assert truth.gradient(dl.min(x, y), {"x": 2.0, "y": 2.0}) == {"x": 0.5, "y": 0.5}
    H = truth.hessian(dl.relu(x) * y + dl.abs(x) * x, {"x": 0.0, "y": 3.0})
    assert H == {"x": {"x": 0.0, "y": 0.0}, "y": {"x": 0.0, "y": 0.0}}


def test_outside_the_domain_as_ieee():
    x, y = dl.variables("x y")
    assert np.isnan(truth.value(dl.log(x), {"x": -1.0}))            # mpmath goes complex
    assert np.isnan(truth.value(dl.acos(x), {"x": 2.0}))
    assert truth.value(1.0 / x, {"x": 0.0}) == np.inf                # mpmath raises
    assert truth.gradient(dl.sqrt(x), {"x": 0.0}) == {"x": np.inf}
    # one component outside the domain leaves the others at 50 digits
    g = truth.gradient(1.0 / x + dl.sin(y), {"x": 0.0, "y": 0.3})
    assert g["x"] == -np.inf and g["y"] == pytest.approx(at50(mpmath.cos, 0.3), rel=EXACT)


def test_budget_refuses_quickly_with_a_clear_error():
    x = dl.variable("x")
    chain = x
    for _ in range(100_000):
        chain = dl.Expr("sin", (chain,))
    start = time.perf_counter()
    with pytest.raises(truth.TruthTooLarge, match=r"too large for truth: .*100,001 nodes"):
        truth.gradient(chain, {"x": 0.5})
    assert time.perf_counter() - start < 2.0
    deep = x
    for _ in range(200):
        deep = dl.sin(deep)
    with pytest.raises(ValueError, match=r"too deep for truth: depth 200 \(limit 150"):
        truth.value(deep, {"x": 0.5})
    loss, point = mlp_problem()
    with pytest.raises(SymbolicTooLarge, match=r"tree of [\d,]+ scalar nodes x 52 inputs"):
        truth.gradient(loss, point, max_tree=1000)


def test_prepared_programs_are_cached():
    x, y = dl.variables("x y")
    f = dl.exp(x * y) / (1.0 + y**2.0)
    truth.gradient(f, {"x": 0.1, "y": 0.2})
    hits = truth._prepare.cache_info().hits
    g = truth.gradient(dl.exp(x * y) / (1.0 + y**2.0), {"x": 0.4, "y": -0.2})
    assert truth._prepare.cache_info().hits == hits + 1
    assert g["x"] == pytest.approx(at50(lambda a, b: b * mpmath.exp(a * b) / (1 + b**2),
                                        0.4, -0.2), rel=EXACT)


def test_logistic_map_truth_agrees_with_symbolic():
    from difflab import symbolic

    x = dl.variable("x")
    l_n = x
    for _ in range(8):
        l_n = 4.0 * l_n * (1.0 - l_n)
    want = truth.gradient(l_n, {"x": 0.3})["x"]
    # chaotic: float64 rounding in the symbolic evaluation is amplified, hence 1e-12
    assert symbolic.grad(l_n, {"x": 0.3})["x"] == pytest.approx(want, rel=1e-12)


def test_complex_intermediates_are_nan_never_a_real_part_or_a_raw_error():
    # d/dx sqrt(-1) * x is SymPy's I, which lambdify prints as the Python complex 1j (a raw
    # TypeError before); at x = 0, -acos(log(-2)) / x**2 raises in mpmath and the NumPy
    # fallback is complex: its real part (-inf) was returned.
    x = dl.variable("x")
    assert np.isnan(truth.gradient(dl.sqrt(dl.constant(-1.0)) * x, {"x": 2.0})["x"])
    f = dl.acos(dl.log(dl.constant(-2.0))) / x
    assert np.isnan(truth.gradient(f, {"x": 0.0})["x"])
    assert np.isnan(truth.gradient(f, {"x": 2.0})["x"])
    # SymPy cannot compare x with I (max(x, sqrt(-1))): a clear refusal, not SymPy's error
    with pytest.raises(ValueError, match=r"truth: SymPy cannot differentiate this expression"):
        truth.gradient(dl.max(x, dl.sqrt(dl.constant(-1.0))), {"x": 2.0})
    # SymPy leaves d sign(piecewise)/dx unevaluated in this Hessian: a clear refusal (it was
    # mpmath's printer failing on a Derivative), which the fuzzer counts as a skip
    e = dl.parse("sum(abs(where(x >= -0.5, x, acos(x))))")
    point = {"x": np.array([[0.3, -0.7, 0.1], [-0.2, 0.8, -0.9]])}
    with pytest.raises(truth.NoTruth, match="leaves a derivative unevaluated"):
        truth.hessian(e, point)
    stats = fuzz.Stats()
    assert fuzz.cross_check._jax_against_truth(fuzz.Case(e, point, "hessian"), stats) == []
    assert stats.skipped["no 50-digit truth"] == 1
    scalar = fuzz.Case(dl.parse("abs(where(x >= -0.5, x, acos(x)))"), {"x": 0.3}, "hessian")
    assert fuzz.check(scalar, ["reverse"], stats=stats) == []   # (its reference is the truth)
    assert stats.skipped["no 50-digit truth"] == 2


def test_max_at_a_tie_at_inf_and_against_nan_as_jax():
    # d max(a, b)/da: 1/2 at a tie, even at inf (a - b is nan there), and 0 against nan
    x, y = dl.variables("x y")
    assert truth.gradient(dl.max(x, y), {"x": np.inf, "y": np.inf}) == {"x": 0.5, "y": 0.5}
    assert truth.gradient(dl.min(x, y), {"x": -np.inf, "y": -np.inf}) == {"x": 0.5, "y": 0.5}
    assert truth.gradient(dl.max(x, y), {"x": 2.0, "y": np.nan}) == {"x": 0.0, "y": 0.0}
