"""dl.jvp, dl.vjp, dl.hvp by every method against JAX (jax.jvp, jax.vjp, jvp of grad).

The reference is the independent JAX oracle (tests/jax_oracle.py), x64. Agreement per
component in rho = |a - b| / max(1, |a| + |b|): exact methods (symbolic, forward, reverse, jax)
within 1e-12; numeric within 1e-8 for J v and v^T J (central4 differences of f) and 1e-6 for
H v (central differences of central4 gradients: the gradient's ~1e-13 error over a step of
2^-14, against the step squared); the complex step within 1e-12 for J v.
"""

import numpy as np
import pytest
from jax_oracle import jax, jax_function, jnp
from rho import rho

import difflab as dl
import difflab.numpy as dnp

EXACT = ("symbolic", "forward", "reverse", "jax")
TOL = {**dict.fromkeys(EXACT, 1e-12), "numeric": 1e-8, "numeric:complex": 1e-12}
HVP_TOL = {**dict.fromkeys(EXACT, 1e-12), "numeric": 1e-6}
METHODS = (*dl.METHODS, "numeric:complex")
SEED = 20240614


def draw(rng, shapes: dict, low=0.5, high=1.5) -> dict:
    return {n: rng.uniform(low, high, size=s) if s else float(rng.uniform(low, high))
            for n, s in shapes.items()}


# (text, shapes): scalar variables, arrays, broadcasting, matmul of every rank, reductions
ARRAY_VALUED = [
    ("sin(x) * exp(y) + x**3 / y", {"x": (), "y": ()}),
    ("tanh(A @ x + b)", {"A": (3, 4), "x": (4,), "b": (3,)}),
    ("sin(A) * x + b", {"A": (2, 3), "x": (3,), "b": ()}),
    ("transpose(A) @ B - transpose(sqrt(C)) * s",
     {"A": (3, 2), "B": (3, 4), "C": (4, 2), "s": ()}),
    ("log(1 + exp(v @ A)) * max(v @ A, s)", {"v": (3,), "A": (3, 2), "s": ()}),
]
SCALAR_VALUED = [
    ("sin(x) * exp(y) + x**3 / y + sqrt(x) * log(y)", {"x": (), "y": ()}),
    ("sum(softplus(A @ x) * v) + (v @ A) @ x + mean(sigmoid(transpose(A)) * v) * s",
     {"A": (3, 2), "x": (2,), "v": (3,), "s": ()}),
    ("mean((tanh(X @ W + b) - Y)**2)", {"X": (5, 3), "W": (3, 2), "b": (2,), "Y": (5, 2)}),
]


def _setup(text, shapes, seed_offset=0):
    rng = np.random.default_rng(SEED + seed_offset)
    f = dl.parse(text)
    point = draw(rng, {n: shapes[n] for n in f.variables})
    return f, point, rng


def _refuses(method, f) -> bool:
    """The complex step refuses non-analytic ops with a clear error (tested here)."""
    return method == "numeric:complex" and any(op in str(f) for op in ("max(", "abs(", "relu("))


def _oracle(f, point):
    names = list(f.variables)
    return names, jax_function(f, names), [np.asarray(point[n]) for n in names]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("case", range(len(ARRAY_VALUED)))
def test_jvp_against_jax(method, case):
    f, point, rng = _setup(*ARRAY_VALUED[case], case)
    names, g, args = _oracle(f, point)
    tangents = {n: rng.normal(size=np.shape(point[n])) if np.shape(point[n])
                else float(rng.normal()) for n in names}
    _, want = jax.jvp(g, tuple(args), tuple(np.asarray(tangents[n]) for n in names))
    if _refuses(method, f):
        with pytest.raises(ValueError, match="complex step cannot differentiate max"):
            dl.jvp(f, point, tangents, method=method)
        return
    got = dl.jvp(f, point, tangents, method=method)
    assert np.shape(got) == np.shape(want)
    assert isinstance(got, float) == (np.shape(want) == ())
    assert rho(got, want) <= TOL[method], method
    # a tangent that leaves variables out holds them fixed: J restricted to the others
    first = {names[0]: tangents[names[0]]}
    zeros = tuple(np.asarray(tangents[n]) if n == names[0] else np.zeros(np.shape(point[n]))
                  for n in names)
    _, want_first = jax.jvp(g, tuple(args), zeros)
    assert rho(dl.jvp(f, point, first, method=method), want_first) <= TOL[method]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("case", range(len(ARRAY_VALUED)))
def test_vjp_against_jax(method, case):
    f, point, rng = _setup(*ARRAY_VALUED[case], case)
    names, g, args = _oracle(f, point)
    out, pullback = jax.vjp(g, *args)
    cotangent = rng.normal(size=np.shape(out)) if np.shape(out) else float(rng.normal())
    want = pullback(np.asarray(cotangent))
    if _refuses(method, f):
        with pytest.raises(ValueError, match="complex step cannot differentiate max"):
            dl.vjp(f, point, cotangent, method=method)
        return
    got = dl.vjp(f, point, cotangent, method=method)
    assert list(got) == names
    for name, w in zip(names, want, strict=True):
        assert np.shape(got[name]) == np.shape(point[name])
        assert rho(got[name], w) <= TOL[method], (method, name)
    sub = dl.vjp(f, point, cotangent, method=method, wrt=[names[-1]])
    assert list(sub) == [names[-1]] and rho(sub[names[-1]], want[-1]) <= TOL[method]


@pytest.mark.parametrize("method", (*dl.METHODS,))
@pytest.mark.parametrize("case", range(len(SCALAR_VALUED)))
def test_hvp_against_jax(method, case):
    f, point, rng = _setup(*SCALAR_VALUED[case], case)
    names, g, args = _oracle(f, point)
    vector = {n: rng.normal(size=np.shape(point[n])) if np.shape(point[n])
              else float(rng.normal()) for n in names}
    grad = jax.grad(g, argnums=tuple(range(len(names))))
    _, want = jax.jvp(grad, tuple(args), tuple(np.asarray(vector[n]) for n in names))
    got = dl.hvp(f, point, vector, method=method)
    assert list(got) == names
    for name, w in zip(names, want, strict=True):
        assert np.shape(got[name]) == np.shape(point[name])
        assert isinstance(got[name], float) == (np.shape(point[name]) == ())
        assert rho(got[name], w) <= HVP_TOL[method], (method, name)
    # H over the named variables only: the others are held fixed
    last = names[-1]
    h_last = jax.hessian(g, argnums=len(names) - 1)(*args)
    want_last = np.tensordot(np.asarray(h_last), np.asarray(vector[last]),
                             axes=np.ndim(point[last]))
    only = dl.hvp(f, point, {last: vector[last]}, method=method)
    assert list(only) == [last] and rho(only[last], want_last) <= HVP_TOL[method]


@pytest.mark.parametrize("method", METHODS)
def test_products_of_a_linear_map_are_exact_and_zero_directions_give_zero(method):
    A = np.arange(6.0).reshape(2, 3) / 7.0
    f = dl.constant(A) @ dl.variable("x")
    point = {"x": np.array([0.3, -0.2, 0.9])}
    v = np.array([1.0, 2.0, -1.0])
    assert rho(dl.jvp(f, point, {"x": v}, method=method), A @ v) <= TOL[method]
    assert rho(dl.vjp(f, point, np.array([1.0, -2.0]), method=method)["x"],
               np.array([1.0, -2.0]) @ A) <= TOL[method]
    assert np.all(dl.jvp(f, point, {"x": np.zeros(3)}, method=method) == 0.0)


def test_each_method_computes_its_own_product():
    f = dl.parse("sum(sin(A @ x)) * s")
    shapes = {"A": (2, 3), "x": (3,), "s": ()}
    info = lambda kind, method, wrt: dl.prepared(kind, f, wrt, shapes, method).info
    assert info("jvp", "forward", ["x"])["passes"] == 1                # one tangent pass
    assert info("jvp", "numeric:central4", ["A", "x"])["evaluations"] == 4  # along v
    assert info("jvp", "numeric", ["A", "x"])["evaluations"] <= 85    # adaptive, along v
    assert info("jvp", "numeric:complex", ["x"])["evaluations"] == 1
    assert info("jvp", "jax", ["x"])["product"] == "jax.jvp"
    assert info("vjp", "jax", ["x"])["product"] == "jax.vjp"
    assert info("hvp", "jax", ["x"])["product"] == "jax.jvp of jax.grad"
    assert info("hvp", "reverse", ["A", "x", "s"])["sweeps"] == 1      # one sweep, k = 1
    assert info("hvp", "forward", ["x"])["outer_passes"] == 1
    assert info("hvp", "numeric", ["x"])["product"] == "central difference of gradients along v"
    # symbolic has none of its own: the generic products from its Jacobian and Hessian
    assert info("jvp", "symbolic", ["x"])["product"] == "J v from the Jacobian"
    assert info("vjp", "symbolic", ["x"])["product"] == "v^T J from the Jacobian"
    assert info("hvp", "symbolic", ["x"])["product"] == "H v from the Hessian"
    assert info("vjp", "numeric", ["x"])["product"] == "v^T J from the Jacobian"


def test_numeric_jvp_costs_the_same_for_any_number_of_inputs():
    x = dl.variable("x")
    f = dl.sum(dl.sin(x) * x)
    small = dl.prepared("jvp", f, ["x"], {"x": (3,)}, "numeric:central").info
    large = dl.prepared("jvp", f, ["x"], {"x": (3000,)}, "numeric:central").info
    assert small["evaluations"] == large["evaluations"] == 2
    point = {"x": np.linspace(-1.0, 1.0, 3000)}
    v = np.cos(np.arange(3000.0))
    want = np.sum((np.cos(point["x"]) * point["x"] + np.sin(point["x"])) * v)
    assert rho(dl.jvp(f, point, {"x": v}, method="numeric:central"), want) <= 1e-8


# ---- bad directions: errors that name the variable and the shapes ---------------------------
def test_bad_tangents_cotangents_and_vectors_are_named():
    f = dl.parse("sin(x) * y")
    point = {"x": np.ones(3), "y": 2.0}
    with pytest.raises(ValueError, match=r"tangent for variable 'x' has shape \(2,\).*\(3,\)"):
        dl.jvp(f, point, {"x": np.ones(2)})
    with pytest.raises(ValueError, match=r"tangent for variable 'y' has shape \(1,\).*\(\)"):
        dl.jvp(f, point, {"y": [1.0]})
    with pytest.raises(KeyError, match="'z'.*not a variable"):
        dl.jvp(f, point, {"z": 1.0})
    with pytest.raises(TypeError, match="tangent for variable 'x': expected a number"):
        dl.jvp(f, point, {"x": "abc"})
    with pytest.raises(TypeError, match="tangent for variable 'y': expected real numbers"):
        dl.jvp(f, point, {"y": 1j})
    with pytest.raises(ValueError, match="tangent is empty"):
        dl.jvp(f, point, {})
    with pytest.raises(TypeError, match="tangent must map variable names"):
        dl.jvp(f, point, np.ones(3))
    with pytest.raises(ValueError, match=r"cotangent for the output has shape \(\).*\(3,\)"):
        dl.vjp(f, point, 1.0)
    with pytest.raises(ValueError, match=r"hvp needs a scalar-valued expression.*\(3,\)"):
        dl.hvp(f, point, {"x": np.ones(3)})
    with pytest.raises(ValueError, match=r"vector for variable 'x' has shape \(3, 1\)"):
        dl.hvp(dl.sum(f), point, {"x": np.ones((3, 1))})
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        dl.jvp(f, point, {"x": np.ones(3)}, method="nope")
    with pytest.raises(KeyError, match="missing variable 'y'"):
        dl.vjp(f, {"x": np.ones(3)}, np.ones(3))


# ---- Python functions: traced at the point's shapes, as grad traces them ---------------------
# Each body is written once against a NumPy-like module: difflab.numpy to trace, jax.numpy for
# the reference. Every one needs the shape of x while tracing (squeeze, swapaxes, vstack, ...).
SHAPED_FUNCTIONS = {
    "squeeze": lambda np_, s, x: np_.sum(np_.squeeze(x[None]) ** 3) * s,
    "dot with a scalar": lambda np_, s, x: np_.sum(np_.dot(s, x) * x),
    "swapaxes": lambda np_, s, x: np_.sum(np_.swapaxes(x[None], 0, 1) * s) * np_.sum(x * x),
    "vstack, hstack": lambda np_, s, x: np_.sum(np_.vstack([x, x * s]) ** 2)
    + np_.sum(np_.hstack([x, s * x]) ** 3),
    "diagonal, trace": lambda np_, s, x: np_.sum(np_.diagonal(np_.outer(x, x) * s))
    + np_.trace(np_.outer(x, x * x)),
    "var ddof=1": lambda np_, s, x: np_.var(x * s, ddof=1),
    "norm ord=1": lambda np_, s, x: np_.linalg.norm(x * s - 1.0, ord=1) * s,
}


@pytest.mark.parametrize("name", SHAPED_FUNCTIONS)
@pytest.mark.parametrize("method", ("forward", "reverse"))
def test_products_of_a_python_function_trace_it_at_the_points_shapes(name, method):
    body = SHAPED_FUNCTIONS[name]
    point = {"s": 1.5, "x": np.array([0.5, 2.0, -1.25])}
    args = (np.asarray(point["s"]), point["x"])
    g = lambda s, x: body(jnp, s, x)  # noqa: E731
    t = (0.5, np.array([1.0, -2.0, 0.25]))
    got = dl.jvp(lambda s, x: body(dnp, s, x), point, {"s": t[0], "x": t[1]}, method=method)
    assert rho(got, jax.jvp(g, args, (np.asarray(t[0]), t[1]))[1]) <= 1e-12
    want = jax.vjp(g, *args)[1](np.asarray(2.0))
    got = dl.vjp(lambda s, x: body(dnp, s, x), point, 2.0, method=method)
    assert rho(got["s"], want[0]) <= 1e-12 and rho(got["x"], want[1]) <= 1e-12
    hv = jax.jvp(jax.grad(g, argnums=(0, 1)), args, (np.asarray(t[0]), t[1]))[1]
    got = dl.hvp(lambda s, x: body(dnp, s, x), point, {"s": t[0], "x": t[1]}, method=method)
    assert rho(got["s"], hv[0]) <= 1e-12 and rho(got["x"], hv[1]) <= 1e-12


def test_jvp_of_a_python_function_of_a_scalar_and_an_array_as_in_the_report():
    f = lambda s, x: dnp.sum(dnp.dot(s, x))  # noqa: E731
    # d/ds sum(s * x) = sum(x) = 3 (jax.jvp gives 3.0)
    assert dl.jvp(f, {"s": 2.0, "x": np.ones(3)}, {"s": 1.0}) == 3.0
