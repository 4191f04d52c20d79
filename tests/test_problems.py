"""The lab's problems: every one builds, samples inside its domain, evaluates to the value a
hand-written NumPy version gives, and hands out a truth that matches hand-written derivatives.

References here are independent of the library: NumPy formulas and derivatives worked out by
hand (the chain rule on paper), plus the published Squire–Trapp value f'(1.5) = 4.0534278938986.
"""

import math

import numpy as np
import pytest

from difflab.lab import families
from difflab.lab.problems import (
    MAX_SYMPY_INPUTS,
    PROBLEMS,
    Instance,
    Problem,
    get_problem,
    problems,
)

# Small, non-default parameters for every sized problem (scalar problems have none).
SMALL = {
    "rosenbrock": [{"n": 3}, {"n": 2}],
    "rosenbrock_vec": [{"n": 2}, {"n": 5}],
    "rosenbrock_slices": [{"n": 2}, {"n": 5}],
    "sum_nonlinear": [{"n": 1}, {"n": 4}],
    "sum_nonlinear_vec": [{"n": 1}, {"n": 4}],
    "vector_family": [{"n": 3, "m": 2}, {"n": 1, "m": 5}],
    "logsumexp": [{"n": 1}, {"n": 3}],
    "mlp_loss": [{"width": 3, "depth": 0, "batch": 2, "inputs": 2, "outputs": 1,
                  "activation": "relu", "init": "he"},
                 {"width": 2, "depth": 3, "batch": 1, "inputs": 3, "outputs": 2,
                  "activation": "sigmoid", "init": "naive"}],
    "mlp_classifier": [{"width": 3, "depth": 0, "batch": 2, "inputs": 2, "classes": 2,
                        "activation": "relu", "init": "he"},
                       {"width": 2, "depth": 3, "batch": 5, "inputs": 3, "classes": 4,
                        "activation": "sigmoid", "init": "naive"}],
    "nested": [{"depth": 1, "base": b} for b in families.NESTED_BASES] + [{"depth": 3}],
    "logistic_map": [{"n": 1}, {"n": 7}],
    "random": [{"size": 3, "nvars": 3}, {"size": 12, "nvars": 1}],
    "gradbench_lse": [{"n": 3}], "gradbench_llsq": [{"n": 5, "m": 3}],
    "gradbench_gmm": [{"d": 3, "k": 2, "n": 4}], "gradbench_kmeans": [{"k": 2, "n": 5, "d": 3}],
    "gradbench_ode": [{"n": 4, "s": 2}], "gradbench_det": [{"ell": 3}],
    "gradbench_lstm": [{"l": 1, "c": 3}], "gradbench_ba": [{"n": 2, "m": 3, "p": 4}],
    "gradbench_ht": [{"N": 3, "V": 8, "complicated": False},
                     {"N": 3, "V": 8, "complicated": True}],
}


def _check_instance(inst: Instance) -> None:
    """The point names exactly the expression's variables, in the right types, and f is finite."""
    assert set(inst.point) == set(inst.expr.variables)
    for name, value in inst.point.items():
        assert type(value) is float or (isinstance(value, np.ndarray)
                                        and value.dtype == np.float64), name
    assert set(inst.wrt) <= set(inst.expr.variables) and inst.wrt
    assert np.all(np.isfinite(inst.value())), (inst.problem.name, inst.params, inst.point)
    assert inst.truth_source in ("sympy", "jax", "none")


# ---- registry -----------------------------------------------------------------------------
def test_registry_shape():
    scalar = problems("scalar")
    assert len(scalar) >= 30
    assert all(p.family == "scalar" and p.truth == "sympy" and p.defaults == {} for p in scalar)
    assert len(problems()) == len(PROBLEMS)
    for p in PROBLEMS.values():
        assert isinstance(p, Problem) and p.description and p.kind in ("grad", "jacobian")
        assert get_problem(p.name) is p
    assert set(SMALL) == {p.name for p in PROBLEMS.values() if p.family != "scalar"}
    # the scalar suite spans one to six variables
    counts = {len(p.instance().expr.variables) for p in scalar}
    assert counts == {1, 2, 3, 4, 5, 6}


def test_unknown_names_are_listed():
    with pytest.raises(KeyError) as err:
        get_problem("rosenbrok")
    assert "rosenbrock" in str(err.value) and "squire_trapp" in str(err.value)
    with pytest.raises(KeyError, match="known families: .*scalar"):
        problems("nope")
    with pytest.raises(ValueError, match="no parameter 'm'.*parameters: n"):
        get_problem("rosenbrock").instance({"m": 3})
    with pytest.raises(ValueError, match="activation must be one of tanh, sigmoid, relu"):
        get_problem("mlp_loss").instance({"activation": "gelu"})
    with pytest.raises(ValueError, match="n must be an integer >= 2"):
        get_problem("rosenbrock").instance({"n": 1})


# ---- every problem builds and samples inside its domain -----------------------------------
@pytest.mark.parametrize("name", list(PROBLEMS))
def test_builds_at_default_params(name):
    problem = get_problem(name)
    for seed in (0, 1, 2):
        inst = problem.instance(seed=seed)
        assert inst.params == problem.resolve() or "seed" in problem.defaults
        _check_instance(inst)


@pytest.mark.parametrize("name", list(SMALL))
def test_builds_at_small_params(name):
    for params in SMALL[name]:
        for seed in (0, 3):
            inst = get_problem(name).instance(params, seed=seed)
            assert {k: inst.params[k] for k in params} == params
            _check_instance(inst)


def test_points_are_seeded():
    for name in ("rosenbrock_vec", "mlp_loss", "squire_trapp", "six_var", "random"):
        a, b, c = (get_problem(name).instance(seed=s) for s in (5, 5, 6))
        for n in a.point:
            assert np.array_equal(a.point[n], b.point[n])
        assert any(not np.array_equal(a.point[n], c.point.get(n)) for n in a.point)
    # the random problem's expression follows the instance seed too
    exprs = {str(get_problem("random").instance(seed=s).expr) for s in range(6)}
    assert len(exprs) > 1
    assert get_problem("random").instance(seed=4).params["seed"] == 4


def test_reference_points():
    assert get_problem("squire_trapp").instance().point == {"x": 1.5}
    assert get_problem("logistic_map").instance().point == {"x": 0.2}
    assert get_problem("logistic4").instance().point == {"x": 0.2}
    assert get_problem("squire_trapp").instance(seed=1).point != {"x": 1.5}


# ---- values against hand-written NumPy ------------------------------------------------------
def _rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def _rosenbrock_grad(x):
    g = np.zeros_like(x)
    r = x[1:] - x[:-1] ** 2
    g[:-1] += -400.0 * x[:-1] * r - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * r
    return g


@pytest.mark.parametrize("n", [2, 7, 12])
def test_rosenbrock_every_flavour(n):
    scalars = get_problem("rosenbrock").instance({"n": n}, seed=4)
    vector = get_problem("rosenbrock_vec").instance({"n": n}, seed=4)
    slices = get_problem("rosenbrock_slices").instance({"n": n}, seed=4)
    x = vector.point["x"]
    assert np.array_equal(x, [scalars.point[f"x{i}"] for i in range(n)])  # same draws
    assert np.array_equal(x, slices.point["x"])
    want = _rosenbrock(x)
    assert scalars.value() == pytest.approx(want, rel=1e-14)
    assert vector.value() == pytest.approx(want, rel=1e-14)
    assert slices.value() == pytest.approx(want, rel=1e-14)


def test_sum_nonlinear_both_flavours():
    n = 6
    a = get_problem("sum_nonlinear").instance({"n": n}, seed=2)
    b = get_problem("sum_nonlinear_vec").instance({"n": n}, seed=2)
    x = b.point["x"]
    want = np.sum(np.sin(x) * np.exp(x / n) + np.log1p(x * x))
    assert a.value() == pytest.approx(want, rel=1e-14)
    assert b.value() == pytest.approx(want, rel=1e-14)


def test_logsumexp_value():
    inst = get_problem("logsumexp").instance({"n": 9}, seed=3)
    x = inst.point["x"]
    assert inst.value() == pytest.approx(np.log(np.sum(np.exp(x))), rel=1e-14)


def test_vector_family_value():
    inst = get_problem("vector_family").instance({"n": 5, "m": 3}, seed=1)
    A, b = families.vector_constants(5, 3)
    want = np.tanh(A @ inst.point["x"] + b)
    np.testing.assert_allclose(inst.value(), want, rtol=1e-14)
    assert inst.value().shape == (3,) and inst.kind == "jacobian"


def _mlp_forward(point, depth, act):
    """Hand-written forward pass; returns the loss and every layer's (input, pre-activation)."""
    h, cache = point["X"], []
    for k in range(1, depth + 2):
        z = h @ point[f"W{k}"] + point[f"b{k}"]
        cache.append((h, z))
        h = act(z) if k <= depth else z
    return np.mean((h - point["Y"]) ** 2), cache, h


def _mlp_backward(point, depth):
    """Hand-written backpropagation for tanh hidden layers: d loss / d W_k, d loss / d b_k."""
    loss, cache, out = _mlp_forward(point, depth, np.tanh)
    delta = 2.0 * (out - point["Y"]) / out.size          # d loss / d output
    grads = {}
    for k in range(depth + 1, 0, -1):
        h, z = cache[k - 1]
        if k <= depth:
            delta = delta * (1.0 - np.tanh(z) ** 2)      # through the activation
        grads[f"W{k}"] = h.T @ delta
        grads[f"b{k}"] = delta.sum(axis=0)
        delta = delta @ point[f"W{k}"].T
    return grads


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
def test_mlp_loss_value(activation):
    act = {"tanh": np.tanh, "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
           "relu": lambda z: np.maximum(z, 0.0)}[activation]
    params = {"width": 5, "depth": 2, "batch": 4, "inputs": 3, "outputs": 2,
              "activation": activation}
    inst = get_problem("mlp_loss").instance(params, seed=7)
    assert inst.wrt == ("W1", "b1", "W2", "b2", "W3", "b3")
    assert inst.point["W1"].shape == (3, 5) and inst.point["b3"].shape == (2,)
    assert inst.point["X"].shape == (4, 3) and inst.point["Y"].shape == (4, 2)
    assert inst.value() == pytest.approx(_mlp_forward(inst.point, 2, act)[0], rel=1e-13)


def _classifier_backward(point, depth):
    """Hand-written loss and backpropagation of the tanh softmax classifier: d loss / d z is
    (softmax(z) - y) / batch at the logits z."""
    h, cache = point["X"], []
    for k in range(1, depth + 2):
        z = h @ point[f"W{k}"] + point[f"b{k}"]
        cache.append((h, z))
        h = np.tanh(z) if k <= depth else z
    m = h.max(axis=1, keepdims=True)
    lse = (m + np.log(np.exp(h - m).sum(axis=1, keepdims=True)))[:, 0]
    loss = np.mean(lse - np.sum(h * point["Y"], axis=1))
    delta = (np.exp(h - lse[:, None]) - point["Y"]) / len(h)
    grads = {}
    for k in range(depth + 1, 0, -1):
        inputs, z = cache[k - 1]
        if k <= depth:
            delta = delta * (1.0 - np.tanh(z) ** 2)
        grads[f"W{k}"], grads[f"b{k}"] = inputs.T @ delta, delta.sum(axis=0)
        delta = delta @ point[f"W{k}"].T
    return loss, grads


def test_mlp_classifier_value_and_truth_match_backprop():
    params = {"width": 5, "depth": 2, "batch": 6, "inputs": 3, "classes": 4}
    inst = get_problem("mlp_classifier").instance(params, seed=3)
    assert inst.wrt == ("W1", "b1", "W2", "b2", "W3", "b3")
    Y = inst.point["Y"]
    assert Y.shape == (6, 4) and np.array_equal(Y.sum(axis=1), np.ones(6))   # one-hot
    assert set(np.unique(Y)) == {0.0, 1.0} and inst.truth_source == "jax"
    loss, want = _classifier_backward(inst.point, 2)
    assert inst.value() == pytest.approx(loss, rel=1e-13)
    got = inst.truth()
    for name in inst.wrt:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-11, atol=1e-15)


def test_traced_families_have_hand_written_truths():
    inst = get_problem("rosenbrock_slices").instance({"n": 6}, seed=2)
    x = inst.point["x"]
    np.testing.assert_allclose(inst.truth()["x"], _rosenbrock_grad(x), rtol=1e-13)
    np.testing.assert_allclose(inst.truth("hessian")["x"]["x"], _rosenbrock_hessian(x),
                               rtol=1e-13, atol=1e-12)
    inst = get_problem("logsumexp").instance({"n": 7}, seed=1)
    x = inst.point["x"]
    np.testing.assert_allclose(inst.truth()["x"], np.exp(x) / np.exp(x).sum(), rtol=1e-13)


def test_mlp_xavier_and_he_scales():
    big = {"width": 400, "depth": 1, "inputs": 300, "outputs": 1, "batch": 1}
    w = {init: get_problem("mlp_loss").instance({**big, "init": init}, seed=1).point["W1"]
         for init in ("xavier", "he", "naive")}
    assert np.std(w["xavier"]) == pytest.approx(math.sqrt(2 / 700), rel=0.02)
    assert np.std(w["he"]) == pytest.approx(math.sqrt(2 / 300), rel=0.02)
    assert np.std(w["naive"]) == pytest.approx(1.0, rel=0.02)


def _logistic(x, n):
    """l_n and dl_n/dx by iterating the map and its derivative 4 (1 - 2 l) together."""
    l, dl = x, 1.0
    for _ in range(n - 1):
        l, dl = 4 * l * (1 - l), 4 * (1 - 2 * l) * dl
    return l, dl


def test_logistic_map_value():
    for n in (1, 2, 4, 9):
        inst = get_problem("logistic_map").instance({"n": n})
        assert inst.value() == pytest.approx(_logistic(0.2, n)[0], rel=1e-13)
    # Baydin et al. (2018): l_4 = 64 x (1-x) (1-2x)^2 (1-8x+8x^2)^2
    x = get_problem("logistic4").instance(seed=3).point["x"]
    want = 64 * x * (1 - x) * (1 - 2 * x) ** 2 * (1 - 8 * x + 8 * x * x) ** 2
    assert get_problem("logistic4").instance(seed=3).value() == pytest.approx(want, rel=1e-12)


def test_nested_values():
    bases = {"sin": np.sin, "tanh": np.tanh, "sigmoid": lambda u: 1 / (1 + np.exp(-u)),
             "logistic": lambda u: 1 / (1 + np.exp(-u)), "exp": lambda u: np.exp(-u)}
    for base, f in bases.items():
        inst = get_problem("nested").instance({"depth": 5, "base": base}, seed=2)
        u = inst.point["x"]
        for _ in range(5):
            u = f(u)
        assert inst.value() == pytest.approx(u, rel=1e-14)


# ---- truth ----------------------------------------------------------------------------------
def _squire_trapp_derivative(x):
    """f = e^x g^(-1/2), g = sin^3 + cos^3: f' = f (1 - g' / (2 g)), g' = 3 sin cos (sin - cos)."""
    s, c = math.sin(x), math.cos(x)
    g = s ** 3 + c ** 3
    return math.exp(x) / math.sqrt(g) * (1 - 3 * s * c * (s - c) / (2 * g))


def test_squire_trapp_truth():
    inst = get_problem("squire_trapp").instance()
    assert inst.truth_source == "sympy"
    got = inst.truth()
    assert set(got) == {"x"} and type(got["x"]) is float
    want = _squire_trapp_derivative(1.5)
    assert want == pytest.approx(4.05342789389862, rel=1e-14)   # Squire & Trapp (1998)
    assert got["x"] == pytest.approx(want, rel=1e-14)
    assert inst.truth() is got                                  # cached


def test_logistic_and_scalar_truths():
    for n in (3, 6):
        inst = get_problem("logistic_map").instance({"n": n}, seed=1)
        assert inst.truth()["x"] == pytest.approx(_logistic(inst.point["x"], n)[1], rel=1e-12)
    inst = get_problem("stationary_cubic").instance()
    assert inst.truth()["x"] == 0.0                             # 3x^2 - 3 at 1, exactly
    inst = get_problem("power_pair").instance()                 # x**y at (1.3, 2.5)
    got, (x, y) = inst.truth(), (1.3, 2.5)
    assert got["x"] == pytest.approx(y * x ** (y - 1), rel=1e-14)
    assert got["y"] == pytest.approx(math.log(x) * x ** y, rel=1e-14)


def test_rosenbrock_truth_and_rule():
    small = get_problem("rosenbrock_vec").instance({"n": 6}, seed=2)
    assert small.truth_source == "sympy"
    np.testing.assert_allclose(small.truth()["x"], _rosenbrock_grad(small.point["x"]),
                               rtol=1e-13)
    hess = small.truth("hessian")["x"]["x"]
    assert hess.shape == (6, 6)
    np.testing.assert_allclose(hess, hess.T, rtol=1e-14)
    # d2f / dx0^2 = 1200 x0^2 - 400 x1 + 2
    x = small.point["x"]
    assert hess[0, 0] == pytest.approx(1200 * x[0] ** 2 - 400 * x[1] + 2, rel=1e-13)
    big = get_problem("rosenbrock").instance({"n": MAX_SYMPY_INPUTS + 2}, seed=2)
    assert big.truth_source == "jax"
    x = np.array([big.point[f"x{i}"] for i in range(MAX_SYMPY_INPUTS + 2)])
    got = big.truth()
    np.testing.assert_allclose([got[f"x{i}"] for i in range(len(x))], _rosenbrock_grad(x),
                               rtol=1e-12)


def test_mlp_truth_matches_backprop():
    params = {"width": 4, "depth": 2, "batch": 3, "inputs": 2, "outputs": 2}
    inst = get_problem("mlp_loss").instance(params, seed=1)
    assert inst.truth_source == "jax"
    got, want = inst.truth(), _mlp_backward(inst.point, 2)
    assert list(got) == list(inst.wrt)
    for name in inst.wrt:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-12, atol=1e-15)


def test_vector_family_jacobian_truth():
    inst = get_problem("vector_family").instance({"n": 4, "m": 3}, seed=1)
    A, b = families.vector_constants(4, 3)
    y = np.tanh(A @ inst.point["x"] + b)
    got = inst.truth()["x"]                                      # the problem's kind: jacobian
    assert got.shape == (3, 4)
    np.testing.assert_allclose(got, (1 - y ** 2)[:, None] * A, rtol=1e-13)
    assert get_problem("vector_family").instance({"n": 40, "m": 30}).truth_source == "jax"


def test_truth_rule_by_size():
    assert get_problem("logistic_map").instance({"n": 8}).truth_source == "sympy"
    assert get_problem("logistic_map").instance({"n": 16}).truth_source == "jax"  # 2^16 tree
    assert get_problem("nested").instance({"depth": 100}).truth_source == "sympy"
    assert get_problem("nested").instance({"depth": 200}).truth_source == "jax"
    assert get_problem("logsumexp").instance({"n": 31}).truth_source == "jax"
    assert get_problem("rosenbrock").instance({"n": 1200}).truth_source == "none"
    with pytest.raises(ValueError, match="unknown derivative kind"):
        get_problem("runge").instance().truth("laplacian")


def test_problems_pickle_by_name():
    import pickle

    for name in ("logistic_map", "logistic4", "mlp_loss"):
        assert pickle.loads(pickle.dumps(get_problem(name))) is get_problem(name)
    inst = get_problem("rosenbrock_vec").instance({"n": 3}, seed=1)
    back = pickle.loads(pickle.dumps(inst))
    assert back.problem is inst.problem and back.expr == inst.expr
    assert np.array_equal(back.point["x"], inst.point["x"])


def _rosenbrock_hessian(x):
    n = len(x)
    h = np.zeros((n, n))
    i = np.arange(n - 1)
    h[i, i] += 1200 * x[:-1] ** 2 - 400 * x[1:] + 2
    h[i + 1, i + 1] += 200
    h[i, i + 1] = h[i + 1, i] = -400 * x[:-1]
    return h


def test_truth_falls_back_to_jax_beyond_the_exact_budget():
    # rosenbrock_vec with n = 10 passes the rule for its gradient (10 inputs, a small tree),
    # but the Hessian's 110 derivatives of the selection-matrix tree exceed difflab.truth's
    # budget: JAX serves, and the instance records it.
    inst = get_problem("rosenbrock_vec").instance({"n": 10}, seed=1)
    assert inst.truth_source == "sympy"
    x = inst.point["x"]
    np.testing.assert_allclose(inst.truth()["x"], _rosenbrock_grad(x), rtol=1e-13)
    assert inst.truth_sources == {"grad": "sympy"}
    np.testing.assert_allclose(inst.truth("hessian")["x"]["x"], _rosenbrock_hessian(x),
                               rtol=1e-13, atol=1e-12)
    assert inst.truth_sources["hessian"] == "jax"
    # the rule sees the budget coming for gradients: rosenbrock_vec at n = 30 plans JAX
    assert get_problem("rosenbrock_vec").instance({"n": 30}).truth_source == "jax"


def test_hand_truth_replaces_one_kind_and_defers_the_rest():
    from difflab.lab.hand_truth import HandTruth

    calls = []
    problem = HandTruth(get_problem("squire_trapp"), "grad",
                        lambda inst: calls.append(inst.point) or {"x": 42.0})
    inst = problem.instance()
    assert inst.truth() == {"x": 42.0} and inst.truth("grad") == {"x": 42.0}
    assert calls == [{"x": 1.5}, {"x": 1.5}] and inst.truth_source == "hand"
    assert inst.expr == get_problem("squire_trapp").instance().expr   # the rest is the inner's
    hessian = inst.truth("hessian")["x"]["x"]
    assert np.isfinite(hessian) and hessian != 42.0
