"""Sweeps on a Dask cluster: the runner's cells as Dask tasks, each under the same hard limits.

    difflab run accuracy --executor dask --scheduler tcp://HOST:8786   # a running cluster
    difflab run accuracy --executor dask --workers 2                   # a LocalCluster here

Each task (``run_cell``) runs its cell in a ``worker.Worker`` — the isolated child process of
the local executor, with its hard time and memory limits, its thread pins and warm-ups — kept
alive inside the Dask worker between cells (one per Dask worker thread), so a cluster changes
where cells run, not how. The task returns the row; only the driver appends rows (the store
stays single-writer, fsync'ed and resumable).

A Dask worker lost mid-cell (killed, out of memory, its machine gone) fails the task with
``KilledWorker``; the cell is submitted once more and its row records the loss (``lost``,
``attempts``); lost a second time, the cell is recorded as an error saying so. The local
cluster is started with ``allowed-failures`` 0 so that a loss reaches the runner instead of
being retried silently by the scheduler (a remote scheduler keeps its own setting).

Dask workers must be able to start child processes: a LocalCluster's are started
non-daemonic here; a remote cluster's workers need ``DASK_DISTRIBUTED__WORKER__DAEMON=False``
in their environment, and ``DaskExecutor`` refuses a cluster whose workers are daemonic,
saying so, before any cell runs. Methods registered in the driver (``register_method``) go
with every task (``method_table.exported``) and are installed in the Dask worker before its
cell worker starts. Install with ``pip install 'difflab[cluster]'``.

A LocalCluster's nannies run in this process and write their workers' environment
(``distributed.nanny.pre-spawn-environ``: thread counts of 1, a fixed ``PYTHONHASHSEED``) into
``os.environ`` before each spawn; ``DaskExecutor`` puts this process's values back once the
workers are up and again when it closes, so a sweep on Dask leaves the caller's environment (and
every process it starts later) as it found it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections import Counter

from .. import method_table
from .cell import Cell
from .execute import Settings
from .executors import Executor
from .worker import Worker

# ---- on the Dask worker ---------------------------------------------------------------------
_idle: list[tuple[tuple, Worker]] = []   # this Dask worker's cell workers between tasks
_idle_lock = threading.Lock()


def _acquire(key: tuple, settings: Settings) -> Worker:
    with _idle_lock:
        for i, (kept, _) in enumerate(_idle):
            if kept == key:
                return _idle.pop(i)[1]
        if _idle:  # a cell worker of another sweep: one interpreter less to keep
            _idle.pop(0)[1].stop()
    return Worker(settings)


def _release(key: tuple, worker: Worker) -> None:
    with _idle_lock:
        _idle.append((key, worker))


def run_cell(cell: Cell, settings: Settings, methods: tuple = ()) -> dict:
    """The Dask task: ``cell``'s row, measured in an isolated worker process under
    ``settings``' limits (a worker kept from the previous task when the settings and the
    driver's registered ``methods`` match)."""
    method_table.install(methods)
    key = (settings, methods)
    worker = _acquire(key, settings)
    try:
        row = worker.run(cell)
    finally:
        _release(key, worker)
    try:
        from distributed import get_worker

        where = get_worker().address
    except (ImportError, ValueError):
        where = None
    row["host"] = socket.gethostname()
    row["dask_worker"] = where
    return row


def stop_cell_workers() -> int:
    """Stop this Dask worker's idle cell workers (run on every worker when a sweep ends)."""
    with _idle_lock:
        stopped = len(_idle)
        while _idle:
            _idle.pop()[1].stop()
    return stopped


def worker_facts() -> dict:
    """What the driver checks of each Dask worker: host, cores, whether it is daemonic."""
    import multiprocessing

    return {"host": socket.gethostname(), "cores": os.cpu_count() or 1,
            "daemon": bool(multiprocessing.current_process().daemon)}


# ---- on the driver ------------------------------------------------------------------------
def _spawn_environ(dask) -> dict[str, str | None]:
    """This process's values of the variables a LocalCluster's nannies set before a spawn."""
    names = set(dask.config.get("distributed.nanny.pre-spawn-environ", {})) | {"PYTHONHASHSEED"}
    return {name: os.environ.get(name) for name in names}


def _restore(environ: dict[str, str | None]) -> None:
    for name, value in environ.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _distributed():
    try:
        import dask
        import distributed
    except ImportError:
        raise RuntimeError("--executor dask needs dask[distributed]: pip install "
                           "'difflab[cluster]' (or 'dask[distributed]')") from None
    return dask, distributed


class DaskExecutor(Executor):
    """Cells as tasks of a Dask cluster: a running one (``scheduler``) or a LocalCluster of
    ``workers`` processes of one thread each on this machine.

    Args:
        scheduler: the scheduler's address (``tcp://HOST:8786``); None starts a LocalCluster.
        workers: processes of the LocalCluster (default: this machine's cores).
        timeout: seconds to wait for the scheduler and, for a LocalCluster, its workers.
    Raises:
        ValueError: both ``scheduler`` and ``workers`` given, or ``workers`` < 1.
        RuntimeError: dask[distributed] missing, no scheduler there, daemonic workers.
    """

    name = "dask"

    def __init__(self, scheduler: str | None = None, workers: int | None = None,
                 timeout: float = 60.0):
        if scheduler and workers is not None:
            raise ValueError("--scheduler and --workers exclude each other: --workers starts "
                             "a cluster on this machine, --scheduler uses a running one")
        if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                    or workers < 1):
            raise ValueError(f"--workers must be a whole number >= 1, got {workers!r}")
        dask, distributed = _distributed()
        self._distributed = distributed
        self.cluster = None
        self._environ = _spawn_environ(dask)
        # Nannies read these when they start a worker, and again when they restart one.
        self._config = dask.config.set({"distributed.worker.daemon": False,
                                        "distributed.scheduler.allowed-failures": 0})
        try:
            if scheduler:
                try:
                    self.client = distributed.Client(scheduler, timeout=f"{timeout}s")
                except (OSError, TimeoutError) as err:
                    raise RuntimeError(f"no Dask scheduler answers at {scheduler} "
                                       f"({type(err).__name__}: {err})") from None
            else:
                self.cluster = distributed.LocalCluster(
                    n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                    processes=True, dashboard_address=None, silence_logs=logging.ERROR)
                self.client = distributed.Client(self.cluster, timeout=f"{timeout}s")
                self.client.wait_for_workers(workers or os.cpu_count() or 1,
                                             timeout=timeout)
                _restore(self._environ)
            self.address = self.client.scheduler.address
            self._check_workers()
        except BaseException:
            self.close()
            raise
        self._futures: dict = {}   # future -> (cell, settings, losses so far)

    def _check_workers(self) -> None:
        facts = self.client.run(worker_facts)
        daemonic = sorted(address for address, f in facts.items() if f["daemon"])
        if daemonic:
            raise RuntimeError(
                f"the Dask workers {', '.join(daemonic[:3])} are daemonic processes, which "
                f"cannot start the isolated process a cell runs in; start them with "
                f"DASK_DISTRIBUTED__WORKER__DAEMON=False in their environment")
        if not facts:
            raise RuntimeError(f"the Dask cluster at {self.address} has no workers")

    @property
    def slots(self) -> int:
        """Cells at once: the threads of the workers connected now (at least 1)."""
        try:
            return max(1, sum(self.client.nthreads().values()))
        except (OSError, RuntimeError):
            return 1

    def submit(self, cell: Cell, settings: Settings, losses: tuple[str, ...] = ()) -> None:
        future = self.client.submit(run_cell, cell, settings, method_table.exported(),
                                    pure=False,
                                    key=f"difflab-{cell.cell_id}-{uuid.uuid4().hex[:8]}")
        self._futures[future] = (cell, settings, losses)

    def collect(self) -> list[tuple[Cell, dict]]:
        """Wait for the first finished task(s); a lost worker's cell is submitted once more
        (and then returns nothing yet)."""
        done, _ = self._distributed.wait(list(self._futures), return_when="FIRST_COMPLETED")
        rows = []
        for future in done:
            cell, settings, losses = self._futures.pop(future)
            if future.status == "finished":
                row = future.result()
                if losses:
                    row.update(lost=list(losses), attempts=len(losses) + 1)
                rows.append((cell, row))
                continue
            error = future.exception() if future.status == "error" else None
            lost = future.status == "cancelled" or \
                isinstance(error, self._distributed.KilledWorker)
            if lost:
                losses = (*losses, f"{time.strftime('%H:%M:%S')}: the Dask worker running "
                                   f"the cell was lost ({_short(error) or future.status})")
                if len(losses) < 2:
                    self.submit(cell, settings, losses)
                    continue
                message = "worker lost mid-cell twice: " + "; ".join(losses)
            else:
                message = f"the Dask task failed: {_short(error)}"
            rows.append((cell, {**cell.key(), "outcome": "error", "message": message[:500],
                                "lost": list(losses), "attempts": len(losses) or 1}))
        return rows

    def describe(self) -> dict:
        facts = self._facts()
        return {"name": self.name, "scheduler": self.address,
                "local_cluster": self.cluster is not None, "workers": len(facts),
                "slots": self.slots,
                "hosts": dict(Counter(f["host"] for f in facts.values()))}

    def _facts(self) -> dict:
        try:
            return self.client.run(worker_facts)
        except (OSError, RuntimeError):
            return {}

    def shared_cores(self) -> str | None:
        threads = self.client.nthreads()
        facts = self._facts()
        per_host: Counter = Counter()
        cores = {}
        for address, f in facts.items():
            per_host[f["host"]] += threads.get(address, 1)
            cores[f["host"]] = f["cores"]
        crowded = [f"{n} cells at once on {host} ({cores[host]} cores)"
                   for host, n in per_host.items() if n > cores[host]]
        return "; ".join(crowded) if crowded else None

    def close(self) -> None:
        """Cancel what still runs, stop the cell workers, close the client and the cluster."""
        client = getattr(self, "client", None)
        if client is not None:
            try:
                if getattr(self, "_futures", None):
                    client.cancel(list(self._futures))
                client.run(stop_cell_workers)
            except Exception:  # noqa: BLE001 - closing: a gone cluster has nothing to stop
                pass
            client.close()
            self.client = None
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None
        if getattr(self, "_environ", None) is not None:
            _restore(self._environ)
        if getattr(self, "_config", None) is not None:
            self._config.__exit__(None, None, None)
            self._config = None


def _short(error) -> str:
    if error is None:
        return ""
    return f"{type(error).__name__}: {error}".split("\n")[0][:200]
