"""The lab's core: timing on a fake clock, accuracy measures, outcomes of misbehaving methods
(in-process and under the worker's hard limits), the results store, resume after SIGKILL."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from difflab.lab import (
    Cell,
    Run,
    Settings,
    Worker,
    atomic_write,
    compare_gradients,
    dominated_by,
    execute,
    load,
    load_meta,
    measure,
    read_rows,
    rel_err,
    rho,
    run_sweep,
    tolerance,
)

TESTS = Path(__file__).parent
OPENBLAS_HERE = os.environ.get("OPENBLAS_NUM_THREADS")
FAST = dict(problems="lab_fakes:get_problem", prepare="lab_fakes:prepared",
            min_time=0.001, samples=3, max_time=0.02)


# ---- timing -------------------------------------------------------------------------------
class ScriptedClock:
    """Returns the given readings in order; counts nothing else."""

    def __init__(self, readings):
        self.readings = list(readings)

    def __call__(self):
        return self.readings.pop(0)


def test_measure_doubles_the_batch_then_keeps_every_sample():
    calls = []
    clock = ScriptedClock([
        0.0, 0.5,                  # warm-up: first call 0.5 s
        1.0, 1.005,                # batch of 1: 5 ms < 20 ms
        2.0, 2.010,                # batch of 2: 10 ms
        3.0, 3.040,                # batch of 4: 40 ms >= 20 ms -> sample 0.010 per call
        4.0, 4.048, 5.0, 5.044, 6.0, 6.080, 7.0, 7.036])  # samples 0.012 0.011 0.020 0.009
    t = measure(lambda: calls.append(1), clock=clock, min_time=0.02, samples=5, max_time=10)
    assert t.repeat == 4 and t.n_calls == 20 and len(calls) == 1 + 1 + 2 + 4 + 4 * 4
    assert t.samples == pytest.approx([0.010, 0.012, 0.011, 0.020, 0.009], abs=1e-12)
    assert t.first == 0.5
    assert t.min == pytest.approx(0.009, abs=1e-12)
    assert t.median == pytest.approx(0.011, abs=1e-12)
    assert t.iqr == pytest.approx(0.012 - 0.010, abs=1e-12)      # q75 - q25 of 5 samples
    d = t.to_dict()
    assert d["median"] == t.median and d["samples"] == list(t.samples) and d["n_calls"] == 20


def test_measure_stops_at_max_time_and_max_repeats():
    # each batch takes 0.6 s: the calibration batch counts, one more passes max_time = 1 s
    clock = ScriptedClock([0, 0.6, 1, 1.6, 2, 2.6, 3, 3.6])
    t = measure(lambda: None, clock=clock, min_time=0.1, samples=7, max_time=1.0)
    assert t.repeat == 1 and t.samples == pytest.approx([0.6, 0.6]) and t.iqr == 0
    # a clock that never advances: the batch stops doubling at max_repeats
    t = measure(lambda: None, clock=lambda: 0.0, max_repeats=8, samples=3)
    assert t.repeat == 8 and t.samples == (0.0, 0.0, 0.0)


# ---- accuracy -----------------------------------------------------------------------------
def test_rho_and_relative_error_by_hand():
    assert rho(3.0, 1.0) == 0.5                    # |2| / max(1, 4)
    assert rho(1e-3, 2e-3) == pytest.approx(1e-3)  # small values: the absolute error
    assert rho(np.inf, np.inf) == 0 and rho(np.nan, np.nan) == 0
    assert rho(np.inf, 1.0) == np.inf and rho(np.nan, 1.0) == np.inf
    assert rel_err(1.1, 1.0) == pytest.approx(0.1)
    assert rel_err(2.0, 0.0) == 2.0 and rel_err(0.0, 0.0) == 0.0  # b = 0: absolute error
    assert rel_err(-np.inf, -np.inf) == 0


def test_compare_gradients_formats_and_outcomes():
    truth = {"a": 1.0, "W": np.array([[1.0, 2.0], [3.0, 4.0]])}
    ok = compare_gradients({"a": 1.0 + 1e-15, "W": truth["W"].copy()}, truth, 1e-12)
    assert ok["outcome"] == "ok" and ok["n_components"] == 5 and ok["n_violations"] == 0
    assert ok["max_rho"] == pytest.approx(1e-15 / 2, rel=0.2)
    bad = {"a": 1.0, "W": np.array([[1.0, 2.5], [3.0, 0.0]])}
    wrong = compare_gradients(bad, truth, 1e-12)
    assert wrong["outcome"] == "wrong" and wrong["n_violations"] == 2
    assert wrong["first_mismatches"] == [
        {"variable": "W", "index": [0, 1], "got": 2.5, "truth": 2.0},
        {"variable": "W", "index": [1, 1], "got": 0.0, "truth": 4.0}]
    assert wrong["max_rho"] == pytest.approx(4 / 4) and wrong["max_rel_err"] == 1.0
    assert wrong["mean_rho"] == pytest.approx((0.5 / 4.5 + 1.0) / 5)
    nan = compare_gradients({"a": np.nan, "W": truth["W"]}, truth, 1e-12)
    assert nan["outcome"] == "nan"
    same_nan = compare_gradients({"x": np.nan}, {"x": np.nan}, 1e-12)  # truth undefined too
    assert same_nan["outcome"] == "ok"
    shape = compare_gradients({"a": 1.0, "W": np.zeros(3)}, truth, 1e-12)
    assert shape["outcome"] == "wrong" and "shape (3,)" in shape["message"]
    names = compare_gradients({"a": 1.0}, truth, 1e-12)
    assert names["outcome"] == "wrong" and "entries" in names["message"]
    junk = compare_gradients([1.0], truth, 1e-12)
    assert junk["outcome"] == "wrong"
    hessian = {"x": {"x": 2.0, "y": np.ones(2)}, "y": {"x": np.ones(2), "y": np.eye(2)}}
    h = compare_gradients(hessian, hessian, 1e-12)
    assert h["outcome"] == "ok" and h["n_components"] == 1 + 2 + 2 + 4


def test_tolerance_table():
    assert tolerance("reverse") == 1e-12 and tolerance("numeric") == 1e-6
    assert tolerance("numeric:richardson") == 1e-6       # unknown scheme: numeric's
    assert tolerance("numeric:forward") == 1e-5
    assert tolerance("numeric", "hessian") > tolerance("numeric")
    assert tolerance("somebody_elses") == 1e-12


# ---- cells --------------------------------------------------------------------------------
def test_cell_id_is_stable_and_params_sorted():
    a = Cell("e", "square", {"n": 3, "b": "x"}, "reverse", "grad", 1)
    b = Cell("e", "square", {"b": "x", "n": 3}, "reverse", "grad", 1)
    assert a == b and hash(a) == hash(b) and a.cell_id == b.cell_id
    assert list(a.params) == ["b", "n"]
    assert a.cell_id == "b13848c814a9c3ab"         # the same in every run and process
    assert Cell("e", "square", {"n": 3, "b": "x"}, "reverse", "grad", 2).cell_id != a.cell_id
    assert Cell.from_row(a.key()) == a
    with pytest.raises(ValueError, match="kind"):
        Cell("e", "square", {}, "reverse", "gradient")
    big = Cell("e", "square", {"n": 8, "b": "x"}, "reverse", "grad", 5)
    assert dominated_by(big, a) and not dominated_by(a, big)
    assert not dominated_by(Cell("e", "square", {"n": 8, "b": "y"}, "reverse"), a)


# ---- outcomes, in process -----------------------------------------------------------------
@pytest.mark.parametrize("method, outcome, words", [
    ("fake:exact", "ok", ""),
    ("fake:raise", "error", "ZeroDivisionError"),
    ("fake:nan", "nan", "nan"),
    ("fake:wrong", "wrong", "3 of 3 components"),
    ("fake:shape", "wrong", "shape (4,)"),
    ("fake:unsupported", "unsupported", "too large"),
    ("fake:notimpl", "unsupported", "NotImplementedError"),
])
def test_outcomes_in_process(method, outcome, words):
    row = execute(Cell("t", "square", {"n": 3}, method), Settings(**FAST))
    assert row["outcome"] == outcome and words in row["message"]
    json.dumps(row)  # every row is JSON
    if outcome in ("ok", "wrong", "nan"):
        assert row["time_median"] > 0 and row["f_median"] > 0 and row["ratio"] > 0
        assert len(row["time_samples"]) >= 1 and row["checked"] is True


def test_other_kinds_no_truth_and_a_bad_problem():
    for kind in ("grad", "hessian"):
        row = execute(Cell("t", "square", {"n": 2}, "fake:exact", kind), Settings(**FAST))
        assert row["outcome"] == ("ok" if kind == "grad" else "wrong")  # hessian of a fake
    row = execute(Cell("t", "no_truth", {"n": 2}, "fake:exact"), Settings(**FAST))
    assert row["outcome"] == "ok" and row["checked"] is False
    row = execute(Cell("t", "nonexistent", {}, "fake:exact"), Settings(**FAST))
    assert row["outcome"] == "error" and row["stage"] == "problem"


@pytest.mark.parametrize("method", ["reverse", "numeric"])
def test_real_methods_through_the_api(method):
    row = execute(Cell("t", "square", {"n": 4}, method, seed=3), Settings(**FAST))
    assert row["outcome"] == "ok", row["message"]
    assert row["max_rho"] <= tolerance(method) and row["n_components"] == 4


# ---- outcomes under the worker's hard limits ----------------------------------------------
def test_worker_records_every_fault_and_goes_on(tmp_path):
    settings = Settings(**FAST, time_limit=2.0, memory_limit_mib=400)
    cells = [Cell("faults", "square", {"n": n}, "fake:hang_big") for n in (2, 4, 8)]
    cells += [Cell("faults", "square", {"n": 3}, m) for m in (
        "fake:exact", "fake:raise", "fake:nan", "fake:wrong", "fake:shape", "fake:memory",
        "fake:exit", "fake:segv", "fake:unsupported")]
    cells.append(Cell("faults", "square", {"n": 5}, "fake:exact"))
    with Run.create(tmp_path, run_id="faults") as run, Worker(settings) as worker:
        t0 = time.perf_counter()
        counts = run_sweep(cells, run, worker=worker)
        elapsed = time.perf_counter() - t0
        assert worker.starts == 5    # first, then after the timeout, memory, exit, segv
        assert worker.threads["OPENBLAS_NUM_THREADS"] == "1"  # pinned in the worker ...
    assert os.environ.get("OPENBLAS_NUM_THREADS") == OPENBLAS_HERE  # ... not left in ours
    rows = {(r["method"], r["params"]["n"]): r for r in read_rows(run.path / "rows.jsonl")}
    assert len(rows) == len(cells)
    outcome = {k: r["outcome"] for k, r in rows.items()}
    assert outcome[("fake:hang_big", 2)] == "ok"
    assert outcome[("fake:hang_big", 4)] == "timeout"
    assert outcome[("fake:hang_big", 8)] == "skipped"
    assert "n=4" in rows[("fake:hang_big", 8)]["message"]
    assert 2.0 <= rows[("fake:hang_big", 4)]["wall_s"] < 4.0
    assert outcome[("fake:memory", 3)] == "error"
    assert "memory limit exceeded (400 MiB)" in rows[("fake:memory", 3)]["message"]
    assert rows[("fake:exit", 3)]["message"] == "worker died: exited with code 3"
    assert rows[("fake:segv", 3)]["message"] == "worker died: killed by SIGSEGV"
    assert [outcome[(m, 3)] for m in ("fake:exact", "fake:raise", "fake:nan", "fake:wrong",
                                      "fake:shape", "fake:unsupported")] == \
        ["ok", "error", "nan", "wrong", "wrong", "unsupported"]
    assert outcome[("fake:exact", 5)] == "ok"
    assert sum(counts.values()) == len(cells) and elapsed < 40
    meta = load_meta(run.path)
    assert meta["threads"]["OMP_NUM_THREADS"] == "1" and meta["end_time"]


# ---- the store ----------------------------------------------------------------------------
def test_results_round_trip_through_load(tmp_path):
    paths = []
    for k in range(2):
        cells = [Cell("rt", "square", {"n": n}, "fake:exact", seed=k) for n in (1, 2)]
        with Run.create(tmp_path, config={"k": k}, seed=k) as run:
            run_sweep(cells, run, Settings(**FAST), isolate=False, progress=False)
        paths.append(run.path)
    meta = load_meta(paths[0])
    assert meta["config"] == {"k": 0} and meta["seed"] == 0 and meta["end_time"]
    assert meta["machine"]["cores"] >= 1 and "numpy" in meta["versions"]
    assert {"commit", "dirty"} <= set(meta["git"])
    df = load(paths)
    assert len(df) == 4 and df["run_id"].nunique() == 2
    assert sorted(df["params.n"]) == [1, 1, 2, 2] and (df["outcome"] == "ok").all()
    assert df["time_median"].gt(0).all() and df["info.fake"].all()
    first = Run.open(paths[0])
    with pytest.raises(RuntimeError, match="another process"):
        Run.open(paths[0])           # one writer per run
    first.close()


def test_truncated_last_line_is_tolerated_and_repaired(tmp_path):
    cells = [Cell("tr", "square", {"n": n}, "fake:exact") for n in (1, 2, 3)]
    with Run.create(tmp_path, run_id="tr") as run:
        run_sweep(cells[:2], run, Settings(**FAST), isolate=False, progress=False)
    rows_file = run.path / "rows.jsonl"
    with open(rows_file, "a") as f:
        f.write('{"cell_id": "' + cells[2].cell_id + '", "outcome": "o')  # killed mid-write
    with pytest.warns(RuntimeWarning, match="truncated last line"):
        run = Run.open(run.path)
    assert rows_file.read_bytes().endswith(b"}\n") and run.done == {c.cell_id for c in cells[:2]}
    with run:
        run_sweep(cells, run, Settings(**FAST), isolate=False, progress=False)
    rows = read_rows(rows_file)
    assert [r["cell_id"] for r in rows] == [c.cell_id for c in cells]


def test_atomic_write_replaces_whole_files(tmp_path):
    target = tmp_path / "report.md"
    atomic_write(target, "old")
    atomic_write(target, b"new bytes")
    assert target.read_bytes() == b"new bytes" and os.listdir(tmp_path) == ["report.md"]


SWEEP_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from difflab.lab import Cell, Run, Settings, run_sweep
cells = [Cell("kill", "square", {{"n": n}}, "fake:slow") for n in range(1, 31)]
settings = Settings(problems="lab_fakes:get_problem", prepare="lab_fakes:prepared",
                    min_time=0.001, samples=3, max_time=0.02)
with Run.open({path!r}) as run:
    run_sweep(cells, run, settings, isolate=False, progress=False)
"""


def test_resume_after_sigkill_loses_and_duplicates_nothing(tmp_path):
    run = Run.create(tmp_path, run_id="killed")
    run.close(finished=False)
    script = SWEEP_SCRIPT.format(tests=str(TESTS), path=str(run.path))
    child = subprocess.Popen([sys.executable, "-c", script])
    rows_file = run.path / "rows.jsonl"
    deadline = time.time() + 30
    while time.time() < deadline:
        if rows_file.exists() and rows_file.read_bytes().count(b"\n") >= 6:
            break
        time.sleep(0.02)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL
    before = read_rows(rows_file)
    assert 6 <= len(before) < 30
    child = subprocess.run([sys.executable, "-c", script], timeout=60)
    assert child.returncode == 0
    ids = [r["cell_id"] for r in read_rows(rows_file)]
    expected = [Cell("kill", "square", {"n": n}, "fake:slow").cell_id for n in range(1, 31)]
    assert sorted(ids) == sorted(expected)            # every cell exactly once
    assert ids[:len(before)] == [r["cell_id"] for r in before]  # finished rows untouched
    assert load_meta(run.path)["resumed"] and load_meta(run.path)["end_time"]


def test_the_tree_is_dirty_for_source_changes_not_for_the_generated_report(tmp_path):
    from difflab.lab.machine import git_info

    def git(*args):
        subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args],
                       cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "report.md").write_text("old\n")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("add", ".")
    git("commit", "-qm", "first")
    clean = git_info(tmp_path)
    assert clean["dirty"] is False and len(clean["commit"]) == 40
    (tmp_path / "reports" / "report.md").write_text("rewritten by a report run\n")
    assert git_info(tmp_path)["dirty"] is False   # the report run's own output
    (tmp_path / "code.py").write_text("x = 2\n")
    assert git_info(tmp_path)["dirty"] is True    # a source change
