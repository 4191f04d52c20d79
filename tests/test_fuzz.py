"""Cross-method fuzzing, bounded: the array generator, the domain guards, a short seeded run,
hypothesis-drawn array expressions against JAX, and the fuzzer catching a planted bug.

``make fuzz`` runs the same checks for ten minutes; this file keeps ``make test`` under a
minute. The reference is the 50-digit truth for scalar variables, JAX for arrays; the
tolerance is ``difflab.lab.accuracy.tolerance(method, kind)``.
"""

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import array_expressions

import difflab as dl
from difflab import fuzz
from difflab.core import expr as ir
from difflab.core import ops as op_table
from difflab.fuzz.generate import (
    ARRAY_SHAPES,
    domain_margin,
    generate_arrays,
    kink_distance,
    random_array_point,
    random_shapes,
)

ROOT = Path(__file__).resolve().parents[1]


def _seeded_expressions(n, seed=11, size=8):
    rng = np.random.default_rng(seed)

    def choose(what, options):
        return options[int(rng.integers(len(options)))]

    for _ in range(n):
        shapes = random_shapes(rng)
        expr, shape = generate_arrays(choose, shapes, size)
        yield expr, shape, shapes, rng


def test_array_generator_covers_every_op_broadcasting_matmul_and_sharing():
    ops, mixed_shapes, shared, matmul_shapes = Counter(), 0, 0, set()
    for expr, shape, shapes, rng in _seeded_expressions(300):
        point = random_array_point(rng, {n: shapes[n] for n in expr.variables}, scale=3.0)
        value = dl.evaluate(expr, point)
        assert np.shape(value) == shape, dl.to_text(expr)       # the declared shape is right
        assert np.all(np.isfinite(value)), dl.to_text(expr)     # domain-safe at any point
        users = Counter()
        for node in ir.toposort(expr):
            ops[node.op] += 1
            users.update(id(a) for a in set(node.args))
            if len(node.args) == 2 and node.op not in op_table.PARAMETRIC:
                a, b = (np.shape(dl.evaluate(arg, {n: point[n] for n in arg.variables}))
                        for arg in node.args)
                mixed_shapes += node.op != "matmul" and a != b
                if node.op == "matmul":
                    matmul_shapes.add((a, b))
        shared += any(count > 1 for count in users.values())
    plan_only = {"select", "select_not"}  # where's halves: in plans, never in the IR
    assert set(op_table.OPS) - plan_only <= set(ops), set(op_table.OPS) - plan_only - set(ops)
    assert mixed_shapes > 100            # broadcasting between different shapes, often
    assert len(matmul_shapes) >= 5       # vector @ vector, matrix @ vector, matrix @ matrix...
    assert shared > 50                   # a DAG: subexpressions with several users


def test_an_empty_axis_is_indexed_by_slices_only():
    # A slice can leave an axis of length 0 (v[1:] of one entry); an integer index or a gather
    # of it has no index to draw: the generator indexes it with a slice and goes on.
    from difflab.fuzz.arrays import array_step

    empty = ir.variable("v")[1:]
    rng = np.random.default_rng(0)
    drawn = Counter()
    for op in ("gather", "index"):
        for _ in range(40):
            def choose(what, options, op=op):
                if what == "array op":
                    return op
                return options[int(rng.integers(len(options)))]
            node, shape = array_step(choose, [(empty, (0,))], empty, (0,), {"v": (1,)})
            got = dl.evaluate(node, {"v": np.array([2.0])})
            assert np.shape(got) == shape and got.size == 0
            drawn[node.op] += 1
    assert drawn and all(op != "gather" for op in drawn)


def test_a_new_axis_in_an_index_takes_no_axis_of_the_operand():
    # make fuzz stopped on v[None, -3] for v of shape (2, 3): the None had taken axis 0's
    # place, so the -3 drawn for axis 1 (length 3) met axis 0 (length 2)
    from difflab.fuzz.arrays import _index

    rng = np.random.default_rng(1)
    choose = lambda what, options: options[int(rng.integers(len(options)))]  # noqa: E731
    v = np.arange(6.0).reshape(2, 3)
    news = 0
    for _ in range(300):
        key = _index(choose, (2, 3))
        news += key.count(None)
        got = dl.evaluate(ir.variable("v")[key], {"v": v})
        np.testing.assert_array_equal(got, v[key])
    assert news > 30                     # new axes are drawn, before either axis


def test_the_array_menu_and_points():
    assert {(), (3,), (2, 3), (2, 1)} <= set(ARRAY_SHAPES)
    point = random_array_point(3, {"x": (), "M": (2, 3)})
    assert isinstance(point["x"], float) and point["M"].shape == (2, 3)
    assert np.all(np.abs(point["M"]) <= 1.5)


def test_domain_margin_and_kink_distance():
    assert domain_margin(dl.parse("tan(exp(z))"), {"z": 0.4540571583976749}) < 0.004
    assert domain_margin(dl.parse("tan(z)"), {"z": 3.0}) == pytest.approx(3.0 - np.pi / 2)
    assert domain_margin(dl.parse("log(z) + sqrt(z)"), {"z": 0.3}) == pytest.approx(0.3)
    assert domain_margin(dl.parse("log(z)"), {"z": -0.3}) < 0           # outside
    assert domain_margin(dl.parse("z ** 3 + asin(z)"), {"z": -0.3}) == pytest.approx(0.7)
    assert domain_margin(dl.parse("z ** y"), {"z": -0.3, "y": 2.0}) < 0  # a varying exponent
    assert domain_margin(dl.parse("x / y"), {"x": 1.0, "y": np.array([0.2, -0.1])}) == 0.1
    assert domain_margin(dl.parse("sin(x)"), {"x": 1.0}) == np.inf
    assert kink_distance(dl.parse("max(v, x) + relu(x)"),
                         {"v": np.array([0.5, 1.0]), "x": 0.8}) == pytest.approx(0.2)


def test_a_bounded_seeded_run_finds_no_disagreement():
    stats = fuzz.fuzz(seconds=None, max_rounds=10, seed=20261123, log=None)
    assert stats.expressions >= 8 and stats.method_cases >= 60
    assert not stats.disagreements, "\n".join(d.report() for d in stats.disagreements)
    assert "method-cases" in stats.summary()


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          derandomize=True)
@given(array_expressions(max_size=6), st.integers(0, 2**32 - 1))
def test_hypothesis_array_expressions_every_method_agrees_with_jax(drawn, seed):
    expr, shape, shapes = drawn
    shapes = {n: shapes[n] for n in expr.variables}
    if not shapes:
        return
    point = random_array_point(seed, shapes)
    root = expr if shape == () else dl.sum(expr)
    cases = [fuzz.Case(root, point, "grad")] + \
        ([fuzz.Case(expr, point, "jacobian")] if shape != () else [])
    for case in cases:
        found = fuzz.check(case, fuzz.FUZZ_METHODS, ref=fuzz.reference(case, use_truth=False))
        assert not found, "\n".join(d.report() for d in found)


def test_the_fuzzer_catches_a_planted_bug_shrinks_it_and_prints_a_reproducer(monkeypatch):
    # A derivative that is wrong by one part in a billion wherever tanh appears: far below
    # what a plot would show, far above the exact methods' tolerance of 1e-12.
    honest = fuzz.cross_check._derivative

    def planted(kind, case, method):
        got = honest(kind, case, method)
        if method == "reverse" and any(n.op == "tanh" for n in ir.toposort(case.expr)):
            got = {k: np.asarray(v) * (1 + 1e-9) for k, v in got.items()}
        return got

    monkeypatch.setattr(fuzz.cross_check, "_derivative", planted)
    x, v, M = dl.variables("x v M")
    expr = dl.sum(dl.sin(M @ v)) + dl.sum(dl.tanh(x * v)) * dl.exp(x)
    point = {"x": 0.7, "v": np.array([0.3, -1.1, 0.4]), "M": np.arange(6.0).reshape(2, 3) / 5}
    found = fuzz.check(fuzz.Case(expr, point, "grad"), ["forward", "reverse"])
    assert [d.method for d in found] == ["reverse"] and found[0].reference == "jax"
    small = fuzz.shrink(found[0])
    assert dl.size(small.case.expr).dag_nodes < dl.size(expr).dag_nodes
    assert "tanh" in dl.to_text(small.case.expr)
    report = small.report()
    assert report.startswith("DISAGREEMENT: reverse grad vs jax")
    text = report.split("expression: ")[1].split("\n")[0]
    shown = json.loads(report.split("point:      ")[1].split("\n")[0])
    assert dl.parse(text) == small.case.expr                         # the text reproduces it
    assert set(shown) == set(small.case.expr.variables)
    again = fuzz.check(fuzz.Case(dl.parse(text), {k: np.asarray(v) if isinstance(v, list) else v
                                                  for k, v in shown.items()}, "grad"),
                       ["reverse"])
    assert again and again[0].max_rho > 1e-10


def test_a_method_off_jax_but_on_the_truth_is_not_a_finding():
    # make fuzz FUZZ_SEED=20261209: sum(softmax(u, axis)) is 1 for every x, so its Hessian is
    # 0. JAX gave 1.76e-9 (u reaches 1200; its rounding), symbolic, forward and reverse 1e-12
    # or less; the 50-digit truth (over the reference's budget, within the arbiter's) 7e-24.
    # (The planted-bug test above is the other side: a method off both is still found.)
    expr = dl.parse("sum(softmax(square(2 * square(x @ transpose(1.7 * x))), axis=-2))")
    point = {"x": np.array([[-0.004077306066123221, 0.05110060698069874],
                            [-0.9972564635559262, -1.0673974498884502],
                            [-0.9511514811432282, 1.242424907464648]])}
    case = fuzz.Case(expr, point, "hessian")
    jax_h = dl.hessian(expr, point, method="jax")["x"]["x"]
    assert np.abs(jax_h).max() > 1e-10                     # JAX is off the exact 0 ...
    stats = fuzz.Stats()
    assert fuzz.check(case, ["symbolic", "forward", "reverse"], stats=stats) == []
    assert stats.skipped == {"jax off the truth, the method on it": 3}  # ... and they are not


def test_an_exception_on_valid_input_is_a_finding(monkeypatch):
    honest = fuzz.cross_check._derivative

    def broken(kind, case, method):
        if method == "forward":
            raise IndexError("planted")
        return honest(kind, case, method)

    monkeypatch.setattr(fuzz.cross_check, "_derivative", broken)
    found = fuzz.check(fuzz.Case(dl.parse("sin(x) * y"), {"x": 0.5, "y": 2.0}), ["forward"])
    assert found[0].outcome == "error" and "IndexError: planted" in found[0].message


def test_a_refusal_within_the_design_is_a_skip(monkeypatch):
    # make fuzz, run 3: symbolic refused a 15-node array expression, "too slow for symbolic:
    # ... ran past the time budget of 30 s" (SymPy's assumptions on exp/tanh of a large
    # argument, while building the expression). A budget refusal is the design's answer (the
    # lab records it as "unsupported"): counted as a skip, not a disagreement.
    from difflab.symbolic import SymbolicTooLarge

    honest = fuzz.cross_check._derivative

    def slow(kind, case, method):
        if method == "symbolic":
            raise SymbolicTooLarge("too slow for symbolic: ran past the time budget of 30 s")
        return honest(kind, case, method)

    monkeypatch.setattr(fuzz.cross_check, "_derivative", slow)
    stats = fuzz.Stats()
    case = fuzz.Case(dl.parse("sin(x) * y"), {"x": 0.5, "y": 2.0})
    assert fuzz.check(case, ["symbolic", "reverse"], stats=stats) == []
    assert stats.skipped == {"symbolic over its budget": 1} and stats.method_cases == 2


def test_make_fuzz_and_the_command(capsys):
    makefile = (ROOT / "Makefile").read_text()
    assert "FUZZ_SECONDS ?= 600" in makefile and "\nfuzz: install" in makefile
    assert "-m difflab.fuzz --seconds $(FUZZ_SECONDS)" in makefile
    assert fuzz.main(["--rounds", "2", "--seed", "5", "--seconds", "120"]) == 0
    out = capsys.readouterr().out
    assert "seed 5" in out and "expressions" in out and "method-cases" in out
