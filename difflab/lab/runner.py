"""The sweep: run many cells into a results run, surviving failures, hangs and kills.

``run_sweep(cells, run)`` goes through the cells in order and appends one row per cell:

- a cell whose ``cell_id`` is already in the run is skipped silently (resume after a kill:
  every finished row was fsync'ed, so nothing finished is redone and nothing is lost);
- a cell at least as large as one where the same method hit the time or memory limit is
  recorded as "skipped" without running (it would only hit the limit again);
- otherwise the cell runs in the worker process under hard limits (``isolate=True``), or in
  this process (``isolate=False``: quicker to start, same outcomes, but a hang is not stopped
  and a crash ends the sweep) — see ``execute`` and ``worker``.

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
from .cell import Cell, first_dominating
from .execute import Settings, execute
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
              worker: Worker | None = None) -> dict[str, int]:
    """Run every cell not yet in ``run`` and append its row.

    Args:
        cells: the cells, in order (put sizes in increasing order: skipping relies on it).
        run: an open ``Run`` (``Run.create`` or ``Run.open`` to resume).
        settings: limits, timing and hooks (see ``Settings``).
        isolate: run cells in a worker process with hard time/memory limits.
        progress: show a tqdm bar (None: only on a terminal, after a second).
        worker: a ``Worker`` to reuse (its settings are used); the caller stops it.
    Returns:
        {outcome: number of cells} for the cells run now (already-done cells not counted).
    """
    settings = settings or Settings()
    cells = _unique(cells)
    todo = [cell for cell in cells if cell.cell_id not in run.done]
    check_cells(todo, settings if worker is None else worker.settings, where=f"run {run.path}")
    failed = _limits_hit(run)  # cell -> "time" | "memory", from earlier attempts and this sweep
    counts: Counter = Counter()
    own_worker = worker is None and isolate and bool(todo)
    if own_worker or worker is not None:  # a registered method the worker cannot get
        for method in dict.fromkeys(c.method for c in todo):
            reason = portable_error(method)
            if reason:
                raise ValueError(f"run {run.path}: {reason}")
    if own_worker:
        worker = Worker(settings)
    if worker is not None:
        settings = worker.settings
    _record_threads(run, settings, isolate)
    from tqdm.auto import tqdm

    bar = tqdm(total=len(todo), unit="cell", delay=1.0, desc=run.run_id,
               disable=None if progress is None else not progress)
    try:
        for cell in todo:
            bar.set_postfix_str(str(cell), refresh=False)
            blocker = first_dominating(cell, failed)
            if blocker is not None:
                row = _skipped(cell, blocker, failed[blocker])
            elif worker is not None:
                row = worker.run(cell)
            else:
                row = execute(cell, settings)
            run.append(row)
            if hit_limit(row):
                failed[cell] = row.get("limit") or "time"
            counts[row["outcome"]] += 1
            bar.update()
    finally:
        bar.close()
        if own_worker:
            worker.stop()
    return dict(counts)


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


def _record_threads(run: Run, settings: Settings, isolate: bool) -> None:
    """Put the thread settings cells run with into the run's meta (once)."""
    if "threads" in run.meta:
        return
    pinned = thread_env(settings.threads) if isolate else thread_settings()
    run.update_meta(threads={"n": settings.threads if isolate else None, **pinned,
                             "mode": "worker" if isolate else "in-process"})
