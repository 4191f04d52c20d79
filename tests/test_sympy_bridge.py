"""The SymPy bridge: IR -> SymPy -> IR, arrays as matrices of scalar symbols."""

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
