"""dl.trace and Python functions wherever an expression goes.

Each function below is written once against a NumPy-like namespace ``xp`` and built twice:
with ``difflab.numpy`` (traced by difflab, differentiated by each method) and with
``jax.numpy`` (differentiated by ``jax.grad`` itself), so the two share the source text and
nothing else. Gradients agree within rtol 1e-10 (float64; the methods round differently).
"""

import contextlib
import gc
import io
import math
import types
import weakref
from pathlib import Path

import jax
import jax.numpy as jnp
import jax.scipy.special
import numpy as np
import pytest

import difflab as dl
import difflab.numpy as dnp
from difflab.core.expr import Expr

jax.config.update("jax_enable_x64", True)

JNP = types.SimpleNamespace(**{n: getattr(jnp, n) for n in dir(jnp) if not n.startswith("_")})
JNP.logsumexp = jax.scipy.special.logsumexp
JNP.sigmoid = jax.nn.sigmoid
JNP.log_softmax = jax.nn.log_softmax
AD = ["forward", "reverse", "jax"]


def softmax_xent(xp):
    def loss(W, b, X, y):
        z = X @ W + b
        return xp.mean(xp.logsumexp(z, axis=1) - xp.sum(z * y, axis=1))
    return loss


def rosenbrock(xp):
    def f(x):
        return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
    return f


def rosenbrock_loop(xp):
    def f(x):                                   # the loop unrolls while tracing
        total = 0.0
        for i in range(len(x) - 1):
            total = total + 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
        return total
    return f


def gmm_loglik(xp):
    def f(x, mu, log_sigma, logits):            # 1-D mixture of K Gaussians, n points
        z = (x[:, xp.newaxis] - mu[xp.newaxis, :]) / xp.exp(log_sigma)
        logp = xp.log_softmax(logits) - log_sigma - 0.5 * z ** 2 - 0.5 * math.log(2 * math.pi)
        return xp.sum(xp.logsumexp(logp, axis=1))
    return f


def lstm_step(xp):
    def f(x, h, c, W, b):                       # gates sliced by the (traced) hidden size
        n = h.shape[0]
        z = xp.concatenate([x, h]) @ W + b
        i, g = xp.sigmoid(z[:n]), xp.tanh(z[3 * n:])
        forget, o = xp.sigmoid(z[n:2 * n]), xp.sigmoid(z[2 * n:3 * n])
        c_new = forget * c + i * g
        return xp.sum((o * xp.tanh(c_new)) ** 2) + xp.sum(c_new)
    return f


def leaky_rows(xp):
    def f(X):                                   # where, iteration over rows, max reduction
        total = 0.0
        for row in X:
            leaky = xp.where(row > 0, row, 0.01 * row)
            total = total + xp.max(leaky) * xp.sum(leaky ** 2)
        return total
    return f


def statistics(xp):
    def f(x):
        return xp.var(x, ddof=1) + xp.std(x) + xp.linalg.norm(x) + xp.prod(x[:3])
    return f


def _point(name, rng):
    if name == "softmax_xent":
        return {"W": rng.normal(size=(4, 3)), "b": rng.normal(size=3),
                "X": rng.normal(size=(6, 4)), "y": np.eye(3)[rng.integers(0, 3, 6)]}
    if name in ("rosenbrock", "rosenbrock_loop", "statistics"):
        return {"x": rng.uniform(-1.5, 1.5, size=7)}
    if name == "gmm_loglik":
        return {"x": rng.normal(size=5), "mu": rng.normal(size=3),
                "log_sigma": rng.normal(0, 0.3, size=3), "logits": rng.normal(size=3)}
    if name == "lstm_step":
        return {"x": rng.normal(size=3), "h": rng.normal(size=2), "c": rng.normal(size=2),
                "W": rng.normal(0, 0.5, size=(5, 8)), "b": rng.normal(size=8)}
    return {"X": rng.normal(size=(3, 4))}


FUNCTIONS = {f.__name__: f for f in (softmax_xent, rosenbrock, rosenbrock_loop, gmm_loglik,
                                      lstm_step, leaky_rows, statistics)}


_JAX_GRADIENTS: dict = {}


def jax_gradient(name, point):
    """jax.grad of the jax.numpy twin (compiled once; each method's test reuses it)."""
    if name not in _JAX_GRADIENTS:
        names = list(point)
        grads = jax.jit(jax.grad(FUNCTIONS[name](JNP), argnums=tuple(range(len(names)))))(
            *point.values())
        _JAX_GRADIENTS[name] = dict(zip(names, (np.asarray(g) for g in grads), strict=True))
    return _JAX_GRADIENTS[name]


@pytest.mark.parametrize("name", list(FUNCTIONS))
@pytest.mark.parametrize("method", AD)
def test_traced_gradients_match_jax(name, method):
    point = _point(name, np.random.default_rng(13))
    want = jax_gradient(name, point)
    got = dl.grad(FUNCTIONS[name](dnp), point, method=method)
    assert set(got) == set(point)
    for var in point:
        np.testing.assert_allclose(got[var], want[var], rtol=1e-10, atol=1e-13, err_msg=var)


def test_values_jacobians_hessians_of_functions_match_jax():
    point = _point("rosenbrock", np.random.default_rng(2))
    ours, theirs = rosenbrock(dnp), rosenbrock(JNP)
    assert dl.evaluate(ours, point) == pytest.approx(float(theirs(point["x"])), rel=1e-14)
    want = np.asarray(jax.jit(jax.hessian(theirs))(point["x"]))
    for method in ("forward", "reverse"):
        got = dl.hessian(ours, point, method=method)["x"]["x"]
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)

    def probabilities(z):
        return dnp.softmax(z * z)

    z = np.array([0.5, -1.0, 2.0])
    want = np.asarray(jax.jit(jax.jacobian(lambda v: jax.nn.softmax(v * v)))(z))
    for method in AD:
        np.testing.assert_allclose(dl.jacobian(probabilities, {"z": z}, method=method)["z"],
                                   want, rtol=1e-10, atol=1e-14)


def test_check_grad_and_compare_take_functions():
    point = _point("softmax_xent", np.random.default_rng(5))
    loss = softmax_xent(dnp)
    assert dl.check_grad(loss, point, method="reverse")
    table = dl.compare(loss, point, methods=AD)
    assert list(table["status"]) == ["reference", "ok", "ok", "ok"]
    assert table["max rel err"].max() < 1e-10


def test_trace_names_variables_after_parameters():
    f = dl.trace(softmax_xent(dnp))
    assert isinstance(f, Expr) and f.variables == ("W", "X", "b", "y")

    def scaled(x, *, power=2.0, scale=3.0):     # keyword-only and defaulted: constants ...
        return scale * x ** power

    assert dl.trace(scaled).variables == ("x",)
    assert dl.grad(scaled, {"x": 2.0}) == {"x": 12.0}
    # ... unless the point gives them: then they are variables too
    got = dl.grad(scaled, {"x": 2.0, "scale": 1.0}, method="forward")
    assert got == pytest.approx({"scale": 4.0, "x": 4.0}, rel=1e-15)


# ---- caching ---------------------------------------------------------------------------------
def test_traced_once_per_shapes():
    calls = []

    def f(x, y):
        calls.append(np.shape(x))
        return dnp.sum(x * dnp.tanh(y))

    p3 = {"x": np.ones(3), "y": np.arange(3.0)}
    for method in AD:
        dl.grad(f, p3, method=method)
    dl.jacobian(f, {"x": np.zeros(3), "y": np.ones(3)})
    dl.check_grad(f, p3)
    dl.evaluate(f, p3)
    assert len(calls) == 1                       # one trace served every call
    dl.grad(f, {"x": np.ones(4), "y": np.ones(4)})
    dl.grad(f, {"x": np.ones(4), "y": np.ones(4)}, method="forward")
    assert len(calls) == 2                       # a new shape: traced once more
    dl.trace(f)
    dl.trace(f)
    assert len(calls) == 3                       # unknown shapes: a trace of their own


def test_the_cache_lets_functions_go_and_keeps_methods_per_object():
    def make():
        def g(x):
            return x ** 3
        return g

    g = make()
    assert dl.grad(g, {"x": 2.0}) == {"x": 12.0}
    ref = weakref.ref(g)
    del g
    gc.collect()
    assert ref() is None                         # the trace cache did not keep it alive

    class Model:
        def __init__(self, scale):
            self.scale, self.calls = scale, 0

        def loss(self, w):
            self.calls += 1
            return self.scale * dnp.sum(w ** 2)

    a, b = Model(1.0), Model(10.0)
    w = {"w": np.array([1.0, 2.0])}
    assert dl.grad(a.loss, w)["w"].tolist() == [2.0, 4.0]
    assert dl.grad(a.loss, w)["w"].tolist() == [2.0, 4.0]
    assert dl.grad(b.loss, w)["w"].tolist() == [20.0, 40.0]
    assert (a.calls, b.calls) == (1, 1)


# ---- what a function may return, and unused parameters ----------------------------------------
def test_unused_parameters_and_constant_results_have_zero_derivatives():
    def half(x, y):
        return dnp.sum(x ** 2)

    point = {"x": np.array([1.0, -2.0]), "y": np.array([np.nan, np.inf, 3.0])}
    for method in AD + ["numeric"]:
        got = dl.grad(half, point, method=method)
        np.testing.assert_allclose(got["x"], [2.0, -4.0], rtol=1e-8)
        if method == "numeric":  # no finite step exists from nan or inf: only y[2] is measured
            assert got["y"][2] == 0.0
        else:
            assert np.array_equal(got["y"], np.zeros(3))
    assert dl.evaluate(half, point) == 5.0

    def constant(x):
        return 3.0

    assert dl.evaluate(constant, {"x": 1.0}) == 3.0
    for method in AD:
        assert dl.grad(constant, {"x": 1.0}, method=method) == {"x": 0.0}
    assert dl.hessian(constant, {"x": 1.0}, method="reverse") == {"x": {"x": 0.0}}
    assert dl.evaluate(lambda x: np.ones(2), {"x": 1.0}).tolist() == [1.0, 1.0]


@pytest.mark.parametrize("result, match", [
    ((1.0, 2.0), "returned a tuple of 2 values.*one value"),
    ([1.0], "returned a list of 1 values"),
    ({"loss": 1.0}, "returned a dict"),
    (None, "returned None"),
    ("x", "returned str"),
    (True, "returned bool"),
])
def test_results_that_are_not_one_value_are_refused(result, match):
    def f(x):
        return result if not isinstance(result, tuple) else (x, x)

    with pytest.raises(TypeError, match=match) as err:
        dl.grad(f, {"x": 1.0})
    assert "f" in str(err.value)


def test_signatures_without_names_are_refused():
    def star(*xs):
        return xs[0]

    def stars(x, **options):
        return x

    def positional(x, /):
        return x

    with pytest.raises(TypeError, match=r"star takes \*xs.*write the parameters out"):
        dl.grad(star, {"x": 1.0})
    with pytest.raises(TypeError, match=r"stars takes \*\*options"):
        dl.trace(stars)
    with pytest.raises(TypeError, match="'x' of .*positional is positional-only"):
        dl.jacobian(positional, {"x": 1.0})
    with pytest.raises(TypeError, match="needs a Python function, got int"):
        dl.trace(3)
    with pytest.raises(TypeError, match="grammar text or a Python function, got int"):
        dl.grad(3, {"x": 1.0})

    def named_e(e):
        return e

    with pytest.raises(ValueError, match="parameter 'e' of .*named_e cannot be a variable"):
        dl.trace(named_e)


# ---- control flow and NumPy on traced values -------------------------------------------------
def test_control_flow_on_a_traced_value_says_to_use_where():
    def relu_by_hand(x):
        if x > 0:
            return x
        return 0.0 * x

    for call in (lambda: dl.grad(relu_by_hand, {"x": 1.0}, method="forward"),
                 lambda: dl.compare(relu_by_hand, {"x": 1.0}),
                 lambda: dl.check_grad(relu_by_hand, {"x": 1.0}),
                 lambda: dl.trace(relu_by_hand)):
        with pytest.raises(TypeError) as err:
            call()
        message = str(err.value)
        assert "relu_by_hand" in message and "`if x > 0:`" in message
        assert "control flow" in message and "dnp.where" in message

    def clamp(x):
        while x > 1.0:
            x = x - 1.0
        return x

    with pytest.raises(TypeError, match="clamp at test_trace.py:[0-9]+ `while x > 1.0:`"):
        dl.grad(clamp, {"x": 3.5})
    # the same function written with where is fine
    assert dl.grad(lambda x: dnp.where(x > 0, x, 0.0 * x), {"x": 2.0}) == {"x": 1.0}


@pytest.mark.parametrize("body", [np.exp, math.sin, float, np.sum])
def test_numpy_and_math_on_traced_values_point_to_difflab_numpy(body):
    def f(x):
        return body(x)

    with pytest.raises(TypeError, match=r"f at test_trace.py.*use difflab.numpy"):
        dl.grad(f, {"x": 1.0})


def test_shapes_are_known_inside_a_trace_only():
    seen = []

    def f(X):
        seen.append((X.shape, X.ndim, X.size, len(X), (X @ X.T).shape, X[0].shape))
        return dnp.sum(X)

    dl.grad(f, {"X": np.ones((2, 3))})
    assert seen == [((2, 3), 2, 6, 2, ((2, 2)), (3,))]
    with pytest.raises(AttributeError, match="shape of 'X' is not known while tracing"):
        dl.trace(f)
    assert len(dl.trace(f, shapes={"X": (4, 5)}).variables) == 1
    with pytest.raises(ValueError, match="has no parameter 'Z'; its parameters: X"):
        dl.trace(f, shapes={"Z": (2,)})
    with pytest.raises(TypeError, match="shape of 'X' must be a tuple of non-negative ints"):
        dl.trace(f, shapes={"X": 3})
    assert seen[-1][0] == (4, 5)

    def g(x):
        return dnp.sum(dnp.stack([xi ** 2 for xi in x]))

    with pytest.raises(TypeError, match="g at .*cannot be iterated without its shape.*shapes="):
        dl.trace(g)
    x = dl.variable("x")
    with pytest.raises(AttributeError, match="no shape of its own"):
        x.shape  # noqa: B018
    with pytest.raises(TypeError, match="cannot be measured with len"):
        len(x)
    assert dl.constant(np.ones((2, 5))).shape == (2, 5)     # constants know theirs


# ---- a reverse-mode fix the unused parameters rely on ----------------------------------------
def test_reverse_gives_zero_for_variables_reached_only_through_comparisons():
    x, y = dl.variables("x y")
    f = x ** 2 + dl.sum(dl.less(y, 1.0))
    for y0 in (0.5, np.array([0.5, 2.0])):
        point = {"x": 1.5, "y": y0}
        got = dl.grad(f, point, method="reverse")
        assert got["x"] == 3.0 and np.array_equal(got["y"], np.zeros(np.shape(y0)))
        jac = dl.jacobian(f, point, method="reverse")
        assert np.array_equal(jac["y"], np.zeros(np.shape(y0)))
        hess = dl.hessian(f, point, method="reverse")
        assert hess["x"]["x"] == 2.0 and np.array_equal(hess["y"]["y"],
                                                          np.zeros(np.shape(y0) * 2))


def test_the_readme_example_runs_as_written():
    text = (Path(__file__).parents[1] / "README.md").read_text()
    start = text.index("```python\n", text.index("## Your own function")) + len("```python\n")
    code = text[start:text.index("```", start)]
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()) as out:
        exec(compile(code, "README.md", "exec"), namespace)  # (the README's own code)
    assert "mean(logsumexp(X @ W + b, axis=1) - sum((X @ W + b) * y, axis=1))" in out.getvalue()
    assert namespace["g"]["W"].shape == (4, 3) and namespace["g"]["b"].shape == (3,)
    table = namespace["table"].set_index("method")
    assert all(table.loc[m, "status"] == "ok" for m in ("numeric", "forward", "reverse", "jax"))
    assert table.loc[["forward", "reverse", "jax"], "max rel err"].max() < 1e-13
    assert table.loc["numeric", "max rel err"] < 1e-8
