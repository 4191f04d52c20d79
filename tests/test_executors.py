"""Executors: the runner's side-by-side scheduling, and sweeps on a Dask LocalCluster.

A fake executor that finishes cells out of order checks that running cells side by side
skips and records exactly what a sweep in a row does. Then a LocalCluster of two processes
runs a sweep of misbehaving fake methods (timeouts, skips, errors, wrong and nan results) and
must record the same cells with the same outcomes as the local worker; and a Dask worker
killed mid-sweep must lose and duplicate nothing: its cell is retried once and says so.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import warnings
from collections import Counter

import pytest

from difflab.lab import Cell, Run, Settings, execute, read_rows, run_sweep
from difflab.lab.dask_executor import DaskExecutor
from difflab.lab.executors import Executor, use_executor

FAKES = dict(problems="lab_fakes:get_problem", prepare="lab_fakes:prepared",
             min_time=0.001, samples=3, max_time=0.02, time_primal=False,
             preload=())  # the fakes need no JAX: the workers start quicker


def _outcomes(path) -> dict[str, str]:
    rows = read_rows(path / "rows.jsonl")
    ids = [r["cell_id"] for r in rows]
    assert len(ids) == len(set(ids)), Counter(ids).most_common(3)  # nothing twice
    return {r["cell_id"]: r["outcome"] for r in rows}


class Shuffled(Executor):
    """Runs cells in this process, three at a time, finishing the newest first."""

    name = "shuffled"
    slots = 3

    def __init__(self):
        self.started, self.running = [], []

    def submit(self, cell, settings):
        self.started.append(cell)
        self.running.append((cell, settings))

    def collect(self):
        cell, settings = self.running.pop()          # the last one started finishes first
        return [(cell, execute(cell, settings))]


def _fault_cells() -> list[Cell]:
    cells = [Cell("ex", "square", {"n": n}, "fake:hang_big") for n in (2, 4, 8, 16)]
    cells += [Cell("ex", "square", {"n": 3}, m) for m in (
        "fake:exact", "fake:raise", "fake:nan", "fake:wrong", "fake:unsupported", "reverse")]
    return cells + [Cell("ex", "square", {"n": n}, "fake:exact", seed=1) for n in (1, 5)]


def test_side_by_side_cells_skip_as_in_a_row(tmp_path):
    # "hang_big" at n >= 4 would hang; a fake result row says so instead (a "timeout" row).
    cells = [Cell("chain", "square", {"n": n}, m) for n in (1, 2, 3, 4, 5)
             for m in ("fake:exact", "fake:wrong", "fake:nan")]
    settings = Settings(**FAKES)
    with Run.create(tmp_path, run_id="row") as run:
        run_sweep(cells, run, settings, isolate=False, progress=False, repeats=2)
    shuffled = Shuffled()
    with Run.create(tmp_path, run_id="side") as run:
        run_sweep(cells, run, settings, progress=False, repeats=2, executor=shuffled)
    assert _outcomes(tmp_path / "row") == _outcomes(tmp_path / "side")
    assert len(_outcomes(tmp_path / "side")) == 2 * len(cells)
    # never two cells of one chain at once, and each chain in the given order
    order = {}
    for cell in shuffled.started:
        order.setdefault(cell.chain, []).append((cell.rep, cell.params["n"]))
    for sequence in order.values():
        assert sequence == sorted(sequence)


def test_a_crowded_executor_warns_a_timing_sweep(tmp_path):
    class Crowded(Shuffled):
        def shared_cores(self):
            return "3 cells at once on this host (2 cores)"

    cells = [Cell("crowd", "square", {"n": 2}, "fake:exact")]
    with Run.create(tmp_path, run_id="timed") as run:
        with pytest.warns(RuntimeWarning, match="3 cells at once .* waiting for a core"):
            run_sweep(cells, run, Settings(**FAKES), progress=False, repeats=2,
                      executor=Crowded())
    with Run.create(tmp_path, run_id="untimed") as run, warnings.catch_warnings():
        warnings.simplefilter("error")              # one pass is no timing sweep
        run_sweep(cells, run, Settings(**FAKES), progress=False, executor=Crowded())


SPAWN_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
              "MALLOC_TRIM_THRESHOLD_", "PYTHONHASHSEED")


def _spawn_vars() -> dict:
    return {name: os.environ.get(name) for name in SPAWN_VARS}


@pytest.fixture(scope="module")
def cluster():
    before = _spawn_vars()
    with DaskExecutor(workers=2) as executor:
        assert _spawn_vars() == before   # the nannies wrote theirs; the executor put ours back
        executor.environ_before = before
        yield executor
    assert _spawn_vars() == before       # and again after a nanny restarted a killed worker


def test_dask_sweep_records_what_the_local_worker_records(tmp_path, cluster):
    settings = Settings(**FAKES, time_limit=2.0)
    cells = _fault_cells()
    with Run.create(tmp_path, run_id="local") as run:
        run_sweep(cells, run, settings, progress=False)
    assert cluster.slots == 2
    if os.cpu_count() >= 2:                       # two one-thread workers, a core each
        assert cluster.shared_cores() is None
    with use_executor(None), Run.create(tmp_path, run_id="dask") as run:
        run_sweep(cells, run, settings, progress=False, executor=cluster)
    local, dask = _outcomes(tmp_path / "local"), _outcomes(tmp_path / "dask")
    assert dask == local
    assert set(local.values()) == {"ok", "timeout", "skipped", "error", "nan", "wrong",
                                   "unsupported"}
    rows = read_rows(tmp_path / "dask" / "rows.jsonl")
    assert {r["dask_worker"] for r in rows if r["outcome"] != "skipped"} == \
        set(cluster.client.nthreads())            # both workers ran cells
    timeout = next(r for r in rows if r["outcome"] == "timeout")
    assert timeout["params"] == {"n": 4} and 2.0 <= timeout["wall_s"] < 4.0  # the hard limit


def test_a_local_cluster_leaves_this_process_environment_as_it_was(cluster):
    # Dask's nannies run in this process and set thread counts of 1 and a PYTHONHASHSEED in
    # os.environ before they spawn; every process started later here would inherit them.
    assert _spawn_vars() == cluster.environ_before
    facts = cluster.client.run(lambda: os.environ.get("OPENBLAS_NUM_THREADS"))
    assert set(facts.values()) == {"1"}  # the Dask workers themselves still have Dask's pins


def test_a_worker_killed_mid_sweep_loses_and_duplicates_nothing(tmp_path, cluster):
    cells = [Cell("kill", "square", {"n": n}, "fake:sleepy") for n in range(1, 11)]
    settings = Settings(**FAKES, time_limit=30.0)
    victims = []

    def kill_one_busy_worker():
        deadline = time.time() + 60
        while time.time() < deadline and not victims:
            rows = run.path / "rows.jsonl"
            busy = [a for a, keys in cluster.client.processing().items() if keys]
            if rows.exists() and rows.read_bytes().count(b"\n") >= 2 and busy:
                pid = cluster.client.run(os.getpid, workers=[busy[0]])[busy[0]]
                os.kill(pid, signal.SIGKILL)
                victims.append(busy[0])
            time.sleep(0.05)

    with Run.create(tmp_path, run_id="killed") as run:
        killer = threading.Thread(target=kill_one_busy_worker)
        killer.start()
        counts = run_sweep(cells, run, settings, progress=False, executor=cluster)
        killer.join()
    assert victims, "no worker was killed"
    outcomes = _outcomes(run.path)
    assert set(outcomes) == {c.cell_id for c in cells}          # every cell, once
    assert set(outcomes.values()) == {"ok"} and counts == {"ok": len(cells)}
    rows = read_rows(run.path / "rows.jsonl")
    retried = [r for r in rows if r.get("lost")]
    assert len(retried) == 1 and retried[0]["attempts"] == 2
    assert "was lost" in retried[0]["lost"][0]
