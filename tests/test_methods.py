"""Every method against the 50-digit truth and against each other (issue: the four ways).

Exact methods (symbolic, forward, reverse, jax) must agree with the truth within 1e-12 in
rho = |a - b| / max(1, |a| + |b|); the default finite-difference scheme within 1e-7.
"""

import importlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mlp_reference import mlp_backward
from strategies import expressions

import difflab as dl
from difflab import truth
from difflab.core import arrays as arrays_mod
from difflab.core import ops
from difflab.core.graph import toposort
from difflab.fuzz.generate import kink_distance

EXACT = ("symbolic", "forward", "reverse", "jax")
TOL = {"symbolic": 1e-12, "forward": 1e-12, "reverse": 1e-12, "jax": 1e-12, "numeric": 1e-7}


def rho(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.max(np.abs(a - b) / np.maximum(1.0, np.abs(a) + np.abs(b)), initial=0.0)


def assert_close(got, want, tol, label=""):
    assert set(got) == set(want), label
    for name in want:
        assert np.shape(got[name]) == np.shape(want[name]), (label, name)
        r = rho(got[name], want[name])
        assert r <= tol, f"{label} d/d{name}: got {got[name]}, truth {want[name]} (rho {r:.2e})"


# Each op at a point well inside its domain (and away from kinks).
UNARY_POINTS = {
    "neg": 0.7, "sin": 0.7, "cos": 0.7, "tan": 0.7, "asin": 0.3, "acos": 0.3, "atan": 0.7,
    "sinh": 0.7, "cosh": 0.7, "tanh": 0.7, "exp": 0.7, "log": 0.7, "log1p": 0.7,
    "expm1": 0.7, "sqrt": 0.7, "abs": -0.7, "sigmoid": 0.7, "relu": 0.7, "softplus": 0.7,
    "sum": 0.7, "mean": 0.7, "transpose": 0.7,
}
# (0.7, 1.3): the operands 1.5 x = 1.05 and cos(y) + x = 0.97 are apart, so comparisons and
# max/min are away from their ties, and a select's mask 1.05 is away from 0
BINARY_POINTS = {op: (0.7, 1.3) for op in ops.BINARY if op != "matmul"}


@pytest.mark.parametrize("method", dl.METHODS)
@pytest.mark.parametrize("op", sorted(UNARY_POINTS))
def test_every_unary_op_against_the_truth(method, op):
    f = arrays_mod.BUILDERS[op](dl.sin(dl.variable("x")) + 0.5)  # a chain rule in every case
    point = {"x": UNARY_POINTS[op]}
    assert_close(dl.grad(f, point, method=method), truth.gradient(f, point), TOL[method],
                 f"{method} {op}")


@pytest.mark.parametrize("method", dl.METHODS)
@pytest.mark.parametrize("op", sorted(BINARY_POINTS))
def test_every_binary_op_against_the_truth(method, op):
    x, y = dl.variables("x y")
    f = arrays_mod.BUILDERS[op](x * 1.5, dl.cos(y) + x)
    point = dict(zip("xy", BINARY_POINTS[op], strict=True))
    assert_close(dl.grad(f, point, method=method), truth.gradient(f, point), TOL[method],
                 f"{method} {op}")


# Every op with constant parameters, and where, in a scalar function of x (3,) and A (2, 3)
# at POINT_XA: no ties of a max or min, comparisons 0.08 or more from equality.
PARAMETRIC_CASES = {
    "index": lambda x, A: dl.sum(dl.sin(x[::-1][:2]) * A[1, [0, 2]]) + A[0, -1] * x[1],
    "reduce_sum": lambda x, A: dl.sum(dl.sin(dl.sum(A, axis=0)) * x),
    "reduce_mean": lambda x, A: dl.sum(dl.exp(dl.mean(A * x, axis=1, keepdims=True))),
    "reduce_prod": lambda x, A: dl.sum(dl.prod(A + 2.0, axis=1)) + dl.prod(x),
    "reduce_max": lambda x, A: dl.sum(dl.max(A * x, axis=1) ** 2),
    "reduce_min": lambda x, A: dl.min(dl.cos(x)) * dl.sum(dl.min(A, axis=0)),
    "logsumexp": lambda x, A: dl.sum(dl.logsumexp(A * x, axis=-1)),
    "softmax": lambda x, A: dl.sum(dl.softmax(A * x, axis=0) * A),
    "log_softmax": lambda x, A: dl.sum(dl.log_softmax(x) * dl.sin(x)) +
    dl.sum(dl.log_softmax(A, axis=0)[1]),
    "reshape": lambda x, A: dl.sum(dl.reshape(A, (3, 2)) @ dl.reshape(x[:2], (2, 1))),
    "permute": lambda x, A: dl.sum(dl.sin(dl.transpose(A, (1, 0))) * x[:, None]),
    "concat": lambda x, A: dl.sum(dl.concatenate([x, A[1]], axis=0) ** 3),
    "where": lambda x, A: dl.sum(dl.where(A * x > 0.1, dl.sin(A), A * A)),
}
POINT_XA = {"x": np.array([0.6, -0.9, 1.2]), "A": np.array([[0.3, 1.1, -0.4],
                                                           [0.8, -1.2, 0.5]])}


def test_every_parametric_op_has_a_case():
    assert set(PARAMETRIC_CASES) == set(ops.PARAMETRIC) | set(ops.TERNARY)


@pytest.mark.parametrize("method", dl.METHODS)
@pytest.mark.parametrize("op", sorted(PARAMETRIC_CASES))
def test_every_parametric_op_against_the_truth(method, op):
    f = PARAMETRIC_CASES[op](*dl.variables("x A"))
    assert op in {node.op for node in toposort(f)}
    assert_close(dl.grad(f, POINT_XA, method=method), truth.gradient(f, POINT_XA),
                 TOL[method], f"{method} {op}")


@pytest.mark.parametrize("method", dl.METHODS)
def test_every_rule_table_covers_every_op(method):
    module, _ = dl.api.resolve(method)
    tables = [getattr(module, name) for name in module.RULE_TABLES]
    covered = set().union(*tables)
    assert set(ops.OPS) - {"const", "var"} <= covered, method


def test_rule_tables_are_independent():
    ids = {}
    for method in dl.METHODS:
        module = importlib.import_module(dl.api._MODULES[method])
        for name in module.RULE_TABLES:
            table = getattr(module, name)
            ids.setdefault(id(table), []).append(method)
    assert all(len(v) == 1 for v in ids.values()), ids


# ---- arrays -----------------------------------------------------------------------------
RNG = np.random.default_rng(7)


def mlp_point(batch=5, n_in=4, hidden=3, n_out=2):
    return dict(X=RNG.normal(size=(batch, n_in)), W=RNG.normal(size=(n_in, hidden)) * 0.5,
                b=RNG.normal(size=hidden), V=RNG.normal(size=(hidden, n_out)) * 0.5,
                c=RNG.normal(size=n_out), Y=RNG.normal(size=(batch, n_out)))


@pytest.mark.parametrize("method", dl.METHODS)
def test_mlp_loss_against_a_hand_written_backward_pass(method):
    f = dl.parse("mean((tanh(X @ W + b) @ V + c - Y)**2)")
    point = mlp_point()
    assert_close(dl.grad(f, point, method=method), mlp_backward(**point), TOL[method] * 10,
                 method)


BROADCAST_CASES = [
    ("sum(v * s + s)", {"v": (3,), "s": ()}),
    ("sum(M + r)", {"M": (2, 3), "r": (3,)}),
    ("sum(M * k)", {"M": (2, 3), "k": (2, 1)}),
    ("mean(sin(M) @ v) * s", {"M": (2, 3), "v": (3,), "s": ()}),
    ("sum(transpose(M) @ M)", {"M": (3, 2)}),
    ("u @ v", {"u": (4,), "v": (4,)}),
    ("sum(u @ M)", {"u": (2,), "M": (2, 3)}),
    ("sum(max(M, r) + min(r, s))", {"M": (2, 3), "r": (3,), "s": ()}),
]


@pytest.mark.parametrize("method", dl.METHODS)
@pytest.mark.parametrize("text, shapes", BROADCAST_CASES, ids=[c[0] for c in BROADCAST_CASES])
def test_broadcasting_against_jax(method, text, shapes):
    f = dl.parse(text)
    point = {n: RNG.uniform(0.5, 1.5, size=s) if s else float(RNG.uniform(0.5, 1.5))
             for n, s in shapes.items()}
    want = dl.grad(f, point, method="jax")
    assert_close(dl.grad(f, point, method=method), want, TOL[method], method)


# ---- kinks and the domain's edges -------------------------------------------------------
@pytest.mark.parametrize("method", EXACT)
def test_kinks_follow_jax(method):
    x, y = dl.variables("x y")
    at0 = {"x": 0.0}
    assert dl.grad(dl.relu(x), at0, method=method)["x"] == 0.0
    assert dl.grad(dl.abs(x), at0, method=method)["x"] == 0.0
    tie = {"x": 1.0, "y": 1.0}
    assert dl.grad(dl.max(x, y), tie, method=method) == {"x": 0.5, "y": 0.5}
    assert dl.grad(dl.min(x, y), tie, method=method) == {"x": 0.5, "y": 0.5}


@pytest.mark.parametrize("method", dl.METHODS)
def test_integer_power_of_a_negative_number(method):
    g = dl.grad(dl.parse("x ** 3"), {"x": -2.0}, method=method)["x"]
    assert g == pytest.approx(12.0, rel=TOL[method])


@pytest.mark.parametrize("method", EXACT)
def test_outside_the_domain_is_nan_not_an_exception(method):
    with np.errstate(all="raise"):
        g = dl.grad(dl.parse("log(x)"), {"x": -1.0}, method=method)["x"]
    assert np.isnan(g) or g == -1.0  # d log = 1/x is defined even where log is not


# ---- random expressions: every method agrees --------------------------------------------
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions(max_size=7, domain_safe=True), st.integers(0, 2**32 - 1))
def test_random_expressions_all_methods_agree_with_the_truth(expr, seed):
    point = {n: float(v) for n, v in zip(
        expr.variables, np.random.default_rng(seed).uniform(-1.5, 1.5, 3), strict=False)}
    want = truth.gradient(expr, point)
    if not all(np.isfinite(v) for v in want.values()):
        return
    near_kink = kink_distance(expr, point) < 1e-3  # finite differences would straddle it
    for method in dl.METHODS:
        if method == "numeric" and near_kink:
            continue
        assert_close(dl.grad(expr, point, method=method), want,
                     TOL[method] if method != "numeric" else 1e-6, f"{method} on {expr}")
