"""GradBench's eval functions in difflab's IR, through the tool, against stock JAX.

Each eval's two functions are evaluated by ``difflab.gradbench.tool.Tool`` (JSON in, JSON
out, as GradBench's evals see them) with reverse and forward mode on small inputs, and
compared with the same functions written again in JAX (tests/gradbench_jax.py, written from
the evals' descriptions, sharing no code with difflab). Exact methods agree to 1e-10;
numeric (finite differences) to 1e-6. GradBench itself is not needed.
"""

from __future__ import annotations

import functools
import json

import gradbench_jax as J
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from difflab.gradbench.evals import ba, gmm, ht, kmeans
from difflab.gradbench.tool import Tool

EXACT = ("reverse", "forward")
RTOL, ATOL = 1e-10, 1e-12


def as_json(value):
    """``value`` through JSON, as GradBench sends it (NumPy arrays become lists)."""
    return json.loads(json.dumps(value, default=lambda a: np.asarray(a).tolist()))


_tools: dict[str, Tool] = {}


def run(method: str, module: str, function: str, input):
    """The tool's output for one evaluate message (it must succeed)."""
    tool = _tools.setdefault(method, Tool(method, log=lambda text: None))
    message = {"id": 0, "kind": "evaluate", "module": module, "function": function,
               "input": as_json(input if module == "hello" else
                                {**input, "min_runs": 1, "min_seconds": 0})}
    answer = tool.handle(message)
    assert answer["success"], answer.get("error")
    assert all(isinstance(t["nanoseconds"], int) for t in answer["timings"])
    return answer["output"]


def jit(f, *static):
    """``f`` jitted, with the integer arguments at positions ``static`` held fixed."""
    return jax.jit(f, static_argnums=static)


def close(actual, expected, rtol=RTOL, atol=ATOL):
    np.testing.assert_allclose(np.asarray(actual, dtype=float), np.asarray(expected),
                               rtol=rtol, atol=atol)


@pytest.mark.parametrize("method", EXACT)
def test_hello(method):
    assert run(method, "hello", "square", 3.0) == 9.0
    assert run(method, "hello", "double", 3.0) == 6.0


@pytest.mark.parametrize("method", (*EXACT, "numeric"))
def test_lse(method):
    x = np.random.default_rng(1).uniform(-3, 3, size=7)
    tol = {"rtol": 1e-6, "atol": 1e-8} if method == "numeric" else {}
    close(run(method, "lse", "primal", {"x": x}), jax.jit(J.lse)(x))
    close(run(method, "lse", "gradient", {"x": x}), jax.jit(jax.grad(J.lse))(x), **tol)


@pytest.mark.parametrize("method", EXACT)
def test_llsq(method):
    x = np.random.default_rng(2).uniform(size=4)
    close(run(method, "llsq", "primal", {"x": x, "n": 6}), jit(J.llsq, 1)(x, 6))
    close(run(method, "llsq", "gradient", {"x": x, "n": 6}), jit(jax.grad(J.llsq), 1)(x, 6))


@functools.cache
def _gmm():
    """A small mixture (d = 3, k = 2, n = 5, m = 1, gamma = 0.8) and its F and gradient by JAX."""
    input = {**gmm.draw(np.random.default_rng(3), {"d": 3, "k": 2, "n": 5}), "m": 1,
             "gamma": 0.8}
    args = [jnp.asarray(input[name]) for name in ("alpha", "mu", "q", "l", "x")]
    return (input, jit(J.gmm, 5, 6)(*args, 1, 0.8),
            jit(jax.grad(J.gmm, argnums=(0, 1, 2, 3)), 5, 6)(*args, 1, 0.8))


@pytest.mark.parametrize("method", EXACT)
def test_gmm_with_a_prior_of_m_1_and_gamma_0_8(method):
    input, value, grads = _gmm()
    close(run(method, "gmm", "objective", input), value)
    out = run(method, "gmm", "jacobian", input)
    assert set(out) == {"alpha", "mu", "q", "l"}
    for name, expected in zip(("alpha", "mu", "q", "l"), grads, strict=True):
        close(out[name], expected)


@pytest.mark.parametrize("method", (*EXACT, "jax"))
def test_kmeans_newton_direction(method):
    input = kmeans.draw(np.random.RandomState(4), {"k": 3, "n": 12, "d": 2})
    P, C = input["points"], input["centroids"]
    close(run(method, "kmeans", "cost", input), jax.jit(J.kmeans_cost)(C, P))
    direction = run(method, "kmeans", "dir", input)
    close(direction, jax.jit(J.kmeans_dir)(C, P))
    # the Newton step moves each centroid to the mean of its points
    nearest = np.argmin(((P[:, None] - C[None]) ** 2).sum(axis=2), axis=1)
    means = np.array([P[nearest == j].mean(axis=0) for j in range(3)])
    close(C - np.asarray(direction), means)


@pytest.mark.parametrize("method", (*EXACT, "numeric"))
def test_ode(method):
    x = np.random.default_rng(5).uniform(size=5)
    tol = {"rtol": 1e-6, "atol": 1e-8} if method == "numeric" else {}
    close(run(method, "ode", "primal", {"x": x, "s": 3}), jit(J.ode, 1)(x, 3))
    close(run(method, "ode", "gradient", {"x": x, "s": 3}),
          jax.jit(jax.grad(lambda v: J.ode(v, 3)[-1]))(x), **tol)


@pytest.mark.parametrize("method", EXACT)
def test_det_by_minors_against_lu(method):
    A = np.random.default_rng(6).uniform(size=16)
    close(run(method, "det", "primal", {"A": A, "ell": 4}), jit(J.det, 1)(A, 4))
    close(run(method, "det", "gradient", {"A": A, "ell": 4}), jit(jax.grad(J.det), 1)(A, 4))


@functools.cache
def _lstm():
    """A small LSTM (l = 2, b = 3, c = 5) and its loss and gradient by JAX."""
    rng = np.random.default_rng(7)
    input = {"main_params": rng.uniform(size=(4, 12)), "extra_params": rng.uniform(size=(3, 3)),
             "state": rng.uniform(size=(4, 3)),
             "sequence": rng.integers(0, 2, size=(5, 3)).astype(float)}
    args = [jnp.asarray(input[n]) for n in ("main_params", "extra_params", "state", "sequence")]
    g_main, g_extra = jax.jit(jax.grad(J.lstm, argnums=(0, 1)))(*args)
    return input, jax.jit(J.lstm)(*args), np.concatenate([np.ravel(g_main), np.ravel(g_extra)])


@pytest.mark.parametrize("method", EXACT)
def test_lstm(method):
    input, value, gradient = _lstm()
    close(run(method, "lstm", "objective", input), value)
    close(run(method, "lstm", "jacobian", input), gradient)


def _ba_blocks(input):
    """Each observation's 2×15 block and w_err derivative, by JAX."""
    n, m, p = input["n"], input["m"], input["p"]
    cam, x, w, feat = (jnp.asarray(input[k]) for k in ("cam", "x", "w", "feat"))
    rows = jax.jit(jax.jacfwd(lambda c, X, ww: J.ba_residual(c, X, ww, feat)[0],
                              argnums=(0, 1, 2)))
    block = np.concatenate([np.asarray(b).reshape(2, -1) for b in rows(cam, x, w)], axis=1)
    return n, m, p, block, -2 * float(w)


@pytest.mark.parametrize("method", (*EXACT, "jax"))
def test_ba_residuals_and_truncated_csr(method):
    input = ba.draw(np.random.default_rng(8), {"n": 3, "m": 4, "p": 17})
    n, m, p, block, dw = _ba_blocks(input)
    err, w_err = jax.jit(J.ba_residual)(*(jnp.asarray(input[k]) for k in ("cam", "x", "w",
                                                                           "feat")))
    out = run(method, "ba", "objective", input)
    assert out["reproj_error"]["repeated"] == p and out["w_err"]["repeated"] == p
    close(out["reproj_error"]["elements"], err)
    close(out["w_err"]["element"], w_err)
    jac = run(method, "ba", "jacobian", input)
    assert jac["rows"] == [15 * k for k in range(30)] + [31 * p]
    assert jac["cols"] == 2 * (list(range(11)) + [33, 34, 35, 45]) + [45 + p - 1]
    close(jac["vals"], list(block.ravel()) + [dw])


def test_ba_sparse_structure_of_gradbench_ba1():
    # GradBench's ba1 (n=49, m=7776, p=31843): column 11n = 539 starts the points, 11n + 3m
    # = 23867 the weights; the last row starts at 31 p.
    n, m, p = 49, 7776, 31843
    result = {"t_cam": np.zeros((3 * p, 11)), "t_X": np.zeros((3 * p, 3)),
              "t_w": np.zeros(3 * p)}
    out = ba.jacobian_output(result, {"n": n, "m": m, "p": p})
    assert out["rows"][:3] == [0, 15, 30] and out["rows"][-2:] == [435, 987133]
    assert out["cols"] == 2 * (list(range(11)) + [539, 540, 541, 23867]) + [55709]
    assert len(out["vals"]) == 31


@pytest.fixture(scope="module", params=("simple", "complicated"))
def hand(request):
    """A small random hand (V = 12, N = 5) and its residuals and Jacobians by JAX, once."""
    complicated = request.param == "complicated"
    input = ht.draw(np.random.default_rng(9), {"N": 5, "V": 12, "complicated": complicated,
                                                "mirrored": complicated})
    model = {k: (np.asarray(v) if k not in ("parents", "is_mirrored") else v)
             for k, v in input["data"]["model"].items()}
    corr = list(input["data"]["correspondences"])
    points = np.asarray(input["data"]["points"])
    triangles = np.asarray(model["triangles"]) if complicated else None
    us = jnp.asarray(input["us"]) if complicated else None
    theta = jnp.asarray(input["theta"])

    def f(th, u):
        return J.ht_residuals(th, u, model, corr, points, triangles)

    expected = {"residuals": jax.jit(f)(theta, us),
                "theta": jax.jit(jax.jacfwd(f))(theta, us)}
    if complicated:  # residual i's own u_i columns
        du = np.asarray(jax.jit(jax.jacfwd(f, argnums=1))(theta, us))       # (3N, N, 2)
        expected["u"] = np.stack([du[3 * i + j, i] for i in range(5) for j in range(3)])
    return input, expected


@pytest.mark.parametrize("method", EXACT)
def test_ht(method, hand):
    input, expected = hand
    close(run(method, "ht", "objective", input), expected["residuals"])
    jac = np.asarray(run(method, "ht", "jacobian", input))
    close(jac[:, -26:], expected["theta"])
    if "u" in expected:  # residual i's own u_i columns first
        assert jac.shape == (15, 28)
        close(jac[:, :2], expected["u"])
    else:
        assert jac.shape == (15, 26)


def test_every_default_workload_is_within_the_tools_bounds():
    # the bounds on work (DET_WORK, MAX_STEPS, ODE_WORK, ...) refuse only what is well past
    # GradBench's own workloads: each eval's sizes accept every one of them
    from difflab.gradbench.evals import EVALS
    from difflab.gradbench.workloads import WITH_WORKLOADS, inputs
    for mod in WITH_WORKLOADS:
        for _, input in inputs(mod):
            EVALS[mod.NAME].sizes(input)  # raises an InputError if over a bound
