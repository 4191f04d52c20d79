"""Regressions of the harness (issue 12, items 9 and 10): the command line fails in one line
with exit status 2, runs refuse what they cannot resume, the memory limit covers a cell's
subprocesses, and a non-finite derivative or reference is labelled as such."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from difflab.check import GradientMismatch, check_grad
from difflab.cli import BROKEN_PIPE, main
from difflab.lab import Cell, Run, Settings, Worker, read_rows, run_sweep
from difflab.lab.compare import compare
from difflab.lab.experiments import load_config
from difflab.lab.proctree import process_tree, tree_memory_mib

TESTS = Path(__file__).parent
FAST = dict(problems="lab_fakes:get_problem", prepare="lab_fakes:prepared",
            min_time=0.001, samples=3, max_time=0.02)


def _gone(pid: int) -> bool:
    """True when ``pid`` has ended (gone, or a zombie nobody has reaped yet)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
    except OSError:
        return True
    return state in (b"Z", b"X")


# ---- the memory limit covers the worker's process tree ------------------------------------
def test_memory_limit_counts_a_cells_subprocess_and_kills_it(tmp_path, monkeypatch):
    """A cell whose subprocess holds 400 MiB, under a 250 MiB limit: before, the worker alone
    (~80 MiB) was watched, and the cell ran into its time limit with the child alive."""
    pidfile = tmp_path / "child.pid"
    monkeypatch.setenv("LAB_FAKES_PIDFILE", str(pidfile))
    settings = Settings(**FAST, time_limit=20.0, memory_limit_mib=250, preload=())
    cells = [Cell("tree", "square", {"n": 3}, "fake:child_memory"),
             Cell("tree", "square", {"n": 3}, "fake:exact")]
    with Run.create(tmp_path, run_id="tree") as run, Worker(settings) as worker:
        t0 = time.perf_counter()
        run_sweep(cells, run, worker=worker, progress=False)
        elapsed = time.perf_counter() - t0
    rows = {r["method"]: r for r in read_rows(run.path / "rows.jsonl")}
    hog = rows["fake:child_memory"]
    assert hog["outcome"] == "error" and hog["limit"] == "memory", hog
    assert "memory limit exceeded (250 MiB)" in hog["message"]
    assert "1 process(es) it started" in hog["message"]
    assert hog["rss_peak_mib"] > 250 and hog["wall_s"] < 10
    assert rows["fake:exact"]["outcome"] == "ok"   # the next cell ran in a fresh worker
    child = int(pidfile.read_text())
    deadline = time.time() + 5
    while not _gone(child) and time.time() < deadline:
        time.sleep(0.05)
    assert _gone(child), "the cell's subprocess outlived the kill"
    assert elapsed < 20


FORKED = """
import os, sys, time
hoard = b"x" * (200 << 20)           # resident in the parent ...
if os.fork() == 0:                   # ... and shared, copy-on-write, with the child
    time.sleep(30)
    os._exit(0)
print("forked", flush=True)
sys.stdin.read()
"""


def test_pages_a_forked_child_shares_are_counted_once():
    """VmRSS counts a shared page in both processes; past a limit the tree is measured by
    PSS, so a fork does not look like twice the memory and get a cell killed."""
    parent = subprocess.Popen([sys.executable, "-c", FORKED], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    tree = []
    try:
        assert parent.stdout.readline().strip() == "forked"
        tree = process_tree(parent.pid)
        assert len(tree) == 2 and tree[0] == parent.pid
        doubled = tree_memory_mib(tree)              # VmRSS summed
        once = tree_memory_mib(tree, limit=300)      # over the limit: PSS
        assert doubled > 400 and 200 < once < 300, (doubled, once)
    finally:
        parent.stdin.close()
        parent.wait(timeout=30)
        for pid in tree[1:]:         # the forked child, which would sleep on
            os.kill(pid, signal.SIGKILL)


# ---- the command line: every failure one line, exit status 2 ------------------------------
def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("argv, message", [
    (["grad", "x * 1e999999", "--at", "x=1"], "the number 1e999999 is beyond float64's range"),
    (["grad", "x + " + "1" * 400, "--at", "x=1"], "the number 1111.* is beyond float64's range"),
    (["grad", "x * 2", "--at", "x=1e999999"], "--at x: 1e999999 is beyond float64's range"),
    (["grad", "x * 2", "--at", "x=" + "9" * 400], "--at x: 9999.* is beyond float64's range"),
    (["grad", "sum(v)", "--at", "v=[1, " + "9" * 400 + "]"], "--at v: 9999.* is beyond"),
    (["grad", "sum(v)", "--at", "v=1,-1e400"], "--at v: -1e400 is beyond"),
    (["grad", "1e999999"], "the number 1e999999 is beyond"),
    (["grad", "2 * 3"], "'2 \\* 3' has no variables"),
])
def test_huge_literals_and_constant_expressions_are_one_line(capsys, argv, message):
    """Before: an OverflowError traceback, or inf taken silently for the literal."""
    assert main(argv) == 2
    assert re.search(message, _one_line(capsys))


def test_inf_written_as_inf_is_still_a_point(capsys):
    assert main(["grad", "x * 2", "--at", "x=inf", "--methods", "reverse"]) == 0
    assert "x=inf" in capsys.readouterr().out


def test_a_closed_pipe_ends_the_command_quietly():
    """`difflab list experiments | head -1`: before, a BrokenPipeError traceback."""
    child = subprocess.Popen([sys.executable, "-m", "difflab.cli", "list", "experiments"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env={**os.environ, "PYTHONPATH": str(TESTS.parent)})
    child.stdout.close()            # the reader is gone before the first line is written
    _, err = child.communicate(timeout=120)
    assert err == b"" and child.returncode == BROKEN_PIPE == 141


def test_unexpected_errors_are_one_line_too(capsys, monkeypatch):
    import difflab.cli as cli

    def boom(args):
        raise ZeroDivisionError("no luck")

    monkeypatch.setattr(cli, "_cmd_list", boom)  # build_parser binds it when main runs
    assert main(["list"]) == 2
    assert "difflab list: error: ZeroDivisionError: no luck" in _one_line(capsys)


# ---- runs: locked, read-only, another experiment, another config ---------------------------
def _stored_run(root: Path, name: str, quick: bool = True, **changes) -> Path:
    """An unfinished run of experiment ``name`` as run_experiment would create it."""
    config = {**load_config(name, quick), **changes}
    run = Run.create(root, run_id=f"{name}-stored", config=config, seed=config.get("seed", 0),
                     experiment=name, quick=quick)
    run.close(finished=False)
    return run.path


HOLD = """
import sys
from difflab.lab import Run
run = Run.open(sys.argv[1])
print("held", flush=True)
sys.stdin.read()   # until the test closes our stdin
"""


def test_a_run_locked_by_another_process_is_one_line(tmp_path, capsys):
    """Before: a RuntimeError traceback."""
    path = _stored_run(tmp_path / "results", "worked_example")
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(TESTS.parent)})
    try:
        assert holder.stdout.readline().strip() == "held"
        for extra in (["--resume", str(path)], []):  # named, or found as the unfinished run
            assert main(["run", "worked_example", "--quick", "--results",
                         str(tmp_path / "results"), "--report", str(tmp_path / "rep"),
                         *extra]) == 2
            err = _one_line(capsys)
            assert f"run {path} is open in another process (pid {holder.pid})" in err
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert read_rows(path / "rows.jsonl") == []


@pytest.fixture
def read_only(tmp_path, monkeypatch):
    """A directory the process may not write: os.access says so (root ignores the mode
    bits, so the test does not rely on chmod)."""
    ro = tmp_path / "ro"
    ro.mkdir()
    real = os.access

    def access(path, mode, *args, **kwargs):
        inside = Path(path).resolve().is_relative_to(ro.resolve())
        return False if inside and mode & os.W_OK else real(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)
    return ro


def test_read_only_results_and_report_directories_fail_before_any_work(tmp_path, read_only,
                                                                       capsys):
    """Before: the run went ahead and ended in a PermissionError traceback (for the report
    directory: after the whole sweep)."""
    results, report = tmp_path / "results", tmp_path / "report"
    argv = ["run", "worked_example", "--quick"]
    assert main([*argv, "--results", str(read_only), "--report", str(report)]) == 2
    assert f"the results directory is not writable: {read_only}" in _one_line(capsys)
    assert main([*argv, "--results", str(results), "--report", str(read_only)]) == 2
    assert f"the report directory is not writable: {read_only}" in _one_line(capsys)
    assert not list(results.glob("*"))          # nothing ran
    path = _stored_run(results, "worked_example")
    (read_only / "run").mkdir()
    ro_run = read_only / "run"
    for name in ("meta.json", "rows.jsonl"):
        (ro_run / name).write_bytes((path / name).read_bytes())
    assert main([*argv, "--results", str(results), "--report", str(report),
                 "--resume", str(ro_run)]) == 2
    assert f"the run directory is not writable: {ro_run}" in _one_line(capsys)
    assert main(["report", str(path), "--out", str(read_only)]) == 2
    assert f"the report directory is not writable: {read_only}" in _one_line(capsys)


def test_a_permission_error_on_write_is_one_line(tmp_path, capsys, monkeypatch):
    """A read-only file system shows only when writing (root's os.access cannot tell)."""
    import difflab.lab.report as report

    def denied(path, data):
        raise PermissionError(13, "Permission denied", str(path))

    path = _stored_run(tmp_path / "results", "worked_example")
    monkeypatch.setattr(report, "atomic_write", denied)
    assert main(["report", str(path), "--out", str(tmp_path / "out")]) == 2
    assert f"permission denied: {tmp_path / 'out' / 'report.md'}" in _one_line(capsys)


def test_resume_refuses_a_run_of_another_experiment_or_config(tmp_path, capsys):
    """Before: accuracy rows were appended into the hessian run (and the report lost the
    hessian section); a run of another config was resumed as if it were the same."""
    results = tmp_path / "results"
    argv = ["run", "accuracy", "--quick", "--results", str(results), "--report",
            str(tmp_path / "rep")]
    hessian = _stored_run(results, "hessian")
    assert main([*argv, "--resume", str(hessian)]) == 2
    err = _one_line(capsys)
    assert "it is a run of 'hessian', not of 'accuracy'" in err
    assert f"difflab run hessian --resume {hessian}" in err
    other = _stored_run(results, "accuracy", seeds=[0, 7])
    assert main([*argv, "--resume", str(other)]) == 2
    assert "another config of accuracy: seeds: [0, 7] in the run, [0] now" in _one_line(capsys)
    full = _stored_run(tmp_path / "full", "accuracy", quick=False)
    assert main([*argv, "--resume", str(full)]) == 2
    assert "(the run was made without --quick)" in _one_line(capsys)
    for path in (hessian, other, full):
        assert read_rows(path / "rows.jsonl") == []     # nothing appended


# ---- rows that are JSON but not rows -------------------------------------------------------
def test_a_row_missing_its_fields_is_named_and_does_not_block_resume(tmp_path):
    """Before: resuming raised KeyError('experiment') — "difflab run: error: experiment"."""
    cells = [Cell("e", "square", {"n": n}, "fake:exact") for n in (1, 2, 3)]
    settings = Settings(**FAST)
    with Run.create(tmp_path, run_id="r") as run:
        run_sweep(cells[:2], run, settings, isolate=False, progress=False)
    rows_file = run.path / "rows.jsonl"
    with open(rows_file, "a") as f:
        f.write('{"outcome": "timeout"}\n[1, 2]\n{"cell_id": "abc", "outcome": "timeout"}\n')
    with pytest.warns(RuntimeWarning) as caught:
        with Run.open(run.path) as run:
            counts = run_sweep(cells, run, settings, isolate=False, progress=False)
    messages = "\n".join(str(w.message) for w in caught)
    assert "line 3 is not a row (no cell_id)" in messages
    assert "line 4 is not a row (a JSON list, not an object)" in messages
    assert "the row of cell 'abc' hit a limit but is not a cell's row (no 'experiment')" \
        in messages
    assert counts == {"ok": 1}                       # only the new cell ran
    lines = rows_file.read_text().splitlines()
    assert len(lines) == 6 and lines[2] == '{"outcome": "timeout"}'   # nothing deleted
    with pytest.warns(RuntimeWarning) as caught:
        assert [r["cell_id"] for r in read_rows(rows_file)] == \
            [cells[0].cell_id, cells[1].cell_id, "abc", cells[2].cell_id]
    assert [str(w.message).split(": ")[1][:9] for w in caught] == ["line 3 is", "line 4 is"]


# ---- honest labels: a derivative that is not a number is not "ok" -------------------------
def test_compare_labels_nan_and_inf_by_what_they_are():
    """Before: every row below said "ok" (numeric's nan at log's -1 too, with rho = inf)."""
    table = compare("log(x)", {"x": -1.0}, methods=["reverse", "numeric"], min_time=0.001)
    status = dict(zip(table["method"], table["status"], strict=True))
    # d/dx log(x) = 1/x = -1 by the rules (as JAX); central differences step across 0: nan
    assert status == {"truth (sympy-50)": "reference", "reverse": "ok", "numeric": "nan"}
    table = compare("sqrt(x) * y", {"x": 0.0, "y": 1.0}, methods=["reverse", "numeric"],
                    min_time=0.001)
    status = dict(zip(table["method"], table["status"], strict=True))
    assert status == {"truth (sympy-50)": "reference: inf", "reverse": "inf", "numeric": "nan"}
    assert table["d/dx"].iloc[1] == np.inf and table["d/dy"].iloc[1] == 0.0


def test_compare_says_wrong_beyond_the_tolerance():
    # a forward difference with a huge step: finite, far from cos(1)
    table = compare("sin(x)", {"x": 1.0}, methods=["numeric:forward", "reverse"], min_time=0.001)
    status = dict(zip(table["method"], table["status"], strict=True))
    assert status["reverse"] == "ok" and status["numeric:forward"] == "ok"
    bad = compare("abs(x)", {"x": 0.0}, methods=["numeric:forward"], min_time=0.001)
    # |x| at its kink: the forward difference says 1, SymPy's sign(0) = 0
    assert bad["status"].iloc[1] == "wrong" and bad["max rho"].iloc[1] == 1.0


def test_the_grad_command_prints_nan_and_the_status(capsys):
    assert main(["grad", "log(x)", "--at", "x=-1", "--methods", "numeric", "reverse"]) == 0
    lines = capsys.readouterr().out.splitlines()
    numeric = next(line for line in lines if line.strip().startswith("numeric"))
    assert numeric.split()[1] == "nan" and numeric.split()[-1] == "nan"


def test_check_grad_falls_back_where_central_differences_leave_the_domain():
    """At x = 1e-10 central4 steps below 0: nan. Before: "gradient check failed" against
    that nan, without saying the reference had failed."""
    assert check_grad("sqrt(x)", {"x": 1e-10}) is True      # the complex step serves
    assert check_grad("log(x) * y", {"x": 1e-10, "y": 2.0}) is True
    with pytest.raises(GradientMismatch) as info:           # a reference named: no fallback
        check_grad("sqrt(x)", {"x": 1e-10}, reference="numeric:central4")
    message = str(info.value)
    assert "at 1 component(s) the reference itself is not finite" in message
    assert "differ" not in message.splitlines()[0]         # no mismatch was measured
    assert message.splitlines()[-1].endswith("reference not finite")


def test_check_grad_still_fails_a_wrong_gradient_beside_a_failed_reference():
    with pytest.raises(GradientMismatch) as info:
        check_grad("sqrt(x) + sin(y)", {"x": 1e-10, "y": 1.0}, method="numeric:forward",
                   reference="numeric:central", atol=1e-12, rtol=1e-12)
    headline = str(info.value).splitlines()[0]
    assert "1 component(s) differ" in headline and "reference itself is not finite" in headline


# ---- experiment configs are checked before a sweep starts ---------------------------------
@pytest.fixture
def experiment_file(tmp_path, monkeypatch):
    """Write experiments/<name>.py in a scratch experiments directory."""
    from difflab.lab import experiments

    monkeypatch.setattr(experiments, "experiments_dir", lambda: tmp_path / "experiments")
    (tmp_path / "experiments").mkdir()

    def write(name: str, config: dict, quick: dict | None = None) -> None:
        (tmp_path / "experiments" / f"{name}.py").write_text(
            f"CONFIG = {config!r}\nQUICK = {quick or {}!r}\n")
    return write


ACCURACY = {"methods": ["reverse"], "problems": ["squire_trapp"], "seeds": [0],
            "isolate": False}


@pytest.mark.parametrize("name, change, message", [
    ("accuracy", {"methods": ["reverse", "revrse"]},
     "experiments/accuracy.py: methods: unknown method 'revrse'; known methods: symbolic, "
     "numeric, forward, reverse, jax"),
    ("accuracy", {"methods": ["numeric:centre"]}, "unknown numeric scheme 'centre'; known "
     "schemes: forward, backward, central, central4"),
    ("accuracy", {"methods": "reverse"}, "methods: must be a list of method names, got str"),
    ("accuracy", {"problems": ["squire_trapp", "no_such"]},
     "problems: unknown problem 'no_such'; known problems: "),
    ("hessian", {"scalar": [], "rosenbrock_n": [], "methods": ["reverse"], "isolate": False,
                 "mlp": [{"width": 2, "depht": 1}]},
     "problem 'mlp_loss' has no parameter 'depht'; its parameters: "),
    ("jacobian_shape", {"product": 4, "methods": ["jax:jacfwd", "jax:jacfd"],
                        "isolate": False},
     "methods: method 'jax' has no variants; got 'jax:jacfd'; this experiment also knows "
     "jax:jacfwd, jax:jacrev"),
    ("fd_steps", {"functions": ["squire_trapp"], "schemes": ["central", "centre"]},
     "schemes: unknown finite-difference scheme 'centre'"),
    ("accuracy", {"max_n": {"revrse": 4}}, "max_n: unknown method 'revrse'"),
])
def test_a_bad_config_is_refused_before_any_cell_runs(experiment_file, tmp_path, name,
                                                      change, message):
    """Before: the sweep ran and recorded an error row per cell of the bad method."""
    from difflab.lab.experiments import run_experiment

    experiment_file(name, {**(ACCURACY if name == "accuracy" else {}), **change})
    with pytest.raises(ValueError, match=message):
        run_experiment(name, results=tmp_path / "results")
    assert not (tmp_path / "results").exists() or not list((tmp_path / "results").iterdir())


def test_a_quick_key_the_config_does_not_have_is_refused(experiment_file, tmp_path):
    from difflab.lab.experiments import run_experiment

    experiment_file("accuracy", ACCURACY, {"seedz": [0]})
    with pytest.raises(ValueError, match="QUICK sets 'seedz', which CONFIG does not have; "
                                         "CONFIG's keys: methods, problems, seeds, isolate"):
        run_experiment("accuracy", quick=True, results=tmp_path / "results")


def test_run_sweep_checks_its_cells_before_the_first(tmp_path):
    cells = [Cell("e", "rosenbrock", {"n": 2}, "reverse"),
             Cell("e", "rosenbrock", {"n": 2}, "forwrd"),
             Cell("e", "rosenbrock", {"size": 2}, "reverse")]
    with Run.create(tmp_path, run_id="r") as run:
        with pytest.raises(ValueError, match="cell rosenbrock\\(n=2\\) grad by forwrd: unknown "
                                             "method 'forwrd'.*and 1 more"):
            run_sweep(cells, run, Settings(), isolate=False, progress=False)
        assert run.rows() == []


def test_every_shipped_config_passes_the_checks():
    from difflab.lab.experiments import _checked, available

    for name in available():
        for quick in (False, True):
            _checked(name, quick)
