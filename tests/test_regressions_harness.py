"""Regressions of the harness (issue 12, items 9 and 10): the command line fails in one line
with exit status 2, runs refuse what they cannot resume, the memory limit covers a cell's
subprocesses, and a non-finite derivative or reference is labelled as such."""

from __future__ import annotations

import time
from pathlib import Path

from difflab.lab import Cell, Run, Settings, Worker, read_rows, run_sweep

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
