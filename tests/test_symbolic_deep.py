"""symbolic without depth limits: deep but small expressions differentiate and compile.

Euler's method with 1,000 steps (depth 3,000), Rosenbrock written with Python's sum() at
n = 1,000 (a chain of 1,000 additions), chains 1,500 functions deep. References: the chain
rule written out by hand as a NumPy recurrence, and reverse mode (the tape), per component
within rho = |a - b| / max(1, |a| + |b|) <= 1e-12. The size and time budget still refuse.
"""

import time

import numpy as np
import pytest

import difflab as dl
from difflab import symbolic

TOL = 1e-12
H = 0.01


def rho(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(a) + np.abs(b)), initial=0.0))


def euler(steps: int):
    """x_{k+1} = x_k + h sin(x_k), from x_0 = x."""
    x = dl.variable("x")
    e = x
    for _ in range(steps):
        e = e + H * dl.sin(e)
    return e


def euler_by_hand(x0: float, steps: int) -> tuple[float, float]:
    """(d x_n / d x_0, d2 x_n / d x_0^2): with g(x) = x + h sin x, d_{k+1} = g'(x_k) d_k and
    s_{k+1} = g''(x_k) d_k^2 + g'(x_k) s_k."""
    x, d, s = x0, 1.0, 0.0
    for _ in range(steps):
        g1, g2 = 1.0 + H * np.cos(x), -H * np.sin(x)
        x, d, s = x + H * np.sin(x), g1 * d, g2 * d * d + g1 * s
    return d, s


def rosenbrock_sum(n: int):
    """Rosenbrock as a user writes it, with Python's sum(): a chain of n - 1 additions."""
    x = [dl.variable(f"x{i:04d}") for i in range(n)]
    return sum(100.0 * (x[i + 1] - x[i] ** 2.0) ** 2.0 + (1.0 - x[i]) ** 2.0
               for i in range(n - 1)), [f"x{i:04d}" for i in range(n)]


def rosenbrock_grad_by_hand(v: np.ndarray) -> np.ndarray:
    g = np.zeros_like(v)
    r = v[1:] - v[:-1] ** 2
    g[:-1] += -400.0 * v[:-1] * r - 2.0 * (1.0 - v[:-1])
    g[1:] += 200.0 * r
    return g


def test_euler_with_1000_steps_differentiates_symbolically():
    f = euler(1000)
    start = time.perf_counter()
    prepared = symbolic.prepare(f, ("x",), {"x": ()})
    assert time.perf_counter() - start < symbolic.TIME_BUDGET
    assert prepared.info["depth"] == 3000          # was refused: "depth 3,000 (limit 200)"
    for x0 in (0.7, -2.1, 3.0):
        got = prepared({"x": x0})["x"]
        assert rho(got, euler_by_hand(x0, 1000)[0]) <= TOL, x0
        assert rho(got, dl.grad(f, {"x": x0}, method="reverse")["x"]) <= TOL, x0


def test_euler_hessian_through_300_steps():
    f = euler(300)
    hessian = symbolic.prepare_hessian(f, ("x",), {"x": ()})
    for x0 in (0.7, -2.1):
        assert rho(hessian({"x": x0})["x"]["x"], euler_by_hand(x0, 300)[1]) <= TOL, x0


def test_rosenbrock_with_python_sum_at_n_1000():
    f, names = rosenbrock_sum(1000)
    v = np.random.default_rng(7).uniform(-1.5, 1.5, size=1000)
    point = dict(zip(names, v.tolist(), strict=True))
    prepared = symbolic.prepare(f, tuple(names), {n: () for n in names})
    assert prepared.info["depth"] >= 1000
    got = prepared(point)
    assert rho([got[n] for n in names], rosenbrock_grad_by_hand(v)) <= TOL
    tape = dl.grad(f, point, method="reverse")
    assert rho([got[n] for n in names], [tape[n] for n in names]) <= TOL


def test_a_chain_1500_functions_deep_of_every_kind():
    # Each link uses a different rule: functions, a power, a division, max and relu kinks.
    x = dl.variable("x")
    e = x
    links = [lambda e: dl.tanh(e) * 1.1, lambda e: dl.log1p(e * e) + e,
             lambda e: dl.sqrt(e * e + 1.0) - 0.5, lambda e: e / (1.0 + 0.1 * e * e),
             lambda e: dl.max(e, 0.2 * e) + dl.relu(e) * 0.1, lambda e: (e * e + 0.5) ** 0.5]
    for k in range(1500):
        e = links[k % len(links)](e)
    assert symbolic.prepare(e, ("x",), {"x": ()}).info["depth"] > 4000
    for x0 in (0.3, -0.8):
        got = symbolic.grad(e, {"x": x0})["x"]
        want = dl.grad(e, {"x": x0}, method="reverse")["x"]
        assert abs(got - want) <= TOL * abs(want), (x0, got, want)  # relative: it is ~1e-187


def test_a_sum_of_many_terms_in_one_node():
    # dl.sum over 3,000 elements is one SymPy Add of 3,000 arguments: written in chunks,
    # since Python's compiler recurses over a chain of 3,000 operators.
    v = dl.variable("v")
    values = np.linspace(-2.0, 2.0, 3000)
    g = symbolic.grad(dl.sum(dl.sin(v) * v), {"v": values})["v"]
    np.testing.assert_allclose(g, np.sin(values) + values * np.cos(values), rtol=TOL, atol=0)
    assert dl.grad(dl.sum(v), {"v": values}, method="symbolic")["v"].tolist() == [1.0] * 3000


def test_variable_names_never_reach_the_generated_code():
    # Names of the program's own locals and modules, as variables: still just inputs.
    names = ("np", "out", "template", "a", "a0", "t0", "c0", "f0", "program")
    xs = dl.variables(" ".join(names))
    f = xs[0]
    for k, v in enumerate(xs[1:]):
        f = f * v + float(k)
    point = {n: 1.0 + 0.1 * k for k, n in enumerate(names)}
    got = symbolic.grad(dl.sin(f), point)
    want = dl.grad(dl.sin(f), point, method="reverse")
    assert got.keys() == want.keys()
    assert rho(list(got.values()), list(want.values())) <= TOL


def test_the_budget_is_size_and_time_not_depth():
    f = euler(1000)
    with pytest.raises(symbolic.SymbolicTooLarge, match="too slow for symbolic"):
        symbolic.prepare(f, ("x",), {"x": ()}, time_budget=0.0)
    with pytest.raises(symbolic.SymbolicTooLarge, match=r"too large for symbolic: the "
                                                        r"expression has 4,001 nodes \(limit "
                                                        r"1,000\)"):
        symbolic.prepare(f, ("x",), {"x": ()}, max_nodes=1000)
    with pytest.raises(TypeError, match="max_depth"):  # no such option any more
        symbolic.prepare(f, ("x",), {"x": ()}, max_depth=10)


def test_derivative_expr_still_refuses_what_sympy_cannot_print():
    # derivative_expr returns an evaluated SymPy expression for a reader; SymPy's evaluation
    # and printing recurse over depth, so it keeps a depth limit (and says why).
    with pytest.raises(symbolic.SymbolicTooLarge, match=r"too deep for symbolic's "
                                                        r"derivative_expr: depth 3,000"):
        symbolic.derivative_expr(euler(1000), "x")


def test_the_program_compiles_any_sympy_function():
    # Functions outside the program's table (Max, erf) are compiled one level deep by
    # lambdify; constants fold in float64 (log(-2) is nan, never complex).
    import math

    import sympy

    from difflab.symbolic import straight_line

    x = sympy.Symbol("x", real=True)
    with sympy.evaluate(False):
        exprs = [sympy.Max(x, 2) + sympy.erf(x), sympy.log(-2) * x, x * sympy.I]
    fn, stats = straight_line([x], exprs)
    got = fn([np.float64(0.5)])
    assert got[0] == pytest.approx(2 + math.erf(0.5), rel=1e-15)
    assert np.isnan(got[1]) and np.isnan(got[2])
    assert not stats["python_floats"]
