"""Evaluation against NumPy for every op, scalars and broadcast arrays, and bad points."""

import numpy as np
import pytest

import difflab as dl
from difflab.core import arrays as arrays_mod

RNG = np.random.default_rng(0)

# op -> (NumPy reference, a point inside the domain)
UNARY_REF = {
    "neg": np.negative, "sin": np.sin, "cos": np.cos, "tan": np.tan, "asin": np.arcsin,
    "acos": np.arccos, "atan": np.arctan, "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh,
    "exp": np.exp, "log": np.log, "log1p": np.log1p, "expm1": np.expm1, "sqrt": np.sqrt,
    "abs": np.abs, "sigmoid": lambda v: 1 / (1 + np.exp(-v)), "relu": lambda v: np.maximum(v, 0),
    "softplus": lambda v: np.log(1 + np.exp(v)), "sum": np.sum, "mean": np.mean,
    "transpose": np.transpose,
}
BINARY_REF = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
              "pow": np.power, "max": np.maximum, "min": np.minimum}


@pytest.mark.parametrize("op", sorted(UNARY_REF))
@pytest.mark.parametrize("shape", [(), (3,), (2, 3)])
def test_unary_ops_match_numpy(op, shape):
    value = RNG.uniform(0.1, 0.9, size=shape) if shape else 0.37
    expr = arrays_mod.BUILDERS[op](dl.variable("x"))
    got = dl.evaluate(expr, {"x": value})
    np.testing.assert_allclose(got, UNARY_REF[op](value), rtol=1e-14, atol=0)
    assert isinstance(got, float) == (np.ndim(UNARY_REF[op](value)) == 0)


@pytest.mark.parametrize("op", sorted(BINARY_REF))
@pytest.mark.parametrize("shapes", [((), ()), ((3,), ()), ((), (3,)), ((2, 3), (3,)),
                                    ((2, 1), (1, 3)), ((2, 3), (2, 3))])
def test_binary_ops_broadcast_like_numpy(op, shapes):
    a = RNG.uniform(0.5, 2.0, size=shapes[0])
    b = RNG.uniform(0.5, 2.0, size=shapes[1])
    expr = arrays_mod.BUILDERS[op](dl.variable("a"), dl.variable("b"))
    np.testing.assert_allclose(dl.evaluate(expr, {"a": a, "b": b}), BINARY_REF[op](a, b),
                               rtol=1e-15)


@pytest.mark.parametrize("sa, sb", [((2, 3), (3, 4)), ((3,), (3, 4)), ((2, 3), (3,)),
                                    ((3,), (3,))])
def test_matmul_matches_numpy(sa, sb):
    a, b = RNG.normal(size=sa), RNG.normal(size=sb)
    got = dl.evaluate(dl.parse("A @ B"), {"A": a, "B": b})
    np.testing.assert_allclose(got, a @ b, rtol=1e-14)


def test_stable_sigmoid_and_softplus_at_extremes():
    assert dl.evaluate(dl.parse("sigmoid(x)"), {"x": -800.0}) == 0.0
    assert dl.evaluate(dl.parse("sigmoid(x)"), {"x": 800.0}) == 1.0
    assert dl.evaluate(dl.parse("softplus(x)"), {"x": 1000.0}) == 1000.0
    np.testing.assert_allclose(dl.evaluate(dl.parse("sigmoid(x)"), {"x": -30.0}),
                               np.exp(-30.0) / (1 + np.exp(-30.0)), rtol=1e-14)


def test_mlp_loss_matches_numpy():
    X, W, b = RNG.normal(size=(5, 4)), RNG.normal(size=(4, 3)), RNG.normal(size=3)
    V, c, Y = RNG.normal(size=(3, 2)), RNG.normal(size=2), RNG.normal(size=(5, 2))
    f = dl.parse("mean((tanh(X @ W + b) @ V + c - Y)**2)")
    want = np.mean((np.tanh(X @ W + b) @ V + c - Y) ** 2)
    got = dl.evaluate(f, dict(X=X, W=W, b=b, V=V, c=c, Y=Y))
    assert isinstance(got, float)
    assert got == pytest.approx(want, rel=1e-14)


def test_shared_subgraphs_evaluate_once():
    x = dl.variable("x")
    s = dl.sin(x)
    e = s
    for _ in range(60):  # a tree of 2**60 nodes, a DAG of 62
        e = e + e
    assert dl.evaluate(e, {"x": 1.0}) == pytest.approx(2**60 * np.sin(1.0), rel=1e-15)


def test_a_million_node_chain_evaluates():
    x = dl.variable("x")
    e = x
    for _ in range(500_000):
        e = dl.sin(e) * 1.0
    assert dl.size(e).dag_nodes >= 1_000_000
    want = 0.5
    for _ in range(500_000):
        want = np.sin(want) * 1.0
    assert dl.evaluate(e, {"x": 0.5}) == pytest.approx(want, rel=1e-12)


def test_outside_the_domain_is_ieee_not_an_exception():
    with np.errstate(all="raise"):  # even when the caller asks NumPy to raise
        assert np.isnan(dl.evaluate(dl.parse("log(x)"), {"x": -1.0}))
        assert dl.evaluate(dl.parse("log(x)"), {"x": 0.0}) == -np.inf
        assert np.isnan(dl.evaluate(dl.parse("x / y"), {"x": 0.0, "y": 0.0}))
        assert dl.evaluate(dl.parse("exp(x)"), {"x": 1000.0}) == np.inf


def test_bad_points_name_the_variable():
    f = dl.parse("x * y")
    with pytest.raises(KeyError, match="missing variable 'y'"):
        dl.evaluate(f, {"x": 1.0})
    with pytest.raises(ValueError, match="missing variable 'y'"):
        dl.evaluate(f, {"x": 1.0})
    with pytest.raises(ValueError, match="unexpected variable 'z'"):
        dl.evaluate(f, {"x": 1.0, "y": 2.0, "z": 3.0})
    for bad in ("one", None, True, [1, "a"], {"a": 1}, 1j):
        with pytest.raises(TypeError, match="variable 'y'"):
            dl.evaluate(f, {"x": 1.0, "y": bad})
    with pytest.raises(TypeError, match="map variable names"):
        dl.evaluate(f, [1.0, 2.0])
    assert dl.evaluate(f, {"x": 2, "y": np.float32(1.5)}) == 3.0
    assert dl.evaluate(f, {"x": [1, 2], "y": 2}).tolist() == [2.0, 4.0]


def test_shape_errors_name_the_op_and_both_shapes():
    with pytest.raises(ValueError, match=r"matmul: \(2, 3\) @ \(4, 5\)"):
        dl.evaluate(dl.parse("A @ B"), {"A": np.ones((2, 3)), "B": np.ones((4, 5))})
    with pytest.raises(ValueError, match=r"add: shapes \(2,\) and \(3,\) do not broadcast"):
        dl.evaluate(dl.parse("a + b"), {"a": np.ones(2), "b": np.ones(3)})


def test_run_value_drops_intermediates_after_their_last_use():
    import tracemalloc

    from difflab.core.evaluate import bind, run, run_value
    from difflab.core.plan import compile_plan

    # an unrolled recurrence over a large array: run keeps one array per node, run_value only
    # the live ones, and both give the same value, bit for bit
    x = dl.variable("x")
    y = x
    for _ in range(60):
        y = dl.sin(y) * 0.5 + y
    plan = compile_plan(y)
    point = {"x": np.linspace(-1.0, 1.0, 50_000)}
    np.testing.assert_array_equal(run_value(plan, bind(plan, point)),
                                  run(plan, bind(plan, point))[plan.out])
    values = bind(plan, point)
    run_value(plan, values)
    kept = [s for s, a in enumerate(plan.args) if a and values[s] is not None]
    assert kept == [plan.out]  # the leaves are still bound, every other result is gone
    peaks = []
    for fn in (run_value, lambda p, v: run(p, v)[p.out]):
        tracemalloc.start()
        fn(plan, bind(plan, point))
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    array = point["x"].nbytes
    assert peaks[0] < 6 * array < 20 * array < peaks[1]  # 180 nodes: ~180 arrays kept by run
    # a failure still names the op and its shapes
    bad = compile_plan(dl.parse("v @ w"))
    with pytest.raises(ValueError, match=r"matmul: \(2, 3\) @ \(4,\)"):
        run_value(bad, bind(bad, {"v": np.ones((2, 3)), "w": np.ones(4)}))
