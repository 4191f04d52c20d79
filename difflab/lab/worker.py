"""A worker process that runs cells under hard limits of time and memory.

A method that hangs cannot be stopped from inside its own process (a NumPy call or a SymPy
simplification ignores signals and timers until it returns), and a segfault or an exhausted
memory takes the process down. So cells run in a long-lived child process: the parent sends a
cell over a pipe and waits for the row, polling every ``POLL`` seconds; if the time limit
passes, or the resident memory of the worker's process tree (the worker and every process a
cell started, see ``proctree``) passes the memory limit, the parent kills the whole tree
(SIGKILL) and records the outcome; a child that dies by itself (segfault, ``os._exit``) is
recorded as an error with the reason. The next cell gets a fresh worker. The tree is read
again every ``TREE_SCAN`` seconds and its members' memory at every poll, so a subprocess is
seen within a quarter of a second of its start.

The child is started with the "spawn" context — a fresh interpreter, not a fork: JAX (like
most threaded libraries) is not fork-safe — with the thread pins in its environment before it
imports NumPy. A script that runs sweeps in worker mode must guard its entry point with
``if __name__ == "__main__":`` (spawn re-imports the main module).

A fresh interpreter knows only the built-in methods, difflab's peers and the entry points; the
methods registered in the parent (``difflab.register_method``) are handed over when the child
starts (``method_table.exported``, installed before its first cell), so a cell can name them.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time

from .. import method_table
from .cell import Cell
from .execute import Settings, execute, load_hook
from .proctree import kill_tree, process_tree, tree_memory_mib
from .timing import pinned_environ, thread_env, thread_settings

POLL = 0.05           # seconds between checks of the worker
TREE_SCAN = 0.25      # seconds between readings of the worker's process tree
START_TIMEOUT = 120.0  # seconds for a fresh interpreter to import difflab and say hello


def _orphan_watch(parent: int) -> None:
    """End this worker when its parent is gone (killed with SIGKILL, the worker may be deep
    in a hung cell and would otherwise run on, orphaned)."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _serve(conn, settings: Settings, parent: int, methods: tuple = ()) -> None:
    """The worker's loop: receive a cell, send back its row; None (or no parent) ends it.
    ``methods`` are the parent's registered methods (``method_table.exported``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    try:  # a process group of its own: a cell's subprocesses are found and killed with it
        os.setpgid(0, 0)
    except OSError:
        pass
    threading.Thread(target=_orphan_watch, args=(parent,), daemon=True).start()
    method_table.install(methods)
    for hook in settings.preload:
        try:
            load_hook(hook)()
        except Exception:  # noqa: BLE001 - a missing optional engine shows up in its cells
            pass
    conn.send(("ready", thread_settings()))
    while True:
        try:
            cell = conn.recv()
        except EOFError:
            break
        if cell is None:
            break
        conn.send(execute(cell, settings))


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exited with code {exitcode}"


class Worker:
    """One child process at a time; restarted after a kill or a death."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings()
        self.process = None
        self.conn = None
        self.threads: dict | None = None  # the thread settings the child reported
        self.starts = 0

    def start(self) -> None:
        """Spawn the child and wait for its hello (raises RuntimeError if it never comes)."""
        ctx = multiprocessing.get_context("spawn")
        self.conn, child_conn = ctx.Pipe()
        self.process = ctx.Process(target=_serve, name="difflab-worker", daemon=True,
                                   args=(child_conn, self.settings, os.getpid(),
                                         method_table.exported()))
        with pinned_environ(thread_env(self.settings.threads)):
            self.process.start()
        child_conn.close()
        self.starts += 1
        if not self.conn.poll(START_TIMEOUT):
            self.stop()
            raise RuntimeError(f"the worker process did not start within {START_TIMEOUT} s")
        try:
            _, self.threads = self.conn.recv()
        except EOFError:
            code = self.process.exitcode if self.process else None
            self.stop()
            raise RuntimeError(f"the worker process died while starting "
                               f"({_death(code)})") from None

    def alive(self) -> bool:
        return self.process is not None and self.process.is_alive()

    def kill(self) -> None:
        """SIGKILL the child and every process it started, and reap it."""
        if self.process is not None:
            if self.process.is_alive():
                kill_tree(self.process.pid)
            self.process.kill()
            self.process.join(5)
        self.stop()

    def stop(self) -> None:
        """Ask the child to finish, then make sure it is gone."""
        if self.process is not None and self.process.is_alive():
            try:
                self.conn.send(None)
            except (OSError, ValueError):
                pass
            self.process.join(2)
            if self.process.is_alive():
                self.process.kill()
                self.process.join(5)
        if self.conn is not None:
            self.conn.close()
        self.process = self.conn = None

    def run(self, cell: Cell) -> dict:
        """The row for ``cell``, under the settings' time and memory limits."""
        if not self.alive():
            self.stop()
            self.start()
        limit, memory = self.settings.time_limit, self.settings.memory_limit_mib
        pid = self.process.pid
        peak = 0.0
        tree, next_scan = [pid], 0.0
        t0 = time.perf_counter()
        self.conn.send(cell)
        while True:
            if self.conn.poll(POLL):
                try:
                    row = self.conn.recv()
                except EOFError:  # died mid-send
                    return self._died(cell, t0, peak)
                row["rss_peak_mib"] = round(peak, 1)
                return row
            if not self.process.is_alive():
                if self.conn.poll(0):
                    continue  # the row arrived just before the end
                return self._died(cell, t0, peak)
            elapsed = time.perf_counter() - t0
            if elapsed >= next_scan:
                tree, next_scan = process_tree(pid), elapsed + TREE_SCAN
            peak = max(peak, tree_memory_mib(tree, memory) or 0.0)
            if memory is not None and peak > memory:
                self.kill()
                where = "the worker" if len(tree) == 1 else \
                    f"the worker and {len(tree) - 1} process(es) it started"
                return self._failed(cell, "error", f"memory limit exceeded ({memory} MiB): "
                                    f"{peak:.0f} MiB resident in {where}", t0, peak,
                                    limit="memory")
            if elapsed > limit:
                self.kill()
                return self._failed(cell, "timeout", f"timeout: no result within {limit:g} s",
                                    t0, peak, limit="time")

    def _died(self, cell: Cell, t0: float, peak: float) -> dict:
        code = None
        if self.process is not None:
            self.process.join(1)  # reap it, so the exit code is known
            code = self.process.exitcode
        self.stop()
        return self._failed(cell, "error", f"worker died: {_death(code)}", t0, peak)

    @staticmethod
    def _failed(cell: Cell, outcome: str, message: str, t0: float, peak: float,
                limit: str | None = None) -> dict:
        row = {**cell.key(), "outcome": outcome, "message": message,
               "wall_s": time.perf_counter() - t0, "rss_peak_mib": round(peak, 1)}
        if limit:
            row["limit"] = limit
        return row

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *_) -> None:
        self.stop()
