"""symbolic at complex intermediates, nan and inf: IEEE as the other methods, never an exception.

Every component must be what float64 evaluation of the derivative formula gives: a constant
that is not real (sqrt(-1), log(-2)) is nan, not SymPy's I; where SymPy's algebra would
simplify (x/x = 1, exp(x) * 0 = 0) the expression keeps the IR's structure, so the answer is
JAX's. The reference is JAX (tests/jax_oracle.py: jax.grad of a jax.numpy transcription),
compared exactly for nan and inf, and within rho 1e-12 otherwise.
"""

import itertools
import warnings

import numpy as np
import pytest
from jax_oracle import jax, jax_function

import difflab as dl
from difflab import symbolic
from difflab.core import arrays as arrays_mod

TOL = 1e-12
# Special points; no subnormals (XLA on CPU flushes them to zero, NumPy does not).
SPECIAL = [0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, np.inf, -np.inf, np.nan, 1e308]


def same(a, b) -> bool:
    a, b = float(a), float(b)
    if np.isnan(a) or np.isnan(b):
        return np.isnan(a) and np.isnan(b)
    if np.isinf(a) or np.isinf(b):
        return a == b
    return abs(a - b) <= TOL * max(1.0, abs(a) + abs(b))


def jax_grads(f, points):
    """jax.grad of f at each point (rows of variable values in f.variables order)."""
    names = f.variables
    grad = jax.vmap(jax.grad(jax_function(f, names), argnums=tuple(range(len(names)))))
    columns = np.asarray(points, dtype=np.float64).T
    return np.stack([np.asarray(g) for g in grad(*columns)], axis=1)


def symbolic_grads(f, points):
    names = f.variables
    prepared = symbolic.prepare(f, names, {n: () for n in names})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning either
        return np.array([[prepared(dict(zip(names, p, strict=True)))[n] for n in names]
                         for p in points])


def mismatches(f, points):
    got, want = symbolic_grads(f, points), jax_grads(f, points)
    return [(tuple(p), tuple(g), tuple(w)) for p, g, w in zip(points, got, want, strict=True)
            if not all(same(a, b) for a, b in zip(g, w, strict=True))]


# The issue's cases, and the same kinds of hole: (text, point) -> every method's nan/0/...
ISSUE = [
    ("sqrt(-1) * x", {"x": 2.0}),             # was a raw TypeError (complex to float)
    ("x * (-8) ** (1/3)", {"x": 2.0}),        # was a raw TypeError
    ("max(x, sqrt(-1))", {"x": 2.0}),         # was SymPy's ValueError (Heaviside of x - I)
    ("(-2) ** x", {"x": 2.0}),                # was 2.77, the real part of 4 log(-2)
    ("acos(log(-2)) / x", {"x": 2.0}),        # was a number although f is nan
    ("x / x", {"x": 0.0}),                    # SymPy: x/x = 1, so 0; JAX: 1/0 - 0/0 = nan
    ("x / x", {"x": np.inf}),
    ("sqrt(x * x)", {"x": 0.0}),              # SymPy: |x|, so sign(0) = 0; JAX: 0/0 = nan
    ("exp(x) * 0", {"x": 1000.0}),            # SymPy: 0; JAX: inf * 0 = nan
    ("exp(x) - exp(x)", {"x": 1000.0}),       # SymPy: 0; JAX: inf - inf = nan
    ("relu(x)", {"x": np.nan}),               # was nan (np.heaviside); JAX's select gives 0
    ("max(x, y)", {"x": np.inf, "y": np.inf}),  # a tie at inf: was 0 (Heaviside(inf - inf))
    ("min(x, 1e999)", {"x": np.inf}),
    ("sqrt(x)", {"x": -0.0}),                 # 1/2 / sqrt(-0.0) = -inf, as JAX
    ("sqrt(x)", {"x": -np.inf}),              # 1/2 / nan, not (-inf) ** -1/2 = 0
    ("x * sqrt(-1) * sqrt(-1)", {"x": 2.0}),  # SymPy: I * I = -1; float64: nan
    ("log(-1) * 0 + x", {"x": 1.0}),          # nan * 0 is nan: d/dx = 1 all the same
    ("log(x) * 0", {"x": 0.0}),               # -inf * 0: f and f' nan
]


@pytest.mark.parametrize("text, point", ISSUE, ids=[f"{t} at {p}" for t, p in ISSUE])
def test_the_issue_cases_match_jax(text, point):
    f = dl.parse(text)
    assert not mismatches(f, [[point[n] for n in f.variables]])
    got = dl.grad(f, point, method="symbolic")  # through the API too: no exception
    assert all(isinstance(v, float) for v in got.values())


def test_complex_constants_are_nan_not_their_real_part():
    x = dl.variable("x")
    assert np.isnan(symbolic.grad(dl.constant(-2.0) ** x, {"x": 2.0})["x"])  # not 2.77
    assert np.isnan(symbolic.grad(dl.acos(dl.log(dl.constant(-2.0))) / x, {"x": 2.0})["x"])
    # the Hessian too, and constants that SymPy would fold to I * I = -1
    i = dl.sqrt(dl.constant(-1.0))
    h = symbolic.prepare_hessian(x * x * i * i, ("x",), {"x": ()})({"x": 3.0})
    assert np.isnan(h["x"]["x"])


def test_a_nan_constant_on_the_left_is_an_operand():
    # SymPy's nan.__add__ returns nan outright: nan + x had derivative 0, JAX's is 1.
    x = dl.variable("x")
    nan = dl.constant(np.nan)
    assert symbolic.grad(nan + x, {"x": 1.0}) == {"x": 1.0}
    assert symbolic.grad(nan - x, {"x": 1.0}) == {"x": -1.0}
    for f in (nan * x, nan / x, nan ** x, dl.max(nan, x)):
        got = symbolic.grad(f, {"x": 2.0})["x"]
        want = jax_grads(f, [[2.0]])[0, 0]
        assert same(got, want), (str(f), got, want)


@pytest.mark.parametrize("ops_", [("sin", "cos", "tan", "asin", "acos", "atan", "sinh"),
                                  ("cosh", "tanh", "exp", "log", "log1p", "expm1", "sqrt"),
                                  ("sigmoid", "relu", "softplus", "neg")])
def test_every_unary_op_at_special_points_matches_jax(ops_):
    x = dl.variable("x")
    for op in ops_:
        assert not mismatches(arrays_mod.BUILDERS[op](x), [[v] for v in SPECIAL]), op


def test_abs_at_special_points():
    # JAX's own jnp.abs differentiates to 1 at 0; difflab's design (and its JAX reference,
    # x * sign(x)) gives sign(x): 0 at 0, nan at nan.
    got = symbolic_grads(dl.abs(dl.variable("x")), [[v] for v in SPECIAL])[:, 0]
    want = np.sign(np.array(SPECIAL))
    assert all(same(a, b) for a, b in zip(got, want, strict=True)), got


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "pow", "max", "min"])
def test_every_binary_op_at_special_points_matches_jax(op):
    x, y = dl.variables("x y")
    points = [list(p) for p in itertools.product(SPECIAL, SPECIAL)]
    assert not mismatches(arrays_mod.BUILDERS[op](x, y), points), op
