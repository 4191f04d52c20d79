"""The SymPy bridge: IR -> SymPy -> IR, arrays as matrices of scalar symbols; the array ops
(indexing, reductions with ties, the stable softmax family, where) in SymPy and back."""

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from strategies import expressions

import difflab as dl
from difflab.core import arrays as arrays_mod
from difflab.core import ops
from difflab.fuzz.generate import random_point


def test_scalars_map_to_sympy_functions():
    x, y = sympy.symbols("x y", real=True)
    assert dl.to_sympy(dl.parse("sin(x) * exp(y) + x**2")) == sympy.sin(x) * sympy.exp(y) + x**2
    assert dl.to_sympy(dl.parse("2 * pi")) == 2 * sympy.pi
    assert dl.to_sympy(dl.parse("x / 4")) == x / 4  # integers stay exact


def test_arrays_become_symbols_named_by_index():
    out = dl.to_sympy(dl.parse("sum(W @ v)"), {"W": (2, 2), "v": (2,)})
    names = sorted(s.name for s in out.free_symbols)
    assert names == ["W_0_0", "W_0_1", "W_1_0", "W_1_1", "v_0", "v_1"]
    arr = dl.to_sympy(dl.parse("W * v + 1"), {"W": (2, 2), "v": (2,)})
    assert isinstance(arr, sympy.Array) and arr.shape == (2, 2)
    assert arr[1, 0] == sympy.Symbol("W_1_0", real=True) * sympy.Symbol("v_0", real=True) + 1


@pytest.mark.parametrize("op", sorted(set(ops.UNARY) - {"sum", "mean", "transpose"}))
def test_every_unary_op_evaluates_like_numpy_through_sympy(op):
    expr = arrays_mod.BUILDERS[op](dl.variable("x"))
    value = 0.3
    sym = dl.to_sympy(expr)
    got = float(sym.evalf(30, subs={sympy.Symbol("x", real=True): value}))
    assert got == pytest.approx(dl.evaluate(expr, {"x": value}), rel=1e-14)


def test_bridge_shape_errors_name_shapes():
    with pytest.raises(ValueError, match=r"matmul: \(2, 3\) @ \(4,\)"):
        dl.to_sympy(dl.parse("A @ b"), {"A": (2, 3), "b": (4,)})


@settings(max_examples=60, deadline=None)
@given(expressions(max_size=6, domain_safe=True))
def test_round_trip_through_sympy_keeps_the_value(expr):
    back = dl.from_sympy(dl.to_sympy(expr))
    assert set(back.variables) <= set(expr.variables)
    point = random_point(1, expr.variables)
    want = dl.evaluate(expr, point)
    got = dl.evaluate(back, {k: point[k] for k in back.variables})
    assert got == pytest.approx(want, rel=1e-9, abs=1e-12)


def test_from_sympy_refuses_what_the_grammar_cannot_say():
    with pytest.raises(ValueError, match="cannot express"):
        dl.from_sympy(sympy.gamma(sympy.Symbol("x")))


def test_from_sympy_maps_powers_and_negation():
    x = sympy.Symbol("x")
    back = dl.from_sympy(1 / sympy.sqrt(x) - x)
    assert dl.evaluate(back, {"x": 4.0}) == pytest.approx(0.5 - 4.0)
    assert np.isclose(dl.evaluate(dl.from_sympy(sympy.Max(x, 1, -x)), {"x": 3.0}), 3.0)


# ---- the array ops ---------------------------------------------------------------------
def test_to_sympy_of_the_array_ops():
    x0, x1, x2 = sympy.symbols("x_0 x_1 x_2", real=True)
    x, A = dl.variables("x A")
    assert dl.to_sympy(x[::2], {"x": (3,)}) == sympy.Array([x0, x2])
    assert dl.to_sympy(x[[2, 0, 2]], {"x": (3,)}) == sympy.Array([x2, x0, x2])
    assert dl.to_sympy(dl.prod(x), {"x": (3,)}) == x0 * x1 * x2
    lse = dl.to_sympy(dl.logsumexp(x), {"x": (3,)})
    p1 = sympy.diff(lse, x1)  # the softmax, shifted by the max: exp(x_1 - m) / sum exp(x - m)
    assert float(p1.evalf(30, subs={x0: 1000, x1: 1001, x2: 999})) == pytest.approx(
        1 / (1 + np.exp(-1) + np.exp(-2)), rel=1e-15)
    assert not p1.has(sympy.exp(x1))
    assert lse.rewrite(sympy.exp) == sympy.log(sympy.exp(x0) + sympy.exp(x1) + sympy.exp(x2))
    assert float(lse.evalf(30, subs={x0: 1000, x1: 1001, x2: 999})) == pytest.approx(
        1001 + np.log(1 + np.exp(-1) + np.exp(-2)), rel=1e-15)
    m = dl.to_sympy(dl.max(x), {"x": (3,)})
    assert float(m.subs({x0: 1, x1: 3, x2: 2})) == 3.0
    assert [float(sympy.diff(m, v).subs({x0: 3, x1: 3, x2: 2})) for v in (x0, x1, x2)] == \
        [0.5, 0.5, 0.0]
    arr = dl.to_sympy(dl.sum(A, axis=0, keepdims=True), {"A": (2, 2)})
    assert arr.shape == (1, 2)
    assert arr[0, 1] == sympy.Symbol("A_0_1", real=True) + sympy.Symbol("A_1_1", real=True)
    a, b = sympy.symbols("a b", real=True)
    w = dl.to_sympy(dl.where(dl.variable("a") < dl.variable("b"), dl.variable("a"), 2.0))
    assert w.subs({a: 1, b: 2}) == 1 and w.subs({a: 3, b: 2}) == 2
    assert float(w.evalf(subs={a: 0.25, b: 0.5})) == 0.25


def test_from_sympy_round_trips_the_scalar_array_ops():
    x, y, z = dl.variables("x y z")
    exprs = [dl.where(x < y, x * y, z), (x >= y) + dl.equal(x, z) - dl.not_equal(y, z),
             dl.max(dl.stack(
        [x, y, z])), dl.logsumexp(dl.stack([x, y, z])), dl.min(dl.stack([x, y * 2.0]))]
    for values in ({"x": 1.0, "y": 2.0, "z": 0.5}, {"x": 2.0, "y": 2.0, "z": 2.0}):
        for f in exprs:
            point = {name: values[name] for name in f.variables}
            back = dl.from_sympy(dl.to_sympy(f))
            assert dl.evaluate(back, point) == pytest.approx(dl.evaluate(f, point), rel=1e-15)
            assert dl.grad(back, point, method="reverse") == pytest.approx(
                dl.grad(f, point, method="reverse"), rel=1e-15)  # ties split alike


def test_from_sympy_of_a_softmax_keeps_its_value_and_gradient():
    x = dl.variable("x")
    w = np.array([1.0, -2.0, 0.5])
    f = dl.sum(dl.softmax(x) * w) + dl.sum(dl.log_softmax(x) * w)
    back = dl.from_sympy(dl.to_sympy(f, {"x": (3,)}))
    names = sorted(back.variables)
    assert names == ["x_0", "x_1", "x_2"]
    for values in ([0.3, -1.2, 0.8], [1000.0, 1001.0, 999.0]):
        point = {name: v for name, v in zip(names, values, strict=True)}
        assert dl.evaluate(back, point) == pytest.approx(
            dl.evaluate(f, {"x": np.array(values)}), rel=1e-13)
        got = dl.grad(back, point, method="reverse")
        want = dl.grad(f, {"x": np.array(values)}, method="reverse")["x"]
        np.testing.assert_allclose([got[n] for n in names], want, rtol=1e-12, atol=1e-15)


def test_bridge_errors_name_the_shape_and_the_index():
    x, A = dl.variables("x A")
    with pytest.raises(ValueError, match=r"index \[5\] does not fit shape \(3,\)"):
        dl.to_sympy(x[5], {"x": (3,)})
    with pytest.raises(ValueError, match="axis 2 is out of bounds"):
        dl.to_sympy(dl.sum(A, axis=2), {"A": (2, 3)})
    with pytest.raises(ValueError, match=r"reshape: cannot reshape .* \(2, 3\)"):
        dl.to_sympy(dl.reshape(A, (4, 2)), {"A": (2, 3)})
    with pytest.raises(ValueError, match="cannot express"):
        dl.from_sympy(sympy.Piecewise((1, sympy.Symbol("x") > 0), (0, True)))
    with pytest.raises(ValueError, match=r"a scalar SymPy expression, not an array of shape "
                                         r"\(2,\)"):
        dl.from_sympy(dl.to_sympy(x[:2], {"x": (3,)}))
