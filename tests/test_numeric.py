"""Finite differences (difflab.numeric) against hand-written derivatives and 50-digit truth."""

import math

import mpmath
import numpy as np
import pytest

import difflab as dl
from difflab import numeric as nm
from difflab.core import expr as ir
from difflab.core import ops

mpmath.mp.dps = 50


def sig(x):
    return 1.0 / (1.0 + math.exp(-x))


# (text, point, hand-written gradient) — one case per op, inside the op's domain.
OP_CASES = [
    ("-x", {"x": 0.7}, {"x": -1.0}),
    ("sin(x)", {"x": 0.7}, {"x": math.cos(0.7)}),
    ("cos(x)", {"x": 0.7}, {"x": -math.sin(0.7)}),
    ("tan(x)", {"x": 0.7}, {"x": 1 / math.cos(0.7) ** 2}),
    ("asin(x)", {"x": 0.3}, {"x": 1 / math.sqrt(1 - 0.09)}),
    ("acos(x)", {"x": 0.3}, {"x": -1 / math.sqrt(1 - 0.09)}),
    ("atan(x)", {"x": 1.3}, {"x": 1 / (1 + 1.69)}),
    ("sinh(x)", {"x": 0.6}, {"x": math.cosh(0.6)}),
    ("cosh(x)", {"x": 0.6}, {"x": math.sinh(0.6)}),
    ("tanh(x)", {"x": 0.6}, {"x": 1 - math.tanh(0.6) ** 2}),
    ("exp(x)", {"x": 1.1}, {"x": math.exp(1.1)}),
    ("log(x)", {"x": 1.7}, {"x": 1 / 1.7}),
    ("log1p(x)", {"x": 0.4}, {"x": 1 / 1.4}),
    ("expm1(x)", {"x": 0.4}, {"x": math.exp(0.4)}),
    ("sqrt(x)", {"x": 2.3}, {"x": 0.5 / math.sqrt(2.3)}),
    ("abs(x)", {"x": -1.2}, {"x": -1.0}),
    ("sigmoid(x)", {"x": 0.8}, {"x": sig(0.8) * (1 - sig(0.8))}),
    ("relu(x)", {"x": 0.9}, {"x": 1.0}),
    ("relu(x)", {"x": -0.9}, {"x": 0.0}),
    ("softplus(x)", {"x": 0.8}, {"x": sig(0.8)}),
    ("x + y", {"x": 0.3, "y": 2.0}, {"x": 1.0, "y": 1.0}),
    ("x - y", {"x": 0.3, "y": 2.0}, {"x": 1.0, "y": -1.0}),
    ("x * y", {"x": 0.3, "y": 2.0}, {"x": 2.0, "y": 0.3}),
    ("x / y", {"x": 0.3, "y": 2.0}, {"x": 0.5, "y": -0.3 / 4.0}),
    ("x ** y", {"x": 1.3, "y": 2.4},
     {"x": 2.4 * 1.3 ** 1.4, "y": math.log(1.3) * 1.3 ** 2.4}),
    ("x ** 3", {"x": -2.0}, {"x": 12.0}),  # a constant exponent: no log(-2) anywhere
    ("max(x, y)", {"x": 0.3, "y": -2.0}, {"x": 1.0, "y": 0.0}),
    ("min(x, y)", {"x": 0.3, "y": -2.0}, {"x": 0.0, "y": 1.0}),
]
V = np.array([0.5, -1.0, 2.0])
W = np.array([[1.0, 2.0, -1.0], [0.5, 0.0, 3.0]])
ARRAY_CASES = [
    ("sum(v)", {"v": V}, {"v": np.ones(3)}),
    ("mean(v)", {"v": V}, {"v": np.full(3, 1 / 3)}),
    ("sum(transpose(W) * C)", {"W": W, "C": W.T * 2.0},
     {"W": 2.0 * W, "C": W.T}),
    ("sum(W @ v)", {"W": W, "v": V},
     {"W": np.ones((2, 1)) * V[None, :], "v": W.sum(axis=0)}),
    ("v @ v", {"v": V}, {"v": 2 * V}),
    # broadcasting: a scalar against a vector, a column against a row
    ("sum(sin(v) * s)", {"v": V, "s": 1.5}, {"v": 1.5 * np.cos(V), "s": np.sin(V).sum()}),
    ("sum(c * r)", {"c": np.array([[1.0], [2.0]]), "r": np.array([[3.0, 4.0, 5.0]])},
     {"c": np.array([[12.0], [12.0]]), "r": np.array([[3.0, 3.0, 3.0]])}),
]


def rel_err(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.maximum(1e-300, np.abs(b)))) if np.any(b) \
        else float(np.max(np.abs(a)))


def check(got: dict, want: dict, tol: float):
    assert set(got) == set(want)
    for name in want:
        assert np.shape(got[name]) == np.shape(want[name]), name
        assert rel_err(got[name], want[name]) <= tol, (name, got[name], want[name])


# ---- the accuracy pins: f(x) = exp(x) / sqrt(sin^3 x + cos^3 x) at 1.5 ---------------------
def squire_prime(x):
    """f' = f (1 - (3 sin^2 cos - 3 cos^2 sin) / (2 (sin^3 + cos^3))), at 50 digits."""
    x = mpmath.mpf(x)
    s, c = mpmath.sin(x), mpmath.cos(x)
    f = mpmath.exp(x) / mpmath.sqrt(s ** 3 + c ** 3)
    return f * (1 - (3 * s ** 2 * c - 3 * c ** 2 * s) / (2 * (s ** 3 + c ** 3)))


SQUIRE = dl.parse("exp(x) / sqrt(sin(x)**3 + cos(x)**3)")


def test_hand_written_derivative_matches_mpmath_diff():
    f = lambda x: mpmath.exp(x) / mpmath.sqrt(mpmath.sin(x) ** 3 + mpmath.cos(x) ** 3)
    assert abs(squire_prime(1.5) - mpmath.diff(f, mpmath.mpf(1.5))) < mpmath.mpf(10) ** -40


@pytest.mark.parametrize("scheme, tol", [
    ("forward", 1e-6), ("backward", 1e-6), ("central", 1e-9), ("central4", 1e-11),
    ("richardson", 1e-11), ("complex", 1e-15), ("adaptive", 1e-13),
])
def test_accuracy_pins(scheme, tol):
    truth = squire_prime(1.5)
    got = nm.grad(SQUIRE, {"x": 1.5}, scheme=scheme)["x"]
    assert float(abs((got - truth) / truth)) <= tol


def test_plain_function_helpers():
    f = lambda x: np.exp(x) / np.sqrt(np.sin(x) ** 3 + np.cos(x) ** 3)
    truth = float(squire_prime(1.5))
    assert abs(nm.derivative(f, 1.5, "complex") - truth) <= 1e-15 * truth
    value, error = nm.richardson(f, 1.5)
    assert abs(value - truth) <= error <= 1e-9 * truth  # the estimate bounds the error


def test_richardson_error_estimate_in_info():
    prepared = nm.prepare(SQUIRE, ("x",), {"x": ()}, scheme="richardson")
    value = prepared({"x": 1.5})["x"]
    error = prepared.info["error_estimate"]["x"]
    assert abs(value - float(squire_prime(1.5))) <= error <= 1e-9 * abs(value)
    g, e = nm.grad_with_error(dl.parse("sum(exp(v))"), {"v": V})
    assert np.all(np.abs(g["v"] - np.exp(V)) <= e["v"]) and e["v"].shape == (3,)


# ---- every op, arrays, broadcasting -------------------------------------------------------
@pytest.mark.parametrize("text, point, want", OP_CASES + ARRAY_CASES,
                         ids=[c[0] for c in OP_CASES + ARRAY_CASES])
def test_every_op_default_scheme(text, point, want):
    check(nm.grad(dl.parse(text), point), want, 1e-7)


@pytest.mark.parametrize("text, point, want", OP_CASES + ARRAY_CASES,
                         ids=[c[0] for c in OP_CASES + ARRAY_CASES])
def test_every_op_other_schemes(text, point, want):
    expr = dl.parse(text)
    check(nm.grad(expr, point, scheme="central"), want, 1e-8)
    check(nm.grad(expr, point, scheme="richardson"), want, 1e-10)
    check(nm.grad(expr, point, scheme="forward"), want, 1e-5)
    if not {"abs", "relu", "max", "min"} & {n.op for n in ir.toposort(expr)}:
        check(nm.grad(expr, point, scheme="complex"), want, 1e-14)


def test_every_op_has_a_complex_rule():
    assert set(ops.UNARY + ops.BINARY) <= set(nm.complex_rules)


def test_wrt_subset_and_user_arrays_untouched():
    v = V.copy()
    g = nm.grad(dl.parse("sum(v * v) * s"), {"v": v, "s": 2.0}, wrt=["v"])
    assert list(g) == ["v"] and np.allclose(g["v"], 4 * V, rtol=1e-9)
    assert np.array_equal(v, V)
    with pytest.raises(ValueError, match="'z'"):
        nm.grad(dl.parse("x"), {"x": 1.0}, wrt=["z"])
    with pytest.raises(KeyError, match="'y'"):
        nm.grad(dl.parse("x * y"), {"x": 1.0})


def test_gradient_needs_a_scalar():
    with pytest.raises(ValueError, match=r"not scalar.*\(3,\)"):
        nm.prepare(dl.parse("sin(v)"), ("v",), {"v": (3,)})


# ---- jacobian, hessian --------------------------------------------------------------------
def test_jacobian_layout_and_values():
    J = nm.prepare_jacobian(dl.parse("W @ v * s"), ("W", "v", "s"),
                            {"W": (2, 3), "v": (3,), "s": ()})({"W": W, "v": V, "s": 2.0})
    want_W = np.zeros((2, 2, 3))
    for i in range(2):
        want_W[i, i, :] = 2.0 * V  # d (W v)_i / d W_jk = delta_ij v_k
    check(J, {"W": want_W, "v": 2.0 * W, "s": W @ V}, 1e-9)
    Jc = nm.prepare_jacobian(dl.parse("sin(v) * s"), ("v",), {"v": (3,), "s": ()},
                             scheme="complex")({"v": V, "s": 2.0})
    assert np.allclose(Jc["v"], np.diag(2.0 * np.cos(V)), rtol=1e-15, atol=0)


def test_hessian_second_differences():
    rho = lambda a, b: np.max(np.abs(a - b) / np.maximum(1, np.abs(a) + np.abs(b)))
    x = np.array([0.3, -1.2, 2.0])
    H = nm.prepare_hessian(dl.parse("sum(exp(x) * x) * y**2"), ("x", "y"),
                           {"x": (3,), "y": ()})({"x": x, "y": 1.5})
    want_xx = np.diag((2 + x) * np.exp(x)) * 1.5 ** 2
    want_xy = (1 + x) * np.exp(x) * 2 * 1.5
    assert rho(H["x"]["x"], want_xx) <= 1e-5 and H["x"]["x"].shape == (3, 3)
    assert rho(H["x"]["y"], want_xy) <= 1e-5 and rho(H["y"]["x"], want_xy) <= 1e-5
    assert rho(H["y"]["y"], 2 * np.sum(np.exp(x) * x)) <= 1e-5
    assert isinstance(H["y"]["y"], float)
    with pytest.raises(ValueError, match="scheme"):
        nm.prepare_hessian(dl.parse("x*x"), ("x",), {"x": ()}, scheme="complex")


# ---- steps, options, evaluation counts ----------------------------------------------------
@pytest.mark.parametrize("bad", [0.0, -1e-3, float("nan"), float("inf"), "0.1", True])
def test_step_validation(bad):
    with pytest.raises(ValueError, match="step"):
        nm.prepare(dl.parse("x*x"), ("x",), {"x": ()}, step=bad)


def test_step_override_and_vanishing_step():
    g = nm.grad(dl.parse("x**3"), {"x": 2.0}, scheme="forward", step=1e-3)["x"]
    assert abs(g - (12.0 + 3 * 2.0 * 1e-3)) < 1e-5  # forward's O(h) error: 3 x h + h^2
    with pytest.raises(ValueError, match="step=1e-30 vanishes"):
        nm.grad(dl.parse("x*x"), {"x": 1.0}, scheme="central", step=1e-30)


def test_step_rule():
    for scheme, c in [("forward", 2 ** -26), ("central", nm.EPS ** (1 / 3))]:
        for x in (0.0, 0.5, 3.0, -1e6, 123.456):
            h = nm.step_size(x, scheme)
            assert (x + h) - x == h > 0
            assert 0.7 < h / (c * max(1.0, abs(x))) < 1.42  # rounded to a power of two
    assert nm.step_size(5.0, "complex") == 1e-20
    assert nm.step_size(0.0, "complex") == 1e-20
    assert nm.step_size(-1e-5, "complex") == pytest.approx(1e-25, rel=1e-15)  # relative below 1
    assert nm.step_size(1e-320, "complex") == 2.0 ** -1064                   # (its floor)


@pytest.mark.parametrize("x", [1e-300, 1e-150, 1e-8, 0.3])
def test_the_complex_step_stays_small_next_to_a_tiny_x(x):
    # a fixed h = 1e-20 at x = 1e-300 sampled sqrt 1e280 times x away: 7.07e9 for 5e149
    got = dl.grad("sqrt(x) + x * log(x)", {"x": x}, method="numeric:complex")["x"]
    want = 0.5 / math.sqrt(x) + math.log(x) + 1.0
    assert got == pytest.approx(want, rel=1e-14)
    assert nm.step_size(1.0, "central", step=0.1) == (1.0 + 0.1) - 1.0


def test_unknown_scheme_lists_known_ones():
    with pytest.raises(ValueError, match="central4.*richardson.*complex"):
        nm.grad(dl.parse("x"), {"x": 1.0}, scheme="five-point")
    with pytest.raises(ValueError, match="levels"):
        nm.grad(dl.parse("x"), {"x": 1.0}, scheme="richardson", levels=0)
    assert nm.DEFAULT_SCHEME in nm.SCHEMES


@pytest.mark.parametrize("scheme, formula", [
    ("forward", lambda n: n + 1), ("backward", lambda n: n + 1), ("central", lambda n: 2 * n),
    ("central4", lambda n: 4 * n), ("richardson", lambda n: 6 * n), ("complex", lambda n: n),
])
def test_evaluation_counts(scheme, formula):
    prepared = nm.prepare(dl.parse("sum(sin(v)) * s"), ("v", "s"), {"v": (3,), "s": ()},
                          scheme=scheme)
    assert prepared.info["inputs"] == 4
    assert prepared.info["evaluations"] == formula(4) == nm.evaluations(scheme, 4)
    prepared({"v": V, "s": 2.0})
    assert prepared.info["evaluations_last_call"] == formula(4)  # counted, not just claimed
    H = nm.prepare_hessian(dl.parse("sum(sin(v)) * s"), ("v", "s"), {"v": (3,), "s": ()})
    H({"v": V, "s": 2.0})
    assert H.info["evaluations"] == H.info["evaluations_last_call"] == 2 * 16 + 1


# ---- the complex step: refusal, fallback, domains -----------------------------------------
@pytest.mark.parametrize("op, text", [("abs", "abs(x)"), ("relu", "relu(x) * y"),
                                      ("max", "max(x, y)"), ("min", "min(y, x)")])
def test_complex_step_refuses_non_analytic(op, text):
    expr = dl.parse(text)
    with pytest.raises(ValueError, match=f"complex step cannot differentiate {op}: not analytic"):
        nm.grad(expr, {v: 0.5 for v in expr.variables}, scheme="complex")


def test_complex_step_fallback_and_untouched_kinks():
    expr = dl.parse("relu(x) * abs(y)")
    prepared = nm.prepare(expr, ("x", "y"), {"x": (), "y": ()}, scheme="complex",
                          fallback="central")
    assert prepared.info["scheme"] == "central" and "relu" in prepared.info["fallback"]
    g = prepared({"x": 2.0, "y": -3.0})
    assert abs(g["x"] - 3.0) < 1e-9 and abs(g["y"] + 2.0) < 1e-9
    # abs(y) is not reached by a perturbation of x: the complex step is exact for x.
    g = nm.grad(dl.parse("exp(x) * abs(y)"), {"x": 2.0, "y": -3.0}, wrt=["x"], scheme="complex")
    assert g["x"] == pytest.approx(3.0 * math.exp(2.0), rel=1e-15)


def test_complex_step_domains_follow_ieee():
    cs = lambda text, x: nm.grad(dl.parse(text), {"x": x}, scheme="complex")["x"]
    assert math.isnan(cs("log(x)", -1.0)) and math.isnan(cs("sqrt(x)", -1.0))
    assert math.isnan(cs("asin(x)", 2.0)) and math.isnan(cs("x ** 0.5", -4.0))
    assert cs("sqrt(x)", 0.0) == math.inf and cs("log(x)", 0.0) == math.inf
    assert cs("acos(x)", 1.0) == -math.inf
    assert cs("softplus(x)", 800.0) == 1.0 and cs("softplus(x)", -800.0) == 0.0
    assert cs("sigmoid(x)", -800.0) == 0.0 and abs(cs("sigmoid(x)", 0.0) - 0.25) < 1e-16
    assert cs("x ** 3", -2.0) == 12.0
    assert nm.grad(dl.parse("2 ** x"), {"x": 3.0}, scheme="complex")["x"] == \
        pytest.approx(8 * math.log(2), rel=1e-15)
    g = nm.grad(dl.parse("x ** y"), {"x": 0.0, "y": 2.0}, wrt=["y"], scheme="complex")
    assert g["y"] == 0.0  # 0**y: zero slope in y, as JAX


def test_finite_differences_average_a_kink():
    # FD sees the mean of both one-sided slopes; exact methods follow JAX (relu'(0) = 0).
    assert abs(nm.grad(dl.parse("relu(x)"), {"x": 0.0}, scheme="central")["x"] - 0.5) < 1e-12
    assert abs(nm.grad(dl.parse("abs(x)"), {"x": 0.0})["x"]) < 1e-12


# ---- why adaptive is the default ----------------------------------------------------------
SMOOTH = [  # (numpy f, mpmath f, points)
    (np.exp, mpmath.exp, (-3.0, 0.5, 4.0)), (np.sin, mpmath.sin, (0.3, 2.0, 10.0)),
    (np.log, mpmath.log, (0.2, 1.0, 50.0)), (np.arctan, mpmath.atan, (0.1, 1.0, 3.0)),
    (lambda x: 1 / (1 + x * x), lambda x: 1 / (1 + x * x), (0.2, 1.0, 3.0)),
    (np.tanh, mpmath.tanh, (0.1, 1.0, 2.5)),
    (lambda x: np.exp(x) / np.sqrt(np.sin(x) ** 3 + np.cos(x) ** 3),
     lambda x: mpmath.exp(x) / mpmath.sqrt(mpmath.sin(x) ** 3 + mpmath.cos(x) ** 3),
     (0.5, 1.5, 2.0)),
]


def test_default_scheme_choice():
    # The default was central4 until the adaptive scheme (tests/test_numeric_adaptive.py)
    # replaced it: these are the measurements behind both choices.
    errors = {s: [] for s in ("central", "central4", "richardson", "adaptive")}
    for f, mf, xs in SMOOTH:
        for x in xs:
            truth = mpmath.diff(mf, mpmath.mpf(x))
            for s in errors:
                errors[s].append(float(abs((nm.derivative(f, x, s) - truth) / truth)))
    median = {s: np.median(e) for s, e in errors.items()}
    worst = {s: max(e) for s, e in errors.items()}
    # smooth functions: adaptive (median 2e-15, worst 2e-13) ahead of richardson (2e-14,
    # 6e-13), central4 (1e-13, 7e-12) and far ahead of central
    assert median["adaptive"] < median["richardson"] < median["central4"] < 1e-12 \
        < median["central"]
    assert worst["adaptive"] < 1e-12 and worst["richardson"] < 2e-12 \
        and worst["central4"] < 2e-11
    # ReLU network: the wider a fixed step, the more often it straddles a kink (richardson
    # wrong beyond 1e-6 at 10 of 40 points, central4 at 1); the adaptive scheme's error
    # estimate finds the steps that do not (worst 7e-12)
    rng = np.random.default_rng(7)
    loss = dl.parse("sum(relu(A @ x) * w)")
    wrong = {"central4": 0, "richardson": 0, "adaptive": 0}
    for _ in range(40):
        A, x, w = rng.normal(size=(8, 3)), rng.normal(size=3) * 0.05, rng.normal(size=8)
        want = (A * ((A @ x > 0) * w)[:, None]).sum(axis=0)
        for s in wrong:
            got = nm.grad(loss, {"A": A, "x": x, "w": w}, wrt=["x"], scheme=s)["x"]
            wrong[s] += bool(np.max(np.abs(got - want)) > 1e-6)
    assert wrong["adaptive"] == 0 < wrong["central4"] < wrong["richardson"]
    assert nm.DEFAULT_SCHEME == "adaptive"
