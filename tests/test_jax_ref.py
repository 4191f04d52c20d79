"""The JAX reference (difflab.jax_ref) against hand-written derivatives."""

import math
import subprocess
import sys

import numpy as np
import pytest

import difflab as dl
from difflab import jax_ref as jr
from difflab.core import ops


def sig(x):
    return 1.0 / (1.0 + math.exp(-x))


# Every op gets its own variable in one sum, so a single compile checks all the rules:
# (term, variable value, hand-written derivative).
UNARY_TERMS = [
    ("-{}", 0.7, -1.0),
    ("sin({})", 0.7, math.cos(0.7)),
    ("cos({})", 0.7, -math.sin(0.7)),
    ("tan({})", 0.7, 1 / math.cos(0.7) ** 2),
    ("asin({})", 0.3, 1 / math.sqrt(1 - 0.09)),
    ("acos({})", 0.3, -1 / math.sqrt(1 - 0.09)),
    ("atan({})", 1.3, 1 / (1 + 1.69)),
    ("sinh({})", 0.6, math.cosh(0.6)),
    ("cosh({})", 0.6, math.sinh(0.6)),
    ("tanh({})", 0.6, 1 - math.tanh(0.6) ** 2),
    ("exp({})", 1.1, math.exp(1.1)),
    ("log({})", 1.7, 1 / 1.7),
    ("log1p({})", 0.4, 1 / 1.4),
    ("expm1({})", 0.4, math.exp(0.4)),
    ("sqrt({})", 2.3, 0.5 / math.sqrt(2.3)),
    ("abs({})", -1.2, -1.0),
    ("sigmoid({})", 0.8, sig(0.8) * (1 - sig(0.8))),
    ("relu({})", 0.9, 1.0),
    ("relu({})", -0.9, 0.0),
    ("softplus({})", 0.8, sig(0.8)),
    ("{} ** 3", -2.0, 12.0),  # constant exponent: no log(-2) term
]
BINARY_TERMS = [  # (term, a, b, d/da, d/db)
    ("{} + {}", 0.3, 2.0, 1.0, 1.0),
    ("{} - {}", 0.3, 2.0, 1.0, -1.0),
    ("{} * {}", 0.3, 2.0, 2.0, 0.3),
    ("{} / {}", 0.3, 2.0, 0.5, -0.3 / 4.0),
    ("{} ** {}", 1.3, 2.4, 2.4 * 1.3 ** 1.4, math.log(1.3) * 1.3 ** 2.4),
    ("max({}, {})", 0.3, -2.0, 1.0, 0.0),
    ("min({}, {})", 0.3, -2.0, 0.0, 1.0),
]
V = np.array([0.5, -1.0, 2.0])
W = np.array([[1.0, 2.0, -1.0], [0.5, 0.0, 3.0]])


def close(a, b, rtol=1e-13):
    return np.allclose(np.asarray(a, float), np.asarray(b, float), rtol=rtol, atol=1e-15)


def test_every_scalar_op_in_one_compile():
    terms, point, want = [], {}, {}
    for i, (term, x, d) in enumerate(UNARY_TERMS):
        terms.append(term.format(f"u{i}"))
        point[f"u{i}"], want[f"u{i}"] = x, d
    for i, (term, a, b, da, db) in enumerate(BINARY_TERMS):
        terms.append(term.format(f"a{i}", f"b{i}"))
        point.update({f"a{i}": a, f"b{i}": b})
        want.update({f"a{i}": da, f"b{i}": db})
    got = jr.grad(dl.parse(" + ".join(terms)), point)
    assert set(got) == set(want)
    for name, d in want.items():
        assert isinstance(got[name], float)
        assert close(got[name], d), (name, got[name], d)


def test_array_ops_and_broadcasting():
    text = ("sum(transpose(W) * C) + sum(Z @ v) + v @ v + mean(v) * 3 + sum(sin(v) * s)"
            " + sum(c * r)")
    c, r = np.array([[1.0], [2.0]]), np.array([[3.0, 4.0, 5.0]])
    point = {"W": W, "C": W.T * 2.0, "Z": W, "v": V, "s": 1.5, "c": c, "r": r}
    got = jr.grad(dl.parse(text), point)
    want = {"W": 2.0 * W, "C": W.T, "Z": np.ones((2, 1)) * V[None, :],
            "v": W.sum(axis=0) + 2 * V + 1.0 + 1.5 * np.cos(V), "s": float(np.sin(V).sum()),
            "c": np.full((2, 1), 12.0), "r": np.full((1, 3), 3.0)}
    for name in want:
        assert np.shape(got[name]) == np.shape(want[name])
        assert isinstance(got[name], float) if name == "s" else got[name].dtype == np.float64
        assert close(got[name], want[name]), name


def test_every_op_has_a_rule():
    assert set(ops.UNARY + ops.BINARY) <= set(jr.jnp_rules)


def test_kinks_follow_the_design():
    g = jr.grad(dl.parse("relu(x) + abs(y) + max(a, b) + min(c, d)"),
                {"x": 0.0, "y": 0.0, "a": 1.0, "b": 1.0, "c": -2.0, "d": -2.0})
    assert g == {"x": 0.0, "y": 0.0, "a": 0.5, "b": 0.5, "c": 0.5, "d": 0.5}


def test_stock_jnp_abs_differs_at_zero():
    # Why abs is x * sign(x) in jnp_rules: jnp.abs's JVP is select(x >= 0, g, -g).
    jax = jr._jax()
    assert float(jax.grad(jax.numpy.abs)(0.0)) == 1.0
    assert float(jax.grad(jr.jnp_rules["abs"])(0.0)) == 0.0
    assert float(jr.jnp_rules["abs"](jax.numpy.asarray(-0.0))) == 0.0


def test_pow_exponent_derivative_only_where_it_varies():
    g = jr.grad(dl.parse("x ** y"), {"x": -2.0, "y": 3.0})
    assert g["x"] == 12.0 and math.isnan(g["y"])  # d/dy = log(-2) (-2)^3: nan, as IEEE says
    assert jr.grad(dl.parse("x ** y"), {"x": -2.0, "y": 3.0}, wrt=["x"]) == {"x": 12.0}


def test_x64_is_on():
    jax = jr._jax()
    assert jax.config.jax_enable_x64
    assert jax.numpy.zeros(()).dtype == np.float64
    # 1 + 1e-12 is lost in float32; a float64 gradient keeps it
    assert jr.grad(dl.parse("x * 1.000000000001"), {"x": 1.0})["x"] == 1.000000000001


def test_importing_difflab_does_not_import_jax():
    code = "import sys, difflab, difflab.jax_ref; print('jax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_jacobian_modes():
    shapes = {"W": (2, 3), "v": (3,), "s": ()}
    point = {"W": W, "v": V, "s": 2.0}
    want_W = np.zeros((2, 2, 3))
    for i in range(2):
        want_W[i, i, :] = 2.0 * V
    want = {"W": want_W, "v": 2.0 * W, "s": W @ V}
    expr = dl.parse("W @ v * s")
    for mode in ("auto", "forward", "reverse"):
        J = jr.prepare_jacobian(expr, ("W", "v", "s"), shapes, mode=mode)
        got = J(point)
        for name in want:
            assert got[name].shape == want[name].shape and close(got[name], want[name])
        if mode == "auto":
            assert J.info["mode"] == "reverse"  # 10 inputs, 2 outputs
    assert jr.prepare_jacobian(dl.parse("sin(v) * s"), ("s",), shapes).info["mode"] == "forward"
    with pytest.raises(ValueError, match="unknown jacobian mode 'sideways'.*reverse"):
        jr.prepare_jacobian(expr, ("v",), shapes, mode="sideways")


def test_hessian():
    x = np.array([0.3, -1.2, 2.0])
    H = jr.prepare_hessian(dl.parse("sum(exp(x) * x) * y**2"), ("x", "y"),
                           {"x": (3,), "y": ()})({"x": x, "y": 1.5})
    assert close(H["x"]["x"], np.diag((2 + x) * np.exp(x)) * 2.25)
    assert close(H["x"]["y"], (1 + x) * np.exp(x) * 3.0) and H["y"]["x"].shape == (3,)
    assert close(H["y"]["y"], 2 * np.sum(np.exp(x) * x)) and isinstance(H["y"]["y"], float)


def test_compile_time_apart_and_primal():
    expr = dl.parse("sum(W @ v) * s")
    shapes = {"W": (2, 3), "v": (3,), "s": ()}
    prepared = jr.prepare(expr, ("W", "v", "s"), shapes)
    info = prepared.info
    assert info["compile_seconds"] > 0 and info["compile_seconds"] == pytest.approx(
        info["trace_seconds"] + info["xla_seconds"])
    point = {"W": W, "v": V, "s": 2.0}
    assert close(prepared(point)["s"], np.sum(W @ V))
    f = jr.function(expr, shapes)
    assert f.info["compile_seconds"] > 0
    assert f(point) == pytest.approx(dl.evaluate(expr, point), rel=1e-15)
    assert close(jr.function(dl.parse("W @ v"))(point), W @ V)


def test_size_refusal_is_a_status_not_a_hang():
    x = dl.variable("x")
    chain = x
    for _ in range(jr.MAX_NODES):
        chain = dl.sin(chain)
    with pytest.raises(ValueError, match=rf"too large for jax: {jr.MAX_NODES + 1} nodes "
                                         rf"\(limit {jr.MAX_NODES}\)"):
        jr.prepare(chain, ("x",), {"x": ()})
    with pytest.raises(ValueError, match="too large for jax: 4 nodes"):
        jr.function(dl.parse("sin(cos(tan(x)))"), max_nodes=3)


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"not scalar.*\(3,\)"):
        jr.prepare(dl.parse("sin(v)"), ("v",), {"v": (3,)})
    with pytest.raises(ValueError, match=r"matmul: \(2, 3\) @ \(2,\)"):
        jr.prepare(dl.parse("sum(W @ v)"), ("v",), {"W": (2, 3), "v": (2,)})
    with pytest.raises(ValueError, match="'z'"):
        jr.grad(dl.parse("x"), {"x": 1.0}, wrt=["z"])
