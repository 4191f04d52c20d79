"""Executors: where the runner's cells run — this process, the local worker, or a cluster.

The runner (``runner.run_sweep``) decides which cell runs next, skips what a limit already
stopped, and appends every row itself (the store has one writer: the driver). An executor only
runs cells and hands their rows back:

    executor.slots                    how many cells it runs at once
    executor.submit(cell, settings)   start a cell (``settings``: its limits and hooks)
    executor.collect()                wait until at least one started cell has finished:
                                      [(cell, row), ...]
    executor.describe()               what to record in the run's meta.json
    executor.shared_cores()           a sentence when more than one cell shares a core
    executor.close()                  stop what it started

Two executors live here: ``InProcess`` (the cell runs in this process: quick to start, no hard
limits) and ``Local`` (the default: one worker process with hard time and memory limits, see
``worker``). ``dask_executor.DaskExecutor`` runs the same worker mechanism inside the tasks of
a Dask cluster.

An executor chosen for a whole command (``difflab run --executor dask``) is put in place with
``use_executor``; every sweep of that command then runs on it (``current``), whatever its
study asked for its own default.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from .cell import Cell
from .execute import Settings, execute, load_hook
from .worker import Worker


class Executor:
    """The interface (and the bookkeeping every executor shares)."""

    name = "executor"
    slots = 1

    def submit(self, cell: Cell, settings: Settings) -> None:
        raise NotImplementedError

    def collect(self) -> list[tuple[Cell, dict]]:
        raise NotImplementedError

    def describe(self) -> dict:
        """Fields for the run's meta.json (``executor``)."""
        return {"name": self.name, "slots": self.slots}

    def shared_cores(self) -> str | None:
        """A sentence when cells run side by side on fewer cores than cells, else None."""
        return None

    def close(self) -> None:
        """Stop what this executor started."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *_) -> None:
        self.close()


class InProcess(Executor):
    """Cells run in this process, one at a time (no hard limits: a hang is not stopped)."""

    name = "in-process"

    def __init__(self):
        self._queue: deque = deque()
        self._warmed: set[str] = set()

    def submit(self, cell: Cell, settings: Settings) -> None:
        for hook in settings.preload:  # the worker's warm-ups, once per process
            if hook not in self._warmed:
                self._warmed.add(hook)
                try:
                    load_hook(hook)()
                except Exception:  # noqa: BLE001 - a missing engine shows up in its cells
                    pass
        self._queue.append((cell, settings))

    def collect(self) -> list[tuple[Cell, dict]]:
        cell, settings = self._queue.popleft()
        return [(cell, execute(cell, settings))]


class Local(Executor):
    """Cells run one at a time in a worker process under hard limits (``worker.Worker``).

    Args:
        worker: a worker to use (the caller stops it); default: one of its own, started at
            the first cell and restarted when a cell's settings differ from the last.
    """

    name = "worker"

    def __init__(self, worker: Worker | None = None):
        self.worker = worker
        self._own = worker is None
        self._queue: deque = deque()

    def submit(self, cell: Cell, settings: Settings) -> None:
        self._queue.append((cell, settings))

    def collect(self) -> list[tuple[Cell, dict]]:
        cell, settings = self._queue.popleft()
        if self.worker is None:
            self.worker = Worker(settings)
        elif self._own and self.worker.settings != settings:
            self.worker.stop()
            self.worker = Worker(settings)
        return [(cell, self.worker.run(cell))]

    def describe(self) -> dict:
        return {"name": self.name, "slots": 1}

    def close(self) -> None:
        if self._own and self.worker is not None:
            self.worker.stop()
            self.worker = None


_current: ContextVar[Executor | None] = ContextVar("difflab_executor", default=None)


def current() -> Executor | None:
    """The executor put in place by ``use_executor``, or None (each sweep picks its own)."""
    return _current.get()


@contextmanager
def use_executor(executor: Executor | None) -> Iterator[Executor | None]:
    """Run every sweep inside the block on ``executor`` (None: each sweep's own default);
    the executor is closed when the block ends."""
    token = _current.set(executor)
    try:
        yield executor
    finally:
        _current.reset(token)
        if executor is not None:
            executor.close()


def preload_for(cells, settings: Settings) -> Settings:
    """``settings`` with the warm-ups its cells need before the first one is timed: JAX's (the
    default) and, when a cell differentiates symbolically, SymPy's — a fresh interpreter
    spends seconds importing SymPy and its printers, which must not be a cell's time."""
    import dataclasses

    hooks = list(settings.preload)
    if any(c.method.partition(":")[0] == "symbolic" for c in cells) \
            and SYMBOLIC_WARM_UP not in hooks:
        hooks.append(SYMBOLIC_WARM_UP)
    return dataclasses.replace(settings, preload=tuple(hooks))


SYMBOLIC_WARM_UP = "difflab.symbolic:warm_up"
