"""Timing sweeps: repeats, intervals that hold from one run to the next, limits that cut a
curve, SymPy loaded before the first symbolic cell, the summary's like-with-like columns.

The central test runs a small timing study (the Jacobian-shape sweep at n·m = 256, forward
and reverse mode, six repeats each) twice, one run after the other, and checks that the cells'
two medians have overlapping intervals — what two consecutive ``make report`` runs must show —
and so do the two runs' ratios t(reverse)/t(forward), all but a stated few (95% intervals on a
shared machine miss now and then).
"""

from __future__ import annotations

import pandas as pd

from difflab.lab import Cell, Run, Settings, load, read_rows, run_sweep
from difflab.lab.repeats import limit_note, per_cell
from difflab.lab.report import Section, _summary
from difflab.studies import jacobian_shape

FAKES = dict(problems="lab_fakes:get_problem", prepare="lab_fakes:prepared",
             min_time=0.001, samples=3, max_time=0.02, time_primal=False, preload=())
# Each run in a fresh worker process, as each `make report` is a fresh process: two runs in
# one process differ by that process's history (its allocator's state) as well.
SMALL = {"product": 256, "step": 2, "methods": ["forward", "reverse"], "seed": 0,
         "isolate": True, "repeats": 6, "min_time": 0.0005, "samples": 9, "max_time": 0.03}


def _study_run(tmp_path, run_id: str) -> pd.DataFrame:
    with Run.create(tmp_path, run_id=run_id, config=SMALL) as run:
        jacobian_shape.run(SMALL, run, Settings(preload=()))  # no JAX cells: no JAX warm-up
    return jacobian_shape.measured(load(tmp_path / run_id))


def test_a_timing_study_run_twice_gives_overlapping_intervals(tmp_path):
    first, second = _study_run(tmp_path, "first"), _study_run(tmp_path, "second")
    assert len(first) == len(second) == 10                 # 5 shapes x 2 methods
    assert (first["n_rep"] == 6).all() and (second["n_rep"] == 6).all()
    both = first.merge(second, on=["method", "n"], suffixes=("_1", "_2"))
    # 95% intervals on a shared machine: a pair may miss by chance (or a load spike), so the
    # test asserts the rate: at least 8 of the 10 cells and 4 of the 5 ratios overlap
    missed = []
    for _, cell in both.iterrows():
        assert cell["t_lo_1"] <= cell["t_1"] <= cell["t_hi_1"]
        if not (cell["t_lo_1"] <= cell["t_hi_2"] and cell["t_lo_2"] <= cell["t_hi_1"]):
            missed.append((cell["method"], cell["n"],
                           cell[["t_lo_1", "t_hi_1", "t_lo_2", "t_hi_2"]].tolist()))
    assert len(missed) <= 2, missed
    q1 = jacobian_shape.ratio_intervals(first, "forward", "reverse").set_index("aspect")
    q2 = jacobian_shape.ratio_intervals(second, "forward", "reverse").set_index("aspect")
    assert list(q1.index) == list(q2.index) == [1 / 256, 1 / 16, 1, 16, 256]
    missed = []
    for aspect in q1.index:
        (r1, lo1, hi1), (r2, lo2, hi2) = q1.loc[aspect], q2.loc[aspect]
        assert lo1 <= r1 <= hi1 and lo2 <= r2 <= hi2
        if not (lo1 <= hi2 and lo2 <= hi1):
            missed.append((aspect, q1.loc[aspect].tolist(), q2.loc[aspect].tolist()))
    assert len(missed) <= 1, missed


def test_repeats_are_passes_that_retime_the_prepared_derivative(tmp_path):
    cells = [Cell("rep", "square", {"n": n}, "fake:exact") for n in (1, 2, 3)]
    with Run.create(tmp_path, run_id="rep") as run:
        counts = run_sweep(cells, run, Settings(**FAKES), isolate=False, progress=False,
                           repeats=3)
    rows = read_rows(tmp_path / "rep" / "rows.jsonl")
    assert counts == {"ok": 9} and len({r["cell_id"] for r in rows}) == 9
    assert [(r["rep"], r["params"]["n"]) for r in rows] == \
        [(rep, n) for rep in range(3) for n in (1, 2, 3)]      # pass after pass
    assert rows[0]["cell_id"] == cells[0].cell_id            # repeat 0 keeps the cell's id
    again = [r for r in rows if r["rep"]]
    assert all(r["prepared_by"] == 0 and "prepare_s" not in r and r["time_min"] > 0
               for r in again)
    assert all(r["info"] == rows[0]["info"] for r in again[::3])
    lines = per_cell(load(tmp_path / "rep"))
    assert list(lines["n_rep"]) == [3, 3, 3]
    assert (lines["lo"] <= lines["median"]).all() and (lines["median"] <= lines["hi"]).all()


def test_a_limit_that_cuts_a_curve_is_named(tmp_path):
    cells = [Cell("cut", "square", {"n": n}, m) for n in (2, 4, 8)
             for m in ("fake:hang_big", "fake:exact")]
    settings = Settings(**FAKES, time_limit=1.5)
    with Run.create(tmp_path, run_id="cut") as run:
        run_sweep(cells, run, settings, progress=False, repeats=2)
    df = load(tmp_path / "cut")
    outcomes = df.groupby(["method", "params.n", "rep"])["outcome"].first().to_dict()
    assert outcomes[("fake:hang_big", 4, 0)] == "timeout"
    assert outcomes[("fake:hang_big", 4, 1)] == outcomes[("fake:hang_big", 8, 0)] == "skipped"
    assert limit_note(df, "n", 1.5) == {"fake:hang_big": "cut at n = 4 by the 1.5 s time limit"}
    lines = per_cell(df)
    assert set(zip(lines["method"], lines["params.n"], strict=True)) == \
        {("fake:hang_big", 2), ("fake:exact", 2), ("fake:exact", 4), ("fake:exact", 8)}


def test_sympy_is_loaded_before_the_first_symbolic_cell(tmp_path):
    settings = Settings(**{**FAKES, "prepare": "lab_fakes:noting_sympy"})
    for method, loaded in (("symbolic", True), ("reverse", False)):
        with Run.create(tmp_path, run_id=method) as run:
            run_sweep([Cell("warm", "square", {"n": 2}, method)], run, settings, progress=False)
        (row,) = read_rows(tmp_path / method / "rows.jsonl")
        assert row["outcome"] == "ok" and row["pid"] != 0
        assert row["info"]["sympy_before"] is loaded, method


def test_the_summary_compares_like_with_like_and_says_why_a_cell_is_empty():
    column = "speed: MLP gradient at width 4"
    sections = [
        Section("mlp", "MLP", "", [], pd.DataFrame(), "",
                {"reverse": {column: "0.05 (0.04–0.06) ms"},
                 "symbolic": {column: "— (capped at width 2 by the config's budget)"}}),
        Section("swell", "Swell", "", [], pd.DataFrame(), "",
                {"reverse": {"size of d l_28/dx": "162 entries"}}),
    ]
    table = _summary(sections).set_index("method")
    assert list(table.columns) == [column, "size of d l_28/dx"]
    assert list(table.index) == ["symbolic", "reverse"]        # the house order of methods
    assert table.loc["symbolic", column].startswith("— (capped at width 2")
    assert table.loc["symbolic", "size of d l_28/dx"] == "— (not run by swell)"
