"""The lab: problems, timing, accuracy, the results store and the sweep runner.

    from difflab.lab import Cell, Run, Settings, run_sweep, load
    cells = [Cell("speed", "rosenbrock", {"n": n}, method) for n in (2, 8, 32)
             for method in ("forward", "reverse")]
    with Run.create("results", config={"sizes": [2, 8, 32]}, seed=0) as run:
        run_sweep(cells, run, Settings(time_limit=60))
    df = load(run.path)
"""

from .accuracy import TOLERANCES, compare_gradients, flatten, rel_err, rho, tolerance
from .cell import Cell, dominated_by
from .execute import Settings, classify, execute
from .machine import describe_machine
from .runner import OUTCOMES, run_sweep
from .store import Run, atomic_write, load, load_meta, read_rows
from .timing import Timing, measure, pinned_environ, thread_env, thread_settings
from .worker import Worker

__all__ = [
    "TOLERANCES", "compare_gradients", "flatten", "rel_err", "rho", "tolerance",
    "Cell", "dominated_by", "Settings", "classify", "execute", "describe_machine",
    "OUTCOMES", "run_sweep", "Run", "atomic_write", "load", "load_meta", "read_rows",
    "Timing", "measure", "pinned_environ", "thread_env", "thread_settings", "Worker",
]
