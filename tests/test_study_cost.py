"""Smoke tests of the cost_vs_inputs, jacobian_shape and expression_swell experiments.

Each experiment runs in-process at its QUICK sizes into a temporary results directory (once
per module), then builds its report section; the assertions are about what the experiment is
meant to show (reverse mode's flat cost, the crossover's direction, the tree outgrowing the
tape) and about the figures written. The hand-written truths the studies use are checked
against independent references first.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sympy

from difflab.lab import load
from difflab.lab.experiments import load_config, run_experiment
from difflab.lab.intervals import Interval, fmt
from difflab.lab.page import figure_parts
from difflab.lab.problems import get_problem
from difflab.studies import cost_vs_inputs, expression_swell, jacobian_crossing, jacobian_shape

PNG = b"\x89PNG\r\n\x1a\n"
STUDIES = {"cost_vs_inputs": cost_vs_inputs, "jacobian_shape": jacobian_shape,
           "expression_swell": expression_swell}


def _run(name: str, tmp_path_factory):
    root = tmp_path_factory.mktemp(name)
    path = run_experiment(name, quick=True, results=root / "results")
    config = load_config(name, quick=True)
    df = load(path)
    return config, df, STUDIES[name].section(df, config, root / "figures")


@pytest.fixture(scope="module")
def cost(tmp_path_factory):
    return _run("cost_vs_inputs", tmp_path_factory)


@pytest.fixture(scope="module")
def shape(tmp_path_factory):
    return _run("jacobian_shape", tmp_path_factory)


@pytest.fixture(scope="module")
def swell(tmp_path_factory):
    return _run("expression_swell", tmp_path_factory)


def _figures_ok(section, names):
    assert [p.name for p in section.figure_paths()] == names
    for path, caption, alt in map(figure_parts, section.figures):  # captioned, with alt text
        data = path.read_bytes()
        assert data.startswith(PNG) and len(data) > 20_000, path
        assert len(caption) > 40 and len(alt) > 40, path


# ---- the hand-written truths ---------------------------------------------------------------
def test_hand_gradient_matches_the_50_digit_truth():
    inst = get_problem("sum_nonlinear").instance({"n": 5}, seed=3)
    assert inst.truth_source == "sympy"
    truth = inst.truth("grad")
    hand = cost_vs_inputs.hand_gradient(inst.point, 5)
    for name, value in truth.items():
        assert hand[name] == pytest.approx(value, rel=1e-14, abs=1e-15), name


def test_hand_jacobian_matches_the_50_digit_truth():
    inst = get_problem("vector_family").instance({"n": 3, "m": 4}, seed=2)
    assert inst.truth_source == "sympy"
    hand = jacobian_shape.hand_jacobian(inst.point["x"], 3, 4)
    np.testing.assert_allclose(hand, inst.truth("jacobian")["x"], rtol=1e-14, atol=1e-15)


def test_prepare_hook_selects_jax_modes_and_refuses_unknown_ones():
    expr = get_problem("vector_family").build({"n": 2, "m": 3})
    for method, mode in (("jax:jacfwd", "forward"), ("jax:jacrev", "reverse")):
        prepared = jacobian_shape.prepare("jacobian", expr, ("x",), {"x": (2,)}, method)
        assert prepared.info["mode"] == mode
    with pytest.raises(ValueError, match="jax:jacfwd"):
        jacobian_shape.prepare("jacobian", expr, ("x",), {"x": (2,)}, "jax:sideways")


# ---- cost_vs_inputs ------------------------------------------------------------------------
def test_cost_cells_all_agree_with_the_hand_truth(cost):
    _, df, _ = cost
    cells = df[df["method"] != "baseline"]
    assert set(cells["outcome"]) == {"ok"}, cells[cells["outcome"] != "ok"]["message"].tolist()
    assert cells["checked"].all()


def test_reverse_stays_flat_while_finite_differences_grow(cost):
    config, df, _ = cost
    m = cost_vs_inputs.measured(df)
    top = max(m[m["method"] == "numeric"]["n"])
    at = m[m["n"] == top].set_index("method")["ratio"]
    assert at["reverse"] < at["numeric"] / 10          # ~16n evaluations against ~3-5 f
    table = cost_vs_inputs.table(df, config).set_index("method")
    assert table.loc["numeric", "slope ratio"] > 0.7     # ~n: slope 1 (noise allowed)
    assert abs(table.loc["reverse", "slope ratio"]) < 0.5  # flat in n


def test_operation_counts_are_exact(cost):
    _, df, _ = cost
    base = cost_vs_inputs.baselines(df)
    for n, b in base.iterrows():
        # the adaptive scheme's count at the point: f(x), two noise probes, 5 to 30 pairs of
        # steps per input (it was central4's 4n until the default became adaptive)
        assert b["ops_numeric"] == b["numeric_evaluations"] * b["f_ops"]
        assert 3 + 10 * n <= b["numeric_evaluations"] <= 3 + 60 * n
        assert 1.0 < b["ops_reverse"] / b["f_ops"] < 3.0     # a constant multiple of f
    ratio = base["ops_forward"] / base["f_ops"]
    assert ratio.iloc[-1] / ratio.iloc[0] > base.index[-1] / base.index[0] / 2  # ~n


def test_cost_section(cost):
    _, df, section = cost
    _figures_ok(section, ["cost_vs_inputs.png"])
    m = cost_vs_inputs.measured(df)
    r = m[m["method"] == "reverse"].iloc[-1]
    assert r["ratio_lo"] <= r["ratio"] <= r["ratio_hi"] and r["n_rep"] == 3
    ratio = fmt(r["ratio"], r["ratio_lo"], r["ratio_hi"], "×")      # printed with its interval
    assert f"{ratio} f at n = {int(r['n'])}" in section.findings
    assert {"numeric", "forward", "reverse"} <= set(section.table["method"])
    # the summary compares every method at one n, the largest all of them reached
    (column,) = {c for cells in section.summary.values() for c in cells}
    assert "at n = 4" in column and set(section.summary) == set(m["method"])


# ---- jacobian_shape ------------------------------------------------------------------------
def test_jacobian_cells_all_agree_with_the_hand_truth(shape):
    _, df, _ = shape
    assert set(df["outcome"]) == {"ok"}, df[df["outcome"] != "ok"]["message"].tolist()
    assert set(df["method"]) == {"forward", "reverse", "jax:jacfwd", "jax:jacrev"}


def test_crossover_direction(shape):
    _, df, _ = shape
    d = jacobian_shape.measured(df)
    a = d[d["method"] == "jax:jacfwd"].set_index("aspect")["t"]
    b = d[d["method"] == "jax:jacrev"].set_index("aspect")["t"]
    tall, wide = min(a.index), max(a.index)
    assert b[tall] / a[tall] > 1.0                          # m >> n: jacfwd wins
    assert b[tall] / a[tall] > 4 * b[wide] / a[wide]
    assert jacobian_shape.crossover(d, "jax:jacfwd", "jax:jacrev") is not None
    a = d[d["method"] == "forward"].set_index("aspect")["t"]
    b = d[d["method"] == "reverse"].set_index("aspect")["t"]
    assert b[wide] < a[wide]                                # n >> m: one sweep wins
    # difflab's reverse mode sweeps all m cotangents at once (one per output, m times, took
    # ~1000x longer at m = 1024 than at m = 1): its time no longer grows with m
    assert b[tall] < 20 * b[wide]


def _mode_lines(times: dict) -> pd.DataFrame:
    """measured()-like lines: per method, its medians at aspects 1/4, 1, 4 with three
    repeats 1% apart (so a 2% difference is a tie and 3x is not)."""
    rows = []
    for method, ts in times.items():
        for aspect, t in zip((0.25, 1.0, 4.0), ts, strict=True):
            rows.append({"method": method, "aspect": aspect, "t": t, "t_lo": 0.99 * t,
                         "t_hi": 1.01 * t, "samples": np.array([0.99, 1.0, 1.01]) * t})
    return pd.DataFrame(rows)


def test_a_crossover_is_reported_only_where_the_intervals_resolve_one():
    # forward faster, then a tie, then reverse faster: a crossing between 1/4 and 4
    d = _mode_lines({"forward": [1.0, 1.0, 3.0], "reverse": [3.0, 1.01, 1.0]})
    assert [v for _, v in jacobian_crossing.verdicts(d, "forward", "reverse")] == \
        ["forward", "tie", "reverse"]
    x = jacobian_crossing.crossover_interval(d, "forward", "reverse")
    assert x.finite and 0.25 < x.lo <= x.value <= x.hi < 4.0
    assert jacobian_crossing.crossing_text(d, "forward", "reverse").startswith(
        "the two cross at n/m")
    # ties, then reverse faster: the medians' ratio falls through 1 between 1/4 and 1, but
    # inside a tie, so no crossover is claimed and the text says where each wins
    d = _mode_lines({"forward": [1.0, 1.0, 3.0], "reverse": [1.01, 0.99, 1.0]})
    assert jacobian_shape.crossover(d, "forward", "reverse") is not None
    assert not jacobian_crossing.crossover_interval(d, "forward", "reverse").finite
    assert jacobian_crossing.crossing_text(d, "forward", "reverse") == (
        "no crossing resolved by the intervals: they tie (intervals overlap) at n/m from 1/4 "
        "to 1, reverse is faster at n/m = 4")
    said = [(0.25, "tie"), (1.0, "reverse"), (4.0, "tie"), (16.0, "tie")]
    # a crossover is printed as n/m is labelled, to two significant digits
    assert jacobian_crossing.aspect_fmt(Interval(1 / 500, 1 / 1600, 0.03, 6)) == \
        "1/500 (1/1600–1/33)"
    assert jacobian_crossing.aspect_fmt(Interval(0.6, 0.2, 1.4, 6)) == "0.6 (0.2–1.4)"
    assert jacobian_crossing.shape_ranges(said, "tie") == "n/m 1/4 and from 4 to 16"


def test_jacobian_section(shape):
    _, _, section = shape
    _figures_ok(section, ["jacobian_shape.png"])
    assert "forward [ms]" in section.table.columns
    assert "cross" in section.findings


# ---- expression_swell ----------------------------------------------------------------------
def test_tree_outgrows_the_tape(swell):
    _, df, _ = swell
    lg = expression_swell.logistic(df)
    # the tape: 3 forward + 3 backward entries per step of the map, exactly linear
    assert (lg["tape_length"] == 6 * (lg.index - 1)).all()
    raw = lg["sym_raw_ops"].astype(float)
    assert expression_swell.growth_per_step(raw) > 2.0     # exponential: > 2x per step
    top = lg.index.max()
    assert raw[top] > 100 * lg.loc[top, "tape_length"]
    assert lg.loc[top, "sym_cse_ops"] < raw[top] / 50       # CSE shares what the tree repeats
    assert lg.loc[top, "f_tree_nodes"] > 50 * lg.loc[top, "f_dag_nodes"]
    assert lg["naive_diff_s"].notna().sum() >= 2


def test_baydin_simplified_derivative_of_l4(swell):
    _, df, _ = swell
    lg = expression_swell.logistic(df)
    x = sympy.Symbol("x")
    simplified = sympy.sympify(lg.loc[4, "text_simplified"], locals={"x": x})
    # Baydin et al. 2018, table 1: d l_4/dx simplified
    baydin = 64 * (1 - 42 * x + 504 * x**2 - 2640 * x**3 + 7040 * x**4 - 9984 * x**5
                   + 7168 * x**6 - 2048 * x**7)
    assert sympy.expand(simplified - baydin) == 0
    assert lg.loc[2, "text_l"] == "4*x*(1 - x)"


def test_nested_compositions_swell_polynomially(swell):
    _, df, _ = swell
    nd = expression_swell.nested(df)
    for base, g in nd.groupby("base"):
        p = expression_swell.power_law(g["depth"], g["sym_raw_ops"])
        assert 1.3 < p < 2.3, base                           # ~d^2, not exponential
        assert expression_swell.power_law(g["depth"], g["tape_length"]) == \
            pytest.approx(1.0, abs=0.05)


def test_swell_section(swell):
    _, df, section = swell
    _figures_ok(section, ["expression_swell_sizes.png", "expression_swell_times.png"])
    assert list(section.table["n"][:4]) == [1, 2, 3, 4]
    lg = expression_swell.logistic(df)
    assert f"{int(lg['tape_length'].iloc[-1])} entries" in section.findings
    assert "l_4 = " in section.findings
