"""The sweep: run many cells into a results run, surviving failures, hangs and kills.

``run_sweep(cells, run)`` goes through the cells in order and appends one row per cell:

- a cell whose ``cell_id`` is already in the run is skipped silently (resume after a kill:
  every finished row was fsync'ed, so nothing finished is redone and nothing is lost);
- a cell at least as large as one where the same method hit the time or memory limit is
  recorded as "skipped" without running (it would only hit the limit again);
- otherwise the cell runs on an executor (``executors``): the worker process under hard
  limits (``isolate=True``), this process (``isolate=False``: quicker to start, same
  outcomes, but a hang is not stopped and a crash ends the sweep), or the executor a command
  put in place for all its sweeps (``executors.use_executor``: a Dask cluster, whose tasks run
  the same worker process, see ``dask_executor``).

Repeats: ``repeats=R`` runs the whole list R times over, pass after pass (each cell once per
pass, as ``Cell.repeat(r)``), so a drift in the machine's speed hits every cell alike rather
than the cells measured last; the report takes each cell's median over its repeats.

Side by side: an executor with several slots gets several cells at once, but never two cells
of one chain (``Cell.chain``: the cells the size rule compares), which run in the given
order; so whether a cell is skipped is decided exactly as in a row, and a sweep on a cluster
records the same cells with the same outcomes as one on the local worker. Rows are appended
as cells finish, by this process only.

One failing cell never stops the sweep: every failure is a row with its outcome. What cannot
be a cell at all — an unknown method, problem or size parameter, or a registered method that
a worker process cannot import — stops the sweep before its first cell, with a message naming
it (``validate.check_cells``, ``method_table.portable_error``).
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Iterable

from ..method_table import portable_error
from . import executors
from .cell import Cell, first_dominating
from .execute import Settings
from .store import Run
from .timing import thread_env, thread_settings
from .validate import check_cells
from .worker import Worker

OUTCOMES = ("ok", "wrong", "nan", "error", "timeout", "unsupported", "skipped")


def hit_limit(row: dict) -> bool:
    """True for a row whose cell ran out of time or memory (larger sizes get skipped)."""
    return row.get("outcome") == "timeout" or row.get("limit") in ("time", "memory")


def _skipped(cell: Cell, blocker: Cell, reason: str) -> dict:
    sizes = ", ".join(f"{k}={v}" for k, v in blocker.params.items()) or "a smaller size"
    return {**cell.key(), "outcome": "skipped",
            "message": f"skipped: {cell.method} hit the {reason} limit at {sizes}"}


def _unique(cells: Iterable[Cell]) -> list[Cell]:
    seen, unique = set(), []
    for cell in cells:
        if not isinstance(cell, Cell):
            raise TypeError(f"run_sweep needs Cell objects, got {type(cell).__name__}")
        if cell.cell_id not in seen:
            seen.add(cell.cell_id)
            unique.append(cell)
    return unique


def run_sweep(cells: Iterable[Cell], run: Run, settings: Settings | None = None,
              isolate: bool = True, progress: bool | None = None,
              worker: Worker | None = None, repeats: int = 1,
              executor: executors.Executor | None = None,
              timing: bool | None = None) -> dict[str, int]:
    """Run every cell not yet in ``run`` and append its row.

    Args:
        cells: the cells, in order (put sizes in increasing order: skipping relies on it).
        run: an open ``Run`` (``Run.create`` or ``Run.open`` to resume).
        settings: limits, timing and hooks (see ``Settings``).
        isolate: run cells in a worker process with hard time/memory limits.
        progress: show a tqdm bar (None: only on a terminal, after a second).
        worker: a ``Worker`` to reuse (its settings are used); the caller stops it.
        repeats: passes over the cells (a timing sweep: each cell measured ``repeats`` times).
        executor: where cells run (default: the one ``executors.use_executor`` put in place,
            else the worker given, else a worker of its own or this process, by ``isolate``).
        timing: the cells' times are results (default: ``repeats`` > 1 or a cell is a repeat);
            then a warning says so when cells share a core.
    Returns:
        {outcome: number of cells} for the cells run now (already-done cells not counted).
    """
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be an integer >= 1, got {repeats!r}")
    settings = settings or Settings()
    if worker is not None:
        settings = worker.settings
    cells = _unique(cells)
    cells = [c.repeat(r) if r else c for r in range(repeats) for c in cells]
    todo = [cell for cell in cells if cell.cell_id not in run.done]
    check_cells(todo, settings, where=f"run {run.path}")
    if worker is None:
        settings = executors.preload_for(todo, settings)
    failed = _limits_hit(run)  # cell -> "time" | "memory", from earlier attempts and this sweep
    counts: Counter = Counter()
    chosen = executor or executors.current()
    own = chosen is None
    if own:
        chosen = executors.Local(worker) if (worker is not None or isolate) \
            else executors.InProcess()
    if not isinstance(chosen, executors.InProcess):  # a registered method a worker cannot get
        for method in dict.fromkeys(c.method for c in todo):
            reason = portable_error(method)
            if reason:
                raise ValueError(f"run {run.path}: {reason}")
    if timing is None:
        timing = repeats > 1 or any(c.rep for c in cells)
    if timing and todo:
        _warn_shared(chosen)
    _record_threads(run, settings, chosen)
    from tqdm.auto import tqdm

    bar = tqdm(total=len(todo), unit="cell", delay=1.0, desc=run.run_id,
               disable=None if progress is None else not progress)
    pending, busy = list(todo), set()   # busy: the chains with a cell running
    try:
        while pending or busy:
            pending = _start(pending, busy, chosen, settings, failed, run, counts, bar)
            if not busy:
                continue
            for cell, row in chosen.collect():
                busy.discard(cell.chain)
                _record(cell, row, run, failed, counts, bar)
    finally:
        bar.close()
        if own:
            chosen.close()
    return dict(counts)


def _start(pending: list[Cell], busy: set, executor, settings: Settings, failed: dict,
           run: Run, counts: Counter, bar) -> list[Cell]:
    """Start (or skip) every pending cell that may go now: its chain idle and no earlier cell
    of its chain still waiting, while the executor has a free slot. Returns what still waits.
    """
    waiting, seen = [], set()
    for cell in pending:
        chain = cell.chain
        free = len(busy) < max(1, executor.slots)
        if chain in busy or chain in seen or not free:
            seen.add(chain)
            waiting.append(cell)
            continue
        blocker = first_dominating(cell, failed)
        if blocker is not None:
            _record(cell, _skipped(cell, blocker, failed[blocker]), run, failed, counts, bar)
            continue
        bar.set_postfix_str(str(cell), refresh=False)
        executor.submit(cell, settings)
        busy.add(chain)
        seen.add(chain)
    return waiting


def _record(cell: Cell, row: dict, run: Run, failed: dict, counts: Counter, bar) -> None:
    run.append(row)
    if hit_limit(row):
        failed[cell] = row.get("limit") or "time"
    counts[row["outcome"]] += 1
    bar.update()


def _warn_shared(executor) -> None:
    """Warn (once per executor) when timed cells share cores: their times would be slower."""
    if getattr(executor, "_warned_cores", False):
        return
    text = executor.shared_cores()
    if text:
        executor._warned_cores = True
        warnings.warn(f"timing sweep: {text}; the times include waiting for a core",
                      RuntimeWarning, stacklevel=3)


def _limits_hit(run: Run) -> dict[Cell, str]:
    """The cells of ``run`` that hit the time or memory limit (their larger sizes are skipped).

    A row that says it hit a limit but lacks the fields of its cell cannot block anything: it
    is named in a warning and otherwise left alone (its cell, if any, is not run again).
    """
    failed = {}
    for row in run.rows():
        if not hit_limit(row):
            continue
        try:
            failed[Cell.from_row(row)] = row.get("limit") or "time"
        except (KeyError, TypeError, ValueError) as err:
            missing = f"no {err}" if isinstance(err, KeyError) else str(err)
            warnings.warn(f"{run.path}: the row of cell {row.get('cell_id')!r} hit a limit but "
                          f"is not a cell's row ({missing}); it does not skip larger sizes",
                          RuntimeWarning, stacklevel=3)
    return failed


def _record_threads(run: Run, settings: Settings, executor) -> None:
    """Put the thread settings cells run with, and the executor, into the run's meta (once
    each: a resumed run on another executor keeps the first and lists the others)."""
    isolate = not isinstance(executor, executors.InProcess)
    described = executor.describe()
    if "threads" not in run.meta:
        pinned = thread_env(settings.threads) if isolate else thread_settings()
        run.update_meta(threads={"n": settings.threads if isolate else None, **pinned,
                                 "mode": described["name"]})
    if "executor" not in run.meta:
        run.update_meta(executor=described)
    elif run.meta["executor"] != described and described not in run.meta.get("executors", []):
        run.update_meta(executors=[*run.meta.get("executors", []), described])
