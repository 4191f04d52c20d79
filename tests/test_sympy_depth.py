"""A deep expression gets room for SymPy's own recursion in to_sympy (up to
sympy_deep.MAX_DEPTH operations), or a ValueError naming its depth; from_sympy walks any depth."""

from __future__ import annotations

import math
import sys

import pytest
import sympy

import difflab as dl
from difflab.core import sympy_deep


def _chain(depth: int, f=dl.sin, x=None):
    e = x if x is not None else dl.variable("x")
    for _ in range(depth):
        e = f(e)
    return e


def test_a_1000_deep_chain_goes_to_sympy_and_back():
    expr = _chain(1000)
    limit = sys.getrecursionlimit()
    sym = dl.to_sympy(expr)
    assert sys.getrecursionlimit() == limit  # raised only around SymPy's own recursion
    assert sym.func is sympy.sin  # (SymPy's free_symbols, ==, str ... recurse over depth)
    back = dl.from_sympy(sym)
    assert back == expr
    want = 0.5
    for _ in range(1000):
        want = math.sin(want)
    assert dl.evaluate(back, {"x": 0.5}) == pytest.approx(want, rel=1e-14)


def test_an_error_of_a_deep_build_reaches_the_caller():
    deep = _chain(300, x=dl.variable("A") @ dl.variable("b"))
    with pytest.raises(ValueError, match=r"matmul: \(2, 3\) @ \(4,\)"):
        dl.to_sympy(deep, {"A": (2, 3), "b": (4,)})


def test_deeper_than_sympy_can_build_is_a_value_error_naming_the_depth():
    deep = _chain(sympy_deep.MAX_DEPTH + 1)
    with pytest.raises(ValueError, match=f"^to_sympy: the expression is "
                                         f"{sympy_deep.MAX_DEPTH + 1:,} operations deep; "
                                         f"SymPy evaluates .* at most "
                                         f"{sympy_deep.MAX_DEPTH:,} levels"):
        dl.to_sympy(deep)


def test_from_sympy_and_an_unevaluated_to_sympy_take_20000_levels():
    expr = _chain(20_000)
    with sympy.evaluate(False):  # SymPy's unevaluated build (the symbolic method's) recurses
        sym = dl.to_sympy(expr)  # over nothing: no depth limit
    back = dl.from_sympy(sym)
    assert back == expr and sympy_deep.depth_of(back) == 20_000
