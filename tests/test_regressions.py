"""Regressions: every disagreement the fuzzer (and the deep, wide and edge-case tests) found,
as a small case, each fixed at its cause. Each test names where it was found and what the
fix was.
"""

import re
import time

import numpy as np
import pytest

import difflab as dl
from difflab import forward, fuzz, truth
from difflab.fuzz.generate import domain_margin

EXACT = ("symbolic", "forward", "reverse", "jax")


# ---- make fuzz, run 2: the Hessian at a relu kink ------------------------------------------
# DISAGREEMENT: forward hessian vs truth: relu(z) / y at {"y": 1.0, "z": 0.0}
#   forward: {'y': {'y': 0.0, 'z': -0.5}, 'z': {'y': -0.0, 'z': 0.0}}   (asymmetric!)
#   truth:   {'y': {'y': 0.0, 'z': 0.0}, 'z': {'y': 0.0, 'z': 0.0}}
# (reverse the same.) Both Hessians run the primal pass on forward.Dual numbers, where
# PRIMAL's relu, np.maximum(x, 0), took max's tie rule (1/2) instead of relu's (0, as JAX).
# Fixed in forward.py (relu on a Dual takes relu's rule: FAST_PRIMAL, _DUAL_PRIMAL) and
# reverse.py (prepare_hessian's Dual pass uses forward.relu).
@pytest.mark.parametrize("method", EXACT)
@pytest.mark.parametrize("text", ["relu(z) / y", "relu(z) * y", "relu(z * y) * y"])
def test_hessian_at_a_relu_kink_follows_jax(method, text):
    point = {"y": 1.0, "z": 0.0}
    f = dl.parse(text)
    got = dl.hessian(f, point, method=method)
    want = truth.hessian(f, point)
    assert got == want == dl.hessian(f, point, method="jax")
    assert got["y"]["z"] == got["z"]["y"] == 0.0


@pytest.mark.parametrize("method", ("forward", "reverse"))
def test_hessian_at_relu_kinks_of_an_array(method):
    f = dl.parse("sum(relu(v) * y)")
    point = {"y": 1.0, "v": np.array([0.0, 1.0, -1.0])}
    got = dl.hessian(f, point, method=method)
    assert np.array_equal(got["v"]["y"], [0.0, 1.0, 0.0])  # relu' = 0 at 0, as JAX
    assert np.array_equal(got["y"]["v"], got["v"]["y"])


def test_nested_forward_derivatives_at_a_relu_kink():
    # d/dx [d/dy relu(x y)] at x = 0, y = 1 is relu'(0) = 0 (JAX), not max's tie value 1/2.
    d2 = forward.derivative(lambda x: forward.derivative(lambda y: forward.relu(x * y), 1.0),
                            0.0)
    assert d2 == 0.0


# ---- make fuzz, run 1: a point next to tan's pole ------------------------------------------
# DISAGREEMENT: numeric grad vs truth: tan(exp(z)) at {"z": 0.4540571583976749}
#   numeric 103932.32152198958, truth 103973.73314970644 (rho 2e-4)
# exp(z) = 1.5747 is 0.0039 from pi/2: the derivatives of tan grow without bound there, and
# so does the truncation error of any finite difference. Not an engine bug: the fuzzer's
# point was not inside the domain in any useful sense. Fixed in the generator:
# random_expr.domain_margin, and fuzz.inside asks for a margin of DOMAIN_MARGIN.
def test_points_next_to_a_pole_are_not_inside_the_domain():
    f = dl.parse("tan(exp(z))")
    near = {"z": 0.4540571583976749}
    assert domain_margin(f, near) < 0.004 and not fuzz.inside(f, near)
    well_inside = {"z": -0.3}
    assert fuzz.inside(f, well_inside)
    assert not fuzz.check(fuzz.Case(f, well_inside, "grad"))


# ---- tests/test_edge_cases.py: the truth of x ** y at x = 0 ----------------------------------
# The edge-case table showed truth (nan, nan) for d(x ** y) at (0, 2), where every method and
# JAX give (0, 0) — the right answer: x ** 2 and 0 ** y are smooth there. SymPy's derivative
# x ** y * y / x and log(x) * x ** y is 0/0 and -inf * 0 at x = 0. Fixed in truth.py:
# real_pow (d/dx = y x ** (y - 1), d/dy = log x x ** y with log 0 taken as 0, JAX's rule).
@pytest.mark.parametrize("x, y", [(0.0, 2.0), (0.0, 1.0), (0.0, 0.5), (0.0, 0.0), (0.0, -1.0),
                                  (-2.0, 3.0), (1.3, 0.7)])
def test_truth_of_a_power_at_base_zero_follows_jax(x, y):
    f, point = dl.parse("x ** y"), {"x": x, "y": y}
    want = dl.grad(f, point, method="jax")
    got = truth.gradient(f, point)
    for name in want:
        assert np.allclose(got[name], want[name], rtol=1e-15, atol=0, equal_nan=True), \
            (name, got, want)


def test_truth_of_a_power_at_base_zero_arrays_and_hessian():
    f = dl.parse("sum(v ** w)")
    point = {"v": np.array([0.0, 2.0]), "w": np.array([2.0, 0.5])}
    got, want = truth.gradient(f, point), dl.grad(f, point, method="jax")
    for name in want:
        assert np.allclose(got[name], want[name], rtol=1e-15, atol=0)
    h_truth = truth.hessian(dl.parse("x ** y"), {"x": 1.3, "y": 0.7})
    h_jax = dl.hessian("x ** y", {"x": 1.3, "y": 0.7}, method="jax")
    for a in "xy":
        for b in "xy":
            assert h_truth[a][b] == pytest.approx(h_jax[a][b], rel=1e-14)


# ---- tests/test_deep.py: forward mode on a 100,000-input sum -------------------------------
# One tangent pass seeded every scalar input with a full-length identity row: n x n floats,
# 80 GB for n = 100,000 (3,000 inputs already took 112 MB). Fixed in forward.py: the default
# chunk keeps one pass's seeds within SEED_BUDGET floats, and a pass seeds only the inputs its
# directions reach (the others have no tangent, and the sweep skips their steps).
def test_forward_chunks_many_scalar_inputs_within_the_seed_budget(monkeypatch):
    monkeypatch.setattr(forward.sweep, "SEED_BUDGET", 1000)
    names = [f"x{i}" for i in range(300)]
    xs = dl.variables(names)
    f = dl.sin(xs[0]) * xs[1]
    for x in xs[2:]:
        f = f + dl.tanh(x)  # unary ops downstream of inputs a pass does not seed
    point = {n: 0.01 * i for i, n in enumerate(names)}
    prepared = forward.prepare(f, tuple(names), {n: () for n in names})
    info = prepared.info
    assert info["passes"] > 1 and info["chunk"] * min(300, info["chunk"] + 2) <= 1000
    got, want = prepared(point), dl.grad(f, point, method="reverse")
    assert got == pytest.approx(want, rel=1e-15)


def test_forward_chunks_with_array_inputs(monkeypatch):
    monkeypatch.setattr(forward.sweep, "SEED_BUDGET", 200)
    f = dl.parse("sum(sin(M) @ v) * x + sum(exp(w))")
    rng = np.random.default_rng(4)
    point = {"M": rng.normal(size=(4, 5)), "v": rng.normal(size=5), "x": 0.3,
             "w": rng.normal(size=6)}
    prepared = forward.prepare(f, ("M", "v", "w", "x"), {k: np.shape(v) for k, v in
                                                         point.items()})
    assert prepared.info["passes"] > 1
    got, want = prepared(point), dl.grad(f, point, method="jax")
    for name in want:
        assert np.allclose(got[name], want[name], rtol=1e-13, atol=1e-15), name


# ---- tests/test_deep.py: symbolic took minutes to refuse a 100,000-input sum ----------------
# symbolic.prepare checked each wrt name with `name in expr.variables` (a tuple): 100,000^2
# comparisons, 133 s before "too large for symbolic". Fixed in symbolic.py (_check_names uses
# a set) and, the same pattern, api.py (_wrt).
def test_refusing_a_wide_sum_is_quick():
    names = [f"x{i}" for i in range(60_000)]  # 119,999 nodes: over symbolic's 100,000
    terms = list(dl.variables(names))
    while len(terms) > 1:
        terms = [terms[i] + terms[i + 1] if i + 1 < len(terms) else terms[i]
                 for i in range(0, len(terms), 2)]
    f, point = terms[0], dict.fromkeys(names, 1.0)
    start = time.perf_counter()
    with pytest.raises(ValueError, match="too large for symbolic"):
        dl.grad(f, point, method="symbolic", wrt=names)
    assert time.perf_counter() - start < 5.0  # quadratic before: 133 s at 100,000 inputs


# ---- make fuzz, run 2: a tie inside a tie --------------------------------------------------
# DISAGREEMENT: symbolic grad vs jax: sum(min(min(M, v + 2), M)) at M[1, 1] = 1, v[1] = -1:
#   symbolic dM = 0.5, dv = 0.5; jax dM = 0.75, dv = 0.25
# JAX splits each binary tie 1/2 : 1/2 (outer: 1/2 to M, 1/2 to the inner min, which splits
# its half again). SymPy's Min flattens and deduplicates, Min(Min(M, w), M) = Min(M, w), and
# so splits once. The truth had the same flaw. Fixed in sympy_bridge.py: max/min become
# binary max2/min2, which SymPy never flattens (used by symbolic and truth alike).
@pytest.mark.parametrize("method", ("symbolic", "truth"))
def test_nested_ties_split_as_jax(method):
    cases = [("min(min(x, y + 2), x)", {"x": 1.0, "y": -1.0}),
             ("max(x, max(x, y))", {"x": 2.0, "y": 2.0}),
             ("sum(min(min(M, v + 2), M))", {"M": np.array([[0.5, 1.0]]),
                                             "v": np.array([0.5, -1.0])})]
    for text, point in cases:
        f = dl.parse(text)
        want = dl.grad(f, point, method="jax")
        got = truth.gradient(f, point) if method == "truth" else dl.grad(f, point, method=method)
        for name in want:
            assert np.array_equal(got[name], want[name]), (text, name, got, want)
    assert truth.gradient(dl.parse("min(min(x, y + 2), x)"), {"x": 1.0, "y": -1.0}) == \
        {"x": 0.75, "y": 0.25}


# ---- make fuzz, run 2: symbolic could not print the gradient of abs(u ** softplus(y)) ------
# DISAGREEMENT: symbolic grad vs truth: error, PrintMethodNotImplementedError: Unsupported by
#   NumPyPrinter: Derivative (of re); the Hessian: "no derivative rule for SymPy's Subs"
#   expression: abs(exp(tanh(x - 0.5)) ** tanh(softplus(y)))
# SymPy did not know softplus(y) is real for real y, so it took abs(...) apart into re() and
# im() of softplus, whose derivatives are unevaluated Derivative/Subs objects. Fixed in
# sympy_bridge.py: the custom functions (sigmoid, softplus, relu, max2, min2) are real where
# their arguments are.
@pytest.mark.parametrize("kind", ("grad", "hessian"))
@pytest.mark.parametrize("text", ["abs(exp(tanh(x - 0.5)) ** tanh(softplus(y)))",
                                  "abs(exp(x) ** sigmoid(y))", "abs(exp(x) ** relu(y))",
                                  "abs(exp(x) ** max(y, x))"])
def test_symbolic_abs_of_custom_functions(kind, text):
    point = {"x": 0.49630959300500965, "y": -0.6313754105522168}
    got = getattr(dl, kind)(text, point, method="symbolic")
    want = getattr(dl, kind)(text, point, method="jax")
    flat = (lambda d: d) if kind == "grad" else (lambda d: {(a, b): d[a][b] for a in d
                                                             for b in d[a]})
    for key, value in flat(want).items():
        assert flat(got)[key] == pytest.approx(value, rel=1e-12, abs=1e-15), key


# ---- make fuzz, run 4: symbolic's Hessian of |v| |v| at v = 0 ------------------------------
# DISAGREEMENT: symbolic hessian vs jax: sum(abs(v) @ transpose(abs(v))) at
#   v = [[-1, -1], [0, -1], [0, -1]]: symbolic d2/dv_10^2 = 2, jax (and truth) 0
# SymPy rewrites Abs(x)**2 as x**2 for a real x (second derivative 2 everywhere); JAX
# differentiates |x| |x| as 2 sign(x)^2 + 2 |x| sign'(x) = 0 at x = 0. Fixed in
# sympy_bridge.py: abs becomes fabs, a real |x| that SymPy keeps as written (d = sign).
@pytest.mark.parametrize("method", ("symbolic", "truth"))
def test_hessian_of_abs_squared_at_zero_follows_jax(method):
    for text, point in [("sum(abs(v) @ transpose(abs(v)))",
                         {"v": np.array([[-1.0, -1.0], [0.0, -1.0], [0.0, -1.0]])}),
                        ("abs(x) * abs(x) + abs(x * y) ** 2", {"x": 0.0, "y": 1.5})]:
        f = dl.parse(text)
        want = dl.hessian(f, point, method="jax")
        got = truth.hessian(f, point) if method == "truth" else dl.hessian(f, point,
                                                                           method=method)
        for a in want:
            for b in want[a]:
                assert np.array_equal(got[a][b], want[a][b]), (text, a, b, got, want)
    assert dl.from_sympy(dl.to_sympy(dl.parse("abs(x) ** 2"))) == dl.parse("abs(x) ** 2")


# ---- the edge-case table's array rows (tests/test_edge_cases_arrays.py) --------------------
# DEFECT: reverse grad of prod(v) at v of shape (0,) raised "cannot reshape array of size 1
#   into shape (0,)" (a bare NumPy message); every other method gave the empty gradient.
# exclusive_prod (core/axes.py) padded the prefix and suffix products with a 1 each, so over
# an empty axis it made one product where there are none. Fixed there: an empty reduced axis
# gives an empty array shaped like x.
@pytest.mark.parametrize("shape, axis", [((0,), None), ((2, 0), 1), ((2, 0), None),
                                         ((0, 3), 0)])
def test_reverse_prod_over_an_empty_axis_is_an_empty_gradient(shape, axis):
    f = dl.sum(dl.prod(dl.variables("v")[0], axis=axis))
    point = {"v": np.zeros(shape)}
    for method in ("reverse", "forward", "jax"):
        g = dl.grad(f, point, method=method)["v"]
        assert g.shape == shape, (method, g)
    assert dl.evaluate(f, point) == np.sum(np.prod(np.zeros(shape), axis=axis))


# DEFECT: dl.evaluate(v[5]) at v of 3 entries raised NumPy's bare IndexError ("index 5 is out
#   of bounds for axis 0 with size 3"), while every grad method named the index and the shape.
# evaluate ran the primal without the shape inference every method runs first. Fixed in
# core/evaluate.py: evaluate infers the shapes (remembered on the plan) before running.
@pytest.mark.parametrize("text, index", [("v[5]", "[5]"), ("v[-4]", "[-4]"),
                                         ("sum(v[[0, 3]])", "[[0, 3]]")])
def test_evaluate_names_an_out_of_range_index_and_the_shape(text, index):
    with pytest.raises(ValueError, match=re.escape(f"index {index} does not fit shape (3,)")):
        dl.evaluate(dl.parse(text), {"v": np.array([1.0, 2.0, 3.0])})


# DEFECT: max(v) and min(v) at v of shape (0,) were -inf and +inf (the primal and the JAX
#   reference passed initial=-inf/+inf), where NumPy and JAX refuse a zero-size max: it has no
#   identity. Fixed in the shape rule (core/ops.py _reduced_shape), so every method and
#   evaluate raise the same error naming the op, the shape and the empty axis.
@pytest.mark.parametrize("text, shape, reference", [
    ("max(v)", (0,), lambda v: np.max(v)), ("min(v)", (0,), lambda v: np.min(v)),
    ("sum(max(v, axis=1))", (2, 0), lambda v: np.max(v, axis=1)),
    ("sum(min(v, axis=0))", (0, 3), lambda v: np.min(v, axis=0))])
def test_max_over_an_empty_axis_is_an_error_in_every_method(text, shape, reference):
    f, point = dl.parse(text), {"v": np.zeros(shape)}
    with pytest.raises(ValueError, match="zero-size array"):  # NumPy refuses too
        reference(point["v"])
    what = "max" if "max" in text else "min"
    message = re.escape(f"{what} of shape {shape} over the empty axis")
    with pytest.raises(ValueError, match=message):
        dl.evaluate(f, point)
    for method in ("symbolic", "numeric", "forward", "reverse", "jax"):
        with pytest.raises(ValueError, match=message):
            dl.grad(f, point, method=method)
    with pytest.raises(ValueError, match=message):
        truth.gradient(f, point)
    # over an axis that is not empty the result is just empty: max over 2 rows of 0 columns
    assert dl.grad(dl.parse("sum(max(v, axis=0))"), {"v": np.zeros((2, 0))},
                   method="reverse")["v"].shape == (2, 0)
