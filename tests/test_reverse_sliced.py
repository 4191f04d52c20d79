"""Reverse mode's sparse cotangent of an index (``reverse.sliced``).

The Sliced's own operations are checked against the dense array it stands for. Gradients
that carry one through adds, subs, products (by scalars, by arrays, broadcast), fan-out into
a variable that is indexed many times, concatenation, an ODE step and the Newton step are
checked against JAX (the independent oracle, tests/jax_oracle.py, x64), with arrays large
enough (>= ``MIN_SIZE``) that the sparse path runs, and counting that it did. Agreement per
component in rho = |a - b| / max(1, |a| + |b|) <= 1e-12.
"""

import numpy as np
import pytest
from jax_oracle import jax, jax_function
from rho import rho
from sparse_spy import spy_made

import difflab as dl
import difflab.numpy as dnp
from difflab.core.params import index_param
from difflab.core.plan import compile_plan
from difflab.gradbench.newton import prepare_newton
from difflab.reverse import sliced
from difflab.reverse.sliced import MIN_SIZE, Sliced

TOL = 1e-12
SEED = 8102
N = MIN_SIZE + 36   # large enough for the sparse path


def _rng():
    return np.random.default_rng(SEED)


KEYS = [(slice(1, None),), (slice(None, -1),), (slice(None, None, -2),), (7,),
        (slice(3, 40, 3),), (Ellipsis, slice(2, 5)), (None, slice(0, 9))]


@pytest.mark.parametrize("key", KEYS, ids=repr)
def test_dense_add_into_neg_and_products_are_the_dense_arrays(key):
    rng = _rng()
    region = np.zeros(N)[key].shape
    value = rng.uniform(1, 2, region)
    sparse = Sliced((N,), key, value)
    dense = np.zeros(N)
    dense[key] = value
    np.testing.assert_array_equal(sparse.dense(), dense)
    np.testing.assert_array_equal((-sparse).dense(), -dense)
    out = rng.uniform(size=N)
    expected = out + dense
    sparse.add_into(out)
    np.testing.assert_array_equal(out, expected)
    other = rng.uniform(size=N)
    for product in (sparse * other, other * sparse, sparse * np.float64(2.5), 2.5 * sparse):
        assert type(product) is Sliced
    np.testing.assert_array_equal((sparse * other).dense(), dense * other)
    np.testing.assert_array_equal((other * sparse).dense(), other * dense)
    np.testing.assert_array_equal((sparse * np.float64(2.5)).dense(), dense * 2.5)
    broadcast = rng.uniform(size=(3, 1))        # not x's shape: made dense, broadcast
    got = sparse * broadcast
    assert type(got) is np.ndarray
    np.testing.assert_array_equal(got, dense * broadcast)


def test_of_index_leaves_gathers_small_arrays_and_batches_to_the_dense_rule():
    x = _rng().uniform(size=N)
    spec = index_param(slice(1, None))
    y = x[1:]
    assert type(sliced.of_index(np.ones(N - 1), x, spec, y)) is Sliced
    assert sliced.of_index(np.ones(MIN_SIZE - 2), x[:MIN_SIZE - 1], spec,
                           x[1:MIN_SIZE - 1]) is None                      # small x
    assert sliced.of_index(np.ones((3, N - 1)), x, spec, y) is None        # a batch
    assert sliced.of_index(np.ones(N - 1, dtype=np.float32), x, spec, y) is None
    take = index_param([1, 1, 2])
    assert sliced.of_index(np.ones(3), x, take, x[[1, 1, 2]]) is None      # a gather


CASES = [
    "sum(x[1:] * x[:-1])",                                       # two slices, fan-out
    "sum((x[1:] - x[:-1]) ** 2)",                                # a stencil through sub
    "sum(x[0:50] * w) + sum(tanh(x[50:]))",                      # unpacking a vector
    "x[3] * x[4] + 2.0 * x[5] - x[3]",                           # ints: scalars
    "sum(x[::-3] * 3.0) + sum(x[10:20]) * x[0]",                 # negative step, a product
    "sum(x + 0.5 * concatenate([x[:1] * 0.0, x[:-1]]))",         # an ODE's shift
    "sum(M[1:, ::2] * M[:-1, 1::2])",                            # two axes
    "sum(M[:, 3:7] + r) + sum(M[2])",                            # a broadcast add, a row
    "sum(x[0:50] * x[50:]) + sum(x[None, 5:9] * M[0:1, 0:4])",   # newaxis, a 2-D product
]


def _point() -> dict:
    rng = _rng()
    return {"x": rng.uniform(-1, 1, N), "w": rng.uniform(-1, 1, 50),
            "M": rng.uniform(-1, 1, (9, 12)), "r": rng.uniform(-1, 1, (1, 4))}


def _counting(monkeypatch) -> list:
    return spy_made(monkeypatch, "difflab.reverse.sweep", "of_index")


@pytest.mark.parametrize("text", CASES)
def test_gradients_through_slices_match_jax(text, monkeypatch):
    made = _counting(monkeypatch)
    expr = dl.parse(text)
    point = _point()
    names = list(compile_plan(expr).variables)
    point = {n: point[n] for n in names}
    got = dl.grad(expr, point, method="reverse")
    want = jax.grad(jax_function(expr, names), argnums=tuple(range(len(names))))(
        *(point[n] for n in names))
    for name, w in zip(names, want, strict=True):
        assert rho(got[name], np.asarray(w)) <= TOL, (text, name)
    assert any(made), "the sparse path did not run"


def test_a_vector_indexed_many_times_gets_every_piece(monkeypatch):
    # a parameter vector unpacked into 40 pieces, each used twice
    made = _counting(monkeypatch)
    theta = dl.variable("theta")
    total = 0.0
    for k in range(40):
        piece = theta[5 * k:5 * k + 5]
        total = total + dnp.sum(piece * piece) + theta[k] * piece[0]
    point = {"theta": _rng().uniform(-1, 1, 200)}
    got = dl.grad(total, point, method="reverse")["theta"]
    want = jax.grad(jax_function(total, ["theta"]))(point["theta"])
    assert rho(got, np.asarray(want)) <= TOL
    assert sum(made) == 80


def test_the_ode_eval_gradient_matches_jax(monkeypatch):
    from difflab.gradbench.evals import ode
    made = _counting(monkeypatch)
    n, s = N, 3
    d = ode.EVAL.derivative((n, s), "reverse")
    x = _rng().uniform(size=n)
    got = dl.grad(d.expr, {"x": x}, method="reverse")["x"]
    want = jax.grad(jax_function(d.expr, ["x"]))(x)
    assert rho(got, np.asarray(want)) <= TOL
    assert sum(made) == 4 * s


def test_vjp_and_jacobian_through_slices_match_jax():
    # the VJP's sweep keeps its cotangents (a sparse one is made dense before it returns)
    # and the Jacobian's carries a batch (the dense rule)
    expr = dl.parse("x[1:] * x[:-1] + 2.0 * x[::-1][1:]")
    x = _point()["x"]
    u = _rng().uniform(-1, 1, N - 1)
    f = jax_function(expr, ["x"])
    got = dl.vjp(expr, {"x": x}, u, method="reverse")
    want = jax.vjp(f, x)[1](u)[0]
    assert rho(got["x"], np.asarray(want)) <= TOL
    jac = dl.jacobian(expr, {"x": x}, method="reverse")["x"]
    assert rho(jac, np.asarray(jax.jacrev(f)(x))) <= TOL


def test_newton_step_through_slices_matches_jax():
    # forward over reverse: the sweep's values are Duals, so the dense rule runs
    expr = dl.parse("sum(exp(x[1:]) * x[:-1]) + sum(x * x)")
    x = _point()["x"]
    step = prepare_newton(expr, ("x",), {"x": x.shape}, "reverse")({"x": x})["x"]
    g = jax.grad(jax_function(expr, ["x"]))
    hv = jax.jvp(g, (x,), (np.ones_like(x),))[1]
    assert rho(step, np.asarray(g(x)) / np.asarray(hv)) <= TOL
