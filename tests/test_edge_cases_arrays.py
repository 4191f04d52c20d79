"""The array edge cases of docs/edge_cases.md (its second section, written by the generator in
tests/test_edge_cases.py): ties of max and min reductions, `where` at its boundary,
out-of-range indices and reductions over empty axes, for every method.

The tests state the rules the rows show: a tie splits the cotangent equally, as JAX; `where`
at its boundary takes the branch JAX takes; an out-of-range index is an error naming the index
and the shape in every method; an empty reduction has NumPy's value (or NumPy's refusal, for
max) in every method. Every difference from JAX is listed in SELECTS with its reason.
"""

import warnings

import edge_table
import numpy as np
import pytest
from jax_oracle import jax, jax_function

import difflab as dl

V3 = {"v": np.array([1.0, 2.0, 3.0])}
EMPTY = {"v": np.zeros(0)}
A20 = {"A": np.zeros((2, 0))}

# (expression, point, what it shows)
CASES = [
    # ties of a max (min) reduction: JAX shares the cotangent equally among the tied elements
    ("max(v)", {"v": np.array([1.0, 3.0, 3.0])}, "tie: 1/2 to each tied entry, as JAX"),
    ("sum(max(A, axis=0))", {"A": np.array([[1.0, 2.0], [3.0, 2.0]])},
     "a tie in column 1 only: 1/2 to each of its rows; column 0's max (3) takes 1"),
    ("min(v)", {"v": np.array([2.0, 1.0, 1.0])}, "min's tie: 1/2 each"),
    ("logsumexp(v)", {"v": np.array([1.0, 3.0, 3.0])},
     "the smooth max: softmax weights (e, e^3, e^3) / sum, no kink at the tie"),
    ("max(v)", {"v": np.array([2.0, 2.0, 2.0, 2.0])},
     "all equal: 1/n each; numeric 1/2 (a step up moves the max, a step down does not)"),
    ("max(v)", {"v": np.array([1.0, np.inf, np.inf])},
     "a tie at inf: 1/2 each (inf == max holds); numeric: inf - inf = nan"),
    # where at its boundary: the mask picks one branch; the other gets a zero cotangent
    ("where(x > 0, x, 0)", {"x": 0.0}, "x > 0 fails at 0: the false branch's derivative, 0 "
     "(JAX); numeric differences across the boundary (1/2)"),
    ("where(x > 0, sqrt(x), 0)", {"x": 0.0}, "the untaken sqrt'(0) = inf gets cotangent 0: "
     "0 * inf = nan in reverse and jax.grad; forward (as jax.jacfwd), symbolic, truth: 0"),
    ("where(x > 0, sqrt(x), 0)", {"x": -1.0}, "the untaken sqrt'(-1) = nan: 0 * nan = nan in "
     "reverse and jax.grad; 0 in forward (as jax.jacfwd), symbolic, truth"),
    ("sum(where(v >= 1, v, -v))", {"v": np.array([0.0, 1.0, 2.0])},
     "v >= 1 holds at 1: the true branch's 1, as JAX; numeric differences across the jump"),
    # out-of-range indices: an error naming the index and the shape, the same in every method
    ("v[5]", V3, "past the end: an error naming the index and the shape"),
    ("v[-4]", V3, "before the start: -4 of 3 entries"),
    ("sum(v[[0, 3]])", V3, "a gather with one index out of range"),
    # reductions over empty axes: NumPy's value and an empty gradient, or NumPy's refusal
    ("sum(v)", EMPTY, "the empty sum: 0; f' is an empty array"),
    ("mean(v)", EMPTY, "0 / 0 = nan, NumPy's value; f' empty"),
    ("prod(v)", EMPTY, "the empty product: 1; f' empty"),
    ("max(v)", EMPTY, "max has no identity: an error in every method, as in NumPy and JAX"),
    ("logsumexp(v)", EMPTY, "log of the empty sum: -inf; f' empty"),
    ("sum(sum(A, axis=1))", A20, "a sum over the axis of length 0: zeros(2), then 0"),
    ("sum(max(A, axis=0))", A20, "max over the axis of length 2 (of 0 columns): empty, no error"),
    ("sum(max(A, axis=1))", A20, "max over the axis of length 0: an error"),
]

# Where a method differs from JAX's gradient (jax.grad, reverse mode), and why. A `where`
# whose untaken branch has an infinite or nan derivative: reverse mode (ours and JAX's) sends
# that branch a zero cotangent and multiplies it by the branch's derivative, 0 * inf = nan;
# forward mode selects the taken branch's tangent and never multiplies the other (so does
# jax.jacfwd); symbolic and truth differentiate SymPy's Piecewise branch by branch and
# evaluate only the taken one. Neither answer is wrong: the function is 0 near x <= 0.
SELECTS = {
    ("where(x > 0, sqrt(x), 0)", "x=0"): "sqrt'(0) = inf in the untaken branch",
    ("where(x > 0, sqrt(x), 0)", "x=-1"): "sqrt'(-1) = nan in the untaken branch",
}
SELECTING = ("truth", "symbolic", "forward")  # the methods that give 0 there

# NumPy's value of each empty reduction (None: NumPy refuses, a zero-size max)
NUMPY_EMPTY = {
    "sum(v)": lambda p: np.sum(p["v"]), "mean(v)": lambda p: np.mean(p["v"]),
    "prod(v)": lambda p: np.prod(p["v"]), "max(v)": lambda p: np.max(p["v"]),
    "logsumexp(v)": lambda p: np.log(np.sum(np.exp(p["v"]))),
    "sum(sum(A, axis=1))": lambda p: np.sum(np.sum(p["A"], axis=1)),
    "sum(max(A, axis=0))": lambda p: np.sum(np.max(p["A"], axis=0)),
    "sum(max(A, axis=1))": lambda p: np.sum(np.max(p["A"], axis=1)),
}


def results() -> list[tuple]:
    """(expression, point, f, {method: cell}, note) per array case; errors as their class."""
    return edge_table.results(CASES, errors="class")


def section() -> list[str]:
    """The array section of docs/edge_cases.md."""
    return [
        "## Array cases",
        "",
        "Gradients flattened in row-major order, the shape after them unless a vector",
        "(`[] (2, 0)` is an empty 2 x 0 array); an error as its class and first clause, from",
        "`tests/test_edge_cases_arrays.py`. The rules: a tie of a max or min reduction shares",
        "the cotangent equally among the tied entries, as JAX (1/k each of k); `logsumexp`,",
        "the smooth max, has softmax weights and no kink; `where` at its boundary takes the",
        "derivative of the branch its mask picks, as JAX; an out-of-range index is a ValueError",
        "naming the index and the shape, the same in every method and in `evaluate`; an empty",
        "reduction has NumPy's value (sum 0, mean nan, prod 1, logsumexp -inf) and an empty",
        "gradient, and max or min over an empty axis, which has no identity, is the same",
        "ValueError in every method (NumPy and JAX refuse it too). `numeric` differences",
        "across a tie or a boundary, so it reports one-sided averages there; `numeric:complex`",
        "refuses max and min. A method differs from JAX (`jax.grad`) only at:",
        "",
        *[f"- `{text}` at {at}: {why}; reverse mode multiplies it by its zero cotangent "
          f"(nan), as JAX; forward mode, symbolic and truth give 0, as `jax.jacfwd`"
          for (text, at), why in SELECTS.items()],
        "",
        *edge_table.table_lines(results()),
    ]


@pytest.fixture(scope="module")
def generated():
    return results()


def _key(text, point):
    return (text, edge_table.at(point))


def test_every_method_agrees_with_jax_except_where_listed(generated):
    for text, point, _, cells, _ in generated:
        for method in ("truth", "symbolic", "forward", "reverse"):
            if _key(text, point) in SELECTS and method in SELECTING:
                assert cells[method] == "0" and cells["jax"] == "nan", (text, cells)
            else:
                assert cells[method] == cells["jax"], (text, point, method, cells)
    listed = {_key(text, point) for text, point, _, _, _ in generated}
    assert set(SELECTS) <= listed  # every listed difference is a row of the table


def test_ties_split_equally_as_jax(generated):
    by = {_key(text, point): cells for text, point, _, cells, _ in generated}
    for method in ("truth", "symbolic", "forward", "reverse", "jax"):
        assert by[("max(v)", "v=[1, 3, 3]")][method] == "[0, 0.5, 0.5]"
        assert by[("min(v)", "v=[2, 1, 1]")][method] == "[0, 0.5, 0.5]"
        assert by[("max(v)", "v=[2, 2, 2, 2]")][method] == "[0.25, 0.25, 0.25, 0.25]"
        assert by[("max(v)", "v=[1, inf, inf]")][method] == "[0, 0.5, 0.5]"
        assert by[("sum(max(A, axis=0))", "A=[1, 2, 3, 2] (2, 2)")][method] == \
            "[0, 0.5, 1, 0.5] (2, 2)"
    w = np.exp([1.0, 3.0, 3.0]) / np.sum(np.exp([1.0, 3.0, 3.0]))  # softmax, by hand
    assert by[("logsumexp(v)", "v=[1, 3, 3]")]["reverse"] == edge_table.fmt(w)
    assert by[("logsumexp(v)", "v=[1, 3, 3]")]["numeric:complex"] == edge_table.fmt(w)
    assert by[("max(v)", "v=[1, 3, 3]")]["numeric:complex"].startswith(
        "ValueError: complex step cannot differentiate reduce_max")


@pytest.mark.parametrize("x", [0.0, -1.0, 2.0])
def test_where_at_its_boundary_as_jax(x):
    # reverse mode is jax.grad, forward mode is jax.jacfwd (stock JAX, an independent oracle)
    f = dl.parse("where(x > 0, sqrt(x), 0)")
    g = jax_function(f, ["x"])
    assert np.array_equal(dl.grad(f, {"x": x}, method="reverse")["x"], jax.grad(g)(x),
                          equal_nan=True)
    assert np.array_equal(dl.grad(f, {"x": x}, method="forward")["x"], jax.jacfwd(g)(x),
                          equal_nan=True)
    if x <= 0:  # the two JAX modes differ exactly where SELECTS says
        assert np.isnan(jax.grad(g)(x)) and jax.jacfwd(g)(x) == 0.0
    f = dl.parse("sum(where(v >= 1, v, -v))")
    v = np.array([0.0, 1.0, 2.0])
    for method in ("symbolic", "forward", "reverse", "jax"):
        assert np.array_equal(dl.grad(f, {"v": v}, method=method)["v"], [-1.0, 1.0, 1.0])


@pytest.mark.parametrize("text, index", [("v[5]", "[5]"), ("v[-4]", "[-4]"),
                                         ("sum(v[[0, 3]])", "[[0, 3]]")])
def test_out_of_range_indices_name_the_index_and_the_shape(generated, text, index):
    (row,) = [r for r in generated if r[0] == text]
    want = f"ValueError: index {index} does not fit shape (3,)"
    assert row[2] == want and all(cell == want for cell in row[3].values()), row
    bad = index.strip("[]").split(", ")[-1]
    for method in edge_table.METHODS:
        with pytest.raises(ValueError, match="out of bounds for axis 0 with size 3") as err:
            edge_table.gradient(method, dl.parse(text), V3)
        assert not isinstance(err.value, IndexError), (method, err.value)
        assert f"index {bad} is" in str(err.value), (method, err.value)


def test_empty_reductions_agree_with_numpy(generated):
    rows = [r for r in generated if r[0] in NUMPY_EMPTY and next(iter(r[1].values())).size == 0]
    assert len(rows) == len(NUMPY_EMPTY)
    for text, point, f_value, cells, _ in rows:
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # "mean of empty slice"
                want = edge_table.fmt(NUMPY_EMPTY[text](point))
        except ValueError as err:  # NumPy refuses (a zero-size max): every method does too
            assert "zero-size array" in str(err)
            assert f_value.startswith("ValueError: max of shape"), (text, f_value)
            assert set(cells.values()) == {f_value}, cells
            continue
        assert f_value == want, (text, f_value, want)
        ((name, arr),) = point.items()
        for method in edge_table.METHODS:
            if cells[method].startswith("ValueError: complex step cannot"):
                assert method == "numeric:complex" and "max" in text, (text, method)
                continue  # complex step refuses max, empty or not
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                g = edge_table.gradient(method, dl.parse(text), point)[name]
            assert np.shape(g) == arr.shape, (text, method, g)
            assert cells[method] == edge_table.fmt(g), (text, method, cells)


# ---- zero-size inputs and outputs: empty derivatives of the right shapes, as JAX -------------
ZERO_SIZE = [
    ("x * 2", {"x": (0,)}),
    ("x", {"x": (2, 0)}),
    ("x * y", {"x": (0, 2), "y": ()}),
    ("A @ v + y", {"A": (2, 0), "v": (0,), "y": ()}),
    ("sum(x * x)", {"x": (0, 2)}),
    ("sum(x * x) * y + sum(A @ v) + y * y", {"A": (2, 0), "v": (0,), "x": (0,), "y": ()}),
]


def _close(got, want, method):
    assert np.shape(got) == np.shape(want), (np.shape(got), np.shape(want))
    tol = 1e-8 if method.startswith("numeric") else 0.0
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


@pytest.mark.parametrize("method", (*dl.METHODS, "numeric:central"))
@pytest.mark.parametrize("text, shapes", ZERO_SIZE, ids=[c[0] for c in ZERO_SIZE])
def test_zero_size_arrays_give_empty_derivatives_as_jax(method, text, shapes):
    f = dl.parse(text)
    names = list(f.variables)
    point = {n: np.linspace(0.5, 1.5, int(np.prod(shapes[n]))).reshape(shapes[n])
             if shapes[n] else 1.5 for n in names}
    args = [np.asarray(point[n], dtype=float) for n in names]
    g, argnums = jax_function(f, names), tuple(range(len(names)))
    v = {n: np.full(shapes[n], -0.5) if shapes[n] else -0.5 for n in names}
    out, pullback = jax.vjp(g, *args)
    u = np.full(np.shape(out), 2.0)
    jac = dl.jacobian(f, point, method=method)
    for name, want in zip(names, jax.jacfwd(g, argnums=argnums)(*args), strict=True):
        _close(jac[name], want, method)
    _close(dl.jvp(f, point, v, method=method),
           jax.jvp(g, tuple(args), tuple(np.asarray(v[n]) for n in names))[1], method)
    got = dl.vjp(f, point, u if np.shape(out) else 2.0, method=method)
    for name, want in zip(names, pullback(u), strict=True):
        _close(got[name], want, method)
    if np.shape(out) != ():
        return
    grad = dl.grad(f, point, method=method)
    for name, want in zip(names, jax.grad(g, argnums=argnums)(*args), strict=True):
        _close(grad[name], want, method)
    hess = dl.hessian(f, point, method=method)
    for a, row in zip(names, jax.hessian(g, argnums=argnums)(*args), strict=True):
        for b, want in zip(names, row, strict=True):
            _close(hess[a][b], want, method)
    got = dl.hvp(f, point, v, method=method)
    want = jax.jvp(jax.grad(g, argnums=argnums), tuple(args),
                   tuple(np.asarray(v[n]) for n in names))[1]
    for name, w in zip(names, want, strict=True):
        _close(got[name], w, method)
