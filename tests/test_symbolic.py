"""symbolic: SymPy derivatives vs hand-written ones, kinks as JAX, IEEE edges, the budget and
the expression-swell sizes. Hand-written references are NumPy formulas; tolerances are a few
float64 rounding errors (rtol 1e-12) unless stated."""

import time
import warnings

import numpy as np
import pytest
import sympy
from mlp_reference import mlp_backward, mlp_problem

import difflab as dl
from difflab import symbolic
from difflab.core import arrays as arrays_mod
from difflab.core import ops, sympy_bridge
from difflab.core.graph import toposort
from difflab.core.ops import OPS
from difflab.core.plan import compile_plan
from difflab.core.shapes import infer_shapes

RTOL = 1e-12


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# op -> (hand-written derivative, points inside the domain)
UNARY = {
    "neg": (lambda x: -np.ones_like(x), [-0.6, 0.25, 0.8]),
    "sin": (np.cos, [-0.6, 0.25, 0.8]),
    "cos": (lambda x: -np.sin(x), [-0.6, 0.25, 0.8]),
    "tan": (lambda x: 1.0 / np.cos(x) ** 2, [-0.6, 0.25, 0.8]),
    "asin": (lambda x: 1.0 / np.sqrt(1.0 - x**2), [-0.6, 0.25, 0.8]),
    "acos": (lambda x: -1.0 / np.sqrt(1.0 - x**2), [-0.6, 0.25, 0.8]),
    "atan": (lambda x: 1.0 / (1.0 + x**2), [-0.6, 0.25, 0.8]),
    "sinh": (np.cosh, [-0.6, 0.25, 0.8]),
    "cosh": (np.sinh, [-0.6, 0.25, 0.8]),
    "tanh": (lambda x: 1.0 / np.cosh(x) ** 2, [-0.6, 0.25, 0.8]),
    "exp": (np.exp, [-0.6, 0.25, 0.8]),
    "log": (lambda x: 1.0 / x, [0.3, 1.7, 2.5]),
    "log1p": (lambda x: 1.0 / (1.0 + x), [-0.6, 0.25, 0.8]),
    "expm1": (np.exp, [-0.6, 0.25, 0.8]),
    "sqrt": (lambda x: 0.5 / np.sqrt(x), [0.3, 1.7, 2.5]),
    "abs": (np.sign, [-0.6, 0.25, 0.8]),
    "sigmoid": (lambda x: sigmoid(x) * (1.0 - sigmoid(x)), [-0.6, 0.25, 0.8]),
    "relu": (lambda x: (x > 0).astype(float), [-0.6, 0.25, 0.8]),
    "softplus": (sigmoid, [-0.6, 0.25, 0.8]),
    "square": (lambda x: 2.0 * x, [-0.6, 0.25, 0.8]),
}

# op -> hand-written (d/da, d/db) of op(a, b)
BINARY = {
    "add": lambda a, b: (np.ones_like(a), np.ones_like(b)),
    "sub": lambda a, b: (np.ones_like(a), -np.ones_like(b)),
    "mul": lambda a, b: (b, a),
    "div": lambda a, b: (1.0 / b, -a / b**2),
    "pow": lambda a, b: (b * a ** (b - 1.0), np.log(a) * a**b),
    "max": lambda a, b: ((a > b) + 0.5 * (a == b), (b > a) + 0.5 * (a == b)),
    "min": lambda a, b: ((a < b) + 0.5 * (a == b), (b < a) + 0.5 * (a == b)),
    # 0/1 masks: derivative 0, at ties too (JAX's rule)
    **{op: (lambda a, b: (0.0 * a, 0.0 * b)) for op in ops.COMPARISONS},
    # where's halves: the branch's derivative through the mask, none for the mask
    "select": lambda a, b: (0.0 * a, (a != 0) + 0.0 * b),
    "select_not": lambda a, b: (0.0 * a, (a == 0) + 0.0 * b),
}

# ops with constant parameters, and where: (expression of a and b, the shape of both)
PARAMETRIC = {
    "index": (lambda a, b: a[1, ::-1] * b[[0, 0, 1], 2], (2, 3)),
    "reduce_sum": (lambda a, b: dl.sum(a, axis=0) + dl.sum(b, axis=(0, 1), keepdims=True),
                   (2, 3)),
    "reduce_mean": (lambda a, b: dl.mean(a, axis=-1, keepdims=True), (2, 3)),
    "reduce_prod": (lambda a, b: dl.prod(a, axis=1), (2, 3)),
    "reduce_max": (lambda a, b: dl.max(a, axis=0), (2, 3)),
    "reduce_min": (lambda a, b: dl.min(a, axis=(0, 1)), (2, 3)),
    "logsumexp": (lambda a, b: dl.logsumexp(a, axis=1), (2, 3)),
    "softmax": (lambda a, b: dl.softmax(a, axis=0), (2, 3)),
    "log_softmax": (lambda a, b: dl.log_softmax(a), (2, 3)),
    "reshape": (lambda a, b: dl.reshape(a, (3, -1)), (2, 3)),
    "permute": (lambda a, b: dl.transpose(a, (1, 0)), (2, 3)),
    "concat": (lambda a, b: arrays_mod.concat(a, b, axis=1), (2, 3)),
    "where": (lambda a, b: dl.where(a > b, a, b * b), (2, 3)),
}


def unary(op, x):
    return arrays_mod.BUILDERS[op](x)


def test_every_elementwise_op_has_a_case():
    structural = {"const", "var", "sum", "mean", "transpose", "matmul"}
    assert set(UNARY) | set(BINARY) | set(PARAMETRIC) | structural == set(OPS)


def _op_node(expr, op):
    """The node of ``op`` in ``expr`` (a case's expression may wrap it)."""
    return next(node for node in toposort(expr) if node.op == op)


@pytest.mark.parametrize("op", sorted(set(OPS) - {"const", "var"}))
def test_rule_table_matches_the_bridge_and_differentiates(op):
    # symbolic.sympy_rules[op] builds what sympy_bridge builds for op, and every SymPy node of
    # it has a derivative rule (DIFF_RULES or fdiff).
    shape = (2, 2) if op in ("matmul", "sum", "mean", "transpose") else ()
    a, b = dl.variables("a b")
    if op in PARAMETRIC:
        build, shape = PARAMETRIC[op]
        expr = _op_node(build(a, b), op)
    else:
        expr = arrays_mod.BUILDERS[op](a, b) if op in ops.BINARY else arrays_mod.BUILDERS[op](a)
    shapes = {"a": shape, "b": shape}
    syms = {n: sympy_bridge.symbol_array(n, shape) for n in ("a", "b")}
    # each argument as the bridge passes it: symbols, or a constant parameter as itself
    args = [sympy_bridge.to_sympy_arrays(arg, shapes, syms) if arg.op != "const"
            else arg.attr for arg in expr.args]
    args = [x[()] if isinstance(x, np.ndarray) and x.ndim == 0 else x for x in args]
    mine = np.asarray(symbolic.sympy_rules[op](*args), dtype=object)
    bridge = sympy_bridge.to_sympy_arrays(expr, shapes, syms)
    plan = compile_plan(expr)
    assert mine.shape == bridge.shape == infer_shapes(plan, shapes)[plan.out]
    assert all(m == g for m, g in zip(mine.flat, bridge.flat, strict=True))
    inputs = [s for n in expr.variables for s in syms[n].ravel()]
    assert symbolic.jacobian_exprs(list(bridge.flat), inputs)  # no missing rule


@pytest.mark.parametrize("op", sorted(UNARY))
def test_unary_scalar_and_broadcast_array(op):
    d_op, xs = UNARY[op]
    x, w = dl.variables("x w")
    for x0 in xs:
        g = symbolic.grad(unary(op, x), {"x": x0})
        assert isinstance(g["x"], float)
        np.testing.assert_allclose(g["x"], d_op(np.float64(x0)), rtol=RTOL)
    # sum(op(x) * w): x (3,) broadcast against w (2, 1)
    xv, wv = np.array(xs), np.array([[1.5], [-0.5]])
    g = symbolic.grad(dl.sum(unary(op, x) * w), {"x": xv, "w": wv})
    np.testing.assert_allclose(g["x"], d_op(xv) * wv.sum(), rtol=RTOL)
    values = dl.evaluate(unary(op, x), {"x": xv})
    np.testing.assert_allclose(g["w"], np.full((2, 1), values.sum()), rtol=RTOL)


@pytest.mark.parametrize("op", sorted(BINARY))
def test_binary_broadcasting(op):
    a, b = dl.variables("a b")
    if op == "pow":
        av, bv = np.array([[0.5, 1.5, 2.0], [3.0, 0.7, 1.1]]), np.array([2.0, -0.5, 1.3])
    else:  # ties at (0, 0) and (1, 2) exercise max/min's 1/2 rule
        av, bv = np.array([[1.0, 2.0, 3.0], [0.0, 5.0, -1.0]]), np.array([1.0, 4.0, -1.0])
    da, db = BINARY[op](av, bv[None, :] + 0 * av)
    g = symbolic.grad(dl.sum(arrays_mod.BUILDERS[op](a, b)), {"a": av, "b": bv})
    assert g["a"].shape == (2, 3) and g["b"].shape == (3,)
    np.testing.assert_allclose(g["a"], da, rtol=RTOL)
    np.testing.assert_allclose(g["b"], db.sum(axis=0), rtol=RTOL)
    # scalars
    g = symbolic.grad(arrays_mod.BUILDERS[op](a, b), {"a": 1.7, "b": 0.6})
    np.testing.assert_allclose([g["a"], g["b"]], BINARY[op](1.7, 0.6), rtol=RTOL)


@pytest.mark.parametrize("sa, sb", [((2, 3), (3, 4)), ((3,), (3, 4)), ((2, 3), (3,)),
                                    ((3,), (3,))])
def test_matmul(sa, sb):
    rng = np.random.default_rng(1)
    A, B = rng.normal(size=sa), rng.normal(size=sb)
    C = rng.normal(size=np.shape(A @ B))
    a, b, c = dl.variables("a b c")
    g = symbolic.grad(dl.sum((a @ b) * c), {"a": A, "b": B, "c": C})
    # d sum((A B) * C): dA = C B^T, dB = A^T C (as outer products for 1-D operands)
    A2, B2 = np.atleast_2d(A), B.reshape(B.shape[0], -1)
    C2 = np.reshape(C, (A2.shape[0], B2.shape[1]))
    np.testing.assert_allclose(g["a"], (C2 @ B2.T).reshape(sa), rtol=RTOL)
    np.testing.assert_allclose(g["b"], (A2.T @ C2).reshape(sb), rtol=RTOL)
    np.testing.assert_allclose(g["c"], A @ B, rtol=RTOL)


def test_sum_mean_transpose():
    rng = np.random.default_rng(2)
    X, M = rng.normal(size=(2, 3)), rng.normal(size=(3, 2))
    x, m = dl.variables("x m")
    g = symbolic.grad(dl.mean(x * x) + dl.sum(x) ** 2.0, {"x": X})
    np.testing.assert_allclose(g["x"], 2 * X / X.size + 2 * X.sum(), rtol=RTOL)
    g = symbolic.grad(dl.sum(dl.transpose(x) * m), {"x": X, "m": M})
    np.testing.assert_allclose(g["x"], M.T, rtol=RTOL)
    np.testing.assert_allclose(g["m"], X.T, rtol=RTOL)


def test_mlp_loss_against_numpy_backward():
    loss, point = mlp_problem()
    expected = mlp_backward(**point)
    got = symbolic.grad(loss, point)
    for name, value in expected.items():
        np.testing.assert_allclose(got[name], value, rtol=1e-12, atol=1e-15)


def test_jacobian_of_a_layer():
    rng = np.random.default_rng(3)
    X, W, b = rng.normal(size=(4, 3)), rng.normal(size=(3, 5)), rng.normal(size=5)
    x, w, bb = dl.variables("x w bb")
    shapes = {"x": X.shape, "w": W.shape, "bb": b.shape}
    jac = symbolic.prepare_jacobian(dl.tanh(x @ w + bb), ("w", "bb"), shapes)
    J = jac({"x": X, "w": W, "bb": b})
    dH = 1 - np.tanh(X @ W + b) ** 2                 # (4, 5)
    eye = np.eye(5)
    np.testing.assert_allclose(J["w"], np.einsum("ij,ik,jl->ijkl", dH, X, eye), rtol=RTOL,
                               atol=1e-15)
    np.testing.assert_allclose(J["bb"], np.einsum("ij,jl->ijl", dH, eye), rtol=RTOL)


def test_hessians():
    x, y = dl.variables("x y")
    f = x**2.0 * y + dl.sin(x * y)
    H = symbolic.prepare_hessian(f, ("x", "y"), {"x": (), "y": ()})({"x": 0.7, "y": -1.3})
    X, Y = 0.7, -1.3
    np.testing.assert_allclose(H["x"]["x"], 2 * Y - Y**2 * np.sin(X * Y), rtol=RTOL)
    np.testing.assert_allclose(H["x"]["y"], 2 * X + np.cos(X * Y) - X * Y * np.sin(X * Y),
                               rtol=RTOL)
    np.testing.assert_allclose(H["y"]["x"], H["x"]["y"], rtol=RTOL)
    np.testing.assert_allclose(H["y"]["y"], -X**2 * np.sin(X * Y), rtol=RTOL)
    # arrays: s * sum((A v) * v) has d2/dv2 = s (A + A^T), d2/dv ds = (A + A^T) v
    A = np.array([[1.0, 2.0, 0.0], [0.5, -1.0, 3.0], [2.0, 0.0, 1.0]])
    v, s = dl.variables("v s")
    g = s * dl.sum((dl.constant(A) @ v) * v)
    V = np.array([0.3, -0.2, 1.1])
    H = symbolic.prepare_hessian(g, ("v", "s"), {"v": (3,), "s": ()})({"v": V, "s": 2.0})
    np.testing.assert_allclose(H["v"]["v"], 2.0 * (A + A.T), rtol=RTOL)
    np.testing.assert_allclose(H["v"]["s"], (A + A.T) @ V, rtol=RTOL)
    np.testing.assert_allclose(H["s"]["v"], (A + A.T) @ V, rtol=RTOL)
    assert H["s"]["s"] == 0.0 and isinstance(H["s"]["s"], float)


def test_kinks_follow_jax():
    x, y = dl.variables("x y")
    assert symbolic.grad(dl.relu(x), {"x": 0.0}) == {"x": 0.0}
    assert symbolic.grad(dl.abs(x), {"x": 0.0}) == {"x": 0.0}
    assert symbolic.grad(dl.max(x, y), {"x": 2.0, "y": 2.0}) == {"x": 0.5, "y": 0.5}
    assert symbolic.grad(dl.min(x, y), {"x": 2.0, "y": 2.0}) == {"x": 0.5, "y": 0.5}
    assert symbolic.grad(dl.max(x, 0.0), {"x": 0.0}) == {"x": 0.5}
    # second derivatives at kinks are 0, never a DiracDelta
    H = symbolic.prepare_hessian(dl.relu(x) * y + dl.abs(x) * x, ("x", "y"),
                                 {"x": (), "y": ()})({"x": 0.0, "y": 3.0})
    assert H == {"x": {"x": 0.0, "y": 0.0}, "y": {"x": 0.0, "y": 0.0}}


def test_power_edges_follow_jax():
    x, y = dl.variables("x y")
    assert symbolic.grad(x**3.0, {"x": -2.0}) == {"x": 12.0}        # no log(-2) term
    assert symbolic.grad(x**y, {"x": 0.0, "y": 2.0}) == {"x": 0.0, "y": 0.0}
    g = symbolic.grad(x**y, {"x": -2.0, "y": 3.0})                   # log(-2) where y varies
    assert g["x"] == 12.0 and np.isnan(g["y"])


def test_outside_the_domain_is_ieee_without_warnings():
    x = dl.variable("x")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(symbolic.grad(dl.log(x) * dl.sqrt(x), {"x": -1.0})["x"])
        assert symbolic.grad(dl.sqrt(x), {"x": 0.0}) == {"x": np.inf}
        assert symbolic.grad(1.0 / x, {"x": 0.0}) == {"x": -np.inf}
        assert np.isnan(symbolic.grad(dl.acos(x), {"x": 2.0})["x"])


def test_agrees_with_plain_sympy_diff():
    # The memoised chain rule against SymPy's own diff of the same SymPy expression.
    x, y = dl.variables("x y")
    formulas = [dl.sin(x * y) * dl.exp(-x**2.0) / (1.0 + y**2.0),
                dl.log1p(x**2.0) * dl.tanh(y) - dl.sqrt(dl.cosh(x * y)),
                (x / y) ** 1.5 + dl.atan(x - y) * dl.softplus(x * y),
                dl.sigmoid(dl.sin(x) * dl.cos(y)) ** 3.0 + dl.expm1(x * y - 1.0)]
    X, Y = sympy.symbols("x y", real=True)
    for f in formulas:
        ref = sympy.lambdify([X, Y], [sympy.diff(dl.to_sympy(f), v) for v in (X, Y)],
                             modules=[sympy_bridge.NUMPY_FUNCTIONS, "numpy"])(0.8, 1.3)
        g = symbolic.grad(f, {"x": 0.8, "y": 1.3})
        np.testing.assert_allclose([g["x"], g["y"]], ref, rtol=1e-13)


def test_derivative_expr_for_a_reader():
    x, y = dl.variables("x y")
    d = symbolic.derivative_expr(dl.sin(x**2.0) * y, "x")
    X, Y = sympy.symbols("x y", real=True)
    assert sympy.simplify(d - 2 * X * Y * sympy.cos(X**2)) == 0
    both = symbolic.derivative_expr(x * y, ["x", "y"])
    assert both == {"x": Y, "y": X}


def test_prepared_is_cached_and_reports_sizes():
    x, y = dl.variables("x y")
    f = dl.sin(x) * dl.exp(y) + x**2.0
    p1 = symbolic.prepare(f, ("x", "y"), {"x": (), "y": ()})
    p2 = symbolic.prepare(dl.sin(x) * dl.exp(y) + x**2.0, ["x", "y"], {"y": (), "x": ()})
    assert p1 is p2
    for key in ("raw_ops", "raw_dag_ops", "cse_ops", "cse_temporaries", "primal_ops",
                "diff_seconds", "cse_seconds", "lambdify_seconds", "prepare_seconds"):
        assert key in p1.info
    assert p1({"x": 1.0, "y": 2.0})["y"] == pytest.approx(np.sin(1.0) * np.exp(2.0), rel=1e-15)
    assert symbolic.prepare(f, ("x",), {"x": (), "y": ()})({"x": 1.0, "y": 2.0}).keys() == {"x"}
    assert symbolic.prepare(f, (), {"x": (), "y": ()})({"x": 1.0, "y": 2.0}) == {}


def logistic(n):
    x = dl.variable("x")
    l_n = x
    for _ in range(n):
        l_n = 4.0 * l_n * (1.0 - l_n)
    return l_n


def test_expression_swell_on_the_logistic_map():
    infos = [symbolic.prepare(logistic(n), ("x",), {"x": ()}).info for n in range(1, 11)]
    raw = [i["raw_ops"] for i in infos]
    shared = [i["cse_ops"] for i in infos]
    # the tree of the raw derivative more than doubles with every step (exponential swell)...
    assert all(b > 2 * a for a, b in zip(raw[2:], raw[3:], strict=False))
    # ...while the shared program grows linearly: the expression keeps the IR's structure
    # (unevaluated), so each step of the map adds the same 14 operations (4 of l, 10 of l')
    steps = {b - a for a, b in zip(shared, shared[1:], strict=False)}
    assert steps == {14}, shared
    assert raw[-1] > 250 * shared[-1]                              # 35,328 vs 132 at n = 10
    # values: l_1 = 4x(1-x) -> 4 - 8x
    assert symbolic.grad(logistic(1), {"x": 0.3}) == {"x": pytest.approx(4 - 8 * 0.3)}


def test_logistic_13_prepares_fast():
    symbolic._prepare.cache_clear()
    start = time.perf_counter()
    p = symbolic.prepare(logistic(13), ("x",), {"x": ()})
    assert time.perf_counter() - start < 2.0          # measured ~0.01 s
    assert p.info["raw_ops"] > 300_000 and p.info["cse_ops"] < 200   # 368,640 and 174


def test_budget_refuses_a_million_node_chain_quickly():
    x = dl.variable("x")
    chain = x
    for _ in range(1_000_000):
        chain = dl.Expr("sin", (chain,))
    start = time.perf_counter()
    with pytest.raises(symbolic.SymbolicTooLarge, match=r"too large for symbolic: .*1,000,001 "
                                                         r"nodes \(limit 100,000\)"):
        symbolic.prepare(chain, ("x",), {"x": ()})
    assert time.perf_counter() - start < 5.0  # the budget is checked before any SymPy work
    with pytest.raises(ValueError, match="too large for symbolic"):
        symbolic.grad(chain, {"x": 1.0})  # through the API: the point is validated first


def test_budget_size_and_time():
    loss, point = mlp_problem()
    shapes = {k: np.shape(v) for k, v in point.items()}
    with pytest.raises(symbolic.SymbolicTooLarge, match=r"DAG of [\d,]+ scalar nodes "
                                                        r"\(limit 100\)"):
        symbolic.prepare(loss, ("W",), shapes, max_nodes=100)
    with pytest.raises(symbolic.SymbolicTooLarge, match="too slow for symbolic"):
        symbolic.prepare(loss, ("W",), shapes, time_budget=0.0)


def test_errors_name_the_problem():
    x, y = dl.variables("x y")
    with pytest.raises(ValueError, match=r"scalar expression; this one has shape \(3,\)"):
        symbolic.prepare(x * y, ("x",), {"x": (3,), "y": ()})
    with pytest.raises(ValueError, match="'z'"):
        symbolic.prepare(x * y, ("z",), {"x": (), "y": ()})
    with pytest.raises(ValueError, match=r"matmul: \(2, 3\) @ \(4,\)"):
        symbolic.prepare(dl.sum(x @ y), ("x",), {"x": (2, 3), "y": (4,)})
    with pytest.raises(KeyError, match="missing variable 'y'"):
        symbolic.grad(x * y, {"x": 1.0})
