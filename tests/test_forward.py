"""Forward mode (difflab.forward): Dual numbers and the tangent sweep over a plan.

References are independent of difflab's rules: derivatives written out by hand (NumPy
formulas) and JAX (jax.grad / jvp / jacfwd / hessian with 64-bit floats) on a jax.numpy
transcription made here. Agreement is per component: rho = |a - b| / max(1, |a| + |b|) <= 1e-12.
Random points come from fixed seeds.
"""

import gc
import math
import operator

import numpy as np
import pytest
from jax_oracle import JNP, jax, jax_function, jnp

import difflab as dl
from difflab import forward
from difflab.core import arrays as arrays_mod
from difflab.core import ops
from difflab.forward import Dual, derivative, jvp, sin

TOL = 1e-12
SEED = 31415


def rho(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(a) + np.abs(b)), initial=0.0))


def assert_close(got, want, label="", tol=TOL):
    assert np.shape(got) == np.shape(want), (label, np.shape(got), np.shape(want))
    r = rho(got, want)
    assert r <= tol, f"{label}: got {got}, want {want} (rho {r:.2e})"


def assert_dicts_close(got, want, label=""):
    assert list(got) == list(want), label
    for name in want:
        assert_close(got[name], want[name], f"{label} d/d{name}")




def jax_grad(expr, point):
    names = list(point)
    g = jax.grad(jax_function(expr, names), argnums=tuple(range(len(names))))(*point.values())
    return {n: np.asarray(v) if np.ndim(v) else float(v) for n, v in zip(names, g, strict=True)}


# ---- every unary op: hand-written derivative, JAX, the IR sweep and Duals -----------------
def _sech2(x):
    return 1.0 / np.cosh(x) ** 2


# op -> (f', interval of points inside the domain, away from kinks)
UNARY = {
    "neg": (lambda x: -np.ones_like(x), (-2, 2)),
    "sin": (np.cos, (-2, 2)),
    "cos": (lambda x: -np.sin(x), (-2, 2)),
    "tan": (lambda x: 1.0 / np.cos(x) ** 2, (-1.2, 1.2)),
    "asin": (lambda x: 1.0 / np.sqrt(1.0 - x * x), (-0.9, 0.9)),
    "acos": (lambda x: -1.0 / np.sqrt(1.0 - x * x), (-0.9, 0.9)),
    "atan": (lambda x: 1.0 / (1.0 + x * x), (-2, 2)),
    "sinh": (np.cosh, (-2, 2)),
    "cosh": (np.sinh, (-2, 2)),
    "tanh": (_sech2, (-2, 2)),
    "exp": (np.exp, (-2, 2)),
    "log": (lambda x: 1.0 / x, (0.2, 3)),
    "log1p": (lambda x: 1.0 / (1.0 + x), (-0.5, 3)),
    "expm1": (np.exp, (-2, 2)),
    "sqrt": (lambda x: 0.5 / np.sqrt(x), (0.2, 3)),
    "abs": (np.sign, (0.1, 2)),                      # both signs: see the points below
    "sigmoid": (lambda x: np.exp(-x) / (1.0 + np.exp(-x)) ** 2, (-3, 3)),
    "relu": (lambda x: (x > 0).astype(float), (0.1, 2)),
    "softplus": (lambda x: 1.0 / (1.0 + np.exp(-x)), (-3, 3)),
}
DUAL_FUNCTIONS = {"neg": operator.neg, **{op: getattr(forward, op) for op in UNARY if op != "neg"}}
NUMPY_UFUNCS = {"neg": np.negative, "sin": np.sin, "cos": np.cos, "tan": np.tan,
                "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan, "sinh": np.sinh,
                "cosh": np.cosh, "tanh": np.tanh, "exp": np.exp, "log": np.log,
                "log1p": np.log1p, "expm1": np.expm1, "sqrt": np.sqrt, "abs": np.abs}


def unary_points(op, size):
    lo, hi = UNARY[op][1]
    x = np.random.default_rng(SEED + len(op)).uniform(lo, hi, size)
    if op in ("abs", "relu"):
        x[::2] *= -1.0  # both sides of the kink, never on it
    return x


@pytest.mark.parametrize("op", sorted(UNARY))
def test_unary_rule_against_hand_and_jax(op):
    d_hand = UNARY[op][0]
    builder, jfn = arrays_mod.BUILDERS[op], JNP[op]
    x = dl.variable("x")
    # scalar, through the plan
    for x0 in unary_points(op, 1):
        got = forward.grad(builder(x), {"x": float(x0)})["x"]
        assert isinstance(got, float)
        assert_close(got, d_hand(x0), f"{op} scalar vs hand")
        assert_close(got, float(jax.grad(jfn)(x0)), f"{op} scalar vs jax")
    # an array, weighted: d/dx sum(w * op(x)) = w * op'(x)
    xs = unary_points(op, 5)
    w = np.random.default_rng(SEED).normal(size=5)
    got = forward.grad(dl.sum(dl.constant(w) * builder(x)), {"x": xs})["x"]
    assert_close(got, w * d_hand(xs), f"{op} array vs hand")
    assert_close(got, np.asarray(jax.grad(lambda v: jnp.sum(w * jfn(v)))(xs)), f"{op} vs jax")
    # Duals: forward.<op> and the NumPy ufunc, elementwise derivative of an array
    assert_close(derivative(DUAL_FUNCTIONS[op], xs), d_hand(xs), f"{op} Dual")
    assert_close(derivative(DUAL_FUNCTIONS[op], float(xs[0])), d_hand(xs[0]), f"{op} Dual")
    if op in NUMPY_UFUNCS:
        assert_close(derivative(NUMPY_UFUNCS[op], xs), d_hand(xs), f"np.{op} on a Dual")


def test_every_op_has_a_rule():
    assert set(ops.OPS) <= set(forward.jvp_rules)
    assert forward.RULE_TABLES == ("jvp_rules",)


# ---- binary ops, scalars and broadcasting --------------------------------------------------
# op -> (d/da, d/db) by hand
BINARY = {
    "add": (lambda a, b: np.ones_like(a * b), lambda a, b: np.ones_like(a * b)),
    "sub": (lambda a, b: np.ones_like(a * b), lambda a, b: -np.ones_like(a * b)),
    "mul": (lambda a, b: b + 0 * a, lambda a, b: a + 0 * b),
    "div": (lambda a, b: 1.0 / b + 0 * a, lambda a, b: -a / b**2),
    "pow": (lambda a, b: b * a ** (b - 1.0), lambda a, b: np.log(a) * a**b),
    "max": (lambda a, b: (a > b).astype(float), lambda a, b: (b > a).astype(float)),
    "min": (lambda a, b: (a < b).astype(float), lambda a, b: (b < a).astype(float)),
}


def unbroadcast(g, shape):
    """Sum g over the axes along which an operand of ``shape`` was broadcast."""
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, n in enumerate(shape):
        if n == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g


BROADCASTS = [((), ()), ((4,), ()), ((2, 3), (3,)), ((3,), (2, 3)), ((2, 1), (1, 3))]


@pytest.mark.parametrize("op", sorted(BINARY))
@pytest.mark.parametrize("sa, sb", BROADCASTS, ids=[f"{a}-{b}" for a, b in BROADCASTS])
def test_binary_rule_with_broadcasting(op, sa, sb):
    rng = np.random.default_rng(SEED)
    a0 = rng.uniform(0.5, 1.5, sa) if sa else float(rng.uniform(0.5, 1.5))
    b0 = rng.uniform(0.5, 1.5, sb) if sb else float(rng.uniform(0.5, 1.5))
    out = np.broadcast_shapes(sa, sb)
    w = rng.normal(size=out)
    a, b = dl.variables("a b")
    build = arrays_mod.BUILDERS[op]
    f = dl.sum(dl.constant(w) * build(a, b)) if out else build(a, b) * w
    got = forward.grad(f, {"a": a0, "b": b0})
    da, db = BINARY[op]
    A, B = np.broadcast_to(a0, out), np.broadcast_to(b0, out)
    hand = {}
    for name, d, shape in (("a", da, sa), ("b", db, sb)):
        g = unbroadcast(np.asarray(w * d(A, B)), shape)
        hand[name] = g.reshape(shape) if shape else float(g)
    assert_dicts_close(got, hand, f"{op} {sa} {sb} vs hand")
    assert_dicts_close(got, jax_grad(f, {"a": a0, "b": b0}), f"{op} {sa} {sb} vs jax")
    # the same through Duals: d/dt op(a + t ta, b + t tb) = da ta + db tb, broadcast
    ta, tb = rng.normal(size=sa), rng.normal(size=sb)
    fn = {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
          "div": operator.truediv, "pow": operator.pow, "max": np.maximum,
          "min": np.minimum}[op]
    _, t_dual = jvp(fn, (a0, b0), (ta, tb))
    assert_close(t_dual, da(A, B) * ta + db(A, B) * tb, f"{op} Dual jvp vs hand")


MATMULS = [((2, 3), (3, 4)), ((3,), (3, 4)), ((2, 3), (3,)), ((3,), (3,))]


@pytest.mark.parametrize("sa, sb", MATMULS, ids=[f"{a}@{b}" for a, b in MATMULS])
def test_matmul_against_hand_and_jax(sa, sb):
    rng = np.random.default_rng(SEED)
    A0, B0 = rng.normal(size=sa), rng.normal(size=sb)
    out = np.matmul(A0, B0).shape
    W = rng.normal(size=out)
    A, B = dl.variables("A B")
    f = dl.sum(dl.constant(W) * (A @ B)) if out else (A @ B) * float(W)
    got = forward.grad(f, {"A": A0, "B": B0})
    # by hand: y = A @ B, dL/dA = W B^T, dL/dB = A^T W, with 1-D operands as row / column
    A2 = A0.reshape(1, -1) if len(sa) == 1 else A0
    B2 = B0.reshape(-1, 1) if len(sb) == 1 else B0
    W2 = np.reshape(W, (A2.shape[0], B2.shape[1]))
    hand = {"A": (W2 @ B2.T).reshape(sa), "B": (A2.T @ W2).reshape(sb)}
    assert_dicts_close(got, hand, f"{sa} @ {sb} vs hand")
    assert_dicts_close(got, jax_grad(f, {"A": A0, "B": B0}), f"{sa} @ {sb} vs jax")
    # the Jacobian of the product itself (all directions through @ with a leading axis):
    # contracted with W it must give the gradient above
    jac = forward.jacobian(A @ B, {"A": A0, "B": B0})
    for name in "AB":
        assert_close(np.tensordot(W, jac[name], axes=len(out)), hand[name], f"jacobian {name}")
    _, t = jvp(operator.matmul, (A0, B0), (np.ones(sa), np.ones(sb)))
    assert_close(t, np.ones(sa) @ B0 + A0 @ np.ones(sb), "Dual @")


def test_reductions_and_transpose():
    rng = np.random.default_rng(SEED)
    M0, W = rng.normal(size=(2, 3)), rng.normal(size=(3, 2))
    M = dl.variable("M")
    cases = {  # expression -> gradient by hand
        "sum(W * transpose(M))": (dl.sum(dl.constant(W) * M.T), W.T),
        "sum(M)": (dl.sum(M), np.ones((2, 3))),
        "mean(M * M)": (dl.mean(M * M), 2.0 * M0 / 6.0),
        "sum(transpose(M) @ M)": (dl.sum(M.T @ M), M0 @ (np.ones((3, 3)) + np.ones((3, 3)))),
        "mean(sin(M)) * sum(M)": (dl.mean(dl.sin(M)) * dl.sum(M),
                                 np.cos(M0) / 6.0 * M0.sum() + np.sin(M0).mean()),
    }
    for label, (f, hand) in cases.items():
        got = forward.grad(f, {"M": M0})["M"]
        assert_close(got, hand, f"{label} vs hand")
        assert_close(got, jax_grad(f, {"M": M0})["M"], f"{label} vs jax")
    # Jacobians of the reductions and the transpose themselves
    assert_close(forward.jacobian(M.T, {"M": M0})["M"],
                 np.asarray(jax.jacfwd(jnp.transpose)(M0)), "d transpose")
    assert_close(forward.jacobian(dl.mean(M), {"M": M0})["M"], np.full((2, 3), 1 / 6), "mean")


# ---- Jacobians and Hessians -----------------------------------------------------------------
def test_jacobian_r3_to_r2_against_jacfwd():
    rng = np.random.default_rng(SEED)
    C, D = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    x = dl.variable("x")
    f = dl.tanh(dl.constant(C) @ x) + dl.constant(D) @ (x * dl.exp(x))
    x0 = rng.normal(size=3)
    want = np.asarray(jax.jacfwd(lambda v: jnp.tanh(C @ v) + D @ (v * jnp.exp(v)))(x0))
    got = forward.jacobian(f, {"x": x0})["x"]
    assert_close(got, want, "jacobian")
    assert_close(forward.jacobian(f, {"x": x0}, chunk=2)["x"], want, "jacobian in chunks")
    assert_close(forward.jacobian(f, {"x": x0}, chunk=1)["x"], want, "one direction per pass")
    # three scalar inputs, one R^2 output: (x, y, z) -> c x y + d sin(z)
    c, d = rng.normal(size=2), rng.normal(size=2)
    xs = dl.variables("x y z")
    g = dl.constant(c) * (xs[0] * xs[1]) + dl.constant(d) * dl.sin(xs[2])
    point = {"x": 0.3, "y": -1.2, "z": 0.8}
    got = forward.jacobian(g, point)
    want = jax.jacfwd(lambda a, b, e: c * a * b + d * jnp.sin(e), argnums=(0, 1, 2))(
        *point.values())
    for name, w in zip("xyz", want, strict=True):
        assert got[name].shape == (2,)
        assert_close(got[name], np.asarray(w), f"jacobian d/d{name}")


HESSIAN_TEXT = ("sum(sin(x) * s**2) + log1p(sum(x * x)) * s + mean(softplus(A @ x)) "
                "+ sum(x ** s) * cos(s) + max(s, 0.3) * sum(sigmoid(x) / (x + s))")


def test_hessian_against_jax():
    rng = np.random.default_rng(SEED)
    f = dl.parse(HESSIAN_TEXT)
    point = {"A": rng.normal(size=(2, 3)), "s": 0.7, "x": rng.uniform(0.5, 1.5, 3)}
    names = list(point)
    want = jax.jit(jax.hessian(jax_function(f, names), argnums=(0, 1, 2)))(*point.values())
    got = forward.hessian(f, point)
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            assert_close(got[a][b], np.asarray(want[i][j]) if np.ndim(want[i][j]) else
                         float(want[i][j]), f"hessian d2/d{a}d{b}")
    sub = forward.hessian(f, point, wrt=["x"], chunk=2)  # inner passes in chunks
    assert list(sub) == ["x"] and sub["x"]["x"].shape == (3, 3)
    assert_close(sub["x"]["x"], got["x"]["x"], "hessian wrt x, chunked")


def test_nested_derivatives_on_python_code():
    def f(y):
        return y**3 * np.sin(y)

    def f2(y):  # second derivative by hand
        return 6 * y * np.sin(y) + 6 * y**2 * np.cos(y) - y**3 * np.sin(y)

    x0 = 1.3
    assert_close(derivative(lambda x: derivative(f, x), x0), f2(x0), "f''")
    third = derivative(lambda x: derivative(lambda y: derivative(f, y), x), x0)
    assert_close(third, float(jax.grad(jax.grad(jax.grad(lambda y: y**3 * jnp.sin(y))))(x0)),
                 "f''' vs jax")
    assert derivative(lambda x: derivative(lambda y: y**3, x), -2.0) == -12.0


# ---- Dual numbers on plain Python / NumPy code ----------------------------------------------
def test_perturbation_confusion():
    # d/dx [x * d/dy (x + y)] = d/dx [x * 1] = 1 (an untagged implementation says 2)
    assert derivative(lambda x: x * derivative(lambda y: x + y, 1.0), 1.0) == 1.0
    # d/dx [x * d/dy (x * y)] = d/dx [x^2] = 2x
    assert derivative(lambda x: x * derivative(lambda y: x * y, 2.0), 3.0) == 6.0
    # the inner function closes over x and differentiates at x itself
    got = derivative(lambda x: derivative(lambda y: np.sin(x * y), x), 0.4)
    assert_close(got, np.cos(0.16) - 2 * 0.16 * np.sin(0.16), "d/dx [x cos(x^2)]")
    # a hand-made Dual (tag 0) inside a derivative is a constant there
    d = Dual(2.0, 1.0)
    inner = derivative(lambda t: d * t * t, 3.0)  # 2 d t = Dual(12, 6)
    assert isinstance(inner, Dual) and inner.value == 12.0 and inner.x_dot == 6.0


def test_readme_example():
    assert derivative(lambda t: t * sin(t), 1.0) == pytest.approx(np.sin(1) + np.cos(1), 1e-15)
    assert isinstance(forward.sigmoid(0.3), float | np.floating)
    assert_close(forward.relu(np.array([-1.0, 2.0])), [0.0, 2.0], "relu on an array")


def test_dual_on_numpy_code_against_jax_jvp():
    rng = np.random.default_rng(SEED)
    M0, T0 = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))

    def g(M, xp):
        t = xp.sum(M * M, axis=0, keepdims=True)                   # (1, 3)
        u = xp.broadcast_to(t, (2, 3)) + xp.transpose(xp.reshape(M, (3, 2)))
        w = xp.where(np.asarray(M0) > 0.0, u, -2.0 * u)              # plain condition
        v = xp.mean(w * xp.tanh(M), axis=1) + xp.square(M).sum() / (1.0 + M[0, 0] ** 2)
        return xp.logaddexp(v, 0.5) - xp.minimum(v, 0.1) @ xp.ones(2) + 2.0 ** M[1, 2]

    value, tangent = jvp(lambda M: g(M, np), M0, T0)
    v_jax, t_jax = jax.jvp(lambda M: g(M, jnp), (M0,), (T0,))
    assert_close(value, np.asarray(v_jax), "value")
    assert_close(tangent, np.asarray(t_jax), "tangent")
    # comparisons look at the value; conversions that would lose the tangent refuse
    d = Dual(np.array([1.0, -2.0]))
    assert list(d > 0) == [True, False] and bool(Dual(3.0) == 3.0)
    with pytest.raises(TypeError, match="Dual"):
        float(Dual(1.0))
    with pytest.raises(TypeError, match="array"):
        np.asarray(d)
    with pytest.raises(ValueError, match="shape"):
        Dual(np.ones(3), np.ones(2))


def test_forward_over_a_hand_written_backward_pass():
    # A backward pass written in NumPy, run on Duals: Hessian-vector products (forward over
    # reverse), against jax.jvp of jax.grad.
    rng = np.random.default_rng(SEED)
    W, b = rng.normal(size=(4, 3)), rng.normal(size=4)
    x0, v = rng.normal(size=3), rng.normal(size=3)

    def loss_grad(x):  # L = mean(relu(W x + b)^2) + sum(sigmoid(x)); dL/dx by hand
        z = W @ x + b
        h = np.maximum(z, 0.0)
        h_bar = 2.0 * h / h.size
        z_bar = np.where(np.asarray(z > 0.0), h_bar, 0.0)
        s = 1.0 / (1.0 + np.exp(-x))
        return np.transpose(W) @ z_bar + s * (1.0 - s)

    def loss(x):
        return jnp.mean(jax.nn.relu(W @ x + b) ** 2) + jnp.sum(jax.nn.sigmoid(x))

    _, hv = jvp(loss_grad, x0, v)
    assert_close(hv, np.asarray(jax.jvp(jax.grad(loss), (x0,), (v,))[1]), "Hv")
    assert_close(forward.gradient(lambda x: np.sum(np.sin(x) * x), x0),
                 np.cos(x0) * x0 + np.sin(x0), "gradient of Python code")
    assert_close(forward.grad_fn(lambda x: np.sum(x**2))(x0), 2 * x0, "grad_fn")


# ---- kinks, domain edges, errors --------------------------------------------------------------
def test_kinks_follow_jax():
    x, y = dl.variables("x y")
    assert forward.grad(dl.relu(x), {"x": 0.0})["x"] == 0.0 == float(jax.grad(jax.nn.relu)(0.0))
    assert forward.grad(dl.abs(x), {"x": 0.0})["x"] == 0.0  # the design's rule (sign(0) = 0)
    tie = {"x": 1.0, "y": 1.0}
    for op, jfn in (("max", jnp.maximum), ("min", jnp.minimum)):
        got = forward.grad(arrays_mod.BUILDERS[op](x, y), tie)
        assert got == {"x": 0.5, "y": 0.5}
        assert [float(g) for g in jax.grad(jfn, argnums=(0, 1))(1.0, 1.0)] == [0.5, 0.5]
    # arrays: the tie elements split, the others do not
    v0 = np.array([-1.0, 0.0, 2.0, 0.5])
    v = dl.variable("v")
    assert_close(forward.grad(dl.sum(dl.relu(v)), {"v": v0})["v"], [0, 0, 1, 1], "relu")
    got = forward.grad(dl.sum(dl.max(v, y)), {"v": v0, "y": 0.5})
    assert_close(got["v"], [0, 0, 1, 0.5], "max ties d/dv")
    assert got["y"] == 2.5
    # Duals
    assert derivative(forward.relu, 0.0) == 0.0 and derivative(np.abs, 0.0) == 0.0
    assert jvp(np.maximum, (1.0, 1.0), (1.0, 3.0))[1] == 2.0


def test_power_of_a_negative_base_and_domain_edges():
    x = dl.variable("x")
    assert forward.grad(x**3, {"x": -2.0})["x"] == 12.0 == float(jax.grad(lambda t: t**3.0)(-2.0))
    assert derivative(lambda t: t**3, -2.0) == 12.0
    assert forward.hessian(x**3, {"x": -2.0})["x"]["x"] == -12.0
    with np.errstate(all="raise"):  # IEEE results, never an exception
        assert forward.grad(dl.log(x), {"x": -1.0})["x"] == -1.0
        assert forward.grad(dl.sqrt(x), {"x": 0.0})["x"] == math.inf
        assert np.isnan(forward.grad(dl.log(x), {"x": 0.0})["x"] * 0.0)
        assert derivative(lambda t: 1.0 / t, 0.0) == -math.inf


def test_errors_name_the_problem():
    M, v = dl.variables("M v")
    with pytest.raises(ValueError, match=r"scalar.*\(3,\)"):
        forward.grad(dl.sin(v), {"v": np.ones(3)})
    with pytest.raises(ValueError, match=r"matmul: \(2, 3\) @ \(4,\)"):
        forward.jacobian(M @ v, {"M": np.ones((2, 3)), "v": np.ones(4)})
    with pytest.raises(KeyError, match="'w'"):
        forward.grad(dl.sum(v), {"v": np.ones(3)}, wrt=["w"])
    with pytest.raises(ValueError, match="chunk"):
        forward.grad(dl.sum(v), {"v": np.ones(3)}, chunk=0)
    with pytest.raises(TypeError, match="step"):
        forward.prepare(dl.sum(v), ("v",), {"v": (3,)}, step=1e-3)


def test_results_have_the_protocol_shapes():
    f = dl.parse("sum(W @ x) * s + s")
    point = {"W": np.ones((2, 3)), "x": np.arange(1.0, 4.0), "s": 2.0}
    g = forward.grad(f, point)
    assert list(g) == ["W", "s", "x"] and isinstance(g["s"], float)
    assert g["W"].shape == (2, 3) and g["x"].shape == (3,)
    assert forward.grad(f, point, wrt=["s"]) == {"s": 13.0}
    g["W"][0, 0] = 99.0  # results are fresh arrays, not views of cached seeds
    assert forward.grad(f, point)["W"][0, 0] == 2.0
    h = forward.hessian(f, point)
    assert h["W"]["x"].shape == (2, 3, 3) and isinstance(h["s"]["s"], float)
    eye = forward.jacobian(dl.variable("x"), {"x": np.ones(2)})["x"]  # the seed itself
    eye[0, 0] = 5.0
    assert_close(forward.jacobian(dl.variable("x"), {"x": np.ones(2)})["x"], np.eye(2), "seed")


# ---- a million nodes -----------------------------------------------------------------------------
def test_million_node_chain():
    # x -> sin(x) * 1.0001, 500,000 times: 1,000,000 op nodes. No recursion anywhere, and the
    # sweep keeps at most two tangents alive.
    x, c = dl.variable("x"), dl.constant(1.0001)
    gc.disable()  # building millions of nodes: skip the collector's scans (test speed only)
    try:
        f = x
        for _ in range(500_000):
            f = dl.sin(f) * c
        prepared = forward.prepare(f, ("x",), {"x": ()})
    finally:
        gc.enable()
    assert prepared.info["slots"] == 1_000_002 and prepared.info["peak_live_tangents"] <= 2
    got = prepared({"x": 0.5})["x"]
    v, d = np.float64(0.5), np.float64(1.0)  # the chain rule by hand: prod of cos(v_i) * c
    c0 = np.float64(1.0001)
    for _ in range(500_000):
        d = d * np.cos(v) * c0
        v = np.sin(v) * c0
    assert abs(got - d) <= 1e-12 * abs(d)
