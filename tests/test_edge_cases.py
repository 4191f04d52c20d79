"""Numerical edge cases, documented: what every method returns at overflow, log(0), the kinks,
0 ** 0, x ** y with x < 0, sqrt'(0), 0/0 ... as a table in docs/edge_cases.md; its second
section, the array cases, comes from tests/test_edge_cases_arrays.py (cells: edge_table.py).

The table is generated here. ``test_the_committed_table_is_current`` compares it with the
committed file; if they differ it rewrites the file and fails, so the table cannot drift from
what the code does (review the diff and commit it). The other tests state the rules the table
shows: IEEE propagation (nan, inf; never an exception), kinks and 0 ** y as JAX.
"""

import edge_table
import numpy as np
import pytest
import test_edge_cases_arrays as arrays
from edge_table import DOC
from edge_table import fmt as _fmt

# (expression, point, what it shows)
CASES = [
    ("exp(x)", {"x": 1000.0}, "overflow: f and f' are inf"),
    ("exp(x)", {"x": -1000.0}, "underflow: f and f' are 0"),
    ("exp(x) - exp(x)", {"x": 1000.0}, "inf - inf is nan; SymPy simplifies f to 0 first"),
    ("log(x)", {"x": 0.0}, "f = -inf, f' = 1/0 = inf"),
    ("log(x)", {"x": -1.0}, "outside the domain: f is nan, yet the rule 1/x gives -1"),
    ("log1p(x)", {"x": -1.0}, "f = -inf, f' = inf"),
    ("sqrt(x)", {"x": 0.0}, "f' = 1/(2 sqrt 0) = inf"),
    ("asin(x)", {"x": 1.0}, "the domain's edge: f' = inf"),
    ("1 / x", {"x": 0.0}, "f = inf, f' = -inf; finite differences: no finite f(0) to difference "
     "from (nan; central4 saw a huge finite slope)"),
    ("x / y", {"x": 0.0, "y": 0.0}, "0/0: f is nan; d/dx = 1/y = inf, d/dy = -x/y^2 = nan"),
    ("relu(x)", {"x": 0.0}, "kink: 0, as JAX"),
    ("abs(x)", {"x": 0.0}, "kink: sign(0) = 0 (stock jnp.abs gives 1; the jax method "
                           "computes x sign(x))"),
    ("max(x, y)", {"x": 1.0, "y": 1.0}, "tie: 1/2 to each, as jnp.maximum"),
    ("min(x, y)", {"x": 1.0, "y": 1.0}, "tie: 1/2 to each"),
    ("min(min(x, y), x)", {"x": 1.0, "y": 1.0}, "tie in a tie: 1/2 + 1/4 to x, 1/4 to y"),
    ("relu(z) * y", {"y": 1.0, "z": 0.0}, "kink inside a product"),
    ("x ** y", {"x": 0.0, "y": 0.0}, "0 ** 0 = 1; d/dx = 0 * 0 ** -1 = nan, d/dy = 0 (JAX)"),
    ("x ** y", {"x": 0.0, "y": 2.0}, "0 ** y is flat in y: d/dy = 0 (JAX), not log(0) * 0"),
    ("x ** y", {"x": -2.0, "y": 3.0}, "negative base: d/dx = 12, d/dy = log(-2) * -8 = nan"),
    ("x ** 3", {"x": -2.0}, "constant exponent: no log(x) term, so 12, not nan"),
    ("x ** 0.5", {"x": -1.0}, "negative base, fractional power: nan"),
    ("x ** 2", {"x": 0.0}, "0"),
    ("sigmoid(x)", {"x": 1000.0}, "no overflow: f = 1, f' = 0"),
    ("softplus(x)", {"x": 1000.0}, "no overflow: f = 1000, f' = 1"),
    ("tanh(x)", {"x": 1000.0}, "saturated: f' = 0"),
    # complex intermediates: float64 gives nan (a constant that is not real is nan)
    ("sqrt(-1) * x", {"x": 2.0}, "sqrt(-1) is nan in float64, not SymPy's I"),
    ("x * (-8) ** (1/3)", {"x": 2.0}, "a negative base to a fractional power: nan"),
    ("(-2) ** x", {"x": 2.0}, "d/dx = log(-2) * 4: nan, not the real part 2.77"),
    ("acos(log(-2)) / x", {"x": 2.0}, "f is nan, and so is f'"),
    ("max(x, sqrt(-1))", {"x": 2.0}, "max against nan: JAX's rule gives 0 (nan == max fails)"),
    # where SymPy's algebra would change the answer at 0, inf, nan
    ("x / x", {"x": 0.0}, "1/x - x/x^2 = inf - nan; SymPy simplifies f to 1 first"),
    ("x / x", {"x": np.inf}, "0 - inf/inf^2 = nan; SymPy simplifies f to 1 first"),
    ("sqrt(x * x)", {"x": 0.0}, "(x + x) / (2 sqrt(0)) = 0 * inf; SymPy writes f as abs(x)"),
    ("exp(x) * 0", {"x": 1000.0}, "f' = inf * 0 = nan; SymPy simplifies f to 0 first"),
    ("relu(x)", {"x": np.nan}, "JAX's select(x > 0, 1, 0) is 0 at nan"),
    ("max(x, y)", {"x": np.inf, "y": np.inf}, "a tie at inf: 1/2 each (inf - inf is nan)"),
    ("sqrt(x)", {"x": -0.0}, "1/(2 sqrt(-0)) = 1/-0 = -inf"),
    # the order of the chain rule's products (forward mode multiplies from the input side)
    ("atan(x * x)", {"x": 1e308}, "(1/(1 + inf)) (x + x) = 0 * inf in forward order, "
     "((1/(1 + inf)) x) 2 = 0 in reverse"),
]

# Where the truth (SymPy's evaluated algebra at 50 digits) differs from JAX, and why. Every
# such difference is listed here and in the table; symbolic keeps the IR's structure and
# differs from JAX only in the order of its products (FORWARD_ORDER).
TRUTH_DIFFERS = {
    ("exp(x) - exp(x)", 1000.0): "SymPy cancels f to 0 before any number is involved",
    ("x / x", 0.0): "SymPy simplifies x/x to 1",
    ("x / x", np.inf): "SymPy simplifies x/x to 1",
    ("sqrt(x * x)", 0.0): "SymPy writes sqrt(x^2) as abs(x), whose derivative is sign(0) = 0",
    ("exp(x) * 0", 1000.0): "SymPy simplifies exp(x) * 0 to 0",
    ("max(x, sqrt(-1))", 2.0): "SymPy cannot compare x with I: the truth refuses",
}
FORWARD_ORDER = {("atan(x * x)", 1e308)}  # forward mode and symbolic: nan; reverse, JAX: 0
# Forward mode keeps an exactly-zero tangent entry zero through an infinite factor (so that one
# direction's inf never shows in another's component): d(x*x) = 0 at 0, then sqrt' = inf gives
# 0, where JAX's and reverse mode's product 0 * inf is nan.
FORWARD_KEEPS_ZERO = {("sqrt(x * x)", 0.0)}


def results() -> list[tuple]:
    """(expression, point, f, {method: cell}, note) per scalar case."""
    return edge_table.results(CASES)


def table() -> str:
    """docs/edge_cases.md."""
    lines = [
        "# Numerical edge cases",
        "",
        "What each method returns at the edges of float64 and of the functions' domains:",
        "gradient components in variable order (`d/dx; d/dy`), to 6 digits. Generated by",
        "`tests/test_edge_cases.py`, which fails when this file differs from what the code",
        "does (and rewrites it: review the diff and commit it).",
        "",
        "The rules: float64 follows IEEE — overflow is inf, 0/0 and log of a negative are",
        "nan, and no method raises; at kinks and at 0 ** y every exact method does what JAX",
        "does (relu'(0) = 0, max and min split a tie 1/2 : 1/2), and abs'(0) = sign(0) = 0",
        "(stock `jnp.abs` gives 1 there in JAX 0.10; the `jax` method computes abs as",
        "x sign(x), same values, derivative 0 at 0). `truth` is SymPy",
        "at 50 digits, rounded once. `numeric` is the adaptive finite differences: near a",
        "singularity it reports a finite slope, or nan where its steps leave the domain or",
        "f(x) itself is not finite; `numeric:complex` refuses non-analytic functions.",
        "",
        "`symbolic` builds its SymPy expression unevaluated, the IR's computation node for",
        "node, and compiles the derivative to float64 code: a constant that is not real",
        "(`sqrt(-1)`, `log(-2)`) is nan, and x/x, exp(x) * 0 or sqrt(x * x) give JAX's answer.",
        "It differs from JAX only where the order of the chain rule's products matters, as",
        "forward mode does (`atan(x * x)` at 1e308). `truth` is SymPy's evaluated algebra: it",
        "simplifies before any number is involved, and differs from JAX at:",
        "",
        *[f"- `{text}` at {_fmt(at)}: {why}" for (text, at), why in TRUTH_DIFFERS.items()],
        "",
        *edge_table.table_lines(results()),
        "",
        *arrays.section(),
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def generated():
    return results()


def test_the_committed_table_is_current():
    text = table()
    old = DOC.read_text(encoding="utf-8") if DOC.exists() else None
    if old != text:
        DOC.parent.mkdir(exist_ok=True)
        DOC.write_text(text, encoding="utf-8")
    assert old == text, f"{DOC} was out of date and has been rewritten: review and commit it"


def _key(text, point):
    return (text, float(next(iter(point.values()))))


def test_no_method_raises_at_an_edge(generated):
    for text, point, _, cells, _ in generated:
        for method, cell in cells.items():
            if method == "truth" and "refuses" in TRUTH_DIFFERS.get(_key(text, point), ""):
                assert cell.startswith("refused: truth"), (text, cell)
            elif method != "numeric:complex":
                assert not cell.startswith("refused"), (text, point, method, cell)


def test_forward_and_reverse_agree_with_jax_everywhere(generated):
    for text, point, _, cells, _ in generated:
        for method in ("forward", "reverse"):
            if method == "forward" and _key(text, point) in FORWARD_ORDER:
                assert cells["forward"] == "nan" and cells["jax"] == "0", (text, cells)
                continue
            if method == "forward" and _key(text, point) in FORWARD_KEEPS_ZERO:
                assert cells["forward"] == "0" and cells["jax"] == "nan", (text, cells)
                continue
            assert cells[method] == cells["jax"], (text, point, method, cells)


def test_symbolic_agrees_with_jax_and_truth_except_where_listed(generated):
    for text, point, _, cells, _ in generated:
        key = _key(text, point)
        if key in FORWARD_ORDER:  # symbolic is forward mode's order of products
            assert cells["symbolic"] == cells["forward"], (text, cells)
        else:
            assert cells["symbolic"] == cells["jax"], (text, point, cells)
        if key in TRUTH_DIFFERS:  # each listed difference is real...
            assert cells["truth"] != cells["jax"], (text, point, cells)
        else:  # ...and every other case agrees
            assert cells["truth"] == cells["jax"], (text, point, cells)


def test_the_rules_the_table_shows(generated):
    by: dict = {}  # the first row of a key (-0.0 and 0.0 are one key)
    for text, point, _, cells, _ in generated:
        by.setdefault((text, tuple(point.values())), cells)
    assert by[("exp(x)", (1000.0,))]["reverse"] == "inf"
    assert by[("log(x)", (0.0,))]["forward"] == "inf"
    assert by[("relu(x)", (0.0,))]["reverse"] == "0"
    assert by[("abs(x)", (0.0,))]["symbolic"] == "0"
    assert by[("max(x, y)", (1.0, 1.0))]["forward"] == "0.5; 0.5"
    assert by[("min(min(x, y), x)", (1.0, 1.0))]["truth"] == "0.75; 0.25"
    assert by[("x ** y", (0.0, 0.0))]["reverse"] == "nan; 0"
    assert by[("x ** y", (0.0, 2.0))]["truth"] == "0; 0"
    assert by[("x ** y", (-2.0, 3.0))]["jax"] == "12; nan"
    assert by[("x ** 3", (-2.0,))]["numeric"] == "12"
    assert by[("sqrt(x)", (0.0,))]["reverse"] == "inf"
    assert by[("x / y", (0.0, 0.0))]["forward"] == "inf; nan"
    assert by[("abs(x)", (0.0,))]["numeric:complex"].startswith("refused: complex step")
