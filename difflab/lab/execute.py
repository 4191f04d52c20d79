"""Executing one cell: build the problem, prepare the method, check it, time it.

This runs inside the worker process (or in-process for tests and quick runs) and always returns
a row: whatever goes wrong becomes an outcome, never an exception.

The problem interface (``difflab.lab.problems``; tests plug in their own, see ``Settings``):

    get_problem(name) -> problem
    problem.instance(params: dict, seed: int) -> instance with
        .expr         the IR expression
        .point        {name: float | array}, the point to differentiate at
        .wrt          the names to differentiate by, or None for all variables
        .truth(kind)  the reference derivative for kind "grad" | "jacobian" | "hessian", in
                      the protocol's format, or None where no truth is available

Methods are reached through ``difflab.api.prepared(kind, expr, wrt, shapes, method)``, or
through any function with that signature named in ``Settings.prepare`` (how tests inject fake
methods). Hooks are named ``"module:attribute"`` so a worker process can import them.

Outcomes: "ok", "wrong" (rho beyond the method's tolerance, or a result of the wrong names or
shapes), "nan" (nan/inf where the truth is finite), "error" (any exception, with its message),
"unsupported" (see ``classify``); "timeout" and "skipped" are decided by the runner.
"""

from __future__ import annotations

import importlib
import os
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..core.evaluate import bind, clean_point, run_value
from ..core.plan import compile_plan
from .accuracy import all_finite, compare_gradients, tolerance
from .cell import Cell
from .timing import Timing, measure

# A method signals "I do not handle this input" with NotImplementedError, or with a ValueError
# whose message contains one of these phrases (e.g. "too large for jax: 30000 nodes").
UNSUPPORTED_PHRASES = ("too large", "too big", "too deep", "cannot", "not supported",
                       "unsupported", "budget")
METHOD_STAGES = ("prepare", "evaluate")
MAX_MESSAGE = 500


@dataclass(frozen=True)
class Settings:
    """How cells are executed and limited (picklable: it travels to the worker)."""

    time_limit: float = 120.0            # seconds per cell; hard in a worker
    memory_limit_mib: int | None = 4096  # worker RSS above this is killed
    min_time: float = 0.02               # measure(): least time of a batch
    samples: int = 7                     # measure(): batches wanted
    max_time: float = 1.0                # measure(): sampling stops after this long
    threads: int = 1                     # BLAS/XLA threads of the worker
    time_primal: bool = True             # also time f, for the ratio
    problems: str = "difflab.lab.problems:get_problem"
    prepare: str = "difflab.api:prepared"
    tolerances: tuple[tuple[str, float], ...] = ()  # (method, rho tolerance) overrides
    # Called in a fresh worker before its first cell: start-up costs are not a cell's time.
    preload: tuple[str, ...] = ("difflab.jax_ref:warm_up",)


def load_hook(spec: str):
    """The object named by ``"package.module:attribute"`` (dotted identifiers only: a hook is
    an installed module's attribute, imported, never text evaluated or a file path)."""
    module, _, attribute = spec.partition(":") if isinstance(spec, str) else ("", "", "")
    if not all(part.isidentifier() for part in [*module.split("."), attribute]):
        raise ValueError(f"a hook is named 'module:attribute' (dotted identifiers), got "
                         f"{str(spec)[:80]!r}")
    return getattr(importlib.import_module(module), attribute)


def classify(err: BaseException, stage: str) -> str:
    """ "unsupported" for NotImplementedError, or a ValueError naming a limit ("too large",
    "cannot", "not supported", ...), raised while preparing or evaluating; else "error"."""
    if stage in METHOD_STAGES:
        if isinstance(err, NotImplementedError):
            return "unsupported"
        if isinstance(err, ValueError) and any(p in str(err).lower()
                                               for p in UNSUPPORTED_PHRASES):
            return "unsupported"
    return "error"


def describe(err: BaseException, stage: str) -> dict:
    """The message and the place an exception came from, short enough for a table."""
    message = f"{stage}: {type(err).__name__}: {err}".split("\n")[0]
    frames = traceback.extract_tb(err.__traceback__)
    where = f"{os.path.basename(frames[-1].filename)}:{frames[-1].lineno} in " \
            f"{frames[-1].name}" if frames else ""
    return {"message": message[:MAX_MESSAGE], "where": where}


def jsonable(value):
    """``value`` made of dicts, lists, str, int, float, bool and None only."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic | np.ndarray):
        return jsonable(value.tolist())
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _timing_fields(prefix: str, timing: Timing) -> dict:
    return {f"{prefix}_{k}": v for k, v in timing.to_dict().items()}


def _block(result):
    """Wait for JAX arrays in a result (a dict, possibly nested) to be computed."""
    for value in result.values() if isinstance(result, Mapping) else ():
        if isinstance(value, Mapping):
            _block(value)
        elif hasattr(value, "block_until_ready"):
            value.block_until_ready()
    return result


_instances: dict = {}  # (problem, params, seed) -> (instance, {kind: truth})
# A timing sweep comes back to every cell once per repeat: keep the instances of a whole sweep
# (their truths are the costly part), not only those of the last few cells.
MAX_INSTANCES = 64


def _instance(settings: Settings, cell: Cell):
    """The problem instance and its truth cache; neighbouring cells (other methods) share it."""
    key = (settings.problems, cell.problem, repr(cell.params), cell.seed)
    if key not in _instances:
        if len(_instances) >= MAX_INSTANCES:
            _instances.pop(next(iter(_instances)))
        problem = load_hook(settings.problems)(cell.problem)
        _instances[key] = (problem.instance(dict(cell.params), cell.seed), {})
    return _instances[key]


def _primal(method: str, expr, plan, point: Mapping, shapes: Mapping):
    """f itself as a no-argument call: jitted JAX for the jax method, else the NumPy plan."""
    if method.partition(":")[0] == "jax":
        from .. import jax_ref

        f = jax_ref.function(expr, shapes)
        return lambda: f(point)
    return lambda: run_value(plan, bind(plan, point))


def execute(cell: Cell, settings: Settings | None = None) -> dict:
    """Measure one cell. Returns its row (the cell's key, outcome, accuracy, timings).

    A repeat (``cell.rep`` > 0) of a cell this process has already prepared re-times the
    prepared derivative (and f) and keeps the first repeat's preparation and accuracy (see
    ``_retime``); any other cell is prepared and checked afresh.
    """
    settings = settings or Settings()
    kept = _kept.get(_kept_key(cell, settings)) if cell.rep else None
    if kept is not None:
        return _retime(cell, settings, kept)
    t_start = time.perf_counter()
    row: dict = {**cell.key(), "outcome": None, "message": "", "pid": os.getpid()}
    tols = dict(settings.tolerances)
    stage = "problem"
    try:
        instance, truths = _instance(settings, cell)
        expr = instance.expr
        plan = compile_plan(expr)
        point = clean_point(plan, instance.point)
        shapes = {name: np.shape(value) for name, value in point.items()}
        wrt = tuple(instance.wrt) if instance.wrt is not None else expr.variables
        row.update(n_nodes=len(plan.ops), n_inputs=int(sum(np.prod(shapes[n]) for n in wrt)),
                   truth_source=getattr(instance, "truth_source", None))
        stage = "truth"
        if cell.kind not in truths:
            t0 = time.perf_counter()
            truths[cell.kind] = instance.truth(cell.kind)
            row["truth_s"] = time.perf_counter() - t0  # only where computed, not cached
        truth = truths[cell.kind]
        stage = "prepare"
        prepare = load_hook(settings.prepare)
        _forget_prepared()
        t0 = time.perf_counter()
        prepared = prepare(cell.kind, expr, wrt, shapes, cell.method)
        row["prepare_s"] = time.perf_counter() - t0
        row["info"] = jsonable(getattr(prepared, "info", {}))
        stage = "evaluate"
        result = _block(prepared(point))
        stage = "compare"
        tol = tols.get(cell.method, tolerance(cell.method, cell.kind))
        row["tol"] = tol
        if truth is None:
            row.update(checked=False, outcome="ok" if all_finite(result) else "nan")
        else:
            accuracy = compare_gradients(result, truth, tol)
            row.update(checked=True, **accuracy)
        stage = "evaluate"
        # Every method hands back NumPy values (JAX's are synchronised inside jax_ref), so the
        # timed call is the bare derivative; walking the result would add to every time.
        timing = measure(lambda: prepared(point), min_time=settings.min_time,
                         samples=settings.samples, max_time=settings.max_time)
        row.update(_timing_fields("time", timing))
    except Exception as err:  # noqa: BLE001 - every failure is an outcome of the cell
        row.update(outcome=classify(err, stage), stage=stage, **describe(err, stage))
        row["wall_s"] = time.perf_counter() - t_start
        return row
    f = None
    if settings.time_primal:
        try:
            f = _primal(cell.method, expr, plan, point, shapes)
            f_timing = measure(f, min_time=settings.min_time, samples=settings.samples,
                               max_time=settings.max_time)
            row.update(_timing_fields("f", f_timing))
            row["ratio"] = timing.median / f_timing.median if f_timing.median > 0 else None
        except Exception as err:  # noqa: BLE001 - no ratio, the derivative's outcome stands
            f = None
            row["f_error"] = describe(err, "primal")["message"]
    row["wall_s"] = time.perf_counter() - t_start
    _keep(cell, settings, prepared, point, f, row)
    return row


# ---- repeats: the prepared derivative timed again ------------------------------------------
# A timing sweep runs every cell several times, pass after pass. Preparing again (SymPy's
# differentiation, XLA's compilation) and checking again would only repeat the same work and
# the same answer: a repeat re-times the derivative prepared by the first repeat this process
# ran, and the row says so (``prepared_by``). Kept per process, the most recent MAX_KEPT.
MAX_KEPT = 128
_kept: dict = {}
_NOT_KEPT = ("cell_id", "experiment", "problem", "params", "method", "kind", "seed", "rep",
             "pid", "wall_s", "prepare_s", "truth_s", "ratio", "rss_peak_mib", "f_error")


def _kept_key(cell: Cell, settings: Settings) -> tuple:
    return settings.prepare, settings.problems, cell.repeat(0).cell_id


def _keep(cell: Cell, settings: Settings, prepared, point, f, row: dict) -> None:
    fields = {k: v for k, v in row.items()
              if k not in _NOT_KEPT and not k.startswith(("time_", "f_"))}
    key = _kept_key(cell, settings)
    _kept.pop(key, None)
    if len(_kept) >= MAX_KEPT:
        _kept.pop(next(iter(_kept)))
    _kept[key] = (prepared, point, f, {**fields, "prepared_by": cell.rep})


def _retime(cell: Cell, settings: Settings, kept: tuple) -> dict:
    """A repeat's row: the kept derivative (and f) timed again; outcome, accuracy and info
    as measured when it was prepared."""
    prepared, point, f, fields = kept
    t_start = time.perf_counter()
    row: dict = {**cell.key(), **fields, "pid": os.getpid()}
    try:
        timing = measure(lambda: prepared(point), min_time=settings.min_time,
                         samples=settings.samples, max_time=settings.max_time)
        row.update(_timing_fields("time", timing))
        if f is not None:
            f_timing = measure(f, min_time=settings.min_time, samples=settings.samples,
                               max_time=settings.max_time)
            row.update(_timing_fields("f", f_timing))
            row["ratio"] = timing.median / f_timing.median if f_timing.median > 0 else None
    except Exception as err:  # noqa: BLE001 - every failure is an outcome of the cell
        row.update(outcome=classify(err, "evaluate"), stage="evaluate",
                   **describe(err, "evaluate"))
    row["wall_s"] = time.perf_counter() - t_start
    return row


def _forget_prepared() -> None:
    """Empty the preparation caches: a cache hit would time nothing, the lab wants a cold
    preparation (two cells differing only in the seed, or two repeats of a cell, share
    expression and shapes). The symbolic method keeps a cache of its own; it is emptied only
    where SymPy is already loaded (importing it here would be a cell's time)."""
    import sys

    from .. import api

    api.clear_cache()
    symbolic = sys.modules.get("difflab.symbolic.prepare")
    if symbolic is not None:
        symbolic._prepare.cache_clear()
