"""to_sympy names an array's elements name_i_j: a name that is another variable's is refused
with a ValueError naming both, never merged into one SymPy symbol."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

import difflab as dl


@pytest.mark.parametrize("expr, shapes, names, symbol", [
    (dl.variable("x_0") * dl.sum(dl.variable("x")), {"x": (2,)},
     ("element x[0] of array variable 'x'", "variable 'x_0'"), "x_0"),
    (dl.variable("A_0_1") + dl.sum(dl.variable("A")), {"A": (2, 2)},
     ("variable 'A_0_1'", "element A[0, 1] of array variable 'A'"), "A_0_1"),
    (dl.sum(dl.variable("x_0")) + dl.sum(dl.variable("x")), {"x": (2, 2), "x_0": (2,)},
     ("element x[0, 0] of array variable 'x'", "element x_0[0] of array variable 'x_0'"),
     "x_0_0"),
])
def test_names_that_would_merge_two_variables_are_refused(expr, shapes, names, symbol):
    with pytest.raises(ValueError) as caught:
        dl.to_sympy(expr, shapes)
    message = str(caught.value)
    first, second = sorted(names, key=message.find)
    assert message.startswith(f"to_sympy: {first} and {second} would both be the SymPy "
                              f"symbol {symbol!r}") and "rename one" in message
    # the symbolic method names its inputs apart: its gradient is right all along
    point = {name: np.arange(1.0, 1.0 + np.prod(shape)).reshape(shape) if shape else 0.5
             for name, shape in {**{v: () for v in expr.variables}, **shapes}.items()}
    want = dl.grad(expr, point, method="forward")
    got = dl.grad(expr, point, method="symbolic")
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-14)


def test_names_that_do_not_collide_still_work_and_round_trip():
    x, y = dl.variable("x"), dl.variable("x_2")
    out = dl.to_sympy(y * dl.sum(x), {"x": (2,)})
    x0, x1, x2 = sympy.symbols("x_0 x_1 x_2", real=True)
    assert out == x2 * (x0 + x1)
    back = dl.from_sympy(out)  # the elements come back as scalar variables of those names
    assert sorted(back.variables) == ["x_0", "x_1", "x_2"]
    assert dl.evaluate(back, {"x_0": 1.0, "x_1": 2.0, "x_2": 3.0}) == \
        dl.evaluate(y * dl.sum(x), {"x": np.array([1.0, 2.0]), "x_2": 3.0}) == 9.0
    assert dl.to_sympy("x_0 + x") == sympy.Symbol("x", real=True) + x0  # scalars: as ever
